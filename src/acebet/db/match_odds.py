"""The `match_odds` table: closing odds paired with played matches (sql/009_match_odds.sql).

`acebet odds load` writes it; the market-implied rating (features.market) reads it.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from acebet.store import query_frame, register_frame, scalar

COLUMNS = ["tourney_id", "match_num", "pinnacle_prob", "market_avg_prob", "source_file"]


def upsert(con: duckdb.DuckDBPyConnection, paired: pl.DataFrame) -> int:
    """Insert or replace the odds of each paired match (COLUMNS); returns the row count.

    A match's odds are replaced by a later load, so correcting a file and loading it again
    fixes the table. Call inside the caller's transaction."""
    register_frame(con, "_match_odds", paired.select(COLUMNS))
    try:
        con.execute("INSERT OR REPLACE INTO match_odds "
                    "(tourney_id, match_num, pinnacle_prob, market_avg_prob, source_file, "
                    "loaded_at) SELECT tourney_id, match_num, pinnacle_prob, market_avg_prob, "
                    "source_file, now() FROM _match_odds")
    finally:
        con.unregister("_match_odds")
    return paired.height


def market_probabilities(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The vig-free P(winner) per match: Pinnacle's, the market average's, and the market
    input of the rating and the blend (`market_prob`: Pinnacle's, else the average's)."""
    return query_frame(
        con, "SELECT tourney_id, match_num::BIGINT AS match_num, pinnacle_prob, "
             "market_avg_prob, coalesce(pinnacle_prob, market_avg_prob) AS market_prob "
             "FROM match_odds ORDER BY tourney_id, match_num")


def digest(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(count, sum of row hashes): changes whenever odds are added, changed or removed, so
    a stored feature snapshot built on other odds is seen to be stale."""
    count, total = con.execute(
        "SELECT count(*), coalesce(sum(hash(tourney_id, match_num, pinnacle_prob, "
        "market_avg_prob)), 0) FROM match_odds").fetchall()[0]
    return int(count), int(total)


def last_paired_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The date of the latest match with odds: the market rating stops moving after it."""
    return scalar(con, "SELECT max(m.tourney_date) FROM match_odds o JOIN matches m "
                       "USING (tourney_id, match_num)")
