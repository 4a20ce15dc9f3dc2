"""Stale history is loud: every prediction records how old the history behind it was,
a run warns past two weeks and fails (exit 4) past --max-history-age.

The age is measured from the last ingested match to each fixture's date, not to the
clock, so the demo and these tests on a 2022 history give the same answer every day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from acebet.cli import main
from tests.conftest import copy_db
from tests.jobdb import query


@pytest.fixture
def db(trained_synthetic_db: Path, tmp_path: Path) -> Path:
    return copy_db(trained_synthetic_db, tmp_path)


def last_match(db: Path) -> dt.date:
    return query(db, "SELECT max(tourney_date) FROM matches")[0][0]


def load(db: Path, tmp_path: Path, *days_after_history: int) -> None:
    """One fixture per offset, dated that many days after the last match."""
    ids = [r[0] for r in query(db, "SELECT player_id FROM players ORDER BY 1 LIMIT 20")]
    end = last_match(db)
    lines = ["tourney_date,tourney_name,surface,tourney_level,round,best_of,p1_id,p2_id"]
    for i, days in enumerate(days_after_history):
        lines.append(f"{end + dt.timedelta(days=days)},Age Open,Hard,A,R32,3,"
                     f"{ids[2 * i]},{ids[2 * i + 1]}")
    (tmp_path / "f.csv").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["--db", str(db), "fixtures", "load",
                                       str(tmp_path / "f.csv")])
    assert result.exit_code == 0 and "0 rejected" in result.output, result.output


def score(db: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(main, ["--db", str(db), "score", *args])


def test_every_prediction_and_run_records_the_history_age(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, 7, -30, 0)
    result = score(db, "--max-history-age", "21")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    ages = query(db, "SELECT history_age_days FROM predictions ORDER BY tourney_date")
    assert ages == [(0,), (0,), (7,)]  # a fixture inside the history sees it up to its date
    assert query(db, "SELECT max(history_age_days) FROM latest_predictions") == [(7,)]
    assert query(db, "SELECT history_age_days FROM run_history") == [(7,)]


def test_past_two_weeks_the_run_warns_and_still_scores(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, 18)
    result = score(db, "--max-history-age", "21")
    assert result.exit_code == 0, result.output
    assert f"warning: the history ends {last_match(db)}, 18 days before" in result.output


def test_by_default_a_history_seven_weeks_old_fails_the_run_with_exit_4(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACEBET_MAX_HISTORY_AGE")  # the default a scheduler gets
    load(db, tmp_path, 5, 46)
    result = score(db)
    assert result.exit_code == 4, result.output
    assert result.output.count("\n") == 1 and "46 days before" in result.output
    assert "--max-history-age 45" in result.output
    assert query(db, "SELECT count(*) FROM predictions") == [(0,)]
    (run,) = query(db, "SELECT status, error FROM score_runs")
    assert run[0] == "failed" and "StaleHistoryError" in run[1]
    assert score(db, "--max-history-age", "60").exit_code == 0  # the operator's choice
    assert query(db, "SELECT count(*) FROM predictions") == [(2,)]


def test_zero_turns_the_limit_off(db: Path, tmp_path: Path) -> None:
    load(db, tmp_path, 400)
    result = score(db, "--max-history-age", "0")
    assert result.exit_code == 0 and "400 days before" in result.output


def test_with_as_of_the_age_counts_from_the_last_match_before_it(
    db: Path, tmp_path: Path
) -> None:
    load(db, tmp_path, 3)
    as_of = last_match(db) - dt.timedelta(days=40)
    before = query(db, f"SELECT max(tourney_date) FROM matches WHERE tourney_date <= "
                       f"DATE '{as_of}'")[0][0]
    result = score(db, "--as-of", str(as_of), "--max-history-age", "0")
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT history_age_days FROM predictions") == [
        ((last_match(db) + dt.timedelta(days=3) - before).days,)]


def test_predict_says_when_the_history_is_stale(db: Path) -> None:
    a, b = (r[0] for r in query(db, "SELECT player_id FROM players ORDER BY 1 LIMIT 2"))
    end = last_match(db)
    stale = CliRunner().invoke(main, ["--db", str(db), "predict", str(a), str(b), "--surface",
                                      "Hard", "--date", str(end + dt.timedelta(days=400))])
    assert stale.exit_code == 0, stale.output
    assert f"warning: the history ends {end}, 400 days before" in stale.output
    fresh = CliRunner().invoke(main, ["--db", str(db), "predict", str(a), str(b), "--surface",
                                      "Hard", "--date", str(end + dt.timedelta(days=3))])
    assert fresh.exit_code == 0 and "warning" not in fresh.output


def test_demo_on_an_old_history_warns_instead_of_failing(
    db: Path, tmp_path: Path, synthetic_source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's shipped history ends months before its fixtures: it says so, and scores."""
    monkeypatch.delenv("ACEBET_MAX_HISTORY_AGE")
    monkeypatch.setenv("ACEBET_SOURCE", str(synthetic_source))
    ids = [r[0] for r in query(db, "SELECT player_id FROM players ORDER BY 1 LIMIT 2")]
    fixtures = tmp_path / "demo.csv"
    fixtures.write_text("tourney_date,tourney_name,surface,tourney_level,round,best_of,"
                        f"p1_id,p2_id\n2023-01-09,Demo Open,Hard,A,R32,3,{ids[0]},{ids[1]}\n")
    result = CliRunner().invoke(main, ["--db", str(db), "demo", "--fixtures", str(fixtures)])
    assert result.exit_code == 0, result.output
    assert f"warning: the history ends {last_match(db)}" in result.output
    assert "1 predictions written" in result.output
