"""Stopping the way schedulers do: SIGTERM (docker stop, Kubernetes) and SIGINT (Ctrl-C).

Each test holds a run at a named pause point (acebet.faults), so the signal arrives at
a known moment, then checks what a scheduler sees: the exit code, one line on stderr,
the run recorded as interrupted, and nothing partial in the database.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from acebet.cli import main
from tests.conftest import copy_db
from tests.jobdb import query
from tests.processes import acebet, pause_at, start, wait_for_pause

pytestmark = pytest.mark.reliability


@pytest.fixture(scope="module")
def ready(trained_synthetic_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """History, a model and six fixtures loaded; nothing scored."""
    path = copy_db(trained_synthetic_db, tmp_path_factory.mktemp("signals"), "ready.duckdb")
    runner = CliRunner()
    con = duckdb.connect(str(path))
    ids = [r[0] for r in con.execute("SELECT player_id FROM players ORDER BY 1 LIMIT 12")
           .fetchall()]
    last = con.execute("SELECT max(tourney_date) FROM matches").fetchall()[0][0]
    con.close()
    fixtures = path.parent / "fixtures.csv"
    rows = [f"{last},Test Open,Hard,A,R32,3,{ids[i]},{ids[i + 1]}" for i in range(0, 12, 2)]
    fixtures.write_text("tourney_date,tourney_name,surface,tourney_level,round,best_of,"
                        "p1_id,p2_id\n" + "\n".join(rows) + "\n")
    result = runner.invoke(main, ["--db", str(path), "fixtures", "load", str(fixtures)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def db(ready: Path, tmp_path: Path) -> Path:
    return copy_db(ready, tmp_path)


@pytest.mark.parametrize(("point", "sig", "log_format"), [
    ("score:computed", signal.SIGTERM, "text"),
    ("score:in-transaction", signal.SIGTERM, "text"),
    ("score:before-commit", signal.SIGTERM, "json"),
    ("score:in-transaction", signal.SIGINT, "text"),
])
def test_a_signal_during_score_rolls_back_records_the_run_and_exits_128_plus_signal(
    db: Path, tmp_path: Path, point: str, sig: signal.Signals, log_format: str
) -> None:
    marker = tmp_path / "paused"
    proc = acebet(db, "--log-format", log_format, "score", env=pause_at(point, marker))
    wait_for_pause(marker, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err
    if log_format == "json":  # one error event among the info events
        (event,) = [e for e in map(json.loads, lines) if e["level"] == "error"]
        assert event["signal"] == sig.name and event["exit_code"] == 128 + sig
    else:
        assert len(lines) == 1 and f"interrupted by {sig.name}" in lines[0], err
    assert query(db, "SELECT count(*) FROM predictions") == [(0,)]
    runs = query(db, "SELECT status, error, finished_at IS NOT NULL FROM score_runs")
    assert runs == [("interrupted", f"interrupted by {sig.name}", True)]
    again = CliRunner().invoke(main, ["--db", str(db), "score"])
    assert again.exit_code == 0 and "6 predictions written" in again.output


def sigterm_inside_ingest(db: Path, source: Path, marker: Path) -> str:
    """Ingest `source` into `db` and SIGTERM it inside its transaction, where it must exit
    143; returns what it wrote on stderr."""
    proc = acebet(db, "ingest", str(source), env=pause_at("ingest:in-transaction", marker))
    wait_for_pause(marker, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    return err


def test_sigterm_during_ingest_rolls_back_and_exits_143(
    synthetic_source: Path, tmp_path: Path
) -> None:
    db = tmp_path / "new.duckdb"
    err = sigterm_inside_ingest(db, synthetic_source, tmp_path / "paused")
    assert len(err.strip().splitlines()) == 1 and "interrupted by SIGTERM" in err
    # nothing was committed, so the first command leaves no database behind
    assert not db.exists() and not db.with_name(db.name + ".wal").exists()


def test_sigterm_during_a_later_ingest_keeps_what_was_committed(
    synthetic_source: Path, tmp_path: Path
) -> None:
    db = tmp_path / "kept.duckdb"
    first = CliRunner().invoke(main, ["--db", str(db), "ingest", str(synthetic_source),
                                      "--years", "2019", "--levels", "tour"])
    assert first.exit_code == 0, first.output
    before = query(db, "SELECT count(*) FROM matches")
    sigterm_inside_ingest(db, synthetic_source, tmp_path / "paused")
    assert query(db, "SELECT count(*) FROM matches") == before != [(0,)]


def _children(pid: int) -> list[int]:
    """Host PIDs of the processes whose parent is `pid` (from /proc/*/status)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                          if ":\t" in line)
        except OSError:  # the process ended meanwhile
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(fields["Pid"]))
    return found


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="a new PID namespace needs root (CI runs as root)")
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_sigterm_stops_score_running_as_pid_1_of_a_fresh_pid_namespace(
    db: Path, tmp_path: Path
) -> None:
    """As in a container without an init: the kernel drops any signal a PID 1 has no
    handler for, so without one the run would go on to its end and exit 0."""
    marker = tmp_path / "paused"
    proc = start(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m",
                  "acebet", "--db", str(db), "score"],
                 pause_at("score:in-transaction", marker, ACEBET_PAUSE_SECONDS="20"))
    wait_for_pause(marker, proc)
    assert marker.read_text() == "1"  # the job really is PID 1 in its namespace
    (job,) = _children(proc.pid)
    os.kill(job, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "interrupted by SIGTERM" in err
    assert query(db, "SELECT count(*) FROM predictions") == [(0,)]
    assert query(db, "SELECT status FROM score_runs") == [("interrupted",)]
