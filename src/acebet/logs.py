"""Logging for people and for machines.

Text logs for a terminal; with `--log-format json`, one JSON object per event on stderr
so that cron mail, GitHub Actions and Kubernetes log collectors can parse runs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

# Attributes every LogRecord has; anything else passed through `extra=` is an event field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def fields_of(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **fields_of(record),
        }
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in fields_of(record).items())
        line = f"{record.levelname.lower()}: {record.getMessage()}"
        return f"{line} {extra}" if extra else line


def configure(log_format: str = "text", verbosity: int = 0) -> None:
    """Send the package's logs to stderr; warnings by default, info with -v, debug -vv."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logger = logging.getLogger("acebet")
    logger.handlers[:] = [handler]
    logger.propagate = False
    default = logging.INFO if log_format == "json" else logging.WARNING
    level = {0: default, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logger.setLevel(level)
    # Name picks are explained one line per pick: thousands in a backtest with odds, so
    # only when asked for with -v, even though JSON logs default to info.
    logging.getLogger("acebet.names").setLevel(
        logging.NOTSET if verbosity >= 1 else logging.WARNING)
