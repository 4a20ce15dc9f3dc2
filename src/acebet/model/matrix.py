"""The model's input matrix: per-side features turned into differences from one player's
point of view. Antisymmetric inputs flip sign when the players swap, symmetric ones
don't; the model's exact symmetry rests on that split."""

from __future__ import annotations

import polars as pl

from acebet.domain import LEVELS, ROUND_ORDER, SURFACES
from acebet.features.elo import EloParams


def _log_rank(col: str) -> pl.Expr:
    return pl.col(col).fill_null(2000).clip(1, 2000).cast(pl.Float64).log()


# Model inputs. Antisymmetric ones flip sign when the players swap; symmetric ones don't.
ANTISYMMETRIC = [
    "elo_diff", "selo_diff", "blend_diff", "log_n_diff", "log_sn_diff", "log_rank_diff",
    "log_points_diff", "rank_missing_diff", "age_diff", "height_diff", "left_diff",
    "form10_diff", "form25_diff", "sform10_diff", "log_days_since_diff", "m7_diff",
    "m14_diff", "m30_diff", "sets14_diff", "h2h_diff", "spw_diff", "rpw_diff", "sr_diff",
]
SYMMETRIC = ["surface_code", "level_code", "round_code", "best_of", "h2h_n", "min_log_n"]
FEATURES = ANTISYMMETRIC + SYMMETRIC


def model_matrix(feats: pl.DataFrame, params: EloParams = EloParams(), *, swap: bool = False
                 ) -> pl.DataFrame:
    """The model's inputs for each row, from p1's point of view (or p2's with `swap`)."""
    a, b = ("p2", "p1") if swap else ("p1", "p2")
    w = params.surface_weight

    def diff(name: str, fn=lambda e: e) -> pl.Expr:  # noqa: ANN001
        return (fn(pl.col(f"{a}_{name}")) - fn(pl.col(f"{b}_{name}"))).cast(pl.Float64)

    log1p = lambda e: e.cast(pl.Float64).log1p()  # noqa: E731
    return feats.select(
        diff("elo").alias("elo_diff"),
        diff("selo").alias("selo_diff"),
        ((1 - w) * diff("elo") + w * diff("selo")).alias("blend_diff"),
        diff("n", log1p).alias("log_n_diff"),
        diff("sn", log1p).alias("log_sn_diff"),
        (_log_rank(f"{a}_rank_now") - _log_rank(f"{b}_rank_now")).alias("log_rank_diff"),
        (pl.col(f"{a}_points_now").fill_null(0).cast(pl.Float64).log1p()
         - pl.col(f"{b}_points_now").fill_null(0).cast(pl.Float64).log1p())
        .alias("log_points_diff"),
        (pl.col(f"{a}_rank_now").is_null().cast(pl.Float64)
         - pl.col(f"{b}_rank_now").is_null().cast(pl.Float64)).alias("rank_missing_diff"),
        diff("age").alias("age_diff"),
        diff("height").alias("height_diff"),
        diff("left").alias("left_diff"),
        diff("form10").alias("form10_diff"),
        diff("form25").alias("form25_diff"),
        diff("sform10").alias("sform10_diff"),
        diff("days_since", log1p).alias("log_days_since_diff"),
        diff("m7").alias("m7_diff"),
        diff("m14").alias("m14_diff"),
        diff("m30").alias("m30_diff"),
        diff("sets14").alias("sets14_diff"),
        diff("h2h_wins").alias("h2h_diff"),
        diff("spw_avg").alias("spw_diff"),
        diff("rpw_avg").alias("rpw_diff"),
        (diff("spw_avg") + diff("rpw_avg")).alias("sr_diff"),
        pl.col("surface").replace_strict({s: i for i, s in enumerate(SURFACES)}, default=None,
                                         return_dtype=pl.Float64).alias("surface_code"),
        pl.col("tourney_level").replace_strict({v: i for i, v in enumerate(LEVELS)},
                                               default=None, return_dtype=pl.Float64)
        .alias("level_code"),
        pl.col("round").replace_strict(ROUND_ORDER, default=None, return_dtype=pl.Float64)
        .alias("round_code"),
        pl.col("best_of").cast(pl.Float64),
        pl.col("h2h_n").cast(pl.Float64),
        pl.min_horizontal(pl.col(f"{a}_n"), pl.col(f"{b}_n")).cast(pl.Float64).log1p()
        .alias("min_log_n"),
    )


def swap_sides(feats: pl.DataFrame) -> pl.DataFrame:
    """The same rows seen from the other player: every p1_/p2_ column trades places."""
    renames = {}
    for col in feats.columns:
        if col == "p1_won":
            continue
        if col.startswith("p1_"):
            renames[col] = "p2_" + col[3:]
        elif col.startswith("p2_"):
            renames[col] = "p1_" + col[3:]
    swapped = feats.rename(renames).select(feats.columns)
    return swapped.with_columns(
        pl.when(pl.col("p1_won").is_null()).then(None).otherwise(~pl.col("p1_won"))
        .alias("p1_won")
    ) if "p1_won" in feats.columns else swapped
