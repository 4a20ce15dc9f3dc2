"""Publishing what analysts read, apart from the job's own file.

The job's database has one writer. Analysts read a published share instead: a
read-only snapshot file beside the database (the default), or a DuckLake
(catalog in SQLite or PostgreSQL, data as Parquet) for many processes and machines.
Either way an analyst's open connection never blocks the job.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import duckdb
import polars as pl

from acebet.errors import DatabaseBusy, InputError, StoreError, first_line

LAKE_PREFIX = "ducklake:"
LAKE_CATALOGS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Target:
    """Where the share goes: kind is 'snapshot', 'lake' or 'none'."""

    kind: str
    path: Path | None = None       # the snapshot file
    catalog: str | None = None     # "sqlite:PATH" or "postgres:DSN"
    data: str | None = None        # the lake's data folder or URL

    def describe(self) -> str:
        if self.kind == "snapshot":
            return str(self.path)
        if self.kind == "lake":
            return f"{LAKE_PREFIX}{self.catalog.split(':', 1)[0]}:…"  # a DSN may hold secrets
        return "none"


@dataclass
class PublishSummary:
    target: str
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"target": self.target, "seconds": self.seconds, "rows": self.rows}


def default_snapshot(db: Path) -> Path:
    """`NAME.analytics.duckdb` beside `NAME.duckdb`."""
    stem = db.name[: -len(".duckdb")] if db.name.endswith(".duckdb") else db.name
    return db.with_name(f"{stem}.analytics.duckdb")


def resolve(db: Path, publish: str | None, data: str | None = None, *,
            for_reading: bool = False) -> Target:
    """The target named by --publish/--publish-data (None: the default snapshot).

    A reader of a lake needs no --publish-data: the catalog knows where its files are.
    """
    if publish is None or publish == "":
        return Target("snapshot", path=default_snapshot(db))
    if publish == "none":
        return Target("none")
    if publish.startswith(LAKE_PREFIX):
        catalog = publish[len(LAKE_PREFIX):]
        kind, _, where = catalog.partition(":")
        if kind not in LAKE_CATALOGS or not where:
            raise InputError(f"--publish {publish.split(':', 2)[:2]}: expected "
                             "ducklake:sqlite:PATH or ducklake:postgres:DSN")
        if not data and not for_reading:
            raise InputError("--publish ducklake:…: also give --publish-data DIR_OR_URL "
                             "(env ACEBET_PUBLISH_DATA) for the lake's Parquet files")
        if kind == "sqlite" and not for_reading and not Path(where).parent.is_dir():
            raise InputError(f"--publish {publish}: folder {Path(where).parent} does not exist")
        if data and not for_reading and "://" not in data and not Path(data).parent.is_dir():
            raise InputError(f"--publish-data {data}: folder {Path(data).parent} "
                             "does not exist")
        return Target("lake", catalog=catalog, data=data)
    path = Path(publish)
    if path.resolve() == db.resolve():
        raise InputError(f"--publish {publish}: that is the job's own database; "
                         "give another file")
    if not for_reading and not path.parent.is_dir():
        raise InputError(f"--publish {publish}: folder {path.parent} does not exist")
    return Target("snapshot", path=path)


def publish(db: Path, target: Target, *, lock_timeout: float = 0.0,
            publish_wait: float | None = None) -> PublishSummary | None:
    """Publish the current state of `db` to `target` (nothing for 'none').

    `lock_timeout` is the wait for the job database's lock; `publish_wait` the wait for
    another publish of it (PUBLISH_WAIT_SECONDS unless given).
    """
    if target.kind == "none":
        return None
    if target.kind == "snapshot" and not target.path.parent.is_dir():
        raise InputError(f"--publish {target.path}: folder {target.path.parent} does not exist")
    started = time.perf_counter()
    wait = PUBLISH_WAIT_SECONDS if publish_wait is None else publish_wait
    with _one_publisher_at_a_time(db, wait):
        if target.kind == "snapshot":
            from acebet.share import snapshot

            rows = snapshot.publish(db, target.path, lock_timeout=lock_timeout)
        else:
            from acebet.share import lake

            rows = lake.publish(db, target.catalog, target.data, lock_timeout=lock_timeout)
    return PublishSummary(target.describe(), round(time.perf_counter() - started, 3), rows)


# How long a publish waits for another publish of the same database before giving up.
# A publish takes seconds; one still holding the lock after this is hung, and the job's
# own work is stored either way (the next publish brings the share up to date).
PUBLISH_WAIT_SECONDS = 600.0


@contextmanager
def _one_publisher_at_a_time(db: Path, wait: float) -> Iterator[None]:
    """Publishes of one database take turns (a lock file beside it, holding the PID).

    Each reads the state after the previous one finished, so a slower publisher can
    never put an older state over a newer one, nor append the same rows twice. The lock
    goes with its process, so only a hung publisher can make the next one wait `wait`
    seconds and then give up with DatabaseBusy naming it.
    """
    # unbuffered: a holder name that did not fit on a full disk is not retried at close
    with open(db.with_name(f".{db.name}.publish-lock"), "a+b", buffering=0) as handle:
        _take_lock(handle, db, wait)
        try:
            _name_the_holder(handle)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _name_the_holder(handle: IO[bytes]) -> None:
    """host:PID in the lock file, for the message of a publish that gives up waiting
    (pods share volumes). Only a courtesy: a full disk must not stop the publish."""
    try:
        handle.truncate(0)
        handle.write(f"{socket.gethostname()}:{os.getpid()}\n".encode())
    except OSError:
        pass


def _take_lock(handle: IO[bytes], db: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().decode(errors="replace").strip()
                raise DatabaseBusy(
                    f"{db}: another publish" + (f" (host:PID {holder})" if holder else "")
                    + f" has held the publish lock for over {wait:g}s; "
                    "`acebet publish` refreshes the share once it ends") from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def connect_reader(target: Target) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the share, with its tables and views unqualified."""
    if target.kind == "none":
        raise InputError("publishing is off (--publish none): nothing to query")
    if target.kind == "snapshot":
        if not target.path.exists():
            raise StoreError(f"{target.path}: no analyst snapshot yet "
                             "(run `acebet publish`, or any command that writes)")
        try:
            con = duckdb.connect(str(target.path), read_only=True)
        except duckdb.Error as exc:
            first = first_line(exc)
            raise StoreError(f"{target.path}: cannot open the analyst snapshot: {first}"
                             ) from exc
        con.execute("SET enable_progress_bar = false")  # never drawn into query output
        return con
    from acebet.share import lake

    return lake.connect_reader(target.catalog, target.data)


def query(target: Target, sql: str, variables: dict[str, str] | None = None
          ) -> pl.DataFrame | None:
    """Run analyst SQL read-only against the share; the last statement's rows, if any.

    `variables` are set first with SET VARIABLE (values as parameters), for queries
    that read `getvariable('name')`.
    """
    con = connect_reader(target)
    try:
        for name, value in (variables or {}).items():
            con.execute("SET VARIABLE " + _variable_name(name) + " = ?", [value])
        try:
            relation = con.sql(sql)
        except duckdb.Error as exc:
            first = first_line(exc)
            raise InputError(f"query failed: {first}") from exc
        return None if relation is None else pl.DataFrame(relation)
    finally:
        con.close()


def _variable_name(name: str) -> str:
    """A --var name is an identifier; anything else is refused (it becomes SQL text)."""
    if not name.isidentifier() or not name.isascii():
        raise InputError(f"--var {name!r}: a variable name is letters, digits and _")
    return name
