"""Stopping cleanly on SIGTERM and SIGINT, the way schedulers and people stop a job.

Kubernetes, Docker, systemd and cron wrappers send SIGTERM and wait a grace period
before SIGKILL; a person presses Ctrl-C. On either signal the running command raises
`Interrupted` where it stands: transactions roll back, `score` records the run as
interrupted, and the CLI exits 143 (SIGTERM) or 130 (SIGINT).

An installed handler also matters when `acebet` is PID 1 of a container: the kernel
drops signals a PID 1 has no handler for, so without one `docker stop` waits for the
whole grace period and then kills.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

from acebet.errors import Interrupted

SIGNALS = (signal.SIGTERM, signal.SIGINT)

_received: int | None = None


def _handle(signum: int, frame: FrameType | None) -> None:
    global _received
    if _received is not None:  # a second signal while stopping: stop now
        os._exit(128 + signum)
    _received = signum
    raise Interrupted(signum)


def received() -> int | None:
    """The signal that interrupted this command, if one did.

    A library that catches the exception raised by the handler (DuckDB turns it into
    its own interrupt error) would hide it; this says what really happened.
    """
    return _received


def install() -> Callable[[], None]:
    """Handle SIGTERM and SIGINT from now on; returns a function that undoes it."""
    global _received
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # Python delivers signals to the main thread only
    _received = None
    previous = {sig: signal.signal(sig, _handle) for sig in SIGNALS}

    def restore() -> None:
        global _received
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _received = None

    return restore
