-- Ingest: how long each community keeps its raw readings, and the keys of
-- idempotent batches, recorded in the transaction that appends the batch.

ALTER TABLE communities ADD COLUMN reading_retention_days BIGINT NOT NULL DEFAULT 30;

CREATE TABLE ingest_batches (
    community_id     TEXT NOT NULL,
    device_id        TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    -- SHA-256 of the batch as sent, so a key reused for another batch is refused.
    digest           TEXT NOT NULL,
    -- The report the first delivery got, returned to every retry.
    report           TEXT NOT NULL,
    received_at      BIGINT NOT NULL,
    PRIMARY KEY (community_id, device_id, idempotency_key)
);
CREATE INDEX ingest_batches_by_age ON ingest_batches (community_id, received_at);
