-- The trust store: vendor keys whose signed packages the host accepts.
CREATE TABLE vendor_keys (
    key             TEXT PRIMARY KEY,
    vendor          TEXT NOT NULL,
    added_by        TEXT NOT NULL,
    added_at        BIGINT NOT NULL,
    revoked_at      BIGINT,
    revoked_reason  TEXT
);
CREATE INDEX vendor_keys_by_vendor ON vendor_keys (vendor);

-- Who signed each published version: the signature.json it came with.
ALTER TABLE plugins ADD COLUMN signature TEXT;
ALTER TABLE plugins ADD COLUMN signing_key TEXT;
