-- The closing odds of played matches, paired with `matches` once when loaded
-- (`acebet odds load`), so the market-implied rating (features.market) reads them without
-- re-matching bookmaker names on every run. Probabilities are vig-free, for winner_id.
CREATE TABLE match_odds (
    tourney_id       VARCHAR NOT NULL,
    match_num        INTEGER NOT NULL,
    winner_id        BIGINT NOT NULL,      -- the players as paired: a result corrected
    loser_id         BIGINT NOT NULL,      -- later is read the other way round
    pinnacle_prob    DOUBLE,               -- Pinnacle's closing line, vig removed
    market_avg_prob  DOUBLE,               -- the market average's, vig removed
    source_file      VARCHAR NOT NULL,     -- e.g. 2022.csv
    loaded_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tourney_id, match_num),
    CHECK (pinnacle_prob IS NOT NULL OR market_avg_prob IS NOT NULL),
    CHECK (pinnacle_prob > 0 AND pinnacle_prob < 1),
    CHECK (market_avg_prob > 0 AND market_avg_prob < 1)
);
