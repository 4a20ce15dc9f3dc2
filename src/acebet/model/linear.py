"""A logistic regression beside the trees (EVALUATION.md, C25).

On the same inputs a linear model extrapolates where the trees are flat (a rating gap
beyond the last split) and is smooth where they step; the mean of the two margins scored
better than the trees alone on every period and seed. Its inputs are the antisymmetric
columns of the model matrix, as they are and multiplied by three symmetric weights:
best of five, the less experienced player's experience, and his experience with odds
(the market inputs say nothing for a player without priced matches). With no intercept
the margin is odd in the inputs, so it flips sign exactly when the players swap, like
the trees' part.
"""

from __future__ import annotations

import numpy as np

from acebet.domain import SURFACES
from acebet.model.matrix import (
    ANTISYMMETRIC,
    FAST_MARKET_INPUTS,
    SERVE_INPUTS,
    SURFACE_MARKET_INPUTS,
)

# Share of the linear margin in the model's margin; 0 turns the learner off (the trees
# alone, as every model before C25).
WEIGHT = 0.5
# The antisymmetric inputs it reads, whichever of them the model matrix has. Not the two
# that are sums of others (blend_diff of elo_diff and selo_diff, sr_diff of spw_diff and
# rpw_diff): with them the fit has no unique optimum and stops wherever the solver does.
COLLINEAR = ("blend_diff", "sr_diff")
INPUTS = [c for c in ANTISYMMETRIC if c not in COLLINEAR] + [
    "mkt_diff", "log_mkt_n_diff", *SERVE_INPUTS, *SURFACE_MARKET_INPUTS, *FAST_MARKET_INPUTS]
MAX_LOG_N = 6.0       # log(1 + matches) at which a player counts as experienced (~400)
MAX_LOG_MKT_N = 5.0   # the same for matches with odds (~150)
C = 1.0               # inverse L2 strength on standardised inputs; ~no shrinkage at this size
# Newton steps (a 100-column Hessian is cheap) reach the optimum in a few iterations, ~2
# CPU-seconds on the full history; L-BFGS at its default tolerance stopped up to 0.5
# logit short on some rows, and needed 100 CPU-seconds to get there.
SOLVER = "newton-cholesky"
TOL = 1e-8
# Log-odds per unit of an input, a sanity bound far beyond any fit (the full history's
# largest is about 3; a fit on the first weeks with odds reached 125); `load` refuses a
# stored coefficient beyond it and `save` never stores one.
MAX_COEF = 10_000.0
# C76 (evaluation switch, off): every input once more for clay and once more for grass,
# so the regression can weigh a rating differently by surface (C31's surface blocks).
SURFACE_BLOCKS = False


def width(columns: list[str]) -> int:
    """How many coefficients a model on `columns` has."""
    inputs = sum(1 for c in INPUTS if c in columns)
    return inputs * (3 + ("min_log_mkt_n" in columns) + 2 * SURFACE_BLOCKS)


def _inputs_and_weights(X: np.ndarray, columns: list[str]
                        ) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """The regression's inputs and the symmetric weight of each block (None: the inputs as
    they are). A missing input counts as 0, no evidence either way; it is missing from
    both orientations alike, so the design still flips sign with the players."""
    X = np.asarray(X, dtype=np.float64)
    a = X[:, [columns.index(c) for c in INPUTS if c in columns]]
    a = np.where(np.isnan(a), 0.0, a)
    best_of_5 = (X[:, columns.index("best_of")] == 5).astype(np.float64)
    experience = np.clip(np.nan_to_num(X[:, columns.index("min_log_n")]), 0.0, MAX_LOG_N)
    weights: list[np.ndarray | None] = [None, best_of_5, experience / MAX_LOG_N]
    if "min_log_mkt_n" in columns:
        priced = np.clip(np.nan_to_num(X[:, columns.index("min_log_mkt_n")]), 0.0,
                         MAX_LOG_MKT_N)
        weights.append(priced / MAX_LOG_MKT_N)
    if SURFACE_BLOCKS:
        surface = X[:, columns.index("surface_code")]
        weights += [(surface == SURFACES.index(s)).astype(np.float64)
                    for s in ("Clay", "Grass")]
    return a, weights


def design(X: np.ndarray, columns: list[str]) -> np.ndarray:
    """The regression's inputs for rows of the model matrix `X` (columns `columns`): the
    antisymmetric inputs, then each block of them times its symmetric weight."""
    a, weights = _inputs_and_weights(X, columns)
    return np.hstack([a if w is None else a * w[:, None] for w in weights])


def fit(X_won: np.ndarray, columns: list[str], weights: np.ndarray | None = None
        ) -> np.ndarray:
    """Coefficients (in the inputs' own units) from matches seen from their winners.

    The symmetric fit takes each match in both orientations, labelled 1 and 0. Without an
    intercept the loser's view (design negated, label 0) has exactly the winner's loss,
    so every other match is turned round instead and C doubled: the same optimum from
    half the rows."""
    from sklearn.linear_model import LogisticRegression  # training only

    d = design(X_won, columns)
    # every block is scaled like its input, not by its own spread: a block that is rarely
    # non-zero (an unranked player with odds: 9 matches in 185,000) would otherwise be
    # blown up, and its coefficient with it, on a handful of matches
    k = sum(1 for c in INPUTS if c in columns)
    base = np.sqrt(np.mean(d[:, :k] * d[:, :k], axis=0))
    base[base == 0] = 1.0
    scale = np.tile(base, d.shape[1] // k)
    z = d / scale
    y = np.ones(len(z))
    z[1::2] *= -1.0
    y[1::2] = 0.0
    clf = LogisticRegression(fit_intercept=False, C=2.0 * C, tol=TOL, solver=SOLVER)
    clf.fit(z, y, sample_weight=weights)
    return clf.coef_[0] / scale


def margin(X: np.ndarray, columns: list[str], coef: np.ndarray) -> np.ndarray:
    """The linear margin (log-odds) of every row: `design(X) @ coef`, a block at a time,
    so scoring a million fixtures never holds the four-times-wider design."""
    a, weights = _inputs_and_weights(X, columns)
    blocks = np.asarray(coef, dtype=np.float64).reshape(len(weights), a.shape[1])
    out = np.zeros(len(a))
    for w, c in zip(weights, blocks, strict=True):
        out += a @ c if w is None else w * (a @ c)
    return out


def mixed(trees: np.ndarray, X: np.ndarray, columns: list[str], weight: float,
          coef: np.ndarray) -> np.ndarray:
    """The model's margin: the trees' raw score with the linear margin's `weight` share.

    One definition for validation, training and scoring, so the temperature is fitted on
    the very margin that is scored."""
    return (1.0 - weight) * trees + weight * margin(X, columns, coef)
