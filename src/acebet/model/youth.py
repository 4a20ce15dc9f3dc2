"""C71 (an evaluation switch, `model.YOUTH_AGE`, off): a shift of the logit toward the
younger side, learnt walking forward from the backtest's own out-of-sample forecasts.

The history the model trains on shows no youth effect on average, so no input can
teach it one (C69); from 2019 on, young players were underrated more and more, by the
closing line too. The shift is fitted each month on the record so far, so it stays near
zero while there is no effect and follows one when it appears. The sign input is
antisymmetric, so the forecast stays symmetric.
"""

from __future__ import annotations

import numpy as np
import polars as pl

MIN_MATCHES = 100  # fewer record matches with one young side than this: no shift
BOUND = 1.0  # the shift's range, in logits


def young_side(frame: pl.DataFrame, age: float) -> np.ndarray:
    """+1 where only p1 is under `age`, -1 where only p2 is, else 0 (unknown age: not
    young)."""
    def young(side: str) -> np.ndarray:
        return (frame[f"{side}_age"] < age).fill_null(False).to_numpy().astype(np.float64)

    return young("p1") - young("p2")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


def fit_shift(model_p: np.ndarray, side: np.ndarray, won: np.ndarray) -> float:
    """The logit shift toward the young side that best fits the record (`won` is 1 when
    p1 won), the model's logit held as it is; 0 on too short a record."""
    from scipy.optimize import minimize_scalar  # evaluation only

    keep = side != 0
    if keep.sum() < MIN_MATCHES:
        return 0.0
    z, s, y = _logit(model_p)[keep], side[keep], np.asarray(won, np.float64)[keep]

    def loss(c: float) -> float:
        m = z + c * s
        return float(np.mean(np.logaddexp(0.0, -m) * y + np.logaddexp(0.0, m) * (1 - y)))

    return float(minimize_scalar(loss, bounds=(-BOUND, BOUND), method="bounded").x)


def shifted(model_p: np.ndarray, shift: float, side: np.ndarray) -> np.ndarray:
    """P(p1 wins) with the logit moved by `shift` toward the young side; a match without
    one young side keeps its forecast exactly."""
    model_p = np.asarray(model_p, dtype=np.float64)
    moved = 1.0 / (1.0 + np.exp(-(_logit(model_p) + shift * side)))
    return np.where(side == 0, model_p, moved)
