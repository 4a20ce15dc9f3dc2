-- Core store: history, ingest bookkeeping, and the scoring tables later steps fill.
-- Applied once by acebet.store.migrate(); never edit a released migration, add a new file.

CREATE TABLE players (
    player_id    BIGINT PRIMARY KEY,
    name         VARCHAR,                -- "first last"; a few players have no name on file
    name_first   VARCHAR,
    name_last    VARCHAR,
    hand         VARCHAR,
    dob          DATE,
    ioc          VARCHAR,
    height       INTEGER,
    wikidata_id  VARCHAR,
    source_file  VARCHAR
);

CREATE TABLE matches (
    tourney_id          VARCHAR NOT NULL,
    tourney_name        VARCHAR,
    surface             VARCHAR,
    draw_size           INTEGER,
    tourney_level       VARCHAR,
    tourney_date        DATE NOT NULL,
    match_num           INTEGER NOT NULL,
    winner_id           BIGINT NOT NULL,
    winner_seed         INTEGER,
    winner_entry        VARCHAR,
    winner_name         VARCHAR,
    winner_hand         VARCHAR,
    winner_ht           INTEGER,
    winner_ioc          VARCHAR,
    winner_age          DOUBLE,
    loser_id            BIGINT NOT NULL,
    loser_seed          INTEGER,
    loser_entry         VARCHAR,
    loser_name          VARCHAR,
    loser_hand          VARCHAR,
    loser_ht            INTEGER,
    loser_ioc           VARCHAR,
    loser_age           DOUBLE,
    score               VARCHAR,
    best_of             INTEGER,
    round               VARCHAR,
    minutes             INTEGER,
    w_ace               INTEGER,
    w_df                INTEGER,
    w_svpt              INTEGER,
    w_1stIn             INTEGER,
    w_1stWon            INTEGER,
    w_2ndWon            INTEGER,
    w_SvGms             INTEGER,
    w_bpSaved           INTEGER,
    w_bpFaced           INTEGER,
    l_ace               INTEGER,
    l_df                INTEGER,
    l_svpt              INTEGER,
    l_1stIn             INTEGER,
    l_1stWon            INTEGER,
    l_2ndWon            INTEGER,
    l_SvGms             INTEGER,
    l_bpSaved           INTEGER,
    l_bpFaced           INTEGER,
    winner_rank         INTEGER,
    winner_rank_points  INTEGER,
    loser_rank          INTEGER,
    loser_rank_points   INTEGER,
    source_file         VARCHAR NOT NULL,  -- e.g. atp_matches_2022.csv
    PRIMARY KEY (tourney_id, match_num)
);

CREATE TABLE ingest_runs (
    ingest_id         VARCHAR PRIMARY KEY,
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ NOT NULL,
    source            VARCHAR NOT NULL,
    files             INTEGER NOT NULL,
    rows_read         BIGINT NOT NULL,
    inserted          BIGINT NOT NULL,
    updated           BIGINT NOT NULL,
    unchanged         BIGINT NOT NULL,
    rejected          BIGINT NOT NULL,
    players_inserted  BIGINT NOT NULL,
    players_updated   BIGINT NOT NULL
);

-- Every input row an ingest could not use. A re-ingest of a file replaces that file's rejects.
CREATE TABLE ingest_rejects (
    ingest_id    VARCHAR NOT NULL,
    source_file  VARCHAR NOT NULL,
    line         BIGINT NOT NULL,          -- 1-based line in the file, header is line 1
    reason       VARCHAR NOT NULL,
    raw          VARCHAR                   -- the row as read, JSON
);

CREATE TABLE fixtures (
    fixture_id     VARCHAR PRIMARY KEY,
    tourney_date   DATE NOT NULL,
    tourney_name   VARCHAR,
    surface        VARCHAR NOT NULL,
    tourney_level  VARCHAR NOT NULL,
    round          VARCHAR NOT NULL,
    best_of        INTEGER NOT NULL,
    p1_id          BIGINT NOT NULL,
    p2_id          BIGINT NOT NULL,
    p1_name        VARCHAR,
    p2_name        VARCHAR,
    p1_odds        DOUBLE,
    p2_odds        DOUBLE,
    source_file    VARCHAR,
    loaded_at      TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE fixture_rejects (
    load_id      VARCHAR NOT NULL,
    source_file  VARCHAR NOT NULL,
    row_number   BIGINT NOT NULL,          -- 1-based data row (header excluded)
    reason       VARCHAR NOT NULL,
    suggestions  VARCHAR,
    raw          VARCHAR,                  -- the row as read, JSON
    rejected_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE models (
    model_version  INTEGER PRIMARY KEY,
    created_at     TIMESTAMPTZ NOT NULL,
    is_active      BOOLEAN NOT NULL DEFAULT false,
    train_from     DATE,
    train_to       DATE,
    model_text     VARCHAR NOT NULL,       -- LightGBM text format, never a pickle
    model_sha256   VARCHAR NOT NULL,       -- of model_text, checked on load
    metadata       JSON NOT NULL           -- features, params, window, metrics, versions
);

CREATE TABLE score_runs (
    run_id          VARCHAR PRIMARY KEY,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          VARCHAR NOT NULL,      -- succeeded | failed
    model_version   INTEGER,
    as_of           DATE,
    fixtures_seen   BIGINT,
    predictions_written BIGINT,
    cold_start      BIGINT,
    error           VARCHAR
);

CREATE TABLE predictions (
    fixture_id           VARCHAR NOT NULL,
    run_id               VARCHAR NOT NULL,
    model_version        INTEGER NOT NULL,
    scored_at            TIMESTAMPTZ NOT NULL,
    as_of                DATE NOT NULL,
    tourney_date         DATE NOT NULL,
    tourney_name         VARCHAR,
    surface              VARCHAR,
    tourney_level        VARCHAR,
    round                VARCHAR,
    best_of              INTEGER,
    p1_id                BIGINT NOT NULL,
    p2_id                BIGINT NOT NULL,
    p1_name              VARCHAR,
    p2_name              VARCHAR,
    p1_win_prob          DOUBLE NOT NULL,
    predicted_winner_id  BIGINT NOT NULL,
    cold_start           BOOLEAN NOT NULL,
    p1_market_prob       DOUBLE,
    edge                 DOUBLE,
    PRIMARY KEY (fixture_id, model_version)
);

CREATE TABLE backtests (
    backtest_id   VARCHAR PRIMARY KEY,
    created_at    TIMESTAMPTZ NOT NULL,
    date_from     DATE NOT NULL,
    date_to       DATE NOT NULL,
    retrain       VARCHAR NOT NULL,
    metrics       JSON NOT NULL            -- list of {model, subset, n, accuracy, log_loss, ...}
);
