"""The `feature_snapshots` table: the end-of-history features stored as named binary
parts under the fingerprint of the history they were built from (sql/003_snapshots.sql).
"""

from __future__ import annotations

import duckdb


def stored_parts(con: duckdb.DuckDBPyConnection, fingerprint: str) -> dict[str, bytes]:
    """The parts stored for `fingerprint`; empty when none is, which is how a stale
    snapshot is told apart (its fingerprint no longer matches the history)."""
    rows = con.execute("SELECT part, data FROM feature_snapshots WHERE fingerprint = ?",
                       [fingerprint]).fetchall()
    return {part: bytes(data) for part, data in rows}


def replace(con: duckdb.DuckDBPyConnection, fingerprint: str, parts: dict[str, bytes]) -> None:
    """Drop every stored snapshot and store `parts` under `fingerprint`: only the latest
    is ever useful. Call inside the caller's transaction, so a reader never sees half."""
    con.execute("DELETE FROM feature_snapshots")
    for part, data in parts.items():
        con.execute("INSERT INTO feature_snapshots (fingerprint, part, data, created_at) "
                    "VALUES (?, ?, ?, now())", [fingerprint, part, data])
