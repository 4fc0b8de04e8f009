-- The community ledger: accounts, the append-only entry log, the Merkle
-- tree's complete subtrees, and signed checkpoints.

CREATE TABLE ledger_accounts (
    community_id  TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    name          TEXT COLLATE "C" NOT NULL,
    balance       BIGINT NOT NULL,
    floor         BIGINT,
    opened_at     BIGINT NOT NULL,
    PRIMARY KEY (community_id, name)
);

-- Every write is one entry; `idx` is its Merkle leaf index.
CREATE TABLE ledger_entries (
    community_id     TEXT NOT NULL,
    idx              BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    body             TEXT NOT NULL,
    leaf_hash        BYTEA NOT NULL,
    plugin_id        TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    at               BIGINT NOT NULL,
    PRIMARY KEY (community_id, idx),
    UNIQUE (community_id, plugin_id, idempotency_key)
);

-- Double entry: each transfer is two movements summing to zero.
CREATE TABLE ledger_movements (
    community_id  TEXT NOT NULL,
    idx           BIGINT NOT NULL,
    account       TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    PRIMARY KEY (community_id, idx, account)
);
CREATE INDEX ledger_movements_by_account ON ledger_movements (community_id, account, idx);

-- Hashes of complete subtrees: node (level, idx) covers leaves [idx*2^level, (idx+1)*2^level).
CREATE TABLE ledger_nodes (
    community_id  TEXT NOT NULL,
    level         BIGINT NOT NULL,
    idx           BIGINT NOT NULL,
    hash          BYTEA NOT NULL,
    PRIMARY KEY (community_id, level, idx)
);

CREATE TABLE ledger_checkpoints (
    community_id  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    root          BYTEA NOT NULL,
    signed        TEXT NOT NULL,
    at            BIGINT NOT NULL,
    PRIMARY KEY (community_id, size)
);
