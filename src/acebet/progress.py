"""Progress of long steps: a bar on a terminal, JSON events for log collectors, or nothing.

Training on the full history, a backtest and a first ingest take minutes; a silent
terminal for that long looks like a hang. One helper serves every long step so that the
three output modes (`bar`, `json`, `quiet`) are chosen once, by the CLI's global options,
and library code only says what it is doing.

A task started while another is running (a backtest refits a model every period) stays
silent: nested bars would garble the terminal, and the outer task already shows motion.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import click

Mode = Literal["bar", "json", "quiet"]

log = logging.getLogger("acebet.progress")

# JSON events for one task are spaced at least this far apart (first and last always go).
JSON_INTERVAL_SECONDS = 1.0

_mode: Mode = "bar"
_depth = 0


def configure(mode: Mode) -> None:
    """Choose how progress is shown for the rest of the process (the CLI calls this once)."""
    global _mode
    if mode not in ("bar", "json", "quiet"):
        raise ValueError(f"unknown progress mode {mode!r}")
    _mode = mode


def mode_for(log_format: str, quiet: bool) -> Mode:
    """The mode the global options ask for: --quiet wins, then --log-format json."""
    if quiet:
        return "quiet"
    return "json" if log_format == "json" else "bar"


def _on_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _active(enabled: bool | None) -> Mode:
    """The mode in force for a new task; `enabled=False` lets a caller switch one off."""
    if enabled is False or _depth > 0 or _mode == "quiet":
        return "quiet"
    if _mode == "bar" and not (enabled or _on_terminal()):
        return "quiet"  # text mode off a terminal: keep redirected output clean
    return _mode


class Task:
    """A running step: `advance` or `update_to` as work gets done; iterate it if given items."""

    def __init__(self, label: str, total: int | None, items: Iterable[Any] | None,
                 mode: Mode) -> None:
        self.label, self.total, self.done = label, total, 0
        self._items, self._mode = items, mode
        self._bar: Any = None
        self._last_event = 0.0

    def __iter__(self) -> Iterator[Any]:
        for item in self._items if self._items is not None else ():
            yield item
            self.advance()

    def advance(self, n: int = 1, **fields: object) -> None:
        self.update_to(self.done + n, **fields)

    def update_to(self, done: int, **fields: object) -> None:
        step, self.done = done - self.done, done
        if self._mode == "bar" and self._bar is not None:
            self._bar.update(step)
        elif self._mode == "json":
            finished = self.total is not None and done >= self.total
            if finished or time.monotonic() - self._last_event >= JSON_INTERVAL_SECONDS:
                self._event(**fields)

    def _event(self, **fields: object) -> None:
        self._last_event = time.monotonic()
        log.info("progress", extra={"task": self.label, "done": self.done,
                                    "total": self.total, **fields})


@contextmanager
def task(label: str, items: Iterable[Any] | None = None, *, total: int | None = None,
         enabled: bool | None = None) -> Iterator[Task]:
    """Show progress of one step; `total` defaults to the number of `items` if known."""
    global _depth
    if total is None and items is not None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    mode = _active(enabled)
    current = Task(label, total, items, mode)
    _depth += 1
    try:
        if mode == "bar":
            # click needs an iterable when the length is unknown; an empty one shows a count.
            with click.progressbar(iterable=None if total is not None else (x for x in ()),
                                   length=total, label=label, file=sys.stderr,
                                   show_pos=True, show_eta=total is not None) as bar:
                current._bar = bar
                yield current
        else:
            if mode == "json":
                current._event(state="started")
            yield current
            if mode == "json":
                current._event(state="finished")
    finally:
        _depth -= 1


def step(message: str, *, enabled: bool | None = None, **fields: object) -> None:
    """Announce a phase of a long command: a line on a terminal, or a JSON event."""
    mode = _active(enabled)
    if mode == "bar":
        click.echo(message, err=True)
    elif mode == "json":
        log.info("step", extra={"step": message, **fields})


def note(message: str) -> None:
    """A line a command always tells its user on stderr (a JSON event with json logs),
    unlike `step`, even off a terminal; silent only with --quiet."""
    if _mode == "bar":
        click.echo(message, err=True)
    elif _mode == "json":
        log.info("step", extra={"step": message})


def per_iteration(current: Task) -> Callable[[Any], None]:
    """A LightGBM callback that advances `current` by one tree per boosting round."""

    def callback(env: Any) -> None:
        current.update_to(env.iteration - env.begin_iteration + 1)

    return callback
