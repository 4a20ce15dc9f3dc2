"""Scoring runs and their predictions: `score_runs`, `predictions`, `predictions_history`
and the analyst views over them (`latest_predictions`, `run_history`,
`prediction_outcomes`, `model_performance`).

The scoring job writes here in one transaction per run; the CLI, the demo and the report
read the same views analysts query, so what AceBet prints is what analysts see.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from acebet.store import query_frame, scalar

# The columns of `predictions` the scoring job writes, in the order the frame carries
# them; the rest (none today) keep their defaults.
PREDICTION_COLUMNS = (
    "fixture_id", "run_id", "model_version", "scored_at", "as_of", "tourney_date",
    "tourney_name", "surface", "tourney_level", "round", "best_of", "p1_id", "p2_id",
    "p1_name", "p2_name", "p1_win_prob", "predicted_winner_id", "cold_start",
    "p1_market_prob", "edge", "details_hash", "history_age_days", "p1_blend_prob",
)

# Built once from the column constant above (no input reaches it).
_INSERT_NEW_PREDICTIONS = (
    f"INSERT INTO predictions ({', '.join(PREDICTION_COLUMNS)}) "  # noqa: S608
    f"SELECT {', '.join(PREDICTION_COLUMNS)} FROM _new_predictions "
    "ON CONFLICT (fixture_id, model_version) DO NOTHING"
)


def unscored_fixtures(
    con: duckdb.DuckDBPyConnection, model_version: int, *, rescore: bool,
    fixture_ids: list[str] | None, hidden_prefixes: tuple[str, str],
) -> pl.DataFrame:
    """Fixtures with no prediction from `model_version` for their current details (all of
    them with `rescore`), oldest first: the work of a scoring run.

    With `fixture_ids` only those; otherwise fixtures loaded from files whose name starts
    with one of `hidden_prefixes` (the demo's replayed weeks) are left out, so a model
    trained on their results never scores them in sample.
    """
    return query_frame(
        con,
        """SELECT f.* FROM fixtures f
           LEFT JOIN predictions p
             ON p.fixture_id = f.fixture_id AND p.model_version = ?
           WHERE (? OR p.fixture_id IS NULL OR p.details_hash IS DISTINCT FROM f.details_hash)
             AND CASE WHEN ?::VARCHAR[] IS NULL
                      THEN NOT (starts_with(coalesce(f.source_file, ''), ?)
                                OR starts_with(coalesce(f.source_file, ''), ?))
                      ELSE list_contains(?::VARCHAR[], f.fixture_id) END
           ORDER BY f.tourney_date, f.fixture_id""",
        [model_version, rescore, fixture_ids, *hidden_prefixes, fixture_ids],
    )


def archive_replaced(con: duckdb.DuckDBPyConnection, run_id: str, *, rescore: bool) -> int:
    """Move the predictions the staged `_new_predictions` replace (all of theirs with
    `rescore`, else those whose fixture details changed) to `predictions_history`, with
    who archived them and why; returns how many.

    Decided inside the writing transaction, so a run that raced ahead keeps its rows.
    """
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _stale AS
           SELECT p.* FROM predictions p JOIN _new_predictions n USING (fixture_id, model_version)
           WHERE ? OR p.details_hash IS DISTINCT FROM n.details_hash""",
        [rescore],
    )
    archived = int(scalar(con, "SELECT count(*) FROM _stale") or 0)
    if archived:
        reason = "rescore" if rescore else "fixture details changed"
        con.execute("INSERT INTO predictions_history BY NAME SELECT *, now() AS archived_at, "
                    "? AS archived_by_run, ? AS archive_reason FROM _stale", [run_id, reason])
        con.execute(
            """DELETE FROM predictions WHERE EXISTS (
                   SELECT 1 FROM _stale s WHERE s.fixture_id = predictions.fixture_id
                   AND s.model_version = predictions.model_version)"""
        )
    con.execute("DROP TABLE _stale")
    return archived


def insert_new_predictions(con: duckdb.DuckDBPyConnection) -> int:
    """Insert the staged `_new_predictions` a concurrent run has not written already;
    returns how many were written."""
    before = _prediction_count(con)
    con.execute(_INSERT_NEW_PREDICTIONS)
    return _prediction_count(con) - before


def _prediction_count(con: duckdb.DuckDBPyConnection) -> int:
    return int(scalar(con, "SELECT count(*) FROM predictions") or 0)


def cold_start_count(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Predictions of the run for which a player had no history (priors only)."""
    return int(scalar(con, "SELECT count(*) FROM predictions WHERE run_id = ? AND cold_start",
                      [run_id]) or 0)


def record_succeeded_run(
    con: duckdb.DuckDBPyConnection, *, run_id: str, started_at: dt.datetime,
    model_version: int, as_of: dt.date | None, fixtures_seen: int, written: int,
    cold_start: int, archived: int, seconds: float, history_age_days: int | None,
) -> None:
    """The run's row in `score_runs`, written in the same transaction as its predictions
    so the two always agree."""
    con.execute(
        "INSERT INTO score_runs (run_id, started_at, finished_at, status, model_version,"
        " as_of, fixtures_seen, predictions_written, cold_start, archived, seconds, "
        "history_age_days) VALUES (?, ?, now(), 'succeeded', ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, started_at, model_version, as_of, fixtures_seen, written, cold_start,
         archived, seconds, history_age_days],
    )


def record_unfinished_run(
    con: duckdb.DuckDBPyConnection, *, run_id: str, started_at: dt.datetime, status: str,
    model_version: int | None, as_of: dt.date | None, error: str,
) -> None:
    """A failed or interrupted run's row in `score_runs`, so operators see it next to the
    good runs. A run that committed before it was stopped keeps its own row."""
    con.execute(
        "INSERT INTO score_runs (run_id, started_at, finished_at, status, model_version, "
        "as_of, error) VALUES (?, ?, now(), ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
        [run_id, started_at, status, model_version, as_of, error],
    )


def latest_predictions(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The analysts' `latest_predictions` view, favourites first within each event."""
    return query_frame(
        con,
        """SELECT * FROM latest_predictions
           ORDER BY tourney_date, tourney_name, favourite_prob DESC, fixture_id""",
    )


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int) -> pl.DataFrame:
    """The newest `limit` runs of the `run_history` view, the columns operators read."""
    return query_frame(
        con,
        """SELECT run_id, status, started_at, seconds, model_version, fixtures_seen,
                  predictions_written, cold_start, history_age_days, error
           FROM run_history LIMIT ?""",
        [limit],
    )


def latest_productive_run(con: duckdb.DuckDBPyConnection) -> tuple[str, dt.datetime] | None:
    """(run_id, started_at) of the newest run that wrote predictions: the one whose
    forecasts the report describes. None before the first such run."""
    rows = con.execute(
        "SELECT run_id, started_at FROM score_runs "
        "WHERE status = 'succeeded' AND predictions_written > 0 "
        "ORDER BY started_at DESC LIMIT 1").fetchall()
    return rows[0] if rows else None


def run_probabilities(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """P(p1 wins) and edge of the run's predictions still current (not since replaced)."""
    return query_frame(con, "SELECT p1_win_prob, edge FROM predictions WHERE run_id = ?",
                       [run_id])


def settled_count(con: duckdb.DuckDBPyConnection) -> int:
    """How many predictions have a played result to be judged against."""
    return int(scalar(con, "SELECT count(*) FROM prediction_outcomes WHERE settled") or 0)


def settled_active_outcomes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The active model's settled predictions with the market's view, in the columns the
    forecast plots share with backtests (`pinnacle_prob` is the fixture's market)."""
    return query_frame(con, "SELECT tourney_date, p1_id, winner_id, p1_win_prob, "
                            "p1_market_prob AS pinnacle_prob FROM prediction_outcomes o "
                            "JOIN models m ON m.model_version = o.model_version "
                            "AND m.is_active WHERE settled")


def overall_performance(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Each model version's scores over all its settled predictions."""
    return query_frame(con, "SELECT * FROM model_performance WHERE dimension = 'all'")


# What `acebet export` can write: the view or table behind each name (constants).
EXPORTABLE = {"predictions": "latest_predictions", "outcomes": "prediction_outcomes",
              "all-predictions": "predictions"}


def prediction_rows(con: duckdb.DuckDBPyConnection, what: str, date_from: dt.date | None,
                    date_to: dt.date | None, model_version: int | None) -> pl.DataFrame:
    """The rows of an exportable prediction view, within the dates and model if given."""
    view = EXPORTABLE[what]
    return query_frame(
        con,
        f"SELECT * FROM {view} WHERE (? IS NULL OR tourney_date >= ?) "  # noqa: S608
        "AND (? IS NULL OR tourney_date <= ?) AND (? IS NULL OR model_version = ?) "
        "ORDER BY tourney_date, fixture_id, model_version",
        [date_from, date_from, date_to, date_to, model_version, model_version],
    )
