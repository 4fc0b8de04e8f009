-- Notifications: messages plugins send, one delivery per (person, channel,
-- escalation step), people's preferences and the webhook gateways that
-- carry channels other than the in-app inbox.

CREATE TABLE notify_messages (
    id               TEXT PRIMARY KEY,
    community_id     TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    plugin_id        TEXT NOT NULL,
    installation_id  TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    topic            TEXT NOT NULL,
    severity         TEXT NOT NULL,
    title            TEXT NOT NULL,
    body             TEXT NOT NULL,
    data             TEXT NOT NULL,
    require_ack      BIGINT NOT NULL,
    escalation       TEXT NOT NULL,
    state            TEXT NOT NULL,
    steps_run        BIGINT NOT NULL,
    next_step_at     BIGINT,
    recipients       BIGINT NOT NULL,
    acknowledged_by  TEXT,
    acknowledged_at  BIGINT,
    created_at       BIGINT NOT NULL
);
-- A plugin's idempotency key sends once per community.
CREATE UNIQUE INDEX notify_messages_by_key ON notify_messages (community_id, plugin_id, idempotency_key);
CREATE INDEX notify_messages_by_time ON notify_messages (community_id, created_at);
CREATE INDEX notify_messages_escalating ON notify_messages (next_step_at) WHERE next_step_at IS NOT NULL;

CREATE TABLE notify_deliveries (
    id            TEXT PRIMARY KEY,
    message_id    TEXT NOT NULL REFERENCES notify_messages(id) ON DELETE CASCADE,
    community_id  TEXT NOT NULL,
    person_id     TEXT NOT NULL,
    channel       TEXT NOT NULL,
    topic         TEXT NOT NULL,
    step          BIGINT NOT NULL,
    state         TEXT NOT NULL,
    attempts      BIGINT NOT NULL,
    due_at        BIGINT NOT NULL,
    delivered_at  BIGINT,
    read_at       BIGINT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (due_at) WHERE state = 'pending';
CREATE INDEX notify_deliveries_by_message ON notify_deliveries (message_id);
CREATE INDEX notify_deliveries_inbox ON notify_deliveries (community_id, person_id, channel, delivered_at);
-- Gateway deliveries by topic and time, for burst limits; inbox rows stay out.
CREATE INDEX notify_deliveries_recent ON notify_deliveries (community_id, topic, created_at) WHERE channel <> 'inbox';

CREATE TABLE notify_preferences (
    community_id  TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    person_id     TEXT NOT NULL,
    preferences   TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (community_id, person_id)
);

CREATE TABLE notify_gateways (
    community_id  TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    channel       TEXT NOT NULL,
    url           TEXT NOT NULL,
    secret        TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (community_id, channel)
);
