"""Listing commands print a table for people and the same rows as JSON for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from acebet import output, store
from acebet.cli import main
from tests.conftest import copy_db
from tests.jobdb import query


def cli(db: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def scored_db(trained_synthetic_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model, one fixture, one succeeded scoring run."""
    root = tmp_path_factory.mktemp("output")
    db = copy_db(trained_synthetic_db, root)
    fixtures = root / "f.csv"
    fixtures.write_text("tourney_date,surface,tourney_level,round,best_of,p1_id,p2_id\n"
                        "2023-01-09,Hard,A,R32,3,200000,200001\n")
    cli(db, "fixtures", "load", str(fixtures))
    cli(db, "score")
    return db


def test_render_gives_rows_as_a_table_json_or_csv() -> None:
    frame = pl.DataFrame({"name": ["Sinner", "Alcaraz"], "prob": [0.61234, None]})
    text = output.render(frame, "table").splitlines()
    assert text[0].split() == ["name", "prob"] and text[2].split() == ["Sinner", "0.6123"]
    assert json.loads(output.render(frame, "json")) == [
        {"name": "Sinner", "prob": 0.61234}, {"name": "Alcaraz", "prob": None}]
    assert output.render(frame, "csv") == "name,prob\nSinner,0.61234\nAlcaraz,"


def test_an_empty_listing_is_a_hint_for_people_and_an_empty_list_for_scripts() -> None:
    empty = pl.DataFrame(schema={"run_id": pl.String})
    assert output.render(empty, "table", empty="nothing yet") == "nothing yet"
    assert output.render(empty, "json", empty="nothing yet") == "[]"
    assert output.render(empty, "table").splitlines()[0] == "run_id"


def test_runs_list_as_text_and_json(scored_db: Path) -> None:
    text = cli(scored_db, "runs", "list")
    assert "predictions_written" in text.splitlines()[0] and "succeeded" in text
    (run,) = json.loads(cli(scored_db, "runs", "list", "--format", "json"))
    assert run["status"] == "succeeded" and run["predictions_written"] == 1
    assert run["run_id"] in text
    assert run["started_at"][:10] in text  # ISO dates, the same moment as the table's


def test_models_list_as_text_and_json(scored_db: Path) -> None:
    text = cli(scored_db, "models", "list")
    assert text.splitlines()[0].split()[:2] == ["model_version", "is_active"]
    (model,) = json.loads(cli(scored_db, "models", "list", "--format", "json"))
    assert model["model_version"] == 1 and model["is_active"] is True
    assert f"{model['val_log_loss']:.4f}" in text


def test_db_status_as_text_and_json(scored_db: Path) -> None:
    status = json.loads(cli(scored_db, "db", "status", "--format", "json"))
    latest = max(m.version for m in store.migrations())
    assert status["schema_version"] == latest and status["database"] == str(scored_db)
    assert status["tables"]["models"] == 1 and status["tables"]["score_runs"] == 1
    assert status["results_through"] == str(query(scored_db, "SELECT max(tourney_date) "
                                                             "FROM matches")[0][0])
    assert status["odds_through"] is None  # no odds loaded
    text = cli(scored_db, "db", "status").splitlines()
    assert text[1] == f"schema version: {latest}"
    assert text[2:4] == [f"results through: {status['results_through']}",
                         "odds through: none"]
    assert text[4:] == [f"{name:16} {count:>12,}" for name, count in status["tables"].items()]


def test_query_prints_the_same_rows_in_each_format(scored_db: Path) -> None:
    sql = "SELECT fixture_id, p1_win_prob FROM latest_predictions"
    (row,) = json.loads(cli(scored_db, "query", "--format", "json", sql))
    assert 0 < row["p1_win_prob"] < 1
    assert cli(scored_db, "query", "--format", "csv", sql) == (
        f"fixture_id,p1_win_prob\n{row['fixture_id']},{row['p1_win_prob']}\n")
    assert f"{row['p1_win_prob']:.4f}" in cli(scored_db, "query", sql)


def test_listings_of_a_new_database(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    cli(db, "db", "migrate")
    assert cli(db, "runs", "list") == "no scoring runs yet; run `acebet score`\n"
    assert cli(db, "models", "list") == "no models yet; run `acebet train`\n"
    assert cli(db, "runs", "list", "--format", "json") == "[]\n"
    assert cli(db, "models", "list", "--format", "json") == "[]\n"
