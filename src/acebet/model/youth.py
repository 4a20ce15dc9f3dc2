"""C71 (`model.YOUTH_AGE`, adopted): a shift of the logit toward the young side, learnt
from the model's own out-of-sample forecasts: `train` fits it on the 18 months before
the cut-off (`RECORD_MONTHS`; `model.youth_record` forecasts them walking forward) and
stores it with the model version; a backtest refits it every month on the 18 months of
its out-of-sample record before the month, as it refits the blend's weights.

The history the model trains on shows no youth effect on average, so no input can
teach it one (C69); from 2019 on, young players were underrated more and more, by the
closing line too. The shift is fitted on the recent record, so it stays near zero while
there is no effect and follows one when it appears. The sign input is antisymmetric
and the shift is added to the symmetric margin (`model.symmetric_probability`), so the
forecast stays exactly symmetric.
"""

from __future__ import annotations

import numpy as np
import polars as pl

MIN_MATCHES = 100  # fewer record matches with one young side than this: no shift
BOUND = 1.0  # the shift's range, in logits
# The fitted shift is shrunk toward 0 as if this many matches of record had found none:
# six months hold a few hundred matches with one young side, the 18 months `train` fits
# on about 2,400 at the end of the history (C82).
SHRINK_MATCHES = 1000
# How many months of out-of-sample record the shift is fitted on, counted back from the
# cut-off (`train`) or the period a backtest scores. Beyond the validation window
# (`model.VALIDATION_MONTHS`) `train` builds the record by walking forward
# (`model.youth_record`, C82), as a backtest's first fit does, so a backtest measures the
# shift production gets (C81). 18 gained on every period over 6 (C82); 6 gives C81's
# record (the validation window alone), 0 the whole run's record, as before C81.
RECORD_MONTHS = 18


def young_side(frame: pl.DataFrame, age: float) -> np.ndarray:
    """+1 where only p1 is under `age`, -1 where only p2 is, else 0 (unknown age: not
    young)."""
    def young(side: str) -> np.ndarray:
        return (frame[f"{side}_age"] < age).fill_null(False).to_numpy().astype(np.float64)

    return young("p1") - young("p2")


def logit_shift(spec: dict | None, frame: pl.DataFrame) -> np.ndarray | None:
    """The stored shift (`metadata.youth`) for each row of `frame`, in logits; None when
    there is none to apply."""
    if not spec or not spec["shift"]:
        return None
    return spec["shift"] * young_side(frame, spec["age"])


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


def fit_record(model_p: np.ndarray, ages: pl.DataFrame, age: float) -> dict[str, float]:
    """The stored form of the shift: fitted on a record of out-of-sample forecasts of
    played matches (p1 = winner, `ages` holding p1_age and p2_age) and shrunk."""
    side = young_side(ages, age)
    matches = int((side != 0).sum())
    shift = fit_shift(model_p, side, np.ones(len(side)))
    return {"age": float(age), "shift": shift * matches / (matches + SHRINK_MATCHES),
            "matches": matches}


def describe(spec: dict | None) -> str:
    """One line on the stored shift, for `train`'s output."""
    if not spec:
        return "no youth shift"
    return (f"youth shift {spec['shift']:+.3f} logit toward a player under "
            f"{spec['age']:g} ({int(spec['matches']):,} matches with one such side)")
