-- Inbox deliveries of a step that reached many people at once: one row per
-- step and one narrow row per person, clustered by message, so that a
-- broadcast appends to one place in the store instead of touching every
-- recipient's part of the person-ordered delivery index.

CREATE TABLE notify_broadcasts (
    message_id    TEXT NOT NULL REFERENCES notify_messages(id) ON DELETE CASCADE,
    step          BIGINT NOT NULL,
    community_id  TEXT NOT NULL,
    delivered_at  BIGINT NOT NULL,
    PRIMARY KEY (message_id, step)
);
CREATE INDEX notify_broadcasts_by_time ON notify_broadcasts (community_id, delivered_at);

CREATE TABLE notify_broadcast_inbox (
    message_id  TEXT NOT NULL,
    step        BIGINT NOT NULL,
    person_id   TEXT NOT NULL,
    read_at     BIGINT,
    PRIMARY KEY (message_id, person_id, step),
    FOREIGN KEY (message_id, step) REFERENCES notify_broadcasts(message_id, step) ON DELETE CASCADE
) WITHOUT ROWID;
