"""The analyst snapshot: a read-only DuckDB file beside the job's database.

Built under a staging name in the same folder, checkpointed, closed, then renamed over
the previous one. An analyst who holds the old file open keeps reading the old state
(the rename does not touch an open file) and never blocks the job; a new connection
opens the new state, whole.

The staging file starts as a copy of the current snapshot and only the tables whose
content changed (row count and hash of every row) are copied again: a daily run
rewrites predictions and runs, not 390,000 matches.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from acebet.share.content import TABLES, VIEWS, select_list, view_definitions
from acebet.store import attach_job_database, scalar


def staging_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.staging")


def publish(db: Path, target: Path, *, lock_timeout: float = 0.0) -> dict[str, int]:
    """Copy the share out of the job's database `db` into `target`; rows per table."""
    staging = staging_path(target)
    _remove_abandoned(target)
    try:
        con = _open_staging(target, staging)
        try:
            counts = _fill(con, db, lock_timeout)
        finally:
            con.close()  # closing checkpoints: the file is whole, no WAL left
        _fsync(staging)
        os.replace(staging, target)
    except BaseException:
        _remove(staging)
        raise
    _fsync(target.parent)
    return counts


def _open_staging(target: Path, staging: Path) -> duckdb.DuckDBPyConnection:
    """The staging file: a copy of the current snapshot when there is a readable one."""
    if target.exists():
        shutil.copyfile(target, staging)
        try:
            con = duckdb.connect(str(staging))
        except duckdb.Error:  # not a DuckDB file (any more): start from nothing
            _remove(staging)
            con = duckdb.connect(str(staging))
    else:
        con = duckdb.connect(str(staging))
    con.execute("SET enable_progress_bar = false")  # never drawn on our output
    return con


def _fill(con: duckdb.DuckDBPyConnection, db: Path, lock_timeout: float) -> dict[str, int]:
    attach_job_database(con, db, lock_timeout)
    try:
        for view in VIEWS:  # recreated below, over the refreshed tables
            con.execute(f"DROP VIEW IF EXISTS {view}")
        present = {row[0] for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()}
        counts = {}
        for table in TABLES:  # names and column lists are content.py's constants
            cols = select_list(table)
            in_job = f"SELECT count(*), sum(hash(x)) FROM (SELECT {cols} FROM acebet_job.{table}) x"  # noqa: E501, S608
            in_share = f"SELECT count(*), sum(hash(x)) FROM {table} x"  # noqa: S608
            job = con.execute(in_job).fetchall()[0]
            if (table in present and con.execute(in_share).fetchall()[0] == job
                    and _shape(con.execute(f"DESCRIBE SELECT {cols} FROM acebet_job.{table}"))  # noqa: E501, S608
                    == _shape(con.execute(f"DESCRIBE {table}"))):
                counts[table] = int(job[0])  # unchanged since the last publish
                continue
            con.execute(f"CREATE OR REPLACE TABLE {table} AS "  # noqa: S608
                        f"SELECT {cols} FROM acebet_job.{table}")
            counts[table] = int(scalar(con, f"SELECT count(*) FROM {table}"))  # noqa: S608
        for view in view_definitions(con, "acebet_job").values():
            con.execute(view)  # unqualified names bind to the snapshot's own tables
    finally:
        con.execute("DETACH acebet_job")
    con.execute("CHECKPOINT")
    return counts


def _shape(described: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Column names and types from a DESCRIBE: an empty table that a migration gave a
    new column has the same count and hash as before, but not the same shape."""
    return [(row[0], row[1]) for row in described.fetchall()]


def _remove_abandoned(target: Path) -> None:
    """Staging files left by publishers that were killed (their PID is gone)."""
    for leftover in target.parent.glob(f".{target.name}.*.staging"):
        pid = leftover.name[len(target.name) + 2: -len(".staging")]
        if pid.isdigit() and not _alive(int(pid)):
            _remove(leftover)
    _remove(staging_path(target))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
