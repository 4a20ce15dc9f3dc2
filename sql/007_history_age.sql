-- How old the history behind a prediction was: days from the last match the features
-- saw to the fixture's date (0 when the history reaches the fixture). A scheduler whose
-- weekly ingest broke keeps scoring; this makes the staleness visible on every row, and
-- `score --max-history-age` turns it into a failed run. Older predictions keep NULL.
ALTER TABLE predictions ADD COLUMN history_age_days INTEGER;
ALTER TABLE predictions_history ADD COLUMN history_age_days INTEGER;
-- The oldest history any fixture of the run was scored on.
ALTER TABLE score_runs ADD COLUMN history_age_days INTEGER;
