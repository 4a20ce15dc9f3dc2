"""`acebet evaluate --switch`: a candidate from EVALUATION.md run by its name, set only
for the run and never stored as the product's backtests."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from acebet.cli import main
from acebet.errors import InputError
from acebet.features import market as FM
from acebet.features import switches
from acebet.model import linear as L


def test_switched_sets_each_name_for_the_block_and_puts_it_back() -> None:
    before = (FM.MARKET_RESULT_K, FM.MARKET_SURFACE, L.WEIGHT)
    with switches.switched(["features.market.MARKET_RESULT_K=0.15",
                            "acebet.features.market.MARKET_SURFACE=on",
                            "model.linear.WEIGHT=0"]) as on:
        assert (FM.MARKET_RESULT_K, FM.MARKET_SURFACE, L.WEIGHT) == (0.15, True, 0.0)
        assert on["model.linear.WEIGHT"] == 0.0 and isinstance(on["model.linear.WEIGHT"], float)
        assert switches.switches_on() == ["features.market.MARKET_SURFACE",
                                          "features.market.MARKET_RESULT_K"]
    assert (FM.MARKET_RESULT_K, FM.MARKET_SURFACE, L.WEIGHT) == before
    with pytest.raises(RuntimeError), switches.switched(["features.market.MARKET_K=0"]):
        assert FM.MARKET_K == 0.0
        raise RuntimeError
    assert FM.MARKET_K == 0.2 and switches.switches_on() == []


def test_every_evaluation_switch_can_be_set_and_is_then_refused_by_train() -> None:
    known = switches.settable()
    assert set(switches.EVALUATION_SWITCHES) <= set(known)
    texts = [f"{name}={'true' if isinstance(getattr(*known[name]), bool) else '0.5'}"
             for name in switches.EVALUATION_SWITCHES]
    with switches.switched(texts):
        assert switches.switches_on() == switches.EVALUATION_SWITCHES
        with pytest.raises(ValueError, match="evaluation switches are on"):
            switches.require_default_features("a stored model")


@pytest.mark.parametrize(("text", "message"), [
    ("features.market.MARKET_K", "expected NAME=VALUE"),
    ("features.elo.EloParams.rest_days=90", "expected NAME=VALUE"),
    ("os.environ=1", "expected NAME=VALUE"),
    ("features.market.MARKET_SURFACE=maybe", "expected true or false"),
    ("features.market.MARKET_K=nan", "finite"),
    ("model.UPDATE_TREES=2.5", "invalid literal"),
    ("blend.PRIOR_MATCHES=-5000", "expected a number of 0 or more"),
    ("features.market.MARKET_K=-0.2", "expected a number of 0 or more"),
])
def test_a_bad_switch_is_refused_before_anything_is_set(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message), switches.switched(
            ["features.market.MARKET_RESULT_K=0.15", text]):
        pass
    assert FM.MARKET_RESULT_K == 0.0


def test_evaluate_runs_a_candidate_by_its_switch_and_stores_only_the_product_run(
        synthetic_source, tmp_path) -> None:  # noqa: ANN001
    from tests.synthetic import write_odds_folder

    db = tmp_path / "e.duckdb"
    odds = write_odds_folder(synthetic_source, tmp_path / "odds", range(2021, 2023))
    assert CliRunner().invoke(main, ["--db", str(db), "ingest",
                                     str(synthetic_source)]).exit_code == 0
    run = ["--db", str(db), "evaluate", "--periods", "2022", "--retrain", "quarterly",
           "--odds", str(odds), "--seed", "3"]
    product = CliRunner().invoke(main, [*run, "--out", str(tmp_path / "ref.parquet")])
    assert product.exit_code == 0, product.output
    candidate = CliRunner().invoke(main, [*run, "--out", str(tmp_path / "c.parquet"),
                                          "--switch", "model.linear.WEIGHT=0",
                                          "--against", str(tmp_path / "ref.parquet")])
    assert candidate.exit_code == 0, candidate.output
    assert "candidate: model.linear.WEIGHT = 0.0" in candidate.output
    assert "mean fits' difference" in candidate.output
    assert L.WEIGHT == 0.5
    ref, cand = (pl.read_parquet(tmp_path / f) for f in ("ref.parquet", "c.parquet"))
    assert ref["p1_win_prob"].to_list() != cand["p1_win_prob"].to_list()
    # read when the monthly updates grow, not when the package was imported
    fewer_trees = CliRunner().invoke(main, [*run, "--out", str(tmp_path / "u.parquet"),
                                            "--switch", "model.UPDATE_TREES=1"])
    assert fewer_trees.exit_code == 0, fewer_trees.output
    updated = pl.read_parquet(tmp_path / "u.parquet")["p1_win_prob"].to_list()
    assert updated != ref["p1_win_prob"].to_list()
    stored = duckdb.connect(str(db), read_only=True)
    try:  # one period of the product's run; the candidate's is its --out file only
        assert stored.execute("SELECT count(*) FROM backtests").fetchall()[0][0] == 1
    finally:
        stored.close()

    no_out = CliRunner().invoke(main, [*run, "--switch", "model.linear.WEIGHT=0"])
    assert no_out.exit_code == 2 and "give --out" in no_out.output
    unknown = CliRunner().invoke(main, [*run, "--out", str(tmp_path / "x.parquet"),
                                        "--switch", "model.PARAMS=1"])
    assert unknown.exit_code == 2 and "expected NAME=VALUE" in unknown.output
    assert "Traceback" not in unknown.output and not (tmp_path / "x.parquet").exists()
