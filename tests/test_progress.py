"""Progress of long steps: bars on a terminal, JSON events with --log-format json, silence
with --quiet, and the same helper for ingest, train, backtest and snapshot rebuilds."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from acebet import progress
from acebet.cli import main


@pytest.fixture(autouse=True)
def _default_mode():
    yield
    progress.configure("bar")


def _events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def _progress_events(stderr: str) -> list[dict]:
    return [e for e in _events(stderr) if e.get("logger") == "acebet.progress"]


def test_json_task_reports_start_and_finish_with_counts(caplog: pytest.LogCaptureFixture) -> None:
    progress.configure("json")
    with caplog.at_level(logging.INFO, logger="acebet.progress"):
        with progress.task("files", ["a", "b", "c"]) as files:
            seen = list(files)
    assert seen == ["a", "b", "c"]
    fields = [(r.task, r.done, r.total, getattr(r, "state", None)) for r in caplog.records]
    assert fields[0] == ("files", 0, 3, "started")
    assert fields[-1] == ("files", 3, 3, "finished")


def test_nested_task_is_silent(caplog: pytest.LogCaptureFixture) -> None:
    progress.configure("json")
    with caplog.at_level(logging.INFO, logger="acebet.progress"):
        with progress.task("outer", total=1) as outer:
            with progress.task("inner", total=5) as inner:
                inner.advance(5)
            outer.advance()
    assert {r.task for r in caplog.records} == {"outer"}


def test_quiet_and_off_terminal_text_mode_print_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    for mode in ("quiet", "bar"):  # bar mode only draws on a terminal; pytest's stderr is not
        progress.configure(mode)
        with progress.task("work", total=3) as work:
            work.advance(3)
        progress.step("a phase")
    assert capfd.readouterr() == ("", "")


def test_bar_mode_draws_when_asked(capfd: pytest.CaptureFixture[str]) -> None:
    with progress.task("counting", [1, 2], enabled=True) as items:
        list(items)
    assert "counting" in capfd.readouterr().err


def test_lightgbm_callback_counts_the_trees(caplog: pytest.LogCaptureFixture) -> None:
    import lightgbm as lgb
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] + rng.normal(size=200) > 0).astype(int)
    progress.configure("json")
    with caplog.at_level(logging.INFO, logger="acebet.progress"):
        with progress.task("trees", total=7) as trees:
            lgb.LGBMClassifier(n_estimators=7, n_jobs=1, verbose=-1).fit(
                x, y, callbacks=[progress.per_iteration(trees)])
    assert trees.done == 7
    assert (caplog.records[-1].done, caplog.records[-1].state) == (7, "finished")


def test_cli_ingest_emits_json_progress_and_quiet_silences_it(
    synthetic_source: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "a.duckdb")
    runner = CliRunner()
    ingest = runner.invoke(main, ["--db", db, "--log-format", "json", "ingest",
                                  str(synthetic_source)])
    assert ingest.exit_code == 0, ingest.output
    events = _progress_events(ingest.stderr)
    files = [e for e in events if e.get("task") == "ingest: read files"]
    assert files[-1]["state"] == "finished" and files[-1]["done"] == files[-1]["total"] > 0
    assert any("match rows read" in e.get("step", "") for e in events)

    quiet = runner.invoke(main, ["--db", db, "--log-format", "json", "--quiet", "ingest",
                                 str(synthetic_source)])
    assert quiet.exit_code == 0, quiet.output
    assert _progress_events(quiet.stderr) == []
    assert _events(quiet.stderr)  # the run's own log events still go out


@pytest.mark.slow
def test_cli_train_emits_phases_and_trees_as_json(synthetic_source: Path, tmp_path: Path
                                                  ) -> None:
    db = str(tmp_path / "a.duckdb")
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "ingest", str(synthetic_source)]).exit_code == 0
    train = runner.invoke(main, ["--db", db, "--log-format", "json", "train"])
    assert train.exit_code == 0, train.output
    events = _progress_events(train.stderr)
    assert any(e.get("step", "").startswith("train: features") for e in events)
    early = [e for e in events if e.get("task") == "train: trees, until early stopping"]
    assert early[-1]["state"] == "finished" and early[-1]["done"] > 0
    trees = [e for e in events if e.get("task") == "train: refit on all rows"]
    assert trees[-1]["done"] == trees[-1]["total"] > 0
    assert any("snapshot" in e.get("step", "") for e in events)

