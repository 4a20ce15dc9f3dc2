"""The scheduled job: score every fixture that lacks a prediction from the active model.

Everything is computed first, from a read-only view of the database; the file is then
opened for writing only to insert the predictions and the run record in one
transaction. A killed run leaves the database as it was; a re-run writes nothing new,
and two runs at once cannot both write (the second waits, then finds nothing to do, or
exits 75).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import polars as pl

from acebet import features as F
from acebet import model as M
from acebet import progress, snapshots, store
from acebet.errors import DatabaseBusy
from acebet.faults import checkpoint

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = (
    "fixture_id", "run_id", "model_version", "scored_at", "as_of", "tourney_date",
    "tourney_name", "surface", "tourney_level", "round", "best_of", "p1_id", "p2_id",
    "p1_name", "p2_name", "p1_win_prob", "predicted_winner_id", "cold_start",
    "p1_market_prob", "edge", "details_hash",
)


@dataclass
class ScoreSummary:
    run_id: str
    model_version: int | None
    as_of: dt.date | None
    fixtures_seen: int
    predictions_written: int
    archived: int
    cold_start: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def fixtures_to_score(
    con: duckdb.DuckDBPyConnection, model_version: int, *, rescore: bool = False
) -> pl.DataFrame:
    """Fixtures with no prediction from this model for their current details."""
    return store.query_frame(
        con,
        """SELECT f.* FROM fixtures f
           LEFT JOIN predictions p
             ON p.fixture_id = f.fixture_id AND p.model_version = ?
           WHERE ? OR p.fixture_id IS NULL OR p.details_hash IS DISTINCT FROM f.details_hash
           ORDER BY f.tourney_date, f.fixture_id""",
        [model_version, rescore],
    )


def fixture_rows(fixtures: pl.DataFrame) -> pl.DataFrame:
    """Fixtures as timeline rows: the result is unknown, the players as given."""
    return fixtures.select(
        pl.col("fixture_id").alias("row_key"), "tourney_date",
        pl.coalesce(pl.col("tourney_id"), pl.col("fixture_id")).alias("tourney_id"),
        pl.lit(0, pl.Int64).alias("match_num"), "tourney_level", "surface", "round",
        "best_of", "p1_id", "p2_id", pl.lit(None, pl.Boolean).alias("p1_won"),
        pl.lit(None, pl.String).alias("score"),
        pl.lit(None, pl.Int32).alias("p1_rank"), pl.lit(None, pl.Int32).alias("p2_rank"),
        pl.lit(None, pl.Int32).alias("p1_points"), pl.lit(None, pl.Int32).alias("p2_points"),
        pl.lit(True).alias("is_fixture"),
    )


def predict_fixtures(
    fixtures: pl.DataFrame, matches: pl.DataFrame, players: pl.DataFrame,
    fitted: M.TrainedModel,
) -> pl.DataFrame:
    """P(p1 wins) and the flags for each fixture, from the history in `matches`.

    Each fixture sees only matches up to its own date (the timeline puts it after
    them), so scoring an old fixture cannot use results that came later.
    """
    if fixtures.height == 0:
        return fixtures.with_columns(
            pl.lit(None, pl.Float64).alias("p1_win_prob"), pl.lit(None, pl.Boolean)
            .alias("cold_start"))
    feats = F.build(F.timeline(matches, fixture_rows(fixtures)), players)
    return score_frame(fixtures, feats.filter(pl.col("is_fixture")), fitted)


def score_frame(fixtures: pl.DataFrame, feats: pl.DataFrame, fitted: M.TrainedModel
                ) -> pl.DataFrame:
    """Attach P(p1 wins) and the cold-start flag to fixtures from their feature rows."""
    prob = fitted.predict_proba(feats)
    scored = feats.select(
        pl.col("row_key").alias("fixture_id"),
        pl.Series("p1_win_prob", prob, dtype=pl.Float64),
        ((pl.col("p1_n") == 0) | (pl.col("p2_n") == 0)).alias("cold_start"),
    )
    return fixtures.join(scored, on="fixture_id", how="left")


def _market(p1_odds: pl.Expr, p2_odds: pl.Expr) -> pl.Expr:
    inv1, inv2 = 1.0 / p1_odds, 1.0 / p2_odds
    return inv1 / (inv1 + inv2)


def score(
    db: Path | str,
    *,
    as_of: dt.date | None = None,
    model_version: int | None = None,
    rescore: bool = False,
    lock_timeout: float = 0.0,
) -> ScoreSummary:
    """Score pending fixtures; see the module docstring for the guarantees.

    A run that fails (no model, a corrupted model, a bug) is recorded in `score_runs`
    with status 'failed' and the error, so operators see it next to the good runs.
    """
    started_at = dt.datetime.now(dt.UTC)
    run_id = f"run-{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    try:
        return _score(db, run_id, started_at, as_of, model_version, rescore, lock_timeout)
    except DatabaseBusy:
        raise  # nothing to record it in
    except Exception as exc:
        _record_failure(db, run_id, started_at, model_version, as_of, exc, lock_timeout)
        raise


def _record_failure(db: Path | str, run_id: str, started_at: dt.datetime,
                    model_version: int | None, as_of: dt.date | None, exc: Exception,
                    lock_timeout: float) -> None:
    try:
        con = store.connect(db, lock_timeout=lock_timeout)
    except Exception:  # the database itself is the problem; the error says so
        return
    try:
        con.execute(
            "INSERT INTO score_runs (run_id, started_at, finished_at, status, model_version, "
            "as_of, error) VALUES (?, ?, now(), 'failed', ?, ?, ?)",
            [run_id, started_at, model_version, as_of, f"{type(exc).__name__}: {exc}"[:2000]],
        )
    except Exception:
        log.warning("could not record the failed run", exc_info=True)
    finally:
        con.close()


def _score(db: Path | str, run_id: str, started_at: dt.datetime, as_of: dt.date | None,
           model_version: int | None, rescore: bool, lock_timeout: float) -> ScoreSummary:
    started = time.perf_counter()
    _ensure_migrated(db, lock_timeout)
    con = store.connect(db, read_only=True, lock_timeout=lock_timeout)
    new_snapshot = None
    try:
        version, fitted = M.load(con, model_version)
        todo = fixtures_to_score(con, version, rescore=rescore)
        history_end = store.scalar(con, "SELECT max(tourney_date) FROM matches")
        use_snapshot = todo.height > 0 and (as_of is None or (
            history_end is not None and as_of >= history_end))
        if use_snapshot:
            snapshot = snapshots.load(con)
            if snapshot is None:
                progress.step("rebuilding the end-of-history feature snapshot (history changed)")
                snapshot = new_snapshot = F.Snapshot.from_history(
                    F.load_matches(con), F.history_fingerprint(con))
            use_snapshot = snapshot.covers(todo["tourney_date"])
        matches = F.load_matches(con, until=as_of) if todo.height and not use_snapshot else None
        players = F.load_players(con) if todo.height else None
    finally:
        con.close()
    log.info("scoring", extra={"run_id": run_id, "model_version": version,
                               "fixtures": todo.height, "snapshot": bool(use_snapshot)})
    scored_at = dt.datetime.now(dt.UTC)
    if use_snapshot:
        scored = score_frame(todo, snapshot.build(fixture_rows(todo), players), fitted)
    else:
        scored = predict_fixtures(todo, matches, players, fitted)
    effective_as_of = as_of or history_end
    rows = _prediction_rows(scored, run_id, version, scored_at, effective_as_of)
    checkpoint("score:computed")

    con = store.connect(db, lock_timeout=lock_timeout)
    try:
        store.register_frame(con, "_new_predictions", rows)
        with store.transaction(con):
            checkpoint("score:in-transaction")
            written, archived = _write(con, run_id, version, rescore)
            if new_snapshot is not None:
                snapshots.save(con, new_snapshot)
            cold = store.scalar(
                con, "SELECT count(*) FROM predictions WHERE run_id = ? AND cold_start",
                [run_id])
            summary = ScoreSummary(
                run_id=run_id, model_version=version, as_of=effective_as_of,
                fixtures_seen=todo.height, predictions_written=written, archived=archived,
                cold_start=int(cold or 0), seconds=0.0,
            )
            summary.seconds = round(time.perf_counter() - started, 3)
            con.execute(
                "INSERT INTO score_runs (run_id, started_at, finished_at, status, model_version,"
                " as_of, fixtures_seen, predictions_written, cold_start, archived, seconds) "
                "VALUES (?, ?, now(), 'succeeded', ?, ?, ?, ?, ?, ?, ?)",
                [run_id, started_at, version, effective_as_of, todo.height, written,
                 summary.cold_start, archived, summary.seconds],
            )
            checkpoint("score:before-commit")
    finally:
        con.close()
    return summary


def _ensure_migrated(db: Path | str, lock_timeout: float) -> None:
    """An older database file is upgraded before the read-only phase needs the schema."""
    con = store.connect(db, read_only=True, lock_timeout=lock_timeout, check_schema=False)
    try:
        current = not store.pending_migrations(con)
    finally:
        con.close()
    if not current:
        store.connect(db, lock_timeout=lock_timeout).close()


def _prediction_rows(scored: pl.DataFrame, run_id: str, version: int,
                     scored_at: dt.datetime, as_of: dt.date | None) -> pl.DataFrame:
    market = _market(pl.col("p1_odds"), pl.col("p2_odds"))
    frame = scored.with_columns(
        pl.lit(run_id).alias("run_id"),
        pl.lit(version, pl.Int32).alias("model_version"),
        pl.lit(scored_at).alias("scored_at"),
        pl.lit(as_of, pl.Date).alias("as_of"),
        pl.when(pl.col("p1_win_prob") >= 0.5).then(pl.col("p1_id")).otherwise(pl.col("p2_id"))
        .alias("predicted_winner_id"),
        market.alias("p1_market_prob"),
        (pl.col("p1_win_prob") - market).alias("edge"),
    )
    return frame.select(PREDICTION_COLUMNS)


def _write(con: duckdb.DuckDBPyConnection, run_id: str, version: int, rescore: bool
           ) -> tuple[int, int]:
    """Archive predictions being replaced, insert the new ones; returns (written, archived).

    Decided again inside the transaction: a run that raced ahead may already have
    written some of these, and those are left alone.
    """
    cols = ", ".join(PREDICTION_COLUMNS)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _stale AS
           SELECT p.* FROM predictions p JOIN _new_predictions n USING (fixture_id, model_version)
           WHERE ? OR p.details_hash IS DISTINCT FROM n.details_hash""",
        [rescore],
    )
    archived = int(store.scalar(con, "SELECT count(*) FROM _stale") or 0)
    if archived:
        reason = "rescore" if rescore else "fixture details changed"
        con.execute("INSERT INTO predictions_history SELECT *, now(), ?, ? FROM _stale",
                    [run_id, reason])
        con.execute(
            """DELETE FROM predictions WHERE EXISTS (
                   SELECT 1 FROM _stale s WHERE s.fixture_id = predictions.fixture_id
                   AND s.model_version = predictions.model_version)"""
        )
    con.execute("DROP TABLE _stale")
    before = store.scalar(con, "SELECT count(*) FROM predictions")
    con.execute(
        f"INSERT INTO predictions ({cols}) SELECT {cols} FROM _new_predictions "  # noqa: S608
        "ON CONFLICT (fixture_id, model_version) DO NOTHING"
    )
    written = store.scalar(con, "SELECT count(*) FROM predictions") - before
    return int(written), archived


def latest(con: duckdb.DuckDBPyConnection, run_id: str | None = None,
           limit: int | None = None) -> pl.DataFrame:
    """Predictions of the active model for the current fixtures, favourites first."""
    return store.query_frame(
        con,
        """SELECT p.tourney_date, p.tourney_name, p.round, p.surface, p.p1_name, p.p2_name,
                  p.p1_win_prob, p.cold_start, p.p1_market_prob, p.edge, p.model_version,
                  p.fixture_id
           FROM predictions p JOIN fixtures f USING (fixture_id)
           JOIN models m ON m.model_version = p.model_version AND m.is_active
           WHERE p.details_hash IS NOT DISTINCT FROM f.details_hash
             AND (? IS NULL OR p.run_id = ?)
           ORDER BY p.tourney_date, p.tourney_name, greatest(p.p1_win_prob, 1 - p.p1_win_prob)
                    DESC, p.fixture_id
           LIMIT ?""",
        [run_id, run_id, limit if limit is not None else 1 << 62],
    )




def predict_one(
    con: duckdb.DuckDBPyConnection, p1: str, p2: str, *, surface: str, level: str,
    round_: str, best_of: int, date: dt.date,
) -> dict[str, object]:
    """One matchup through the same validation, features and model as `score`."""
    from acebet import fixtures as fx
    from acebet.errors import InputError
    from acebet.names import NameResolver

    row: dict[str, str | None] = {
        "tourney_date": date.isoformat(), "surface": surface, "tourney_level": level,
        "round": round_, "best_of": str(best_of), "tourney_name": "ad hoc",
    }
    for side, value in (("p1", p1), ("p2", p2)):
        is_id = value.strip().isdigit()
        row[f"{side}_id"] = value.strip() if is_id else None
        row[f"{side}_name"] = None if is_id else value
    known = set(store.query_frame(con, "SELECT player_id FROM players")["player_id"].to_list())
    ready, rejects = fx.validate(pl.DataFrame([row], schema={k: pl.String for k in row}),
                                 NameResolver.from_db(con), known, "command line",
                                 fx.history_end(con))
    if rejects.height:
        hint = rejects["suggestions"][0]
        raise InputError(rejects["reason"][0] + (f" (did you mean: {hint})" if hint else ""))
    version, fitted = M.load(con)
    scored = predict_fixtures(ready, F.load_matches(con), F.load_players(con), fitted)
    return {**scored.row(0, named=True), "model_version": version}
