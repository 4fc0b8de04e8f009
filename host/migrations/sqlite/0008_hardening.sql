-- Plugin ids belong to the vendor that first published them; a platform
-- admin may transfer one. Existing ids go to the vendor of their oldest upload.
CREATE TABLE plugin_owners (
    plugin_id   TEXT PRIMARY KEY,
    vendor      TEXT NOT NULL,
    since       BIGINT NOT NULL
);
INSERT INTO plugin_owners (plugin_id, vendor, since)
SELECT id, vendor, MIN(uploaded_at) FROM plugins GROUP BY id;

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
SELECT community_id, plugin_id, COUNT(*), SUM(LENGTH(CAST(key AS BLOB)) + LENGTH(value))
FROM plugin_state GROUP BY community_id, plugin_id;

CREATE TRIGGER plugin_state_usage_insert AFTER INSERT ON plugin_state BEGIN
    INSERT OR IGNORE INTO plugin_state_usage (community_id, plugin_id, keys, bytes)
    VALUES (NEW.community_id, NEW.plugin_id, 0, 0);
    UPDATE plugin_state_usage
    SET keys = keys + 1, bytes = bytes + LENGTH(CAST(NEW.key AS BLOB)) + LENGTH(NEW.value)
    WHERE community_id = NEW.community_id AND plugin_id = NEW.plugin_id;
END;

CREATE TRIGGER plugin_state_usage_update AFTER UPDATE ON plugin_state BEGIN
    UPDATE plugin_state_usage
    SET bytes = bytes + LENGTH(NEW.value) - LENGTH(OLD.value)
    WHERE community_id = NEW.community_id AND plugin_id = NEW.plugin_id;
END;

CREATE TRIGGER plugin_state_usage_delete AFTER DELETE ON plugin_state BEGIN
    UPDATE plugin_state_usage
    SET keys = keys - 1, bytes = bytes - LENGTH(CAST(OLD.key AS BLOB)) - LENGTH(OLD.value)
    WHERE community_id = OLD.community_id AND plugin_id = OLD.plugin_id;
END;

-- The person a device belongs to (a wearable's wearer), who may read it.
ALTER TABLE devices ADD COLUMN person_id TEXT;
