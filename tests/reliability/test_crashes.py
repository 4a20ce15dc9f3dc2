"""SIGKILL at random points of ingest, train and score: the database always opens, holds
either the state before the run or after a complete one, and the next run completes."""

from __future__ import annotations

import os
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from acebet import store
from tests.reliability.conftest import acebet, counts, fresh_copy, record

pytestmark = pytest.mark.reliability

# 90 + 25 + 90 = 205 kill points; train is slow to reach, so it gets fewer.
KILLS = {"ingest": 90, "train": 25, "score": 90}
SCALE = float(os.environ.get("ACEBET_KILL_SCALE", "1"))  # <1 for a quick local run
SEED = 20261126


def _command(kind: str, prepared: dict[str, Path]) -> tuple[Path, list[str]]:
    if kind == "ingest":
        return prepared["partial"], ["ingest", str(prepared["source"])]
    if kind == "train":
        return prepared["ready"], ["train"]
    return prepared["ready"], ["score"]


def _run_to_end(db: Path, args: list[str]) -> None:
    proc = acebet(db, *args)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err


@pytest.mark.parametrize("kind", ["ingest", "train", "score"])
def test_sigkill_at_random_points(kind: str, prepared: dict[str, Path], tmp_path: Path) -> None:
    base, args = _command(kind, prepared)
    before = counts(base)
    done_db = fresh_copy(base, tmp_path, "complete.duckdb")
    start = time.monotonic()
    _run_to_end(done_db, args)
    duration = time.monotonic() - start
    after = counts(done_db)
    assert after != before
    # what may legitimately differ between "before" and "after"
    rng = random.Random(f"{SEED}-{kind}")
    kills = max(2, int(KILLS[kind] * SCALE))
    # two kills run at once, so a run takes about twice its solo time: cover all of it
    delays = sorted(rng.uniform(0.2, duration * 2.2) for _ in range(kills))

    def one(i: int) -> tuple[str, int]:
        db = fresh_copy(base, tmp_path, f"kill-{i}.duckdb")
        proc = acebet(db, *args)
        time.sleep(delays[i])
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        con = store.connect(db)  # opens (and recovers its WAL) cleanly
        con.close()
        now = counts(db)
        assert now in (before, after), f"kill {i} at {delays[i]:.2f}s left {now}"
        state = "after" if now == after and now != before else "before"
        if i % 7 == 0:  # the next run completes and reaches the complete state
            _run_to_end(db, args)
            assert _comparable(counts(db), after, kind)
        db.unlink()
        return ("finished" if finished else state), sum(now.values())

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, range(kills)))
    states = [s for s, _ in results]
    record(f"crash-{kind}", kills=len(results), killed_before_commit=states.count("before"),
           killed_after_commit=states.count("after"), finished_before_kill=states.count(
               "finished"), rows_checked=sum(n for _, n in results), losses=0,
           seconds_per_run=round(duration, 2))


def _comparable(got: dict[str, int], after: dict[str, int], kind: str) -> bool:
    """A re-run after a kill that had already committed adds its own run record."""
    if kind == "ingest":
        return {k: v for k, v in got.items() if k != "ingest_runs"} == \
            {k: v for k, v in after.items() if k != "ingest_runs"}
    if kind == "train":
        return got["models"] >= after["models"] and got["matches"] == after["matches"]
    return got["predictions"] == after["predictions"] and \
        {k: v for k, v in got.items() if k != "score_runs"} == \
        {k: v for k, v in after.items() if k != "score_runs"}
