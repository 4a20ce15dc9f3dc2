"""One tennis vocabulary: the SQL views and the history agree with acebet.domain."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl

from acebet import domain

SQL = Path(__file__).resolve().parents[1] / "sql"
SCORES = ["6-4 6-3", "W/O", "Walkover", "6-2 3-1 RET", "DEF", "6-4 2-0 DEF", "UNK",
          "ABD", "6-3 abandoned", "NA", "", "  ", "7-6(5) 6-7(2) 7-5", None]


def _no_play_patterns() -> list[str]:
    """Every pattern a migration or view matches scores against."""
    text = "\n".join(p.read_text() for p in sorted(SQL.glob("*.sql")))
    return re.findall(r"regexp_matches\(\s*coalesce\(\w+\.score, ''\),\s*'([^']*)'\)", text)


def test_sql_no_play_pattern_is_the_domain_one() -> None:
    patterns = _no_play_patterns()
    assert patterns, "no score pattern found in sql/: the check would prove nothing"
    assert set(patterns) == {domain.NO_PLAY}


def test_sql_and_polars_classify_every_score_alike() -> None:
    con = duckdb.connect()
    in_sql = [con.execute("SELECT regexp_matches(coalesce(?, ''), ?)",
                          [score, domain.NO_PLAY]).fetchall()[0][0] for score in SCORES]
    con.close()
    in_polars = pl.Series(SCORES).fill_null("").str.contains(domain.NO_PLAY).to_list()
    assert in_sql == in_polars
    assert in_polars[:6] == [False, True, True, False, True, True]


def test_the_history_uses_only_known_codes(ingested_db: Path) -> None:
    con = duckdb.connect(str(ingested_db), read_only=True)
    surfaces, levels, rounds = (
        {r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM matches").fetchall()}  # noqa: S608
        for col in ("surface", "tourney_level", "round"))
    con.close()
    assert surfaces - {None} <= set(domain.SURFACES)
    assert levels <= set(domain.LEVELS)
    assert rounds <= set(domain.ROUND_ORDER)


def test_level_groups_nest() -> None:
    assert set(domain.TOUR_LEVELS) <= set(domain.FIXTURE_LEVELS) <= set(domain.LEVELS)


def test_quarterfinals_are_main_draw_matches_and_only_q1_to_q4_are_qualifying() -> None:
    rows = pl.DataFrame({
        "tourney_level": ["G", "A", "M", "A", "A", "F", "C", "D", "G"],
        "round": ["QF", "Q1", "R16", "Q4", "SF", "RR", "QF", "R32", None],
    })
    flags = rows.select(domain.tour_main_draw()).to_series().to_list()
    assert flags == [True, False, True, False, True, True, False, False, True]
    assert "QF" in domain.MAIN_DRAW_ROUNDS
    assert set(domain.QUALIFYING_ROUNDS) | set(domain.MAIN_DRAW_ROUNDS) == set(domain.ROUND_ORDER)
