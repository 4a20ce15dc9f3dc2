"""The model: exact symmetry, storage as text + JSON, bit-for-bit reloads, clear errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from acebet import features as F
from acebet import model as M
from acebet import store
from acebet.cli import main
from acebet.errors import NoModelError, StoreError


@pytest.fixture
def db(trained_synthetic_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "acebet.duckdb"
    shutil.copy(trained_synthetic_db, path)
    return path


def _feats(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return F.build(F.timeline(F.load_matches(con)), F.load_players(con))


def test_swapping_players_gives_exactly_one_minus_p(db: Path) -> None:
    con = store.connect(db, read_only=True)
    _, fitted = M.load(con)
    feats = _feats(con)
    p_ab = fitted.predict_proba(feats)
    p_ba = fitted.predict_proba(F.swap_sides(feats))
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
    assert meta["features"] == F.FEATURES
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
    missing = runner.invoke(main, ["--db", str(db), "models", "activate", "9"])
    assert missing.exit_code == 3 and "model version 9" in missing.output


def test_no_model_is_exit_3(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "empty.duckdb")
    with pytest.raises(NoModelError):
        M.load(con)


def test_train_with_a_bad_date_is_exit_2(db: Path) -> None:
    result = CliRunner().invoke(main, ["--db", str(db), "train", "--train-to", "soon"])
    assert result.exit_code == 2 and "--train-to" in result.output
