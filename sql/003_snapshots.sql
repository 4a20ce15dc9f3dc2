-- Feature snapshots: the ratings and running states at the end of the history, so a daily
-- scoring run does not replay every match. Keyed by a fingerprint of the matches table;
-- a stale snapshot is simply rebuilt. Safe to delete at any time.
CREATE TABLE feature_snapshots (
    fingerprint  VARCHAR NOT NULL,
    part         VARCHAR NOT NULL,
    data         BLOB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (fingerprint, part)
);
