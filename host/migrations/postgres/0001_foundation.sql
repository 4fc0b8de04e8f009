-- Foundation schema: communities, tokens, devices, the reading log, plugins,
-- installations and what their plugins keep.

CREATE TABLE communities (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Bearer tokens; only the SHA-256 of the secret is kept.
CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    secret_hash   TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    community_id  TEXT REFERENCES communities(id) ON DELETE CASCADE,
    subject       TEXT NOT NULL,
    person_id     TEXT,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);

CREATE TABLE devices (
    community_id   TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    reading_kinds  TEXT NOT NULL,
    location       TEXT,
    gateway        TEXT,
    token_id       TEXT NOT NULL REFERENCES tokens(id),
    created_at     BIGINT NOT NULL,
    last_seen      BIGINT,
    PRIMARY KEY (community_id, id)
);

-- The durable event log: a reading is acknowledged only once it is here.
CREATE TABLE readings (
    seq           BIGSERIAL PRIMARY KEY,
    community_id  TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    num           DOUBLE PRECISION,
    flag          BIGINT,
    txt           TEXT,
    unit          TEXT,
    at            BIGINT NOT NULL,
    received_at   BIGINT NOT NULL
);
CREATE INDEX readings_by_community ON readings (community_id, seq);
CREATE INDEX readings_by_device ON readings (community_id, device_id, kind, at);

CREATE TABLE plugins (
    id           TEXT NOT NULL,
    version      TEXT NOT NULL,
    vendor       TEXT NOT NULL,
    api          TEXT NOT NULL,
    description  TEXT NOT NULL,
    manifest     TEXT NOT NULL,
    component    BYTEA NOT NULL,
    digest       TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  BIGINT NOT NULL,
    PRIMARY KEY (id, version)
);

CREATE TABLE installations (
    id                    TEXT PRIMARY KEY,
    community_id          TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    plugin_id             TEXT NOT NULL,
    plugin_version        TEXT NOT NULL,
    grants                TEXT NOT NULL,
    config                TEXT NOT NULL,
    limits                TEXT NOT NULL,
    state                 TEXT NOT NULL,
    state_reason          TEXT,
    consecutive_failures  BIGINT NOT NULL DEFAULT 0,
    cursor                BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    UNIQUE (community_id, plugin_id),
    FOREIGN KEY (plugin_id, plugin_version) REFERENCES plugins(id, version)
);

-- Plugin-private state, per (community, plugin) so it survives upgrades.
CREATE TABLE plugin_state (
    community_id  TEXT NOT NULL,
    plugin_id     TEXT NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    value         BYTEA NOT NULL,
    PRIMARY KEY (community_id, plugin_id, key)
);

CREATE TABLE timers (
    installation_id  TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
    tag              TEXT NOT NULL,
    due_at           BIGINT NOT NULL,
    every_ms         BIGINT,
    PRIMARY KEY (installation_id, tag)
);
CREATE INDEX timers_by_due ON timers (installation_id, due_at);

-- Events a plugin failed on, kept for operators to inspect.
CREATE TABLE dead_letters (
    id               BIGSERIAL PRIMARY KEY,
    installation_id  TEXT NOT NULL REFERENCES installations(id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    reason           TEXT NOT NULL,
    error            TEXT NOT NULL,
    at               BIGINT NOT NULL
);
CREATE INDEX dead_letters_by_installation ON dead_letters (installation_id, id);
