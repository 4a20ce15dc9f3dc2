"""Broken state: a truncated file, an old schema, a tampered model, a full disk. Each
gives one clear message and a documented exit code, and loses nothing committed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from acebet import store
from tests.conftest import require
from tests.reliability.conftest import counts, fresh_copy, record

pytestmark = pytest.mark.reliability


def run(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "acebet", "--db", str(db), *args],
                          capture_output=True, text=True, timeout=300)


def one_line_error(proc: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_a_truncated_database_file(prepared: dict[str, Path], tmp_path: Path) -> None:
    db = fresh_copy(prepared["ready"], tmp_path, "t.duckdb")
    with open(db, "r+b") as handle:
        handle.truncate(db.stat().st_size // 3)
    one_line_error(run(db, "db", "status"), 1, str(db))
    one_line_error(run(db, "score"), 1, str(db))


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "notes.duckdb"
    db.write_text("these are my notes, not a database\n" * 100)
    one_line_error(run(db, "db", "status"), 1, str(db))
    assert db.read_text().startswith("these are my notes")  # left untouched


def test_a_database_from_an_older_schema_upgrades_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    first = store.migrations()[0]
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR "
                "NOT NULL, checksum VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL "
                "DEFAULT now())")
    con.execute(first.sql)
    con.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                [first.version, first.name, first.checksum])
    con.execute("INSERT INTO players (player_id, name) VALUES (1, 'Kept Player')")
    con.close()
    one_line_error(run(db, "db", "status"), 1, "older", "acebet db migrate")
    assert run(db, "db", "migrate").returncode == 0
    status = run(db, "db", "status")
    assert status.returncode == 0 and f"schema version: {store.migrations()[-1].version}" \
        in status.stdout
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT name FROM players").fetchall() == [("Kept Player",)]
    con.close()


def test_a_tampered_model_row_is_refused_and_the_run_recorded(
    prepared: dict[str, Path], tmp_path: Path
) -> None:
    db = fresh_copy(prepared["ready"], tmp_path, "m.duckdb")
    con = duckdb.connect(str(db))
    con.execute("UPDATE models SET model_text = replace(model_text, 'leaf_value=', "
                "'leaf_value=9')")
    con.close()
    one_line_error(run(db, "score"), 1, "corrupted")
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status FROM score_runs").fetchall() == [("failed",)]
    assert con.execute("SELECT count(*) FROM predictions").fetchall()[0][0] == 0
    con.close()


def test_a_model_for_other_features_is_refused(prepared: dict[str, Path], tmp_path: Path
                                               ) -> None:
    db = fresh_copy(prepared["ready"], tmp_path, "f.duckdb")
    con = duckdb.connect(str(db))
    con.execute("UPDATE models SET metadata = json_object('features', ['old_feature'])")
    # a consistent row (as an older AceBet would have stored it), not a tampered one
    con.execute("UPDATE models SET checksum = sha256(model_text || chr(10) || "
                "CAST(metadata AS VARCHAR))")
    con.close()
    one_line_error(run(db, "score"), 1, "different features", "acebet train")


@pytest.fixture
def small_disk(tmp_path: Path):  # noqa: ANN201
    require(os.geteuid() == 0, "a small tmpfs disk needs root to mount")
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2400k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    require(proc.returncode == 0, f"cannot mount a small tmpfs: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_loses_nothing_committed(prepared: dict[str, Path], small_disk: Path,
                                             tmp_path: Path) -> None:
    db = small_disk / "a.duckdb"
    source = prepared["source"]
    publish = ("--publish", str(tmp_path / "share.duckdb"))  # the share lives elsewhere
    first = run(db, *publish, "ingest", str(source), "--years", "2019", "--levels", "tour")
    assert first.returncode == 0, first.stderr
    before = counts(db)
    full = run(db, *publish, "ingest", str(source))
    one_line_error(full, 1, "database error", "No space left on device")
    assert counts(db) == before  # the committed season is intact
    moved = tmp_path / "moved.duckdb"  # more room: the same command now completes
    shutil.copy(db, moved)
    assert run(moved, *publish, "ingest", str(source)).returncode == 0
    assert counts(moved)["matches"] > before["matches"]
    record("full-disk", committed_rows_checked=sum(before.values()), losses=0)
