"""The evaluation protocol: period splitting, the same matches for every forecaster, and
the bootstrap interval on the gap to Pinnacle, on small synthetic predictions."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from acebet import evaluation as ev
from acebet.cli import main
from acebet.errors import InputError


def test_period_forms_parse_to_inclusive_calendar_spans() -> None:
    assert ev.parse_period("2019-20") == ev.Period("2019-20", dt.date(2019, 1, 1),
                                                   dt.date(2020, 12, 31))
    assert ev.parse_period("2021").end == dt.date(2021, 12, 31)
    span = ev.parse_period("2019-03-01:2019-06-30")
    assert (span.start, span.end) == (dt.date(2019, 3, 1), dt.date(2019, 6, 30))


@pytest.mark.parametrize("text", ["2019-18", "19-20", "2019-02-30:2019-03-01",
                                  "2020-01-01:2019-01-01", "last year"])
def test_bad_periods_are_input_errors(text: str) -> None:
    with pytest.raises(InputError, match="period"):
        ev.parse_period(text)


def test_overlapping_periods_are_refused_and_others_sorted() -> None:
    with pytest.raises(InputError, match="overlap"):
        ev.parse_periods(["2015-16", "2016-17"])
    got = ev.parse_periods(["2021-22,2015-16", "2019"])
    assert [p.label for p in got] == ["2015-16", "2019", "2021-22"]


def test_label_periods_keeps_the_edges_and_drops_the_gaps() -> None:
    days = [dt.date(2014, 12, 31), dt.date(2015, 1, 1), dt.date(2016, 12, 31),
            dt.date(2017, 6, 1), dt.date(2019, 1, 1)]
    frame = pl.DataFrame({"tourney_date": days})
    out = ev.label_periods(frame, ev.parse_periods(["2015-16", "2019"]))
    assert out["tourney_date"].to_list() == [days[1], days[2], days[4]]
    assert out["period"].to_list() == ["2015-16", "2015-16", "2019"]


def _per_match_loss(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def test_bootstrap_gap_is_the_mean_difference_and_its_interval_brackets_it() -> None:
    rng = np.random.default_rng(1)
    n = 600
    truth = rng.uniform(0.2, 0.8, n)
    y = (rng.uniform(size=n) < truth).astype(float)
    sharp = truth
    noisy = np.clip(truth + rng.normal(0, 0.15, n), 0.02, 0.98)
    groups = np.repeat(np.arange(60), 10)
    gap, low, high = ev.bootstrap_log_loss_gap(noisy, sharp, y, groups, samples=500)
    expected = float(np.mean(_per_match_loss(noisy, y) - _per_match_loss(sharp, y)))
    assert gap == pytest.approx(expected, abs=1e-12)
    assert low < gap < high
    assert low > 0  # the noisy forecast is clearly worse than the truth
    same = ev.bootstrap_log_loss_gap(sharp, sharp, y, groups, samples=200)
    assert same == (0.0, 0.0, 0.0)


def test_resampling_tournaments_widens_the_interval_when_matches_move_together() -> None:
    """If a whole event goes one way, per-match resampling would understate the
    uncertainty; resampling by tournament must not."""
    rng = np.random.default_rng(2)
    events, size = 40, 25
    shift = np.repeat(rng.normal(0, 0.3, events), size)  # shared per event
    y = np.ones(events * size)
    ref = np.full(events * size, 0.6)
    p = 1 / (1 + np.exp(-(np.log(0.6 / 0.4) + shift)))
    by_event = np.repeat(np.arange(events), size)
    by_match = np.arange(events * size)
    _, lo_e, hi_e = ev.bootstrap_log_loss_gap(p, ref, y, by_event, samples=1000)
    _, lo_m, hi_m = ev.bootstrap_log_loss_gap(p, ref, y, by_match, samples=1000)
    assert hi_e - lo_e > 2 * (hi_m - lo_m)


def _predictions() -> pl.DataFrame:
    rng = np.random.default_rng(3)
    n = 400
    days = [dt.date(2015, 1, 5) + dt.timedelta(days=int(d)) for d in
            np.sort(rng.integers(0, 365 * 4, n))]
    truth = rng.uniform(0.2, 0.8, n)
    won = rng.uniform(size=n) < truth
    market = [None if i % 10 == 0 else float(t) for i, t in enumerate(truth)]  # some lack it
    return pl.DataFrame({
        "tourney_date": days, "tourney_id": [f"t{i // 8}" for i in range(n)],
        "p1_id": np.full(n, 1), "winner_id": np.where(won, 1, 2),
        "evaluated": np.arange(n) % 7 != 0,
        "p1_win_prob": np.clip(truth + rng.normal(0, 0.1, n), 0.05, 0.95),
        "elo_prob": np.full(n, 0.5), "rank_prob": np.full(n, 0.55),
        "pinnacle_prob": truth, "market_avg_prob": pl.Series(market, dtype=pl.Float64),
    })


def test_compare_scores_every_forecaster_on_the_same_matches_per_period() -> None:
    preds = _predictions()
    periods = ev.parse_periods(["2015-16", "2017-18"])
    table = ev.compare(preds, periods, samples=200)
    assert set(table["period"]) == {"2015-16", "2017-18"}
    for period in ("2015-16", "2017-18"):
        part = table.filter(pl.col("period") == period)
        assert set(part["model"]) == {"acebet", "elo", "ranking", "market_avg", "pinnacle"}
        assert part["n"].n_unique() == 1  # the same matches for all
        expected = ev.label_periods(preds, periods).filter(
            (pl.col("period") == period) & pl.col("evaluated")
            & pl.col("market_avg_prob").is_not_null()).height
        assert part["n"][0] == expected
        pin = part.filter(pl.col("model") == "pinnacle").row(0, named=True)
        assert pin["gap_to_pinnacle"] == 0.0
        elo = part.filter(pl.col("model") == "elo").row(0, named=True)
        assert elo["gap_low"] > 0


def test_evaluate_command_compares_a_saved_parquet(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "preds.parquet"
    _predictions().write_parquet(path)
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "x.duckdb"), "evaluate",
                                       "--periods", "2015-16", "--predictions", str(path)])
    assert result.exit_code == 0, result.output
    assert "gap_to_pinnacle" in result.output and "2015-16" in result.output
    bad = CliRunner().invoke(main, ["--db", str(tmp_path / "x.duckdb"), "evaluate",
                                    "--periods", "2015-17x"])
    assert bad.exit_code == 2 and "period" in bad.output


def test_an_ece_is_read_against_what_a_calibrated_forecaster_would_show() -> None:
    """At two seasons of matches a perfectly calibrated forecaster's ECE is about 0.015,
    not 0; a forecaster off by a constant 0.05 sits far above that floor."""
    from acebet import metrics

    rng = np.random.default_rng(1)
    p = rng.uniform(0.1, 0.9, 4700)
    y = (rng.random(4700) < p).astype(float)
    floor = metrics.ece_if_calibrated(p)
    assert 0.008 < floor < 0.025
    assert abs(metrics.ece(p, y) - floor) < 0.01  # calibrated: near its floor
    shifted = np.clip(p + 0.05, 0.01, 0.99)
    assert metrics.ece(shifted, y) > floor + 0.03
    assert metrics.ece_if_calibrated(p) == floor  # seeded: the same table twice

    table = ev.compare(_predictions(), ev.parse_periods(["2015-16"]), samples=50)
    assert (table["ece_if_calibrated"] > 0).all()


def test_the_seed_table_gives_each_seed_their_mean_and_the_mean_fit() -> None:
    from acebet import metrics

    preds = _predictions()
    rng = np.random.default_rng(5)
    p = preds["p1_win_prob"].to_numpy()
    logit, shake = np.log(p / (1 - p)), rng.normal(0, 0.3, len(p))
    # two fits scattered either side of p in logit space: their mean fit is p itself
    preds = preds.with_columns(pl.Series("p1_win_prob_seed_7", 1 / (1 + np.exp(-logit - shake))),
                               pl.Series("p1_win_prob_seed_1", 1 / (1 + np.exp(-logit + shake))))
    periods = ev.parse_periods(["2015-16"])
    assert ev.seed_table(preds.drop("p1_win_prob_seed_1"), periods) is None
    row = ev.seed_table(preds, periods).row(0, named=True)
    same = ev.compare(preds.with_columns(pl.col("p1_win_prob_seed_7").alias("p1_win_prob")),
                      periods, samples=10).filter(pl.col("model") == "acebet")
    assert row["n"] == same["n"][0] and row["seed 7"] == pytest.approx(same["log_loss"][0])
    assert row["mean"] == pytest.approx((row["seed 7"] + row["seed 1"]) / 2)
    assert row["range"] == pytest.approx(abs(row["seed 1"] - row["seed 7"]))
    on = ev.label_periods(preds.filter(pl.col("evaluated")), periods).filter(
        pl.all_horizontal(pl.col(c).is_not_null() for c in preds.columns if "prob" in c))
    y = (on["winner_id"] == on["p1_id"]).cast(pl.Float64).to_numpy()
    assert row["mean of the seeds' fits"] == pytest.approx(
        metrics.log_loss(on["p1_win_prob"].to_numpy(), y))
    assert row["mean of the seeds' fits"] < row["mean"]  # log loss is convex in the logit


def test_evaluate_runs_every_period_once_per_seed(synthetic_source, tmp_path) -> None:  # noqa: ANN001
    from tests.synthetic import write_odds_folder

    db, out = tmp_path / "e.duckdb", tmp_path / "e.parquet"
    odds = write_odds_folder(synthetic_source, tmp_path / "odds", range(2021, 2023))
    assert CliRunner().invoke(main, ["--db", str(db), "ingest",
                                     str(synthetic_source)]).exit_code == 0
    result = CliRunner().invoke(main, ["--db", str(db), "evaluate", "--periods", "2022",
                                       "--retrain", "monthly", "--odds", str(odds),
                                       "--seed", "3", "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "AceBet log loss per seed" in result.output and "seed 4" in result.output
    saved = pl.read_parquet(out)
    assert saved["p1_win_prob"].to_list() == saved["p1_win_prob_seed_3"].to_list()
    assert saved["p1_win_prob_seed_3"].to_list() != saved["p1_win_prob_seed_4"].to_list()
    # each seed's own blend: the first seed's is the file's, the second differs with its fit
    assert saved["p1_blend_prob_seed_3"].drop_nulls().len() > 0
    assert saved["p1_blend_prob"].to_list() == saved["p1_blend_prob_seed_3"].to_list()
    assert saved["p1_blend_prob_seed_3"].to_list() != saved["p1_blend_prob_seed_4"].to_list()
    assert "The blend's log loss minus Pinnacle's per seed" in result.output
    stored = duckdb.connect(str(db), read_only=True)
    try:
        assert stored.execute("SELECT count(*) FROM backtests").fetchall()[0][0] == 2
    finally:
        stored.close()


def test_blend_seed_table_gives_each_seeds_blend_minus_pinnacle_on_shared_matches() -> None:
    from acebet import metrics

    preds = _with_draws(_predictions())
    rng = np.random.default_rng(5)
    b = preds["p1_blend_prob"].to_numpy()
    shaken = 1 / (1 + np.exp(-np.log(b / (1 - b)) - rng.normal(0, 0.3, len(b))))
    preds = preds.with_columns(
        pl.Series("p1_blend_prob_seed_7", b),
        pl.Series("p1_blend_prob_seed_1", np.where(np.arange(len(b)) % 4 == 0, np.nan,
                                                   shaken)).fill_nan(None))
    periods = ev.parse_periods(["2015-16"])
    assert ev.blend_seed_table(preds.drop("p1_blend_prob_seed_1"), periods) is None
    row = ev.blend_seed_table(preds, periods).row(0, named=True)
    on = ev.label_periods(preds, periods).filter(
        pl.col("tourney_level").is_in(["G", "M", "A", "F"]) & (pl.col("round") != "Q2")
        & pl.col("market_avg_prob").is_not_null() & pl.col("p1_blend_prob_seed_1").is_not_null())
    y = (on["winner_id"] == on["p1_id"]).cast(pl.Float64).to_numpy()
    market = metrics.log_loss(on["pinnacle_prob"].to_numpy(), y)
    assert row["n"] == on.height
    assert row["seed 7 - pinnacle"] == pytest.approx(
        metrics.log_loss(on["p1_blend_prob"].to_numpy(), y) - market)
    assert row["seed 1 - pinnacle"] == pytest.approx(
        metrics.log_loss(on["p1_blend_prob_seed_1"].to_numpy(), y) - market)
    assert row["mean - pinnacle"] == pytest.approx(
        (row["seed 7 - pinnacle"] + row["seed 1 - pinnacle"]) / 2)


def _two_seeds(preds: pl.DataFrame, shake_by: float) -> pl.DataFrame:
    """Two seeds' fits of `preds`, the second one `shake_by` noisier in logit space."""
    rng = np.random.default_rng(8)
    p = preds["p1_win_prob"].to_numpy()
    logit = np.log(p / (1 - p))
    return preds.with_columns(
        pl.Series("match_num", np.arange(preds.height)),
        pl.Series("p1_win_prob_seed_7", p),
        pl.Series("p1_win_prob_seed_1",
                  1 / (1 + np.exp(-logit - rng.normal(0, shake_by, len(p))))))


def test_against_gives_a_candidate_minus_its_reference_per_seed_on_shared_matches() -> None:
    from acebet import metrics

    periods = ev.parse_periods(["2015-16"])
    reference = _two_seeds(_predictions(), 0.0)
    worse = _two_seeds(_predictions(), 0.5)  # seed 7 as the reference, seed 1 noisier
    row = ev.against(worse, reference, periods, samples=300).row(0, named=True)
    assert row["seed 7"] == 0.0 and row["seed 1"] > 0.005
    assert row["mean difference"] == pytest.approx(row["seed 1"] / 2)
    on_both = ev.label_periods(worse.filter(pl.col("evaluated")), periods).filter(
        pl.col("market_avg_prob").is_not_null())
    seeds = ["p1_win_prob_seed_7", "p1_win_prob_seed_1"]
    won = (on_both["winner_id"] == on_both["p1_id"]).cast(pl.Float64).to_numpy()
    paired = ev.bootstrap_log_loss_gap(
        ev.mean_fit(on_both, seeds), ev.mean_fit(on_both.with_columns(
            pl.col("p1_win_prob").alias("p1_win_prob_seed_1")), seeds),
        won, on_both["tourney_id"].to_numpy(), samples=300)
    assert (row["mean fits' difference"], row["low"], row["high"]) == pytest.approx(paired)
    on = ev.label_periods(reference.filter(pl.col("evaluated")), periods).filter(
        pl.col("market_avg_prob").is_not_null())
    y = (on["winner_id"] == on["p1_id"]).cast(pl.Float64).to_numpy()
    assert row["n"] == on.height
    assert row["reference"] == pytest.approx(metrics.log_loss(on["p1_win_prob"].to_numpy(), y))

    same = ev.against(reference, reference, periods, samples=50).row(0, named=True)
    assert (same["mean difference"], same["low"], same["high"]) == (0.0, 0.0, 0.0)
    # only the matches both runs forecast count; without shared seeds, p1_win_prob
    fewer = reference.gather_every(2).drop("p1_win_prob_seed_7", "p1_win_prob_seed_1")
    half = ev.against(worse, fewer, periods, samples=50).row(0, named=True)
    assert half["n"] < row["n"] and "seed 7" not in half
    # keys typed otherwise by another writer still pair; a file that is not one run does not
    retyped = reference.with_columns(pl.col("match_num").cast(pl.Float64))
    assert ev.against(worse, retyped, periods, samples=50).row(0, named=True) == row | {
        "low": pytest.approx(row["low"], abs=0.01), "high": pytest.approx(row["high"], abs=0.01)}
    assert "blend difference" not in row  # neither run has a blend
    with pytest.raises(InputError, match="twice"):
        ev.against(worse, pl.concat([reference, reference.head(3)]), periods)
    with pytest.raises(InputError, match="none of these periods"):
        ev.against(worse, reference, ev.parse_periods(["2030"]))


def test_against_pairs_the_two_runs_blends_where_both_have_one() -> None:
    """A pool candidate leaves the pure model alone; the paired blend column is what
    shows it, on the matches where both runs have a blend."""
    from acebet import domain, metrics

    periods = ev.parse_periods(["2015-16"])
    reference = _with_draws(_two_seeds(_predictions(), 0.0))
    rng = np.random.default_rng(3)
    b = reference["p1_blend_prob"].to_numpy()
    noisier = 1 / (1 + np.exp(-np.log(b / (1 - b)) - rng.normal(0, 0.4, len(b))))
    holes = np.arange(len(b)) % 5 == 0  # no blend where the candidate had no weights
    candidate = reference.with_columns(
        pl.Series("p1_blend_prob", np.where(holes, np.nan, noisier)).fill_nan(None))
    row = ev.against(candidate, reference, periods, samples=200).row(0, named=True)
    assert row["mean difference"] == 0.0 and row["blend difference"] > 0
    on = ev.label_periods(candidate, periods).filter(
        domain.tour_main_draw() & pl.col("market_avg_prob").is_not_null()
        & pl.col("p1_blend_prob").is_not_null())
    y = (on["winner_id"] == on["p1_id"]).cast(pl.Float64).to_numpy()
    theirs = on.select("match_num").join(reference.select("match_num", "p1_blend_prob"),
                                         on="match_num", how="left")["p1_blend_prob"]
    assert row["blend difference"] == pytest.approx(
        metrics.log_loss(on["p1_blend_prob"].to_numpy(), y)
        - metrics.log_loss(theirs.to_numpy(), y))
    assert row["blend low"] < row["blend difference"] < row["blend high"]
    same = ev.against(reference, reference, periods, samples=50).row(0, named=True)
    assert (same["blend difference"], same["blend low"], same["blend high"]) == (0, 0, 0)


def test_against_pairs_each_seeds_blend_when_both_runs_have_several() -> None:
    """Multi-seed runs: each seed's blend against the same seed's, and the seeds' mean
    blends with the interval, on the matches where all four blends exist, so a pool
    candidate is judged over seeds as a model is."""
    from acebet import domain, metrics

    def logit(p: np.ndarray) -> np.ndarray:
        return np.log(p / (1 - p))

    periods = ev.parse_periods(["2015-16"])
    base = _with_draws(_two_seeds(_predictions(), 0.0))
    b = base["p1_blend_prob"].to_numpy()
    b1 = 1 / (1 + np.exp(-1.1 * logit(b)))  # the reference's seed 1: another fit's blend
    i = np.arange(len(b))
    reference = base.with_columns(  # seed 1 first, and a hole in seed 7
        pl.Series("p1_blend_prob_seed_1", b1),
        pl.Series("p1_blend_prob_seed_7", np.where(i % 9 == 0, np.nan, b)).fill_nan(None))
    flatter = 1 / (1 + np.exp(-0.3 * logit(b1)))  # a pool that trusts too little
    candidate = base.with_columns(
        pl.Series("p1_blend_prob_seed_7", b),
        pl.Series("p1_blend_prob_seed_1", np.where(i % 6 == 0, np.nan, flatter)).fill_nan(None))
    assert ev.paired_columns(candidate, reference)[1] == ["p1_blend_prob_seed_7",
                                                           "p1_blend_prob_seed_1"]
    row = ev.against(candidate, reference, periods, samples=200).row(0, named=True)

    kept = (i % 9 != 0) & (i % 6 != 0)
    on = ev.label_periods(candidate.filter(pl.Series(kept)), periods).filter(
        domain.tour_main_draw() & pl.col("market_avg_prob").is_not_null())
    at = on["match_num"].to_numpy()
    y = (on["winner_id"] == on["p1_id"]).cast(pl.Float64).to_numpy()
    mine = {7: b[at], 1: flatter[at]}
    theirs = {7: b[at], 1: b1[at]}
    assert row["blend n"] == on.height < row["n"]
    assert row["blend seed 7"] == 0.0
    assert row["blend seed 1"] == pytest.approx(
        metrics.log_loss(mine[1], y) - metrics.log_loss(theirs[1], y))
    assert row["blend seed 1"] > 0.005
    mean = {k: ev.mean_fit(pl.DataFrame({"a": v[7], "b": v[1]}), ["a", "b"])
            for k, v in (("mine", mine), ("theirs", theirs))}
    assert (row["blend difference"], row["blend low"], row["blend high"]) == pytest.approx(
        ev.bootstrap_log_loss_gap(mean["mine"], mean["theirs"], y,
                                  on["tourney_id"].to_numpy(), samples=200))

    # no seed's blend in the reference: each run's p1_blend_prob, its first seed's
    first = candidate.with_columns(pl.Series("p1_blend_prob", flatter))
    plain = base.drop("p1_blend_prob_seed_7", "p1_blend_prob_seed_1", strict=False)
    assert ev.paired_columns(first, plain)[1] == ["p1_blend_prob"]
    single = ev.against(first, plain, periods, samples=50).row(0, named=True)
    assert not any(k.startswith("blend seed") for k in single)
    assert single["blend n"] == single["n"] and single["blend difference"] > 0.005
    assert ev.describe_pairing(["p1_blend_prob"]) == "each run's first seed"
    assert ev.describe_pairing(["p1_blend_prob_seed_7"]) == "seed 7"


def test_fit_pool_fits_the_model_and_pinnacle_on_the_periods_matches_together(
    tmp_path,  # noqa: ANN001
) -> None:
    """How `blend.PRIOR` is chosen and chosen again: one pool over the given periods'
    evaluated matches with Pinnacle odds, from a saved run."""
    from acebet import blend

    preds = _predictions()
    periods = ev.parse_periods(["2015-16", "2017-18"])
    got = ev.fitted_pool(preds, periods)
    on = ev.label_periods(preds.filter(pl.col("evaluated")), periods).filter(
        pl.col("market_avg_prob").is_not_null())
    won = (on["winner_id"] == on["p1_id"]).cast(pl.Float64).to_numpy()
    assert got["n"] == on.height and got["periods"] == "2015-16, 2017-18"
    assert (got["model"], got["market"]) == pytest.approx(
        blend.pool(on["p1_win_prob"].to_numpy(), on["pinnacle_prob"].to_numpy(), won))
    one = ev.fitted_pool(preds, ev.parse_periods(["2015-16"]))
    assert one["n"] < got["n"] and one["model"] != got["model"]
    with pytest.raises(InputError, match="no evaluated match"):
        ev.fitted_pool(preds, ev.parse_periods(["2030"]))

    saved = tmp_path / "run.parquet"
    preds.write_parquet(saved)
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "x.duckdb"), "evaluate",
                                       "--predictions", str(saved), "--fit-pool",
                                       "--periods", "2015-16,2017-18"])
    assert result.exit_code == 0, result.output
    assert "The pool of the pure model and Pinnacle" in result.output
    assert f"{got['market']:.4f}" in result.output


def test_evaluate_against_prints_the_paired_table_or_says_what_is_wrong(tmp_path) -> None:  # noqa: ANN001
    cand, ref = tmp_path / "c.parquet", tmp_path / "r.parquet"
    _two_seeds(_predictions(), 0.5).write_parquet(cand)
    _two_seeds(_predictions(), 0.0).write_parquet(ref)
    base = ["--db", str(tmp_path / "x.duckdb"), "evaluate", "--periods", "2015-16",
            "--predictions", str(cand)]
    result = CliRunner().invoke(main, [*base, "--against", str(ref)])
    assert result.exit_code == 0, result.output
    assert f"minus {ref}'s" in result.output and "mean fits' difference" in result.output
    assert "forecast, seeds 7, 1:" in result.output  # what was paired

    missing = CliRunner().invoke(main, [*base, "--against", str(tmp_path / "none.parquet")])
    assert missing.exit_code == 2 and "--against" in missing.output
    assert "Traceback" not in missing.output
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "other.parquet")
    other = CliRunner().invoke(main, [*base, "--against", str(tmp_path / "other.parquet")])
    assert other.exit_code == 2 and "lack column 'tourney_id'" in other.output
    itself = CliRunner().invoke(main, [*base, "--against", str(cand), "--out", str(cand)])
    assert itself.exit_code == 2 and "is the --out file" in itself.output
    (tmp_path / "text.parquet").write_text("not parquet")
    text = CliRunner().invoke(main, [*base, "--against", str(tmp_path / "text.parquet")])
    assert text.exit_code == 2 and "not a Parquet file" in text.output


def _with_draws(preds: pl.DataFrame) -> pl.DataFrame:
    """`_predictions` with a level and round per match, and a blend nearer the market."""
    n = preds.height
    return preds.with_columns(
        pl.Series("tourney_level", ["G", "A", "M", "A", "C", "A", "G"] * (n // 7) +
                  ["A"] * (n % 7)),
        pl.Series("round", ["R128", "QF", "R16", "Q2", "QF", "SF", "QF"] * (n // 7) +
                  ["R32"] * (n % 7)),
        pl.Series("surface", (["Hard", "Clay"] * n)[:n]),
        ((pl.col("p1_win_prob") + 3 * pl.col("pinnacle_prob")) / 4).alias("p1_blend_prob"),
        pl.lit(False).alias("evaluated"),  # as a file written before quarterfinals counted
    )


def test_saved_runs_are_scored_on_every_main_draw_round_whatever_flag_they_carry() -> None:
    preds = _with_draws(_predictions())
    periods = ev.parse_periods(["2015-16"])
    table = ev.compare(preds, periods, samples=50)
    expected = ev.label_periods(preds, periods).filter(
        pl.col("tourney_level").is_in(["G", "M", "A", "F"]) & (pl.col("round") != "Q2")
        & pl.col("market_avg_prob").is_not_null())
    assert table["n"][0] == expected.height
    assert "QF" in expected["round"].to_list()


def test_breakdown_splits_the_gap_by_kind_of_match_and_the_shares_add_up() -> None:
    preds = _with_draws(_predictions())
    periods = ev.parse_periods(["2015-16", "2017-18"])
    whole = ev.compare(preds, periods, samples=50)
    by_level = ev.breakdown(preds, periods, "level", samples=200)
    assert by_level["level"].to_list() == ["Grand Slam", "Masters", "ATP 250/500"]
    assert by_level["n"].sum() == whole.filter(pl.col("model") == "acebet")["n"].sum()
    # the shares are the groups' parts of the gap over all matches of the periods
    _, _, pooled_y = zip(*ev.same_matches(preds, periods, []), strict=True)
    parts = [p for _, p, _ in ev.same_matches(preds, periods, [])]
    y = np.concatenate(pooled_y)
    data = pl.concat(parts)
    overall = (_per_match_loss(data["p1_win_prob"].to_numpy(), y)
               - _per_match_loss(data["pinnacle_prob"].to_numpy(), y)).mean()
    blend = (_per_match_loss(data["p1_blend_prob"].to_numpy(), y)
             - _per_match_loss(data["pinnacle_prob"].to_numpy(), y)).mean()
    assert by_level["acebet share"].sum() == pytest.approx(overall)
    assert by_level["blend share"].sum() == pytest.approx(blend)
    for row in by_level.iter_rows(named=True):
        assert row["acebet low"] <= row["acebet - pinnacle"] <= row["acebet high"]
        assert row["acebet"] - row["pinnacle"] == pytest.approx(row["acebet - pinnacle"])
    by_round = ev.breakdown(preds, periods, "round", samples=50)
    assert by_round["round"].to_list() == ["R128", "R16", "QF", "SF"]
    by_price = ev.breakdown(preds, periods, "price", samples=50)
    assert by_price["price"].to_list() == sorted(by_price["price"].to_list())
    assert set(by_price["price"]) <= set(ev.PRICE_BANDS)
    with pytest.raises(InputError, match="--by"):
        ev.breakdown(preds, periods, "weather")


def test_breakdown_keeps_matches_without_the_grouping_value_and_bands_prices_exactly() -> None:
    preds = _with_draws(_predictions())
    preds = preds.with_columns(pl.when(pl.arange(0, preds.height) % 5 == 0).then(None)
                               .otherwise(pl.col("surface")).alias("surface"))
    periods = ev.parse_periods(["2015-16"])
    whole = ev.compare(preds, periods, samples=50)
    by_surface = ev.breakdown(preds, periods, "surface", samples=50)
    assert by_surface["surface"].to_list() == ["Hard", "Clay", ev.UNKNOWN_GROUP]
    assert by_surface["n"].sum() == whole["n"][0]
    prices = pl.DataFrame({"pinnacle_prob": [0.5, 0.55, 0.6, 0.2, 0.95, 0.05, 0.999]})
    bands = prices.select(ev._favourite_band()).to_series().to_list()
    assert bands == ["0.5-0.6", "0.5-0.6", "0.6-0.7", "0.8-0.9", "0.9-1.0", "0.9-1.0",
                     "0.9-1.0"]


def test_disagreement_bands_measure_the_logit_distance_to_pinnacle_either_way() -> None:
    logit = np.log(0.6 / 0.4)  # the model's logit; Pinnacle's is this minus the distance
    apart = [0.0, 0.05, 0.101, 0.3, 0.501, 0.79, 0.801, 3.0, -0.15, -0.6]
    frame = pl.DataFrame({"p1_win_prob": [0.6] * len(apart),
                          "pinnacle_prob": [1 / (1 + np.exp(-(logit - a))) for a in apart]})
    bands = frame.select(ev._disagreement_band()).to_series().to_list()
    assert bands == ["0-0.1", "0-0.1", "0.1-0.2", "0.2-0.35", "0.5-0.8", "0.5-0.8", "0.8+",
                     "0.8+", "0.1-0.2", "0.5-0.8"]
    preds = _with_draws(_predictions())
    periods = ev.parse_periods(["2015-16", "2017-18"])
    table = ev.breakdown(preds, periods, "disagreement", samples=50)
    whole = ev.compare(preds, periods, samples=50)
    assert table["n"].sum() == whole.filter(pl.col("model") == "acebet")["n"].sum()
    ranks = [ev.DISAGREEMENT_BANDS.index(b) for b in table["disagreement"]]
    assert ranks == sorted(ranks) and len(ranks) > 1


def test_evaluate_by_prints_the_breakdown_of_a_saved_run(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "preds.parquet"
    _with_draws(_predictions()).write_parquet(path)
    args = ["--db", str(tmp_path / "x.duckdb"), "evaluate", "--periods", "2015-16",
            "--predictions", str(path), "--by", "surface"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "By surface" in result.output and "blend - pinnacle" in result.output
    assert "Clay" in result.output and "Hard" in result.output
    bad = CliRunner().invoke(main, args[:-1] + ["wind"])
    assert bad.exit_code == 2 and "--by" in bad.output


def test_evaluate_by_offers_exactly_the_breakdowns_evaluation_knows() -> None:
    """The CLI lists the choices itself (so `--help` needs no import of polars); a
    breakdown added to one side only would be unreachable or fail at run time."""
    option = next(p for p in main.commands["evaluate"].params if p.name == "by_kind")
    assert list(option.type.choices) == list(ev.BREAKDOWNS)
