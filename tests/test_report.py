"""`acebet report`: a self-contained page whose screenshot shows the plots."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from acebet.cli import main
from tests.conftest import require

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def cli(db: Path, *args: str):  # noqa: ANN201
    result = CliRunner().invoke(main, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def report_html(synthetic_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    db = root / "acebet.duckdb"
    cli(db, "ingest", str(synthetic_source))
    cli(db, "backtest", "--from", "2022-01-01", "--to", "2022-06-30", "--retrain", "quarterly")
    cli(db, "train")
    fixtures = root / "f.csv"
    fixtures.write_text("tourney_date,surface,tourney_level,round,best_of,p1_id,p2_id\n"
                        "2023-01-09,Hard,A,R32,3,200000,200001\n")
    cli(db, "fixtures", "load", str(fixtures))
    cli(db, "score")
    result = cli(db, "report", "--out", str(root / "out"))
    assert "report written to" in result.output
    return root / "out" / "report.html"


def test_the_report_is_one_self_contained_page(report_html: Path) -> None:
    page = report_html.read_text()
    assert page.count('<img alt="') >= 2
    assert 'src="data:image/png;base64,' in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch
    for text in ("Latest scoring runs", "succeeded", "Backtest 2022-01-01", "AceBet", "Elo",
                 "Ranking", "log_loss"):
        assert text in page


def test_report_without_data_explains_what_to_run(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    cli(db, "db", "migrate")
    cli(db, "report", "--out", str(tmp_path / "out"))
    page = (tmp_path / "out" / "report.html").read_text()
    assert "acebet backtest" in page and "acebet score" in page


# Headless Chromium by any of its usual names (GitHub's runners ship Google Chrome).
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def test_report_screenshot_shows_the_plots(report_html: Path, tmp_path: Path) -> None:
    chromium = next(filter(None, map(shutil.which, BROWSERS)), None)
    require(chromium is not None, "needs chromium (apt-get install chromium)")
    shot = tmp_path / "report.png"
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1100,1800", f"--screenshot={shot}", report_html.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert shot.exists(), proc.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    ink = (pixels.mean(axis=2) < 0.9).mean()         # share of non-white pixels
    colour = (pixels.max(axis=2) - pixels.min(axis=2) > 0.25).mean()  # plot lines
    assert ink > 0.03, f"the screenshot is nearly blank ({ink:.3f})"
    assert colour > 0.002, f"no coloured plot lines in the screenshot ({colour:.4f})"
    keep = os.environ.get("ACEBET_REPORT_PNG")
    if keep:
        shutil.copy(shot, keep)
