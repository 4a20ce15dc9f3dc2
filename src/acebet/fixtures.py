"""Upcoming fixtures: validate every row, resolve players, upsert, reject with reasons.

A fixture names its players by id (`p1_id`, `p2_id`) or by name (`p1_name`, `p2_name`:
full or `Last F.`). Rows that cannot be used land in `fixture_rejects` with the file, the
data row number, the raw values, why, and close names for unknown players; the valid
rows load. The `fixture_id` is taken from the file or derived from the event week, the
tournament and the unordered pair of players, so re-loading a file never duplicates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import polars as pl

from acebet import features as F
from acebet.errors import InputError
from acebet.names import NameResolver
from acebet.store import query_frame, register_frame, scalar, transaction

log = logging.getLogger(__name__)

REQUIRED = ("tourney_date", "surface", "tourney_level", "round", "best_of")
OPTIONAL = ("fixture_id", "tourney_id", "tourney_name", "p1_id", "p2_id", "p1_name",
            "p2_name", "p1_odds", "p2_odds")
LEVEL_CODES = ("G", "M", "A", "F", "D", "C")
DETAIL_COLUMNS = ("tourney_date", "tourney_name", "surface", "tourney_level", "round",
                  "best_of", "p1_id", "p2_id", "p1_odds", "p2_odds")
FIXTURE_COLUMNS = ("fixture_id", "tourney_date", "tourney_id", "tourney_name", "surface",
                   "tourney_level", "round", "best_of", "p1_id", "p2_id", "p1_name",
                   "p2_name", "p1_odds", "p2_odds", "details_hash", "source_file")


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


def read_table(path: Path) -> pl.DataFrame:
    """A CSV or Parquet file as text columns, so every value is validated the same way."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pl.read_parquet(path)
            frame = frame.with_columns(  # a pandas-written date is a Datetime at midnight
                pl.col(pl.Datetime).dt.date(), ).with_columns(pl.all().cast(pl.String))
        else:
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy",
                                truncate_ragged_lines=False)
    except pl.exceptions.NoDataError as exc:
        raise InputError(f"{path}: empty file") from exc
    except pl.exceptions.DuplicateError as exc:
        raise InputError(f"{path}: a column name appears more than once") from exc
    except (pl.exceptions.PolarsError, OSError) as exc:
        kind = "Parquet" if path.suffix.lower() in (".parquet", ".pq") else "CSV"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable {kind} file ({reason[:200]})") from exc
    names = [c.strip().lower() for c in frame.columns]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise InputError(f"{path}: column {', '.join(repeated)} appears more than once")
    frame.columns = names
    return frame


def check_columns(path: Path, frame: pl.DataFrame) -> None:
    missing = [c for c in REQUIRED if c not in frame.columns]
    has_ids = {"p1_id", "p2_id"} <= set(frame.columns)
    has_names = {"p1_name", "p2_name"} <= set(frame.columns)
    if not (has_ids or has_names):
        missing.append("p1_id/p2_id or p1_name/p2_name")
    if missing:
        raise InputError(f"{path}: missing required column {', '.join(missing)}")


def _parse_date(text: pl.Expr) -> pl.Expr:
    text = text.str.strip_chars()
    return pl.coalesce(
        text.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        text.str.strptime(pl.Date, "%Y%m%d", strict=False),
    )


def _odds(text: pl.Expr) -> pl.Expr:
    value = text.str.strip_chars().cast(pl.Float64, strict=False)
    return pl.when(value.is_finite() & (value > 1.0)).then(value)


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
    history_end: dt.date | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split input rows into (fixtures ready to upsert, rejects with reasons).

    Names are resolved among players active around the fixture's date, or around the
    end of the known history for fixtures beyond it (a history that stops in 2022 still
    knows who Carlos Alcaraz is in 2026).
    """
    for col in (*REQUIRED, *OPTIONAL):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(col))
    raw_cols = [c for c in frame.columns]
    frame = frame.with_row_index("_row_number", offset=1).with_columns(
        pl.struct(raw_cols).struct.json_encode().alias("raw")
    )
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
    surfaces = {s.lower(): s for s in F.SURFACES}
    checks: list[tuple[pl.Expr, pl.Expr]] = [
        (blank("tourney_date"), pl.lit("tourney_date is empty")),
        (~blank("tourney_date") & pl.col("_date").is_null(),
         pl.format("tourney_date {} is not a date (YYYY-MM-DD)", pl.col("tourney_date"))),
        (~pl.col("_surface").is_in(list(surfaces)).fill_null(False),
         pl.format("surface {} is not one of Hard, Clay, Grass, Carpet",
                   pl.col("surface").fill_null("(empty)"))),
        (~pl.col("_level").is_in(list(LEVEL_CODES)).fill_null(False),
         pl.format("tourney_level {} is not one of " + ", ".join(LEVEL_CODES),
                   pl.col("tourney_level").fill_null("(empty)"))),
        (~pl.col("_round").is_in(list(F.ROUND_ORDER)).fill_null(False),
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
             pl.format(f"{side}_odds {{}} is not decimal odds above 1.0", pl.col(f"{side}_odds"))),
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
    dates = [min(d, history_end) if d and history_end else d for d in typed["_date"].to_list()]
    for side in ("p1", "p2"):
        for i, (pid, name) in enumerate(zip(typed[f"_{side}_id"].to_list(),
                                            typed[f"{side}_name"].to_list(), strict=True)):
            if pid is not None:
                if pid not in known_ids:
                    reasons[i] = _join(reasons[i], f"{side}_id {pid} is not a known player")
                ids[side].append(pid)
                names[side].append(resolver.player_name(pid) or (name or "").strip() or None)
                continue
            if name is None or not name.strip():
                ids[side].append(None)
                names[side].append(None)
                continue
            found = resolver.resolve(name.strip(), dates[i])
            if found.status == "resolved":
                ids[side].append(found.player_id)
                names[side].append(resolver.player_name(found.player_id) or name.strip())
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
    first = pl.col("_fixture_id").is_first_distinct()
    dup = good.filter(~first).with_columns(
        pl.format("duplicate fixture {} (appears earlier in the file)", pl.col("_fixture_id"))
        .alias("reason")
    )
    good = good.filter(first)
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
    )
    fixtures = fixtures.with_columns(
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in DETAIL_COLUMNS],
                      separator="|").alias("_details"),
        pl.lit(source_file).alias("source_file"),
    )
    fixtures = fixtures.with_columns(
        pl.Series("details_hash", [hashlib.sha256(d.encode()).hexdigest()[:16]
                                   for d in fixtures["_details"].to_list()], dtype=pl.String)
    ).select(FIXTURE_COLUMNS)
    rejects = pl.concat([
        typed.filter(pl.col("reason") != "").select("_row_number", "reason", "suggestions",
                                                    "raw"),
        dup.select("_row_number", "reason", "suggestions", "raw"),
    ]).sort("_row_number").select(
        pl.col("_row_number").cast(pl.Int64).alias("row_number"), "reason", "suggestions", "raw")
    return fixtures, rejects


def history_end(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The last date with results: name resolution looks for players active by then."""
    return scalar(con, "SELECT max(tourney_date) FROM matches")


def _join(current: str | None, reason: str) -> str:
    return f"{current}; {reason}" if current else reason


def load(
    con: duckdb.DuckDBPyConnection, path: Path, *, strict: bool = False
) -> tuple[LoadSummary, pl.DataFrame]:
    """Validate and upsert one fixture file; returns the summary and the rejects.

    With `strict`, any reject means no fixture is loaded (the rejects are still recorded).
    """
    frame = read_table(path)
    check_columns(path, frame)
    resolver = NameResolver.from_db(con)
    known = set(query_frame(con, "SELECT player_id FROM players")["player_id"].to_list())
    fixtures, rejects = validate(frame, resolver, known, path.name, history_end(con))
    if strict and rejects.height:
        fixtures = fixtures.clear()
    load_id = f"load-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    register_frame(con, "_staged_fixtures", fixtures)
    register_frame(con, "_staged_fixture_rejects", rejects)
    # which file a fixture came from is bookkeeping, not a change of the fixture
    same = " AND ".join(f"f.{c} IS NOT DISTINCT FROM s.{c}" for c in FIXTURE_COLUMNS
                        if c != "source_file")
    try:
        with transaction(con):
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _changed AS SELECT s.* FROM _staged_fixtures s "  # noqa: S608
                f"WHERE NOT EXISTS (SELECT 1 FROM fixtures f WHERE {same})"
            )
            changed = scalar(con, "SELECT count(*) FROM _changed")
            updated = scalar(con, "SELECT count(*) FROM _changed JOIN fixtures USING (fixture_id)")
            con.execute(_UPSERT_FIXTURES)
            con.execute("DROP TABLE _changed")
            con.execute(
                "INSERT INTO fixture_rejects (load_id, source_file, row_number, reason, "
                "suggestions, raw, rejected_at) SELECT ?, ?, row_number, reason, suggestions, "
                "raw, now() FROM _staged_fixture_rejects", [load_id, path.name],
            )
            summary = LoadSummary(
                load_id=load_id, source_file=path.name, rows_read=frame.height,
                inserted=changed - updated, updated=updated,
                unchanged=fixtures.height - changed, rejected=rejects.height,
            )
            con.execute(
                "INSERT INTO fixture_loads VALUES (?, now(), ?, ?, ?, ?, ?, ?)",
                [load_id, path.name, summary.rows_read, summary.inserted, summary.updated,
                 summary.unchanged, summary.rejected],
            )
    finally:
        con.unregister("_staged_fixtures")
        con.unregister("_staged_fixture_rejects")
    return summary, rejects


# Built once from the module's column constants (no input reaches it).
_UPSERT_FIXTURES = (
    f"INSERT INTO fixtures ({', '.join(FIXTURE_COLUMNS)}, loaded_at, updated_at) "  # noqa: S608
    f"SELECT {', '.join(FIXTURE_COLUMNS)}, now(), now() FROM _changed "
    "ON CONFLICT (fixture_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in FIXTURE_COLUMNS if c != "fixture_id")
    + ", updated_at = now()"
)


def describe_rejects(rejects: pl.DataFrame, source_file: str, limit: int = 10) -> list[str]:
    """One line per rejected row, `file:row N: reason (did you mean …)`."""
    lines = []
    for row in rejects.head(limit).iter_rows(named=True):
        hint = f" (did you mean: {row['suggestions']})" if row["suggestions"] else ""
        lines.append(f"{source_file}: row {row['row_number']}: {row['reason']}{hint}")
    if rejects.height > limit:
        lines.append(f"… and {rejects.height - limit} more; see the fixture_rejects table")
    return lines


