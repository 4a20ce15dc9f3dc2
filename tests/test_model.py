"""The model: exact symmetry, storage as text + JSON, bit-for-bit reloads, clear errors."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from acebet import features as F
from acebet import metrics, store
from acebet import model as M
from acebet.cli import main
from acebet.errors import NoModelError, StoreError
from acebet.features import serve as FS
from acebet.features.elo import EloParams
from acebet.model import linear, matrix
from tests.conftest import copy_db


@pytest.fixture
def db(trained_synthetic_db: Path, tmp_path: Path) -> Path:
    return copy_db(trained_synthetic_db, tmp_path)


def _feats(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return F.build(F.timeline(F.load_matches(con)), F.load_players(con))


def test_swapping_players_gives_exactly_one_minus_p(db: Path) -> None:
    con = store.connect(db, read_only=True)
    _, fitted = M.load(con)
    feats = _feats(con)
    # the synthetic history has serve statistics: the serve inputs move and are read
    assert fitted.features[-len(matrix.SERVE_INPUTS):] == matrix.SERVE_INPUTS
    assert (matrix.model_matrix(feats).select(matrix.SERVE_INPUTS).std() > 0.01).row(0) == (
        True, True, True)
    p_ab = fitted.predict_proba(feats)
    p_ba = fitted.predict_proba(matrix.swap_sides(feats))
    assert np.array_equal(p_ab, 1.0 - p_ba)
    assert np.array_equal(p_ba, 1.0 - p_ab)
    assert ((p_ab > 0) & (p_ab < 1)).all()


def test_symmetric_probability_is_exact_for_extreme_and_tiny_scores() -> None:
    rng = np.random.default_rng(0)
    m_ab = np.r_[rng.normal(0, 3, 10_000), 0.0, 40.0, -40.0, 1e-17]
    m_ba = np.r_[rng.normal(0, 3, 10_000), 0.0, -40.0, 40.0, 0.0]
    p = M.symmetric_probability(m_ab, m_ba, 0.97)
    q = M.symmetric_probability(m_ba, m_ab, 0.97)
    assert np.array_equal(p, 1.0 - q) and np.array_equal(q, 1.0 - p)


def test_model_is_stored_as_text_and_json_never_pickle(db: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    text, meta = con.execute("SELECT model_text, metadata FROM models").fetchall()[0]
    assert text.startswith("tree\nversion=")
    meta = json.loads(meta)
    assert meta["features"] == matrix.FEATURES + matrix.SERVE_INPUTS
    assert (meta["serve_k"], meta["serve_surface_k"]) == (FS.SERVE_K, FS.SERVE_SURFACE_K)
    for key in ("params", "train_to", "validation", "data_fingerprint", "versions",
                "calibration"):
        assert key in meta
    assert {"n", "log_loss", "accuracy", "brier", "ece", "auc"} <= set(meta["validation"])


SCRIPT = """
import sys, numpy as np
from acebet import store, model, features as F
con = store.connect(sys.argv[1], read_only=True)
_, fitted = model.load(con)
feats = F.build(F.timeline(F.load_matches(con)), F.load_players(con))
sys.stdout.write(fitted.predict_proba(feats).tobytes().hex())
"""


def test_stored_model_reproduces_predictions_bit_for_bit_in_a_fresh_process(db: Path) -> None:
    con = store.connect(db, read_only=True)
    _, fitted = M.load(con)
    here = fitted.predict_proba(_feats(con)).tobytes().hex()
    con.close()
    there = subprocess.run([sys.executable, "-c", SCRIPT, str(db)], check=True,
                           capture_output=True, text=True).stdout
    assert there == here


def test_a_corrupted_model_row_gives_a_clear_error(db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("UPDATE models SET model_text = replace(model_text, 'leaf_value=', "
                "'leaf_value=1')")
    con.close()
    con = store.connect(db, read_only=True)
    with pytest.raises(StoreError, match="model version 1 is corrupted"):
        M.load(con)


def test_a_model_trained_on_other_features_is_refused(db: Path) -> None:
    con = duckdb.connect(str(db))
    con.execute("UPDATE models SET metadata = json_object('features', ['elo_diff'])")
    con.close()
    _recompute_checksums(db)  # a consistent row, but not what this AceBet computes
    with pytest.raises(StoreError, match="different features"):
        M.load(store.connect(db, read_only=True))


def test_models_list_and_activate(db: Path, synthetic_source: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--db", str(db), "train", "--train-to", "2021-07-01"]
                         ).exit_code == 0
    listed = runner.invoke(main, ["--db", str(db), "models", "list"])
    assert listed.exit_code == 0
    assert "2021-07-01" in listed.output
    assert runner.invoke(main, ["--db", str(db), "models", "activate", "1"]).exit_code == 0
    con = store.connect(db, read_only=True)
    assert M.load(con)[0] == 1
    con.close()
    missing = runner.invoke(main, ["--db", str(db), "models", "activate", "999"])
    assert missing.exit_code == 2 and "model version 999" in missing.output  # a bad argument
    assert "stored: 1, 2" in missing.output


def test_no_model_is_exit_3(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "empty.duckdb")
    with pytest.raises(NoModelError):
        M.load(con)


def test_train_with_a_bad_date_is_exit_2(db: Path) -> None:
    result = CliRunner().invoke(main, ["--db", str(db), "train", "--train-to", "soon"])
    assert result.exit_code == 2 and "--train-to" in result.output


# The stored model is what runs: everything a prediction depends on is checked.

def _recompute_checksums(db: Path) -> None:
    """What someone editing the row on purpose would do: make the hashes match again."""
    con = duckdb.connect(str(db))
    for version, text, meta in con.execute(
            "SELECT model_version, model_text, metadata::VARCHAR FROM models").fetchall():
        con.execute("UPDATE models SET model_sha256 = sha256(model_text), checksum = ? "
                    "WHERE model_version = ?", [M.model_checksum(text, meta), version])
    con.close()


ABSENT = "<absent>"  # an `_edit_metadata` value: remove the key, as a model from before it


def _edit_metadata(db: Path, **changes: object) -> None:
    con = duckdb.connect(str(db))
    meta = json.loads(con.execute("SELECT metadata FROM models").fetchall()[0][0])
    for key, value in changes.items():
        where, name = (meta["elo"], key[4:]) if key.startswith("elo_") else (meta, key)
        if value == ABSENT:
            del where[name]
        else:
            where[name] = value
    con.execute("UPDATE models SET metadata = ?", [json.dumps(meta)])
    con.close()


def _failed_runs(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT status, error FROM score_runs").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("changes", [
    {"temperature": -1.0}, {"temperature": 1e-9}, {"temperature": 1.25},
    {"elo_k_scale": 300.0}, {"train_to": "1999-01-01"},
], ids=str)
def test_any_metadata_edit_fails_the_checksum(db: Path, changes: dict) -> None:
    _edit_metadata(db, **changes)
    with pytest.raises(StoreError, match="model version 1 is corrupted: its text or metadata"):
        M.load(store.connect(db, read_only=True))


@pytest.mark.parametrize(("changes", "message"), [
    ({"temperature": -1.0}, "temperature -1.0 is outside"),
    ({"temperature": 1e-9}, "temperature 1e-09 is outside"),
    ({"temperature": 0}, "temperature 0 is outside"),
    ({"temperature": 50.0}, "temperature 50.0 is outside"),
    ({"temperature": "1"}, "temperature '1' is outside"),
    ({"elo_k_scale": 300.0}, "other Elo parameters"),
    ({"elo_new_knob": 1}, "other Elo parameters"),
    ({"elo_k_scale": 300.0}, r"\(k_scale 300.0, now 250.0\)"),
    ({"elo_new_knob": 1}, r"\(new_knob 1, now 'absent'\)"),
    ({"elo_rest_days": ABSENT}, r"\(rest_days 0.0, now 120.0\)"),  # trained before C52
    ({"elo": None}, "its Elo parameters are not a JSON object"),
], ids=str)
def test_values_training_never_produces_are_refused_even_with_a_matching_checksum(
    db: Path, changes: dict, message: str
) -> None:
    _edit_metadata(db, **changes)
    _recompute_checksums(db)
    with pytest.raises(StoreError, match=message):
        M.load(store.connect(db, read_only=True))


def test_a_tampered_model_fails_the_run_recorded_exit_1_one_line(
    db: Path, tmp_path: Path
) -> None:
    _edit_metadata(db, temperature=-1.0)
    result = CliRunner().invoke(main, ["--db", str(db), "score"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "is corrupted" in result.output
    (run,) = _failed_runs(db)
    assert run[0] == "failed" and "is corrupted" in run[1]


def _edit_tree_text(text: str, edit: str) -> str:
    head, _, trees = text.partition("Tree=0\n")
    tree0, _, rest = trees.partition("\n\n")
    lines = dict(line.split("=", 1) for line in tree0.splitlines())
    leaves = int(lines["num_leaves"])
    if edit == "one leaf more":  # array lengths no longer match: LightGBM aborts
        lines["num_leaves"] = str(leaves + 1)
    elif edit == "a split too few":  # LightGBM would read past the array
        lines["split_feature"] = " ".join(lines["split_feature"].split()[:-1])
    elif edit == "child out of range":  # LightGBM would follow it at prediction time
        lines["left_child"] = " ".join([str(leaves + 5)] + lines["left_child"].split()[1:])
    elif edit == "not a number":
        lines["leaf_value"] = "abc " + " ".join(lines["leaf_value"].split()[1:])
    elif edit == "unknown feature":
        lines["split_feature"] = " ".join(["99"] + lines["split_feature"].split()[1:])
    tree0 = "\n".join(f"{k}={v}" for k, v in lines.items())
    return f"{head}Tree=0\n{tree0}\n\n{rest}"


@pytest.mark.reliability  # a process per case: fault injection, seconds each
@pytest.mark.parametrize("edit", ["one leaf more", "a split too few", "child out of range",
                                  "not a number", "unknown feature", "not a model"])
def test_model_text_lightgbm_cannot_load_is_one_line_exit_1_and_a_failed_run(
    db: Path, edit: str
) -> None:
    """Run in a separate process: before the fix some of these made LightGBM terminate
    the whole process (SIGABRT, exit 134, pages of [Fatal])."""
    con = duckdb.connect(str(db))
    text = con.execute("SELECT model_text FROM models").fetchall()[0][0]
    changed = "hello" if edit == "not a model" else _edit_tree_text(text, edit)
    assert changed != text
    con.execute("UPDATE models SET model_text = ?", [changed])
    con.close()
    _recompute_checksums(db)
    proc = subprocess.run([sys.executable, "-m", "acebet", "--db", str(db), "score"],
                          capture_output=True, text=True)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert proc.stderr.count("\n") == 1 and "cannot be loaded" in proc.stderr, proc.stderr
    assert "[Fatal]" not in proc.stdout + proc.stderr
    (run,) = _failed_runs(db)
    assert run[0] == "failed" and "cannot be loaded" in run[1]


def test_the_tree_sizes_hint_is_not_needed_and_predictions_are_unchanged(db: Path) -> None:
    con = store.connect(db, read_only=True)
    _, fitted = M.load(con)
    feats = _feats(con).filter(pl.col("played")).tail(200)
    con.close()
    reference = lgb_booster(fitted.to_text())
    assert "tree_sizes=" in fitted.to_text()  # LightGBM writes it back; we did not lose trees
    assert np.array_equal(fitted.predict_proba(feats), M.TrainedModel(
        reference, fitted.temperature, fitted.metadata).predict_proba(feats))


def lgb_booster(text: str):  # noqa: ANN201
    import lightgbm as lgb

    return lgb.Booster(model_str=text)


def test_models_stored_before_the_checksum_get_one_on_upgrade(db: Path) -> None:
    """An older database: migration 006 checksums the models whose text is intact, and
    leaves an already corrupted one without, so it stays refused."""
    runner = CliRunner()
    assert runner.invoke(main, ["--db", str(db), "train", "--train-to", "2021-07-01"]
                         ).exit_code == 0
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE models DROP COLUMN checksum")
    con.execute("DELETE FROM schema_migrations WHERE version = 6")
    con.execute("UPDATE models SET model_text = model_text || ' ' WHERE model_version = 1")
    con.close()
    con = store.connect(db)  # a writing open upgrades it
    assert M.load(con)[0] == 2
    with pytest.raises(StoreError, match="model version 1 is corrupted"):
        M.load(con, 1)
    checksums = con.execute("SELECT model_version, checksum IS NOT NULL FROM models "
                            "ORDER BY 1").fetchall()
    con.close()
    assert checksums == [(1, False), (2, True)]


def test_an_elo_base_margin_keeps_exact_symmetry_and_survives_a_reload(db: Path) -> None:
    con = store.connect(db, read_only=True)
    feats = _feats(con)
    day = feats["tourney_date"].max()
    plain = M.fit(feats, day)
    fitted = M.fit(feats, day, margin=M.ELO_LOGIT)
    assert fitted.metadata["base_margin"] == M.ELO_LOGIT
    p_ab = fitted.predict_proba(feats)
    p_ba = fitted.predict_proba(matrix.swap_sides(feats))
    assert np.array_equal(p_ab, 1.0 - p_ba)
    assert not np.allclose(p_ab, plain.predict_proba(feats))  # the margin is in the score
    # a walk-forward update grows its trees from the model's score, margin included
    updated = M.update_on(M.TrainingSet(feats, bins_before=day), day, fitted, trees=2)
    q_ab = updated.predict_proba(feats)
    assert np.array_equal(q_ab, 1.0 - updated.predict_proba(matrix.swap_sides(feats)))
    # two small steps from where the model stands (from zero they would be large ones)
    assert np.abs(q_ab - p_ab).mean() < 0.005
    con.close()
    con = store.connect(db)
    version = M.save(con, fitted)
    _, loaded = M.load(con, version)
    assert np.array_equal(loaded.predict_proba(feats), p_ab)


def test_a_base_margin_training_never_uses_is_refused(db: Path) -> None:
    _edit_metadata(db, base_margin=0.5)
    _recompute_checksums(db)
    with pytest.raises(StoreError, match="base margin 0.5"):
        M.load(store.connect(db, read_only=True))


def test_a_walk_forward_update_adds_trees_on_the_residuals_and_keeps_symmetry(db: Path
                                                                             ) -> None:
    con = store.connect(db, read_only=True)
    feats = _feats(con)
    days = feats.filter(pl.col("played"))["tourney_date"].unique().sort()
    cut, later = days[len(days) // 2], days[-1]
    first = M.fit(feats, cut)
    data = M.TrainingSet(feats, bins_before=cut)
    once = M.update_on(data, later, first, trees=5)
    twice = M.update_on(data, later, once, trees=5)
    assert len(twice.updates) == 2 and twice.metadata["updated_trees"] == 10
    # the updates grow trees; the linear learner stays the first fit's
    assert twice.metadata["linear"] == first.metadata["linear"]
    assert twice.metadata["train_to"] == str(later)
    # the remembered scores are the model's own scores on every training row
    assert np.allclose(data.scores(twice), twice.raw(data.x))
    p_ab = twice.predict_proba(feats)
    assert np.array_equal(p_ab, 1.0 - twice.predict_proba(matrix.swap_sides(feats)))
    # the new trees learned from the matches after the first cut-off: better on them
    new = feats.filter(pl.col("played") & (pl.col("tourney_date") >= cut)
                       & (pl.col("tourney_date") < later))
    ones = np.ones(new.height)
    assert (metrics.log_loss(twice.predict_proba(new), ones)
            < metrics.log_loss(first.predict_proba(new), ones))
    with pytest.raises(ValueError, match="not a storable model"):
        twice.to_text()


def test_recency_weights_halve_every_half_life_and_reach_the_updates(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    days = np.array(["2020-01-01", "2016-01-01", "2012-01-01"], dtype="datetime64[D]")
    assert M.recency_weights(days, dt.date(2020, 1, 1), 4.0).tolist() == [1.0, 0.5, 0.25]
    assert M.recency_weights(days, dt.date(2020, 1, 1), 0.0).tolist() == [1.0, 1.0, 1.0]
    con = store.connect(db, read_only=True)
    feats = _feats(con)
    days = feats.filter(pl.col("played"))["tourney_date"].unique().sort()
    cut, later = days[len(days) // 2], days[-1]
    data = M.TrainingSet(feats, bins_before=cut)
    plain = M.update_on(data, later, M.fit(feats, cut), trees=5)
    monkeypatch.setattr(M, "RECENCY_HALF_LIFE_YEARS", 0.5)
    first = M.fit(feats, cut)
    assert first.metadata["recency_half_life_years"] == 0.5
    weighted = M.update_on(data, later, first, trees=5)
    p = weighted.predict_proba(feats)
    assert not np.allclose(p, plain.predict_proba(feats))
    assert np.array_equal(p, 1.0 - weighted.predict_proba(matrix.swap_sides(feats)))


def test_a_model_without_the_serve_inputs_scores_the_same_with_the_ratings_on(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model trained without the serve inputs (every model before C40) still loads and
    gives the same probabilities with the ratings on: it reads only its own columns."""
    con = store.connect(db)
    try:
        adopted = FS.SERVE_K
        monkeypatch.setattr(FS, "SERVE_K", 0.0)
        version, old = M.train(con)
        assert old.features == matrix.FEATURES and "serve_k" not in old.metadata
        then = old.predict_proba(_feats(con))
        monkeypatch.setattr(FS, "SERVE_K", adopted)
        feats = _feats(con)
        assert "p1_ptm" in feats.columns
        _, loaded = M.load(con, version)
        assert np.array_equal(loaded.predict_proba(feats), then)
    finally:
        con.close()


def test_a_model_trained_with_another_serve_step_is_refused(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = store.connect(db)
    try:
        monkeypatch.setattr(FS, "SERVE_K", 0.05)
        version, fitted = M.train(con)
        assert fitted.features == matrix.FEATURES + matrix.SERVE_INPUTS
        assert M.load(con, version)[1].metadata["serve_k"] == 0.05
        for other in (0.1, 0.0):  # another step, or the ratings switched off
            monkeypatch.setattr(FS, "SERVE_K", other)
            with pytest.raises(StoreError, match="serve rating step 0.05"):
                M.load(con, version)
    finally:
        con.close()


def test_a_model_trained_with_another_serve_surface_step_is_refused(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The offsets change every serve input, so a model is bound to its surface step; a
    model from before the offsets (no `serve_surface_k`) was trained without them."""
    con = store.connect(db)
    try:
        version, fitted = M.train(con)  # the adopted steps
        assert fitted.metadata["serve_surface_k"] == FS.SERVE_SURFACE_K > 0
        adopted = FS.SERVE_SURFACE_K
        monkeypatch.setattr(FS, "SERVE_SURFACE_K", 0.05)
        with pytest.raises(StoreError, match=f"serve surface step {adopted}"):
            M.load(con, version)
        meta = json.loads(json.dumps(  # as stored
            {k: v for k, v in fitted.metadata.items() if k != "serve_surface_k"}))
        monkeypatch.setattr(FS, "SERVE_SURFACE_K", adopted)
        with pytest.raises(StoreError, match="serve surface step 0.0"):
            M.check_metadata(version, meta)
        monkeypatch.setattr(FS, "SERVE_SURFACE_K", 0.0)
        assert M.check_metadata(version, meta) == fitted.temperature
    finally:
        con.close()


# The linear learner beside the trees (model.linear, EVALUATION.md C25)

def _matrix_with_market(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray,
                                                                   list[str]]:
    """Random model-matrix rows in both orientations: antisymmetric columns negated,
    symmetric ones kept, some inputs missing in both."""
    columns = matrix.FEATURES + matrix.MARKET_INPUTS
    ab = rng.normal(0.0, 1.0, (n, len(columns)))
    ab[:, columns.index("best_of")] = rng.choice([3.0, 5.0], n)
    ab[:, columns.index("min_log_n")] = rng.uniform(0.0, 8.0, n)
    ab[:, columns.index("min_log_mkt_n")] = rng.uniform(0.0, 7.0, n)
    ab[rng.random(ab.shape) < 0.05] = np.nan
    ba = ab.copy()
    for i, name in enumerate(columns):  # named here, not read from the code under test
        if name in matrix.ANTISYMMETRIC or name in ("mkt_diff", "log_mkt_n_diff"):
            ba[:, i] = -ab[:, i]
    return ab, ba, columns


def test_the_season_switch_adds_the_week_of_the_year_seen_alike_from_both_sides(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = store.connect(db, read_only=True)
    feats = _feats(con)
    con.close()
    assert "week_of_year" not in matrix.matrix_columns(feats)
    monkeypatch.setattr(matrix, "SEASON_INPUT", True)
    assert matrix.matrix_columns(feats)[-1] == "week_of_year"
    ab = matrix.model_matrix(feats)["week_of_year"].to_numpy()
    ba = matrix.model_matrix(feats, swap=True)["week_of_year"].to_numpy()
    assert np.array_equal(ab, ba)
    iso = np.array([d.isocalendar()[1] for d in feats["tourney_date"].to_list()], float)
    assert np.array_equal(ab, iso) and len(set(iso)) > 10


def test_the_age_switch_adds_the_players_mean_age_seen_alike_from_both_sides(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = store.connect(db, read_only=True)
    feats = _feats(con)
    con.close()
    assert "mean_age" not in matrix.matrix_columns(feats)
    monkeypatch.setattr(matrix, "AGE_INPUT", True)
    assert "mean_age" in matrix.matrix_columns(feats)
    ab = matrix.model_matrix(feats)["mean_age"].to_numpy()
    ba = matrix.model_matrix(feats, swap=True)["mean_age"].to_numpy()
    assert np.array_equal(ab, ba, equal_nan=True)
    both = ((feats["p1_age"] + feats["p2_age"]) / 2).to_numpy()
    assert np.allclose(ab, both, equal_nan=True) and np.isfinite(ab).sum() > 10


def test_the_strength_switch_adds_the_players_mean_ratings_seen_alike_from_both_sides(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """C77: the mean surface-blended Elo, and the mean market rating when the frame has
    one; both are the same from either side, so symmetry is untouched."""
    con = store.connect(db, read_only=True)
    feats = _feats(con)
    con.close()
    assert "mean_blend_elo" not in matrix.matrix_columns(feats)
    monkeypatch.setattr(matrix, "STRENGTH_INPUT", True)
    columns = matrix.matrix_columns(feats)
    assert "mean_blend_elo" in columns and "mean_mkt" not in columns  # no odds here
    ab = matrix.model_matrix(feats)["mean_blend_elo"].to_numpy()
    ba = matrix.model_matrix(feats, swap=True)["mean_blend_elo"].to_numpy()
    assert np.array_equal(ab, ba)
    w = EloParams().surface_weight
    blend = ((1 - w) * feats["p1_elo"] + w * feats["p1_selo"]
             + (1 - w) * feats["p2_elo"] + w * feats["p2_selo"]).to_numpy() / 2
    assert np.allclose(ab, blend) and np.ptp(ab) > 50
    priced = feats.with_columns(p1_mkt=pl.lit(0.4), p2_mkt=pl.lit(-0.2), p1_mkt_n=pl.lit(3.0),
                                p2_mkt_n=pl.lit(5.0))
    assert matrix.matrix_columns(priced)[-1] == "mean_mkt"
    assert np.allclose(matrix.model_matrix(priced)["mean_mkt"].to_numpy(), 0.1)
    assert np.allclose(matrix.model_matrix(priced, swap=True)["mean_mkt"].to_numpy(), 0.1)


def test_the_linear_design_flips_sign_exactly_when_the_players_swap() -> None:
    ab, ba, columns = _matrix_with_market(np.random.default_rng(1), 500)
    d_ab, d_ba = linear.design(ab, columns), linear.design(ba, columns)
    assert d_ab.shape == (500, linear.width(columns)) and np.isfinite(d_ab).all()
    assert np.array_equal(d_ba, -d_ab)
    # without the market inputs there is no market-experience block
    plain = [c for c in columns if c not in matrix.MARKET_INPUTS]
    assert linear.width(plain) == 3 * (len(matrix.ANTISYMMETRIC) - 2)  # minus the sums
    assert linear.design(ab[:, :len(plain)], plain).shape[1] == linear.width(plain)


def test_the_surface_switch_adds_a_block_for_clay_and_one_for_grass(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """C76: each extra block is the plain inputs on its surface and zero elsewhere, and
    the design still flips sign exactly with the players."""
    rng = np.random.default_rng(3)
    ab, ba, columns = _matrix_with_market(rng, 600)
    surface = rng.choice([0.0, 1.0, 2.0, 3.0], 600)  # Hard, Clay, Grass, Carpet
    ab[:, columns.index("surface_code")] = ba[:, columns.index("surface_code")] = surface
    plain = linear.design(ab, columns)
    monkeypatch.setattr(linear, "SURFACE_BLOCKS", True)
    wide, k = linear.design(ab, columns), len(plain[0]) // 4
    assert wide.shape[1] == linear.width(columns) == plain.shape[1] + 2 * k
    assert np.array_equal(wide[:, :plain.shape[1]], plain)
    clay, grass = wide[:, -2 * k:-k], wide[:, -k:]
    assert np.array_equal(clay[surface == 1.0], plain[surface == 1.0, :k])
    assert np.array_equal(grass[surface == 2.0], plain[surface == 2.0, :k])
    assert not clay[surface != 1.0].any() and not grass[surface != 2.0].any()
    assert np.array_equal(linear.design(ba, columns), -wide)


def test_the_linear_margin_is_the_design_times_the_coefficients_and_flips_exactly() -> None:
    """The margin is computed a block at a time, never holding the wide design: the same
    numbers as the design's product, and an exact sign flip with the players."""
    rng = np.random.default_rng(5)
    for columns in (matrix.FEATURES + matrix.MARKET_INPUTS, matrix.FEATURES):
        ab, ba, _ = _matrix_with_market(rng, 2_000)
        ab, ba = ab[:, :len(columns)], ba[:, :len(columns)]
        coef = rng.normal(0.0, 1.0, linear.width(columns))
        m_ab = linear.margin(ab, columns, coef)
        np.testing.assert_allclose(m_ab, linear.design(ab, columns) @ coef, rtol=1e-12,
                                   atol=1e-12)
        assert np.array_equal(linear.margin(ba, columns, coef), -m_ab)
        with pytest.raises(ValueError):  # a coefficient list of another width
            linear.margin(ab, columns, coef[:-1])


def test_the_linear_learner_recovers_a_known_logistic_rule() -> None:
    rng = np.random.default_rng(2)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        ab, ba, columns = _matrix_with_market(rng, n)
        elo = columns.index("elo_diff")
        gap = rng.normal(0.0, 200.0, n)
        ab[:, elo], ba[:, elo] = gap, -gap
        return ab, ba, 0.01 * gap, columns  # the true log-odds that p1 wins

    ab, ba, truth, columns = sample(40_000)
    won = rng.random(len(ab)) < 1.0 / (1.0 + np.exp(-truth))
    coef = linear.fit(np.where(won[:, None], ab, ba), columns)
    assert coef[linear.INPUTS.index("elo_diff")] == pytest.approx(0.01, rel=0.15)
    ab, _, truth, _ = sample(20_000)  # fresh matches
    fitted = linear.margin(ab, columns, coef)
    assert np.abs(fitted - truth).mean() < 0.1 * np.abs(truth).mean()


def test_a_trained_model_mixes_the_linear_margin_into_its_score(db: Path) -> None:
    con = store.connect(db, read_only=True)
    _, fitted = M.load(con)
    spec = fitted.metadata["linear"]
    assert spec["weight"] == linear.WEIGHT == 0.5
    assert len(spec["coef"]) == linear.width(fitted.features)
    feats = _feats(con)
    X = matrix.model_matrix(feats).select(fitted.features).to_numpy()
    mixed = 0.5 * fitted.raw(X) + 0.5 * linear.margin(X, fitted.features, spec["coef"])
    assert np.array_equal(fitted.margin(X), mixed)
    assert not np.allclose(fitted.margin(X), fitted.raw(X))  # it changes the score


def test_without_the_linear_learner_the_model_is_the_trees_alone(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = store.connect(db, read_only=True)
    feats = _feats(con)
    monkeypatch.setattr(linear, "WEIGHT", 0.0)
    trees = M.fit(feats, feats["tourney_date"].max())
    assert "linear" not in trees.metadata and trees.linear is None
    X = matrix.model_matrix(feats).select(trees.features).to_numpy()
    assert np.array_equal(trees.margin(X), trees.raw(X))


def test_a_model_stored_before_the_linear_learner_scores_with_its_trees(db: Path) -> None:
    con = store.connect(db, read_only=True)
    _, mixed = M.load(con)
    con.close()
    meta = {**mixed.metadata}
    del meta["linear"]
    con = duckdb.connect(str(db))
    con.execute("UPDATE models SET metadata = ?", [json.dumps(meta)])
    con.close()
    _recompute_checksums(db)
    con = store.connect(db, read_only=True)
    _, old = M.load(con)
    feats = _feats(con)
    ab = matrix.model_matrix(feats).select(old.features).to_numpy()
    ba = matrix.model_matrix(feats, swap=True).select(old.features).to_numpy()
    assert np.array_equal(old.predict_proba(feats), M.symmetric_probability(
        old.raw(ab), old.raw(ba), old.temperature))


@pytest.mark.parametrize("spec", [
    {"weight": 0.0, "coef": "same"}, {"weight": 1.5, "coef": "same"},
    {"weight": True, "coef": "same"}, {"weight": 0.5, "coef": "short"},
    {"weight": 0.5, "coef": "text"}, {"weight": 0.5, "coef": "huge"}, "not a dict",
], ids=str)
def test_a_linear_learner_training_never_writes_is_refused(db: Path, spec: object) -> None:
    con = duckdb.connect(str(db), read_only=True)
    meta = json.loads(con.execute("SELECT metadata FROM models").fetchall()[0][0])
    con.close()
    coef = meta["linear"]["coef"]
    if isinstance(spec, dict):
        spec = {**spec, "coef": {"same": coef, "short": coef[:-1],
                                 "text": [*coef[:-1], "1"], "huge": [*coef[:-1], 1e6]
                                 }[spec["coef"]]}
    _edit_metadata(db, linear=spec)
    _recompute_checksums(db)
    with pytest.raises(StoreError, match="its linear learner is not one training writes"):
        M.load(store.connect(db, read_only=True))


@pytest.mark.parametrize("spec", [
    {"age": 20.0, "shift": 1.5}, {"age": 0.0, "shift": 0.1}, {"age": 20.0, "shift": True},
    {"age": "20", "shift": 0.1}, {"age": 20.0}, {"age": 10**400, "shift": 0.1}, "not a dict",
], ids=lambda spec: str(spec)[:40])
def test_a_youth_shift_training_never_writes_is_refused(db: Path, spec: object) -> None:
    _edit_metadata(db, youth=spec)
    _recompute_checksums(db)
    with pytest.raises(StoreError, match="its youth shift is not one training writes"):
        M.load(store.connect(db, read_only=True))


def test_a_rarely_non_zero_block_cannot_blow_up_its_coefficient() -> None:
    """An unranked player with odds (9 matches in 185,000 of the real history, all lost):
    scaled by its own spread that block's coefficient reached 25 and would have decided
    any such fixture on its own. Scaled like its input, the few matches cannot."""
    rng = np.random.default_rng(3)
    ab, ba, columns = _matrix_with_market(rng, 40_000)
    missing, priced = columns.index("rank_missing_diff"), columns.index("min_log_mkt_n")
    flags = np.where(rng.random(len(ab)) < 0.3, rng.choice([-1.0, 1.0], len(ab)), 0.0)
    ab[:, priced] = ba[:, priced] = 0.0
    rare = np.flatnonzero(flags == -1.0)[:9]  # p2 unranked, priced, and beaten
    ab[rare, priced] = ba[rare, priced] = 1.0
    ab[:, missing], ba[:, missing] = flags, -flags
    won = rng.random(len(ab)) < 0.5
    won[rare] = True
    coef = linear.fit(np.where(won[:, None], ab, ba), columns)
    block = 3 * sum(1 for c in linear.INPUTS if c in columns)  # the odds-experience block
    assert abs(coef[block + linear.INPUTS.index("rank_missing_diff")]) < 5.0  # 19 if not
    assert np.abs(coef).max() < linear.MAX_COEF


def test_training_never_stores_a_model_that_load_would_refuse(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linear, "MAX_COEF", 1e-6)  # every fit now writes a coefficient beyond it
    result = CliRunner().invoke(main, ["--db", str(db), "train"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "model version (new): its linear learner is not one training writes" in result.output
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM models").fetchone()[0] == 1  # only the first
    con.close()
