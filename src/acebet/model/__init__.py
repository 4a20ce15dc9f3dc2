"""The LightGBM model: symmetric by construction, calibrated only when it helps, stored
in the database as LightGBM text plus JSON metadata (never a pickle).

The model is trained on both orientations of every match. At prediction time it scores
both orientations and keeps the antisymmetric part of the raw score,
s(A, B) = (m(A, B) − m(B, A)) / 2, so s(B, A) = −s(A, B) exactly. The probability of the
favourite is computed once and the underdog gets 1 minus it; because that probability
is at least one half, the subtraction is exact and P(A beats B) = 1 − P(B beats A) holds
bit for bit in either order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import lightgbm as lgb
import numpy as np
import polars as pl

from acebet import features as F
from acebet import metrics, progress
from acebet.db import models as models_db
from acebet.errors import InputError, NoModelError, StoreError, first_line
from acebet.features import market as FM
from acebet.features import serve as FS
from acebet.features.switches import require_default_features
from acebet.model import linear as L
from acebet.model import youth
from acebet.model.matrix import (  # noqa: F401
    FEATURES,
    MARKET_INPUTS,
    SERVE_INPUTS,
    matrix_columns,
    model_matrix,
    swap_sides,
)
from acebet.store import transaction

TRAIN_FROM = dt.date(2000, 1, 1)  # ranking points and serve statistics are complete by then
VALIDATION_MONTHS = 6
# One thread: on a shared two-core machine LightGBM's OpenMP threads spin against other
# processes and a two-thread fit took ten times the CPU of a one-thread fit (bench_backtest).
THREADS = 1
# learning rate 0.1 and half-row bagging: a third of the trees and half the rows per tree
# of the former 0.05 / 0.8, so a monthly walk-forward over two seasons fits in minutes.
PARAMS: dict[str, object] = {
    "objective": "binary", "learning_rate": 0.1, "num_leaves": 15,
    "min_child_samples": 200, "subsample": 0.5, "subsample_freq": 1,
    "colsample_bytree": 0.8, "reg_lambda": 1.0, "random_state": 7,
    "deterministic": True, "force_row_wise": True, "verbose": -1,
}
MAX_TREES = 2000
EARLY_STOPPING = 50
# >0: a training match weighs half as much for every this many years before the cut-off,
# so the fit follows how the game changes; 0 (the default) weighs every match alike.
RECENCY_HALF_LIFE_YEARS = 0.0
# Trees grown at each walk-forward refit after the first (`update_on`); 5 matched full
# refits on the tuning periods, 20 did worse (EVALUATION.md).
UPDATE_TREES = 5
# C71 (adopted): forecasts shift toward a player under this age by a logit fitted on the
# model's own out-of-sample record (`model.youth`); 0 turns the shift off.
YOUTH_AGE = 20.0
TEMPERATURE_BOUNDS = (0.3, 3.0)  # what the calibration may choose; 1.0 means none
# The raw score's starting point before any tree: BASE_MARGIN times the surface-blended
# Elo difference (ln 10 / 400 turns it into the Elo logit), so the trees learn what the
# ratings miss. 0 (the default) starts every match at even odds. The feature is
# antisymmetric, so the margin flips sign exactly when the players swap.
ELO_LOGIT = float(np.log(10.0) / 400.0)
BASE_MARGIN = 0.0
BASE_FEATURE = "blend_diff"


def symmetric_probability(m_ab: np.ndarray, m_ba: np.ndarray, temperature: float = 1.0,
                          shift: np.ndarray | None = None) -> np.ndarray:
    """P(A beats B) from raw scores of both orientations; exactly 1 − P(B beats A).
    `shift` (logits, antisymmetric: it flips sign when A and B swap) is added after the
    temperature."""
    s = (np.asarray(m_ab, dtype=np.float64) - np.asarray(m_ba, dtype=np.float64)) / 2.0
    s = s * temperature
    if shift is not None:
        s = s + shift
    favourite = 1.0 / (1.0 + np.exp(-np.abs(s)))
    return np.where(s >= 0, favourite, 1.0 - favourite)


def base_margin(X: np.ndarray, scale: float) -> np.ndarray:
    """The raw score every row starts from before the trees (see BASE_MARGIN)."""
    if scale == 0.0:
        return np.zeros(len(X))
    return scale * X[:, FEATURES.index(BASE_FEATURE)]


@dataclass
class TrainedModel:
    booster: lgb.Booster
    temperature: float = 1.0
    metadata: dict[str, object] = field(default_factory=dict)
    # out-of-sample P(p1 wins) on the validation window of `fit` (p1 = winner), with the
    # youth shift (`model_prob`, what the blend weights are fitted on) and without it
    # (`unshifted_prob`: the first part of a walk-forward youth record, `youth_record`,
    # or the whole record with `youth.RECORD_MONTHS` at 6 or less). Not stored.
    validation: pl.DataFrame | None = field(default=None, repr=False)
    # trees grown by walk-forward updates (`update_on`), added to the booster's score;
    # backtests only, never stored
    updates: tuple[lgb.Booster, ...] = field(default=(), repr=False)

    @property
    def features(self) -> list[str]:
        """The input columns it was trained on, in order (older metadata: FEATURES)."""
        return list(self.metadata.get("features") or FEATURES)

    @property
    def uses_market(self) -> bool:
        """Whether it takes the market-implied rating (trained on a history with odds)."""
        return MARKET_INPUTS[0] in self.features

    @property
    def margin_scale(self) -> float:
        return float(self.metadata.get("base_margin", 0.0))

    def raw(self, X: np.ndarray) -> np.ndarray:
        score = self.booster.predict(X, raw_score=True, num_threads=THREADS)
        for more in self.updates:
            score = score + more.predict(X, raw_score=True, num_threads=THREADS)
        return score + base_margin(X, self.margin_scale)

    @property
    def linear(self) -> tuple[float, np.ndarray] | None:
        """The linear learner's share and coefficients (models from C25 on), or None."""
        spec = self.metadata.get("linear")
        if not spec:
            return None
        return float(spec["weight"]), np.asarray(spec["coef"], dtype=np.float64)

    def margin(self, X: np.ndarray) -> np.ndarray:
        """The model's log-odds before calibration: the trees' raw score, mixed with the
        linear learner's margin when the model has one."""
        score = self.raw(X)
        if (linear := self.linear) is not None:
            weight, coef = linear
            score = L.mixed(score, X, self.features, weight, coef)
        return score

    def predict_proba(self, feats: pl.DataFrame, *, youth_shift: bool = True) -> np.ndarray:
        """P(p1 wins) for every row of a feature frame (`features.build` output), with
        the stored youth shift (C71) unless `youth_shift` is False (the forecast the
        shift is fitted on)."""
        if feats.height == 0:
            return np.empty(0)
        columns = self.features
        ab = model_matrix(feats).select(columns).to_numpy()
        ba = model_matrix(feats, swap=True).select(columns).to_numpy()
        shift = youth.logit_shift(self.metadata.get("youth"), feats) if youth_shift else None
        return symmetric_probability(self.margin(ab), self.margin(ba), self.temperature,
                                     shift)

    def to_text(self) -> str:
        if self.updates:
            raise ValueError("a walk-forward update is not a storable model")
        return self.booster.model_to_string()


def _both_orientations(feats: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Every match twice: as (winner, loser) labelled 1 and as (loser, winner) labelled 0."""
    ab = model_matrix(feats).to_numpy()
    ba = model_matrix(feats, swap=True).to_numpy()
    y = np.r_[np.ones(len(ab)), np.zeros(len(ba))]
    return np.vstack([ab, ba]), y


def recency_weights(days: np.ndarray, train_to: dt.date, half_life: float) -> np.ndarray:
    """Sample weights of training matches on `days` for a fit up to `train_to`."""
    if not half_life:
        return np.ones(len(days))
    age = (np.datetime64(train_to, "D") - days.astype("datetime64[D]")).astype(float)
    return 0.5 ** (age / 365.25 / half_life)


def _weights(rows: pl.DataFrame, train_to: dt.date, half_life: float) -> np.ndarray:
    """Both orientations' weights, in `_both_orientations` order."""
    w = recency_weights(rows["tourney_date"].to_numpy(), train_to, half_life)
    return np.r_[w, w]


def months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, 1)


def trainable(feats: pl.DataFrame) -> pl.DataFrame:
    """Played matches from TRAIN_FROM on, in timeline order."""
    return feats.filter(pl.col("played") & (pl.col("tourney_date") >= TRAIN_FROM))


def training_rows(feats: pl.DataFrame, before: dt.date) -> pl.DataFrame:
    return trainable(feats).filter(pl.col("tourney_date") < before)


def fit(feats: pl.DataFrame, train_to: dt.date, *, params: dict | None = None,
        margin: float | None = None, record: pl.DataFrame | None = None) -> TrainedModel:
    """Fit on played matches before `train_to`, validated on the months just before it.

    Early stopping picks the number of trees on the validation window; the linear
    learner (`linear`) is fitted on the same training rows and mixed in; a temperature
    is fitted on the validation window's first half and kept only if it lowers log loss
    on the second half; the final trees and coefficients are refit on everything. The
    youth shift is fitted on `record` (`youth_record`) when given, else on the
    validation window.
    """
    params = {**PARAMS, **(params or {})}
    margin = BASE_MARGIN if margin is None else margin
    half_life = RECENCY_HALF_LIFE_YEARS
    rows = training_rows(feats, train_to)
    if rows.height < 100:
        raise InputError(
            f"only {rows.height} played matches before {train_to}; ingest history first"
        )
    val_from = months_before(train_to, VALIDATION_MONTHS)
    train = rows.filter(pl.col("tourney_date") < val_from)
    val = rows.filter(pl.col("tourney_date") >= val_from)
    if val.height < 50 or train.height < 50:  # short histories: validate on the last fifth
        cut = int(rows.height * 0.8)
        train, val = rows.head(cut), rows.tail(rows.height - cut)
    x_train, y_train = _both_orientations(train)
    x_val, y_val = _both_orientations(val)
    first = lgb.LGBMClassifier(n_estimators=MAX_TREES, n_jobs=THREADS, **params)
    # no total: early stopping decides how many trees, usually far fewer than MAX_TREES
    with progress.task("train: trees, until early stopping") as trees_bar:
        first.fit(x_train, y_train, sample_weight=_weights(train, train_to, half_life),
                  init_score=base_margin(x_train, margin),
                  eval_X=(x_val,), eval_y=(y_val,),
                  eval_init_score=[base_margin(x_val, margin)],
                  callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False),
                             progress.per_iteration(trees_bar)])
    trees = max(int(first.best_iteration_ or first.n_estimators_), 1)
    half = val.height // 2
    v_ab, v_ba = model_matrix(val).to_numpy(), model_matrix(val, swap=True).to_numpy()
    m_ab = first.booster_.predict(v_ab, raw_score=True, num_iteration=trees,
                                  num_threads=THREADS) + base_margin(v_ab, margin)
    m_ba = first.booster_.predict(v_ba, raw_score=True, num_iteration=trees,
                                  num_threads=THREADS) + base_margin(v_ba, margin)
    columns = matrix_columns(rows)
    weight = L.WEIGHT
    if weight:
        progress.step("train: linear learner")
        coef = L.fit(x_train[:train.height], columns,
                     _weights(train, train_to, half_life)[:train.height])
        m_ab = L.mixed(m_ab, v_ab, columns, weight, coef)
        m_ba = L.mixed(m_ba, v_ba, columns, weight, coef)
    temperature, calibration = _fit_temperature(m_ab, m_ba, half)
    ones = np.ones(val.height)
    val_p = symmetric_probability(m_ab, m_ba, temperature)
    canonical = _canonical(val, val_p)

    final = lgb.LGBMClassifier(n_estimators=trees, n_jobs=THREADS, **params)
    x_all, y_all = _both_orientations(rows)
    with progress.task("train: refit on all rows", total=trees) as trees_bar:
        final.fit(x_all, y_all, sample_weight=_weights(rows, train_to, half_life),
                  init_score=base_margin(x_all, margin),
                  callbacks=[progress.per_iteration(trees_bar)])
    linear = None
    if weight:
        progress.step("train: linear learner on all rows")
        linear = {"weight": weight, "coef": L.fit(
            x_all[:rows.height], columns,
            _weights(rows, train_to, half_life)[:rows.height]).tolist()}
    young = None
    if YOUTH_AGE and record is not None and record.height:
        young = youth.fit_record(record["model_prob"].to_numpy(), record, YOUTH_AGE)
    elif YOUTH_AGE:
        young = youth.fit_record(val_p, val, YOUTH_AGE)
    metadata = {
        "features": columns,
        "params": {**params, "n_estimators": trees},
        "temperature": temperature,
        "calibration": calibration,
        "base_margin": margin,
        **({"linear": linear} if linear else {}),
        **({"youth": young} if young else {}),
        "recency_half_life_years": half_life,
        "train_from": str(TRAIN_FROM),
        "train_to": str(train_to),
        "validation_from": str(val_from),
        "train_rows": rows.height,
        "validation": {
            **metrics.summary(*canonical),
            "log_loss_winner_view": metrics.log_loss(val_p, ones),
        },
        "elo": {k: v for k, v in F.EloParams().__dict__.items()},
        **({"market_k": FM.MARKET_K} if MARKET_INPUTS[0] in matrix_columns(rows) else {}),
        **({"serve_k": FS.SERVE_K, "serve_surface_k": FS.SERVE_SURFACE_K}
           if SERVE_INPUTS[0] in matrix_columns(rows) else {}),
        "data_fingerprint": fingerprint(rows),
        "versions": {
            "acebet": _version(), "lightgbm": lgb.__version__, "polars": pl.__version__,
            "duckdb": duckdb.__version__, "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }
    # The blend is fitted on `model_prob`, the forecast as the model version gives it (with
    # the youth shift); `unshifted_prob` is the forecast a youth record holds.
    shift = youth.logit_shift(young, val)
    held_out = val.select("tourney_id", "match_num", "tourney_date", "p1_id", "p2_id",
                          pl.Series("model_prob", symmetric_probability(
                              m_ab, m_ba, temperature, shift)),
                          pl.Series("unshifted_prob", val_p))
    return TrainedModel(final.booster_, temperature, metadata, held_out)


def _canonical(rows: pl.DataFrame, p1_prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and outcomes seen from the lower player id, so both classes occur."""
    p1_is_low = (rows["p1_id"] < rows["p2_id"]).to_numpy()
    won = rows["p1_won"].fill_null(True).to_numpy().astype(float)
    return np.where(p1_is_low, p1_prob, 1 - p1_prob), np.where(p1_is_low, won, 1 - won)


def _fit_temperature(m_ab: np.ndarray, m_ba: np.ndarray, half: int) -> tuple[float, dict]:
    from scipy.optimize import minimize_scalar  # training only; keeps scoring start-up lean

    if half < 20:
        return 1.0, {"used": False, "reason": "validation window too small"}
    ones = np.ones(len(m_ab))

    def loss(t: float, sl: slice) -> float:
        return metrics.log_loss(symmetric_probability(m_ab[sl], m_ba[sl], t), ones[sl])

    fitted = minimize_scalar(lambda t: loss(t, slice(0, half)), bounds=TEMPERATURE_BOUNDS,
                             method="bounded").x
    before, after = loss(1.0, slice(half, None)), loss(fitted, slice(half, None))
    report = {"temperature": float(fitted), "holdout_log_loss_before": before,
              "holdout_log_loss_after": after, "used": bool(after < before)}
    return (float(fitted) if after < before else 1.0), report


def fingerprint(rows: pl.DataFrame) -> str:
    """A hash of the training matches' keys and results: same data, same fingerprint."""
    lines = rows.select(
        pl.concat_str(["row_key", "p1_id", "p2_id", "score"], separator="|", ignore_nulls=True)
    ).to_series().sort()
    return hashlib.sha256("\n".join(lines.to_list()).encode()).hexdigest()[:16]


def _version() -> str:
    from acebet import __version__

    return __version__


def save(con: duckdb.DuckDBPyConnection, model: TrainedModel, *, activate: bool = True) -> int:
    """Store as a new version (LightGBM text + JSON) and, by default, make it active."""
    text = model.to_text()
    digest = hashlib.sha256(text.encode()).hexdigest()
    meta = {**model.metadata, "temperature": model.temperature}
    meta_json = json.dumps(meta)
    check_metadata("(new)", json.loads(meta_json))  # never store what `load` would refuse
    return models_db.insert(
        con, text=text, sha256=digest, metadata_json=meta_json,
        checksum=model_checksum(text, meta_json), train_from=meta.get("train_from"),
        train_to=meta.get("train_to"), activate=activate,
    )


def model_checksum(text: str, metadata_json: str) -> str:
    """sha256 of the model text and its metadata exactly as stored.

    Everything a prediction depends on is in one of the two (trees; temperature,
    features, Elo parameters), so a changed value anywhere fails the check. Migration
    006 computes the same digest in SQL for models stored before it existed.
    """
    return hashlib.sha256(f"{text}\n{metadata_json}".encode()).hexdigest()


def load(con: duckdb.DuckDBPyConnection, version: int | None = None) -> tuple[int, TrainedModel]:
    """The active model (or `version`), checked against its checksum, the feature code and
    the ranges training can produce, and loaded in a way that cannot abort the process."""
    row = models_db.stored(con, version)
    if row is None and version is None:
        raise NoModelError("no active model in the database; run `acebet train` first")
    if row is None:
        raise NoModelError(f"model version {version} is not in the database")
    found, text, digest, meta_json, checksum = (
        row.version, row.text, row.sha256, row.metadata_json, row.checksum)
    if (hashlib.sha256(text.encode()).hexdigest() != digest
            or checksum != model_checksum(text, meta_json)):
        raise StoreError(
            f"model version {found} is corrupted: its text or metadata does not match its "
            "checksum; retrain or activate another version"
        )
    try:
        meta = json.loads(meta_json)
    except ValueError as exc:
        raise StoreError(f"model version {found}: metadata is not JSON: {exc}") from None
    temperature = check_metadata(found, meta)
    check_model_text(found, text, len(meta["features"]))
    try:
        booster = lgb.Booster(model_str=_sequential(text))
    except lgb.basic.LightGBMError as exc:
        raise StoreError(f"model version {found} cannot be loaded: {first_line(exc)}") from None
    return int(found), TrainedModel(booster, temperature, meta)


# The column lists a model may have been trained on: the market inputs when odds were
# stored, the serve inputs from C15 on (older models keep scoring on their own columns).
FEATURE_LISTS = [FEATURES + market + serve for market in ([], MARKET_INPUTS)
                 for serve in ([], SERVE_INPUTS)]


def check_metadata(version: int | str, meta: object) -> float:
    """Refuse metadata this AceBet would not have written; returns the temperature.

    The checksum proves the row is unchanged since it was stored (or since migration
    006 for older models); these checks refuse values training can never produce.
    """
    if not isinstance(meta, dict):
        raise StoreError(f"model version {version}: metadata is not a JSON object")
    if meta.get("features") not in FEATURE_LISTS:
        raise StoreError(
            f"model version {version} was trained on different features than this AceBet "
            "computes; retrain it (`acebet train`)"
        )
    if MARKET_INPUTS[0] in meta["features"] and meta.get("market_k") != FM.MARKET_K:
        raise StoreError(
            f"model version {version} was trained with market rating step "
            f"{meta.get('market_k')!r}, this AceBet computes {FM.MARKET_K!r}; retrain it "
            "(`acebet train`)"
        )
    if SERVE_INPUTS[0] in meta["features"] and meta.get("serve_k") != FS.SERVE_K:
        raise StoreError(
            f"model version {version} was trained with serve rating step "
            f"{meta.get('serve_k')!r}, this AceBet computes {FS.SERVE_K!r}; retrain it "
            "(`acebet train`)"
        )
    # models from before the surface offsets lack the key: they were trained without them
    if (SERVE_INPUTS[0] in meta["features"]
            and meta.get("serve_surface_k", 0.0) != FS.SERVE_SURFACE_K):
        raise StoreError(
            f"model version {version} was trained with serve surface step "
            f"{meta.get('serve_surface_k', 0.0)!r}, this AceBet computes "
            f"{FS.SERVE_SURFACE_K!r}; retrain it (`acebet train`)"
        )
    expected = json.loads(json.dumps(F.EloParams().__dict__))
    # a key a model lacks was added after it was trained, with the parameter off then:
    # decay_days (0 now too), rest_days (C52: 0 before, the fade now)
    elo = meta.get("elo", {})
    if not isinstance(elo, dict):
        raise StoreError(f"model version {version}: its Elo parameters are not a JSON "
                         "object; retrain it (`acebet train`)")
    trained = {**expected, "rest_days": 0.0, **elo}
    if trained != expected:
        keys = list(expected) + [key for key in trained if key not in expected]
        differ = ", ".join(f"{key} {trained.get(key, 'absent')!r}, now "
                           f"{expected.get(key, 'absent')!r}"
                           for key in keys if trained.get(key) != expected.get(key))
        raise StoreError(
            f"model version {version} was trained with other Elo parameters than this "
            f"AceBet computes ({differ}); retrain it (`acebet train`)"
        )
    temperature = meta.get("temperature", 1.0)
    low, high = TEMPERATURE_BOUNDS
    if (isinstance(temperature, bool) or not isinstance(temperature, int | float)
            or not (temperature == 1.0 or low <= temperature <= high)):
        raise StoreError(
            f"model version {version}: temperature {temperature!r} is outside what "
            f"training chooses (1, or {low} to {high}); retrain or activate another version"
        )
    check_linear(version, meta)
    check_youth(version, meta)
    margin = meta.get("base_margin", 0.0)  # models from before it had none
    if margin not in (0.0, ELO_LOGIT) or isinstance(margin, bool):
        raise StoreError(
            f"model version {version}: base margin {margin!r} is not one training uses "
            f"(0 or the Elo logit {ELO_LOGIT!r}); retrain or activate another version"
        )
    return float(temperature)




def check_youth(version: int | str, meta: dict) -> None:
    """Refuse a youth shift (C71) training would not have written (models before it have
    none and score without it)."""
    spec = meta.get("youth")
    if spec is None:
        return

    def number(key: str) -> float | None:
        value = spec.get(key) if isinstance(spec, dict) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        try:
            value = float(value)  # an integer too large for a float overflows here
        except OverflowError:
            return None
        return value if np.isfinite(value) else None

    age, shift = number("age"), number("shift")
    if age is None or not 0.0 < age < 100.0 or shift is None or abs(shift) > youth.BOUND:
        raise StoreError(
            f"model version {version}: its youth shift is not one training writes (an "
            f"age in (0, 100) and a shift within ±{youth.BOUND:g}); retrain or activate "
            "another version"
        )


def check_linear(version: int | str, meta: dict) -> None:
    """Refuse a linear learner training would not have written (models before C25 have
    none and score with the trees alone)."""
    spec = meta.get("linear")
    if spec is None:
        return
    coef = spec.get("coef") if isinstance(spec, dict) else None
    weight = spec.get("weight") if isinstance(spec, dict) else None
    if (isinstance(weight, bool) or not isinstance(weight, int | float)
            or not 0.0 < weight <= 1.0 or not isinstance(coef, list)
            or len(coef) != L.width(meta["features"])
            or not all(isinstance(c, int | float) and not isinstance(c, bool)
                       and abs(c) <= L.MAX_COEF for c in coef)):
        raise StoreError(
            f"model version {version}: its linear learner is not one training writes (a "
            f"share in (0, 1] and {L.width(meta['features'])} coefficients within "
            f"±{L.MAX_COEF:g}); "
            "retrain or activate another version"
        )


def _sequential(text: str) -> str:
    """The model text without its `tree_sizes` line.

    With that line LightGBM parses the trees in parallel, and a parse error inside the
    parallel loop is not turned into an error but terminates the whole process (SIGABRT,
    exit 134, after pages of [Fatal]). Without it the trees are parsed one after the
    other and an error comes back as LightGBMError. The line is only a parsing hint;
    the trees and their predictions are the same.
    """
    return re.sub(r"^tree_sizes=.*\n", "", text, count=1, flags=re.MULTILINE)


def check_model_text(version: int, text: str, n_features: int = len(FEATURES)) -> None:
    """Refuse text that LightGBM would load wrongly or that would crash at prediction.

    LightGBM trusts its own files: a tree with a split_feature or left_child list one
    short, or a child index out of range, loads without complaint. AceBet only ever
    stores numeric, non-linear binary trees over its own feature list, so anything else
    is refused here, with the first problem.
    """
    def bad(what: str) -> StoreError:
        return StoreError(f"model version {version} cannot be loaded: {what}")

    header, sep, rest = text.partition("\nTree=")
    head = _key_values(header)
    if head.get("num_class") != "1" or head.get("num_tree_per_iteration") != "1":
        raise bad("not a binary model")
    if head.get("max_feature_idx") != str(n_features - 1):
        raise bad(f"max_feature_idx {head.get('max_feature_idx')!r}, expected {n_features - 1}")
    if not sep:
        raise bad("no trees")
    trees = ("Tree=" + rest).split("end of trees", 1)[0].split("\nTree=")
    for i, block in enumerate(trees):
        _check_tree(bad, i, block.removeprefix("Tree="), n_features)


def _key_values(block: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in block.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _check_tree(bad: Callable[[str], StoreError], i: int, block: str, n_features: int
                ) -> None:
    number, _, body = block.partition("\n")
    if number.strip() != str(i):
        raise bad(f"tree {i} is numbered {number.strip()!r}")
    kv = _key_values(body)
    try:
        leaves = int(kv["num_leaves"])
        if leaves < 1 or kv.get("num_cat", "0") != "0" or kv.get("is_linear", "0") != "0":
            raise ValueError("not a plain numeric tree")
        leaf_value = _numbers(kv["leaf_value"], leaves, float)
        if not np.isfinite(leaf_value).all():
            raise ValueError("leaf_value not finite")
        if leaves > 1:
            splits = leaves - 1
            features = _numbers(kv["split_feature"], splits, int)
            _numbers(kv["threshold"], splits, float)
            _numbers(kv["decision_type"], splits, int)
            children = _numbers(kv["left_child"], splits, int) + _numbers(
                kv["right_child"], splits, int)
            if not all(0 <= f < n_features for f in features):
                raise ValueError("split on a feature the model does not have")
            if not all(-leaves <= c < splits for c in children):
                raise ValueError("child index out of range")
    except (KeyError, ValueError) as exc:
        raise bad(f"tree {i}: {exc}") from None


def _numbers(value: str, n: int, kind: type) -> list:
    items = value.split()
    if len(items) != n:
        raise ValueError(f"{len(items)} values where {n} are needed")
    return [kind(item) for item in items]


def list_models(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every stored version with its training window and validation metrics."""
    return models_db.summaries(con)


def activate(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """A version that is not stored is a bad argument (exit 2), not a missing model."""
    with transaction(con):
        stored = models_db.versions(con)
        if version not in stored:
            raise InputError(f"model version {version} is not in the database (stored: "
                             f"{', '.join(map(str, stored)) or 'none'})")
        models_db.set_active(con, version)


def validation_record(model: TrainedModel, feats: pl.DataFrame) -> pl.DataFrame:
    """`model`'s validation window as a youth record (p1 = winner, without the shift):
    tourney_date, p1_age, p2_age, model_prob."""
    ages = feats.select("tourney_id", "match_num", "p1_age", "p2_age")
    return model.validation.join(ages, on=["tourney_id", "match_num"], how="left").select(
        "tourney_date", "p1_age", "p2_age", pl.col("unshifted_prob").alias("model_prob"))


def youth_record(feats: pl.DataFrame, train_to: dt.date, *,
                 params: dict | None = None) -> pl.DataFrame | None:
    """The out-of-sample record the youth shift of a model fitted at `train_to` is
    fitted on (C82): the `youth.RECORD_MONTHS` before it, forecast by a walk-forward run
    like a backtest's (a fit, its validation window, then 5-tree updates a month at a
    time), so production has the record a backtest builds from its own forecasts.

    A model's own validation window holds six months; the shift fitted on 18 gained on
    every period (EVALUATION.md, C82). Played matches, p1 = winner, without the shift:
    tourney_date, p1_age, p2_age, model_prob. None when the record is no longer than the
    validation window or the history before it is too short to fit.
    """
    months = youth.RECORD_MONTHS - VALIDATION_MONTHS
    if not YOUTH_AGE or months <= 0:
        return None
    start = months_before(train_to, months)
    progress.step(f"train: the youth shift's record, walking forward from {start}")
    feats = feats.filter(pl.col("tourney_date") < train_to)  # nothing later is needed
    try:
        model = fit(feats, start, params=params)
    except InputError:  # too short a history: the validation window is the record
        return None
    data = TrainingSet(feats, bins_before=start)
    parts = [validation_record(model, feats)]
    played = feats.filter(pl.col("played"))
    lo = start
    while lo < train_to:
        hi = min(months_before(lo, -1), train_to)
        if lo > start:
            model = update_on(data, lo, model)
        month = played.filter((pl.col("tourney_date") >= lo) & (pl.col("tourney_date") < hi))
        parts.append(month.select("tourney_date", "p1_age", "p2_age", pl.Series(
            "model_prob", model.predict_proba(month, youth_shift=False))))
        lo = hi
    return pl.concat(parts)


def train(
    con: duckdb.DuckDBPyConnection, train_to: dt.date | None = None,
    odds_dir: Path | None = None,
) -> tuple[int, TrainedModel]:
    """Build features from the store, fit, and save a new active version."""
    model = fit_from_store(con, train_to, odds_dir)
    return save(con, model), model


def fit_from_store(con: duckdb.DuckDBPyConnection, train_to: dt.date | None = None,
                   odds_dir: Path | None = None) -> TrainedModel:
    """Fit on the stored history; it only reads, so a read-only connection will do.

    With odds loaded (`acebet odds load`) the model also takes the market-implied
    rating. The blend weights are fitted on the validation window's out-of-sample
    probabilities and the odds of those matches (from `odds_dir`, else the stored odds)
    and stored with the version, so fixtures with odds also get the market-aware
    probability.
    """
    require_default_features("a stored model")
    matches = F.load_matches(con)
    if matches.height == 0:
        raise InputError("no matches in the database; run `acebet ingest` first")
    if train_to is None:
        train_to = matches["tourney_date"].max() + dt.timedelta(days=1)
    if odds_dir is not None:  # the blend needs the validation window's odds: check first
        from acebet import odds as O

        O.require_years(odds_dir, range(months_before(train_to, VALIDATION_MONTHS).year,
                                        train_to.year + 1))
    stored = F.load_market(con)
    market = stored if stored.height and FM.MARKET_K else None
    progress.step(f"train: features over {matches.height:,} matches"
                  + (f", {stored.height:,} with odds" if market is not None else ""))
    feats = F.build(F.timeline(matches), F.load_players(con), market=market,
                    market_k=FM.MARKET_K)
    model = fit(feats, train_to, record=youth_record(feats, train_to))
    from acebet import blend

    held = model.validation
    if odds_dir is not None:
        from acebet import odds as O

        days = held["tourney_date"]
        book = O.read_odds(odds_dir, range(days.min().year, days.max().year + 1))
        model.metadata["blend"] = blend.weights_from(held, blend.market_by_match(con, held,
                                                                               book))
    elif stored.height:
        model.metadata["blend"] = blend.weights_from(held, stored)
    return model


class TrainingSet:
    """Both orientations of every trainable match up to the end of a backtest, binned once.

    A walk-forward backtest refits on a longer prefix of the same history every period.
    Building the matrix and LightGBM's histogram bins once and training each period on a
    subset (which shares the bins) leaves only the trees to grow. The bins are computed
    from the matches before `bins_before` (the first period), so no later feature value
    shapes them.
    """

    def __init__(self, feats: pl.DataFrame, bins_before: dt.date) -> None:
        rows = trainable(feats)
        self.days = rows["tourney_date"].to_numpy()  # timeline order: sorted by date
        self.n = rows.height
        x, y = _both_orientations(rows)
        cut = int(np.searchsorted(self.days, np.datetime64(bins_before)))
        if cut < 100:
            raise InputError(f"only {cut} played matches before {bins_before}; "
                             "ingest history first")
        first = np.r_[np.arange(cut), self.n + np.arange(cut)]
        reference = lgb.Dataset(x[first], y[first], params=_dataset_params(),
                                free_raw_data=True)
        self.dataset = lgb.Dataset(x, y, reference=reference, params=_dataset_params(),
                                   free_raw_data=False).construct()
        self.log_rank_diff = x[:, FEATURES.index("log_rank_diff")]
        self.x = x  # kept: the starting scores of a subset are computed from its rows
        self._scores: tuple[TrainedModel, np.ndarray] | None = None

    def count_before(self, day: dt.date) -> int:
        return int(np.searchsorted(self.days, np.datetime64(day)))

    def before(self, day: dt.date, start: np.ndarray | None = None,
               half_life: float = 0.0) -> lgb.Dataset:
        """Both orientations of the matches dated before `day`, sharing the bins; with
        `start` (a raw score for every row of the set) the trees begin from it, with
        `half_life` older matches weigh less (`recency_weights`)."""
        k = self.count_before(day)
        used = np.r_[np.arange(k), self.n + np.arange(k)]
        subset = self.dataset.subset(used)
        if start is not None and start.any():
            subset.construct().set_init_score(start[used])
        if half_life:
            w = recency_weights(self.days[:k], day, half_life)
            subset.construct().set_weight(np.r_[w, w])
        return subset

    def scores(self, model: TrainedModel) -> np.ndarray:
        """`model`'s raw score on every row, remembered for the model that updates it."""
        if self._scores is None or self._scores[0] is not model:
            self._scores = (model, model.raw(self.x))
        return self._scores[1]

    def remember(self, model: TrainedModel, scores: np.ndarray) -> None:
        self._scores = (model, scores)


def _dataset_params() -> dict[str, object]:
    return {"verbose": -1, "num_threads": THREADS}


def update_on(data: TrainingSet, train_to: dt.date, previous: TrainedModel,
              trees: int | None = None) -> TrainedModel:
    """`previous` plus `trees` trees grown on the residuals of every match before
    `train_to` (continued training).

    A monthly refit sees one month more than the model before it. Regrowing every tree
    cost ~20 CPU-s a month; growing a few on what the current model gets wrong brings the
    new month in for a fraction of that, and scored as well as regrowing on the tuning
    periods (EVALUATION.md). Few: every tree added goes past the count early stopping
    chose, and 20 a month did worse. The current score of every row is remembered in
    `data`, so only the new trees are evaluated. `previous` saw only matches before its
    own cut-off, so nothing from `train_to` on is used; the temperature is the first
    fit's.
    """
    trees = UPDATE_TREES if trees is None else trees  # read now: `evaluate --switch`
    params = {k: v for k, v in previous.metadata["params"].items() if k != "n_estimators"}
    start = data.scores(previous)
    half_life = float(previous.metadata.get("recency_half_life_years", 0.0))
    more = lgb.train({**params, "num_threads": THREADS},
                     data.before(train_to, start, half_life),
                     num_boost_round=trees)
    metadata = {**previous.metadata, "train_to": str(train_to),
                "train_rows": data.count_before(train_to),
                "updated_trees": int(previous.metadata.get("updated_trees", 0)) + trees}
    model = TrainedModel(previous.booster, previous.temperature, metadata,
                         updates=(*previous.updates, more))
    data.remember(model, start + more.predict(data.x, raw_score=True, num_threads=THREADS))
    return model
