"""The database layer: queries on the history, model and snapshot tables live in
`acebet.db` only, its column constants are the tables' columns, and its functions do what
their callers rely on (upserts count, one active model, snapshots replace each other)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from acebet import store
from acebet.db import feature_snapshots, history
from acebet.db import models as models_db

SRC = Path(__file__).resolve().parents[1] / "src" / "acebet"
# Tables whose every query is in acebet.db (history, models, feature_snapshots).
TABLES = ("players", "matches", "ingest_rejects", "ingest_runs", "models", "feature_snapshots")
SQL_ON_TABLE = re.compile(
    r"\b(?:FROM|JOIN|INTO|UPDATE)\s+(" + "|".join(TABLES) + r")\b")
# Open the file, migrate, transactions (store), and the analyst copies (share).
OWN_SQL = ("db/", "store.py", "share/")
# Queries on these tables still written in modules being moved to db/fixtures.py,
# db/runs.py and db/backtests.py at the same time; each is to call acebet.db.history
# (last_match_date, first_match_date, player_ids) or db.models.summaries instead.
PENDING = {("fixtures.py", "matches"), ("fixtures.py", "players"),
           ("scoring.py", "matches"), ("scoring.py", "players"),
           ("demo.py", "matches"), ("report.py", "models")}


def _sql_on_tables() -> dict[tuple[str, str], list[int]]:
    """(module, table) → lines of SQL naming the table, over every library module."""
    found: dict[tuple[str, str], list[int]] = {}
    for path in sorted(SRC.rglob("*.py")):
        module = path.relative_to(SRC).as_posix()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for table in SQL_ON_TABLE.findall(line):
                found.setdefault((module, table), []).append(number)
    return found


def test_queries_on_these_tables_are_only_in_the_db_layer() -> None:
    found = _sql_on_tables()
    outside = {key: lines for key, lines in found.items()
               if not key[0].startswith(OWN_SQL) and key not in PENDING}
    assert outside == {}
    # the pattern really finds queries: every table has its own in acebet.db
    in_db = {table for module, table in found if module.startswith("db/")}
    assert in_db == set(TABLES)


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str, ...]:
    rows = con.execute("SELECT column_name FROM information_schema.columns "
                       "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()
    return tuple(r[0] for r in rows)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = store.connect(tmp_path / "layer.duckdb")
    yield connection
    connection.close()


def test_column_constants_are_the_tables_columns(con: duckdb.DuckDBPyConnection) -> None:
    """The upserts and the history fingerprint name columns from these constants: a
    migration that adds a column to these tables must add it here too."""
    assert history.MATCH_COLUMNS == _table_columns(con, "matches")
    assert history.PLAYER_COLUMNS == _table_columns(con, "players")


def _players(*rows: tuple[int, str]) -> pl.DataFrame:
    schema = {c: history.PLAYER_SCHEMA.get(c, pl.String) for c in history.PLAYER_COLUMNS}
    return pl.DataFrame(
        [{"player_id": pid, "name": name, "source_file": "atp_players.csv"}
         for pid, name in rows], schema=schema)


def _matches(*rows: tuple[str, int, dt.date, int, int]) -> pl.DataFrame:
    schema = {c: history.MATCH_SCHEMA.get(c, pl.String) for c in history.MATCH_COLUMNS}
    return pl.DataFrame(
        [{"tourney_id": tid, "match_num": num, "tourney_date": day, "winner_id": w,
          "loser_id": loser, "score": "6-4 6-4", "source_file": "atp_matches_2020.csv"}
         for tid, num, day, w, loser in rows], schema=schema)


def test_upserts_count_new_and_changed_rows_and_skip_identical_ones(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert history.upsert_players(con, _players((1, "A B"), (2, "C D"))) == (2, 0)
    assert history.upsert_players(con, _players((1, "A B"), (2, "C E"), (3, "F G"))) == (1, 1)
    assert history.player_ids(con) == {1, 2, 3}
    day = dt.date(2020, 3, 2)
    assert history.upsert_matches(con, _matches(("2020-1", 1, day, 1, 2))) == (1, 0)
    assert history.upsert_matches(con, _matches(("2020-1", 1, day, 1, 2))) == (0, 0)
    assert history.upsert_matches(con, _matches(("2020-1", 1, day, 2, 1))) == (0, 1)
    assert con.execute("SELECT winner_id FROM matches").fetchall() == [(2,)]


def test_match_dates_bound_the_history(con: duckdb.DuckDBPyConnection) -> None:
    assert history.last_match_date(con) is None
    early, late = dt.date(2019, 1, 7), dt.date(2020, 3, 2)
    history.upsert_matches(con, _matches(("2019-1", 1, early, 1, 2), ("2020-1", 1, late, 2, 1)))
    assert history.first_match_date(con) == early
    assert history.last_match_date(con) == late
    assert history.last_match_date(con, dt.date(2019, 12, 31)) == early
    assert history.last_match_date(con, dt.date(2018, 12, 31)) is None


def _store_model(con: duckdb.DuckDBPyConnection, *, activate: bool) -> int:
    return models_db.insert(con, text="tree", sha256="s", metadata_json="{}", checksum="c",
                            train_from=None, train_to="2020-01-01", activate=activate)


def test_one_active_model_and_lookups_by_version(con: duckdb.DuckDBPyConnection) -> None:
    assert models_db.stored(con) is None
    assert _store_model(con, activate=True) == 1
    assert _store_model(con, activate=False) == 2
    assert models_db.stored(con).version == 1  # the inactive newer one is not used
    assert models_db.stored(con, 2).version == 2
    assert models_db.stored(con, 3) is None
    assert _store_model(con, activate=True) == 3
    models_db.set_active(con, 2)
    assert models_db.versions(con) == [1, 2, 3]
    assert models_db.summaries(con).filter(pl.col("is_active"))["model_version"].to_list() == [2]


def test_a_new_snapshot_replaces_the_stored_one(con: duckdb.DuckDBPyConnection) -> None:
    feature_snapshots.replace(con, "old", {"meta": b"1", "ratings": b"2"})
    feature_snapshots.replace(con, "new", {"meta": b"3"})
    assert feature_snapshots.stored_parts(con, "old") == {}
    assert feature_snapshots.stored_parts(con, "new") == {"meta": b"3"}
