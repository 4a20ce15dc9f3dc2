"""Stored backtests: `backtests` (one row a run, its metric table) and
`backtest_predictions` (its per-match forecasts), which the report plots."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import polars as pl

from acebet.store import query_frame, register_frame, transaction

# The per-match columns a backtest stores; the forecasters a backtest had no data for
# (no odds folder, no blend) are stored as NULL.
PREDICTION_COLUMNS = (
    "backtest_id", "tourney_date", "tourney_id", "match_num", "tourney_level", "surface",
    "round", "p1_id", "p2_id", "winner_id", "evaluated", "p1_win_prob", "elo_prob",
    "rank_prob", "pinnacle_prob", "market_avg_prob", "p1_blend_prob",
)
_INSERT_PREDICTIONS = (
    f"INSERT INTO backtest_predictions BY NAME SELECT {', '.join(PREDICTION_COLUMNS)} "  # noqa: S608
    "FROM _backtest_predictions"
)


def save(
    con: duckdb.DuckDBPyConnection, *, backtest_id: str, date_from: dt.date,
    date_to: dt.date, retrain: str, metrics: list[dict], predictions: pl.DataFrame,
) -> None:
    """Store a backtest's metrics and per-match predictions (PREDICTION_COLUMNS) in one
    transaction: a report never sees one without the other."""
    register_frame(con, "_backtest_predictions", predictions)
    try:
        with transaction(con):
            con.execute(
                "INSERT INTO backtests (backtest_id, created_at, date_from, date_to, retrain, "
                "metrics) VALUES (?, now(), ?, ?, ?, ?)",
                [backtest_id, date_from, date_to, retrain, json.dumps(metrics)],
            )
            con.execute(_INSERT_PREDICTIONS)
    finally:
        con.unregister("_backtest_predictions")


def latest(con: duckdb.DuckDBPyConnection) -> tuple[str, dt.date, dt.date, str] | None:
    """(backtest_id, date_from, date_to, retrain) of the newest stored backtest, the one
    the report shows; None before the first."""
    rows = con.execute("SELECT backtest_id, date_from, date_to, retrain FROM backtests "
                       "ORDER BY created_at DESC LIMIT 1").fetchall()
    return rows[0] if rows else None


def evaluated_predictions(con: duckdb.DuckDBPyConnection, backtest_id: str) -> pl.DataFrame:
    """The backtest's per-match forecasts on the matches its metrics count."""
    return query_frame(con, "SELECT * FROM backtest_predictions WHERE backtest_id = ? "
                            "AND evaluated", [backtest_id])
