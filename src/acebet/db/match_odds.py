"""The `match_odds` table: closing odds paired with played matches (sql/009_match_odds.sql).

`acebet odds load` writes it; the market-implied rating (features.market) reads it.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from acebet.store import query_frame, register_frame, scalar

COLUMNS = ["tourney_id", "match_num", "winner_id", "loser_id", "pinnacle_prob",
           "market_avg_prob", "source_file"]


def replace_files(con: duckdb.DuckDBPyConnection, files: list[str], paired: pl.DataFrame
                  ) -> tuple[int, int]:
    """Store the odds of each paired match (COLUMNS), replacing a match's earlier odds, and
    drop the rows stored earlier from these files that no longer pair (a corrected file
    or result); returns (stored, dropped). Call inside the caller's transaction."""
    register_frame(con, "_match_odds", paired.select(COLUMNS))
    try:
        dropped = con.execute(
            "DELETE FROM match_odds o WHERE list_contains(?, o.source_file) AND NOT EXISTS "
            "(SELECT 1 FROM _match_odds n WHERE n.tourney_id = o.tourney_id "
            "AND n.match_num = o.match_num)", [files]).fetchall()[0][0]
        con.execute("INSERT OR REPLACE INTO match_odds "
                    "(tourney_id, match_num, winner_id, loser_id, pinnacle_prob, "
                    "market_avg_prob, source_file, loaded_at) SELECT tourney_id, match_num, "
                    "winner_id, loser_id, pinnacle_prob, market_avg_prob, source_file, now() "
                    "FROM _match_odds")
    finally:
        con.unregister("_match_odds")
    return paired.height, int(dropped)


def market_probabilities(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The vig-free P(winner) per match: Pinnacle's, the market average's, and the market
    input of the rating and the blend (`market_prob`: Pinnacle's, else the average's).

    Read against the match as it is now: a result corrected since the odds were paired
    (winner and loser swapped) turns the probabilities round, and odds whose players no
    longer fit the match are left out until the next load pairs them again."""
    return query_frame(con, """
        SELECT o.tourney_id, o.match_num::BIGINT AS match_num,
               CASE WHEN swapped THEN 1 - pinnacle_prob ELSE pinnacle_prob END
                   AS pinnacle_prob,
               CASE WHEN swapped THEN 1 - market_avg_prob ELSE market_avg_prob END
                   AS market_avg_prob,
               coalesce(CASE WHEN swapped THEN 1 - pinnacle_prob ELSE pinnacle_prob END,
                        CASE WHEN swapped THEN 1 - market_avg_prob ELSE market_avg_prob END)
                   AS market_prob
        FROM (SELECT o.*, m.winner_id = o.loser_id AS swapped
              FROM match_odds o JOIN matches m USING (tourney_id, match_num)
              WHERE (m.winner_id, m.loser_id) IN ((o.winner_id, o.loser_id),
                                                  (o.loser_id, o.winner_id))) o
        ORDER BY o.tourney_id, o.match_num""")


def digest(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(count, sum of row hashes): changes whenever odds are added, changed or removed, so
    a stored feature snapshot built on other odds is seen to be stale."""
    count, total = con.execute(
        "SELECT count(*), coalesce(sum(hash(tourney_id, match_num, winner_id, loser_id, "
        "pinnacle_prob, market_avg_prob)), 0) FROM match_odds").fetchall()[0]
    return int(count), int(total)


def last_paired_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The date of the latest match with odds: the market rating stops moving after it."""
    return scalar(con, "SELECT max(m.tourney_date) FROM match_odds o JOIN matches m "
                       "USING (tourney_id, match_num)")
