"""The DuckLake share, with its catalog in SQLite and in a real PostgreSQL server that
these tests start: the same tables and views as the job's database, each publish one
transaction that appends only what is new, readers on other processes never see half
a run. PostgreSQL is Debian's `postgresql` package (.ci/run installs it); in CI a
server that cannot start fails the tests instead of skipping them."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from acebet.cli import main
from acebet.share import content, lake
from tests.conftest import copy_db
from tests.jobdb import fixtures_file, player_ids


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def _as_server_user(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[tuple[Path, int]]:
    """A fresh cluster in a temporary folder on a private port, stopped at the end:
    (its binaries' folder, its port)."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        _unavailable("no PostgreSQL server binaries (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="acebet-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    data, port = root / "data", _free_port()
    try:
        subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
                                        "-U", "acebet", "--no-sync", "-E", "UTF8"]),
                       check=True, capture_output=True, text=True, timeout=120)
        subprocess.run(_as_server_user([
            str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
            "-t", "60", "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off", "start"]), check=True, capture_output=True, text=True, timeout=90)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        _unavailable(f"PostgreSQL did not start: {exc} {getattr(exc, 'stderr', '')} {log}")
    try:
        yield bin_dir, port
    finally:
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                                        "fast", "-w", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {why}", pytrace=False)
    pytest.skip(why)


_databases = iter(range(1_000_000))


@pytest.fixture(params=["sqlite", "postgres"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty lake catalog of each kind ("sqlite:PATH" or "postgres:DSN")."""
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'lake.sqlite'}"
    bin_dir, port = request.getfixturevalue("postgres_server")
    name = f"lake{next(_databases)}"
    subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                    "acebet", name], check=True, capture_output=True, timeout=60)
    return f"postgres:dbname={name} host=127.0.0.1 port={port} user=acebet"


# --- a scored job database -----------------------------------------------------------

@pytest.fixture
def db(trained_synthetic_db: Path, tmp_path: Path) -> Path:
    return copy_db(trained_synthetic_db, tmp_path)


def lake_cli(db: Path, catalog: str, data: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(main, ["--db", str(db), "--publish", f"ducklake:{catalog}",
                                     "--publish-data", str(data), *args])


def load_and_score(db: Path, catalog: str, data: Path, fixtures: Path) -> None:
    """Both through the job as it runs with the lake as its share."""
    result = lake_cli(db, catalog, data, "fixtures", "load", str(fixtures))
    assert result.exit_code == 0, result.output
    result = lake_cli(db, catalog, data, "score")
    assert result.exit_code == 0, result.output


def snapshots(catalog: str) -> int:
    con = lake.connect_reader(catalog)
    try:
        return con.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchall()[0][0]
    finally:
        con.close()


# --- tests ---------------------------------------------------------------------------

def test_the_lake_holds_the_share_and_the_same_state_twice_changes_nothing(
    db: Path, catalog: str, tmp_path: Path
) -> None:
    ids = player_ids(db)
    data = tmp_path / "lake-files"
    load_and_score(db, catalog, data,
                   fixtures_file(tmp_path / "f.csv", [(ids[0], ids[1]), (ids[2], ids[3])]))
    assert any(data.rglob("*.parquet")) or snapshots(catalog) > 1
    before = snapshots(catalog)
    assert lake_cli(db, catalog, data, "publish").exit_code == 0
    assert snapshots(catalog) == before  # nothing new: no new lake snapshot

    job = duckdb.connect(str(db), read_only=True)
    reader = lake.connect_reader(catalog)
    try:
        for view in content.VIEWS:
            query = f"SELECT * FROM {view} ORDER BY ALL"
            assert reader.execute(query).fetchall() == job.execute(query).fetchall(), view
        for table in content.TABLES:
            query = f"SELECT count(*) FROM {table}"
            assert reader.execute(query).fetchall() == job.execute(query).fetchall(), table
        columns = {r[0] for r in reader.execute("DESCRIBE models").fetchall()}
        assert "model_text" not in columns
        with pytest.raises(duckdb.Error):
            reader.execute("DELETE FROM predictions")
    finally:
        job.close()
        reader.close()
    result = lake_cli(db, catalog, data, "query", "--format", "csv",
                      "SELECT count(*) AS n FROM latest_predictions")
    assert result.exit_code == 0 and result.output.splitlines() == ["n", "2"]


def test_publishing_appends_what_is_new_and_replaces_what_changed(
    db: Path, catalog: str, tmp_path: Path
) -> None:
    ids = player_ids(db)
    data = tmp_path / "lake-files"
    load_and_score(db, catalog, data,
                   fixtures_file(tmp_path / "a.csv", [(ids[0], ids[1]), (ids[2], ids[3])]))
    load_and_score(db, catalog, data, fixtures_file(tmp_path / "b.csv", [(ids[4], ids[5])]))
    assert lake_cli(db, catalog, data, "score", "--rescore").exit_code == 0

    reader = lake.connect_reader(catalog)
    job = duckdb.connect(str(db), read_only=True)
    try:
        for table in ("predictions", "predictions_history", "score_runs", "fixtures"):
            query = f"SELECT * FROM {table} ORDER BY ALL"
            assert reader.execute(query).fetchall() == job.execute(query).fetchall(), table
        assert reader.execute("SELECT count(*), count(DISTINCT (fixture_id, model_version)) "
                              "FROM predictions").fetchall() == [(3, 3)]
        assert reader.execute("SELECT count(*) FROM predictions_history").fetchall() == [(3,)]
        # the rows of the first runs were appended once and never rewritten
        changes = reader.execute(
            "SELECT count(*) FROM ducklake_snapshots('lake') "
            "WHERE changes::VARCHAR LIKE '%tables_created%'").fetchall()
        assert changes == [(1,)]
    finally:
        reader.close()
        job.close()


def test_a_job_that_lost_its_database_adds_to_the_lake_and_removes_nothing(
    db: Path, trained_synthetic_db: Path, catalog: str, tmp_path: Path
) -> None:
    ids = player_ids(db)
    data = tmp_path / "lake-files"
    load_and_score(db, catalog, data,
                   fixtures_file(tmp_path / "a.csv", [(ids[0], ids[1]), (ids[2], ids[3])]))
    fresh = tmp_path / "fresh" / "acebet.duckdb"  # an evicted cache: the job starts again
    fresh.parent.mkdir()
    shutil.copy(trained_synthetic_db, fresh)
    load_and_score(fresh, catalog, data, fixtures_file(tmp_path / "b.csv", [(ids[4], ids[5])]))
    reader = lake.connect_reader(catalog)
    try:
        assert reader.execute("SELECT count(*) FROM score_runs").fetchall() == [(2,)]
        assert reader.execute("SELECT count(*) FROM latest_predictions").fetchall() == [(3,)]
    finally:
        reader.close()


def test_lake_errors_are_one_line(db: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--db", str(db), "--publish", "ducklake:mysql:x",
                                       "publish"])
    assert result.exit_code == 2 and "ducklake:sqlite:PATH" in result.output
    result = CliRunner().invoke(main, ["--db", str(db), "--publish",
                                       f"ducklake:sqlite:{tmp_path / 'l.sqlite'}", "publish"])
    assert result.exit_code == 2 and "--publish-data" in result.output
    result = CliRunner().invoke(main, ["--db", str(db), "--publish",
                                       f"ducklake:sqlite:{tmp_path / 'no' / 'l.sqlite'}",
                                       "--publish-data", str(tmp_path / "d"), "publish"])
    # a catalog folder that does not exist is refused before any work, like --publish-data
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "does not exist" in result.output


READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from acebet.share import lake
    catalog, stop = sys.argv[1], Path(sys.argv[2])
    con = lake.connect_reader(catalog)
    con.execute("SET enable_progress_bar = false")
    seen = 0
    while not stop.exists():
        runs = con.execute(
            "SELECT r.run_id, r.predictions_written, "
            "(SELECT count(*) FROM predictions p WHERE p.run_id = r.run_id), "
            "(SELECT count(*) - count(DISTINCT (fixture_id, model_version)) FROM predictions) "
            "FROM score_runs r WHERE r.status = 'succeeded'").fetchall()
        for run_id, written, found, duplicated in runs:
            if written != found or duplicated:
                print(json.dumps({"run": run_id, "written": written, "found": found,
                                  "duplicated": duplicated}), flush=True)
        seen = max(seen, len(runs))
        time.sleep(0.05)  # pacing only: nothing waits on it
    con.close()
    print(json.dumps({"seen": seen}), flush=True)
""")


@pytest.mark.slow
def test_readers_see_only_whole_runs_while_twenty_runs_publish(
    db: Path, catalog: str, tmp_path: Path
) -> None:
    ids = player_ids(db)
    data = tmp_path / "lake-files"
    assert lake_cli(db, catalog, data, "publish").exit_code == 0  # the readers' lake exists
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER, catalog, str(stop)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    try:
        for run in range(20):
            pairs = [(ids[(3 * run + k) % len(ids)], ids[(3 * run + k + 7) % len(ids)])
                     for k in range(1 + run % 3)]
            day = f"2023-{1 + run // 10:02d}-{1 + run % 10 * 2:02d}"
            file = fixtures_file(tmp_path / f"run{run}.csv", pairs, day)
            assert CliRunner().invoke(main, ["--db", str(db), "--publish", "none", "fixtures",
                                             "load", str(file)]).exit_code == 0
            result = lake_cli(db, catalog, data, "score")
            assert result.exit_code == 0, result.output
    finally:
        stop.touch()
        outputs = [r.communicate(timeout=120) for r in readers]
    for reader, (out, err) in zip(readers, outputs, strict=True):
        assert reader.returncode == 0, err[-3000:]
        lines = [json.loads(line) for line in out.splitlines()]
        assert lines[-1].keys() == {"seen"} and lines[:-1] == []  # no partial or double run
        assert lines[-1]["seen"] >= 1
    con = lake.connect_reader(catalog)
    try:
        assert con.execute("SELECT count(*) FROM score_runs").fetchall() == [(20,)]
        assert con.execute("SELECT sum(predictions_written) = (SELECT count(*) FROM "
                           "predictions) FROM score_runs").fetchall() == [(True,)]
    finally:
        con.close()


def test_a_lake_made_before_a_migration_gains_its_new_columns(
        db: Path, catalog: str, tmp_path: Path) -> None:
    """A migration adds a column at the end of a table: the next publish adds it to the
    lake too (older rows are replaced with the job's values), instead of stopping."""
    data = tmp_path / "data"
    ids = player_ids(db)
    lake_cli(db, catalog, data, "fixtures", "load",
             str(fixtures_file(tmp_path / "f.csv", [(ids[0], ids[1]), (ids[2], ids[3])])))
    assert lake_cli(db, catalog, data, "score").exit_code == 0
    with duckdb.connect(str(db)) as con:  # what a future migration does
        con.execute("ALTER TABLE predictions ADD COLUMN explanation VARCHAR")
        con.execute("ALTER TABLE score_runs ADD COLUMN host DECIMAL(9, 2)")
        con.execute("UPDATE predictions SET explanation = 'elo ' || fixture_id")
        con.execute("UPDATE score_runs SET host = 1.5")
        expected = con.execute("SELECT fixture_id, model_version, explanation FROM predictions "
                               "ORDER BY ALL").fetchall()
    result = lake_cli(db, catalog, data, "publish")
    assert result.exit_code == 0, result.output
    reader = lake.connect_reader(catalog)
    try:
        assert reader.execute("SELECT fixture_id, model_version, explanation FROM predictions "
                              "ORDER BY ALL").fetchall() == expected
        assert expected and all(row[2] for row in expected)
        assert reader.execute("SELECT DISTINCT host FROM score_runs").fetchall() == [(1.5,)]
    finally:
        reader.close()

    with duckdb.connect(str(db)) as con:  # a column dropped: refused in one line
        con.execute("ALTER TABLE predictions DROP COLUMN explanation")
        con.execute("ALTER TABLE predictions ADD COLUMN explanation INTEGER")
    result = lake_cli(db, catalog, data, "publish")
    assert result.exit_code != 0 and "publish to a new lake" in result.output
    assert "explanation VARCHAR in the lake but explanation INTEGER" in result.output
    assert len(result.output.strip().splitlines()) == 1
