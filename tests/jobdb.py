"""The job's database as tests look into it, and the fixture files they load into it.

Reads open the file read-only and close it at once, so a test can look between two
commands without holding a lock the next command would meet.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

FIXTURE_HEADER = ["tourney_date", "tourney_name", "surface", "tourney_level", "round",
                  "best_of", "p1_id", "p2_id"]


def query(db: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def player_ids(db: Path) -> list[int]:
    """Every player id, in order."""
    return [r[0] for r in query(db, "SELECT player_id FROM players ORDER BY player_id")]


def fixtures_file(path: Path, pairs: list[tuple[int, int]], day: str = "2023-01-09") -> Path:
    """A fixtures CSV with one hard-court R32 match per pair of player ids, all on `day`."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIXTURE_HEADER)
        for a, b in pairs:
            writer.writerow([day, "Test Open", "Hard", "A", "R32", 3, a, b])
    return path
