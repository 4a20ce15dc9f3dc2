"""Exports for analysts: the prediction views to Parquet or CSV, filtered by date and model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from acebet.errors import InputError
from acebet.store import query_frame

# What can be exported: the view behind each name (constants, never user input).
SOURCES = {"predictions": "latest_predictions", "outcomes": "prediction_outcomes",
           "all-predictions": "predictions"}


def export(
    con: duckdb.DuckDBPyConnection, what: str, out: Path, *, fmt: str | None = None,
    date_from: dt.date | None = None, date_to: dt.date | None = None,
    model_version: int | None = None,
) -> int:
    """Write the rows of `what` to `out`; returns the number of rows written."""
    if what not in SOURCES:
        raise InputError(f"cannot export {what!r}: choose from {', '.join(SOURCES)}")
    fmt = fmt or ("csv" if out.suffix.lower() == ".csv" else "parquet")
    if fmt not in ("parquet", "csv"):
        raise InputError(f"--format {fmt!r}: choose parquet or csv")
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: folder {out.parent} does not exist")
    view = SOURCES[what]
    frame = query_frame(
        con,
        f"SELECT * FROM {view} WHERE (? IS NULL OR tourney_date >= ?) "  # noqa: S608
        "AND (? IS NULL OR tourney_date <= ?) AND (? IS NULL OR model_version = ?) "
        "ORDER BY tourney_date, fixture_id, model_version",
        [date_from, date_from, date_to, date_to, model_version, model_version],
    )
    if fmt == "csv":
        frame.with_columns(pl.col(pl.Datetime).dt.to_string("%Y-%m-%dT%H:%M:%S%.6f%z")
                           ).write_csv(out)
    else:
        frame.write_parquet(out)
    return frame.height
