-- views version: 1
-- The analyst views, written once. Views hold no data: a writing `acebet` command
-- applies this file when its version is newer than the database's (or a migration has
-- run), so the views always describe the current tables. A change here raises the
-- version. Columns are only ever added at the end of a view: analysts' exports and
-- notebooks may read them by position (tests/test_analysts.py holds both rules).

-- The current prediction for every fixture, from the active model, for the fixture's
-- current details.
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
    p.history_age_days,
    p.p1_blend_prob  -- last: readers that go by position keep their columns
FROM predictions p
JOIN fixtures f USING (fixture_id)
JOIN models m ON m.model_version = p.model_version AND m.is_active
WHERE p.details_hash IS NOT DISTINCT FROM f.details_hash;

-- Every prediction (any model) joined to the played match once its result is ingested:
-- the same two players, a match dated from 16 days before to 3 days after the fixture
-- (match files date a whole event with its first Monday), the same round preferred.
-- Walkovers and other results without play are settled = false, result = 'void'.
CREATE OR REPLACE VIEW prediction_outcomes AS
WITH candidates AS (
    SELECT
        p.*,
        m.tourney_id AS match_tourney_id,
        m.match_num,
        m.tourney_date AS match_date,
        m.winner_id,
        m.score,
        row_number() OVER (
            PARTITION BY p.fixture_id, p.model_version
            ORDER BY (m.round = p.round) DESC, abs(m.tourney_date - p.tourney_date),
                     m.match_num
        ) AS pick
    FROM predictions p
    JOIN matches m
      ON least(m.winner_id, m.loser_id) = least(p.p1_id, p.p2_id)
     AND greatest(m.winner_id, m.loser_id) = greatest(p.p1_id, p.p2_id)
     AND m.tourney_date BETWEEN p.tourney_date - INTERVAL 16 DAY
                            AND p.tourney_date + INTERVAL 3 DAY
),
matched AS (
    SELECT * FROM candidates WHERE pick = 1
),
joined AS (
    SELECT
        p.fixture_id, p.model_version, p.run_id, p.scored_at, p.tourney_date,
        p.tourney_name, p.tourney_level, p.surface, p.round, p.p1_id, p.p1_name, p.p2_id,
        p.p2_name, p.p1_win_prob, p.predicted_winner_id, p.p1_market_prob, p.edge,
        p.cold_start, p.p1_blend_prob,
        m.match_tourney_id, m.match_num, m.match_date, m.winner_id, m.score,
        m.fixture_id IS NOT NULL
            AND NOT regexp_matches(coalesce(m.score, ''),
                '(?i)W/O|walkover|DEF|default|^UNK|ABD|abandoned|unfinished|^NA$|^\s*$')
            AS settled,
        m.fixture_id IS NOT NULL AS result_known
    FROM predictions p
    LEFT JOIN matched m USING (fixture_id, model_version)
)
SELECT
    * EXCLUDE (p1_blend_prob),  -- placed with the blend's own columns, after the others
    CASE WHEN NOT result_known THEN 'pending' WHEN NOT settled THEN 'void'
         WHEN winner_id = p1_id THEN 'p1' ELSE 'p2' END AS result,
    CASE WHEN settled THEN winner_id = p1_id END AS p1_won,
    CASE WHEN settled THEN predicted_winner_id = winner_id END AS correct,
    CASE WHEN settled THEN -ln(greatest(least(
        CASE WHEN winner_id = p1_id THEN p1_win_prob ELSE 1 - p1_win_prob END,
        1 - 1e-15), 1e-15)) END AS log_loss,
    CASE WHEN settled THEN power(p1_win_prob - CASE WHEN winner_id = p1_id THEN 1 ELSE 0 END,
        2) END AS brier,
    p1_blend_prob,
    CASE WHEN settled AND p1_blend_prob IS NOT NULL THEN -ln(greatest(least(
        CASE WHEN winner_id = p1_id THEN p1_blend_prob ELSE 1 - p1_blend_prob END,
        1 - 1e-15), 1e-15)) END AS blend_log_loss
FROM joined;

-- Settled predictions scored by model version, by month, tournament level and surface.
-- Probabilities are seen from the lower player id (as in backtests), and the
-- calibration error is the expected calibration error over ten probability bins.
CREATE OR REPLACE VIEW model_performance AS
WITH settled AS (
    SELECT
        model_version,
        strftime(tourney_date, '%Y-%m') AS month,
        tourney_level,
        surface,
        CASE WHEN p1_id < p2_id THEN p1_win_prob ELSE 1 - p1_win_prob END AS p,
        CASE WHEN (winner_id = least(p1_id, p2_id)) THEN 1.0 ELSE 0.0 END AS y,
        correct,
        log_loss,
        brier
    FROM prediction_outcomes
    WHERE settled
),
slices AS (
    SELECT model_version, 'month' AS dimension, month AS value, * EXCLUDE (model_version)
    FROM settled
    UNION ALL
    SELECT model_version, 'level', tourney_level, * EXCLUDE (model_version) FROM settled
    UNION ALL
    SELECT model_version, 'surface', surface, * EXCLUDE (model_version) FROM settled
    UNION ALL
    SELECT model_version, 'all', 'all', * EXCLUDE (model_version) FROM settled
),
bins AS (
    SELECT model_version, dimension, value, least(floor(p * 10), 9) AS bin,
           count(*) AS n, avg(p) AS mean_p, avg(y) AS mean_y
    FROM slices
    GROUP BY ALL
),
calibration AS (
    SELECT model_version, dimension, value,
           sum(n * abs(mean_p - mean_y)) / sum(n) AS calibration_error
    FROM bins
    GROUP BY ALL
)
SELECT
    s.model_version,
    s.dimension,
    s.value,
    count(*) AS n,
    avg(CASE WHEN s.correct THEN 1.0 ELSE 0.0 END) AS accuracy,
    avg(s.log_loss) AS log_loss,
    avg(s.brier) AS brier,
    any_value(c.calibration_error) AS calibration_error
FROM slices s
JOIN calibration c USING (model_version, dimension, value)
GROUP BY s.model_version, s.dimension, s.value
ORDER BY s.model_version, s.dimension, s.value;

-- Scoring runs, newest first, with how long they took and why they failed.
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
