"""Forecast quality: the scores a bettor and a forecaster care about."""

from __future__ import annotations

import numpy as np

EPS = 1e-15


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def accuracy(p: np.ndarray, y: np.ndarray) -> float:
    """Share of matches whose favourite won; a 50/50 call counts as half right."""
    right = np.where(p == 0.5, 0.5, ((p > 0.5) == (y == 1)).astype(float))
    return float(np.mean(right))


def calibration_bins(p: np.ndarray, bins: int = 10) -> np.ndarray:
    """The equal-width bin (0 … bins-1) of each probability, shared by ECE and the plots."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins."""
    which = calibration_bins(p, bins)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(p[inside].mean() - y[inside].mean())
    return float(total)


def ece_if_calibrated(p: np.ndarray, bins: int = 10, draws: int = 200, seed: int = 0
                      ) -> float:
    """The ECE a perfectly calibrated forecaster giving probabilities `p` would show on
    this many matches: the median over outcomes drawn from `p` itself.

    Finite samples alone leave every bin's frequency off its mean probability: on a
    two-season period (about 4,700 matches) that is about 0.015, so an ECE is read
    against this floor, not against zero.
    """
    p = np.asarray(p, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return float(np.median([ece(p, (rng.random(len(p)) < p).astype(np.float64), bins)
                            for _ in range(draws)]))


def auc(p: np.ndarray, y: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score  # imported here: scoring runs never need it

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


def summary(p: np.ndarray, y: np.ndarray) -> dict[str, float | int | None]:
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(p) == 0:
        return {"n": 0, "accuracy": None, "log_loss": None, "brier": None, "ece": None,
                "auc": None}
    return {
        "n": int(len(p)), "accuracy": accuracy(p, y), "log_loss": log_loss(p, y),
        "brier": brier(p, y), "ece": ece(p, y), "auc": auc(p, y),
    }
