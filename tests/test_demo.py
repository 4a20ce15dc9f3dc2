"""`acebet demo` shows the whole product: the replayed last weeks of the history settle at
once, so the analyst views, the example queries and the report's plots have rows, and no
replayed prediction could have known its result."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from acebet import demo
from acebet.cli import main

QUERIES = Path(__file__).resolve().parents[1] / "sql" / "queries"
PLOTS = ("probabilities and edges of the latest run", "reliability diagram, live",
         "log loss and accuracy by month, live")


def _demo(db: Path, source: Path, *options: str) -> None:
    result = CliRunner().invoke(main, ["--db", str(db), "demo", *options],
                                env={"ACEBET_SOURCE": str(source)})
    assert result.exit_code == 0, result.output
    assert "3/5 replay the last" in result.stderr


def _report(db: Path, out: Path) -> str:
    result = CliRunner().invoke(main, ["--db", str(db), "report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return (out / "report.html").read_text()


def _check_the_product_after_demo(db: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        settled = con.execute("SELECT count(*) FROM prediction_outcomes WHERE settled "
                              "AND result IN ('p1', 'p2')").fetchall()[0][0]
        assert settled > 0
        # point in time: every replayed fixture was scored as of a day before it, by a
        # model trained on matches before the first replayed week
        leaks = con.execute(
            "SELECT count(*) FROM predictions p JOIN fixtures f USING (fixture_id) "
            "WHERE f.source_file LIKE 'demo-replay-%' AND p.as_of >= p.tourney_date").fetchall()
        assert leaks[0][0] == 0
        first_replayed, trained_to = con.execute(
            "SELECT (SELECT min(tourney_date) FROM fixtures WHERE source_file "
            "LIKE 'demo-replay-%'), (SELECT max(train_to) FROM models)").fetchall()[0]
        assert trained_to <= first_replayed
        assert con.execute("SELECT count(*) FROM model_performance WHERE dimension = 'all' "
                           "AND n > 0").fetchall()[0][0] >= 1
        player = con.execute("SELECT p1_name FROM prediction_outcomes WHERE settled "
                             "LIMIT 1").fetchall()[0][0]
        con.execute("SET VARIABLE player = ?", [player])
        for name in ("calibration_by_bucket", "model_versions_compared", "player_record",
                     "runs_last_30_days"):
            rows = con.execute((QUERIES / f"{name}.sql").read_text()).fetchall()
            assert rows, f"{name}.sql returned nothing after demo"
    finally:
        con.close()
    page = _report(db, tmp_path / "report")
    alts = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', page)
    assert set(PLOTS) <= set(alts)


@pytest.fixture(scope="module")
def demo_db(synthetic_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "acebet.duckdb"
    _demo(db, synthetic_source)
    return db


def test_demo_settles_the_replayed_weeks_and_the_report_has_plots(
    demo_db: Path, tmp_path: Path
) -> None:
    _check_the_product_after_demo(demo_db, tmp_path)


def test_replayed_weeks_are_the_last_tour_level_event_weeks(demo_db: Path) -> None:
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        weeks = demo.replay_weeks(con)
        loaded = [r[0] for r in con.execute(
            "SELECT DISTINCT tourney_date FROM fixtures WHERE source_file LIKE 'demo-replay-%' "
            "ORDER BY 1").fetchall()]
        last_tour = con.execute("SELECT max(tourney_date) FROM matches WHERE tourney_level "
                                "IN ('G', 'M', 'A', 'F')").fetchall()[0][0]
    finally:
        con.close()
    assert len(weeks) == demo.REPLAY_WEEKS and weeks == loaded and weeks[-1] == last_tour


def test_replayed_weeks_hold_every_main_draw_match_quarterfinals_too(demo_db: Path) -> None:
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        replayed = con.execute(
            "SELECT round, count(*) FROM fixtures WHERE source_file LIKE 'demo-replay-%' "
            "GROUP BY round").fetchall()
        played = con.execute(
            "SELECT round, count(*) FROM matches WHERE tourney_level IN ('G', 'M', 'A', 'F') "
            "AND tourney_date IN (SELECT DISTINCT tourney_date FROM fixtures "
            "WHERE source_file LIKE 'demo-replay-%') GROUP BY round").fetchall()
    finally:
        con.close()
    assert dict(replayed) == dict(played) and "QF" in dict(replayed)


def test_a_second_demo_adds_no_prediction(demo_db: Path, synthetic_source: Path) -> None:
    def count() -> int:
        con = duckdb.connect(str(demo_db), read_only=True)
        try:
            return con.execute("SELECT count(*) FROM predictions").fetchall()[0][0]
        finally:
            con.close()

    before = count()
    _demo(demo_db, synthetic_source)
    assert count() == before


def test_report_has_plots_whenever_there_are_predictions(demo_db: Path, tmp_path: Path) -> None:
    """Fixtures scored, results not in yet, no backtest: the latest run is still plotted."""
    db = tmp_path / "unsettled.duckdb"
    shutil.copy(demo_db, db)
    con = duckdb.connect(str(db))
    try:
        con.execute("DELETE FROM matches WHERE tourney_date >= (SELECT min(tourney_date) "
                    "FROM fixtures WHERE source_file LIKE 'demo-replay-%')")
        assert con.execute("SELECT count(*) FROM prediction_outcomes WHERE settled"
                           ).fetchall()[0][0] == 0
        assert con.execute("SELECT count(*) FROM backtests").fetchall()[0][0] == 0
    finally:
        con.close()
    page = _report(db, tmp_path / "out")
    assert f'<img alt="{PLOTS[0]}"' in page
    assert "No settled predictions yet" in page


@pytest.mark.slow
def test_demo_on_the_real_history_settles_predictions_and_plots_them(
    real_data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "acebet.duckdb"
    _demo(db, real_data / "tennis_atp", "--odds", str(real_data / "tennis_data_odds"))
    _check_the_product_after_demo(db, tmp_path)
    # the real closing odds: most replayed matches have them (120 of 135), and the model was
    # trained with blend weights, so those predictions carry the market-aware forecast
    replayed, priced, blended, upsets = _replayed_with_market(db)
    assert priced >= 0.85 * replayed and blended == priced and upsets > 0


@pytest.mark.parametrize("older_demo", [False, True])
def test_later_runs_never_score_the_replayed_weeks(demo_db: Path, tmp_path: Path,
                                                   older_demo: bool) -> None:
    """A model trained after the demo has seen the replayed weeks' results: scoring them
    with it would be in sample, so only the demo's own replay ever scores them (also in a
    database an earlier demo made, whose replay files were named `replay_<day>.csv`)."""
    db = tmp_path / "later.duckdb"
    shutil.copy(demo_db, db)
    if older_demo:
        con = duckdb.connect(str(db))
        con.execute("UPDATE fixtures SET source_file = replace(source_file, 'demo-replay-', "
                    "'replay_') WHERE source_file LIKE 'demo-replay-%'")
        con.close()
    runner = CliRunner()
    assert runner.invoke(main, ["--db", str(db), "--publish", "none", "train"]).exit_code == 0
    result = runner.invoke(main, ["--db", str(db), "--publish", "none", "score"])
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    replayed, by_new_model = con.execute(
        "SELECT (SELECT count(*) FROM fixtures WHERE source_file LIKE '%replay%'), "
        "(SELECT count(*) FROM predictions p JOIN fixtures f USING (fixture_id) "
        " WHERE f.source_file LIKE '%replay%' AND p.model_version = 2)").fetchall()[0]
    con.close()
    assert replayed > 0 and by_new_model == 0


def _replayed_with_market(db: Path) -> tuple[int, int, int, int]:
    """(replayed predictions, with a market probability equal to the fixture odds' vig-free
    one, with a blend, rows of the upsets query for the replayed weeks)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        replayed, priced, blended, first_week = con.execute(
            "SELECT count(*), count(l.p1_market_prob) FILTER (WHERE abs(l.p1_market_prob - "
            "(1 / f.p1_odds) / (1 / f.p1_odds + 1 / f.p2_odds)) < 1e-9), "
            "count(l.p1_blend_prob), min(f.tourney_date) "
            "FROM latest_predictions l JOIN fixtures f USING (fixture_id) "
            "WHERE f.source_file LIKE 'demo-replay-%'").fetchall()[0]
        con.execute("SET VARIABLE week_start = ?", [first_week])
        upsets = con.execute((QUERIES / "biggest_upsets_this_week.sql").read_text()).fetchall()
    finally:
        con.close()
    return replayed, priced, blended, len(upsets)


def test_demo_with_odds_gives_the_replayed_weeks_their_market_and_the_upsets_rows(
    synthetic_source: Path, tmp_path: Path
) -> None:
    from tests.synthetic import write_odds_folder

    odds = write_odds_folder(synthetic_source, tmp_path / "odds", range(2019, 2023))
    db = tmp_path / "acebet.duckdb"
    _demo(db, synthetic_source, "--odds", str(odds))
    replayed, priced, _, upsets = _replayed_with_market(db)
    assert replayed > 0 and priced == replayed
    assert upsets > 0, "the upsets query returned nothing after demo --odds"


def test_demo_refuses_an_odds_folder_without_the_years_it_needs_before_training(
    synthetic_source: Path, tmp_path: Path
) -> None:
    from tests.synthetic import write_odds_folder

    odds = write_odds_folder(synthetic_source, tmp_path / "odds", range(2019, 2022))
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "a.duckdb"), "demo", "--odds",
                                       str(odds)], env={"ACEBET_SOURCE": str(synthetic_source)})
    assert result.exit_code == 2, result.output
    assert "no odds file for 2022 (needs 2022.csv)" in result.output
    assert "2/5 train" not in result.stderr  # refused before the long step


def test_a_replayed_week_without_main_draw_matches_gets_no_odds(demo_db: Path,
                                                                tmp_path: Path) -> None:
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        frame = demo.replay_fixtures(con, [dt.date(1990, 1, 1)], tmp_path)
    finally:
        con.close()
    assert frame.height == 0 and {"p1_odds", "p2_odds"} <= set(frame.columns)


def test_demo_with_a_missing_odds_folder_is_one_line_before_any_work(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    result = CliRunner().invoke(main, ["--db", str(db), "demo", "--odds",
                                       str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no such folder" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not db.exists()
