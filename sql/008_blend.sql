-- The market-aware forecast: the model pooled with the vig-free market probability
-- (weights stored with the model version), for fixtures and backtest matches with odds.
-- p1_win_prob and edge stay the pure model's. The two views that show predictions are
-- redefined to carry it.

ALTER TABLE predictions ADD COLUMN p1_blend_prob DOUBLE;
ALTER TABLE predictions_history ADD COLUMN p1_blend_prob DOUBLE;
ALTER TABLE backtest_predictions ADD COLUMN p1_blend_prob DOUBLE;

-- The current prediction for every fixture, from the active model, for the fixture's
-- current details (as in 007, with the blend).
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
