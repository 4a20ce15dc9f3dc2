"""The market-aware forecast: the pool's weights, its symmetry, and its path through
scoring into `predictions` and the analyst views."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from acebet import blend as B
from acebet import metrics, scoring
from acebet import model as M
from acebet.cli import main
from acebet.features.switches import switched
from acebet.model import symmetric_probability
from tests.test_scoring import fixture, players, write


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sharp market (the truth plus a little noise) and a noisier model."""
    rng = np.random.default_rng(seed)
    logit = rng.normal(0, 1.0, n)
    truth = 1 / (1 + np.exp(-logit))
    won = (rng.uniform(size=n) < truth).astype(float)
    market = 1 / (1 + np.exp(-(logit + rng.normal(0, 0.3, n))))
    model = 1 / (1 + np.exp(-(logit + rng.normal(0, 0.5, n))))
    return model, market, won


def test_pool_leans_on_the_sharper_source_and_beats_both_out_of_sample() -> None:
    model, market, won = _synthetic(20000, 1)
    weights = B.fit_weights(model, market, won)
    assert weights is not None and weights["market"] > weights["model"] > 0
    model2, market2, won2 = _synthetic(20000, 2)  # new matches: out of sample
    pooled = B.blend_probability(weights, model2, market2)
    assert metrics.log_loss(pooled, won2) < metrics.log_loss(market2, won2)
    assert metrics.log_loss(pooled, won2) < metrics.log_loss(model2, won2)


def test_the_records_own_pool_finds_a_market_that_is_the_truth() -> None:
    """`pool` is the unshrunk fit `PRIOR` comes from: where the market is the truth and
    the model the truth plus noise, the model has nothing to add and the market's logit
    is already right, so the pool is (0, 1)."""
    rng = np.random.default_rng(9)
    logit = rng.normal(0, 1.0, 200_000)
    truth = 1 / (1 + np.exp(-logit))
    won = (rng.uniform(size=len(logit)) < truth).astype(float)
    model = 1 / (1 + np.exp(-(logit + rng.normal(0, 0.5, len(logit)))))
    w_model, w_market = B.pool(model, truth, won)
    assert w_model == pytest.approx(0, abs=0.03)
    assert w_market == pytest.approx(1, abs=0.03)
    with switched(["blend.PRIOR_MATCHES=0"]):
        alone = B.fit_weights(model, truth, won)
    assert alone is not None and (alone["model"], alone["market"]) == (w_model, w_market)


def test_a_short_record_leans_on_the_long_run_pool_and_a_long_one_on_itself() -> None:
    """The record's weights count as its matches, the prior's as `PRIOR_MATCHES`; with
    the prior switched off (`--switch blend.PRIOR_MATCHES=0`) the record stands alone."""
    for n, seed in ((400, 5), (40000, 6)):
        model, market, won = _synthetic(n, seed)
        with switched(["blend.PRIOR_MATCHES=0"]):
            own = B.fit_weights(model, market, won)
        pooled = B.fit_weights(model, market, won)
        assert own is not None and pooled is not None
        assert (own["matches"], pooled["matches"]) == (n, n)
        assert (pooled["prior"], pooled["prior_matches"]) == (B.PRIOR, B.PRIOR_MATCHES)
        share = n / (n + B.PRIOR_MATCHES)
        for k in ("model", "market"):
            assert pooled[k] == pytest.approx(share * own[k] + (1 - share) * B.PRIOR[k])


def test_shrinking_toward_a_right_pool_beats_a_short_record_out_of_sample(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why the prior is there: a few hundred matches fit the two weights noisily. With the
    long-run pool set to this synthetic world's own (fitted on 200,000 matches), weights
    from 300-match records score better on new matches when shrunk than alone."""
    monkeypatch.setattr(B, "PRIOR_MATCHES", 0)
    world = B.fit_weights(*_synthetic(200_000, 7))
    assert world is not None
    monkeypatch.setattr(B, "PRIOR", {"model": world["model"], "market": world["market"]})
    model2, market2, won2 = _synthetic(50_000, 8)
    losses: dict[int, list[float]] = {0: [], 5000: []}
    for seed in range(20):
        record = _synthetic(300, 100 + seed)
        for prior_matches, scored in losses.items():
            monkeypatch.setattr(B, "PRIOR_MATCHES", prior_matches)
            weights = B.fit_weights(*record)
            scored.append(metrics.log_loss(B.blend_probability(weights, model2, market2), won2))
    assert np.mean(losses[5000]) < np.mean(losses[0])


def test_too_few_matches_give_the_long_run_pool_and_none_give_no_blend() -> None:
    model, market, won = _synthetic(B.MIN_MATCHES - 1, 3)
    weights = B.fit_weights(model, market, won)
    assert weights is not None and weights["matches"] == B.MIN_MATCHES - 1
    assert (weights["model"], weights["market"]) == (B.PRIOR["model"], B.PRIOR["market"])
    with switched(["blend.PRIOR_MATCHES=0"]):
        assert B.fit_weights(model, market, won) is None
    nothing = np.full(model.shape, np.nan)
    assert B.fit_weights(model, nothing, won) is None
    assert np.isnan(B.blend_probability(None, model, market)).all()


def test_missing_market_gives_nan_only_there() -> None:
    weights = {"model": 0.4, "market": 0.7}
    out = B.blend_probability(weights, np.array([0.6, 0.6]), np.array([0.55, np.nan]))
    assert np.isfinite(out[0]) and np.isnan(out[1])


def test_blend_of_a_swapped_fixture_is_exactly_one_minus() -> None:
    rng = np.random.default_rng(4)
    n = 500
    m_ab, m_ba = rng.normal(0, 2, n), rng.normal(0, 2, n)
    p, p_swapped = symmetric_probability(m_ab, m_ba), symmetric_probability(m_ba, m_ab)
    o1, o2 = rng.uniform(1.01, 8.0, n), rng.uniform(1.01, 8.0, n)
    ids1, ids2 = rng.integers(1, 1000, n), rng.integers(1000, 2000, n)
    weights = {"model": 0.37, "market": 0.81}
    ab = pl.DataFrame({"p1_id": ids1, "p2_id": ids2, "p1_win_prob": p,
                       "p1_odds": o1, "p2_odds": o2})
    ba = pl.DataFrame({"p1_id": ids2, "p2_id": ids1, "p1_win_prob": p_swapped,
                       "p1_odds": o2, "p2_odds": o1})
    got_ab = scoring.blend_frame(ab, weights)
    got_ba = scoring.blend_frame(ba, weights)
    assert np.array_equal(got_ba, 1.0 - got_ab) and np.array_equal(got_ab, 1.0 - got_ba)


@pytest.fixture(scope="module")
def trained(trained_synthetic_db: Path) -> Path:
    return trained_synthetic_db


def test_scoring_writes_the_blend_where_odds_exist_and_the_views_show_it(
    trained: Path, tmp_path: Path
) -> None:
    db = tmp_path / "acebet.duckdb"
    shutil.copy(trained, db)
    weights = {"model": 0.3, "market": 0.9, "matches": 1234}
    con = duckdb.connect(str(db))
    text, stored = con.execute("SELECT model_text, metadata FROM models WHERE is_active"
                               ).fetchone()
    meta = json.dumps({**json.loads(stored), "blend": weights})
    # as a training with odds would store it: the checksum covers the weights too
    con.execute("UPDATE models SET metadata = ?, checksum = ? WHERE is_active",
                [meta, M.model_checksum(text, meta)])
    con.close()
    (a, *_), (b, *_), (c, *_) = players(db)[:3]
    file = write(tmp_path / "f.csv", [
        fixture(a, b, tourney_name="With odds", p1_odds=1.5, p2_odds=2.6),
        fixture(a, c, tourney_name="No odds"),
    ])
    runner = CliRunner()
    assert runner.invoke(main, ["--db", str(db), "fixtures", "load", str(file)]).exit_code == 0
    result = runner.invoke(main, ["--db", str(db), "score"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT tourney_name, p1_win_prob, p1_market_prob, edge, p1_blend_prob "
        "FROM latest_predictions ORDER BY tourney_name").fetchall()
    outcome_cols = {r[0] for r in con.execute("DESCRIBE prediction_outcomes").fetchall()}
    con.close()
    (name0, p0, q0, e0, blend0), (name1, _, _, _, blend1) = rows
    assert (name0, name1) == ("No odds", "With odds") and blend0 is None
    _, p, q, edge, blended = rows[1]
    assert edge == pytest.approx(p - q)  # the edge stays the pure model's
    expected = B.blend_probability(weights, np.array([p]), np.array([q]))[0]
    assert blended == pytest.approx(expected, abs=1e-12)
    assert min(p, q) < blended or blended < max(p, q)
    assert {"p1_blend_prob", "blend_log_loss"} <= outcome_cols


def test_train_with_odds_lacking_the_validation_years_stops_before_fitting(
    trained: Path, tmp_path: Path
) -> None:
    """The blend's weights need the odds of the validation window: a folder without
    those years is refused in one line before the fit, not after it."""
    db = tmp_path / "t.duckdb"
    shutil.copy(trained, db)
    odds = tmp_path / "odds"
    odds.mkdir()
    (odds / "2019.csv").write_text("Date,Winner,Loser\n")
    result = CliRunner().invoke(main, ["--db", str(db), "--log-format", "json", "train",
                                       "--odds", str(odds)])
    assert result.exit_code == 2 and "no odds file for 2022 (needs 2022.csv)" in result.output
    assert '"step": "train: features' not in result.output  # refused before the long work


def test_train_says_whether_fixtures_will_get_a_blend_and_from_what() -> None:
    model, market, won = _synthetic(B.MIN_MATCHES - 1, 3)
    assert B.describe(None).startswith("no blend: no odds stored")
    assert f"pool's ({B.MIN_MATCHES - 1} priced matches, too few to fit)" in B.describe(
        B.fit_weights(model, market, won))
    model, market, won = _synthetic(3 * B.MIN_MATCHES, 3)
    assert f"({3 * B.MIN_MATCHES} priced matches, shrunk toward the long-run pool)" in B.describe(
        B.fit_weights(model, market, won))
