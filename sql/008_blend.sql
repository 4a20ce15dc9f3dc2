-- The market-aware forecast: the model pooled with the vig-free market probability
-- (weights stored with the model version), for fixtures and backtest matches with odds.
-- p1_win_prob and edge stay the pure model's; the views show it (sql/views.sql).
ALTER TABLE predictions ADD COLUMN p1_blend_prob DOUBLE;
ALTER TABLE predictions_history ADD COLUMN p1_blend_prob DOUBLE;
ALTER TABLE backtest_predictions ADD COLUMN p1_blend_prob DOUBLE;
