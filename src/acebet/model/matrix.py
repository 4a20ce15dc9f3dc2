"""The model's input matrix: per-side features turned into differences from one player's
point of view. Antisymmetric inputs flip sign when the players swap, symmetric ones
don't; the model's exact symmetry rests on that split."""

from __future__ import annotations

import polars as pl

from acebet.domain import LEVELS, ROUND_ORDER, SURFACES
from acebet.features.elo import EloParams


def _log_rank(rank: pl.Expr) -> pl.Expr:
    return rank.fill_null(2000).clip(1, 2000).cast(pl.Float64).log()


def _log1p(value: pl.Expr) -> pl.Expr:
    return value.cast(pl.Float64).log1p()


def _code(col: str, codes: dict[str, int]) -> pl.Expr:
    """A category as its number; one outside `codes` is null, a missing value to the model."""
    return pl.col(col).replace_strict(codes, default=None, return_dtype=pl.Float64)


# Model inputs. Antisymmetric ones flip sign when the players swap; symmetric ones don't.
# This order is the model's column order (stored with each model and checked on load).
ANTISYMMETRIC = [
    "elo_diff", "selo_diff", "blend_diff", "log_n_diff", "log_sn_diff", "log_rank_diff",
    "log_points_diff", "rank_missing_diff", "age_diff", "height_diff", "left_diff",
    "form10_diff", "form25_diff", "sform10_diff", "log_days_since_diff", "m7_diff",
    "m14_diff", "m30_diff", "sets14_diff", "h2h_diff", "spw_diff", "rpw_diff", "sr_diff",
]
SYMMETRIC = ["surface_code", "level_code", "round_code", "best_of", "h2h_n", "min_log_n"]
FEATURES = ANTISYMMETRIC + SYMMETRIC

# The market-implied rating (features.market, when odds are stored): inputs appended
# after FEATURES only when the feature frame carries it, so a model trained without odds
# keeps its matrix. mkt_diff and log_mkt_n_diff are antisymmetric, min_log_mkt_n symmetric.
MARKET_INPUTS = ["mkt_diff", "log_mkt_n_diff", "min_log_mkt_n"]
SURFACE_MARKET_INPUTS = ["smkt_diff"]  # with the per-surface market rating, antisymmetric
FAST_MARKET_INPUTS = ["fmkt_diff"]  # with the faster market rating (C12), antisymmetric
# with the serve and return ratings (C15, features.serve), all antisymmetric
SERVE_INPUTS = ["ptm_diff", "srv_diff", "ret_diff"]
# C24 (an evaluation switch, off): the longer of the two players' layoffs, symmetric. The
# layoff difference alone reads two players back from injury as two rested ones; this
# lets the trees pull a match toward even odds when either side is rusty.
LAYOFF_INPUT = False
LAYOFF_INPUTS = ["max_log_days_since"]
# C39 (an evaluation switch, off): the week of the year, symmetric. Both the model and the
# closing line are overconfident in July-December and under in January-June (C21b); this
# lets the trees shrink or stretch a difference by the season.
SEASON_INPUT = False
SEASON_INPUTS = ["week_of_year"]
# C69 (an evaluation switch, off): the two players' mean age, symmetric. With only the
# age difference the trees cannot tell 19 against 24 from 30 against 35; with the mean
# they know both ages, so they can learn that a young player's rating lags his level
# (a fast riser) and an old one's leads it.
AGE_INPUT = False
AGE_INPUTS = ["mean_age"]
# C77 (an evaluation switch, off): how strong the match is, symmetric: the two players'
# mean surface-blended Elo and, with odds, their mean market rating. With differences only
# the trees read a 100-point gap between two top-10 players as one between two
# qualifiers, whose ratings are noisier and whose matches the market prices closer.
STRENGTH_INPUT = False
STRENGTH_INPUTS = ["mean_blend_elo", "mean_mkt"]
# C58 (with `features.elo.FADED_EXPERIENCE`, off): the less certain player's experience,
# faded by his layoff (C52), symmetric.
FADED_INPUTS = ["min_log_kn"]

# Per-side features whose plain difference is an input named after them ("elo": elo_diff).
_PLAIN_DIFFS = ["elo", "selo", "age", "height", "left", "form10", "form25", "sform10", "m7",
                "m14", "m30", "sets14"]


def model_matrix(feats: pl.DataFrame, params: EloParams = EloParams(), *, swap: bool = False
                 ) -> pl.DataFrame:
    """The model's inputs for each row, from p1's point of view (or p2's with `swap`).

    Each input is defined once, by name, and the frame takes FEATURES' order (then
    MARKET_INPUTS when the frame has the market rating), so the matrix cannot drift from
    the column list stored with a model."""
    a, b = ("p2", "p1") if swap else ("p1", "p2")
    w = params.surface_weight

    def diff(name: str, fn=lambda e: e) -> pl.Expr:  # noqa: ANN001
        return (fn(pl.col(f"{a}_{name}")) - fn(pl.col(f"{b}_{name}"))).cast(pl.Float64)

    inputs = {f"{name}_diff": diff(name) for name in _PLAIN_DIFFS} | {
        "blend_diff": (1 - w) * diff("elo") + w * diff("selo"),
        "log_n_diff": diff("n", _log1p),
        "log_sn_diff": diff("sn", _log1p),
        "log_rank_diff": diff("rank_now", _log_rank),
        "log_points_diff": diff("points_now", lambda e: _log1p(e.fill_null(0))),
        "rank_missing_diff": diff("rank_now", lambda e: e.is_null().cast(pl.Float64)),
        "log_days_since_diff": diff("days_since", _log1p),
        "h2h_diff": diff("h2h_wins"),
        "spw_diff": diff("spw_avg"),
        "rpw_diff": diff("rpw_avg"),
        "sr_diff": diff("spw_avg") + diff("rpw_avg"),
        "surface_code": _code("surface", {s: i for i, s in enumerate(SURFACES)}),
        "level_code": _code("tourney_level", {v: i for i, v in enumerate(LEVELS)}),
        "round_code": _code("round", ROUND_ORDER),
        "best_of": pl.col("best_of").cast(pl.Float64),
        "h2h_n": pl.col("h2h_n").cast(pl.Float64),
        "min_log_n": _log1p(pl.min_horizontal(pl.col(f"{a}_n"), pl.col(f"{b}_n"))),
        "max_log_days_since": _log1p(pl.max_horizontal(pl.col(f"{a}_days_since"),
                                                       pl.col(f"{b}_days_since"))),
        "week_of_year": pl.col("tourney_date").dt.week().cast(pl.Float64),
        "mean_age": ((pl.col(f"{a}_age") + pl.col(f"{b}_age")) / 2).cast(pl.Float64),
        "mean_blend_elo": ((1 - w) * (pl.col(f"{a}_elo") + pl.col(f"{b}_elo"))
                           + w * (pl.col(f"{a}_selo") + pl.col(f"{b}_selo"))) / 2,
    }
    if "p1_kn" in feats.columns:
        inputs["min_log_kn"] = _log1p(pl.min_horizontal(pl.col(f"{a}_kn"), pl.col(f"{b}_kn")))
    if "p1_mkt" in feats.columns:
        inputs |= {
            "mkt_diff": diff("mkt"),
            "log_mkt_n_diff": diff("mkt_n", _log1p),
            "min_log_mkt_n": _log1p(pl.min_horizontal(pl.col(f"{a}_mkt_n"),
                                                      pl.col(f"{b}_mkt_n"))),
            "mean_mkt": ((pl.col(f"{a}_mkt") + pl.col(f"{b}_mkt")) / 2).cast(pl.Float64),
        }
    if "p1_smkt" in feats.columns:
        inputs["smkt_diff"] = diff("smkt")
    if "p1_fmkt" in feats.columns:
        inputs["fmkt_diff"] = diff("fmkt")
    if "p1_ptm" in feats.columns:
        inputs |= {"ptm_diff": diff("ptm") / 2, "srv_diff": diff("srv"),
                   "ret_diff": diff("ret")}
    return feats.select(inputs[name].alias(name) for name in matrix_columns(feats))


def matrix_columns(feats: pl.DataFrame) -> list[str]:
    """The model's inputs for this feature frame, in column order."""
    columns = list(FEATURES)
    if "p1_mkt" in feats.columns:
        columns += MARKET_INPUTS
    if "p1_ptm" in feats.columns:
        columns += SERVE_INPUTS
    if "p1_smkt" in feats.columns:
        columns += SURFACE_MARKET_INPUTS
    if "p1_fmkt" in feats.columns:
        columns += FAST_MARKET_INPUTS
    if LAYOFF_INPUT:
        columns += LAYOFF_INPUTS
    if SEASON_INPUT:
        columns += SEASON_INPUTS
    if AGE_INPUT:
        columns += AGE_INPUTS
    if STRENGTH_INPUT:
        columns += [c for c in STRENGTH_INPUTS if c != "mean_mkt" or "p1_mkt" in feats.columns]
    if "p1_kn" in feats.columns:
        columns += FADED_INPUTS
    return columns


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
