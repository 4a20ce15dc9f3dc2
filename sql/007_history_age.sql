-- How old the history behind a prediction was: days from the last match the features
-- saw to the fixture's date (0 when the history reaches the fixture). A scheduler whose
-- weekly ingest broke keeps scoring; this makes the staleness visible on every row, and
-- `score --max-history-age` turns it into a failed run. Older predictions keep NULL.
ALTER TABLE predictions ADD COLUMN history_age_days INTEGER;
ALTER TABLE predictions_history ADD COLUMN history_age_days INTEGER;
-- The oldest history any fixture of the run was scored on.
ALTER TABLE score_runs ADD COLUMN history_age_days INTEGER;

-- The views of 004, with the new columns.
CREATE OR REPLACE VIEW latest_predictions AS
SELECT
    p.fixture_id,
    p.tourney_date,
    p.tourney_name,
    p.tourney_level,
    p.surface,
    p.round,
    p.best_of,
    p.p1_id,
    p.p1_name,
    p.p2_id,
    p.p2_name,
    p.p1_win_prob,
    1 - p.p1_win_prob AS p2_win_prob,
    p.predicted_winner_id,
    CASE WHEN p.predicted_winner_id = p.p1_id THEN p.p1_name ELSE p.p2_name END AS favourite,
    greatest(p.p1_win_prob, 1 - p.p1_win_prob) AS favourite_prob,
    p.p1_market_prob,
    p.edge,
    p.cold_start,
    p.model_version,
    p.run_id,
    p.scored_at,
    p.as_of,
    p.history_age_days
FROM predictions p
JOIN fixtures f USING (fixture_id)
JOIN models m ON m.model_version = p.model_version AND m.is_active
WHERE p.details_hash IS NOT DISTINCT FROM f.details_hash;

CREATE OR REPLACE VIEW run_history AS
SELECT
    run_id,
    status,
    started_at,
    finished_at,
    coalesce(seconds, date_diff('millisecond', started_at, finished_at) / 1000.0) AS seconds,
    model_version,
    as_of,
    fixtures_seen,
    predictions_written,
    archived,
    cold_start,
    error,
    history_age_days  -- last: readers that go by position keep their columns
FROM score_runs
ORDER BY started_at DESC;
