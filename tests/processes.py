"""Running acebet in its own process, as a scheduler does, and holding it at a named pause
point (acebet.faults) so a test acts at a known moment: a signal, a kill, a second run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def start(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """`cmd` with its output piped as text, the environment plus `env`."""
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def acebet(db: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python -m acebet --db DB ARGS` started, not waited for."""
    return start([sys.executable, "-m", "acebet", "--db", str(db), *args], env)


def pause_at(point: str, marker: Path, **env: str) -> dict[str, str]:
    """The environment that holds a run at `point`, where it writes its PID to `marker`
    (more variables in `env`: ACEBET_RELEASE_FILE, ACEBET_PAUSE_SECONDS)."""
    return {"ACEBET_PAUSE_AT": point, "ACEBET_PAUSE_FILE": str(marker), **env}


def wait_for_pause(marker: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    """Until the run has written its PID to `marker` at its pause point; a run that ends
    first, or never gets there, fails the test."""
    deadline = time.monotonic() + seconds
    while not marker.exists() or not marker.read_text():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before its pause point: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the pause point was not reached in {seconds:.0f} s")
        time.sleep(0.02)  # the interval between looks at the file, which ends the wait
