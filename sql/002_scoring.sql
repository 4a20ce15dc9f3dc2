-- Scoring: fixtures and predictions remember which version of a fixture's details they
-- describe, so a changed fixture is re-scored and its old prediction archived, not lost.

ALTER TABLE fixtures ADD COLUMN details_hash VARCHAR;
ALTER TABLE fixtures ADD COLUMN tourney_id VARCHAR;
ALTER TABLE predictions ADD COLUMN details_hash VARCHAR;
ALTER TABLE score_runs ADD COLUMN archived BIGINT;
ALTER TABLE score_runs ADD COLUMN seconds DOUBLE;

-- Predictions replaced by a re-score (changed fixture details or --rescore), kept whole.
CREATE TABLE predictions_history AS SELECT * FROM predictions WITH NO DATA;
ALTER TABLE predictions_history ADD COLUMN archived_at TIMESTAMPTZ;
ALTER TABLE predictions_history ADD COLUMN archived_by_run VARCHAR;
ALTER TABLE predictions_history ADD COLUMN archive_reason VARCHAR;

CREATE TABLE fixture_loads (
    load_id      VARCHAR PRIMARY KEY,
    loaded_at    TIMESTAMPTZ NOT NULL,
    source_file  VARCHAR NOT NULL,
    rows_read    BIGINT NOT NULL,
    inserted     BIGINT NOT NULL,
    updated      BIGINT NOT NULL,
    unchanged    BIGINT NOT NULL,
    rejected     BIGINT NOT NULL
);
