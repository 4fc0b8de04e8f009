-- Alarms, their audit trail, the community feed that carries alarm and
-- installation changes to plugins and live followers, and the reporting
-- intervals that device liveness is checked against.

CREATE TABLE alarms (
    id            TEXT PRIMARY KEY,
    community_id  TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    originator    TEXT NOT NULL,
    alarm_type    TEXT NOT NULL,
    severity      TEXT NOT NULL,
    active        BIGINT NOT NULL,
    acknowledged  BIGINT NOT NULL,
    count         BIGINT NOT NULL,
    first_seen    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL,
    details       TEXT NOT NULL,
    raised_by     TEXT NOT NULL,
    location      TEXT,
    acked_by      TEXT,
    acked_at      BIGINT,
    cleared_by    TEXT,
    cleared_at    BIGINT
);
-- One active alarm per (originator, type).
CREATE UNIQUE INDEX alarms_one_active ON alarms (community_id, originator, alarm_type) WHERE active = 1;
CREATE INDEX alarms_by_time ON alarms (community_id, last_seen);

CREATE TABLE alarm_audit (
    seq           BIGSERIAL PRIMARY KEY,
    alarm_id      TEXT NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
    action        TEXT NOT NULL,
    changed_by    TEXT NOT NULL,
    severity      TEXT NOT NULL,
    count         BIGINT NOT NULL,
    note          TEXT,
    at            BIGINT NOT NULL
);
CREATE INDEX alarm_audit_by_alarm ON alarm_audit (alarm_id, seq);

-- What happened in a community besides readings, in commit order.
CREATE TABLE community_events (
    seq           BIGSERIAL PRIMARY KEY,
    community_id  TEXT NOT NULL,
    kind          TEXT NOT NULL,
    topic         TEXT NOT NULL,
    data          TEXT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX community_events_by_community ON community_events (community_id, seq);

-- Where each installation is in its community's feed.
ALTER TABLE installations ADD COLUMN feed_cursor BIGINT NOT NULL DEFAULT 0;

-- How often devices of a kind are expected to report, and when a battery is low.
CREATE TABLE device_kinds (
    community_id        TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    kind                TEXT NOT NULL,
    report_interval_ms  BIGINT,
    battery_low_percent DOUBLE PRECISION,
    PRIMARY KEY (community_id, kind)
);

-- How far the platform's own monitor has read the reading log.
CREATE TABLE monitor_cursor (
    id      BIGINT PRIMARY KEY,
    cursor  BIGINT NOT NULL
);
