"""The evaluation protocol: several separate walk-forward periods, each scored against the
sharpest market on the same matches, with bootstrap intervals on the gap.

One period can flatter a model (2021-22 did); a choice that holds on four separate
two-season periods is more likely to hold on the next one. Within a period every
forecaster is scored on the same matches: evaluated tour-level main-draw matches that
have Pinnacle and market-average odds and every compared probability. The interval on
"log loss minus Pinnacle's" resamples whole tournaments, because matches of one event
share conditions and players, so resampling single matches would make it too narrow.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import polars as pl

from acebet import domain, metrics
from acebet.domain import ROUND_ORDER, SURFACES
from acebet.errors import InputError

if TYPE_CHECKING:
    from acebet.backtest import BacktestResult

# Tuning periods first; 2021-22 is the validation period, looked at once per candidate.
DEFAULT_PERIODS = ("2015-16", "2017-18", "2019-20", "2021-22")
FORECASTERS = {"acebet": "p1_win_prob", "blend": "p1_blend_prob", "elo": "elo_prob",
               "ranking": "rank_prob", "market_avg": "market_avg_prob",
               "pinnacle": "pinnacle_prob"}
REFERENCE = "pinnacle_prob"
BOOTSTRAP_SAMPLES = 2000


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date  # inclusive


def parse_period(text: str) -> Period:
    """`2015-16` (two seasons), `2019` (one season) or `2019-03-01:2020-12-31`."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        first = int(m.group(1))
        last = first // 100 * 100 + int(m.group(2))
        if last < first:
            raise InputError(f"period {text!r}: the second year is before the first")
        return Period(text, dt.date(first, 1, 1), dt.date(last, 12, 31))
    if re.fullmatch(r"\d{4}", text):
        return Period(text, dt.date(int(text), 1, 1), dt.date(int(text), 12, 31))
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2}):(\d{4}-\d{2}-\d{2})", text):
        try:
            start, end = (dt.date.fromisoformat(m.group(i)) for i in (1, 2))
        except ValueError as exc:
            raise InputError(f"period {text!r}: {exc}") from exc
        if start > end:
            raise InputError(f"period {text!r}: starts after it ends")
        return Period(text, start, end)
    raise InputError(f"period {text!r}: write 2015-16, 2019 or 2019-03-01:2020-12-31")


def parse_periods(texts: list[str] | tuple[str, ...]) -> list[Period]:
    found = [parse_period(t) for part in texts for t in part.split(",") if t.strip()]
    ordered = sorted(found, key=lambda p: p.start)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.start <= a.end:
            raise InputError(f"periods {a.label} and {b.label} overlap")
    return ordered


def label_periods(predictions: pl.DataFrame, periods: list[Period]) -> pl.DataFrame:
    """Each prediction tagged with the period its date falls in; rows outside every
    period are dropped."""
    label = pl.lit(None, pl.String)
    for p in periods:
        inside = pl.col("tourney_date").is_between(p.start, p.end, closed="both")
        label = pl.when(inside).then(pl.lit(p.label)).otherwise(label)
    return predictions.with_columns(label.alias("period")).filter(pl.col("period").is_not_null())


def bootstrap_log_loss_gap(
    p: np.ndarray, reference: np.ndarray, y: np.ndarray, groups: np.ndarray,
    samples: int = BOOTSTRAP_SAMPLES, seed: int = 0,
) -> tuple[float, float, float]:
    """Mean per-match log loss of `p` minus that of `reference`, and its 95 % percentile
    interval from resampling whole groups (tournaments) with replacement."""
    eps = metrics.EPS

    def per_match(q: np.ndarray) -> np.ndarray:
        q = np.clip(q, eps, 1 - eps)
        return -(y * np.log(q) + (1 - y) * np.log(1 - q))

    gap = per_match(np.asarray(p, float)) - per_match(np.asarray(reference, float))
    _, which = np.unique(groups, return_inverse=True)
    sums = np.bincount(which, weights=gap)
    counts = np.bincount(which).astype(float)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(sums), np.full(len(sums), 1.0 / len(sums)), size=samples)
    boot = (draws @ sums) / (draws @ counts)
    low, high = np.percentile(boot, [2.5, 97.5])
    return float(gap.mean()), float(low), float(high)


def same_matches(predictions: pl.DataFrame, periods: list[Period], columns: list[str]
                 ) -> Iterator[tuple[Period, pl.DataFrame, np.ndarray]]:
    """(period, its rows, 1.0 where p1 won) for every period with matches: the evaluated
    matches that have every compared forecaster's probability and every `columns` one."""
    present = [c for c in FORECASTERS.values() if c in predictions.columns]
    if {"tourney_level", "round"} <= set(predictions.columns):
        # the flag as this version defines it: files written before quarterfinals
        # counted as main-draw matches are scored as a new run would be
        predictions = predictions.with_columns(domain.tour_main_draw().alias("evaluated"))
    data = label_periods(predictions.filter(pl.col("evaluated")), periods).filter(
        pl.all_horizontal(pl.col(c).is_not_null() for c in present + columns))
    for period in periods:
        part = data.filter(pl.col("period") == period.label)
        if part.height:
            yield period, part, (part["winner_id"] == part["p1_id"]).cast(pl.Float64).to_numpy()


def compare(predictions: pl.DataFrame, periods: list[Period],
            samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> pl.DataFrame:
    """One row per period and forecaster, all on the same matches of that period."""
    present = {name: col for name, col in FORECASTERS.items() if col in predictions.columns}
    if REFERENCE not in predictions.columns:
        raise InputError("the predictions have no Pinnacle odds; run with --odds")
    rows = []
    for period, part, y in same_matches(predictions, periods, []):
        ref = part[REFERENCE].to_numpy()
        groups = part["tourney_id"].to_numpy()
        for name, col in present.items():
            p = part[col].to_numpy()
            gap, low, high = bootstrap_log_loss_gap(p, ref, y, groups, samples, seed)
            summary = metrics.summary(p, y)
            rows.append({
                "period": period.label, "model": name, "n": summary["n"],
                "log_loss": summary["log_loss"], "accuracy": summary["accuracy"],
                "ece": summary["ece"], "ece_if_calibrated": metrics.ece_if_calibrated(p),
                "gap_to_pinnacle": gap, "gap_low": low, "gap_high": high,
            })
    return pl.DataFrame(rows)


def fitted_pool(predictions: pl.DataFrame, periods: list[Period]) -> dict[str, float]:
    """The pool of the pure model and Pinnacle, (model, market) logit weights fitted on
    the periods' matches together (`compare`'s matches): how `blend.PRIOR` is chosen, on
    the tuning periods' forecasts only, and chosen again after a model change
    (EVALUATION.md, C67). The model is `p1_win_prob`, a multi-seed run's first seed, as
    the product's fit is one seed's."""
    from acebet import blend

    if REFERENCE not in predictions.columns:
        raise InputError("the predictions have no Pinnacle odds; run with --odds")
    parts = [(part, y) for _, part, y in same_matches(predictions, periods, [])]
    if not parts:
        raise InputError("no evaluated match with Pinnacle odds in these periods")
    part, won = pl.concat([p for p, _ in parts]), np.concatenate([y for _, y in parts])
    w_model, w_market = blend.pool(part["p1_win_prob"].to_numpy(), part[REFERENCE].to_numpy(),
                                   won)
    return {"periods": ", ".join(p["period"][0] for p, _ in parts), "n": part.height,
            "model": w_model, "market": w_market}


# `breakdown`'s kinds of match: how a match is put in a group, and the groups' order.
LEVEL_NAMES = {"G": "Grand Slam", "M": "Masters", "A": "ATP 250/500", "F": "Tour Finals"}
PRICE_BANDS = ("0.5-0.6", "0.6-0.7", "0.7-0.8", "0.8-0.9", "0.9-1.0")
# How far the pure model's logit is from Pinnacle's: where the model disagrees with the
# closing line, and which of them the results bear out (EVALUATION.md, "When the model
# and the closing line disagree").
DISAGREEMENT_EDGES = (0.1, 0.2, 0.35, 0.5, 0.8)
DISAGREEMENT_BANDS = ("0-0.1", "0.1-0.2", "0.2-0.35", "0.35-0.5", "0.5-0.8", "0.8+")
UNKNOWN_GROUP = "(none)"  # a match without the grouping value still counts, last


def _favourite_band() -> pl.Expr:
    price = pl.col(REFERENCE).fill_nan(None)
    favourite = pl.max_horizontal(price, 1 - price)
    band = (favourite * 10).floor().clip(5, 9).cast(pl.Int64)
    return pl.format("0.{}-{}", band, pl.when(band == 9).then(pl.lit("1.0"))
                     .otherwise(pl.format("0.{}", band + 1)))


def _logit(col: str) -> pl.Expr:
    p = pl.col(col).fill_nan(None).clip(1e-6, 1 - 1e-6)
    return (p / (1 - p)).log()


def _disagreement_band() -> pl.Expr:
    apart = (_logit("p1_win_prob") - _logit(REFERENCE)).abs()
    band = pl.sum_horizontal([(apart >= edge).cast(pl.Int64) for edge in DISAGREEMENT_EDGES])
    return pl.when(apart.is_not_null()).then(
        band.replace_strict(dict(enumerate(DISAGREEMENT_BANDS)), return_dtype=pl.String))


BREAKDOWNS: dict[str, tuple[pl.Expr, list[str]]] = {
    "level": (pl.col("tourney_level").replace_strict(LEVEL_NAMES, default=pl.col(
        "tourney_level")), list(LEVEL_NAMES.values())),
    "surface": (pl.col("surface"), list(SURFACES)),
    "round": (pl.col("round"), list(ROUND_ORDER)),
    "price": (_favourite_band(), list(PRICE_BANDS)),
    "disagreement": (_disagreement_band(), list(DISAGREEMENT_BANDS)),
}


def breakdown(predictions: pl.DataFrame, periods: list[Period], by: str,
              samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> pl.DataFrame:
    """The pure model's and the blend's log loss minus Pinnacle's per kind of match
    (`by`: level, surface, round, price: Pinnacle's favourite's probability, or
    disagreement: how far apart the model's and Pinnacle's logits are), on
    `compare`'s matches of all `periods` together, with tournament-resampled intervals.

    A period's gap is an average over every kind of match; this says where it is made
    and where the blend beats the closing line. `share` is the group's part of the
    whole gap (its gap times its share of the matches), so the shares add up to it."""
    if by not in BREAKDOWNS:
        raise InputError(f"--by {by!r}: choose from {', '.join(BREAKDOWNS)}")
    if REFERENCE not in predictions.columns:
        raise InputError("the predictions have no Pinnacle odds; run with --odds")
    group, order = BREAKDOWNS[by]
    parts = [part.with_columns(won=pl.Series(y)) for _, part, y
             in same_matches(predictions, periods, [])]
    if not parts:
        raise InputError("no evaluated matches with Pinnacle odds in these periods")
    data = pl.concat(parts).with_columns(
        group.cast(pl.String).fill_null(UNKNOWN_GROUP).alias("group"))
    present = {k: FORECASTERS[k] for k in ("acebet", "blend") if FORECASTERS[k] in data.columns}
    rank = {name: i for i, name in enumerate(order)}
    names = sorted(data["group"].unique().to_list(),
                   key=lambda g: (rank.get(g, len(rank)), g))
    rows = []
    for name in names:
        part = data.filter(pl.col("group") == name)
        y, ref = part["won"].to_numpy(), part[REFERENCE].to_numpy()
        groups = part["tourney_id"].to_numpy()
        row: dict[str, object] = {by: name, "n": part.height,
                                  "pinnacle": metrics.log_loss(ref, y)}
        for label, col in present.items():
            gap, low, high = bootstrap_log_loss_gap(part[col].to_numpy(), ref, y, groups,
                                                    samples, seed)
            row |= {label: metrics.log_loss(part[col].to_numpy(), y),
                    f"{label} - pinnacle": gap, f"{label} low": low,
                    f"{label} high": high, f"{label} share": gap * part.height / data.height}
        rows.append(row)
    return pl.DataFrame(rows)


SEED_COLUMN = "p1_win_prob_seed_"  # + the seed: one fit's probabilities (`run` with seeds)
BLEND_SEED_COLUMN = "p1_blend_prob_seed_"  # + the seed: that fit's blend
KEYS = ["tourney_id", "match_num"]


def run(con: duckdb.DuckDBPyConnection, periods: list[Period], odds_dir: Path, *,
        retrain: str = "monthly", seed: int | None = None,
        seeds: tuple[int, ...] = ()) -> tuple[pl.DataFrame, list[BacktestResult]]:
    """One walk-forward backtest per period, computed on a read-only connection; their
    predictions together, tagged by period, and the results for the caller to store.

    With several `seeds`, every period is run once per seed: the predictions are the
    first seed's, with every seed's model probability and blend beside them
    (SEED_COLUMN, BLEND_SEED_COLUMN), which `seed_table` and `blend_seed_table` read."""
    from acebet import backtest

    if len(seeds) > 1:
        runs = [run(con, periods, odds_dir, retrain=retrain, seed=s) for s in seeds]
        predictions = runs[0][0]
        blend = FORECASTERS["blend"]
        for s, (frame, _) in zip(seeds, runs, strict=True):
            per_seed = [pl.col("p1_win_prob").alias(f"{SEED_COLUMN}{s}")]
            if blend in frame.columns:
                per_seed.append(pl.col(blend).alias(f"{BLEND_SEED_COLUMN}{s}"))
            predictions = predictions.join(frame.select(*KEYS, *per_seed),
                                           on=KEYS, how="left", maintain_order="left")
        return predictions, [r for _, results in runs for r in results]
    if seeds:
        seed = seeds[0]
    parts, results = [], []
    for period in periods:
        result = backtest.evaluate(con, period.start, period.end, retrain=retrain,
                                   odds_dir=odds_dir, seed=seed)
        results.append(result)
        parts.append(result.predictions.with_columns(
            pl.lit(period.label).alias("period"), pl.lit(result.backtest_id).alias("backtest_id")))
    return pl.concat(parts, how="diagonal_relaxed"), results


def seed_table(predictions: pl.DataFrame, periods: list[Period]) -> pl.DataFrame | None:
    """The pure model's log loss per seed, their mean and range, and the log loss of their
    mean in logit space (a bagged ensemble), per period on `compare`'s matches; None
    without several seeds' columns.

    Two fits that differ only in the seed differ by about 0.001 a period, so a candidate
    is judged on the mean (EVALUATION.md)."""
    columns = [c for c in predictions.columns if c.startswith(SEED_COLUMN)]
    if len(columns) < 2:
        return None
    rows = []
    for period, part, y in same_matches(predictions, periods, columns):
        losses = {c.removeprefix(SEED_COLUMN): metrics.log_loss(part[c].to_numpy(), y)
                  for c in columns}
        values = list(losses.values())
        rows.append({"period": period.label, "n": part.height,
                     **{f"seed {k}": v for k, v in losses.items()},
                     "mean": float(np.mean(values)), "range": max(values) - min(values),
                     "mean of the seeds' fits": metrics.log_loss(mean_fit(part, columns), y)})
    return pl.DataFrame(rows)


def blend_seed_table(predictions: pl.DataFrame, periods: list[Period]) -> pl.DataFrame | None:
    """The blend's log loss minus Pinnacle's per seed and their mean, per period, on the
    matches where every seed's fit has a blend; None without several seeds' blends.

    A candidate for the pool is judged by this, as a model candidate by `seed_table`:
    the blend moves with the fit under it."""
    columns = [c for c in predictions.columns if c.startswith(BLEND_SEED_COLUMN)]
    if len(columns) < 2 or REFERENCE not in predictions.columns:
        return None
    rows = []
    for period, part, y in same_matches(predictions, periods, columns):
        market = metrics.log_loss(part[REFERENCE].to_numpy(), y)
        gaps = {c.removeprefix(BLEND_SEED_COLUMN): metrics.log_loss(part[c].to_numpy(), y)
                - market for c in columns}
        rows.append({"period": period.label, "n": part.height,
                     **{f"seed {k} - pinnacle": v for k, v in gaps.items()},
                     "mean - pinnacle": float(np.mean(list(gaps.values())))})
    return pl.DataFrame(rows)


def mean_fit(part: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """The probability of the mean of `columns`' logits: the seeds' fits as one bagged
    ensemble."""
    p = np.clip(np.column_stack([part[c].to_numpy() for c in columns]),
                metrics.EPS, 1 - metrics.EPS)
    mean_logit = (np.log(p) - np.log1p(-p)).mean(axis=1)
    return 1.0 / (1.0 + np.exp(-mean_logit))


def against(predictions: pl.DataFrame, reference: pl.DataFrame, periods: list[Period],
            samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> pl.DataFrame:
    """A candidate run (`predictions`) minus a reference run, per period, on the matches
    both forecast: the pure model's log loss difference per seed the two runs share (or
    of `p1_win_prob` when they share none), its mean, and the difference of the seeds'
    mean fits with a 95 % interval that resamples tournaments; when both runs have the
    blend, its difference too, per seed they share and for the seeds' mean blends
    (`_paired_blend`).

    The two runs forecast the same matches, so the pairing cancels most of the matches'
    own noise: a difference of 0.0005 that a gap to Pinnacle cannot resolve often has an
    interval clear of zero here. That makes the choice between candidates a command."""
    check_reference(reference)
    shared, blends = paired_columns(predictions, reference)
    theirs = [f"reference_{c}" for c in shared]
    joined = predictions.with_columns(_keys()).join(
        reference.select(*_keys(), *[pl.col(c).alias(f"reference_{c}")
                                     for c in shared + blends]),
        on=KEYS, how="inner")
    rows = []
    for period, part, y in same_matches(joined, periods, shared + theirs):
        diffs = {c.removeprefix(SEED_COLUMN): metrics.log_loss(part[c].to_numpy(), y)
                 - metrics.log_loss(part[t].to_numpy(), y)
                 for c, t in zip(shared, theirs, strict=True)}
        gap, low, high = bootstrap_log_loss_gap(
            mean_fit(part, shared), mean_fit(part, theirs), y, part["tourney_id"].to_numpy(),
            samples, seed)
        per_seed = {} if shared == ["p1_win_prob"] else {f"seed {k}": v
                                                          for k, v in diffs.items()}
        rows.append({"period": period.label, "n": part.height,
                     "candidate": float(np.mean([metrics.log_loss(part[c].to_numpy(), y)
                                                 for c in shared])),
                     "reference": float(np.mean([metrics.log_loss(part[t].to_numpy(), y)
                                                 for t in theirs])),
                     **per_seed,
                     "mean difference": float(np.mean(list(diffs.values()))),
                     "mean fits' difference": gap, "low": low, "high": high,
                     **(_paired_blend(part, y, blends, samples, seed) if blends else {})})
    if not rows:
        raise InputError("the reference run forecast none of these periods' evaluated "
                         "matches; give a run of the same periods")
    return pl.DataFrame(rows)


def paired_columns(predictions: pl.DataFrame, reference: pl.DataFrame
                   ) -> tuple[list[str], list[str]]:
    """The pure model's and the blend's columns `against` pairs: every seed's the two runs
    share, or else each run's `p1_win_prob` and `p1_blend_prob` (its first seed's).
    Named so the command can say what was compared: a multi-seed run against a
    single-seed one compares first seeds, which need not be the same seed."""
    def seeds(prefix: str) -> list[str]:
        return [c for c in predictions.columns if c.startswith(prefix) and c in reference.columns]

    blend = FORECASTERS["blend"]
    return (seeds(SEED_COLUMN) or ["p1_win_prob"],
            seeds(BLEND_SEED_COLUMN) or ([blend] if blend in predictions.columns
                                         and blend in reference.columns else []))


def describe_pairing(columns: list[str]) -> str:
    """`paired_columns`' choice in words, for the command's output."""
    if len(columns) == 1 and not columns[0].startswith((SEED_COLUMN, BLEND_SEED_COLUMN)):
        return "each run's first seed"
    return ("seed " if len(columns) == 1 else "seeds ") + ", ".join(
        c.rsplit("_", 1)[1] for c in columns)


def _paired_blend(part: pl.DataFrame, y: np.ndarray, blends: list[str], samples: int,
                  seed: int) -> dict[str, float]:
    """The blend's log loss minus the reference run's, on the matches where both runs
    have every one of `blends`: per seed the two runs share (each seed's blend), and for
    the seeds' mean blends with the same tournament-resampled interval (with no shared
    seeds, of each run's `p1_blend_prob`), with the number of those matches. A candidate
    for the pool changes only these columns, and the blend moves with the fit under it, so
    it is judged over seeds."""
    theirs = [f"reference_{c}" for c in blends]
    both = np.logical_and.reduce([part[c].is_not_null().to_numpy() for c in blends + theirs])
    if not both.any():
        return {}
    part, y = part.filter(pl.Series(both)), y[both]
    per_seed = {} if blends == [FORECASTERS["blend"]] else {
        f"blend seed {c.removeprefix(BLEND_SEED_COLUMN)}":
            metrics.log_loss(part[c].to_numpy(), y) - metrics.log_loss(part[t].to_numpy(), y)
        for c, t in zip(blends, theirs, strict=True)}
    gap, low, high = bootstrap_log_loss_gap(
        mean_fit(part, blends), mean_fit(part, theirs), y, part["tourney_id"].to_numpy(),
        samples, seed)
    return {"blend n": int(both.sum()), **per_seed, "blend difference": gap,
            "blend low": low, "blend high": high}


def _keys() -> list[pl.Expr]:
    """The match keys in one type, whichever Parquet writer typed them."""
    return [pl.col("tourney_id").cast(pl.String), pl.col("match_num").cast(pl.Int64)]


def check_reference(reference: pl.DataFrame) -> None:
    """Refuse a reference file that is not one run's `evaluate --out` (checked before a
    long run, not after it)."""
    missing = [c for c in [*KEYS, "p1_win_prob"] if c not in reference.columns]
    if missing:
        raise InputError(f"the reference predictions lack column {missing[0]!r}; "
                         "give an earlier `evaluate --out` file")
    try:
        keys = reference.select(_keys())
    except pl.exceptions.PolarsError:
        raise InputError("the reference predictions' tourney_id and match_num are not "
                         "match keys; give an earlier `evaluate --out` file") from None
    if keys.is_duplicated().any():
        raise InputError("the reference predictions hold a match twice; give one run's "
                         "`evaluate --out` file")
