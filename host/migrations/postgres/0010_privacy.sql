-- Residents' personal information (PIPL): consents, who read a person's
-- data, the people a community erased, and how long the rest is kept.

-- Every consent given or withdrawn, in order; the latest row of a
-- (person, purpose) is the one in force.
CREATE TABLE consent_records (
    seq           BIGSERIAL PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    person_id     TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    given         BIGINT NOT NULL,
    given_by      TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    text          TEXT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX consent_records_by_person ON consent_records (community_id, person_id, seq);

-- Reads of a person's contact details, health or presence readings by
-- someone other than the person.
CREATE TABLE personal_data_access (
    seq           BIGSERIAL PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    person_id     TEXT NOT NULL,
    category      TEXT NOT NULL,
    resource      TEXT NOT NULL,
    reader        TEXT NOT NULL,
    reader_role   TEXT NOT NULL,
    reader_person TEXT,
    reason        TEXT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX personal_data_access_by_person ON personal_data_access (community_id, person_id, seq);
CREATE INDEX personal_data_access_by_age ON personal_data_access (community_id, at);

-- Ids of erased people: never given to anyone again, so that what stays on
-- the ledger under an id can never come to name someone else.
CREATE TABLE erased_people (
    community_id   TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    person_id      TEXT NOT NULL,
    erased_by      TEXT NOT NULL,
    reason         TEXT NOT NULL,
    erased_at      BIGINT NOT NULL,
    completed_at   BIGINT,
    PRIMARY KEY (community_id, person_id)
);

ALTER TABLE communities ADD COLUMN inbox_retention_days BIGINT NOT NULL DEFAULT 180;
ALTER TABLE communities ADD COLUMN access_log_retention_days BIGINT NOT NULL DEFAULT 365;
ALTER TABLE communities ADD COLUMN dead_letter_retention_days BIGINT NOT NULL DEFAULT 90;
CREATE INDEX dead_letters_by_age ON dead_letters (at);
