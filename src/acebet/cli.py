"""The `acebet` command line: a thin layer over the library functions tests call directly."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import click
import duckdb
import polars as pl

from acebet import __version__, interrupts, logs, output, progress, store
from acebet.errors import AceBetError, DatabaseBusy, InputError, Interrupted, first_line
from acebet.faults import checkpoint

log = logging.getLogger("acebet.cli")


# A model version as the models table can hold it: anything past it is a usage error.
MODEL_VERSION = click.IntRange(1, 2**31 - 1)

# How long `train`, `backtest` and `evaluate` wait for the write lock to store their
# result: a scoring run holds it for seconds, a training run took minutes to compute.
STORE_RESULT_WAIT = 600.0


@dataclass
class Settings:
    db: Path
    log_format: str
    lock_timeout: float
    publish: str | None = None
    publish_data: str | None = None

    def connect(self, *, read_only: bool = False, create: bool = False):  # noqa: ANN201
        """Only `ingest`, `db migrate` and `demo` pass create=True (see store.connect)."""
        return store.connect(self.db, read_only=read_only, lock_timeout=self.lock_timeout,
                             create=create)

    def connect_to_store_result(self):  # noqa: ANN201
        """The write connection that stores minutes or hours of computing.

        Other jobs ran meanwhile and may hold the file for a few seconds right now:
        waiting for them (at least STORE_RESULT_WAIT) beats throwing the result away.
        """
        return store.connect(self.db, lock_timeout=max(self.lock_timeout, STORE_RESULT_WAIT))

    def share(self, *, for_reading: bool = False):  # noqa: ANN201 - acebet.share.Target
        from acebet import share

        return share.resolve(self.db, self.publish, self.publish_data,
                             for_reading=for_reading)


class AceBetGroup(click.Group):
    """Turns the errors a user can cause into one line on stderr and a documented exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return self._invoke_reporting_interrupts(ctx)
        except BaseException as exc:
            _discard_database_if_created(ctx, exc)
            raise

    def _invoke_reporting_interrupts(self, ctx: click.Context) -> object:
        try:
            return self._invoke_reporting_errors(ctx)
        except Interrupted as exc:  # SIGTERM/SIGINT: one line, exit 128 + signal
            message = f"{exc}; stopped, nothing partial was written"
            settings = ctx.find_object(Settings)
            if settings and settings.log_format == "json":
                log.error(message, extra={"exit_code": exc.exit_code,
                                          "signal": exc.signal_name})
            else:
                click.echo(f"Error: {message}", err=True)
            ctx.exit(exc.exit_code)

    def _invoke_reporting_errors(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if interrupts.received() is not None:  # a library turned the signal into its error
                raise Interrupted(interrupts.received()) from exc
            if isinstance(exc, AceBetError | duckdb.Error):
                self._report(ctx, exc)
            settings = ctx.find_object(Settings)
            if settings and settings.log_format == "json":  # one JSON object, even for bugs
                log.error(f"unexpected error: {exc}", exc_info=True, extra={"exit_code": 1})
                ctx.exit(1)
            raise

    @staticmethod
    def _report(ctx: click.Context, exc: Exception) -> None:
        settings = ctx.find_object(Settings)
        if isinstance(exc, AceBetError):
            message, code = str(exc), exc.exit_code
        else:  # a full disk, a corrupted page: what, where, exit 1
            where = settings.db if settings else "database"
            first = first_line(exc)
            message, code = f"{where}: database error: {first}", 1
        log.debug("failed", exc_info=True)
        if settings and settings.log_format == "json":
            log.error(message, extra={"exit_code": code})
        else:
            click.echo(f"Error: {message}", err=True)
        ctx.exit(code)


def _discard_database_if_created(ctx: click.Context, exc: BaseException) -> None:
    """A failed command must not leave behind an empty database file that it created."""
    settings = ctx.find_object(Settings)
    if settings is None:
        return
    if isinstance(exc, click.exceptions.Exit) and exc.exit_code in (0, DatabaseBusy.exit_code):
        return  # success, or a busy file that belongs to another process
    store.discard_if_created_empty(settings.db)


# Commands that publish the analyst share or read it check --publish before any work
# (`fixtures load` and `models activate` do so themselves); the others never look at it,
# so a lake setting in the environment does not stop `db status` or `models list`.
PUBLISHING_COMMANDS = {"ingest", "train", "score", "backtest", "evaluate", "demo", "publish",
                       "query"}


@click.group(cls=AceBetGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), default=Path("acebet.duckdb"),
    envvar="ACEBET_DB", show_default=True, show_envvar=True,
    help="The DuckDB file holding history, fixtures, models, predictions and runs.",
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text",
    envvar="ACEBET_LOG_FORMAT", show_default=True, show_envvar=True,
    help="json: one object per event on stderr, for log collectors.",
)
@click.option(
    "--lock-timeout", type=click.FloatRange(min=0), default=0.0, metavar="SECONDS",
    envvar="ACEBET_LOCK_TIMEOUT", show_default=True, show_envvar=True,
    help="Wait this long for another process's database lock, then exit 75.",
)
@click.option(
    "--publish", metavar="TARGET", envvar="ACEBET_PUBLISH", show_envvar=True,
    help="Where analysts read: a snapshot file (default NAME.analytics.duckdb beside "
         "--db), ducklake:sqlite:PATH, ducklake:postgres:DSN, or none.",
)
@click.option(
    "--publish-data", metavar="DIR_OR_URL", envvar="ACEBET_PUBLISH_DATA", show_envvar=True,
    help="The DuckLake's Parquet files: a folder or s3://bucket/prefix.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, envvar="ACEBET_QUIET",
              help="No progress bars, steps or progress events (results and errors still print).")
@click.version_option(__version__, prog_name="acebet")
@click.pass_context
def main(ctx: click.Context, db: Path, log_format: str, lock_timeout: float,
         publish: str | None, publish_data: str | None, verbose: int, quiet: bool) -> None:
    """AceBet predicts the winner of upcoming ATP tennis matches.

    \b
    Quick start:
      acebet demo                     # ingest, train, load example fixtures, score
    \b
    Exit codes: 0 ok, 1 unexpected error, 2 bad input, 3 no model, 4 history too old
    (score --max-history-age), 75 database busy (another run holds the lock),
    130/143 stopped by SIGINT/SIGTERM.
    """
    logs.configure(log_format, verbose)
    progress.configure(progress.mode_for(log_format, quiet))
    ctx.call_on_close(lambda: progress.configure("bar"))  # the choice is per invocation
    ctx.call_on_close(interrupts.install())
    ctx.obj = Settings(db=db, log_format=log_format, lock_timeout=lock_timeout,
                       publish=publish, publish_data=publish_data)
    if ctx.invoked_subcommand in PUBLISHING_COMMANDS:  # a bad target: exit 2 before any work
        ctx.obj.share(for_reading=ctx.invoked_subcommand == "query")


def _publish(settings: Settings) -> None:
    """Refresh the analyst share after a command changed what analysts see.

    The command's own work is already stored. If another writer holds the database
    now, it publishes when it finishes, so this only warns; any other failure exits 1
    and says that `acebet publish` retries.
    """
    from acebet import share
    from acebet.errors import DatabaseBusy, StoreError

    target = settings.share()
    try:
        summary = share.publish(settings.db, target, lock_timeout=settings.lock_timeout)
    except DatabaseBusy as exc:
        _warn(f"analyst share not refreshed: {exc}")
        return
    except (AceBetError, duckdb.Error, OSError) as exc:
        first = first_line(exc)
        raise StoreError(f"stored, but publishing to {target.describe()} failed: {first}; "
                         "`acebet publish` retries") from exc
    if summary is not None:
        log.info("published", extra=summary.as_dict())


def _warn(message: str) -> None:
    """A warning line for people, or a JSON event with --log-format json."""
    settings = click.get_current_context().find_object(Settings)
    if settings and settings.log_format == "json":
        log.warning(message)
    else:
        click.echo(f"warning: {message}", err=True)


def _format_option(choices: tuple[str, ...] = output.FORMATS):  # noqa: ANN202
    """--format for commands that print rows: a table for people, json for scripts."""
    return click.option("--format", "fmt", type=click.Choice(choices), default="table",
                        show_default=True, help="table for people; the others for scripts.")


@main.command()
@click.argument("source", required=False, envvar="ACEBET_SOURCE")
@click.option("--years", metavar="A-B", help="Seasons to load, e.g. 1990-2024 or 2022.")
@click.option(
    "--levels", default="tour,qual_chall", show_default=True,
    help="Comma list of tour (main draws) and qual_chall (qualifying and challengers).",
)
@click.pass_obj
def ingest(settings: Settings, source: str | None, years: str | None, levels: str) -> None:
    """Load match history from SOURCE: a folder or an http(s) base URL in the
    Sackmann tennis_atp layout (env ACEBET_SOURCE; default: the upstream repository).

    Idempotent and incremental: unchanged rows are left alone, new and corrected rows
    are upserted on (tourney_id, match_num), unusable rows go to ingest_rejects.

    \b
    Example:
      acebet ingest ../shared/data/tennis_atp --years 2020-2022 --levels tour
    """
    from acebet import download
    from acebet import ingest as ingest_mod

    source = source or download.UPSTREAM_URL
    year_range = ingest_mod.parse_years(years)
    level_list = ingest_mod.parse_levels(levels)
    with settings.connect(create=True) as con:
        summary = ingest_mod.ingest(
            con, source, years=year_range, levels=level_list
        )
    _publish(settings)
    log.info("ingest finished", extra=summary.as_dict())
    click.echo(
        f"ingested {summary.files} files from {summary.source}: "
        f"{summary.rows_read:,} match rows read, {summary.inserted:,} inserted, "
        f"{summary.updated:,} updated, {summary.unchanged:,} unchanged, "
        f"{summary.rejected:,} rejected; players {summary.players_inserted:,} inserted, "
        f"{summary.players_updated:,} updated ({summary.seconds:.1f}s)"
    )
    if summary.rejected:
        _warn(f"{summary.rejected:,} rows rejected; see the ingest_rejects table")


@main.group()
def db() -> None:
    """Inspect and upgrade the database file."""


@db.command("status")
@_format_option()
@click.pass_obj
def db_status(settings: Settings, fmt: str) -> None:
    """Schema version, how far the results and their odds go, and row counts of every
    table (the market-implied rating stops moving where the odds end)."""
    from acebet.db import history as history_db
    from acebet.db import match_odds as match_odds_db

    with settings.connect(read_only=True) as con:
        versions = store.applied_versions(con)
        counts = store.table_counts(con)
        results_end = history_db.last_match_date(con)
        odds_end = match_odds_db.last_paired_date(con)
    version = max(versions) if versions else 0
    ends = {"results_through": results_end and results_end.isoformat(),
            "odds_through": odds_end and odds_end.isoformat()}
    click.echo(output.render_object(
        {"database": str(settings.db), "schema_version": version, **ends, "tables": counts},
        fmt, [f"database: {settings.db}", f"schema version: {version}",
              *(f"{name.replace('_', ' ')}: {value or 'none'}" for name, value in ends.items()),
              *(f"{name:16} {count:>12,}" for name, count in counts.items())]))


@db.command("migrate")
@click.pass_obj
def db_migrate(settings: Settings) -> None:
    """Apply pending schema migrations (every writing command also does this)."""
    con = settings.connect(create=True)
    con.close()
    click.echo(f"{settings.db}: schema is current")


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r}: expected a date like 2022-12-31") from None


@main.command()
@click.option("--train-to", metavar="DATE",
              help="Train on matches before this date (default: all history).")
@click.option("--odds", type=click.Path(file_okay=False, path_type=Path),
              help="Odds folder: also fit the market blend (p1_blend_prob) on the "
                   "validation window.")
@click.pass_obj
def train(settings: Settings, train_to: str | None, odds: Path | None) -> None:
    """Fit a model on history, store it in the database as a new active version and
    print its validation metrics.

    \b
    Example:
      acebet train --train-to 2022-01-01
    """
    from acebet import model, snapshots

    cutoff = _date(train_to, "--train-to")
    if odds is not None and not odds.is_dir():
        raise InputError(f"--odds {odds}: no such folder")
    store.ensure_migrated(settings.db, settings.lock_timeout)
    with store.history_copy(settings.db, settings.lock_timeout) as con:  # writers go on
        checkpoint("train:computing")
        fitted = model.fit_from_store(con, cutoff, odds)
        snapshot = snapshots.build_if_stale(con)  # so scoring need not replay the history
    with settings.connect_to_store_result() as con:  # the write lock only to store
        version = model.save(con, fitted)
        if snapshot is not None:
            snapshots.store(con, snapshot)
    _publish(settings)
    val = fitted.metadata["validation"]
    log.info("model trained", extra={"model_version": version, **val})
    click.echo(
        f"model version {version} trained to {fitted.metadata['train_to']} on "
        f"{fitted.metadata['train_rows']:,} matches, {fitted.metadata['params']['n_estimators']}"
        f" trees; validation since {fitted.metadata['validation_from']}: n={val['n']:,} "
        f"log loss {val['log_loss']:.4f}, accuracy {val['accuracy']:.4f}, "
        f"Brier {val['brier']:.4f}, ECE {val['ece']:.4f}, AUC {val['auc']:.4f}"
    )
    from acebet import blend
    from acebet.model import youth

    click.echo(f"{blend.describe(fitted.metadata.get('blend'))}; "
               f"{youth.describe(fitted.metadata.get('youth'))}")


@main.group()
def models() -> None:
    """List stored model versions and choose the active one."""


@models.command("list")
@_format_option()
@click.pass_obj
def models_list(settings: Settings, fmt: str) -> None:
    """Every stored model version, its training window and validation metrics."""
    from acebet import model

    with settings.connect(read_only=True) as con:
        frame = model.list_models(con)
    click.echo(output.render(frame, fmt, empty="no models yet; run `acebet train`"))


@models.command("activate")
@click.argument("version", type=MODEL_VERSION)
@click.pass_obj
def models_activate(settings: Settings, version: int) -> None:
    """Make VERSION the model that `score` uses."""
    from acebet import model

    settings.share()  # a bad --publish is exit 2 before any work
    with settings.connect() as con:
        model.activate(con, version)
    _publish(settings)
    click.echo(f"model version {version} is now active")


@main.command()
@click.option("--from", "date_from", required=True, metavar="DATE",
              help="First day, e.g. 2021-01-01.")
@click.option("--to", "date_to", required=True, metavar="DATE", help="Last day, e.g. 2022-12-31.")
@click.option("--retrain", type=click.Choice(["monthly", "quarterly", "yearly", "once"]),
              default="monthly", show_default=True, help="How often to refit walking forward.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write per-match predictions to this Parquet file.")
@click.option("--odds", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of tennis-data.co.uk yearly files to compare with the market.")
@click.pass_obj
def backtest(settings: Settings, date_from: str, date_to: str, retrain: str,
             out: Path | None, odds: Path | None) -> None:
    """Walk-forward evaluation on played matches: train on everything before each period,
    predict the period. Prints and stores log loss, accuracy, Brier, ECE and AUC for the
    model and the Elo and ranking baselines (and the market with --odds).

    \b
    Example:
      acebet backtest --from 2021-01-01 --to 2022-12-31 \\
          --odds ../shared/data/tennis_data_odds --out backtest.parquet
    """
    from acebet import backtest as bt

    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    if odds is not None and not odds.is_dir():
        raise InputError(f"--odds {odds}: no such folder")
    if out is not None and not out.parent.is_dir():
        raise InputError(f"--out {out}: folder {out.parent} does not exist")
    store.ensure_migrated(settings.db, settings.lock_timeout)
    with store.history_copy(settings.db, settings.lock_timeout) as con:  # writers go on
        result = bt.evaluate(con, start, end, retrain=retrain, odds_dir=odds)
    if out is not None:  # first: the file is the result even if storing fails
        result.predictions.write_parquet(out)
    with settings.connect_to_store_result() as con:
        bt.store_result(con, result)
    _publish(settings)
    click.echo(output.table(result.metrics))
    click.echo(f"stored as {result.backtest_id}" + (f"; predictions in {out}" if out else ""))


@main.command()
@click.option("--periods", "period_texts", multiple=True, metavar="LIST",
              help="Periods to report, e.g. 2015-16,2017-18 or 2019-03-01:2020-12-31 "
                   "[default: 2015-16,2017-18,2019-20,2021-22].")
@click.option("--odds", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of tennis-data.co.uk yearly files (Pinnacle is the yardstick).")
@click.option("--retrain", type=click.Choice(["monthly", "quarterly", "yearly", "once"]),
              default="monthly", show_default=True, help="How often to refit walking forward.")
@click.option("--predictions", "saved", type=click.Path(dir_okay=False, path_type=Path),
              help="Compare the per-match predictions in this Parquet file (an earlier "
                   "--out) instead of running the backtests.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the per-match predictions of every period to this Parquet file.")
@click.option("--against", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="A reference run's --out: also print this run minus it, per seed and "
                   "period, with an interval from the paired matches.")
@click.option("--switch", "switch_texts", multiple=True, metavar="NAME=VALUE",
              help="Run a candidate: set an evaluation switch or setting named in "
                   "EVALUATION.md (e.g. features.market.MARKET_RESULT_K=0.15; repeatable; "
                   "an unknown NAME lists them all). Needs --out; the run is not stored "
                   "as the database's backtests.")
@click.option("--seed", "seeds", type=click.IntRange(0, 2**31 - 1), metavar="N",
              multiple=True,
              help="LightGBM's random seed (default: the model's own). Fits differing only "
                   "in it differ by ~0.001 a period: repeat (--seed 7 --seed 1 --seed 2) "
                   "to run every period per seed and print each seed's log loss and mean.")
@click.option("--by", "by_kind",
              type=click.Choice(["level", "surface", "round", "price", "disagreement"]),
              help="Also print the pure model's and the blend's gap to Pinnacle per kind "
                   "of match, over all the periods (price: Pinnacle's favourite's "
                   "probability; disagreement: how far apart the model's and Pinnacle's "
                   "logits are): where the gap is made and where the blend wins.")
@click.option("--fit-pool", is_flag=True,
              help="Also print the pool of the pure model and Pinnacle, their logit "
                   "weights fitted on these periods' matches together: the blend's "
                   "long-run pool (blend.PRIOR) is this on the tuning periods, refitted "
                   "whenever the model changes.")
@click.pass_obj
def evaluate(settings: Settings, period_texts: tuple[str, ...], odds: Path | None,
             retrain: str, saved: Path | None, out: Path | None, against: Path | None,
             switch_texts: tuple[str, ...], seeds: tuple[int, ...],
             by_kind: str | None, fit_pool: bool) -> None:
    """Walk-forward backtests over several separate periods, each compared with Pinnacle,
    the market average, Elo and the ranking on the same matches, with a 95 % bootstrap
    interval (resampling tournaments) on the log-loss gap to Pinnacle.

    \b
    Example:
      acebet evaluate --odds ../shared/data/tennis_data_odds --out evaluation.parquet
      acebet evaluate --odds ../shared/data/tennis_data_odds --out candidate.parquet \\
          --switch features.market.MARKET_RESULT_K=0.15 --against evaluation.parquet
      acebet evaluate --predictions evaluation.parquet --by level
      acebet evaluate --predictions evaluation.parquet --fit-pool \\
          --periods 2015-16,2017-18,2019-20
    """
    from acebet import evaluation as ev
    from acebet.features import switches

    periods = ev.parse_periods(period_texts or ev.DEFAULT_PERIODS)
    if out is not None and not out.parent.is_dir():
        raise InputError(f"--out {out}: folder {out.parent} does not exist")
    reference = None
    if against is not None:  # before a long run, not after it
        if out is not None and out.resolve() == against.resolve():
            raise InputError(f"--against {against} is the --out file: give the reference "
                             "run's file")
        reference = _read_predictions(against, "--against")
        ev.check_reference(reference)
    if switch_texts and (saved is not None or out is None):
        raise InputError("--switch runs a candidate: give --out for its predictions "
                         "(and not --predictions)")
    if saved is not None:
        predictions = _read_predictions(saved, "--predictions")
        if out is not None:
            predictions.write_parquet(out)
    else:
        if odds is None:
            raise InputError("--odds is required: the periods are compared with Pinnacle")
        if not odds.is_dir():
            raise InputError(f"--odds {odds}: no such folder")
        from acebet import backtest as bt

        store.ensure_migrated(settings.db, settings.lock_timeout)
        with (switches.switched(switch_texts) as switched_on,  # a bad one: before the copy
              store.history_copy(settings.db, settings.lock_timeout) as con):  # writers go on
            if switched_on:
                click.echo("candidate: " + ", ".join(f"{k} = {v}"
                                                     for k, v in switched_on.items()), err=True)
            predictions, results = ev.run(con, periods, odds, retrain=retrain, seeds=seeds)
        if out is not None:  # first: the file is the result even if storing fails
            predictions.write_parquet(out)
        if not switched_on:  # a candidate's run is its --out file, not the product's
            with settings.connect_to_store_result() as con:
                for result in results:
                    bt.store_result(con, result)
            _publish(settings)
    click.echo(output.table(ev.compare(predictions, periods)))
    if by_kind is not None:
        click.echo(f"\nBy {by_kind}, the periods together (share: the part of the whole "
                   "gap made there):")
        click.echo(output.table(ev.breakdown(predictions, periods, by_kind)))
    by_seed = ev.seed_table(predictions, periods)
    if by_seed is not None:
        click.echo("\nAceBet log loss per seed (the table above is the first seed's):")
        click.echo(output.table(by_seed))
    blend_by_seed = ev.blend_seed_table(predictions, periods)
    if blend_by_seed is not None:
        click.echo("\nThe blend's log loss minus Pinnacle's per seed:")
        click.echo(output.table(blend_by_seed))
    if fit_pool:
        from acebet import blend

        click.echo("\nThe pool of the pure model and Pinnacle fitted on these periods' "
                   f"matches together (blend.PRIOR: model {blend.PRIOR['model']}, "
                   f"market {blend.PRIOR['market']}):")
        click.echo(output.table(pl.DataFrame([ev.fitted_pool(predictions, periods)])))
    if reference is not None:
        paired = ev.against(predictions, reference, periods)
        models, blends = ev.paired_columns(predictions, reference)
        click.echo(f"\nAceBet log loss minus {against}'s on the matches both forecast, "
                   + ev.describe_pairing(models)
                   + (f"; the blend's where both runs have one, {ev.describe_pairing(blends)}"
                      if blends else "") + ":")
        click.echo(output.table(paired))


def _read_predictions(path: Path, option: str) -> pl.DataFrame:
    """An earlier `evaluate --out` file, or a one-line error naming it."""
    if not path.is_file():
        raise InputError(f"{option} {path}: no such file")
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{option} {path}: not a Parquet file ({first_line(exc)})") from None


@main.group()
def odds() -> None:
    """Keep the closing odds of played matches (the market-implied rating's input)."""


@odds.command("load")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path),
                envvar="ACEBET_ODDS_DIR")
@click.option("--year", "years", type=click.IntRange(1968, 2100), multiple=True,
              metavar="YYYY", help="Load only this year's file (repeatable); default: all.")
@click.option("--optional", is_flag=True,
              help="A missing FOLDER is a warning (exit 0), not an error: for a schedule "
                   "that runs with or without odds.")
@click.pass_obj
def odds_load(settings: Settings, folder: Path, years: tuple[int, ...],
              optional: bool) -> None:
    """Pair the yearly closing-odds files in FOLDER (YYYY.csv, tennis-data.co.uk
    format; env ACEBET_ODDS_DIR) with the played matches in the history and keep
    them in match_odds.

    The next `train` gives the model the market-implied rating and fits the blend from
    them. Load the current year's file again as results come in (after `ingest`), so
    the rating keeps up with the history; a match's odds are replaced, never doubled.

    \b
    Example:
      acebet odds load ../shared/data/tennis_data_odds
      acebet odds load ../shared/data/tennis_data_odds --year 2022
    """
    from acebet import odds as O

    if not folder.is_dir():
        if optional:
            _warn(f"{folder}: no such folder; no odds loaded (the model trains on the odds "
                  "stored before, if any)")
            return
        raise InputError(f"{folder}: no such folder")
    settings.share()
    with settings.connect() as con:
        loaded = O.store_odds(con, folder, years or None)
    _publish(settings)
    report = loaded.report
    if report.unresolved:
        names = ", ".join(f"{name} ({count})" for (name, _), count
                          in list(report.unresolved.items())[:3])
        _warn(f"{len(report.unresolved)} bookmaker names did not resolve to one player "
              f"(most rows: {names}); rows that could not be pinned to a match are not stored")
    click.echo(f"odds from {loaded.files} file(s): {loaded.rows_read:,} rows, "
               f"{report.matched_rows:,} paired with a played match, {loaded.stored:,} "
               f"stored with prices, {loaded.dropped:,} dropped (no longer paired)")


@main.group()
def fixtures() -> None:
    """Load upcoming fixtures to score."""


@fixtures.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True,
              help="Load nothing and exit 2 if any row is rejected.")
@click.option("--encoding", metavar="NAME",
              help="Text encoding of a CSV file (default UTF-8; e.g. latin-1, cp1252).")
@click.pass_obj
def fixtures_load(settings: Settings, file: Path, strict: bool, encoding: str | None) -> None:
    """Validate and upsert fixtures from a CSV or Parquet FILE.

    Columns: tourney_date, surface, tourney_level, round, best_of and either
    p1_id/p2_id or p1_name/p2_name (full name or `Last F.`); optional fixture_id,
    tourney_id, tourney_name, p1_odds/p2_odds (decimal). Unusable rows go to
    fixture_rejects with their reason and file line; the rest load. Exit 2 when
    every row is rejected (or, with --strict, any row).

    \b
    Example:
      acebet fixtures load fixtures.csv
    """
    from acebet import fixtures as fx

    settings.share()  # a bad --publish is exit 2 before any work
    with settings.connect() as con:
        summary, rejects = fx.load(con, file, strict=strict, encoding=encoding)
    _publish(settings)
    log.info("fixtures loaded", extra=summary.as_dict())
    for line in fx.describe_rejects(rejects, file.name):
        _warn(line)
    error = fx.load_error(summary, file, strict=strict)
    if error is not None:
        raise error
    click.echo(
        f"fixtures from {file.name}: {summary.rows_read:,} rows, {summary.inserted:,} new, "
        f"{summary.updated:,} updated, {summary.unchanged:,} unchanged, "
        f"{summary.rejected:,} rejected"
    )


@main.command()
@click.option("--as-of", metavar="DATE", help="Use only history up to this date.")
@click.option("--model", "model_version", type=MODEL_VERSION, metavar="V",
              help="Score with this model version instead of the active one.")
@click.option("--rescore", is_flag=True,
              help="Score fixtures again even if predicted (old predictions are archived).")
@click.option("--max-history-age", type=click.IntRange(min=0), default=45, metavar="DAYS",
              envvar="ACEBET_MAX_HISTORY_AGE", show_default=True, show_envvar=True,
              help="Fail (exit 4) if the history ends more than DAYS before a fixture to "
                   "score: the ingest has stopped. 0 turns the check off.")
@click.pass_obj
def score(settings: Settings, as_of: str | None, model_version: int | None, rescore: bool,
          max_history_age: int) -> None:
    """Score every fixture that has no prediction from the active model; predictions and
    the run record are written in one transaction. Safe to re-run.

    \b
    Example:
      acebet --log-format json --lock-timeout 300 score
    """
    from acebet import scoring

    summary = scoring.score(settings.db, as_of=_date(as_of, "--as-of"),
                            model_version=model_version, rescore=rescore,
                            lock_timeout=settings.lock_timeout,
                            max_history_age=max_history_age or None)
    _publish(settings)
    log.info("run finished", extra=summary.as_dict())
    click.echo(
        f"run {summary.run_id}: model {summary.model_version}, {summary.fixtures_seen:,} "
        f"fixtures to score, {summary.predictions_written:,} predictions written, "
        f"{summary.archived:,} archived, {summary.cold_start:,} cold start "
        f"({summary.seconds:.1f}s)"
    )


@main.command()
@click.argument("p1")
@click.argument("p2")
@click.option("--surface", required=True, help="Hard, Clay, Grass or Carpet.")
@click.option("--level", default="A", show_default=True, help="G, M, A, F, D or C.")
@click.option("--round", "round_", default="R32", show_default=True)
@click.option("--best-of", default=3, show_default=True, type=int)
@click.option("--date", metavar="DATE", help="Match date (default: today).")
@click.pass_obj
def predict(settings: Settings, p1: str, p2: str, surface: str, level: str, round_: str,
            best_of: int, date: str | None) -> None:
    """One ad-hoc matchup: P1 and P2 are player ids or names (full or `Last F.`).

    \b
    Example:
      acebet predict "Jannik Sinner" "Alcaraz C." --surface Clay --level M
    """
    from acebet import scoring

    day = _date(date, "--date") or dt.date.today()
    with settings.connect(read_only=True) as con:
        result = scoring.predict_one(con, p1, p2, surface=surface, level=level, round_=round_,
                                     best_of=best_of, date=day)
    p = result["p1_win_prob"]
    flag = "  (cold start: a player has no history; priors used)" if result["cold_start"] else ""
    click.echo(
        f"{result['p1_name']} vs {result['p2_name']} — {result['surface']}, "
        f"{result['tourney_level']}, {result['round']}, best of {result['best_of']}, "
        f"{result['tourney_date']}\n"
        f"  {result['p1_name']}: {p:.1%}\n  {result['p2_name']}: {1 - p:.1%}\n"
        f"  model version {result['model_version']}{flag}"
    )
    if result["history_age_days"] and result["history_age_days"] > scoring.STALE_WARNING_DAYS:
        _warn(f"the history ends {result['history_end']}, {result['history_age_days']} days "
              f"before {day}; results since then are not in this forecast")


@main.command()
@click.option("--fixtures", "fixtures_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Fixture file to load (default: the example fixtures shipped with AceBet).")
@click.option("--odds", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of yearly odds files (YYYY.csv): the replayed weeks get their "
                   "closing odds, so edges, the blend and the upsets query have rows.")
@click.pass_obj
def demo(settings: Settings, fixtures_file: Path | None, odds: Path | None) -> None:
    """The whole pipeline on the default database: ingest history (env ACEBET_SOURCE or
    upstream), train if no model exists, replay the last weeks of the history as fixtures
    scored as of their dates (so predictions settle), load the example fixtures, score,
    and print the predictions. A second run adds nothing.
    """
    import os

    from acebet import demo as demo_mod
    from acebet.db import runs as runs_db

    if odds is not None and not odds.is_dir():  # before any download or training
        raise InputError(f"--odds {odds}: no such folder")

    result = demo_mod.run(settings.db, source=os.environ.get("ACEBET_SOURCE"),
                          fixtures_file=fixtures_file, odds_dir=odds,
                          lock_timeout=settings.lock_timeout, say=progress.note)
    _publish(settings)
    for line in result.warnings:
        _warn(line)
    with settings.connect(read_only=True) as con:
        table = runs_db.latest_predictions(con)
        settled = runs_db.settled_count(con)
    if result.replay_weeks:  # the replayed weeks are for the analyst views; show the rest
        table = table.filter(pl.col("tourney_date") > result.replay_weeks[-1])
    progress.note(f"{settled} settled predictions: see `acebet report`, the "
                  "prediction_outcomes and model_performance views, and sql/queries/")
    click.echo(_predictions_table(table))


def _predictions_table(table: pl.DataFrame) -> str:
    view = table.select(
        pl.col("tourney_date").cast(pl.String).alias("date"),
        pl.col("tourney_name").alias("event"), "round",
        pl.col("p1_name").alias("player 1"), pl.col("p2_name").alias("player 2"),
        (pl.col("p1_win_prob") * 100).round(1).cast(pl.String).alias("p1 win %"),
        (pl.col("p1_market_prob") * 100).round(1).cast(pl.String).alias("market %"),
        pl.when(pl.col("cold_start")).then(pl.lit("cold start")).otherwise(pl.lit(""))
        .alias("note"),
    )
    return output.table(view)


@main.command("export")
@click.argument("what", type=click.Choice(["predictions", "outcomes", "all-predictions"]))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write: NAME.csv or NAME.parquet; - writes CSV to stdout.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]),
              help="Default: from the file name; must agree with it.")
@click.option("--from", "date_from", metavar="DATE", help="First fixture date.")
@click.option("--to", "date_to", metavar="DATE", help="Last fixture date.")
@click.option("--model", "model_version", type=MODEL_VERSION, metavar="V",
              help="Only this model.")
@click.pass_obj
def export_cmd(settings: Settings, what: str, out: Path, fmt: str | None,
               date_from: str | None, date_to: str | None, model_version: int | None) -> None:
    """Export predictions (latest_predictions: the active model's current ones),
    outcomes (prediction_outcomes: settled against results) or all-predictions.

    \b
    Example:
      acebet export outcomes --format csv --out outcomes.csv --from 2023-01-01
    """
    from acebet import export

    with settings.connect(read_only=True) as con:
        rows = export.export(con, what, out, fmt=fmt, date_from=_date(date_from, "--from"),
                             date_to=_date(date_to, "--to"), model_version=model_version)
    if str(out) != "-":
        click.echo(f"{rows:,} rows of {what} written to {out}")


@main.group()
def runs() -> None:
    """Scoring runs: what ran, when, how long, and why it failed."""


@runs.command("list")
@click.option("--limit", default=20, show_default=True, help="How many runs, newest first.")
@_format_option()
@click.pass_obj
def runs_list(settings: Settings, limit: int, fmt: str) -> None:
    """The latest scoring runs from the run_history view."""
    from acebet.db import runs as runs_db

    with settings.connect(read_only=True) as con:
        frame = runs_db.recent_runs(con, limit)
    click.echo(output.render(frame, fmt, empty="no scoring runs yet; run `acebet score`"))


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("report"), show_default=True, help="Folder for report.html.")
@click.pass_obj
def report(settings: Settings, out_dir: Path) -> None:
    """Write a self-contained HTML report: reliability diagram, log loss and accuracy over
    time against the baselines and the market, and the latest runs.

    \b
    Example:
      acebet report --out /tmp/report && xdg-open /tmp/report/report.html
    """
    from acebet import report as report_mod

    with settings.connect(read_only=True) as con:
        path = report_mod.build(con, out_dir)
    click.echo(f"report written to {path}")


@main.command("publish")
@click.pass_obj
def publish_cmd(settings: Settings) -> None:
    """Publish the analyst share now (every command that changes what analysts see
    also does): the snapshot file, or the DuckLake given by --publish.

    \b
    Example:
      acebet --publish ducklake:sqlite:/srv/lake.sqlite --publish-data /srv/lake publish
    """
    from acebet import share

    store.ensure_migrated(settings.db, settings.lock_timeout)
    target = settings.share()
    summary = share.publish(settings.db, target, lock_timeout=settings.lock_timeout)
    if summary is None:
        click.echo("publishing is off (--publish none)")
        return
    log.info("published", extra=summary.as_dict())
    click.echo(f"published to {summary.target}: {summary.rows.get('predictions', 0):,} "
               f"predictions, {summary.rows.get('score_runs', 0):,} runs "
               f"({summary.seconds:.1f}s)")


@main.command("query")
@click.argument("sql", required=False)
@click.option("-f", "--file", "sql_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the SQL from this file (e.g. sql/queries/runs_last_30_days.sql).")
@_format_option(("table", "csv", "json"))
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="SET VARIABLE NAME first, for queries that read getvariable('NAME').")
@click.pass_obj
def query_cmd(settings: Settings, sql: str | None, sql_file: Path | None, fmt: str,
              variables: tuple[str, ...]) -> None:
    """Read-only SQL against the analyst share (snapshot or lake), never the job's file.

    \b
    Examples:
      acebet query "SELECT * FROM latest_predictions ORDER BY edge DESC LIMIT 10"
      acebet query -f sql/queries/player_record.sql --var player='Jannik Sinner'
    """
    from acebet import share

    if (sql is None) == (sql_file is None):
        raise InputError("give the SQL as an argument or with -f FILE, not both")
    if sql_file is not None:
        if not sql_file.is_file():
            raise InputError(f"-f {sql_file}: no such file")
        sql = sql_file.read_text()
    values = {}
    for item in variables:
        name, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--var {item!r}: expected NAME=VALUE")
        values[name] = value
    frame = share.query(settings.share(for_reading=True), sql, values)
    if frame is None:
        return
    click.echo(output.render(frame, fmt))
