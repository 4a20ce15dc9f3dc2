"""Walk-forward backtests: honest periods, the promised output columns, stored metrics."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from acebet import backtest as bt
from acebet import blend as B
from acebet import model as M
from acebet.cli import main
from acebet.model import youth


def test_periods_cover_the_range_without_gaps() -> None:
    windows = bt.periods(dt.date(2021, 1, 15), dt.date(2021, 4, 2), "monthly")
    assert windows[0] == (dt.date(2021, 1, 15), dt.date(2021, 2, 1))
    assert windows[-1] == (dt.date(2021, 4, 1), dt.date(2021, 4, 3))
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    assert bt.periods(dt.date(2021, 1, 1), dt.date(2021, 12, 31), "once") == [
        (dt.date(2021, 1, 1), dt.date(2022, 1, 1))]


def test_a_record_kept_to_its_last_months_starts_with_trains_validation_window() -> None:
    days = [dt.date(2021, 8, 31), dt.date(2021, 9, 1), dt.date(2022, 2, 28)]
    record = pl.DataFrame({"tourney_date": days, "model_prob": [0.6, 0.7, 0.8]})
    start = dt.date(2022, 3, 1)
    assert bt._last_months(record, start, 6)["tourney_date"].to_list() == days[1:]
    assert bt._last_months(record, start, 1)["tourney_date"].to_list() == days[2:]
    assert bt._last_months(record, start, 0).equals(record)
    # a backtest refits the blend on what `train` has, its validation window (C81); the
    # youth shift's longer record `train` builds by walking forward (C82)
    assert B.RECORD_MONTHS == M.VALIDATION_MONTHS < youth.RECORD_MONTHS


def test_a_backtests_blend_is_refitted_on_the_six_months_before_each_period(
    trained_synthetic_db: Path, synthetic_source: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from acebet import store
    from tests.conftest import copy_db
    from tests.synthetic import write_odds_folder

    odds = write_odds_folder(synthetic_source, tmp_path / "odds", range(2021, 2023))
    spans: list[tuple[dt.date, dt.date]] = []
    fit = B.weights_from

    def recording(held_out: pl.DataFrame, market: pl.DataFrame) -> dict | None:
        spans.append((held_out["tourney_date"].min(), held_out["tourney_date"].max()))
        return fit(held_out, market)

    monkeypatch.setattr(B, "weights_from", recording)
    con = store.connect(copy_db(trained_synthetic_db, tmp_path), read_only=True)
    starts = [lo for lo, _ in bt.periods(dt.date(2022, 1, 1), dt.date(2022, 5, 31), "monthly")]
    try:
        bt.evaluate(con, dt.date(2022, 1, 1), dt.date(2022, 5, 31), odds_dir=odds,
                    progress=False)
        # the first played match of the six months before each period (the synthetic
        # seasons pause from October to December)
        earliest = [con.execute("SELECT min(tourney_date) FROM matches WHERE tourney_date "
                                ">= ? AND tourney_date < ?",
                                [M.months_before(lo, 6), lo]).fetchone()[0] for lo in starts]
    finally:
        con.close()
    assert len(spans) == len(starts) == 5
    for (first, last), start, expected in zip(spans, starts, earliest, strict=True):
        assert first == expected and last < start
    assert spans[-1][0] > spans[0][0]  # the window moves: older months leave the record


def test_backtest_cli_writes_predictions_and_stores_metrics(
    synthetic_source: Path, tmp_path: Path
) -> None:
    db, out = tmp_path / "bt.duckdb", tmp_path / "bt.parquet"
    runner = CliRunner()
    assert runner.invoke(main, ["--db", str(db), "ingest", str(synthetic_source)]).exit_code == 0
    result = runner.invoke(main, ["--db", str(db), "backtest", "--from", "2022-01-01",
                                  "--to", "2022-06-30", "--retrain", "quarterly",
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("acebet", "elo", "ranking"):
        assert name in result.output
    preds = pl.read_parquet(out)
    assert preds.columns[:7] == ["tourney_date", "tourney_id", "match_num", "p1_id", "p2_id",
                                 "p1_win_prob", "winner_id"]
    assert preds["tourney_date"].min() >= dt.date(2022, 1, 1)
    assert preds["tourney_date"].max() <= dt.date(2022, 6, 30)
    assert (preds["p1_id"] < preds["p2_id"]).all()
    assert ((preds["winner_id"] == preds["p1_id"]) | (preds["winner_id"] == preds["p2_id"])).all()
    # every tour-level main-draw round is scored, quarterfinals too
    tour = preds.filter(pl.col("tourney_level").is_in(["G", "M", "A", "F"]))
    assert "QF" in tour["round"].to_list() and tour["evaluated"].all()
    assert not preds.filter(pl.col("tourney_level") == "C")["evaluated"].any()
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM backtests").fetchall()[0][0] == 1
    # the synthetic players have a real skill gap: the model must find it
    table = pl.DataFrame(bt.metric_table(preds))
    acebet = table.filter((pl.col("model") == "acebet") & (pl.col("subset") == "all"))
    assert acebet["log_loss"][0] < 0.66


def test_a_backtest_is_repeatable_and_its_seed_changes_only_the_fit(
    trained_synthetic_db: Path, tmp_path: Path
) -> None:
    from acebet import store
    from tests.conftest import copy_db

    con = store.connect(copy_db(trained_synthetic_db, tmp_path), read_only=True)
    try:
        def probs(seed: int | None) -> pl.DataFrame:
            return bt.evaluate(con, dt.date(2022, 1, 1), dt.date(2022, 3, 31),
                               retrain="once", progress=False, seed=seed).predictions

        first, again, other = probs(None), probs(None), probs(11)
    finally:
        con.close()
    assert first.equals(again)
    assert first["p1_win_prob"].to_list() != other["p1_win_prob"].to_list()
    assert first["elo_prob"].to_list() == other["elo_prob"].to_list()


def test_backtest_with_nothing_to_train_on_is_exit_2(synthetic_source: Path, tmp_path: Path
                                                     ) -> None:
    db = tmp_path / "x.duckdb"
    CliRunner().invoke(main, ["--db", str(db), "ingest", str(synthetic_source)])
    result = CliRunner().invoke(main, ["--db", str(db), "backtest", "--from", "1990-01-01",
                                       "--to", "1990-12-31"])
    assert result.exit_code == 2 and "no matches before 1990-01-01" in result.output


@pytest.mark.slow
def test_real_backtest_beats_the_baselines_and_nears_the_market(
    real_data: Path, history_db: Path
) -> None:
    """A quarter of 2022, trained once: the shape of the README's two-year table."""
    con = duckdb.connect(str(history_db))
    result = bt.evaluate(con, dt.date(2022, 1, 1), dt.date(2022, 3, 31), retrain="once",
                         odds_dir=real_data / "tennis_data_odds")
    bt.store_result(con, result)
    table = result.metrics.filter(pl.col("subset") == "with_pinnacle")
    loss = dict(zip(table["model"], table["log_loss"], strict=True))
    assert table.filter(pl.col("model") == "acebet")["n"][0] > 500
    assert loss["acebet"] < loss["elo"] < loss["ranking"]
    assert loss["acebet"] < loss["pinnacle"] + 0.03
    # the blend: present exactly where the match has odds, weights from before 2022
    preds = result.predictions
    has_odds = preds["pinnacle_prob"].is_not_null() | preds["market_avg_prob"].is_not_null()
    assert (preds["p1_blend_prob"].is_not_null() == has_odds).all()
    assert loss["blend"] < loss["acebet"]
    stored = con.execute("SELECT count(p1_blend_prob) FROM backtest_predictions "
                         "WHERE backtest_id = ?", [result.backtest_id]).fetchone()[0]
    assert stored == preds["p1_blend_prob"].is_not_null().sum()
