-- Plugin ids belong to the vendor that first published them; a platform
-- admin may transfer one. Existing ids go to the vendor of their oldest upload.
CREATE TABLE plugin_owners (
    plugin_id   TEXT PRIMARY KEY,
    vendor      TEXT NOT NULL,
    since       BIGINT NOT NULL
);
INSERT INTO plugin_owners (plugin_id, vendor, since)
SELECT DISTINCT ON (id) id, vendor, uploaded_at FROM plugins ORDER BY id, uploaded_at;

-- What each (community, plugin) keeps in its private state, maintained by
-- the store itself so that quotas can be checked without scanning the keys.
-- Bytes are those of the key and the value.
CREATE TABLE plugin_state_usage (
    community_id  TEXT NOT NULL,
    plugin_id     TEXT NOT NULL,
    keys          BIGINT NOT NULL,
    bytes         BIGINT NOT NULL,
    PRIMARY KEY (community_id, plugin_id)
);
INSERT INTO plugin_state_usage (community_id, plugin_id, keys, bytes)
SELECT community_id, plugin_id, COUNT(*), SUM(octet_length(key) + octet_length(value))
FROM plugin_state GROUP BY community_id, plugin_id;

CREATE FUNCTION plugin_state_usage_track() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO plugin_state_usage AS u (community_id, plugin_id, keys, bytes)
        VALUES (NEW.community_id, NEW.plugin_id, 1, octet_length(NEW.key) + octet_length(NEW.value))
        ON CONFLICT (community_id, plugin_id)
        DO UPDATE SET keys = u.keys + 1, bytes = u.bytes + EXCLUDED.bytes;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE plugin_state_usage
        SET bytes = bytes + octet_length(NEW.value) - octet_length(OLD.value)
        WHERE community_id = NEW.community_id AND plugin_id = NEW.plugin_id;
    ELSE
        UPDATE plugin_state_usage
        SET keys = keys - 1, bytes = bytes - octet_length(OLD.key) - octet_length(OLD.value)
        WHERE community_id = OLD.community_id AND plugin_id = OLD.plugin_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER plugin_state_usage_track AFTER INSERT OR UPDATE OR DELETE ON plugin_state
FOR EACH ROW EXECUTE FUNCTION plugin_state_usage_track();

-- The person a device belongs to (a wearable's wearer), who may read it.
ALTER TABLE devices ADD COLUMN person_id TEXT;
