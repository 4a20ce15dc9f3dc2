"""Shared pieces of the reliability suite: a small prepared database and process helpers.

Run it alone with `uv run pytest -m reliability`. Figures (kills, rows checked, losses)
are appended to a JSON-lines file when ACEBET_RELIABILITY_LOG is set, for RELIABILITY.md.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from acebet.cli import main
from tests.processes import acebet  # noqa: F401 - the suite's files import it from here
from tests.synthetic import write_sackmann_folder


def cli(db: Path, *args: str):  # noqa: ANN201
    result = CliRunner().invoke(main, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result


def counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = ["matches", "players", "ingest_runs", "models", "fixtures", "predictions",
                  "score_runs", "predictions_history"]
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
    finally:
        con.close()


def record(test: str, **figures: object) -> None:
    path = os.environ.get("ACEBET_RELIABILITY_LOG")
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps({"test": test, **figures}) + "\n")


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A source folder, a database with 2019-2020 ingested and one with everything plus a
    model and 40 fixtures loaded (nothing scored)."""
    root = tmp_path_factory.mktemp("reliability")
    source = write_sackmann_folder(root / "atp", seasons=range(2019, 2023), n_players=64)
    partial = root / "partial.duckdb"
    cli(partial, "ingest", str(source), "--years", "2019-2020")
    ready = root / "ready.duckdb"
    cli(ready, "ingest", str(source))
    cli(ready, "train")
    con = duckdb.connect(str(ready), read_only=True)
    ids = [r[0] for r in con.execute("SELECT player_id FROM players ORDER BY 1").fetchall()]
    con.close()
    fixtures = root / "fixtures.csv"
    lines = ["tourney_date,tourney_name,surface,tourney_level,round,best_of,p1_id,p2_id"]
    for i in range(40):
        a, b = ids[i % len(ids)], ids[(i * 7 + 3) % len(ids)]
        if a == b:
            b = ids[(i + 1) % len(ids)]
        lines.append(f"2023-01-{9 + i % 20:02d},Reliability Open,Hard,A,R32,3,{a},{b}")
    fixtures.write_text("\n".join(lines) + "\n")
    cli(ready, "fixtures", "load", str(fixtures))
    return {"root": root, "source": source, "partial": partial, "ready": ready,
            "fixtures": fixtures}


def fresh_copy(src: Path, dst_dir: Path, name: str) -> Path:
    dst = dst_dir / name
    shutil.copy(src, dst)
    wal = Path(str(src) + ".wal")
    if wal.exists():
        shutil.copy(wal, Path(str(dst) + ".wal"))
    return dst
