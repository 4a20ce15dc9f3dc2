"""The database layer: every query on AceBet's tables lives in `acebet.db` and is written
there once, its column constants are the tables' columns, and its functions do what their
callers rely on (upserts count, one active model, snapshots replace each other).

A migration that changes a table then has one place to look; the source checks hold for
code paths no other test happens to run."""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest

from acebet import store
from acebet.db import feature_snapshots, history
from acebet.db import models as models_db

SRC = Path(__file__).resolve().parents[1] / "src" / "acebet"
# store.py opens the file and counts rows for `db status`; share/ copies every table for
# analysts by name: both work on all tables alike and stay outside the query layer.
OUTSIDE_THE_LAYER = ("store.py", "share")
# Every table and view AceBet queries, by group: history, models, feature snapshots,
# fixtures, scoring runs and backtests.
TABLES = ("players", "matches", "ingest_rejects", "ingest_runs", "models", "feature_snapshots",
          "fixtures", "fixture_rejects", "fixture_loads", "score_runs", "predictions",
          "predictions_history", "latest_predictions", "run_history", "prediction_outcomes",
          "model_performance", "backtests", "backtest_predictions", "match_odds")
SQL_ON_TABLES = re.compile(
    r"\b(FROM|JOIN|INTO|UPDATE|TABLE)\s+(" + "|".join(TABLES) + r")\b", re.IGNORECASE)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes: command help may show SQL to type, which AceBet
    itself never runs."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def sql_strings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string in the module that reads or writes one of TABLES.

    Adjacent literals are one string to Python already; an f-string is read with its
    spliced parts left out.
    """
    tree = ast.parse(path.read_text())
    skip = _docstrings(tree) | {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)
                                for v in n.values}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values
                           if isinstance(v, ast.Constant) and isinstance(v.value, str))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in skip:
            text = node.value
        else:
            continue
        if SQL_ON_TABLES.search(text):
            out.append((node.lineno, " ".join(text.split())))
    return out


def library_modules() -> list[Path]:
    return [p for p in sorted(SRC.rglob("*.py"))
            if p.relative_to(SRC).parts[0] not in ("db", *OUTSIDE_THE_LAYER)]


def test_the_scanner_finds_sql_on_these_tables(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""SELECT * FROM predictions in a docstring is prose."""\n'
                      'def f(con, cols):\n'
                      '    con.execute("SELECT run_id "\n'
                      '                "FROM score_runs")\n'
                      '    con.execute(f"INSERT INTO backtests ({cols}) VALUES (1)")\n'
                      '    con.execute("SELECT * FROM schema_migrations")\n')
    found = sql_strings(module)
    assert [line for line, _ in found] == [3, 5]


def test_no_library_module_outside_the_db_layer_queries_these_tables() -> None:
    modules = library_modules()
    assert len(modules) > 15  # the walk really sees the package
    offenders = [f"{p.relative_to(SRC)}:{line}: {text[:60]}"
                 for p in modules for line, text in sql_strings(p)]
    assert offenders == []


def test_the_db_layer_writes_each_query_on_these_tables_once() -> None:
    texts = [text for p in sorted((SRC / "db").glob("*.py")) for _, text in sql_strings(p)]
    assert len(texts) > 15
    assert [t for t, n in Counter(texts).items() if n > 1] == []
    # the scanner really finds queries: every table has its own in acebet.db
    found = " ".join(texts)
    assert [t for t in TABLES if not re.search(rf"\b{t}\b", found)] == []


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


def test_a_parameterized_query_frame_is_the_query_s_whole_result_in_order(
        con: duckdb.DuckDBPyConnection) -> None:
    """query_frame reads a parameterized result through a second query (much faster in
    DuckDB); that must change nothing: every row, in the query's order, with its types."""
    con.execute("CREATE TEMP TABLE t AS SELECT range AS i, 'x' || range AS s, "
                "DATE '2020-01-01' + range::INTEGER AS d FROM range(5000)")
    sql = "SELECT i, s, d FROM t WHERE i % ? = 0 ORDER BY i DESC"
    got = store.query_frame(con, sql, [3])
    expected = store.query_frame(con, sql.replace("?", "3"))
    assert got.height == 1667
    assert got["i"][0] == 4998
    assert got.equals(expected)
    assert got.schema == expected.schema
    assert store.query_frame(con, "SELECT * FROM t WHERE s = ?", ["none"]).height == 0
