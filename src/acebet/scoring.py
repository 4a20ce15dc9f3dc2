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
import numpy as np
import polars as pl

from acebet import blend as B
from acebet import features as F
from acebet import interrupts, progress, snapshots, store
from acebet import model as M
from acebet.db import history as history_db
from acebet.db import match_odds as match_odds_db
from acebet.db import runs as runs_db
from acebet.db.runs import PREDICTION_COLUMNS
from acebet.errors import DatabaseBusy, Interrupted, StaleHistoryError
from acebet.faults import checkpoint
from acebet.features import market as FM

log = logging.getLogger(__name__)

# File names of the fixtures `acebet demo` replays from the history (see fixtures_to_score).
DEMO_REPLAY_SOURCE = "demo-replay-"
OLD_DEMO_REPLAY_SOURCE = "replay_"  # the same, in databases an earlier demo made
# Seconds an interrupted run waits for the lock to record itself (Kubernetes gives 30 s
# between SIGTERM and SIGKILL).
INTERRUPTED_LOCK_WAIT = 2.0

# Days between the last match the features saw and a fixture: past this the run warns
# (a weekly ingest keeps it under two weeks outside the off-season); `max_history_age`
# (the CLI's default is 45 days, past the longest off-season) makes the run fail.
STALE_WARNING_DAYS = 14


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
    history_age_days: int | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def fixtures_to_score(
    con: duckdb.DuckDBPyConnection, model_version: int, *, rescore: bool = False,
    fixture_ids: list[str] | None = None,
) -> pl.DataFrame:
    """Fixtures with no prediction from this model for their current details.

    The demo's replayed weeks are played matches, each scored as of the day before it by a
    run that names them (`fixture_ids`); any other run leaves them out, so a model trained
    later, on their results, never scores them in sample.
    """
    return runs_db.unscored_fixtures(
        con, model_version, rescore=rescore, fixture_ids=fixture_ids,
        hidden_prefixes=(DEMO_REPLAY_SOURCE, OLD_DEMO_REPLAY_SOURCE))


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


# The market-implied rating of a player stops moving after the last match with odds; a
# month behind the results is when a model trained on a moving rating starts to see stale
# ones (load the current year's odds file after each ingest).
ODDS_LAG_DAYS = 30


def warn_if_odds_lag(last_odds: dt.date | None, history_end: dt.date | None) -> bool:
    """Warn (and return True) when the stored odds end well before the results."""
    if history_end is None:
        return False
    if last_odds is None or (history_end - last_odds).days > ODDS_LAG_DAYS:
        since = "no match has odds" if last_odds is None else f"the odds end {last_odds}"
        log.warning(f"the model takes the market rating, but {since} and the results go to "
                    f"{history_end}: load the recent odds (`acebet odds load FOLDER --year "
                    f"{history_end.year}`)")
        return True
    return False


def predict_fixtures(
    fixtures: pl.DataFrame, matches: pl.DataFrame, players: pl.DataFrame,
    fitted: M.TrainedModel, market: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """P(p1 wins) and the flags for each fixture, from the history in `matches` (and
    the closing probabilities in `market`, for a model that takes the market rating).

    Each fixture sees only matches up to its own date (the timeline puts it after
    them), so scoring an old fixture cannot use results that came later.
    """
    if fixtures.height == 0:
        return fixtures.with_columns(
            pl.lit(None, pl.Float64).alias("p1_win_prob"), pl.lit(None, pl.Boolean)
            .alias("cold_start"), pl.lit(None, pl.Float64).alias("p1_blend_prob"))
    if fitted.uses_market and market is None:
        raise ValueError("this model takes the market rating: pass the stored odds")
    feats = F.build(F.timeline(matches, fixture_rows(fixtures)), players,
                    market=market if fitted.uses_market else None, market_k=FM.MARKET_K)
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
    out = fixtures.join(scored, on="fixture_id", how="left")
    return out.with_columns(
        pl.Series("p1_blend_prob", blend_frame(out, fitted.metadata.get("blend")),
                  dtype=pl.Float64).fill_nan(None))


def blend_frame(scored: pl.DataFrame, weights: dict | None) -> np.ndarray:
    """The market-aware P(p1 wins) for scored fixtures with both odds (NaN elsewhere).

    Computed from the lower player id's side and mirrored, with the market read from
    the odds in that order, so swapping the players gives exactly 1 minus it.
    """
    if weights is None or "p1_odds" not in scored.columns or scored.height == 0:
        return np.full(scored.height, np.nan)
    low = (scored["p1_id"] < scored["p2_id"]).to_numpy()
    p1 = scored["p1_win_prob"].fill_null(np.nan).to_numpy()
    o1 = scored["p1_odds"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    o2 = scored["p2_odds"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    o_low, o_high = np.where(low, o1, o2), np.where(low, o2, o1)
    with np.errstate(invalid="ignore", divide="ignore"):
        market_low = (1.0 / o_low) / (1.0 / o_low + 1.0 / o_high)
    b_low = B.blend_probability(weights, np.where(low, p1, 1.0 - p1), market_low)
    return np.where(low, b_low, 1.0 - b_low)


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
    max_history_age: int | None = None,
    fixture_ids: list[str] | None = None,
) -> ScoreSummary:
    """Score pending fixtures; see the module docstring for the guarantees.

    A run that fails (no model, a corrupted model, history older than `max_history_age`
    days before a fixture, a bug) is recorded in `score_runs` with status 'failed' and
    the error, so operators see it next to the good runs; a run stopped by SIGTERM or
    SIGINT is recorded as 'interrupted'.
    """
    started_at = dt.datetime.now(dt.UTC)
    run_id = f"run-{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    try:
        return _score(db, run_id, started_at, as_of, model_version, rescore, lock_timeout,
                      max_history_age, fixture_ids)
    except DatabaseBusy:
        raise  # nothing to record it in
    except Interrupted as exc:
        _record_failure(db, run_id, started_at, model_version, as_of, exc, lock_timeout)
        raise
    except Exception as exc:
        signum = interrupts.received()
        if signum is None:
            _record_failure(db, run_id, started_at, model_version, as_of, exc, lock_timeout)
            raise
        stop = Interrupted(signum)  # a library turned the signal into its own error
        _record_failure(db, run_id, started_at, model_version, as_of, stop, lock_timeout)
        raise stop from exc


def _record_failure(db: Path | str, run_id: str, started_at: dt.datetime,
                    model_version: int | None, as_of: dt.date | None,
                    exc: BaseException, lock_timeout: float) -> None:
    """A row in score_runs: 'interrupted' with the signal, or 'failed' with the error.

    Never creates the database: a mistyped --db must not leave an empty file behind.
    A run interrupted just after its commit already has its row; that one stays.
    """
    if isinstance(exc, Interrupted):
        status, error = "interrupted", f"interrupted by {exc.signal_name}"
    else:
        status, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
    if isinstance(exc, Interrupted):  # a scheduler's grace period is short: don't wait long
        lock_timeout = min(lock_timeout, INTERRUPTED_LOCK_WAIT)
    try:
        con = store.connect(db, lock_timeout=lock_timeout, create=False)
    except Exception:  # the database itself is the problem; the error says so
        return
    try:
        runs_db.record_unfinished_run(
            con, run_id=run_id, started_at=started_at, status=status,
            model_version=model_version, as_of=as_of, error=error)
    except Exception:
        log.warning("could not record the failed run", exc_info=True)
    finally:
        con.close()


def _score(db: Path | str, run_id: str, started_at: dt.datetime, as_of: dt.date | None,
           model_version: int | None, rescore: bool, lock_timeout: float,
           max_history_age: int | None, fixture_ids: list[str] | None) -> ScoreSummary:
    started = time.perf_counter()
    store.ensure_migrated(db, lock_timeout)
    con = store.connect(db, read_only=True, lock_timeout=lock_timeout)
    new_snapshot = None
    try:
        version, fitted = M.load(con, model_version)
        todo = fixtures_to_score(con, version, rescore=rescore, fixture_ids=fixture_ids)
        history_end = history_db.last_match_date(con)
        last_match = history_end if as_of is None else history_db.last_match_date(con, as_of)
        todo = with_history_age(todo, last_match)
        run_age = check_history_age(todo, last_match, max_history_age)
        if fitted.uses_market and todo.height and as_of is None:  # a replay's odds are old
            warn_if_odds_lag(match_odds_db.last_paired_date(con), history_end)
        use_snapshot = todo.height > 0 and (as_of is None or (
            history_end is not None and as_of >= history_end))
        if use_snapshot:
            snapshot = snapshots.load(con)
            if snapshot is None:
                progress.step("rebuilding the end-of-history feature snapshot (history changed)")
                snapshot = new_snapshot = snapshots.from_store(con)
            use_snapshot = snapshot.covers(todo["tourney_date"])
        matches = F.load_matches(con, until=as_of) if todo.height and not use_snapshot else None
        market = F.load_market(con) if matches is not None and fitted.uses_market else None
        players = F.load_players(con) if todo.height else None
    finally:
        con.close()
    log.info("scoring", extra={"run_id": run_id, "model_version": version,
                               "fixtures": todo.height, "snapshot": bool(use_snapshot)})
    scored_at = dt.datetime.now(dt.UTC)
    if use_snapshot:
        scored = score_frame(todo, snapshot.build(fixture_rows(todo), players), fitted)
    else:
        scored = predict_fixtures(todo, matches, players, fitted, market)
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
                snapshots.save_if_current(con, new_snapshot)
            summary = ScoreSummary(
                run_id=run_id, model_version=version, as_of=effective_as_of,
                fixtures_seen=todo.height, predictions_written=written, archived=archived,
                cold_start=runs_db.cold_start_count(con, run_id), seconds=0.0,
                history_age_days=run_age,
            )
            summary.seconds = round(time.perf_counter() - started, 3)
            runs_db.record_succeeded_run(
                con, run_id=run_id, started_at=started_at, model_version=version,
                as_of=effective_as_of, fixtures_seen=todo.height, written=written,
                cold_start=summary.cold_start, archived=archived, seconds=summary.seconds,
                history_age_days=run_age)
            checkpoint("score:before-commit")
    finally:
        con.close()
    return summary


def with_history_age(fixtures: pl.DataFrame, last_match: dt.date | None) -> pl.DataFrame:
    """Add `history_age_days`: days from the last match the features see to the fixture.

    Measured against the fixture's date, not the clock, so a backfill or the demo on an
    old history gets the same answer every day. A fixture inside the history sees it up
    to its own date (point in time): age 0. Null when there is no history at all.
    """
    if last_match is None:
        return fixtures.with_columns(pl.lit(None, pl.Int32).alias("history_age_days"))
    days = (pl.col("tourney_date") - pl.lit(last_match, pl.Date)).dt.total_days()
    return fixtures.with_columns(
        pl.max_horizontal(days, pl.lit(0)).cast(pl.Int32).alias("history_age_days"))


def check_history_age(fixtures: pl.DataFrame, last_match: dt.date | None,
                      max_history_age: int | None) -> int | None:
    """The run's history age (its oldest fixture's); warns past STALE_WARNING_DAYS and
    raises StaleHistoryError past `max_history_age` (None or 0: no limit)."""
    if fixtures.height == 0 or last_match is None:
        return None
    age = int(fixtures["history_age_days"].max())
    latest = fixtures["tourney_date"].max()
    message = (f"the history ends {last_match}, {age} days before the latest fixture "
               f"({latest}); ingest newer history")
    if max_history_age and age > max_history_age:
        raise StaleHistoryError(f"{message} (--max-history-age {max_history_age})")
    if age > STALE_WARNING_DAYS:
        log.warning(message, extra={"history_age_days": age, "history_end": str(last_match)})
    return age


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
    archived = runs_db.archive_replaced(con, run_id, rescore=rescore)
    return runs_db.insert_new_predictions(con), archived


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
    last_match = history_db.last_match_date(con)
    ready, rejects = fx.validate(pl.DataFrame([row], schema={k: pl.String for k in row}),
                                 NameResolver.from_db(con), history_db.player_ids(con),
                                 "command line", last_match)
    if rejects.height:
        hint = rejects["suggestions"][0]
        raise InputError(rejects["reason"][0] + (f" (did you mean: {hint})" if hint else ""))
    version, fitted = M.load(con)
    ready = with_history_age(ready, last_match)
    scored = predict_fixtures(ready, F.load_matches(con), F.load_players(con), fitted,
                              F.load_market(con))
    return {**scored.row(0, named=True), "model_version": version, "history_end": last_match}
