-- Per-match backtest predictions, so reports can plot them over time and by bucket.
CREATE TABLE backtest_predictions (
    backtest_id      VARCHAR NOT NULL,
    tourney_date     DATE NOT NULL,
    tourney_id       VARCHAR NOT NULL,
    match_num        INTEGER NOT NULL,
    tourney_level    VARCHAR,
    surface          VARCHAR,
    round            VARCHAR,
    p1_id            BIGINT NOT NULL,
    p2_id            BIGINT NOT NULL,
    winner_id        BIGINT NOT NULL,
    evaluated        BOOLEAN NOT NULL,
    p1_win_prob      DOUBLE NOT NULL,
    elo_prob         DOUBLE,
    rank_prob        DOUBLE,
    pinnacle_prob    DOUBLE,
    market_avg_prob  DOUBLE,
    PRIMARY KEY (backtest_id, tourney_id, match_num)
);
