"""The timeline: every played match and fixture on one line, in the order it was known.

Each row's features are read from the state before it, so this order is what makes the
features point in time: a fixture dated the Monday of an event comes before that day's
results.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from acebet.db.history import matches_as_timeline, player_attributes
from acebet.domain import NO_PLAY, ROUND_ORDER

# Rows of the timeline: matches (result known) and fixtures (result unknown).
TIMELINE_COLUMNS = {
    "row_key": pl.String, "tourney_date": pl.Date, "tourney_id": pl.String,
    "match_num": pl.Int64, "tourney_level": pl.String, "surface": pl.String,
    "round": pl.String, "best_of": pl.Int32, "p1_id": pl.Int64, "p2_id": pl.Int64,
    "p1_won": pl.Boolean, "score": pl.String, "p1_rank": pl.Int32, "p2_rank": pl.Int32,
    "p1_points": pl.Int32, "p2_points": pl.Int32, "is_fixture": pl.Boolean,
    # serve statistics of a played match (unknown for fixtures and older matches)
    "p1_svpt": pl.Int32, "p1_sv_won": pl.Int32, "p2_svpt": pl.Int32, "p2_sv_won": pl.Int32,
}


def load_matches(
    con: duckdb.DuckDBPyConnection, *, until: dt.date | None = None
) -> pl.DataFrame:
    """Played matches from the store as timeline rows (p1 = winner), known by `until`."""
    return matches_as_timeline(con, until).cast(TIMELINE_COLUMNS)


def load_players(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The players' date-free attributes the features join on (hand, dob, height)."""
    return player_attributes(con)


def timeline(matches: pl.DataFrame, fixtures: pl.DataFrame | None = None) -> pl.DataFrame:
    """Matches and fixtures in the order their information became known.

    Within a date, fixtures come before played matches (Sackmann dates every round of an
    event with its Monday, so a fixture on that date must not see the event's results),
    and a tournament's rounds are in draw order; `row` is the position every as-of
    lookup uses.
    """
    frames = [_timeline_frame(matches)]
    if fixtures is not None and fixtures.height:
        frames.append(_timeline_frame(fixtures))
    rows = pl.concat(frames)
    return (
        rows.with_columns(
            pl.col("round").replace_strict(ROUND_ORDER, default=0, return_dtype=pl.Int8)
            .alias("_round_order"),
            (~pl.col("is_fixture") & ~pl.col("score").fill_null("").str.contains(NO_PLAY))
            .alias("played"),
            pl.col("score").fill_null("").str.contains("RET").alias("retired"),
        )
        .sort("tourney_date", ~pl.col("is_fixture"), "tourney_id", "_round_order",
              "match_num", "row_key", maintain_order=True)
        .drop("_round_order")
        .with_row_index("row")
        .with_columns(pl.col("row").cast(pl.Int64))
    )


def _timeline_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Timeline columns in order; serve statistics may be absent (fixtures, old data)."""
    absent = [c for c in TIMELINE_COLUMNS if c not in frame.columns]
    return frame.with_columns(pl.lit(None).alias(c) for c in absent).select(
        list(TIMELINE_COLUMNS)).cast(TIMELINE_COLUMNS)
