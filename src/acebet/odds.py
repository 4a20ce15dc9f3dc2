"""Bookmaker odds (tennis-data.co.uk yearly files) for backtests and the odds history.

`read_odds` loads the yearly CSVs into one frame with a fixed column set, whatever columns
a year happens to carry. `match_odds_with_report` resolves the bookmakers' player names with
a `NameResolver` and attaches each odds row to at most one Sackmann match (same winner and
loser, odds date close to the event's start), returning the matched rows plus a
`MatchReport` with the coverage numbers; `match_odds` returns only the frame and logs them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from acebet.errors import InputError
from acebet.names import NameResolver, Resolution

log = logging.getLogger(__name__)

YEAR_FILE = re.compile(r"^(\d{4})\.csv$")

#: Output column -> tennis-data column.
TEXT_COLUMNS = {
    "tournament": "Tournament",
    "series": "Series",
    "surface": "Surface",
    "round": "Round",
    "winner_name": "Winner",
    "loser_name": "Loser",
    "comment": "Comment",
}
ODDS_COLUMNS = {
    "ps_w": "PSW",
    "ps_l": "PSL",
    "avg_w": "AvgW",
    "avg_l": "AvgL",
    "b365_w": "B365W",
    "b365_l": "B365L",
    "max_w": "MaxW",
    "max_l": "MaxL",
}
OUTPUT_COLUMNS = [
    "date",
    "tournament",
    "series",
    "surface",
    "round",
    "best_of",
    "winner_name",
    "loser_name",
    "comment",
    *ODDS_COLUMNS,
    "source_file",
]
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S")
#: Decimal odds bookmakers quote: the shortest price is 1.001, the longest 1000. Anything
#: else is a typo or garbage (the 2005-2022 files hold a few, up to 42586 and down to 0.97)
#: and would turn into a confident market probability.
ODDS_MIN, ODDS_MAX = 1.001, 1000.0


def _odds_files(folder: Path, years: Iterable[int] | None) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"{folder}: odds folder not found")
    if years is None:
        files = sorted(p for p in folder.iterdir() if YEAR_FILE.match(p.name) and p.is_file())
        if not files:
            raise InputError(f"{folder}: no yearly odds files (YYYY.csv) found")
        return files
    wanted = sorted({int(y) for y in years})
    files = [folder / f"{y}.csv" for y in wanted if (folder / f"{y}.csv").is_file()]
    if not files:
        raise InputError(f"{folder}: no odds files for {_span(wanted)}")
    if len(files) < len(wanted):
        have = {int(p.stem) for p in files}
        log.warning("%s: no odds files for %s", folder, [y for y in wanted if y not in have])
    return files


def _span(years: list[int]) -> str:
    if not years:
        return "the requested years (none given)"
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


def _text(col: str | None) -> pl.Expr:
    if col is None:
        return pl.lit(None, dtype=pl.String)
    stripped = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def _odds(col: str | None) -> pl.Expr:
    if col is None:
        return pl.lit(None, dtype=pl.Float64)
    value = pl.col(col).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    return pl.when(value.is_between(ODDS_MIN, ODDS_MAX)).then(value).otherwise(None)


def _read_one(path: Path) -> pl.DataFrame:
    try:
        raw = pl.read_csv(
            path,
            infer_schema=False,
            encoding="utf8-lossy",
            truncate_ragged_lines=True,
            raise_if_empty=False,
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"{path}: unreadable odds file ({exc})") from exc
    # Headers sometimes carry stray spaces; match them case-insensitively.
    by_key = {c.strip().lower(): c for c in raw.columns}

    def col(name: str) -> str | None:
        return by_key.get(name.lower())

    date_col = col("Date")
    if date_col is None or col("Winner") is None or col("Loser") is None:
        raise InputError(f"{path}: not a tennis-data odds file (needs Date, Winner, Loser)")
    date_text = pl.col(date_col).cast(pl.String).str.strip_chars()
    date = pl.coalesce([date_text.str.to_date(fmt, strict=False) for fmt in DATE_FORMATS]).alias(
        "date"
    )
    best_of = col("Best of")
    frame = raw.select(
        date,
        *(_text(col(src)).alias(out) for out, src in TEXT_COLUMNS.items()),
        (
            _text(best_of).cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)
            if best_of
            else pl.lit(None, dtype=pl.Int64)
        ).alias("best_of"),
        *(_odds(col(src)).alias(out) for out, src in ODDS_COLUMNS.items()),
        pl.lit(path.name).alias("source_file"),
    )
    # Drop blank trailer lines, keep anything that names a player or a date.
    frame = frame.filter(
        pl.any_horizontal(pl.col("date", "winner_name", "loser_name").is_not_null())
    )
    return frame.select(OUTPUT_COLUMNS)


def require_years(folder: Path | str, years: Iterable[int]) -> None:
    """Refuse, before any long work, an odds folder lacking a year the work will need."""
    folder = Path(folder)
    missing = [y for y in sorted(set(years)) if not (folder / f"{y}.csv").is_file()]
    if missing:
        raise InputError(f"{folder}: no odds file for {', '.join(map(str, missing))} "
                         f"(needs {', '.join(f'{y}.csv' for y in missing)})")


def read_odds(folder: Path | str, years: Iterable[int] | None = None) -> pl.DataFrame:
    """Read tennis-data.co.uk yearly files `folder/YYYY.csv` (all of them, or `years`).

    Columns: date (Date), tournament, series, surface, round, best_of (Int64), winner_name,
    loser_name, comment, ps_w, ps_l, avg_w, avg_l, b365_w, b365_l, max_w, max_l (Float64,
    null where the year lacks the bookmaker or the cell is empty, junk or outside
    ODDS_MIN-ODDS_MAX), source_file, sorted by date. A missing folder raises InputError, as does a
    `years` selection without any file; requested years without a file are skipped with a
    warning (backtests may run past the odds data).
    """
    files = _odds_files(Path(folder), years)
    return pl.concat([_read_one(p) for p in files], how="vertical").sort(
        "date", maintain_order=True, nulls_last=True
    )


def vig_free(odds_a: pl.Expr, odds_b: pl.Expr) -> pl.Expr:
    """Probability of A implied by decimal odds, margin removed proportionally.

    (1/a) / (1/a + 1/b); null when either price is null.
    """
    inv_a = 1.0 / odds_a
    inv_b = 1.0 / odds_b
    return inv_a / (inv_a + inv_b)


@dataclass(frozen=True)
class MatchReport:
    """Coverage of one matching run.

    odds_rows: rows in, walkovers aside (walkover_rows); resolved_rows: rows whose winner
    and loser names both resolved;
    rescued_rows: rows with a name left ambiguous or unknown that were still pinned to a
    single Sackmann match (the resolved or candidate opponent, that week, a player whose
    surname fits); matched_rows: rows attached to a Sackmann match (resolved or rescued).
    `unresolved` counts the rows in which each name failed to resolve, keyed by
    (name, status) with status "ambiguous" or "unknown", most frequent first.
    """

    odds_rows: int
    resolved_rows: int
    rescued_rows: int
    matched_rows: int
    unresolved: dict[tuple[str, str], int] = field(default_factory=dict)
    walkover_rows: int = 0  # left out before the others are counted: never played

    @property
    def resolved_share(self) -> float:
        return self.resolved_rows / self.odds_rows if self.odds_rows else 0.0

    @property
    def matched_share(self) -> float:
        return self.matched_rows / self.odds_rows if self.odds_rows else 0.0

    def summary(self) -> str:
        return (
            f"odds rows {self.odds_rows}: both names resolved {self.resolved_rows} "
            f"({self.resolved_share:.2%}), rescued by match {self.rescued_rows}, "
            f"matched {self.matched_rows} ({self.matched_share:.2%}); "
            f"{len(self.unresolved)} distinct names unresolved; {self.walkover_rows} "
            "walkovers left out"
        )


@dataclass(frozen=True)
class _Side:
    """One player slot of an odds row: its name and the ids it resolved to (one or several)."""

    name: str | None
    anchor: tuple[int, ...]
    player_id: int | None = None  # set when the name resolved

    def admits(self, pid: int, resolver: NameResolver) -> bool:
        if pid in self.anchor:
            return True
        return self.name is not None and resolver.surname_fits(self.name, pid)


def _rescue_pairs(
    rows: list[tuple[int, dt.date, _Side, _Side]],
    sack: pl.DataFrame,
    resolver: NameResolver,
    days_before: int,
    days_after: int,
) -> tuple[list[tuple[int, int]], set[int]]:
    """(odds row, match) pairs for rows the exact pass could not place.

    Sackmann matches in the row's window are collected from the ids a side resolved to
    (or its ambiguous candidates); the other side then needs its own ids or just a fitting
    surname (an unknown name, or a bookmaker's wrong initial: `Guccione A.` for Chris).
    The row is rescued when exactly one (winner, loser) pair fits.
    """
    by_winner: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    by_loser: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    columns = ("_match", "tourney_date", "winner_id", "loser_id")
    for idx, day, wid, lid in sack.select(columns).iter_rows():
        entry = (idx, day.toordinal(), wid, lid)
        by_winner[wid].append(entry)
        by_loser[lid].append(entry)
    pairs: list[tuple[int, int]] = []
    rescued: set[int] = set()
    for row, date, winner, loser in rows:
        day = date.toordinal()
        pool: dict[int, tuple[int, int, int]] = {}
        for index, side in ((by_winner, winner), (by_loser, loser)):
            for pid in side.anchor:
                for idx, start, wid, lid in index.get(pid, ()):
                    if start - days_before <= day <= start + days_after:
                        pool[idx] = (idx, wid, lid)
        fits = [
            (idx, wid, lid)
            for idx, wid, lid in pool.values()
            if winner.admits(wid, resolver) and loser.admits(lid, resolver)
        ]
        if len({(wid, lid) for _, wid, lid in fits}) == 1:
            pairs.extend((row, idx) for idx, _, _ in fits)
            rescued.add(row)
    return pairs, rescued


def match_odds_with_report(
    odds: pl.DataFrame,
    matches: pl.DataFrame,
    resolver: NameResolver,
    *,
    days_before: int = 3,
    days_after: int = 21,
) -> tuple[pl.DataFrame, MatchReport]:
    """Attach odds rows (from `read_odds`) to Sackmann matches; return (matched, report).

    Names are resolved with the row's date. A row fits a match with the same winner_id and
    loser_id when the odds date lies in [tourney_date - days_before, tourney_date +
    days_after] (tourney_date is the event's Monday; Slams last two weeks). Rows whose
    names stay ambiguous or unknown are rescued when that window holds exactly one fitting
    pair (see `_rescue_pairs`). Pairs are taken nearest tourney_date first and each odds row
    and each Sackmann match is used at most once. Unmatched rows are left out.

    Columns: tourney_id, match_num, tourney_date, winner_id, loser_id,
    pinnacle_prob_winner (PSW/PSL), avg_prob_winner (AvgW/AvgL), b365_prob_winner
    (B365W/B365L), all vig-free (null without both prices), then the `read_odds` columns.
    """
    need = {"tourney_id", "match_num", "tourney_date", "winner_id", "loser_id"}
    missing = need - set(matches.columns)
    if missing:
        raise InputError(f"matches frame lacks columns {sorted(missing)}")
    need = set(OUTPUT_COLUMNS) - set(odds.columns)
    if need:
        raise InputError(f"odds frame lacks columns {sorted(need)}")
    # a walkover was never played: its price is no view of a match, and left in it could
    # pair with another meeting of the same players that week
    walkovers = odds.filter(pl.col("comment").fill_null("") == "Walkover").height
    odds = odds.filter(pl.col("comment").fill_null("") != "Walkover")
    odds = odds.with_row_index("_row").with_columns(
        pl.col("_row").cast(pl.Int64), pl.col("date").cast(pl.Date)
    )
    memo: dict[tuple[str, dt.date | None], Resolution] = {}
    unresolved: Counter[tuple[str, str]] = Counter()

    def side(name: str | None, date: dt.date | None) -> _Side:
        if name is None:
            return _Side(None, ())
        res = memo.get((name, date))
        if res is None:
            res = memo[(name, date)] = resolver.resolve(name, date)
        if res.player_id is None:
            unresolved[(name, res.status)] += 1
            return _Side(name, res.candidates)
        return _Side(name, (res.player_id,), res.player_id)

    sides: dict[int, tuple[dt.date | None, _Side, _Side]] = {}
    for row, date, wname, lname in odds.select(
        "_row", "date", "winner_name", "loser_name"
    ).iter_rows():
        sides[row] = (date, side(wname, date), side(lname, date))
    ids = pl.DataFrame(
        [(row, w.player_id, lo.player_id) for row, (_, w, lo) in sides.items()],
        schema={"_row": pl.Int64, "winner_id": pl.Int64, "loser_id": pl.Int64},
        orient="row",
    )
    both = (
        odds.select("_row", "date")
        .join(ids, on="_row", how="inner")
        .filter(pl.col("winner_id").is_not_null() & pl.col("loser_id").is_not_null())
    )

    sack = matches.select(
        pl.col("tourney_id").cast(pl.String),
        pl.col("match_num").cast(pl.Int64),
        pl.col("tourney_date").cast(pl.Date),
        pl.col("winner_id").cast(pl.Int64),
        pl.col("loser_id").cast(pl.Int64),
    ).with_row_index("_match")
    sack = sack.with_columns(pl.col("_match").cast(pl.Int64))
    exact = (
        both.join(sack, on=["winner_id", "loser_id"], how="inner")
        .filter(
            pl.col("date").is_between(
                pl.col("tourney_date") - pl.duration(days=days_before),
                pl.col("tourney_date") + pl.duration(days=days_after),
            )
        )
        .select("_row", "_match")
    )
    placed = set(exact["_row"].to_list())
    pending = [
        (row, date, w, lo)
        for row, (date, w, lo) in sides.items()
        if row not in placed and date is not None and (w.anchor or lo.anchor)
    ]
    rescue, rescued = _rescue_pairs(pending, sack, resolver, days_before, days_after)
    candidates = pl.concat(
        [
            exact,
            pl.DataFrame(rescue, schema={"_row": pl.Int64, "_match": pl.Int64}, orient="row"),
        ]
    )
    ranked = (
        candidates.join(odds.select("_row", "date"), on="_row")
        .join(sack.select("_match", "tourney_date", "match_num"), on="_match")
        .with_columns(_dist=(pl.col("date") - pl.col("tourney_date")).dt.total_days().abs())
        .sort("_dist", "date", "_row", "tourney_date", "match_num")
    )
    used_rows: set[int] = set()
    used_matches: set[int] = set()
    chosen: list[tuple[int, int]] = []
    for row, match in ranked.select("_row", "_match").iter_rows():
        if row not in used_rows and match not in used_matches:
            used_rows.add(row)
            used_matches.add(match)
            chosen.append((row, match))
    assignment = pl.DataFrame(chosen, schema={"_row": pl.Int64, "_match": pl.Int64}, orient="row")
    matched = (
        odds.join(assignment, on="_row", how="inner")
        .join(sack, on="_match", how="inner")
        .sort("_row")
        .select(
            "tourney_id",
            "match_num",
            "tourney_date",
            "winner_id",
            "loser_id",
            vig_free(pl.col("ps_w"), pl.col("ps_l")).alias("pinnacle_prob_winner"),
            vig_free(pl.col("avg_w"), pl.col("avg_l")).alias("avg_prob_winner"),
            vig_free(pl.col("b365_w"), pl.col("b365_l")).alias("b365_prob_winner"),
            *OUTPUT_COLUMNS,
        )
    )
    report = MatchReport(
        odds_rows=odds.height,
        resolved_rows=both.height,
        rescued_rows=len(rescued & used_rows),
        matched_rows=matched.height,
        unresolved=dict(unresolved.most_common()),
        walkover_rows=walkovers,
    )
    return matched, report


def match_odds(
    odds: pl.DataFrame,
    matches: pl.DataFrame,
    resolver: NameResolver,
    **kwargs: int,
) -> pl.DataFrame:
    """`match_odds_with_report` returning only the frame; the report is logged at INFO."""
    matched, report = match_odds_with_report(odds, matches, resolver, **kwargs)
    log.info("odds matching: %s", report.summary())
    return matched


@dataclass(frozen=True)
class OddsLoad:
    """What `store_odds` did: files and rows read, rows paired with a played match, and
    the pairing report (names that did not resolve)."""

    files: int
    rows_read: int
    stored: int
    dropped: int  # stored earlier from these files, no longer paired (a corrected row)
    report: MatchReport


def store_odds(con: duckdb.DuckDBPyConnection, folder: Path | str,
               years: Iterable[int] | None = None) -> OddsLoad:
    """Pair the yearly odds files with the played matches in the store and keep the
    vig-free closing probabilities in `match_odds` (replacing a match's earlier odds).

    The daily job loads the latest year's file as results come in, so the market-implied
    rating keeps moving with the history it is trained on (features.market).
    """
    from acebet.db import match_odds as match_odds_db
    from acebet.features.timeline import load_matches, timeline
    from acebet.store import transaction

    book = read_odds(folder, years)
    files = book["source_file"].unique().sort().to_list()
    dates = book["date"].drop_nulls()
    if dates.is_empty():
        raise InputError(f"{folder}: no odds row has a readable date")
    # played matches only (no walkovers), as the backtest pairs them
    played = timeline(load_matches(con)).filter(pl.col("played") & pl.col(
        "tourney_date").is_between(dates.min() - dt.timedelta(days=21),
                                   dates.max() + dt.timedelta(days=3)))
    if played.is_empty():
        raise InputError(f"{folder}: the history has no matches from {dates.min()} to "
                         f"{dates.max()}; ingest them first (`acebet ingest`)")
    paired, report = match_odds_with_report(
        book, played.select("tourney_id", "match_num", "tourney_date",
                            pl.col("p1_id").alias("winner_id"),
                            pl.col("p2_id").alias("loser_id")),
        NameResolver.from_db(con))
    if not report.matched_rows:  # before writing: such a file must not empty its year
        raise InputError(f"{folder}: none of {book.height:,} odds rows matched a played "
                         "match in the history (ingest the history of those years first)")
    usable = paired.filter(pl.col("pinnacle_prob_winner").is_not_null()
                           | pl.col("avg_prob_winner").is_not_null()).select(
        "tourney_id", "match_num", "winner_id", "loser_id",
        pl.col("pinnacle_prob_winner").alias("pinnacle_prob"),
        pl.col("avg_prob_winner").alias("market_avg_prob"), "source_file")
    with transaction(con):
        stored, dropped = match_odds_db.replace_files(con, files, usable)
    log.info("odds loaded", extra={"files": len(files), "rows_read": book.height,
                                   "stored": stored, "dropped": dropped,
                                   "matched": report.matched_rows})
    return OddsLoad(files=len(files), rows_read=book.height, stored=stored, dropped=dropped,
                    report=report)
