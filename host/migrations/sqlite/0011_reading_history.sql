-- History by device and measurement time, kept apart from the log.
--
-- The index readings_by_device (community, device, kind, at) made every
-- commit of the log writer touch one index page per device it named: a
-- gateway's group of a few thousand readings for hundreds of devices wrote
-- nearly a page per reading, and late readings landed on old pages. Its
-- entries now go to reading_history, which the log writer fills in large
-- steps sorted by device and time (ingest/history.rs); history_cursor is
-- the last sequence number whose reading is in it. A history query reads
-- reading_history up to the cursor and the log after it.

DROP INDEX readings_by_device;

CREATE TABLE reading_history (
    community_id  TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    at            BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    PRIMARY KEY (community_id, device_id, kind, at, seq)
) WITHOUT ROWID;

CREATE TABLE history_cursor (
    id   BIGINT PRIMARY KEY,
    seq  BIGINT NOT NULL
);

INSERT INTO reading_history (community_id, device_id, kind, at, seq)
    SELECT community_id, device_id, kind, at, seq FROM readings;
INSERT INTO history_cursor (id, seq) VALUES (1, (SELECT COALESCE(MAX(seq), 0) FROM readings));
