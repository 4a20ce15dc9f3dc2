"""The DuckLake share: a catalog in SQLite (one machine, many processes) or PostgreSQL
(many machines), data as Parquet files in a folder or object storage.

Each publish is one DuckLake transaction that appends what is new in the job's tables
and replaces what changed (rows are keyed per table in content.TABLES; a rescored
prediction replaces the one for its fixture and model version). Rows the job no longer
has stay in the lake: a job that lost its database (an evicted CI cache, a new volume)
and starts again adds to the lake and never empties it. Publishing the same state twice
changes nothing, and a reader sees the lake before a run or after it, never half of it.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import duckdb

from acebet.errors import InputError, StoreError, first_line
from acebet.share import extensions
from acebet.share.content import HIDDEN_COLUMNS, TABLES, select_list, view_definitions
from acebet.store import attach_job_database, quote_identifier, scalar, sql_literal

# Column types a migration adds (a plain name, or DECIMAL(p,s)); anything else is refused.
SIMPLE_TYPE = re.compile(r"^[A-Z][A-Z ]*(\(\d+(,\s*\d+)?\))?$")

REMOTE_PREFIXES = ("s3://", "s3a://", "gcs://", "gs://", "r2://", "https://", "http://")

# Object-storage settings read from the environment (the usual AWS names), passed to
# DuckDB as parameters. Credentials never appear in AceBet's own config or logs.
S3_SETTINGS = {
    "s3_access_key_id": "AWS_ACCESS_KEY_ID",
    "s3_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "s3_session_token": "AWS_SESSION_TOKEN",
    "s3_region": "AWS_REGION",
    "s3_endpoint": "AWS_ENDPOINT_URL_S3",
    "s3_url_style": "ACEBET_S3_URL_STYLE",
}


def _open(catalog: str, data: str | None, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the lake attached as `lake` and made the default."""
    kind = catalog.split(":", 1)[0]
    con = duckdb.connect(config=extensions.CONFIG)
    try:
        con.execute("SET enable_progress_bar = false")  # never drawn on our output
        extensions.load(con, "ducklake", "sqlite_scanner" if kind == "sqlite"
                        else "postgres_scanner")
        if data is not None and data.startswith(REMOTE_PREFIXES):
            _configure_object_storage(con)
        if read_only:
            literal = sql_literal("ducklake:" + catalog) + " AS lake (READ_ONLY)"
        else:  # two quoted literals and constants
            literal = (sql_literal("ducklake:" + catalog) + " AS lake (DATA_PATH "
                       + _data_path(data) + ")")
        con.execute(f"ATTACH {literal}")
        con.execute("USE lake")
    except duckdb.Error as exc:
        con.close()
        first = first_line(exc)
        raise StoreError(f"ducklake:{kind}: cannot attach the lake: {first}") from exc
    except BaseException:
        con.close()
        raise
    return con


def _data_path(data: str | None) -> str:
    """The DATA_PATH literal: a folder (created if missing) or an object-storage URL."""
    if not data:
        raise InputError("--publish-data: the lake needs a folder or URL for its files")
    if data.startswith(REMOTE_PREFIXES):
        return sql_literal(data.rstrip("/") + "/")
    folder = Path(data)
    if not folder.parent.is_dir():
        raise InputError(f"--publish-data {data}: folder {folder.parent} does not exist")
    folder.mkdir(exist_ok=True)
    return sql_literal(str(folder.resolve()) + "/")


def _configure_object_storage(con: duckdb.DuckDBPyConnection) -> None:
    extensions.load(con, "httpfs")
    for name, variable in S3_SETTINGS.items():
        value = os.environ.get(variable)
        if not value:
            continue
        if name == "s3_endpoint":  # the AWS variable is a URL, DuckDB wants host[:port]
            scheme, _, host = value.rpartition("://")
            value = host.rstrip("/")
            if scheme == "http":
                con.execute("SET s3_use_ssl = false")
        # setting names are this module's constants; values are parameters
        con.execute(f"SET {name} = ?", [value])


def connect_reader(catalog: str, data: str | None = None) -> duckdb.DuckDBPyConnection:
    """The lake attached read-only, its tables and views unqualified."""
    return _open(catalog, data, read_only=True)


def publish(db: Path, catalog: str, data: str | None, *, lock_timeout: float = 0.0
            ) -> dict[str, int]:
    """Bring the lake to the state of `db` in one transaction; rows per table after it."""
    con = _open(catalog, data, read_only=False)
    try:
        attach_job_database(con, db, lock_timeout)
        con.execute("BEGIN TRANSACTION")
        try:
            counts = {table: _sync_table(con, table, key) for table, key in TABLES.items()}
            _sync_views(con)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        return counts
    finally:
        con.close()


def _lake_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'").fetchall()}


def _sync_table(con: duckdb.DuckDBPyConnection, table: str, key: tuple[str, ...]) -> int:
    """Upsert by key: rows new or changed in the job replace the lake's; the count after."""
    cols = select_list(table)
    # table, column lists and key names are content.py's constants, never input
    if table not in _lake_tables(con):
        con.execute(f"CREATE TABLE lake.{table} AS SELECT {cols} FROM acebet_job.{table}")  # noqa: S608
        return int(scalar(con, f"SELECT count(*) FROM lake.{table}"))  # noqa: S608
    _check_columns(con, table)
    in_job = f"SELECT count(*), sum(hash(x)) FROM (SELECT {cols} FROM acebet_job.{table}) x"  # noqa: E501, S608
    in_lake = f"SELECT count(*), sum(hash(x)) FROM lake.{table} x"  # noqa: S608
    job = con.execute(in_job).fetchall()[0]
    if con.execute(in_lake).fetchall()[0] == job:
        return int(job[0])  # unchanged since the last publish: skip the row-by-row diff
    on = " AND ".join(f"changed.{c} IS NOT DISTINCT FROM t.{c}" for c in key)
    con.execute(
        f"DELETE FROM lake.{table} t WHERE EXISTS (SELECT 1 FROM ("  # noqa: S608
        f"SELECT {cols} FROM acebet_job.{table} EXCEPT SELECT * FROM lake.{table}"
        f") changed WHERE {on})")
    con.execute(
        f"INSERT INTO lake.{table} SELECT {cols} FROM acebet_job.{table} "  # noqa: S608
        f"EXCEPT SELECT * FROM lake.{table}")
    return int(scalar(con, f"SELECT count(*) FROM lake.{table}"))  # noqa: S608


def _check_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Bring a lake table made by an older AceBet to the job's shape.

    Migrations only ever add columns at the end of a table, and DuckLake adds a column
    without rewriting any file: older rows read NULL there until the publish's upsert
    replaces them. Any other difference (a column moved, dropped or retyped) cannot be
    right and is refused.
    """
    def columns(database: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
            "AND table_name = ? ORDER BY column_index", [database, table]).fetchall()]

    job = [c for c in columns("acebet_job") if c[0] not in HIDDEN_COLUMNS.get(table, ())]
    lake = columns("lake")
    if job[:len(lake)] != lake:
        at = next((i for i, (a, b) in enumerate(zip(lake, job, strict=False)) if a != b),
                  len(job))
        lake_has = " ".join(lake[at]) if at < len(lake) else "nothing"
        job_has = " ".join(job[at]) if at < len(job) else "nothing"
        raise StoreError(f"lake table {table}: column {at + 1} is {lake_has} in the lake but "
                         f"{job_has} in the job's database; publish to a new lake "
                         "(or drop the table in the lake)")
    for name, data_type in job[len(lake):]:
        if not SIMPLE_TYPE.match(data_type):
            raise StoreError(f"lake table {table}: cannot add column {name!r} of type "
                             f"{data_type}; publish to a new lake")
        # the table is content.py's constant; the name is quoted, the type checked above
        column = f"{quote_identifier(name)} {data_type}"
        con.execute(f"ALTER TABLE lake.{table} ADD COLUMN {column}")


def _sync_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create the analyst views in the lake, or replace one whose definition changed.

    DuckDB rewrites a view's text when it stores it, so each lake view carries the hash
    of the job's definition as its comment, and that is what is compared.
    """
    current = dict(con.execute(
        "SELECT view_name, comment FROM duckdb_views() WHERE database_name = 'lake'"
    ).fetchall())
    for view, sql in view_definitions(con, "acebet_job").items():
        tag = "acebet:" + hashlib.sha256(sql.encode()).hexdigest()
        if current.get(view) == tag:
            continue
        if view in current:
            con.execute(f"DROP VIEW lake.{view}")
        con.execute(sql)  # `USE lake`: the body binds to the lake's tables
        literal = sql_literal(tag)
        con.execute(f"COMMENT ON VIEW lake.{view} IS {literal}")
