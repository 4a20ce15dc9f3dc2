"""The fixture, scoring-run and backtest tables are queried only from `acebet.db`.

A migration that changes one of these tables then has one place to look; the checks read
the source, so they hold for code paths no other test happens to run.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "acebet"
# store.py opens the file and counts rows for `db status`; share/ copies every table for
# analysts by name: both work on all tables alike and stay outside the query layer.
OUTSIDE_THE_LAYER = ("store.py", "share")
TABLES = ("fixtures", "fixture_rejects", "fixture_loads", "score_runs", "predictions",
          "predictions_history", "latest_predictions", "run_history", "prediction_outcomes",
          "model_performance", "backtests", "backtest_predictions")
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
                      '    con.execute("SELECT * FROM matches")\n')
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
