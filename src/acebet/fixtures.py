"""Upcoming fixtures: validate every row, resolve players, upsert, reject with reasons.

A fixture names its players by id (`p1_id`, `p2_id`) or by name (`p1_name`, `p2_name`:
full or `Last F.`). Rows that cannot be used land in `fixture_rejects` with the file, the
line of the file (the header is line 1; for Parquet the 1-based row), the raw values,
why, and close names for unknown players; the valid rows load. The `fixture_id` is taken
from the file or derived from the event week, the tournament and the unordered pair of
players, so re-loading a file never duplicates; an id already used for another pair of
players is a conflict, never a silent replacement.

CSV files are read by the standard library's `csv` module, one record at a time, so one
malformed record (an unquoted separator, a missing field) is one reject with its line and
the rest load; the bytes must be UTF-8 (or the `encoding` given), never silently mangled;
the separator (comma, semicolon, tab or pipe) is taken from the header line.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import logging
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import polars as pl

from acebet import domain
from acebet.db import fixtures as fixtures_db
from acebet.db import history as history_db
from acebet.db.fixtures import FIXTURE_COLUMNS
from acebet.errors import InputError, first_line
from acebet.names import NameResolver
from acebet.odds import ODDS_MAX, ODDS_MIN

log = logging.getLogger(__name__)

REQUIRED = ("tourney_date", "surface", "tourney_level", "round", "best_of")
OPTIONAL = ("fixture_id", "tourney_id", "tourney_name", "p1_id", "p2_id", "p1_name",
            "p2_name", "p1_odds", "p2_odds")
DETAIL_COLUMNS = ("tourney_date", "tourney_name", "surface", "tourney_level", "round",
                  "best_of", "p1_id", "p2_id", "p1_odds", "p2_odds")
REJECT_COLUMNS = {"row_number": pl.Int64, "reason": pl.String, "suggestions": pl.String,
                  "raw": pl.String}
#: Fixtures further than this past the last recorded match are not fixtures of this
#: history (a year in 2099 or 9999, a history that stopped being ingested long ago). A
#: weekly ingest keeps the gap at days; a history a year or two old still loads (the
#: staleness warning is the scoring run's business).
MAX_DAYS_PAST_HISTORY = 730
#: Separators recognised in the header line, by name for messages.
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass
class LoadSummary:
    load_id: str
    source_file: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Table:
    """A fixture file as text columns plus `_line` (its file line), and the records that
    could not even be split into the header's columns (as rejects)."""

    frame: pl.DataFrame
    rejects: pl.DataFrame
    unit: str = "line"  # what `_line` counts: file lines (CSV) or rows (Parquet)
    separator: str = ","


def _empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_COLUMNS)


def read_table(path: Path, encoding: str | None = None) -> Table:
    """A CSV or Parquet file as text columns, so every value is validated the same way."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    return _read_csv(path, _decode(path, data, encoding))


def _read_parquet(path: Path) -> Table:
    try:
        frame = pl.read_parquet(path)
        frame = frame.with_columns(  # a pandas-written date is a Datetime at midnight
            pl.col(pl.Datetime).dt.date(), ).with_columns(pl.all().cast(pl.String))
    except pl.exceptions.DuplicateError as exc:
        raise InputError(f"{path}: a column name appears more than once") from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        reason = first_line(exc)
        raise InputError(f"{path}: not a readable Parquet file ({reason[:200]})") from exc
    if not frame.width:
        raise InputError(f"{path}: empty file")
    frame.columns = _column_names(path, frame.columns)
    frame = frame.with_row_index("_line", offset=1).with_columns(pl.col("_line").cast(pl.Int64))
    return Table(frame, _empty_rejects(), unit="row")


def _decode(path: Path, data: bytes, encoding: str | None) -> str:
    """The file's text; bytes that are not valid in the encoding are an error with their
    line, never replacement characters."""
    name = encoding or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError as exc:
        raise InputError(f"--encoding {encoding}: not a known encoding") from exc
    if name.replace("_", "-").lower() in ("utf-8", "utf8") and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode(name)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = ("; save it as UTF-8 or name its encoding (--encoding latin-1, cp1252, …)"
                if encoding is None else "")
        raise InputError(f"{path}: line {line}, column {column}: byte "
                         f"0x{data[exc.start]:02x} is not {name}{hint}") from exc


def _column_names(path: Path, columns: list[str]) -> list[str]:
    names = [c.strip().lower() for c in columns]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise InputError(f"{path}: column {', '.join(repeated)} appears more than once")
    return names


def _separator(header_line: str) -> str:
    """The separator that splits the header into the most known column names (comma on a
    tie), so a semicolon file from a spreadsheet reads as well as a comma one."""
    known = set(REQUIRED) | set(OPTIONAL)

    def score(sep: str) -> int:
        cells = next(csv.reader([header_line], delimiter=sep), [])
        return len(known & {c.strip().lower() for c in cells})

    return max(SEPARATORS, key=lambda sep: (score(sep), sep == ","))


def _read_csv(path: Path, text: str) -> Table:
    """Record by record: a record with the wrong number of fields is rejected with its
    line, the others are kept."""
    if not text.strip():
        raise InputError(f"{path}: empty file")
    sep = _separator(text.partition("\n")[0].partition("\r")[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader)
        columns = _column_names(path, header)
        width = len(columns)
        cells: list[list[str]] = [[] for _ in columns]
        lines: list[int] = []
        bad: list[tuple[int, str, None, str]] = []
        previous = reader.line_num
        for record in reader:
            line, previous = previous + 1, reader.line_num
            if not record or (len(record) == 1 and not record[0].strip() and width > 1):
                continue  # a blank line is no row
            if len(record) != width:
                what = "more" if len(record) > width else "fewer"
                hint = f" (an unquoted {SEPARATORS[sep]}?)" if what == "more" else ""
                fields = f"{len(record)} field{'' if len(record) == 1 else 's'}"
                bad.append((line, f"{fields} where the header has {width}, "
                                  f"{what} than expected{hint}", None,
                            json.dumps({"fields": record}, ensure_ascii=False)))
                continue
            lines.append(line)
            for column, value in zip(cells, record, strict=True):
                column.append(value)
    except csv.Error as exc:
        raise InputError(f"{path}: line {reader.line_num}: not readable as CSV ({exc})") from exc
    frame = pl.DataFrame({name: pl.Series(name, values, dtype=pl.String)
                          for name, values in zip(columns, cells, strict=True)})
    frame = frame.with_columns(pl.Series("_line", lines, dtype=pl.Int64))
    rejects = pl.DataFrame(bad, schema=REJECT_COLUMNS, orient="row")
    return Table(frame, rejects, unit="line", separator=sep)


def check_columns(path: Path, frame: pl.DataFrame, separator: str | None = None) -> None:
    missing = [c for c in REQUIRED if c not in frame.columns]
    has_ids = {"p1_id", "p2_id"} <= set(frame.columns)
    has_names = {"p1_name", "p2_name"} <= set(frame.columns)
    if not (has_ids or has_names):
        missing.append("p1_id/p2_id or p1_name/p2_name")
    if missing:
        seen = ""
        if separator is not None:
            shown = [c for c in frame.columns if c != "_line"]
            seen = (f" (header read as {SEPARATORS[separator]}-separated: "
                    f"{len(shown)} column{'s' if len(shown) != 1 else ''}, "
                    f"{', '.join(repr(c[:40]) for c in shown[:6])})")
        raise InputError(f"{path}: missing required column {', '.join(missing)}{seen}")


def _parse_date(text: pl.Expr) -> pl.Expr:
    text = text.str.strip_chars()
    return pl.coalesce(
        text.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        text.str.strptime(pl.Date, "%Y%m%d", strict=False),
    )


def _odds(text: pl.Expr) -> pl.Expr:
    value = text.str.strip_chars().cast(pl.Float64, strict=False)
    return pl.when(value.is_between(ODDS_MIN, ODDS_MAX)).then(value)


def fixture_id(date: dt.date, tournament: str | None, round_: str, a: int, b: int) -> str:
    """Stable id from the event week, the tournament, the round and the unordered pair.

    The week (its Monday), not the day, so a match moved within its event keeps its id;
    the round, so a round-robin meeting and a final between the same two players differ.
    """
    monday = date - dt.timedelta(days=date.weekday())
    lo, hi = sorted((int(a), int(b)))
    key = (f"{monday.isoformat()}|{(tournament or '').strip().lower()}|{round_.upper()}|"
           f"{lo}|{hi}")
    return "fx-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def validate(
    frame: pl.DataFrame, resolver: NameResolver, known_ids: set[int], source_file: str,
    history_end: dt.date | None = None, history_start: dt.date | None = None,
    *, latest: dt.date | None = None, keep_lines: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split input rows into (fixtures ready to upsert, rejects with reasons).

    Names are resolved among players active around the fixture's date, or around the
    end of the known history for fixtures beyond it (a history that stops in 2022 still
    knows who Carlos Alcaraz is in 2024). Dates before `history_start` or after `latest`
    are rejected as such, before any name is looked up. `frame` may carry `_line` (the
    file line of each row; 1-based rows when absent). With `keep_lines` the fixtures keep
    `_line`, `raw` and `_notes` (names taken with a flag) for the caller's checks against
    stored fixtures and its warnings.
    """
    if "_line" not in frame.columns:
        frame = frame.with_row_index("_line", offset=1)
    frame = frame.with_columns(pl.col("_line").cast(pl.Int64))
    for col in (*REQUIRED, *OPTIONAL):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(col))
    raw_cols = [c for c in frame.columns if c != "_line"]
    frame = frame.with_columns(pl.struct(raw_cols).struct.json_encode().alias("raw"))
    blank = lambda c: pl.col(c).str.strip_chars().fill_null("") == ""  # noqa: E731
    typed = frame.with_columns(
        _parse_date(pl.col("tourney_date")).alias("_date"),
        pl.col("surface").str.strip_chars().str.to_lowercase().alias("_surface"),
        pl.col("tourney_level").str.strip_chars().str.to_uppercase().alias("_level"),
        pl.col("round").str.strip_chars().str.to_uppercase().alias("_round"),
        pl.col("best_of").str.strip_chars().cast(pl.Int32, strict=False).alias("_best_of"),
        pl.col("p1_id").str.strip_chars().cast(pl.Int64, strict=False).alias("_p1_id"),
        pl.col("p2_id").str.strip_chars().cast(pl.Int64, strict=False).alias("_p2_id"),
        _odds(pl.col("p1_odds")).alias("_p1_odds"),
        _odds(pl.col("p2_odds")).alias("_p2_odds"),
    )
    surfaces = {s.lower(): s for s in domain.SURFACES}
    checks: list[tuple[pl.Expr, pl.Expr]] = [
        (blank("tourney_date"), pl.lit("tourney_date is empty")),
        (~blank("tourney_date") & pl.col("_date").is_null(),
         pl.format("tourney_date {} is not a date (YYYY-MM-DD)", pl.col("tourney_date"))),
        *_date_bounds(history_start, history_end, latest),
        (~pl.col("_surface").is_in(list(surfaces)).fill_null(False),
         pl.format("surface {} is not one of Hard, Clay, Grass, Carpet",
                   pl.col("surface").fill_null("(empty)"))),
        (~pl.col("_level").is_in(list(domain.FIXTURE_LEVELS)).fill_null(False),
         pl.format("tourney_level {} is not one of " + ", ".join(domain.FIXTURE_LEVELS),
                   pl.col("tourney_level").fill_null("(empty)"))),
        (~pl.col("_round").is_in(list(domain.ROUND_ORDER)).fill_null(False),
         pl.format("round {} is not a Sackmann round (R128 … F, RR, Q1 …)",
                   pl.col("round").fill_null("(empty)"))),
        (~pl.col("_best_of").is_in([3, 5]).fill_null(False),
         pl.format("best_of {} is not 3 or 5", pl.col("best_of").fill_null("(empty)"))),
    ]
    for side in ("p1", "p2"):
        checks += [
            (~blank(f"{side}_id") & pl.col(f"_{side}_id").is_null(),
             pl.format(f"{side}_id {{}} is not an integer", pl.col(f"{side}_id"))),
            (blank(f"{side}_id") & blank(f"{side}_name"),
             pl.lit(f"{side} has neither an id nor a name")),
            (~blank(f"{side}_odds") & pl.col(f"_{side}_odds").is_null(),
             pl.format(f"{side}_odds {{}} is not decimal odds from {ODDS_MIN:g} to "
                       f"{ODDS_MAX:g} (what bookmakers quote)",
                       pl.col(f"{side}_odds").str.slice(0, 40))),
        ]
    checks += [
        (blank("p1_odds") & ~blank("p2_odds"), pl.lit("p1_odds is missing while p2_odds is given")),
        (blank("p2_odds") & ~blank("p1_odds"), pl.lit("p2_odds is missing while p1_odds is given")),
    ]
    typed = typed.with_columns(
        pl.concat_str([pl.when(bad).then(why) for bad, why in checks], separator="; ",
                      ignore_nulls=True).alias("reason")
    )
    # players: by id when given, else by name through the shared resolver
    ids: dict[str, list[int | None]] = {"p1": [], "p2": []}
    names: dict[str, list[str | None]] = {"p1": [], "p2": []}
    reasons = typed["reason"].to_list()
    suggestions: list[list[str]] = [[] for _ in reasons]
    notes: list[list[str]] = [[] for _ in reasons]  # names taken with a flag, for warnings
    dates = [min(d, history_end) if d and history_end else d for d in typed["_date"].to_list()]
    # a row whose date is unusable is rejected for it; its names are not looked up then
    out_of_range = typed.select(pl.any_horizontal(
        [pl.col("_date").is_null(),
         *(bad for bad, _ in _date_bounds(history_start, history_end, latest))]
    ).fill_null(True)).to_series().to_list()
    for side in ("p1", "p2"):
        for i, (pid, name) in enumerate(zip(typed[f"_{side}_id"].to_list(),
                                            typed[f"{side}_name"].to_list(), strict=True)):
            if pid is not None:
                if pid not in known_ids:
                    reasons[i] = _join(reasons[i], f"{side}_id {pid} is not a known player")
                ids[side].append(pid)
                names[side].append(resolver.player_name(pid) or (name or "").strip() or None)
                continue
            if name is None or not name.strip() or out_of_range[i]:
                ids[side].append(None)
                names[side].append(name.strip() if name and name.strip() else None)
                continue
            found = resolver.resolve(name.strip(), dates[i])
            if found.status == "resolved":
                ids[side].append(found.player_id)
                names[side].append(resolver.player_name(found.player_id) or name.strip())
                if found.flags:
                    notes[i].append(f"{side}_name {name.strip()!r} taken as {names[side][-1]} "
                                    f"({found.player_id}): {found.note} "
                                    f"[{', '.join(found.flags)}]")
                continue
            ids[side].append(None)
            names[side].append(name.strip())
            if found.status == "ambiguous":
                options = [f"{c} {resolver.player_name(c) or ''}".strip()
                           for c in found.candidates]
                reasons[i] = _join(reasons[i], f"{side}_name {name.strip()!r} is ambiguous "
                                               f"({len(found.candidates)} players fit)")
                suggestions[i] += options
            else:
                reasons[i] = _join(reasons[i], f"{side}_name {name.strip()!r} is not a known "
                                               "player")
                suggestions[i] += list(found.suggestions)
    for i, (a, b) in enumerate(zip(ids["p1"], ids["p2"], strict=True)):
        if a is not None and a == b:
            reasons[i] = _join(reasons[i], f"the same player ({a}) on both sides")
    typed = typed.with_columns(
        pl.Series("reason", reasons, dtype=pl.String),
        pl.Series("suggestions", ["; ".join(s) or None for s in suggestions], dtype=pl.String),
        pl.Series("_p1", ids["p1"], dtype=pl.Int64),
        pl.Series("_p2", ids["p2"], dtype=pl.Int64),
        pl.Series("_p1_name", names["p1"], dtype=pl.String),
        pl.Series("_p2_name", names["p2"], dtype=pl.String),
        pl.Series("_notes", notes, dtype=pl.List(pl.String)),
    )
    good = typed.filter(pl.col("reason") == "")
    given_id = pl.col("fixture_id").str.strip_chars()
    derived = [
        fixture_id(d, t, r, a, b) for d, t, r, a, b in zip(
            good["_date"].to_list(),
            good.select(pl.coalesce(pl.col("tourney_name"), pl.col("tourney_id")))
            .to_series().to_list(), good["_round"].to_list(),
            good["_p1"].to_list(), good["_p2"].to_list(), strict=True)
    ]
    good = good.with_columns(
        pl.when(given_id.fill_null("") != "").then(given_id)
        .otherwise(pl.Series(derived, dtype=pl.String)).alias("_fixture_id")
    )
    good, dup = _repeated_ids(good)
    fixtures = good.select(
        pl.col("_fixture_id").alias("fixture_id"),
        pl.col("_date").alias("tourney_date"),
        pl.col("tourney_id").str.strip_chars(),
        pl.col("tourney_name").str.strip_chars(),
        pl.col("_surface").replace_strict(surfaces, return_dtype=pl.String).alias("surface"),
        pl.col("_level").alias("tourney_level"),
        pl.col("_round").alias("round"),
        pl.col("_best_of").alias("best_of"),
        pl.col("_p1").alias("p1_id"), pl.col("_p2").alias("p2_id"),
        pl.col("_p1_name").alias("p1_name"), pl.col("_p2_name").alias("p2_name"),
        pl.col("_p1_odds").alias("p1_odds"), pl.col("_p2_odds").alias("p2_odds"),
        "_line", "raw", "_notes",
    )
    fixtures = fixtures.with_columns(
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in DETAIL_COLUMNS],
                      separator="|").alias("_details"),
        pl.lit(source_file).alias("source_file"),
    )
    fixtures = fixtures.with_columns(
        pl.Series("details_hash", [hashlib.sha256(d.encode()).hexdigest()[:16]
                                   for d in fixtures["_details"].to_list()], dtype=pl.String)
    ).select(*FIXTURE_COLUMNS, *(("_line", "raw", "_notes") if keep_lines else ()))
    rejects = pl.concat([
        typed.filter(pl.col("reason") != "").select("_line", "reason", "suggestions", "raw"),
        dup.select("_line", "reason", "suggestions", "raw"),
    ]).sort("_line").select(
        pl.col("_line").cast(pl.Int64).alias("row_number"), "reason", "suggestions", "raw")
    return fixtures, rejects


def _date_bounds(start: dt.date | None, end: dt.date | None,
                 latest: dt.date | None) -> list[tuple[pl.Expr, pl.Expr]]:
    """Checks for dates outside what the history can speak about."""
    checks = []
    if start is not None:
        checks.append((pl.col("_date") < start,
                       pl.format("tourney_date {} is before the history (it starts "
                                 f"{start})", pl.col("_date"))))
    if latest is not None:
        after = f"{(latest - end).days} days after the history ends ({end})" if end else latest
        checks.append((pl.col("_date") > latest,
                       pl.format(f"tourney_date {{}} is more than {after}; not a fixture of "
                                 "this history", pl.col("_date"))))
    return checks


def latest_fixture_date(end: dt.date | None) -> dt.date | None:
    """The last date a fixture of a history ending on `end` may have."""
    return end + dt.timedelta(days=MAX_DAYS_PAST_HISTORY) if end else None


def _pair(p1: int | None, n1: str | None, p2: int | None, n2: str | None) -> str:
    return f"{n1 or '?'} ({p1}) vs {n2 or '?'} ({p2})"


def _repeated_ids(good: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(first row of each fixture_id, the repeats with a reason): the same pair again is a
    duplicate, another pair under the same id is a conflict naming both."""
    first_seen: dict[str, tuple[int, frozenset[int], str]] = {}
    reasons: list[str | None] = []
    for fid, line, p1, p2, n1, n2 in good.select(
        "_fixture_id", "_line", "_p1", "_p2", "_p1_name", "_p2_name"
    ).iter_rows():
        pair = frozenset((p1, p2))
        seen = first_seen.get(fid)
        if seen is None:
            first_seen[fid] = (line, pair, _pair(p1, n1, p2, n2))
            reasons.append(None)
        elif seen[1] == pair:
            reasons.append(f"duplicate fixture {fid} (the same players as line {seen[0]})")
        else:
            reasons.append(f"fixture_id {fid} conflict: line {seen[0]} has {seen[2]}, this "
                           f"row has {_pair(p1, n1, p2, n2)}")
    flagged = good.with_columns(pl.Series("_repeat", reasons, dtype=pl.String))
    dup = flagged.filter(pl.col("_repeat").is_not_null()).with_columns(
        pl.col("_repeat").alias("reason"))
    return flagged.filter(pl.col("_repeat").is_null()).drop("_repeat"), dup


def _conflicts_with_stored(
    con: duckdb.DuckDBPyConnection, fixtures: pl.DataFrame
) -> pl.DataFrame:
    """Rejects for fixtures whose id is stored for another pair of players: loading them
    would silently replace that match."""
    rows = fixtures_db.stored_for_other_players(con, fixtures)
    out = [(line, f"fixture_id {fid} conflict: stored for {_pair(sp1, sn1, sp2, sn2)} "
                  f"(from {src}), this row has {_pair(p1, n1, p2, n2)}", None, raw)
           for fid, line, raw, p1, n1, p2, n2, sp1, sn1, sp2, sn2, src in rows]
    return pl.DataFrame(out, schema=REJECT_COLUMNS, orient="row")


def _join(current: str | None, reason: str) -> str:
    return f"{current}; {reason}" if current else reason


def load(
    con: duckdb.DuckDBPyConnection, path: Path, *, strict: bool = False,
    encoding: str | None = None,
) -> tuple[LoadSummary, pl.DataFrame]:
    """Validate and upsert one fixture file; returns the summary and the rejects.

    With `strict`, any reject means no fixture is loaded (the rejects are still recorded).
    Names resolved with a flag (a long absence, another first name, a bare surname, …)
    load and are logged as warnings naming the line.
    """
    table = read_table(path, encoding)
    frame = table.frame
    check_columns(path, frame, table.separator if table.unit == "line" else None)
    resolver = NameResolver.from_db(con)
    known = history_db.player_ids(con)
    end = history_db.last_match_date(con)
    fixtures, rejects = validate(frame, resolver, known, path.name, end,
                                 history_db.first_match_date(con),
                                 latest=latest_fixture_date(end), keep_lines=True)
    conflicts = _conflicts_with_stored(con, fixtures)
    if conflicts.height:
        fixtures = fixtures.filter(~pl.col("_line").is_in(conflicts["row_number"].to_list()))
    rejects = pl.concat([table.rejects, rejects, conflicts]).sort("row_number")
    for line, notes in fixtures.select("_line", "_notes").iter_rows():
        for note in notes:
            log.warning(f"{path.name}: {table.unit} {line}: {note}")
    fixtures = fixtures.select(FIXTURE_COLUMNS)
    if strict and rejects.height:
        fixtures = fixtures.clear()
    load_id = f"load-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    rows_read = frame.height + table.rejects.height
    inserted, updated = fixtures_db.save_load(
        con, load_id=load_id, source_file=path.name, rows_read=rows_read,
        fixtures=fixtures, rejects=rejects)
    summary = LoadSummary(
        load_id=load_id, source_file=path.name, rows_read=rows_read, inserted=inserted,
        updated=updated, unchanged=fixtures.height - inserted - updated,
        rejected=rejects.height,
    )
    return summary, rejects


def describe_rejects(rejects: pl.DataFrame, source_file: str, limit: int = 10,
                     unit: str | None = None) -> list[str]:
    """One line per rejected row, `file: line N: reason (did you mean …)`: the line of the
    file (header = line 1) an editor shows, or `row N` for Parquet."""
    unit = unit or ("row" if source_file.lower().endswith((".parquet", ".pq")) else "line")
    lines = []
    for row in rejects.head(limit).iter_rows(named=True):
        hint = f" (did you mean: {row['suggestions']})" if row["suggestions"] else ""
        lines.append(f"{source_file}: {unit} {row['row_number']}: {row['reason']}{hint}")
    if rejects.height > limit:
        lines.append(f"… and {rejects.height - limit} more; see the fixture_rejects table")
    return lines




def load_error(summary: LoadSummary, path: Path, *, strict: bool) -> InputError | None:
    """The exit-2 error a load ends with, if any: rejects under `strict`, or a file in
    which every row was rejected (nothing at all loaded is a failed load, not a success
    with warnings)."""
    if strict and summary.rejected:
        return InputError(f"{path}: {summary.rejected} rows rejected; nothing loaded (--strict)")
    if summary.rows_read and summary.rejected == summary.rows_read:
        return InputError(f"{path}: all {summary.rows_read} rows rejected; nothing loaded")
    return None
