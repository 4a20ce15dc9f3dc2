"""Named pause points for fault-injection tests.

Tests set ACEBET_PAUSE_AT=<point> and ACEBET_PAUSE_FILE=<path>: when a run reaches that
point it creates the file and sleeps, so the test can SIGKILL it exactly there (for
example inside the scoring transaction). With ACEBET_RELEASE_FILE set, the pause ends as
soon as that file exists, so a test can hold a run at a point and then let it go on.
Without the variables this does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def checkpoint(point: str) -> None:
    if os.environ.get("ACEBET_PAUSE_AT") != point:
        return
    marker = os.environ.get("ACEBET_PAUSE_FILE")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    deadline = time.monotonic() + float(os.environ.get("ACEBET_PAUSE_SECONDS", "60"))
    release = os.environ.get("ACEBET_RELEASE_FILE")
    while time.monotonic() < deadline:
        if release and Path(release).exists():
            return
        time.sleep(0.02)
