-- This week's biggest predicted upsets: fixtures where AceBet favours the player the
-- bookmakers make the underdog, largest disagreement first.
-- Run: duckdb acebet.duckdb < sql/queries/biggest_upsets_this_week.sql
SELECT
    tourney_date,
    tourney_name,
    round,
    favourite AS acebet_favourite,
    round(favourite_prob * 100, 1) AS acebet_pct,
    round(CASE WHEN predicted_winner_id = p1_id THEN p1_market_prob
               ELSE 1 - p1_market_prob END * 100, 1) AS market_pct,
    round(abs(edge) * 100, 1) AS edge_pct_points
FROM latest_predictions
WHERE p1_market_prob IS NOT NULL
  AND (p1_win_prob - 0.5) * (p1_market_prob - 0.5) < 0      -- model and market disagree
  AND tourney_date >= coalesce(getvariable('week_start'), current_date - INTERVAL 7 DAY)
ORDER BY abs(edge) DESC
LIMIT 20;
