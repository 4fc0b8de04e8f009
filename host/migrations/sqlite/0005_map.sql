-- The community map: places (grid cells down to households, points of
-- interest) and people, each stored as its GeoJSON feature. A place's kind
-- and parent are columns so that SQL can walk the hierarchy.

CREATE TABLE map_features (
    community_id  TEXT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    kind          TEXT NOT NULL,
    parent_id     TEXT,
    feature       TEXT NOT NULL,
    PRIMARY KEY (community_id, id)
);
CREATE INDEX map_features_by_parent ON map_features (community_id, parent_id);
