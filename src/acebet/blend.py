"""The market-aware forecast: a logistic pool of the model and the vig-free market.

logit(p_blend) = w_model · logit(p_model) + w_market · logit(p_market), no intercept, so
swapping the players negates every logit and the blend stays symmetric. The weights are
fitted only on out-of-sample model probabilities dated before the period they are used
for (the validation window of a fit, earlier backtest periods), and stored with the model
version, so a score never uses weights that saw its own matches.

A fit's record is short (about 1,300 priced matches in a six-month validation window;
a backtest refits on the six months before each period it scores, `RECORD_MONTHS`, as
`train` has no more), so its own weights wander by 0.1-0.2. They are shrunk toward a
long-run pool (`PRIOR`) as if that pool were `PRIOR_MATCHES` matches of record
(EVALUATION.md, C67).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    import duckdb

# Fewer matches with odds than this are not fitted: the weights are the long-run pool's
# (after a long break, such as 2020's, a six-month window holds only a few priced
# matches); with no long-run pool (`PRIOR_MATCHES` 0) or no priced match, no blend.
MIN_MATCHES = 200
# The pool fitted on the protocol's matches of the tuning periods (2015-2020: the default
# command's out-of-sample forecasts, seed 7, and Pinnacle; `evaluate --fit-pool`),
# refitted with the youth shift (C71): 2021-22 never informed it.
PRIOR = {"model": 0.15, "market": 0.88}
PRIOR_MATCHES = 5000  # the prior's weight, in matches of record (0: the record alone)
# How many months of out-of-sample record a backtest refits the weights on, counted back
# from the period it scores: what `train` has, its validation window
# (`model.VALIDATION_MONTHS`), so a backtest measures the blend production gets (C81).
# 0 keeps the whole run's record so far, as before C81.
RECORD_MONTHS = 6
EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def pool(model_p: np.ndarray, market_p: np.ndarray, won: np.ndarray) -> tuple[float, float]:
    """The record's own (model, market) weights, not shrunk: the maximum-likelihood pool
    of the given matches, each with both probabilities (`won` is 1 when p1 won).
    `PRIOR` is this pool on the tuning periods' forecasts (`acebet evaluate --fit-pool`)."""
    from sklearn.linear_model import LogisticRegression  # training only

    x = np.column_stack([_logit(model_p), _logit(market_p)])
    y = np.asarray(won, float)
    # both orientations: without an intercept this is the symmetric fit, and both classes
    # occur even when every row is seen from the winner
    clf = LogisticRegression(fit_intercept=False, C=1e6)
    clf.fit(np.vstack([x, -x]), np.r_[y, 1 - y])
    return float(clf.coef_[0][0]), float(clf.coef_[0][1])


def fit_weights(model_p: np.ndarray, market_p: np.ndarray, won: np.ndarray
                ) -> dict[str, float] | None:
    """Pool weights from matches with a known outcome (`won` is 1 when p1 won), shrunk
    toward `PRIOR`; `PRIOR` itself when too few matches have both probabilities to fit;
    None when none has, or too few have and there is no prior."""
    model_p, market_p = np.asarray(model_p, float), np.asarray(market_p, float)
    won = np.asarray(won, float)
    ok = np.isfinite(model_p) & np.isfinite(market_p)
    n = int(ok.sum())
    if n < MIN_MATCHES:  # too few to fit: the long-run pool alone, if there is one
        if not (n and PRIOR_MATCHES):
            return None
        w_model, w_market = PRIOR["model"], PRIOR["market"]
    else:
        share = n / (n + PRIOR_MATCHES)
        w_model, w_market = (share * v + (1 - share) * PRIOR[k] for v, k in zip(
            pool(model_p[ok], market_p[ok], won[ok]), ("model", "market"), strict=True))
    return {"model": w_model, "market": w_market, "matches": n,
            "prior": dict(PRIOR), "prior_matches": PRIOR_MATCHES}


def blend_probability(weights: dict[str, float] | None, model_p: np.ndarray,
                      market_p: np.ndarray) -> np.ndarray:
    """P(p1 wins) from the pool; NaN where the market probability is missing (or there
    are no weights). The favourite's probability is computed once and the underdog gets
    1 minus it, as in `model.symmetric_probability`."""
    model_p = np.asarray(model_p, dtype=np.float64)
    market_p = np.asarray(market_p, dtype=np.float64)
    if weights is None:
        return np.full(len(model_p), np.nan)
    s = weights["model"] * _logit(model_p) + weights["market"] * _logit(market_p)
    favourite = 1.0 / (1.0 + np.exp(-np.abs(s)))
    out = np.where(s >= 0, favourite, 1.0 - favourite)
    return np.where(np.isfinite(market_p), out, np.nan)


def market_by_match(con: duckdb.DuckDBPyConnection, played: pl.DataFrame,
                    book: pl.DataFrame) -> pl.DataFrame:
    """Vig-free winner probabilities per played match (p1 is the winner): Pinnacle, the
    market average, and the blend's market input (Pinnacle, else the average)."""
    from acebet import odds as O
    from acebet.names import NameResolver

    matched = O.match_odds(
        book, played.select("tourney_id", "match_num", "tourney_date",
                            pl.col("p1_id").alias("winner_id"),
                            pl.col("p2_id").alias("loser_id")),
        NameResolver.from_db(con),
    )
    return matched.select(
        "tourney_id", "match_num",
        pl.col("pinnacle_prob_winner").alias("pinnacle_prob"),
        pl.col("avg_prob_winner").alias("market_avg_prob"),
        pl.coalesce("pinnacle_prob_winner", "avg_prob_winner").alias("market_prob"),
    ).unique(subset=["tourney_id", "match_num"], keep="first")


def describe(weights: dict[str, float] | None) -> str:
    """One line on the blend a model version will give, for `train`'s output: whether
    fixtures with odds get a blend, and from how much of its own record."""
    if weights is None:
        return ("no blend: no odds stored for the validation window "
                "(`acebet odds load DIR` stores them)")
    head = f"blend weights model {weights['model']:.3f}, market {weights['market']:.3f}"
    n = int(weights["matches"])
    if n < MIN_MATCHES:
        return f"{head}: the long-run pool's ({n:,} priced matches, too few to fit)"
    return f"{head} ({n:,} priced matches, shrunk toward the long-run pool)"


def weights_from(held_out: pl.DataFrame, market: pl.DataFrame) -> dict[str, float] | None:
    """Pool weights from out-of-sample `model_prob` of played matches (p1 = winner)."""
    rows = held_out.join(market, on=["tourney_id", "match_num"], how="inner").filter(
        pl.col("market_prob").is_not_null())
    return fit_weights(rows["model_prob"].to_numpy(), rows["market_prob"].to_numpy(),
                       np.ones(rows.height))
