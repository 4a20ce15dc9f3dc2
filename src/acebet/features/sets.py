"""A match from its sets. With sets won independently at one rate s, the chance of winning
best of three or best of five, and the set rate a match probability implies: the serve
model turns its set probability into a match one (`features.serve`), and the best-of-five
switches read a five-set price at its three-set value and back (C32, C33)."""

from __future__ import annotations

import math

import numpy as np


def three_set_match(s: float | np.ndarray) -> float | np.ndarray:
    """P(winning two sets before the opponent does)."""
    return s * s * (3 - 2 * s)


def five_set_match(s: float | np.ndarray) -> float | np.ndarray:
    """P(winning three sets before the opponent does)."""
    return s**3 * (10 - 15 * s + 6 * s * s)


def set_rate_from_three(p3: float) -> float:
    """The set rate whose best-of-three probability is `p3`: 3s² − 2s³ = p3 has the closed
    form s = 1/2 + sin(asin(2p3 − 1) / 3)."""
    return 0.5 + math.sin(math.asin(2.0 * p3 - 1.0) / 3.0)


def set_rate_from_five(p5: np.ndarray) -> np.ndarray:
    """The set rate whose best-of-five probability is `p5` (a quintic: bisection, to the
    last bit in 60 halvings); NaN where `p5` is NaN."""
    p5 = np.asarray(p5, dtype=np.float64)
    lo, hi = np.zeros_like(p5), np.ones_like(p5)
    for _ in range(60):
        s = (lo + hi) / 2
        above = five_set_match(s) > p5
        hi = np.where(above, s, hi)
        lo = np.where(above, lo, s)
    return np.where(np.isnan(p5), np.nan, (lo + hi) / 2)
