"""The DuckDB store: opening the one database file, applying `sql/` migrations, transactions.

Every command works against one file. Schema changes are numbered SQL files applied in
order on open and recorded in `schema_migrations`, so an old file upgrades in place.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

import duckdb
import polars as pl

from acebet import __version__
from acebet.errors import DatabaseBusy, StoreError, first_line

T = TypeVar("T")
log = logging.getLogger(__name__)
MIGRATION_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def sql_dir() -> Path:
    """The folder holding migrations and analyst queries.

    An installed wheel carries it as `acebet/sql`; a source checkout keeps it at the
    repository root, where analysts find it.
    """
    packaged = Path(str(resources.files("acebet"))) / "sql"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "sql"
    if checkout.is_dir():
        return checkout
    raise StoreError("cannot find the sql/ folder next to the acebet package")


def migrations() -> list[Migration]:
    found = []
    for path in sorted(sql_dir().glob("*.sql")):
        match = MIGRATION_FILE.match(path.name)
        if match:
            found.append(Migration(int(match[1]), match[2], path.read_text()))
    return found


def _is_lock_conflict(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set lock" in text)


# Database files this process created, for `discard_if_created_empty`.
_created: set[Path] = set()


def discard_if_created_empty(path: str | Path) -> bool:
    """Remove a database file (and its write-ahead log) that this process created and
    that still holds nothing: no history, fixtures or models. True if it was removed.

    Left behind, an empty file makes the next command report a missing model or history
    instead of the real first failure. A file another process created, one holding any
    committed work (a first ingest whose publish failed later), or one another process
    has open is never touched.
    """
    path = Path(path).resolve()
    if path not in _created or not path.exists():
        return False
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False  # someone else holds it now: theirs to keep
    try:
        stored = scalar(con, "SELECT (SELECT count(*) FROM matches) + (SELECT count(*) "
                             "FROM players) + (SELECT count(*) FROM fixtures) + "
                             "(SELECT count(*) FROM models)")
    except duckdb.Error:
        stored = 0  # the schema was never created: nothing in it
    finally:
        con.close()
    if stored:
        return False
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    _created.discard(path)
    return True


def connect(
    path: str | Path, *, read_only: bool = False, lock_timeout: float = 0.0,
    check_schema: bool = True, create: bool = True,
) -> duckdb.DuckDBPyConnection:
    """Open the database, waiting up to `lock_timeout` seconds for another process's lock.

    DuckDB lets one process write a file at a time; a scheduler that starts a run while
    the previous one still writes gets DatabaseBusy (exit 75) rather than a traceback.
    Only commands that load history (`create=True`) may create the file: any other
    command given a mistyped path would leave an empty database behind.
    """
    path = Path(path)
    if (read_only or not create) and not path.exists():
        raise StoreError(f"{path}: no such database (run `acebet ingest` first)")
    if path.parent and not path.parent.exists():
        raise StoreError(f"{path}: folder {path.parent} does not exist")
    existed = path.exists()
    con = _with_lock_retry(
        path, lock_timeout, lambda: duckdb.connect(str(path), read_only=read_only))
    if not existed:
        _created.add(path.resolve())
    # DuckDB draws its own bar on stdout for long queries: it would land in CSV written
    # to stdout and ignore --quiet and JSON logs. AceBet's progress module owns progress.
    con.execute("SET enable_progress_bar = false")
    try:
        _refuse_newer_schema(con, path)
        if not read_only:
            migrate(con)
        elif check_schema:
            _check_schema_current(con, path)
            if views_state(con) == "older":
                _views_for_this_session(con)
    except duckdb.Error as exc:
        con.close()
        raise StoreError(
            f"{path}: not an AceBet database, or one it cannot upgrade: {first_line(exc)}"
        ) from exc
    except BaseException:
        con.close()
        raise
    return con


def _with_lock_retry(path: Path, lock_timeout: float, open_it: Callable[[], T]) -> T:
    """Call `open_it` until no other process holds a conflicting lock on `path`.

    DuckDB lets one process write a file at a time; a scheduler that starts a run while
    the previous one still writes gets DatabaseBusy (exit 75), naming the holder.
    """
    deadline = time.monotonic() + max(lock_timeout, 0.0)
    delay = 0.05
    while True:
        try:
            return open_it()
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc):
                raise StoreError(f"{path}: cannot open the database: {first_line(exc)}") from exc
            if delay == 0.05 and lock_timeout > 0:  # first conflict: say so once
                log.info("database busy: waiting for another process's lock",
                         extra={"db": str(path), "lock_timeout": lock_timeout})
            if time.monotonic() >= deadline:
                holder = lock_holder(exc)
                raise DatabaseBusy(
                    f"{path}: another process holds the database lock"
                    + (f" ({holder})" if holder else "")
                    + (f" (waited {lock_timeout:g}s)" if lock_timeout > 0 else "")
                    + "; retry later or raise --lock-timeout"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def attach_job_database(con: duckdb.DuckDBPyConnection, path: str | Path,
                        lock_timeout: float = 0.0) -> None:
    """Attach the job's database to `con` read-only as `acebet_job` (for publishing).

    It must exist and have the current schema; a writer holding it makes this wait up
    to `lock_timeout` like `connect`.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such database (run `acebet ingest` first)")
    literal = sql_literal(str(path))
    _with_lock_retry(path, lock_timeout,
                     lambda: con.execute(f"ATTACH {literal} AS acebet_job (READ_ONLY)"))
    if scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'acebet_job' "
                   "AND table_name = 'schema_migrations'") == 0:
        con.execute("DETACH acebet_job")
        raise StoreError(f"{path}: not an AceBet database")



# What training, backtests and evaluations read: the history, and the stored feature
# snapshot `train` checks for staleness.
HISTORY_TABLES = ("players", "matches", "match_odds", "feature_snapshots")


def history_copy(path: str | Path, lock_timeout: float = 0.0) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding a copy of the job database's history tables.

    A process that holds the file, even read-only, keeps every writer out. Training and
    backtests compute for minutes to hours; on a copy they hold the file only for the
    second the copy takes, and the scheduled `score` and `fixtures load` go on meanwhile.
    """
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        attach_job_database(con, path, lock_timeout)
        for table in HISTORY_TABLES:  # this module's constants, never input
            con.execute(f"CREATE TABLE {table} AS FROM acebet_job.{table}")
        con.execute("DETACH acebet_job")
    except duckdb.Error as exc:
        con.close()
        raise StoreError(f"{path}: cannot read the history: {first_line(exc)}") from exc
    except BaseException:
        con.close()
        raise
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> object:
    """The single value of a one-row query, with the result fully consumed.

    DuckDB keeps a partly fetched result open and refuses further work on the
    connection until it is drained, so `fetchone()` alone is not enough.
    """
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def applied_versions(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    exists = scalar(
        con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    )
    if not exists:
        return {}
    rows = con.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {int(v): c for v, c in rows}


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every migration not yet recorded, each in its own transaction."""
    con.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,
               checksum VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"""
    )
    done = applied_versions(con)
    _refuse_newer_schema(con, None)
    applied = []
    for migration in migrations():
        if migration.version in done:
            continue
        with transaction(con):
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                [migration.version, migration.name, migration.checksum],
            )
        applied.append(migration.version)
    if applied or views_state(con) == "older":
        apply_views(con)
    return applied


VIEWS_VERSION = re.compile(r"^-- views version: (\d+)$", re.MULTILINE)


def views_sql() -> str:
    """The analyst views (`sql/views.sql`): one definition each, applied after migrations."""
    return (sql_dir() / "views.sql").read_text()


def _views_identity(text: str) -> tuple[int, str]:
    match = VIEWS_VERSION.search(text)
    if not match:
        raise StoreError("sql/views.sql has no '-- views version: N' line")
    return int(match[1]), hashlib.sha256(text.encode()).hexdigest()


def views_state(con: duckdb.DuckDBPyConnection) -> str:
    """'current', 'older' or 'newer': the database's views against this AceBet's.

    Views are not migrations: a release that changes one edits `views.sql` and raises its
    version. A writer applies a newer file; views a newer AceBet applied (a version above
    this one's) stay, so two releases sharing a database never flip them back and forth:
    views only gain columns at their end, so this release reads the newer ones fine.
    """
    has_version = scalar(con, "SELECT count(*) FROM duckdb_columns() "
                              "WHERE database_name = current_database() "
                              "AND table_name = 'schema_views' AND column_name = 'version'")
    if not has_version:  # no record, or one from before views had a version
        return "older"
    rows = con.execute("SELECT version, checksum FROM schema_views").fetchall()
    if not rows:
        return "older"
    version, checksum = _views_identity(views_sql())
    if rows[0] == (version, checksum):
        return "current"
    return "newer" if rows[0][0] > version else "older"


def apply_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every analyst view over the current tables, and record which."""
    text = views_sql()
    version, checksum = _views_identity(text)
    with transaction(con):
        con.execute(text)
        con.execute("CREATE OR REPLACE TABLE schema_views (version INTEGER NOT NULL, "
                    "checksum VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        con.execute("INSERT INTO schema_views (version, checksum) VALUES (?, ?)",
                    [version, checksum])


def _views_for_this_session(con: duckdb.DuckDBPyConnection) -> None:
    """A read-only connection to a file whose views are older than this AceBet's sees
    this AceBet's as temporary views (the file is not touched), so reports and exports
    work before the next writing command upgrades the file."""
    con.execute(views_sql().replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW"))


def _refuse_newer_schema(con: duckdb.DuckDBPyConnection, path: Path | None) -> None:
    """Every command, reading or writing, refuses a file a newer AceBet has changed:
    its tables may mean something this version does not know."""
    newer = sorted(set(applied_versions(con)) - {m.version for m in migrations()})
    if newer:
        raise StoreError(
            f"{path or 'the database'}: schema version {newer[-1]} is newer than this "
            f"AceBet ({__version__}) knows; upgrade AceBet"
        )


def pending_migrations(con: duckdb.DuckDBPyConnection) -> list[int]:
    return sorted({m.version for m in migrations()} - set(applied_versions(con)))


def _check_schema_current(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    if pending_migrations(con):
        raise StoreError(
            f"{path}: the database schema is older than this AceBet "
            "(run any writing command, e.g. `acebet db migrate`, to upgrade it)"
        )


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit on success, roll back on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the product tables, for `db status` and for tests."""
    names = [
        "players", "matches", "ingest_rejects", "fixtures", "fixture_rejects",
        "models", "score_runs", "predictions", "match_odds",
    ]
    counts = {}
    for name in names:
        # table names come from the fixed list above, never from input
        counts[name] = scalar(con, f"SELECT count(*) FROM {name}")  # noqa: S608
    return counts


class _ArrowStream:
    """A Polars frame seen only through the Arrow PyCapsule stream interface.

    DuckDB scans such an object natively; handing it the DataFrame itself would make
    it convert through pyarrow, which AceBet does not need. Each scan gets a new stream.
    """

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self._frame.__arrow_c_stream__(requested_schema)


def register_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    """Make a Polars frame queryable as view `name` (zero copy)."""
    con.register(name, _ArrowStream(frame))


def query_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
) -> pl.DataFrame:
    """Run a query and return the result as a Polars frame (zero copy, no pyarrow).

    With parameters DuckDB runs the query at once and keeps a materialized result, whose
    own Arrow export is slow (0.6 s and 60 MiB more for the 100,000 fixtures a scoring
    run reads); a query over that result exports as fast as an unparameterized one.
    """
    if not params:
        return pl.DataFrame(con.sql(sql))
    return pl.DataFrame(con.sql(sql, params=params).query("_result", "FROM _result"))


def sql_literal(value: str) -> str:
    """`value` as a single-quoted SQL string literal.

    Only for the few statements DuckDB cannot take parameters in (ATTACH's path or
    DSN): everything else passes values as parameters. A quote is doubled, the one
    escape DuckDB string literals know; NUL cannot appear in a path or DSN.
    """
    if "\x00" in value:
        raise StoreError(f"{value!r}: NUL character in a path or connection string")
    return "'" + value.replace("'", "''") + "'"


def quote_identifier(name: str) -> str:
    """`name` as a double-quoted SQL identifier, for a column name read from a catalog."""
    if "\x00" in name:
        raise StoreError(f"{name!r}: NUL character in a column name")
    return '"' + name.replace('"', '""') + '"'


def lock_holder(exc: BaseException) -> str | None:
    """The process DuckDB names in a lock conflict ("... held in /usr/bin/python (PID 42)")."""
    match = re.search(r"held in (.*?)\s*\(PID (\d+)\)", str(exc))
    if not match:
        return None
    return f"PID {match[2]}, {Path(match[1]).name}" if match[1] else f"PID {match[2]}"


def ensure_migrated(db: str | Path, lock_timeout: float = 0.0) -> None:
    """Upgrade an older file first, so a command can then do its long work read-only."""
    con = connect(db, read_only=True, lock_timeout=lock_timeout, check_schema=False)
    try:
        current = not pending_migrations(con) and views_state(con) != "older"
    finally:
        con.close()
    if not current:
        connect(db, lock_timeout=lock_timeout).close()
