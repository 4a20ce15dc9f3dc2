"""C71's youth shift (`model.YOUTH_AGE`): fitted on the record, stored with the model,
exactly symmetric, and applied only where one side is young."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from acebet import backtest as bt
from acebet import model as M
from acebet import store
from acebet.features import switches
from acebet.model import youth
from acebet.model.matrix import swap_sides
from tests.conftest import copy_db


def _record(shift: float, n: int = 20_000, seed: int = 3
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.0, n)
    side = rng.choice([-1.0, 0.0, 1.0], n)
    won = (rng.random(n) < 1 / (1 + np.exp(-(z + shift * side)))).astype(float)
    return 1 / (1 + np.exp(-z)), side, won


def _active_model_and_features(db: Path, tmp_path: Path) -> tuple[M.TrainedModel, pl.DataFrame]:
    """The stored active model and the features of every row of a copy of `db`."""
    from acebet import features as F

    con = store.connect(copy_db(db, tmp_path), read_only=True)
    try:
        _, model = M.load(con)
        return model, F.build(F.timeline(F.load_matches(con)), F.load_players(con))
    finally:
        con.close()


def test_the_shift_is_the_one_the_outcomes_carry_and_none_without_an_effect() -> None:
    assert abs(youth.fit_shift(*_record(0.4)) - 0.4) < 0.08
    assert abs(youth.fit_shift(*_record(0.0))) < 0.06
    p, side, won = _record(0.4, n=150)
    assert youth.fit_shift(p, np.where(np.arange(150) < 60, side, 0.0), won) == 0.0


def test_a_young_side_is_the_one_under_the_age_and_an_unknown_age_is_not_young() -> None:
    frame = pl.DataFrame({"p1_age": [19.0, 30.0, None, 19.5], "p2_age": [25.0, 18.0, 18.0, 19.0]})
    assert youth.young_side(frame, 21.0).tolist() == [1.0, -1.0, -1.0, 0.0]


def test_a_backtest_with_the_switch_moves_the_matches_with_one_young_side_only(
    trained_synthetic_db: Path, tmp_path: Path
) -> None:
    con = store.connect(copy_db(trained_synthetic_db, tmp_path), read_only=True)
    try:
        def run() -> pl.DataFrame:
            return bt.evaluate(con, dt.date(2022, 1, 1), dt.date(2022, 4, 30),
                               progress=False).predictions

        with switches.switched(["model.YOUTH_AGE=0"]):
            plain = run()
        with switches.switched(["model.YOUTH_AGE=27"]):
            shifted = run()
        dob = pl.DataFrame(con.execute("SELECT player_id, dob FROM players").fetchall(),
                           schema=["player_id", "dob"], orient="row")
    finally:
        con.close()
    ages = plain.join(dob.rename({"player_id": "p1_id", "dob": "d1"}), on="p1_id").join(
        dob.rename({"player_id": "p2_id", "dob": "d2"}), on="p2_id").with_columns(
        p1_age=(pl.col("tourney_date") - pl.col("d1")).dt.total_days() / 365.25,
        p2_age=(pl.col("tourney_date") - pl.col("d2")).dt.total_days() / 365.25)
    side = youth.young_side(ages, 27.0)
    moved = shifted["p1_win_prob"].to_numpy() != plain["p1_win_prob"].to_numpy()
    assert ages.height == plain.height and (side == 0).any() and (side != 0).any()
    assert not moved[side == 0].any()
    # by the last month its record holds enough matches with a young side
    last = (ages["tourney_date"] >= dt.date(2022, 4, 1)).to_numpy()
    assert moved[(side != 0) & last].all() and (side[last] != 0).any()
    assert plain.drop("p1_win_prob", "p1_blend_prob", strict=False).equals(
        shifted.drop("p1_win_prob", "p1_blend_prob", strict=False))


def test_a_stored_shift_moves_the_young_sides_forecasts_and_keeps_exact_symmetry(
    trained_synthetic_db: Path, tmp_path: Path
) -> None:
    model, feats = _active_model_and_features(trained_synthetic_db, tmp_path)
    feats = feats.tail(400)
    assert set(model.metadata["youth"]) == {"age", "shift", "matches"}
    model.metadata["youth"] = {"age": 25.0, "shift": 0.3, "matches": 5000}
    side = youth.young_side(feats, 25.0)
    with_shift = model.predict_proba(feats)
    without = model.predict_proba(feats, youth_shift=False)
    assert (side != 0).any() and (side == 0).any()
    assert np.array_equal(with_shift[side == 0], without[side == 0])
    assert (with_shift[side > 0] > without[side > 0]).all()
    assert (with_shift[side < 0] < without[side < 0]).all()
    assert np.array_equal(with_shift, 1.0 - model.predict_proba(swap_sides(feats)))


def test_the_validation_forecasts_the_blend_is_fitted_on_carry_the_stored_shift(
    trained_synthetic_db: Path, tmp_path: Path
) -> None:
    con = store.connect(copy_db(trained_synthetic_db, tmp_path), read_only=True)
    try:
        from acebet import features as F

        feats = F.build(F.timeline(F.load_matches(con)), F.load_players(con))
    finally:
        con.close()
    with switches.switched(["model.YOUTH_AGE=25"]):
        model = M.fit(feats, feats["tourney_date"].max())
    stored = model.metadata["youth"]
    assert stored["shift"] != 0.0
    held = model.validation.join(feats.select("tourney_id", "match_num", "p1_age", "p2_age"),
                                 on=["tourney_id", "match_num"], how="left")
    side = youth.young_side(held, 25.0)
    moved = youth._logit(held["model_prob"]) - youth._logit(held["unshifted_prob"])
    assert (side != 0).any() and (side == 0).any()
    assert np.allclose(moved, stored["shift"] * side, atol=1e-9)


def test_a_backtest_can_refit_the_shift_on_the_last_months_of_its_record_only(
    trained_synthetic_db: Path, tmp_path: Path
) -> None:
    model, feats = _active_model_and_features(trained_synthetic_db, tmp_path)
    start = dt.date(2022, 4, 1)
    played = feats.filter(pl.col("played") & (pl.col("tourney_date") >= dt.date(2021, 1, 1)))
    earlier = played.filter(pl.col("tourney_date") < start)
    record = earlier.select("tourney_date", "p1_age", "p2_age").with_columns(
        pl.Series("model_prob", model.predict_proba(earlier, youth_shift=False)))
    target = played.filter(pl.col("tourney_date") >= start)

    def matches_fitted_on(months: int) -> int:
        with switches.switched([f"model.youth.RECORD_MONTHS={months}", "model.YOUTH_AGE=25"]):
            bt._refit_youth_shift(model, [record], target, start)
        return model.metadata["youth"]["matches"]

    young = youth.young_side(record, 25.0) != 0
    recent = (record["tourney_date"] >= dt.date(2022, 2, 1)).to_numpy()
    assert matches_fitted_on(0) == young.sum()
    assert matches_fitted_on(2) == (young & recent).sum()
    assert 0 < (young & recent).sum() < young.sum()


def _features(db: Path, tmp_path: Path) -> pl.DataFrame:
    from acebet import features as F

    con = store.connect(copy_db(db, tmp_path), read_only=True)
    try:
        return F.build(F.timeline(F.load_matches(con)), F.load_players(con))
    finally:
        con.close()


def test_the_youth_record_is_forecast_walking_forward_before_the_cut_off(
    trained_synthetic_db: Path, tmp_path: Path
) -> None:
    feats = _features(trained_synthetic_db, tmp_path)
    # mid-month, as production's cut-off (the day after the last match) and a later match
    cut_off, later = dt.date(2022, 9, 13), dt.date(2022, 6, 15)
    record = M.youth_record(feats, cut_off)
    days = record["tourney_date"]
    assert days.min() >= M.months_before(cut_off, youth.RECORD_MONTHS)
    assert days.max() < cut_off and days.min() < M.months_before(cut_off, 12)
    assert record.height == feats.filter(pl.col("played") & (pl.col("tourney_date") >= days.min())
                                         & (pl.col("tourney_date") < cut_off)).height
    # out of sample: without the matches from `later` on, the forecasts before it are the
    # same (to rounding: fewer rows are predicted), so none of them saw a later match, not
    # even one of its own month
    shorter = M.youth_record(feats.filter(pl.col("tourney_date") < later), cut_off)
    before = record.filter(pl.col("tourney_date") < later)
    assert record.height > before.height
    assert shorter.drop("model_prob").equals(before.drop("model_prob"))
    assert np.allclose(shorter["model_prob"], before["model_prob"], rtol=0, atol=1e-12)
    # too short a history before the walk-forward fit: the validation window is the record
    early = dt.date(2019, 12, 1)
    assert M.youth_record(feats, early) is None
    model = M.fit(feats, early, record=None)
    window = model.validation.join(feats.select("tourney_id", "match_num", "p1_age", "p2_age"),
                                   on=["tourney_id", "match_num"])
    young = youth.young_side(window, M.YOUTH_AGE) != 0
    assert model.metadata["youth"]["matches"] == young.sum()


def test_train_and_a_backtests_first_fit_take_the_shift_from_the_longer_record(
    trained_synthetic_db: Path, tmp_path: Path
) -> None:
    feats = _features(trained_synthetic_db, tmp_path)
    start = dt.date(2022, 1, 1)
    with switches.switched(["model.YOUTH_AGE=27"]):
        record = M.youth_record(feats, start)
        model = M.fit(feats, start, record=record)
        con = store.connect(copy_db(trained_synthetic_db, tmp_path), read_only=True)
        try:
            backtest = bt.evaluate(con, start, dt.date(2022, 1, 31), progress=False).predictions
        finally:
            con.close()
        with switches.switched(["model.youth.RECORD_MONTHS=6"]):
            assert M.youth_record(feats, start) is None  # C81: the validation window
    young = int((youth.young_side(record, 27.0) != 0).sum())
    in_window = youth.young_side(model.validation.join(
        feats.select("tourney_id", "match_num", "p1_age", "p2_age"),
        on=["tourney_id", "match_num"]), 27.0)
    assert model.metadata["youth"]["matches"] == young > (in_window != 0).sum() > 0
    target = feats.filter(pl.col("played") & (pl.col("tourney_date") >= start)
                          & (pl.col("tourney_date") < dt.date(2022, 2, 1)))
    # `train` stored the shift fitted on the record before its own cut-off
    stored, _ = _active_model_and_features(trained_synthetic_db, tmp_path)
    train_to = dt.date.fromisoformat(stored.metadata["train_to"])
    on_record = youth.young_side(M.youth_record(feats, train_to), M.YOUTH_AGE) != 0
    assert stored.metadata["youth"]["matches"] == on_record.sum() > 0
    winner_p = backtest.select(pl.when(pl.col("p1_id") == pl.col("winner_id"))
                               .then("p1_win_prob").otherwise(1 - pl.col("p1_win_prob")))
    assert target.height == backtest.height
    assert np.allclose(np.sort(model.predict_proba(target)),
                       np.sort(winner_p.to_series().to_numpy()), rtol=0, atol=1e-12)
