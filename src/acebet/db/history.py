"""The history tables: `players` and `matches` (what ingest upserts and features, names
and snapshots read), and ingest's bookkeeping in `ingest_rejects` and `ingest_runs`.

The column constants are the tables' columns in table order (sql/001_core.sql), with the
Polars type ingest casts the file text to; every query here names columns from them or
literally, never from input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from acebet.store import query_frame, register_frame, scalar

if TYPE_CHECKING:
    from acebet.ingest import IngestSummary

INT, BIGINT, FLOAT, TEXT = pl.Int32, pl.Int64, pl.Float64, pl.String

# The Sackmann match schema, in file order (the table adds `source_file`).
MATCH_SCHEMA: dict[str, type[pl.DataType]] = {
    "tourney_id": TEXT, "tourney_name": TEXT, "surface": TEXT, "draw_size": INT,
    "tourney_level": TEXT, "tourney_date": pl.Date, "match_num": INT,
    "winner_id": BIGINT, "winner_seed": INT, "winner_entry": TEXT, "winner_name": TEXT,
    "winner_hand": TEXT, "winner_ht": INT, "winner_ioc": TEXT, "winner_age": FLOAT,
    "loser_id": BIGINT, "loser_seed": INT, "loser_entry": TEXT, "loser_name": TEXT,
    "loser_hand": TEXT, "loser_ht": INT, "loser_ioc": TEXT, "loser_age": FLOAT,
    "score": TEXT, "best_of": INT, "round": TEXT, "minutes": INT,
    "w_ace": INT, "w_df": INT, "w_svpt": INT, "w_1stIn": INT, "w_1stWon": INT,
    "w_2ndWon": INT, "w_SvGms": INT, "w_bpSaved": INT, "w_bpFaced": INT,
    "l_ace": INT, "l_df": INT, "l_svpt": INT, "l_1stIn": INT, "l_1stWon": INT,
    "l_2ndWon": INT, "l_SvGms": INT, "l_bpSaved": INT, "l_bpFaced": INT,
    "winner_rank": INT, "winner_rank_points": INT, "loser_rank": INT,
    "loser_rank_points": INT,
}
MATCH_KEY = ("tourney_id", "match_num")
MATCH_COLUMNS = (*MATCH_SCHEMA, "source_file")

# The Sackmann player schema, in file order (the table adds `name` and `source_file`).
PLAYER_SCHEMA: dict[str, type[pl.DataType]] = {
    "player_id": BIGINT, "name_first": TEXT, "name_last": TEXT, "hand": TEXT,
    "dob": pl.Date, "ioc": TEXT, "height": INT, "wikidata_id": TEXT,
}
PLAYER_KEY = ("player_id",)
PLAYER_COLUMNS = ("player_id", "name", *list(PLAYER_SCHEMA)[1:], "source_file")


# -- what ingest writes -------------------------------------------------------------------

def upsert_players(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> tuple[int, int]:
    """Insert new players and replace changed ones → (inserted, updated).

    `rows` has PLAYER_COLUMNS. Identical rows are not touched, so re-ingesting the same
    file writes nothing.
    """
    return _upsert(con, "players", rows, PLAYER_COLUMNS, PLAYER_KEY)


def upsert_matches(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> tuple[int, int]:
    """Insert new matches and replace changed ones (same tourney_id and match_num)
    → (inserted, updated). `rows` has MATCH_COLUMNS; identical rows are not touched."""
    return _upsert(con, "matches", rows, MATCH_COLUMNS, MATCH_KEY)


def _upsert(
    con: duckdb.DuckDBPyConnection, table: str, rows: pl.DataFrame, columns: Sequence[str],
    key: Sequence[str],
) -> tuple[int, int]:
    """Only new or changed rows are written: a no-op re-ingest must not rewrite 390K rows.

    Table and column names come from this module's constants, never from input.
    """
    staged = f"_staged_{table}"
    cols = ", ".join(f'"{c}"' for c in columns)
    on = " AND ".join(f'd."{k}" = t."{k}"' for k in key)
    register_frame(con, staged, rows)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _changed AS "  # noqa: S608
            f"SELECT {cols} FROM {staged} EXCEPT SELECT {cols} FROM {table}"
        )
    finally:
        con.unregister(staged)
    changed = scalar(con, "SELECT count(*) FROM _changed")
    updated = scalar(con, f"SELECT count(*) FROM _changed d JOIN {table} t ON {on}")  # noqa: S608
    if changed:
        con.execute(f"INSERT OR REPLACE INTO {table} ({cols}) SELECT {cols} FROM _changed")  # noqa: S608
    con.execute("DROP TABLE _changed")
    return changed - updated, updated


def replace_rejects(
    con: duckdb.DuckDBPyConnection, files: Sequence[str], rejects: pl.DataFrame
) -> None:
    """Drop the stored rejects of `files` and store `rejects` (ingest_id, source_file,
    line, reason, raw): a re-ingest of a file replaces its rejects instead of piling up."""
    con.execute("DELETE FROM ingest_rejects WHERE source_file IN (SELECT unnest(?))",
                [list(files)])
    register_frame(con, "_staged_rejects", rejects)
    try:
        con.execute(
            "INSERT INTO ingest_rejects (ingest_id, source_file, line, reason, raw) "
            "SELECT ingest_id, source_file, line, reason, raw FROM _staged_rejects"
        )
    finally:
        con.unregister("_staged_rejects")


def record_ingest_run(
    con: duckdb.DuckDBPyConnection, summary: IngestSummary, started_at: dt.datetime
) -> None:
    """One row per ingest, finished now, so an operator can see what each run changed."""
    con.execute(
        "INSERT INTO ingest_runs (ingest_id, started_at, finished_at, source, files, "
        "rows_read, inserted, updated, unchanged, rejected, players_inserted, "
        "players_updated) VALUES (?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [summary.ingest_id, started_at, summary.source, summary.files, summary.rows_read,
         summary.inserted, summary.updated, summary.unchanged, summary.rejected,
         summary.players_inserted, summary.players_updated],
    )


# -- what features, names and snapshots read ----------------------------------------------

def matches_as_timeline(
    con: duckdb.DuckDBPyConnection, until: dt.date | None = None
) -> pl.DataFrame:
    """Played matches known by `until` (all when None), in the timeline's columns with
    the winner as p1: the features replay them in order. A match of a player against
    himself (a data error) would rate him against himself, so it is left out."""
    sql = """
        SELECT tourney_id || '#' || match_num AS row_key, tourney_date, tourney_id,
               match_num::BIGINT AS match_num, tourney_level, surface, round, best_of,
               winner_id AS p1_id, loser_id AS p2_id, true AS p1_won, score,
               winner_rank AS p1_rank, loser_rank AS p2_rank,
               winner_rank_points AS p1_points, loser_rank_points AS p2_points,
               false AS is_fixture,
               w_svpt AS p1_svpt, w_1stWon + w_2ndWon AS p1_sv_won,
               l_svpt AS p2_svpt, l_1stWon + l_2ndWon AS p2_sv_won
        FROM matches
        WHERE winner_id <> loser_id AND (? IS NULL OR tourney_date <= ?)
    """
    return query_frame(con, sql, [until, until])


def player_attributes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Hand, birth date and height of every player: the features that do not depend on
    the date (age is computed from dob at each match)."""
    return query_frame(con, "SELECT player_id, hand, dob, height FROM players")


def player_names(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every player's name parts and birth date, for resolving names in fixture and odds
    files. Typed explicitly so an empty table still has the columns the resolver needs."""
    rows = con.execute(
        "SELECT player_id, name_first, name_last, name, dob FROM players"
    ).fetchall()
    return pl.DataFrame(
        rows,
        schema={"player_id": pl.Int64, "name_first": pl.String, "name_last": pl.String,
                "name": pl.String, "dob": pl.Date},
        orient="row",
    )


def player_activity(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """First and last match date of every player, winner or loser: two players with the
    same short name are told apart by who was playing at the time."""
    rows = con.execute(
        """
        SELECT player_id, min(d) AS first_date, max(d) AS last_date
        FROM (
            SELECT winner_id AS player_id, tourney_date AS d FROM matches
            UNION ALL
            SELECT loser_id AS player_id, tourney_date AS d FROM matches
        )
        WHERE player_id IS NOT NULL AND d IS NOT NULL
        GROUP BY player_id
        """
    ).fetchall()
    return pl.DataFrame(
        rows,
        schema={"player_id": pl.Int64, "first_date": pl.Date, "last_date": pl.Date},
        orient="row",
    )


def matches_digest(con: duckdb.DuckDBPyConnection) -> tuple[int, dt.date | None, int]:
    """(count, last date, sum of row hashes) over every column of `matches`: changes
    whenever a match is added, changed or removed, so a stored snapshot can tell it is
    stale without replaying the history."""
    row = ", ".join(f'"{c}"' for c in MATCH_COLUMNS)  # every column, named by constants
    count, end, digest = con.execute(
        f"SELECT count(*), max(tourney_date), coalesce(sum(hash({row})), 0) FROM matches"  # noqa: S608
    ).fetchall()[0]
    return count, end, digest


# -- what fixture loading and scoring ask of the history ----------------------------------

def last_match_date(con: duckdb.DuckDBPyConnection, until: dt.date | None = None
                    ) -> dt.date | None:
    """The last date with results, on or before `until` when given (None: no history).

    Names are resolved against the players active by then, and a prediction's history
    age is counted from it.
    """
    return scalar(con, "SELECT max(tourney_date) FROM matches "
                       "WHERE ? IS NULL OR tourney_date <= ?", [until, until])


def first_match_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The first date with results: a fixture before it has no history to speak of."""
    return scalar(con, "SELECT min(tourney_date) FROM matches")


def player_ids(con: duckdb.DuckDBPyConnection) -> set[int]:
    """Every known player id: a fixture naming any other id is refused."""
    return {int(r[0]) for r in con.execute("SELECT player_id FROM players").fetchall()}


def last_event_dates(con: duckdb.DuckDBPyConnection, levels: list[str], weeks: int
                     ) -> list[dt.date]:
    """The last `weeks` event dates with matches at `levels`, oldest first (the demo's
    replayed weeks)."""
    rows = con.execute(
        "SELECT DISTINCT tourney_date FROM matches WHERE tourney_level IN "
        "(SELECT unnest(?::VARCHAR[])) ORDER BY tourney_date DESC LIMIT ?",
        [levels, weeks]).fetchall()
    return sorted(r[0] for r in rows)


def matches_as_fixtures(con: duckdb.DuckDBPyConnection, days: list[dt.date],
                        levels: list[str], rounds: list[str], surfaces: list[str]
                        ) -> pl.DataFrame:
    """Played matches of the event dates `days` as fixture rows: players ordered by id, so
    player 1 is not always the winner. The match key and the result come along for
    matching odds; the caller drops them before the rows become fixtures."""
    return query_frame(con, """
        SELECT tourney_date, tourney_id, tourney_name, surface, tourney_level, round,
               best_of, least(winner_id, loser_id) AS p1_id,
               greatest(winner_id, loser_id) AS p2_id, match_num, winner_id, loser_id
        FROM matches
        WHERE tourney_date IN (SELECT unnest(?::DATE[]))
          AND tourney_level IN (SELECT unnest(?::VARCHAR[]))
          AND round IN (SELECT unnest(?::VARCHAR[]))
          AND surface IN (SELECT unnest(?::VARCHAR[]))
          AND best_of IN (3, 5)
        ORDER BY tourney_date, tourney_id, match_num""", [days, levels, rounds, surfaces])
