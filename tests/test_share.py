"""The analyst share: analysts read a published snapshot, never the job's file, so an
open analyst connection never blocks the job; `acebet query` reads it; the write lock
is held only to write, and a busy database names the process holding it."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from acebet import share, store
from acebet.cli import main
from acebet.store import sql_dir
from tests.conftest import copy_db
from tests.jobdb import fixtures_file, player_ids
from tests.processes import acebet, pause_at, wait_for_pause


@pytest.fixture
def db(trained_synthetic_db: Path, tmp_path: Path) -> Path:
    return copy_db(trained_synthetic_db, tmp_path)


def cli(db: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(main, ["--db", str(db), *args])


ANALYST = textwrap.dedent("""
    import duckdb, sys
    con = duckdb.connect(sys.argv[1], read_only=True)
    def count():
        return con.execute("SELECT count(*) FROM latest_predictions").fetchall()[0][0]
    print(count(), flush=True)
    sys.stdin.readline()          # the job runs meanwhile
    print(count(), flush=True)    # the same connection: the state it opened
    con.close()
    fresh = duckdb.connect(sys.argv[1], read_only=True)
    print(fresh.execute("SELECT count(*) FROM latest_predictions").fetchall()[0][0], flush=True)
""")


def test_an_analyst_holding_the_snapshot_open_never_blocks_the_job(
    db: Path, tmp_path: Path, synthetic_source: Path
) -> None:
    ids = player_ids(db)
    first = fixtures_file(tmp_path / "first.csv", [(ids[0], ids[1]), (ids[2], ids[3])])
    assert cli(db, "fixtures", "load", str(first)).exit_code == 0
    assert cli(db, "score").exit_code == 0
    snapshot = tmp_path / "acebet.analytics.duckdb"
    assert snapshot.exists()

    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(snapshot)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert analyst.stdout.readline().strip() == "2"
        second = fixtures_file(tmp_path / "second.csv", [(ids[4], ids[5]), (ids[6], ids[7])])
        for args in (["fixtures", "load", str(second)], ["score"],
                     ["ingest", str(synthetic_source)], ["train"], ["score"]):
            result = cli(db, *args)
            assert result.exit_code == 0, (args, result.output)
        out, _ = analyst.communicate("\n", timeout=120)
    finally:
        analyst.kill()
    held, fresh = out.split()
    assert held == "2"    # one consistent state while the connection stays open
    assert fresh == "4"   # a new connection sees the newest run (the new model's)
    result = cli(db, "query", "--format", "csv",
                 "SELECT DISTINCT model_version FROM latest_predictions")
    assert result.exit_code == 0 and result.output.splitlines() == ["model_version", "2"]
    assert sorted(p.name for p in tmp_path.iterdir() if "staging" in p.name) == []


def test_the_snapshot_holds_the_analyst_views_and_tables_without_the_model_text(
    db: Path, tmp_path: Path
) -> None:
    ids = player_ids(db)
    cli(db, "fixtures", "load", str(fixtures_file(tmp_path / "f.csv", [(ids[0], ids[1])])))
    assert cli(db, "score").exit_code == 0
    job = duckdb.connect(str(db), read_only=True)
    snap = duckdb.connect(str(tmp_path / "acebet.analytics.duckdb"), read_only=True)
    try:
        for view in ("latest_predictions", "prediction_outcomes", "model_performance",
                     "run_history"):
            query = f"SELECT * FROM {view} ORDER BY ALL"
            assert snap.execute(query).fetchall() == job.execute(query).fetchall(), view
        for table in share.content.TABLES:
            query = f"SELECT count(*) FROM {table}"
            assert snap.execute(query).fetchall() == job.execute(query).fetchall(), table
        columns = {r[0] for r in snap.execute("DESCRIBE models").fetchall()}
        assert "model_text" not in columns and "metadata" in columns
        assert snap.execute("SELECT count(*) FROM latest_predictions").fetchall() == [(1,)]
        with pytest.raises(duckdb.Error, match="read-only"):
            snap.execute("DELETE FROM predictions")
    finally:
        job.close()
        snap.close()


def test_publish_none_writes_nothing_and_a_named_file_is_used(db: Path, tmp_path: Path) -> None:
    ids = player_ids(db)
    file = fixtures_file(tmp_path / "f.csv", [(ids[0], ids[1])])
    before = set(tmp_path.iterdir())
    assert cli(db, "--publish", "none", "fixtures", "load", str(file)).exit_code == 0
    assert set(tmp_path.iterdir()) == before
    named = tmp_path / "for-analysts.duckdb"
    assert cli(db, "--publish", str(named), "score").exit_code == 0
    assert named.exists() and not (tmp_path / "acebet.analytics.duckdb").exists()
    result = cli(db, "--publish", str(db), "publish")
    assert result.exit_code == 2 and "job's own database" in result.output


def test_the_example_queries_run_through_acebet_query(db: Path, tmp_path: Path) -> None:
    ids = player_ids(db)
    cli(db, "fixtures", "load",
        str(fixtures_file(tmp_path / "f.csv", [(ids[0], ids[1]), (ids[2], ids[3])])))
    assert cli(db, "score").exit_code == 0
    name = duckdb.connect(str(db), read_only=True).execute(
        "SELECT name FROM players WHERE player_id = ?", [ids[0]]).fetchall()[0][0]
    for query in sorted((sql_dir() / "queries").glob("*.sql")):
        result = cli(db, "query", "-f", str(query), "--var", f"player={name}")
        assert result.exit_code == 0, (query.name, result.output)
        assert "Error" not in result.output
    result = cli(db, "query", "--format", "json",
                 "SELECT fixture_id, p1_win_prob FROM latest_predictions ORDER BY fixture_id")
    rows = json.loads(result.output)
    assert len(rows) == 2 and all(0 < r["p1_win_prob"] < 1 for r in rows)
    result = cli(db, "query", "--format", "csv", "SELECT getvariable('x') AS x",
                 "--var", "x=O'Neil; DROP TABLE players")
    assert list(csv.reader(io.StringIO(result.output))) == [["x"], ["O'Neil; DROP TABLE players"]]


def test_query_is_read_only_and_its_errors_are_one_line(db: Path, tmp_path: Path) -> None:
    assert cli(db, "publish").exit_code == 0
    result = cli(db, "query", "DELETE FROM predictions")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "read-only" in result.output
    result = cli(db, "query", "SELECT 1", "--var", "bad name=1")
    assert result.exit_code == 2
    result = cli(db, "query")
    assert result.exit_code == 2 and "-f FILE" in result.output
    missing = tmp_path / "elsewhere.duckdb"
    result = cli(db, "--publish", str(missing), "query", "SELECT 1")
    assert result.exit_code == 1 and "acebet publish" in result.output


def test_a_busy_database_names_the_process_holding_the_lock(db: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('open', flush=True); sys.stdin.readline()", str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        busy = acebet(db, "db", "migrate")
        _, err = busy.communicate(timeout=60)
    finally:
        holder.communicate("\n", timeout=30)
    assert busy.returncode == 75, err
    assert f"PID {holder.pid}" in err and len(err.strip().splitlines()) == 1


def test_train_holds_no_lock_on_the_job_database_while_it_computes(db: Path, tmp_path: Path
                                                                     ) -> None:
    """Training computes for minutes on a copy of the history: meanwhile the scheduled
    jobs write to the database (a file held even read-only would keep them out)."""
    marker, release = tmp_path / "paused", tmp_path / "release"
    training = acebet(db, "--publish", "none", "train",
                      env=pause_at("train:computing", marker, ACEBET_RELEASE_FILE=str(release)))
    try:
        wait_for_pause(marker, training)
        ids = player_ids(db)
        loaded = cli(db, "--publish", "none", "fixtures", "load",
                     str(fixtures_file(tmp_path / "f.csv", [(ids[0], ids[1])])))
        scored = cli(db, "--publish", "none", "score")
        con = store.connect(db, read_only=True)
        models_before = store.table_counts(con)["models"]
        con.close()
    finally:
        release.touch()
    out, err = training.communicate(timeout=300)
    assert loaded.exit_code == 0, loaded.output
    assert scored.exit_code == 0 and "1 predictions" in scored.output, scored.output
    assert training.returncode == 0, err
    con = store.connect(db, read_only=True)
    assert store.table_counts(con)["models"] == models_before + 1
    con.close()


def test_a_staging_file_left_by_a_killed_publisher_is_removed(db: Path, tmp_path: Path) -> None:
    abandoned = tmp_path / ".acebet.analytics.duckdb.999999999.staging"
    abandoned.write_bytes(b"half a file")
    assert cli(db, "publish").exit_code == 0
    assert not abandoned.exists()
    assert duckdb.connect(str(tmp_path / "acebet.analytics.duckdb"), read_only=True).execute(
        "SELECT count(*) FROM models").fetchall() == [(1,)]


def test_an_unusable_publish_target_is_exit_2_before_any_work(
    synthetic_source: Path, tmp_path: Path
) -> None:
    db = tmp_path / "new.duckdb"
    for option in (["--publish", str(tmp_path / "missing" / "share.duckdb")],
                   ["--publish", f"ducklake:sqlite:{tmp_path / 'lake.sqlite'}",
                    "--publish-data", str(tmp_path / "missing" / "data")],
                   ["--publish", f"ducklake:sqlite:{tmp_path / 'missing' / 'lake.sqlite'}",
                    "--publish-data", str(tmp_path / "data")]):
        result = CliRunner().invoke(main, ["--db", str(db), *option, "ingest",
                                           str(synthetic_source)])
        assert result.exit_code == 2, result.output
        assert "does not exist" in result.stderr and len(result.stderr.splitlines()) == 1
        assert not db.exists()  # refused before ingesting anything


def test_commands_that_never_publish_ignore_the_publish_settings(db: Path, tmp_path: Path
                                                                 ) -> None:
    lake_without_data = {"ACEBET_PUBLISH": f"ducklake:sqlite:{tmp_path / 'lake.sqlite'}"}
    for args in (["db", "status"], ["runs", "list"], ["models", "list"],
                 ["report", "--out", str(tmp_path / "r")]):
        result = CliRunner().invoke(main, ["--db", str(db), *args], env=lake_without_data)
        assert result.exit_code == 0, (args, result.output)
    for args in (["score"], ["fixtures", "load", str(tmp_path / "f.csv")],
                 ["models", "activate", "1"]):
        publishing = CliRunner().invoke(main, ["--db", str(db), *args], env=lake_without_data)
        assert publishing.exit_code == 2 and "--publish-data" in publishing.stderr, args


def test_an_empty_table_that_gained_a_column_is_published_again(db: Path) -> None:
    """Count and hash of an empty table do not change when a migration adds a column;
    its shape does, and the snapshot must follow it (the views may need the column)."""
    assert cli(db, "publish").exit_code == 0
    con = duckdb.connect(str(db))
    assert con.execute("SELECT count(*) FROM predictions").fetchall() == [(0,)]
    con.execute("ALTER TABLE predictions ADD COLUMN added_later DOUBLE")
    con.close()
    assert cli(db, "publish").exit_code == 0
    snap = duckdb.connect(str(share.default_snapshot(db)), read_only=True)
    columns = [r[0] for r in snap.execute("DESCRIBE predictions").fetchall()]
    snap.close()
    assert "added_later" in columns


def test_a_hung_publisher_makes_the_next_publish_give_up_not_hang(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Publishes take turns, but a publisher that never ends must not stall every later
    job: after the wait, the job's work is stored and it exits 0 with a warning naming
    the holder."""
    import fcntl

    with open(db.with_name(f".{db.name}.publish-lock"), "a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        holder.write("worker-7:4242\n")
        holder.flush()
        with pytest.raises(share.DatabaseBusy, match=r"host:PID worker-7:4242.*publish lock"):
            share.publish(db, share.resolve(db, None, None), publish_wait=0.3)

        monkeypatch.setattr(share, "PUBLISH_WAIT_SECONDS", 0.3)
        before = store.connect(db, read_only=True)
        runs = store.scalar(before, "SELECT count(*) FROM score_runs")
        before.close()
        result = cli(db, "score")
        assert result.exit_code == 0, result.output
        assert "analyst share not refreshed" in result.output and "worker-7:4242" in result.output
    after = store.connect(db, read_only=True)
    assert store.scalar(after, "SELECT count(*) FROM score_runs") == runs + 1
    after.close()

    # the lock freed, the next publish brings the share up to date
    assert cli(db, "publish").exit_code == 0
    with duckdb.connect(str(share.resolve(db, None, None).path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM score_runs").fetchone()[0] == runs + 1


HOLD_THE_DATABASE = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
con.close()
"""


def test_train_waits_to_store_its_model_while_another_job_holds_the_database(
        db: Path, tmp_path: Path) -> None:
    """Minutes of fitting are not thrown away because a scoring run happens to hold the
    file at the moment the model is stored: train waits for it (even with
    --lock-timeout 0)."""
    con = store.connect(db, read_only=True)
    models_before = store.table_counts(con)["models"]
    con.close()
    marker, release = tmp_path / "paused", tmp_path / "release"
    training = acebet(db, "--publish", "none", "--log-format", "json", "train",
                      env=pause_at("train:computing", marker, ACEBET_RELEASE_FILE=str(release)))
    wait_for_pause(marker, training)  # computing on its copy: the file is free
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_DATABASE, str(db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        release.touch()
        for line in training.stderr:  # train's events, until it meets the held lock
            if "waiting for another process's lock" in line:
                break
        else:
            raise AssertionError("train never waited for the lock")
    finally:
        holder.communicate("\n", timeout=60)
        release.touch()
    training.wait(timeout=300)
    assert training.returncode == 0
    con = store.connect(db, read_only=True)
    assert store.table_counts(con)["models"] == models_before + 1
    con.close()
