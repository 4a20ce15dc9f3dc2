"""What a command prints on stdout: an aligned table for people, or JSON (and CSV for
`query`) for scripts.

Every listing command goes through `render`, so `--format json` means the same thing
everywhere: a list of row objects, dates in ISO form, an empty list when there is
nothing (never the sentence a person gets).
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

# The formats every listing command offers; `query` also writes CSV.
FORMATS = ("table", "json")


def render(frame: pl.DataFrame, fmt: str, *, empty: str | None = None) -> str:
    """`frame` as `fmt` ("table", "json" or "csv"); a table of no rows is `empty` when
    given (a hint saying what to run), for people only."""
    if fmt == "json":
        return frame.write_json()
    if fmt == "csv":
        return frame.write_csv().removesuffix("\n")
    if frame.height == 0 and empty is not None:
        return empty
    return table(frame)


def render_object(value: dict[str, object], fmt: str, lines: list[str]) -> str:
    """A command's one record (not rows): `lines` for people, the object as JSON."""
    if fmt == "json":
        return json.dumps(value, default=str)
    return "\n".join(lines)


def table(frame: pl.DataFrame) -> str:
    """A plain aligned table for terminals (and for copying into notes)."""
    cols = frame.columns
    cells = [[_cell(v) for v in row] for row in frame.iter_rows()]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c)
              for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    numeric = [frame[c].dtype.is_numeric() for c in cols]
    lines += ["  ".join(v.rjust(w) if num else v.ljust(w)
                        for v, w, num in zip(r, widths, numeric, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)
