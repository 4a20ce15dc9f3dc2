"""Benchmark: resolving the bookmakers' `Last F.` names of every odds season.

Not collected by pytest. Reads the real Sackmann history and tennis-data odds:

    uv run python tests/bench/bench_names.py ../shared/data [--years 2005-2022]

Every winner and loser name of every odds row is resolved with its row's date by a fresh
resolver (its own per-name caches only, as in odds matching) and counted as resolved,
ambiguous or unknown. Where the truth is checkable it is compared: the truth of a row is
the single tour-level Sackmann match in its window (event start 21 days before to 3 days
after the odds date) whose winner's and loser's surnames both equal the bookmaker's
surnames (accents, case, spaces and hyphens ignored; one may be a part of a compound
surname). That check never looks at first names or typos, so it is independent of the
resolver. Printed: shares, the wrong-player rate among checkable resolved names, how
often the true player is among the suggestions (unknown) or candidates (ambiguous), the
slowest season's resolution time and examples of each failure.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from acebet.names import NameResolver, normalize  # noqa: E402
from acebet.odds import read_odds  # noqa: E402
from tests.sackmann import load_sackmann  # noqa: E402


def surname_key(name: str) -> str:
    """Compact surname of a bookmaker name: the tokens before the trailing initials."""
    raw = name.split()
    while len(raw) > 1 and ("." in raw[-1] or len(raw[-1]) == 1):
        raw.pop()
    return normalize(" ".join(raw)).replace(" ", "")


def fits(key: str, last: str) -> bool:
    if not key or not last:
        return False
    return key == last or (min(len(key), len(last)) >= 4 and (key in last or last in key))


def truths(odds: pl.DataFrame, tour: pl.DataFrame, players: pl.DataFrame) -> dict[int, tuple]:
    """odds row -> (winner id, loser id) where exactly one surname-fitting match exists."""
    last = {pid: normalize(ln or "").replace(" ", "") for pid, ln in
            players.select("player_id", "name_last").iter_rows()}
    by_day: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for day, w, lo in tour.select("tourney_date", "winner_id", "loser_id").drop_nulls().iter_rows():
        by_day[day.toordinal()].append((w, lo))
    out = {}
    for row, date, wn, ln in odds.select("_row", "date", "winner_name", "loser_name").iter_rows():
        if date is None or wn is None or ln is None:
            continue
        wk, lk = surname_key(wn), surname_key(ln)
        day = date.toordinal()
        pairs = {(w, lo) for start in range(day - 21, day + 4) for w, lo in by_day.get(start, ())
                 if fits(wk, last.get(w, "")) and fits(lk, last.get(lo, ""))}
        if len(pairs) == 1:
            out[row] = pairs.pop()
    return out


def typo_quality(players: pl.DataFrame, activity: pl.DataFrame, odds: pl.DataFrame,
                 truth: dict[int, tuple], display: dict[int, str], n: int) -> None:
    """Suggestions for bookmaker names with one surname letter replaced (seeded sample)."""
    rng = random.Random(11)
    pairs = sorted({(name, truth[row][side]) for row, wn, ln in
                    odds.select("_row", "winner_name", "loser_name").iter_rows()
                    if row in truth for side, name in ((0, wn), (1, ln))})
    sample = rng.sample(pairs, min(n, len(pairs)))
    resolver = NameResolver(players, activity)
    hits = first = 0
    start = time.perf_counter()
    for name, true_id in sample:
        cut = len(name.split()[0])
        i = rng.randrange(cut)
        letter = rng.choice([c for c in "abcdefghijklmnopqrstuvwxyz" if c != name[i].lower()])
        typo = name[:i] + (letter.upper() if i == 0 else letter) + name[i + 1:]
        got = resolver.suggest(typo)
        hits += display.get(true_id) in got
        first += bool(got) and got[0] == display.get(true_id)
    seconds = time.perf_counter() - start
    print(f"  one-letter surname typos ({len(sample)} distinct names, seed 11): true player "
          f"among the 3 suggestions {hits / len(sample):.1%}, first {first / len(sample):.1%};"
          f" {seconds / len(sample) * 1000:.1f} ms per suggestion")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--years", default="2005-2022")
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--typos", type=int, default=2000)
    args = parser.parse_args()
    lo, hi = (int(y) for y in args.years.split("-"))
    players, activity, tour = load_sackmann(args.data / "tennis_atp")
    odds = read_odds(args.data / "tennis_data_odds", years=range(lo, hi + 1))
    odds = odds.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))
    truth = truths(odds, tour, players)
    display = {pid: f"{f or ''} {la or ''}".strip() for pid, f, la in
               players.select("player_id", "name_first", "name_last").iter_rows()}

    status: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    checked = wrong = unknown_checkable = unknown_hit = amb_checkable = amb_hit = 0
    examples: dict[str, list[str]] = defaultdict(list)
    season_seconds: dict[int, float] = {}
    for year in range(lo, hi + 1):
        season = odds.filter(pl.col("date").dt.year() == year)
        if not season.height:
            continue
        resolver = NameResolver(players, activity)
        names, dates, rows, sides = [], [], [], []
        for row, date, wn, ln in season.select("_row", "date", "winner_name",
                                               "loser_name").iter_rows():
            for side, name in ((0, wn), (1, ln)):
                if name is not None:
                    names.append(name)
                    dates.append(date)
                    rows.append(row)
                    sides.append(side)
        start = time.perf_counter()
        results = resolver.resolve_many(names, dates)
        season_seconds[year] = time.perf_counter() - start
        for res, row, side in zip(results, rows, sides, strict=True):
            status[res.status] += 1
            for flag in getattr(res, "flags", ()):
                flagged[flag] += 1
            true_id = truth[row][side] if row in truth else None
            if true_id is None:
                continue
            label = f"{res.name!r} -> "
            if res.status == "resolved":
                checked += 1
                if res.player_id != true_id:
                    wrong += 1
                    for flag in getattr(res, "flags", ()):
                        flagged[f"{flag}, wrong"] += 1
                    examples["wrong"].append(label + f"{display.get(res.player_id)}, truth "
                                             f"{display.get(true_id)}")
            elif res.status == "unknown":
                unknown_checkable += 1
                if display.get(true_id) in res.suggestions:
                    unknown_hit += 1
                    examples["unknown, truth suggested"].append(
                        label + f"{res.suggestions}, truth {display.get(true_id)}")
                else:
                    examples["unknown, truth not suggested"].append(
                        label + f"{res.suggestions}, truth {display.get(true_id)}")
            else:
                amb_checkable += 1
                if true_id in res.candidates:
                    amb_hit += 1
                else:
                    examples["ambiguous, truth not a candidate"].append(
                        label + f"{[display.get(c) for c in res.candidates]}, truth "
                        f"{display.get(true_id)}")
    total = sum(status.values())
    print(f"odds names {total:,} ({odds.height:,} rows, {args.years}); rows with a checkable "
          f"truth {len(truth):,}")
    for key in ("resolved", "ambiguous", "unknown"):
        print(f"  {key:9} {status[key]:7,} ({status[key] / total:.3%})")
    print(f"  resolved with a flag: {dict(sorted(flagged.items()))}")
    print(f"  wrong player among checkable resolved: {wrong:,} of {checked:,} "
          f"({wrong / max(checked, 1):.4%})")
    print(f"  unknown with a checkable truth: {unknown_checkable:,}, truth among the "
          f"suggestions {unknown_hit:,}")
    print(f"  ambiguous with a checkable truth: {amb_checkable:,}, truth among the "
          f"candidates {amb_hit:,}")
    slowest = max(season_seconds, key=season_seconds.__getitem__)
    print(f"  resolution time per season: median "
          f"{sorted(season_seconds.values())[len(season_seconds) // 2]:.2f} s, slowest "
          f"{slowest} {season_seconds[slowest]:.2f} s, all {sum(season_seconds.values()):.1f} s")
    typo_quality(players, activity, odds, truth, display, args.typos)
    for kind, lines in examples.items():
        counts = Counter(lines)
        print(f"  {kind}: {len(lines)} ({len(counts)} distinct)")
        for line, n in counts.most_common(args.examples):
            print(f"    {n:4} x {line}")


if __name__ == "__main__":
    main()
