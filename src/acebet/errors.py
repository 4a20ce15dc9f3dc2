"""Errors a user can cause, each with the exit code the CLI returns for it.

The CLI prints these as one line (no traceback); anything else is a bug and exits 1.
"""

from __future__ import annotations


class AceBetError(Exception):
    """Base class: a failure the user can act on, reported in one line."""

    exit_code = 1


class InputError(AceBetError):
    """Bad input: a missing file or column, an unusable value, a bad option."""

    exit_code = 2


class NoModelError(AceBetError):
    """Scoring was asked for but no model is stored (or the one asked for is missing)."""

    exit_code = 3


class DatabaseBusy(AceBetError):
    """Another process holds the database; EX_TEMPFAIL so schedulers retry later."""

    exit_code = 75


class NetworkError(AceBetError):
    """A download failed because the network or the host cannot be reached."""

    exit_code = 1


class StoreError(AceBetError):
    """The database file is unreadable, corrupted or from a newer AceBet."""

    exit_code = 1


class StaleHistoryError(AceBetError):
    """The history ends too long before the fixtures: the weekly ingest has likely broken.

    Its own exit code so a scheduler can alert on it; retrying will not help until the
    history is ingested again.
    """

    exit_code = 4


class Interrupted(BaseException):  # noqa: N818 - named like KeyboardInterrupt, its sibling
    """SIGTERM or SIGINT arrived: the command stops, rolls back and exits 128 + signal.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way
    swallows it and every transaction on the way rolls back.
    """

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {self.signal_name}")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type): what one-line errors show.

    Database and parsing libraries put context and hints on later lines; a user sees the
    one that says what went wrong.
    """
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
