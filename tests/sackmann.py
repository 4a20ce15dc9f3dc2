"""The real Sackmann data for tests: where it is, and players and activity from it.

`ACEBET_TEST_DATA` names the folder; when it is set and a part is missing, tests fail.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import polars as pl
import pytest

DATA_ENV = "ACEBET_TEST_DATA"
TOUR_LEVELS = ["G", "M", "A", "F"]


def data_dir(sub: str) -> Path | None:
    """`$ACEBET_TEST_DATA/sub`, None when the variable is unset; fails if it is missing."""
    root = os.environ.get(DATA_ENV)
    if not root:
        return None
    path = Path(root) / sub
    if not path.is_dir():
        pytest.fail(f"{DATA_ENV}={root!r} is set but {path} does not exist")
    return path


@cache
def load_sackmann(atp: Path, since: int = 1990) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(players, activity, tour-level matches) from a Sackmann folder.

    Activity spans tour and qual/chall files since `since`; matches are levels G, M, A, F.
    """
    players = pl.read_csv(atp / "atp_players.csv", infer_schema=False).select(
        pl.col("player_id").cast(pl.Int64),
        "name_first",
        "name_last",
        pl.col("dob").str.to_date("%Y%m%d", strict=False),
    )
    files = [p for p in sorted(atp.glob("atp_matches_*.csv")) if int(p.stem[-4:]) >= since]
    matches = (
        pl.scan_csv(files, infer_schema=False, missing_columns="insert", extra_columns="ignore")
        .select(
            "tourney_id",
            "tourney_level",
            pl.col("match_num").cast(pl.Int64, strict=False),
            pl.col("tourney_date").str.to_date("%Y%m%d", strict=False),
            pl.col("winner_id").cast(pl.Int64, strict=False),
            pl.col("loser_id").cast(pl.Int64, strict=False),
        )
        .collect()
    )
    long = pl.concat(
        [
            matches.select(pl.col("winner_id").alias("player_id"), "tourney_date"),
            matches.select(pl.col("loser_id").alias("player_id"), "tourney_date"),
        ]
    )
    activity = (
        long.drop_nulls()
        .group_by("player_id")
        .agg(
            pl.col("tourney_date").min().alias("first_date"),
            pl.col("tourney_date").max().alias("last_date"),
        )
    )
    tour = matches.filter(pl.col("tourney_level").is_in(TOUR_LEVELS))
    return players, activity, tour
