"""Point-in-time features for every match and fixture, in one pass over the history.

All rows (played matches and fixtures to score) are put on one timeline in the order
they were known. Each row's features are read from the state *before* it: sequential
passes for the ratings (Elo, the market-implied rating, the serve and return ratings:
the honest Python loops, each a few seconds over the whole history), and Polars as-of
joins for form, fatigue, head-to-head and rankings. Appending later rows cannot change
earlier features, because nothing ever looks forward.

The work is split by job: `timeline` orders the rows, `elo` rates the players, `history`
keeps the running states, `snapshot` stores the end of the history for daily scoring.
The model's input matrix lives with the model (`acebet.model.matrix`).
"""

from __future__ import annotations

import duckdb
import polars as pl

from acebet.db import match_odds
from acebet.features import market as FM
from acebet.features import serve as FS
from acebet.features.elo import EloParams, elo_pass, elo_probability, young_k_factor
from acebet.features.history import history_features, player_features
from acebet.features.market import (
    final_market_ratings,
    lookup_market_ratings,
    market_ratings,
)
from acebet.features.serve import serve_ratings
from acebet.features.snapshot import FEATURE_CODE_VERSION, Snapshot, history_fingerprint
from acebet.features.timeline import TIMELINE_COLUMNS, load_matches, load_players, timeline

__all__ = [
    "FEATURE_CODE_VERSION", "TIMELINE_COLUMNS", "EloParams", "Snapshot", "build",
    "elo_pass", "elo_probability", "final_market_ratings", "history_features",
    "history_fingerprint", "load_market", "load_matches", "load_players",
    "lookup_market_ratings", "market_ratings", "player_features", "serve_ratings",
    "timeline",
    "young_k_factor",
]


def load_market(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The stored closing probabilities of played matches (`acebet odds load`), the
    market-implied rating's input; empty when none are loaded."""
    return match_odds.market_probabilities(con)


def build(rows: pl.DataFrame, players: pl.DataFrame, params: EloParams = EloParams(),
          *, market: pl.DataFrame | None = None, market_k: float = 0.0,
          market_surface: bool = False) -> pl.DataFrame:
    """Every per-side feature for every timeline row, in timeline order.

    With `market` (vig-free closing probabilities of past matches, see
    `market_ratings`) and `market_k` > 0 the rows also carry the market-implied rating;
    without them the output is exactly what it always was."""
    facts = player_features(rows, players)
    ages = (facts["p1_age"].to_numpy(), facts["p2_age"].to_numpy()) if params.young_k else None
    ratings, _ = elo_pass(rows, params, ages=ages)
    parts = [rows, ratings, history_features(rows).drop("row"), facts.drop("row")]
    if market is not None and market_k > 0:
        parts.append(market_ratings(rows, market, market_k, surface=market_surface))
        if FM.MARKET_FAST_K:
            fast = market_ratings(rows, market, FM.MARKET_FAST_K)
            parts.append(fast.select(pl.col("p1_mkt").alias("p1_fmkt"),
                                     pl.col("p2_mkt").alias("p2_fmkt")))
    if FS.SERVE_K > 0:
        parts.append(serve_ratings(rows, FS.SERVE_K))
    return pl.concat(parts, how="horizontal")
