"""Exports for analysts: the prediction views to Parquet or CSV, filtered by date and model."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import duckdb
import polars as pl

from acebet.db import runs as runs_db
from acebet.errors import InputError

# What can be exported: the view or table behind each name.
SOURCES = runs_db.EXPORTABLE
# The file name says the format; anything else is refused rather than mislabelled.
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
STDOUT = "-"
# A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def output_format(out: Path, fmt: str | None) -> str:
    """csv or parquet, from the name of `out` (`-`: CSV on stdout) and --format."""
    if str(out) == STDOUT:
        if fmt not in (None, "csv"):
            raise InputError("--out -: standard output takes CSV only")
        return "csv"
    named = FORMATS.get(out.suffix.lower())
    if named is None:
        raise InputError(f"--out {out}: unknown file type {out.suffix or '(none)'!r}; "
                         f"name it {', '.join(FORMATS)} (or - for CSV on stdout)")
    if fmt is not None and fmt != named:
        raise InputError(f"--out {out} names a {named} file but --format is {fmt}")
    return named


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe.

    Player and event names come from fixture files anyone can write; `=HYPERLINK(…)`
    must reach an analyst's spreadsheet as text. Numbers are not text and stay as they are.
    """
    starts = "".join(FORMULA_START).replace("-", r"\-")
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(f"^[{starts}]"))
        .then(pl.lit("'") + pl.col(name)).otherwise(pl.col(name)).alias(name)
        for name in frame.columns if frame[name].dtype == pl.String
    )


def export(
    con: duckdb.DuckDBPyConnection, what: str, out: Path, *, fmt: str | None = None,
    date_from: dt.date | None = None, date_to: dt.date | None = None,
    model_version: int | None = None,
) -> int:
    """Write the rows of `what` to `out` (`-`: stdout); returns the number of rows written."""
    if what not in SOURCES:
        raise InputError(f"cannot export {what!r}: choose from {', '.join(SOURCES)}")
    fmt = output_format(out, fmt)
    if str(out) != STDOUT and not out.parent.is_dir():
        raise InputError(f"--out {out}: folder {out.parent} does not exist")
    frame = runs_db.prediction_rows(con, what, date_from, date_to, model_version)
    try:
        if fmt == "csv":
            text = neutralise_formulas(frame.with_columns(
                pl.col(pl.Datetime).dt.to_string("%Y-%m-%dT%H:%M:%S%.6f%z")))
            if str(out) == STDOUT:
                sys.stdout.write(text.write_csv())
                sys.stdout.flush()
            else:
                text.write_csv(out)
        else:
            frame.write_parquet(out)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    return frame.height
