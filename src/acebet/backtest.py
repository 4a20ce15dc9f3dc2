"""Walk-forward backtests: for each period, train on everything before it and predict
its played matches; compare with the Elo and ranking baselines and the betting market.

Metrics count tour-level main-draw matches (levels G, M, A, F; no qualifying rounds;
walkovers excluded). Every probability is seen from the player with the lower id, so
both outcomes occur and AUC and calibration mean something.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from acebet import blend as B
from acebet import domain, metrics
from acebet import features as F
from acebet import model as M
from acebet import progress as progress_mod
from acebet.db import backtests as backtests_db
from acebet.errors import InputError

log = logging.getLogger(__name__)
RETRAIN_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12, "once": 0}
MARKET_ODDS_FROM = 2005  # the first year of the tennis-data odds files
OUT_COLUMNS = ["tourney_date", "tourney_id", "match_num", "p1_id", "p2_id", "p1_win_prob",
               "winner_id"]


@dataclass
class BacktestResult:
    backtest_id: str
    predictions: pl.DataFrame
    metrics: pl.DataFrame
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    retrain: str = "monthly"


def periods(start: dt.date, end: dt.date, retrain: str) -> list[tuple[dt.date, dt.date]]:
    """[lo, hi) windows from `start` through `end` inclusive, aligned to calendar months."""
    if retrain not in RETRAIN_MONTHS:
        raise InputError(f"--retrain {retrain!r}: choose from {', '.join(RETRAIN_MONTHS)}")
    stop = end + dt.timedelta(days=1)
    months = RETRAIN_MONTHS[retrain]
    if months == 0:
        return [(start, stop)]
    out, lo = [], start
    while lo < stop:
        year, month = divmod(lo.year * 12 + lo.month - 1 + months, 12)
        hi = min(dt.date(year, month + 1, 1), stop)
        out.append((lo, hi))
        lo = hi
    return out


def _ranking_baseline(log_rank_diff: np.ndarray) -> LogisticRegression:
    """P(p1 wins) from the log-ranking gap alone (both orientations of the training
    matches are given); no intercept keeps it symmetric."""
    half = len(log_rank_diff) // 2
    clf = LogisticRegression(fit_intercept=False)
    clf.fit(log_rank_diff.reshape(-1, 1), np.r_[np.ones(half), np.zeros(half)])
    return clf


def evaluate(
    con: duckdb.DuckDBPyConnection,
    date_from: dt.date,
    date_to: dt.date,
    *,
    retrain: str = "monthly",
    odds_dir: Path | None = None,
    progress: bool | None = None,
    on_period: Callable[[dt.date, int], None] | None = None,
    seed: int | None = None,
) -> BacktestResult:
    """The walk-forward evaluation; it only reads, so a read-only connection will do.

    `seed` replaces LightGBM's random seed (row and column sampling): two fits that
    differ only in it differ by about 0.001 of log loss per period, as much as many
    candidates gain, so a candidate is compared over several seeds (EVALUATION.md)."""
    if date_from > date_to:
        raise InputError(f"--from {date_from} is after --to {date_to}")
    windows = periods(date_from, date_to, retrain)
    book = None
    if odds_dir is not None:  # read (and check) the odds before hours of training
        from acebet import odds as O

        # from the year before: the blend's first weights come from the months before
        book = O.read_odds(odds_dir, range(date_from.year - 1, date_to.year + 1))
    matches = F.load_matches(con, until=date_to)
    if matches.filter(pl.col("tourney_date") < date_from).height == 0:
        raise InputError(f"no matches before {date_from} to train on; ingest history first")
    progress_mod.step(f"backtest: features over {matches.height:,} matches", enabled=progress)
    rows = F.timeline(matches)
    stored = F.load_market(con)
    feats = F.build(rows, F.load_players(con),
                    **_market_rating_inputs(con, rows, odds_dir, date_to, stored))
    feats = feats.with_columns(pl.Series("elo_prob", F.elo_probability(feats)))

    data = M.TrainingSet(feats, bins_before=windows[0][0])
    market = None
    if book is not None:
        since = M.months_before(date_from, M.VALIDATION_MONTHS + 1)
        market = B.market_by_match(con, feats.filter(
            pl.col("played") & (pl.col("tourney_date") >= since)), book)
    elif stored.height:  # the odds loaded with `acebet odds load`
        market = stored
    parts, model, pool = [], None, []
    youth_record: list[pl.DataFrame] = []  # C71: out-of-sample forecasts, p1 = winner
    with progress_mod.task("backtest: periods", windows, enabled=progress) as bar:
        for lo, hi in bar:
            if model is None:  # the first fit, with the record `train` would have
                params = None if seed is None else {"random_state": seed}
                record = M.youth_record(feats, lo, params=params)
                model = M.fit(feats, lo, params=params, record=record)
                pool.append(model.validation.drop("unshifted_prob"))
                if M.YOUTH_AGE:
                    youth_record.append(record if record is not None else
                                        M.validation_record(model, feats))
            else:
                model = M.update_on(data, lo, model)
            k = data.count_before(lo)
            ranking = _ranking_baseline(np.r_[data.log_rank_diff[:k],
                                              data.log_rank_diff[data.n:data.n + k]])
            target = feats.filter(
                pl.col("played") & (pl.col("tourney_date") >= lo) & (pl.col("tourney_date") < hi)
            )
            if target.height == 0:
                continue
            rank_p = ranking.predict_proba(
                M.model_matrix(target).select("log_rank_diff").to_numpy())[:, 1]
            if M.YOUTH_AGE:  # C71: the shift refitted on the last months of record
                _refit_youth_shift(model, youth_record, target, lo)
            model_p = model.predict_proba(target)
            scored = target.select(
                "tourney_date", "tourney_id", "match_num", "tourney_level", "surface", "round",
                "p1_id", "p2_id", "elo_prob",
                pl.Series("model_prob", model_p),
                pl.Series("rank_prob", rank_p),
            )
            if market is not None:
                weights = B.weights_from(_last_months(pl.concat(pool), lo,
                                                      B.RECORD_MONTHS), market)
                model.metadata["blend"] = weights
                scored = scored.join(market, on=["tourney_id", "match_num"], how="left")
                scored = scored.with_columns(pl.Series("blend_prob", B.blend_probability(
                    weights, scored["model_prob"].to_numpy(),
                    scored["market_prob"].fill_null(np.nan).to_numpy())).fill_nan(None))
                pool.append(scored.select(pool[0].columns))
            parts.append(scored)
            if on_period:
                on_period(lo, target.height)
            log.info("backtest period", extra={"period": str(lo), "matches": target.height})
    if not parts:
        raise InputError(f"no played matches between {date_from} and {date_to}")
    raw = pl.concat(parts).drop("market_prob", strict=False)
    predictions = _canonical(raw)
    table = metric_table(predictions)
    backtest_id = f"backtest-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    return BacktestResult(backtest_id, predictions, table, date_from, date_to, retrain)


def _last_months(record: pl.DataFrame, period_start: dt.date, months: int) -> pl.DataFrame:
    """The rows of an out-of-sample record dated in the `months` before `period_start`
    (0: all of it)."""
    if not months:
        return record
    return record.filter(pl.col("tourney_date") >= M.months_before(period_start, months))


def _refit_youth_shift(model: M.TrainedModel, record: list[pl.DataFrame],
                       target: pl.DataFrame, period_start: dt.date) -> None:
    """C71: the youth shift fitted on the out-of-sample record (the first fit's walk-forward
    record, `model.youth_record`, then every earlier period of the run) of the
    `youth.RECORD_MONTHS` before the period, as much as `train` has (C81, C82); the
    period's forecasts without the shift then join the record."""
    from acebet.model import youth

    held = _last_months(pl.concat(record), period_start, youth.RECORD_MONTHS)
    model.metadata["youth"] = youth.fit_record(held["model_prob"].to_numpy(), held,
                                               M.YOUTH_AGE)
    log.info("youth shift", extra={**model.metadata["youth"], "record": held.height})
    record.append(target.select("tourney_date", "p1_age", "p2_age").with_columns(
        pl.Series("model_prob", model.predict_proba(target, youth_shift=False))))


def _market_rating_inputs(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame,
                          odds_dir: Path | None, date_to: dt.date, stored: pl.DataFrame
                          ) -> dict[str, object]:
    """The market-implied rating's inputs for `F.build`, as `train` would have them: the
    closing probabilities of every played match the odds files cover (with `odds_dir`),
    else the stored odds; none without either. Each match's odds feed only the features
    of later dates (`features.market`)."""
    from acebet.features import market as FM

    if not FM.MARKET_K:
        return {}
    if odds_dir is None:
        if not stored.height:
            return {}
        return {"market": stored, "market_k": FM.MARKET_K,
                "market_surface": FM.MARKET_SURFACE}
    from acebet import odds as O

    history = O.read_odds(odds_dir, range(MARKET_ODDS_FROM, date_to.year + 1))
    played = rows.filter(pl.col("played") & (pl.col("tourney_date").dt.year()
                                             >= MARKET_ODDS_FROM))
    market = B.market_by_match(con, played, history)
    log.info("market rating", extra={"k": FM.MARKET_K, "matches_with_odds": market.filter(
        pl.col("market_prob").is_not_null()).height})
    return {"market": market, "market_k": FM.MARKET_K, "market_surface": FM.MARKET_SURFACE}


def store_result(con: duckdb.DuckDBPyConnection, result: BacktestResult) -> None:
    """Store the metrics and per-match predictions in one transaction."""
    stored = result.predictions.with_columns(pl.lit(result.backtest_id).alias("backtest_id"))
    for col in ("pinnacle_prob", "market_avg_prob", "p1_blend_prob"):
        if col not in stored.columns:
            stored = stored.with_columns(pl.lit(None, pl.Float64).alias(col))
    backtests_db.save(con, backtest_id=result.backtest_id, date_from=result.date_from,
                      date_to=result.date_to, retrain=result.retrain,
                      metrics=result.metrics.to_dicts(), predictions=stored)


def _canonical(raw: pl.DataFrame) -> pl.DataFrame:
    """Rows are (winner, loser) internally; publish them from the lower player id's side."""
    flip = pl.col("p1_id") > pl.col("p2_id")
    probs = [c for c in ("model_prob", "elo_prob", "rank_prob", "pinnacle_prob",
                         "market_avg_prob", "blend_prob") if c in raw.columns]
    out = raw.with_columns(
        pl.col("p1_id").alias("winner_id"),
        pl.when(flip).then(pl.col("p2_id")).otherwise(pl.col("p1_id")).alias("p1_id"),
        pl.when(flip).then(pl.col("p1_id")).otherwise(pl.col("p2_id")).alias("p2_id"),
        *(pl.when(flip).then(1 - pl.col(c)).otherwise(pl.col(c)).alias(c) for c in probs),
    ).rename({"model_prob": "p1_win_prob"})
    if "blend_prob" in out.columns:
        out = out.rename({"blend_prob": "p1_blend_prob"})
    return out.with_columns(domain.tour_main_draw().alias("evaluated")).select(
        *OUT_COLUMNS, *(c for c in out.columns if c not in OUT_COLUMNS), "evaluated"
    ).sort("tourney_date", "tourney_id", "match_num")


MODELS = {"acebet": "p1_win_prob", "blend": "p1_blend_prob", "elo": "elo_prob",
          "ranking": "rank_prob",
          "pinnacle": "pinnacle_prob", "market_avg": "market_avg_prob"}


def metric_table(predictions: pl.DataFrame) -> pl.DataFrame:
    """One row per model and subset: all evaluated matches, those with Pinnacle odds (where
    the market is the yardstick), and by level and surface."""
    data = predictions.filter(pl.col("evaluated"))
    y = (data["winner_id"] == data["p1_id"]).cast(pl.Float64)
    data = data.with_columns(y.alias("_y"))
    subsets: list[tuple[str, pl.Expr]] = [("all", pl.lit(True))]
    if "pinnacle_prob" in data.columns:
        subsets.append(("with_pinnacle", pl.col("pinnacle_prob").is_not_null()))
    subsets += [(f"level={lv}", pl.col("tourney_level") == lv) for lv in domain.TOUR_LEVELS]
    subsets += [(f"surface={s}", pl.col("surface") == s) for s in domain.SURFACES]
    rows = []
    for subset, where in subsets:
        part = data.filter(where)
        for name, col in MODELS.items():
            if col not in part.columns:
                continue
            scored = part.filter(pl.col(col).is_not_null())
            if scored.height == 0:
                continue
            rows.append({"model": name, "subset": subset,
                         **metrics.summary(scored[col].to_numpy(), scored["_y"].to_numpy())})
    return pl.DataFrame(rows)
