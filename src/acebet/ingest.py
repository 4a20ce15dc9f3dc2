"""Load ATP history in Jeff Sackmann's `tennis_atp` layout into the store.

Files are read with Polars as text, every value is checked against the schema, and
rows that cannot be used go to `ingest_rejects` with their file, line and reason.
The write is one transaction that touches only new or changed rows, so re-ingesting
the same files is a no-op and a failure leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import polars as pl

from acebet import download
from acebet import progress as progress_mod
from acebet.db import history
from acebet.db.history import (
    FLOAT,
    MATCH_KEY,
    MATCH_SCHEMA,
    PLAYER_COLUMNS,
    PLAYER_SCHEMA,
    TEXT,
)
from acebet.errors import InputError, NetworkError, first_line
from acebet.faults import checkpoint
from acebet.store import transaction

log = logging.getLogger(__name__)

LEVELS = ("tour", "qual_chall")
FIRST_SEASON = {"tour": 1968, "qual_chall": 1978}
PLAYERS_FILE = "atp_players.csv"
MATCH_FILE = re.compile(r"^atp_matches_(qual_chall_)?(\d{4})\.csv$")

# Columns the model or the keys depend on are required; the serve statistics may be
# absent from a file and are then left empty.
MATCH_REQUIRED = (
    "tourney_id", "tourney_name", "surface", "tourney_level", "tourney_date", "match_num",
    "winner_id", "winner_name", "loser_id", "loser_name", "score", "best_of", "round",
)
PLAYER_REQUIRED = ("player_id", "name_first", "name_last")


@dataclass
class IngestSummary:
    ingest_id: str
    source: str
    files: int
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    players_inserted: int
    players_updated: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_years(text: str | None) -> tuple[int, int] | None:
    """`1990-2024` or `2022` → inclusive range; None means every season available."""
    if text is None or text.strip() == "":
        return None
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?", text)
    if not match:
        raise InputError(f"--years {text!r}: expected YYYY or YYYY-YYYY")
    first, last = int(match[1]), int(match[2] or match[1])
    if first > last:
        raise InputError(f"--years {text!r}: first season is after the last")
    return first, last


def parse_levels(text: str | Sequence[str] | None) -> tuple[str, ...]:
    if text is None:
        return LEVELS
    items = text.split(",") if isinstance(text, str) else list(text)
    levels = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    unknown = [level for level in levels if level not in LEVELS]
    if unknown or not levels:
        raise InputError(f"--levels {','.join(items)!r}: choose from {','.join(LEVELS)}")
    return levels


def match_file_name(level: str, year: int) -> str:
    return f"atp_matches_{year}.csv" if level == "tour" else f"atp_matches_qual_chall_{year}.csv"


def _wanted(name: str, years: tuple[int, int] | None, levels: tuple[str, ...]) -> bool:
    match = MATCH_FILE.match(name)
    if not match:
        return False
    level = "qual_chall" if match[1] else "tour"
    year = int(match[2])
    return level in levels and (years is None or years[0] <= year <= years[1])


def locate_files(
    source: str, years: tuple[int, int] | None, levels: tuple[str, ...],
    *, progress: bool | None = None,
) -> tuple[list[Path], Path]:
    """Find (or download into the cache) the match files asked for and the player file.

    A local folder is listed; a URL cannot be, so every season in range is requested.
    When the user named the seasons, a missing one is an error; when they did not, seasons
    the source does not have yet (or no longer has) are skipped with a warning.
    """
    if download.is_url(source):
        last_year = dt.date.today().year
        names = [
            match_file_name(level, year)
            for level in levels
            for year in range(
                max(FIRST_SEASON[level], years[0] if years else 0),
                (years[1] if years else last_year) + 1,
            )
        ]
        try:
            players = download.fetch(download.join_url(source, PLAYERS_FILE), progress=progress)
        except NetworkError as exc:
            raise NetworkError(
                f"{exc}; to ingest a local copy instead, set ACEBET_SOURCE (or pass SOURCE) to a "
                "folder of the tennis_atp files, e.g. ACEBET_SOURCE=./tennis_atp"
            ) from None
        paths = []
        for name in names:
            try:
                paths.append(download.fetch(download.join_url(source, name), progress=progress))
            except InputError:
                if years is not None:
                    raise
                log.warning("skipping %s: not on %s", name, source)
        return paths, players

    folder = Path(source)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (SOURCE must be a folder or an http(s) URL)")
    players = folder / PLAYERS_FILE
    if not players.is_file():
        raise InputError(f"{players}: missing player file")
    if years is None:
        paths = sorted(p for p in folder.iterdir() if _wanted(p.name, None, levels))
    else:
        paths = []
        for level in levels:
            for year in range(max(years[0], FIRST_SEASON[level]), years[1] + 1):
                path = folder / match_file_name(level, year)
                if not path.is_file():
                    raise InputError(f"{path}: missing match file for season {year}")
                paths.append(path)
    if not paths:
        raise InputError(f"{folder}: no atp_matches_YYYY.csv files for the seasons asked")
    return paths, players


def _read_text_csv(path: Path) -> pl.DataFrame:
    """Every column as text, so that type errors become rejects instead of read failures."""
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.NoDataError as exc:
        raise InputError(f"{path}: empty file") from exc
    except pl.exceptions.DuplicateError as exc:
        raise InputError(f"{path}: a column name appears more than once") from exc
    except (pl.exceptions.ComputeError, OSError) as exc:
        reason = first_line(exc)
        raise InputError(f"{path}: not a readable CSV file ({reason})") from exc
    names = [c.strip() for c in frame.columns]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise InputError(f"{path}: column {', '.join(repeated)} appears more than once")
    frame.columns = names
    return frame


def _check_columns(path: Path, frame: pl.DataFrame, required: Sequence[str]) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column {', '.join(missing)}")


def _validate(
    raw: pl.DataFrame,
    schema: dict[str, type[pl.DataType]],
    not_empty: Sequence[str],
    key: Sequence[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast text columns to `schema`; split rows into (usable, rejects with reasons).

    Reasons and the raw JSON are built only for the rejected rows: formatting a message
    for each of 390K good rows would cost more than reading them.
    """
    typed = {f"_t_{n}": _cast(pl.col(n), dtype) for n, dtype in schema.items()}
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    for name, dtype in schema.items():
        blank = pl.col(name).str.strip_chars().fill_null("") == ""
        if name in not_empty:
            checks.append((blank, pl.lit(f"{name} is empty")))
        if dtype != TEXT:
            what = {pl.Date: "a YYYYMMDD date", FLOAT: "a number"}.get(dtype, "an integer")
            checks.append((
                ~blank & pl.col(f"_t_{name}").is_null(),
                pl.format(f"{name} {{}} is not {what}", pl.col(name)),
            ))
    frame = raw.with_columns(**typed).with_columns(
        pl.any_horizontal(*(bad for bad, _ in checks)).alias("_bad")
    )
    usable = frame.filter(~pl.col("_bad"))
    first = pl.struct([f"_t_{k}" for k in key]).is_first_distinct()
    duplicate_reason = pl.format(
        "duplicate " + ", ".join(f"{k} {{}}" for k in key) + " (first at line {} of {})",
        *(pl.col(k) for k in key), pl.col("_first_line"), pl.col("_first_file"),
    )
    firsts = usable.filter(first).select(
        *(pl.col(f"_t_{k}") for k in key),
        pl.col("line").alias("_first_line"), pl.col("source_file").alias("_first_file"),
    )
    duplicates = (
        usable.filter(~first)
        .join(firsts, on=[f"_t_{k}" for k in key], how="left")
        .with_columns(duplicate_reason.alias("_reason"))
    )
    invalid = frame.filter(pl.col("_bad")).with_columns(
        pl.concat_str([pl.when(bad).then(reason) for bad, reason in checks],
                      separator="; ", ignore_nulls=True).alias("_reason")
    )
    columns = [c for c in schema if c in raw.columns]
    rejects = pl.concat([
        part.select(
            "source_file", pl.col("line").cast(pl.Int64), pl.col("_reason").alias("reason"),
            pl.struct(columns).struct.json_encode().alias("raw"),
        )
        for part in (invalid, duplicates)
    ]).sort("source_file", "line")
    good = usable.filter(first).select(
        *(pl.col(f"_t_{n}").alias(n) for n in schema), "source_file"
    )
    return good, rejects


def _cast(text: pl.Expr, dtype: type[pl.DataType]) -> pl.Expr:
    text = text.str.strip_chars()
    if dtype == TEXT:
        return text.replace("", None)
    if dtype == pl.Date:
        return text.str.strptime(pl.Date, "%Y%m%d", strict=False)
    return text.cast(dtype, strict=False)


def _text_frame(path: Path, schema: dict[str, type[pl.DataType]], required: Sequence[str]
                ) -> pl.DataFrame:
    frame = _read_text_csv(path)
    _check_columns(path, frame, required)
    absent = [c for c in schema if c not in frame.columns]
    if absent:
        log.warning("%s: no column %s; left empty", path.name, ", ".join(absent))
    return (
        frame.with_columns(pl.lit(None, TEXT).alias(c) for c in absent)
        .select(list(schema))
        .with_row_index("line", offset=2)
        .with_columns(pl.lit(path.name).alias("source_file"))
    )


def read_match_files(paths: Sequence[Path]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read and validate match files → (good rows in history.MATCH_COLUMNS, rejects)."""
    with progress_mod.task("ingest: read files", paths) as files:
        raw = pl.concat([_text_frame(p, MATCH_SCHEMA, MATCH_REQUIRED) for p in files])
    not_empty = ("tourney_id", "tourney_date", "match_num", "winner_id", "loser_id")
    return _validate(raw, MATCH_SCHEMA, not_empty, MATCH_KEY)


def read_players_file(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read and validate `atp_players.csv` → (good rows in history.PLAYER_COLUMNS, rejects).

    Sackmann writes unknown parts of a birth date as zeros (`19700000`); such a date is
    kept as unknown rather than rejecting the player. A few players have no name on file;
    they are kept (matches refer to them) with an empty name.
    """
    raw = _text_frame(path, PLAYER_SCHEMA, PLAYER_REQUIRED)
    partial_dob = pl.col("dob").str.strip_chars().str.contains(r"^\d{4}(00\d\d|\d\d00)$")
    raw = raw.with_columns(
        pl.when(partial_dob.fill_null(False)).then(None).otherwise(pl.col("dob")).alias("dob")
    )
    good, rejects = _validate(raw, PLAYER_SCHEMA, ("player_id",), ("player_id",))
    name = pl.concat_str(["name_first", "name_last"], separator=" ", ignore_nulls=True)
    good = good.with_columns(name.str.strip_chars().replace("", None).alias("name"))
    return good.select(PLAYER_COLUMNS), rejects


def ingest(
    con: duckdb.DuckDBPyConnection,
    source: str,
    *,
    years: tuple[int, int] | None = None,
    levels: Sequence[str] = LEVELS,
    progress: bool | None = None,
) -> IngestSummary:
    """Read, validate and upsert history from `source` (a folder or an http(s) base URL)."""
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    levels = parse_levels(levels)
    match_paths, players_path = locate_files(source, years, levels, progress=progress)
    matches, match_rejects = read_match_files(match_paths)
    players, player_rejects = read_players_file(players_path)
    rows_read = matches.height + match_rejects.height
    progress_mod.step(f"ingest: {rows_read:,} match rows read; writing to the database",
                      rows=rows_read, enabled=progress)
    rejects = pl.concat([match_rejects, player_rejects])
    ingest_id = f"ingest-{started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    files = [p.name for p in match_paths] + [players_path.name]

    rejects = rejects.with_columns(pl.lit(ingest_id).alias("ingest_id"))
    with transaction(con):
        checkpoint("ingest:in-transaction")
        players_inserted, players_updated = history.upsert_players(con, players)
        inserted, updated = history.upsert_matches(con, matches)
        history.replace_rejects(con, files, rejects)
        summary = IngestSummary(
            ingest_id=ingest_id, source=str(source), files=len(files),
            rows_read=matches.height + match_rejects.height, inserted=inserted,
            updated=updated, unchanged=matches.height - inserted - updated,
            rejected=rejects.height, players_inserted=players_inserted,
            players_updated=players_updated, seconds=0.0,
        )
        summary.seconds = round(time.perf_counter() - started, 3)
        history.record_ingest_run(con, summary, started_at)
    return summary
