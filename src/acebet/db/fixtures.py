"""Upcoming fixtures: `fixtures`, `fixture_rejects` and `fixture_loads`.

A fixture file loads in one transaction: the changed rows are upserted, the unusable ones
recorded with their reasons, and the load itself logged, so a re-load is idempotent and
an operator can see what each file did.
"""

from __future__ import annotations

import duckdb
import polars as pl

from acebet.store import register_frame, scalar, transaction

# The columns of `fixtures` a load writes; `loaded_at` and `updated_at` are the load's.
FIXTURE_COLUMNS = ("fixture_id", "tourney_date", "tourney_id", "tourney_name", "surface",
                   "tourney_level", "round", "best_of", "p1_id", "p2_id", "p1_name",
                   "p2_name", "p1_odds", "p2_odds", "details_hash", "source_file")

# Built once from the column constant above (no input reaches it). Which file a fixture
# came from is bookkeeping, not a change of the fixture.
_SAME_DETAILS = " AND ".join(f"f.{c} IS NOT DISTINCT FROM s.{c}" for c in FIXTURE_COLUMNS
                             if c != "source_file")
_STAGE_CHANGED = (
    "CREATE OR REPLACE TEMP TABLE _changed AS SELECT s.* FROM _staged_fixtures s "  # noqa: S608
    f"WHERE NOT EXISTS (SELECT 1 FROM fixtures f WHERE {_SAME_DETAILS})"
)
_UPSERT_CHANGED = (
    f"INSERT INTO fixtures ({', '.join(FIXTURE_COLUMNS)}, loaded_at, updated_at) "  # noqa: S608
    f"SELECT {', '.join(FIXTURE_COLUMNS)}, now(), now() FROM _changed "
    "ON CONFLICT (fixture_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in FIXTURE_COLUMNS if c != "fixture_id")
    + ", updated_at = now()"
)


def stored_for_other_players(
    con: duckdb.DuckDBPyConnection, incoming: pl.DataFrame
) -> list[tuple]:
    """Incoming fixtures whose id is stored for another pair of players: loading them
    would silently replace that match.

    `incoming` has fixture_id, p1_id, p2_id, p1_name, p2_name, _line and raw; each row
    returned is (fixture_id, _line, raw, p1_id, p1_name, p2_id, p2_name) of the incoming
    row followed by (p1_id, p1_name, p2_id, p2_name, source_file) of the stored one.
    """
    register_frame(con, "_incoming_ids", incoming.select(
        "fixture_id", "p1_id", "p2_id", "p1_name", "p2_name", "_line", "raw"))
    try:
        return con.execute(
            "SELECT i.fixture_id, i._line, i.raw, i.p1_id, i.p1_name, i.p2_id, i.p2_name, "
            "f.p1_id, f.p1_name, f.p2_id, f.p2_name, f.source_file "
            "FROM _incoming_ids i JOIN fixtures f USING (fixture_id) "
            "WHERE least(i.p1_id, i.p2_id) IS DISTINCT FROM least(f.p1_id, f.p2_id) "
            "OR greatest(i.p1_id, i.p2_id) IS DISTINCT FROM greatest(f.p1_id, f.p2_id)"
        ).fetchall()
    finally:
        con.unregister("_incoming_ids")


def save_load(
    con: duckdb.DuckDBPyConnection, *, load_id: str, source_file: str, rows_read: int,
    fixtures: pl.DataFrame, rejects: pl.DataFrame,
) -> tuple[int, int]:
    """Store one file's load in one transaction: upsert its fixtures (FIXTURE_COLUMNS),
    keep its rejects (row_number, reason, suggestions, raw) and log the load; returns
    (fixtures inserted, fixtures updated).

    A fixture equal to the stored one is left alone, so `updated_at` means a real change
    and a re-load changes nothing. The frames are registered outside the transaction so
    a failed one rolls back cleanly before they are dropped.
    """
    register_frame(con, "_staged_fixtures", fixtures)
    register_frame(con, "_staged_fixture_rejects", rejects)
    try:
        with transaction(con):
            changed, updated = _upsert_staged(con)
            _record_staged_rejects(con, load_id, source_file)
            _record_load(con, load_id=load_id, source_file=source_file, rows_read=rows_read,
                         inserted=changed - updated, updated=updated,
                         unchanged=fixtures.height - changed, rejected=rejects.height)
    finally:
        con.unregister("_staged_fixtures")
        con.unregister("_staged_fixture_rejects")
    return changed - updated, updated


def _upsert_staged(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(changed, of them updated) after upserting `_staged_fixtures`."""
    con.execute(_STAGE_CHANGED)
    changed = int(scalar(con, "SELECT count(*) FROM _changed"))
    updated = int(scalar(con, "SELECT count(*) FROM _changed JOIN fixtures USING (fixture_id)"))
    con.execute(_UPSERT_CHANGED)
    con.execute("DROP TABLE _changed")
    return changed, updated


def _record_staged_rejects(con: duckdb.DuckDBPyConnection, load_id: str,
                           source_file: str) -> None:
    """Keep the rows a load could not use, so an operator can fix the file."""
    con.execute(
        "INSERT INTO fixture_rejects (load_id, source_file, row_number, reason, "
        "suggestions, raw, rejected_at) SELECT ?, ?, row_number, reason, suggestions, "
        "raw, now() FROM _staged_fixture_rejects", [load_id, source_file],
    )


def _record_load(con: duckdb.DuckDBPyConnection, *, load_id: str, source_file: str,
                 rows_read: int, inserted: int, updated: int, unchanged: int,
                 rejected: int) -> None:
    """One row per loaded file in `fixture_loads`: what each load did, for operators."""
    con.execute(
        "INSERT INTO fixture_loads (load_id, loaded_at, source_file, rows_read, inserted, "
        "updated, unchanged, rejected) VALUES (?, now(), ?, ?, ?, ?, ?, ?)",
        [load_id, source_file, rows_read, inserted, updated, unchanged, rejected],
    )


def ids_from_file(con: duckdb.DuckDBPyConnection, source_file: str) -> list[str]:
    """The fixture ids last loaded from the file named `source_file`: the demo scores a
    replayed week by naming exactly its fixtures."""
    rows = con.execute("SELECT fixture_id FROM fixtures WHERE source_file = ?",
                       [source_file]).fetchall()
    return [r[0] for r in rows]
