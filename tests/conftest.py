"""Shared fixtures: where history comes from, and ready-made databases.

With ACEBET_TEST_DATA set (CI sets it to ../shared/data), tests run on the real ATP
history and fail loudly when it is missing. Without it, they run on a small synthetic
history generated here, so `uv run pytest` passes on any fresh machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from acebet import ingest, store
from tests.synthetic import write_sackmann_folder


def require(available: bool, what: str) -> None:
    """A test that needs something this machine may lack (root, a browser, a server):
    skipped with the reason on a developer's machine, a failure in CI (CI=true), where
    `.ci/run` installs and runs it all."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI must provide it; see .ci/run)", pytrace=False)
    pytest.skip(what)


def copy_db(source: Path, folder: Path, name: str = "acebet.duckdb") -> Path:
    """A private, writable copy of a prepared database (session fixtures stay pristine)."""
    path = folder / name
    shutil.copy(source, path)
    return path


def _shared_data() -> Path | None:
    value = os.environ.get("ACEBET_TEST_DATA")
    if not value:
        return None
    path = Path(value).resolve()
    for needed in ("tennis_atp/atp_players.csv", "tennis_data_odds"):
        if not (path / needed).exists():
            pytest.fail(f"ACEBET_TEST_DATA={value}: {path / needed} is missing", pytrace=False)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path | None:
    """The real data folder, or None when ACEBET_TEST_DATA is unset."""
    return _shared_data()


@pytest.fixture(scope="session")
def real_data(shared_data: Path | None) -> Path:
    """For tests that only make sense on the real history: skipped without ACEBET_TEST_DATA."""
    if shared_data is None:
        pytest.skip("needs ACEBET_TEST_DATA (the real ATP history)")
    return shared_data


@pytest.fixture(scope="session")
def atp_source(shared_data: Path | None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Sackmann-layout folder: the real one when available, else a synthetic one."""
    if shared_data is not None:
        return shared_data / "tennis_atp"
    return write_sackmann_folder(tmp_path_factory.mktemp("tennis_atp"))


@pytest.fixture(scope="session")
def synthetic_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sackmann_folder(tmp_path_factory.mktemp("synthetic_atp"))


@pytest.fixture(scope="session")
def ingested_db(atp_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the whole `atp_source` ingested. Copy it before writing to it."""
    path = tmp_path_factory.mktemp("db") / "history.duckdb"
    con = store.connect(path)
    ingest.ingest(con, str(atp_source))
    con.close()
    return path


@pytest.fixture(scope="session")
def trained_synthetic_db(synthetic_source: Path, tmp_path_factory: pytest.TempPathFactory
                         ) -> Path:
    """The synthetic history with one trained model (version 1). Copy it before writing."""
    from click.testing import CliRunner

    from acebet.cli import main

    path = tmp_path_factory.mktemp("trained") / "trained.duckdb"
    result = CliRunner().invoke(main, ["--db", str(path), "ingest", str(synthetic_source)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["--db", str(path), "train"])
    assert result.exit_code == 0, result.output
    assert "model version 1 trained" in result.output and "log loss" in result.output
    assert "no blend: no odds stored" in result.output and "youth shift" in result.output
    return path


@pytest.fixture
def history_db(ingested_db: Path, tmp_path: Path) -> Path:
    """A private, writable copy of `ingested_db`."""
    path = tmp_path / "acebet.duckdb"
    shutil.copy(ingested_db, path)
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Downloads in tests never touch the user's cache."""
    monkeypatch.setenv("ACEBET_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session", autouse=True)
def _no_history_age_limit() -> Iterator[None]:
    """Most tests score 2023 fixtures on a history that ends in 2022, months earlier, so
    `score` would stop at its default --max-history-age; they opt out the way an
    operator would. Tests of the limit remove the variable (tests/test_history_age.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACEBET_MAX_HISTORY_AGE", "0")
        yield
