"""Eight processes at once against one file: scores and ingests racing, readers watching.

Every process exits 0 or 75, the file is never corrupted, every fixture ends with
exactly one prediction per model, and a reader never sees half a run.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from tests.reliability.conftest import acebet, counts, fresh_copy, record

pytestmark = pytest.mark.reliability


def test_eight_writers_and_readers_at_once(prepared: dict[str, Path], tmp_path: Path) -> None:
    db = fresh_copy(prepared["ready"], tmp_path, "busy.duckdb")
    n_fixtures = counts(db)["fixtures"]
    seen: list[tuple[int, int]] = []
    stop = threading.Event()

    def reader() -> None:
        """An analyst polling with read-only connections during the runs."""
        while not stop.is_set():
            try:
                con = duckdb.connect(str(db), read_only=True)
            except duckdb.Error:
                time.sleep(0.05)  # a writer holds the file: try again
                continue
            try:
                predictions, written = con.execute(
                    "SELECT (SELECT count(*) FROM predictions), (SELECT coalesce(sum("
                    "predictions_written), 0) FROM score_runs WHERE status = 'succeeded')"
                ).fetchall()[0]
                seen.append((predictions, written))
            finally:
                con.close()
            time.sleep(0.02)

    watcher = threading.Thread(target=reader)
    watcher.start()
    procs = []
    for i in range(8):
        args = ["score"] if i % 2 == 0 else ["ingest", str(prepared["source"])]
        procs.append((args[0], acebet(db, "--lock-timeout", "120", *args)))
    results = [(kind, proc.wait(timeout=600), proc.stderr.read()) for kind, proc in procs]
    stop.set()
    watcher.join()
    for kind, code, err in results:
        assert code in (0, 75), f"{kind} exited {code}: {err[-1000:]}"
        assert "Traceback" not in err
    con = duckdb.connect(str(db), read_only=True)
    dupes = con.execute("SELECT count(*) FROM (SELECT fixture_id, model_version FROM "
                        "predictions GROUP BY ALL HAVING count(*) > 1)").fetchall()[0][0]
    total = con.execute("SELECT count(*) FROM predictions").fetchall()[0][0]
    written = con.execute("SELECT coalesce(sum(predictions_written), 0) FROM score_runs "
                          "WHERE status = 'succeeded'").fetchall()[0][0]
    con.close()
    assert dupes == 0 and total == n_fixtures
    assert written == total  # the runs' own records account for every stored prediction
    # every snapshot a reader saw was a whole number of complete runs
    assert all(p == w for p, w in seen), [x for x in seen if x[0] != x[1]][:5]
    assert all(p in (0, n_fixtures) for p, _ in seen)
    record("concurrency", processes=len(procs),
           exit_codes={str(c): sum(1 for _, code, _ in results if code == c) for c in (0, 75)},
           reader_snapshots=len(seen), predictions=total, duplicates=dupes, losses=0)


def test_busy_database_is_exit_75_without_waiting(prepared: dict[str, Path], tmp_path: Path
                                                  ) -> None:
    db = fresh_copy(prepared["ready"], tmp_path, "held.duckdb")
    holder = duckdb.connect(str(db))  # another process-level writer holds the lock
    try:
        proc = acebet(db, "score")
        out, err = proc.communicate(timeout=120)
    finally:
        holder.close()
    assert proc.returncode == 75 and "another process holds the database" in err
