"""`acebet demo`: the whole product, end to end, on one database.

Besides the example fixtures (dated after the history, so they can never settle), the demo
replays the last weeks of tour-level history as fixtures, each week scored as of the day
before it with a model trained before the first replayed week. Their results are already
in the history, so predictions settle at once and the analyst side (prediction_outcomes,
model_performance, the example queries, the report's plots) has something to show, without
any outcome leaking into a prediction.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from acebet import domain, download, model, scoring, store
from acebet import fixtures as fx
from acebet import ingest as ingest_mod
from acebet import odds as O
from acebet.db import fixtures as fixtures_db
from acebet.db import history as history_db

REPLAY_WEEKS = 4

@dataclass
class DemoResult:
    source: str
    new_matches: int
    model_version: int
    trained: bool
    replay_weeks: list[dt.date] = field(default_factory=list)
    replay_predictions: int = 0
    replay_skipped: str | None = None
    example_predictions: int = 0
    warnings: list[str] = field(default_factory=list)  # rejected example fixtures


def replay_weeks(con: duckdb.DuckDBPyConnection, weeks: int = REPLAY_WEEKS
                 ) -> list[dt.date]:
    """The last `weeks` event dates of tour-level play in the history, oldest first."""
    return history_db.last_event_dates(con, list(domain.TOUR_LEVELS), weeks)


def replay_fixtures(con: duckdb.DuckDBPyConnection, days: list[dt.date],
                    odds_dir: Path | None = None) -> pl.DataFrame:
    """The played tour-level matches of `days` as a fixture table (no results in it), with
    their closing odds when an odds folder is given."""
    played = history_db.matches_as_fixtures(
        con, days, list(domain.TOUR_LEVELS),
        list(domain.MAIN_DRAW_ROUNDS), list(domain.SURFACES))
    columns = [c for c in played.columns if c not in ("match_num", "winner_id", "loser_id")]
    if odds_dir is None:
        return played.select(columns)
    return with_closing_odds(con, played, odds_dir).select(*columns, "p1_odds", "p2_odds")


def with_closing_odds(con: duckdb.DuckDBPyConnection, played: pl.DataFrame, odds_dir: Path
                      ) -> pl.DataFrame:
    """`p1_odds`/`p2_odds`: Pinnacle's closing odds of each played match, else the market
    average (null where the odds files have neither), so the replayed weeks carry the
    market probability, edges and the blend as a live week would."""
    from acebet.names import NameResolver

    if played.height == 0:
        return played.with_columns(p1_odds=pl.lit(None, pl.Float64),
                                   p2_odds=pl.lit(None, pl.Float64))
    years = sorted({day.year for day in played["tourney_date"].to_list()})
    book = O.read_odds(odds_dir, years)
    matched = O.match_odds(
        book, played.select("tourney_id", "match_num", "tourney_date", "winner_id", "loser_id"),
        NameResolver.from_db(con))
    pinnacle = pl.col("ps_w").is_not_null() & pl.col("ps_l").is_not_null()
    prices = matched.select(
        "tourney_id", "match_num",
        pl.when(pinnacle).then("ps_w").otherwise("avg_w").alias("_won"),
        pl.when(pinnacle).then("ps_l").otherwise("avg_l").alias("_lost"),
    ).unique(subset=["tourney_id", "match_num"], keep="first")
    p1_won = pl.col("p1_id") == pl.col("winner_id")
    return played.join(prices, on=["tourney_id", "match_num"], how="left").with_columns(
        pl.when(p1_won).then("_won").otherwise("_lost").alias("p1_odds"),
        pl.when(p1_won).then("_lost").otherwise("_won").alias("p2_odds"),
    ).drop("_won", "_lost")


def run(
    db: Path, *, source: str | None = None, fixtures_file: Path | None = None,
    odds_dir: Path | None = None, lock_timeout: float = 0.0,
    say: Callable[[str], None] = lambda _line: None,
) -> DemoResult:
    """Ingest, train if needed, replay the last weeks, load and score the example fixtures.

    With `odds_dir` (yearly tennis-data files) the odds are stored (`acebet odds load`),
    so the model takes the market-implied rating and fits blend weights, and the replayed
    weeks carry their closing odds.
    """
    source = source or download.UPSTREAM_URL
    with store.connect(db, lock_timeout=lock_timeout) as con:
        say(f"1/5 ingest history from {source}")
        summary = ingest_mod.ingest(con, source)
        say(f"    {summary.inserted:,} new matches, {summary.updated:,} updated")
        weeks = replay_weeks(con)
        replay_from = weeks[0] if weeks else None
        trained = not model.list_models(con).height
        if odds_dir is not None and weeks:  # before minutes of training (which checks
            # its own validation window's years), not after
            O.require_years(odds_dir, range(weeks[0].year, weeks[-1].year + 1))
        if odds_dir is not None:  # the market-implied rating's input (features.market)
            loaded = O.store_odds(con, odds_dir)
            say(f"    {loaded.stored:,} played matches with closing odds")
        if trained:
            say(f"2/5 train a model on the history before {replay_from or 'its end'} "
                "(first run only, the longest step; the replayed weeks stay out of sample)")
            version, fitted = model.train(con, replay_from, odds_dir)
        else:
            version, fitted = model.load(con)
            say(f"2/5 model version {version} is active")
    result = DemoResult(source=str(source), new_matches=summary.inserted,
                        model_version=version, trained=trained)
    trained_to = dt.date.fromisoformat(fitted.metadata["train_to"])
    if not weeks:
        result.replay_skipped = "no tour-level matches in the history"
    elif trained_to > weeks[0]:
        result.replay_skipped = (f"the active model was trained to {trained_to}, after "
                                 f"{weeks[0]}: its predictions of those weeks would know "
                                 "the results")
    else:
        say(f"3/5 replay the last {len(weeks)} event weeks ({weeks[0]} to {weeks[-1]}) as "
            "fixtures, each scored as of the day before")
        result.replay_weeks = weeks
        result.replay_predictions = _replay(db, weeks, version, lock_timeout, odds_dir)
        say(f"    {result.replay_predictions} predictions written" if result.replay_predictions
            else "    already scored by an earlier run")
    if result.replay_skipped:
        say(f"3/5 no replay: {result.replay_skipped}")

    file = fixtures_file or example_fixtures()
    with store.connect(db, lock_timeout=lock_timeout) as con:
        loaded, rejects = fx.load(con, file)
    say(f"4/5 fixtures: {loaded.inserted} new, {loaded.unchanged} unchanged, "
        f"{loaded.rejected} rejected")
    result.warnings = fx.describe_rejects(rejects, file.name)
    run = scoring.score(db, lock_timeout=lock_timeout)
    result.example_predictions = run.predictions_written
    say(f"5/5 score: {run.predictions_written} predictions written")
    return result


def example_fixtures() -> Path:
    from importlib import resources

    return Path(str(resources.files("acebet") / "data" / "example_fixtures.csv"))


def _replay(db: Path, weeks: list[dt.date], version: int, lock_timeout: float,
            odds_dir: Path | None) -> int:
    """Load and score the replayed weeks one at a time, each as of the day before it."""
    written = 0
    with tempfile.TemporaryDirectory(prefix="acebet-replay-") as tmp:
        for day in weeks:
            path = Path(tmp) / f"{scoring.DEMO_REPLAY_SOURCE}{day}.csv"
            with store.connect(db, lock_timeout=lock_timeout) as con:
                replay_fixtures(con, [day], odds_dir).write_csv(path)
                fx.load(con, path)
                ids = fixtures_db.ids_from_file(con, path.name)
                pending = scoring.fixtures_to_score(con, version, fixture_ids=ids).height
            if pending:  # a second demo finds every week already scored
                run = scoring.score(db, as_of=day - dt.timedelta(days=1),
                                    lock_timeout=lock_timeout, fixture_ids=ids)
                written += run.predictions_written
    return written
