"""Analysts' views and exports: a scenario whose numbers are worked out by hand."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from acebet.cli import main
from tests.synthetic import MATCH_HEADER, write_sackmann_folder

QUERIES = sorted((Path(__file__).resolve().parents[1] / "sql" / "queries").glob("*.sql"))


def cli(db: Path, *args: str):  # noqa: ANN201
    result = CliRunner().invoke(main, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Four fixtures scored, then their week's results ingested: a win for p1, a win
    for p2, a walkover, and one match not played yet."""
    root = tmp_path_factory.mktemp("analysts")
    folder = write_sackmann_folder(root / "atp", seasons=range(2019, 2022))
    db = root / "acebet.duckdb"
    cli(db, "ingest", str(folder))
    cli(db, "train")
    con = duckdb.connect(str(db), read_only=True)
    ids = [r[0] for r in con.execute(
        "SELECT player_id FROM players ORDER BY player_id LIMIT 8").fetchall()]
    con.close()
    pairs = [(ids[0], ids[1]), (ids[2], ids[3]), (ids[4], ids[5]), (ids[6], ids[7])]
    fixtures = root / "fixtures.csv"
    with fixtures.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tourney_date", "tourney_name", "surface", "tourney_level", "round",
                         "best_of", "p1_id", "p2_id", "p1_odds", "p2_odds"])
        for i, (a, b) in enumerate(pairs):
            odds = ("1.80", "2.10") if i == 0 else ("", "")
            writer.writerow(["2022-01-10", "Scenario Open", "Hard", "A", "R32", 3, a, b, *odds])
    cli(db, "fixtures", "load", str(fixtures))
    cli(db, "score")
    # the results: p1 wins, p2 wins, a walkover, and the fourth not played yet
    results = [(pairs[0][0], pairs[0][1], "6-3 6-4"), (pairs[1][1], pairs[1][0], "7-6(4) 6-2"),
               (pairs[2][0], pairs[2][1], "W/O")]
    with (folder / "atp_matches_2022.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MATCH_HEADER)
        writer.writeheader()
        for num, (w, loser, score) in enumerate(results, start=1):
            row = dict.fromkeys(MATCH_HEADER, "")
            row.update(tourney_id="2022-9001", tourney_name="Scenario Open", surface="Hard",
                       draw_size=32, tourney_level="A", tourney_date="20220110",
                       match_num=num, winner_id=w, loser_id=loser, score=score, best_of=3,
                       round="R32")
            writer.writerow(row)
    cli(db, "ingest", str(folder), "--years", "2022", "--levels", "tour")
    con = duckdb.connect(str(db), read_only=True)
    probs = dict(con.execute("SELECT p1_id, p1_win_prob FROM predictions").fetchall())
    con.close()
    return {"db": db, "pairs": pairs, "probs": probs, "root": root}


def test_prediction_outcomes_settle_each_fixture(scenario: dict) -> None:
    con = duckdb.connect(str(scenario["db"]), read_only=True)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT p1_id, result, settled, p1_won, correct, log_loss, brier "
        "FROM prediction_outcomes").fetchall()}
    con.close()
    (a0, _), (a1, _), (a2, _), (a3, _) = scenario["pairs"]
    p0, p1 = scenario["probs"][a0], scenario["probs"][a1]
    assert rows[a0][:3] == ("p1", True, True)
    assert rows[a0][3] == (p0 >= 0.5)
    assert rows[a0][4] == pytest.approx(-math.log(p0))
    assert rows[a0][5] == pytest.approx((p0 - 1) ** 2)
    assert rows[a1][:3] == ("p2", True, False)
    assert rows[a1][3] == (p1 < 0.5)
    assert rows[a1][4] == pytest.approx(-math.log(1 - p1))
    assert rows[a1][5] == pytest.approx(p1 ** 2)
    assert rows[a2][:2] == ("void", False) and rows[a2][4] is None
    assert rows[a3][:2] == ("pending", False) and rows[a3][4] is None


def test_model_performance_matches_the_hand_computed_numbers(scenario: dict) -> None:
    (a0, b0), (a1, b1), *_ = scenario["pairs"]
    p0, p1 = scenario["probs"][a0], scenario["probs"][a1]
    # seen from the lower id: outcome 1 when the lower id won
    canon = [(p0 if a0 < b0 else 1 - p0, 1.0 if a0 < b0 else 0.0),
             (p1 if a1 < b1 else 1 - p1, 0.0 if a1 < b1 else 1.0)]
    bins: dict[int, list[tuple[float, float]]] = {}
    for p, y in canon:
        bins.setdefault(min(int(p * 10), 9), []).append((p, y))
    ece = sum(len(v) * abs(sum(p for p, _ in v) / len(v) - sum(y for _, y in v) / len(v))
              for v in bins.values()) / 2
    expected = {
        "n": 2,
        "accuracy": ((p0 >= 0.5) + (p1 < 0.5)) / 2,
        "log_loss": (-math.log(p0) - math.log(1 - p1)) / 2,
        "brier": ((p0 - 1) ** 2 + p1 ** 2) / 2,
        "calibration_error": ece,
    }
    con = duckdb.connect(str(scenario["db"]), read_only=True)
    got = con.execute(
        "SELECT n, accuracy, log_loss, brier, calibration_error FROM model_performance "
        "WHERE dimension = 'all'").fetchall()
    by = con.execute("SELECT dimension, value, n FROM model_performance "
                     "WHERE dimension <> 'all' ORDER BY ALL").fetchall()
    con.close()
    assert len(got) == 1
    for key, value in zip(expected, got[0], strict=True):
        assert value == pytest.approx(expected[key]), key
    assert by == [("level", "A", 2), ("month", "2022-01", 2), ("surface", "Hard", 2)]


def test_latest_predictions_and_run_history(scenario: dict) -> None:
    con = duckdb.connect(str(scenario["db"]), read_only=True)
    latest = con.execute("SELECT favourite, favourite_prob, p1_market_prob FROM "
                         "latest_predictions ORDER BY p1_id").fetchall()
    runs = con.execute("SELECT status, predictions_written FROM run_history").fetchall()
    con.close()
    assert len(latest) == 4 and all(0.5 <= fp <= 1 for _, fp, _ in latest)
    assert latest[0][2] == pytest.approx((1 / 1.8) / (1 / 1.8 + 1 / 2.1))
    assert runs == [("succeeded", 4)]


# What each example query must return on the scenario: two settled predictions (the
# first pair's p1 won, the second pair's p2 won), one void, one pending, one run, and
# odds on the first fixture only.
def _upsets_expected(con: duckdb.DuckDBPyConnection) -> int:
    p, market = con.execute("SELECT p1_win_prob, p1_market_prob FROM latest_predictions "
                            "WHERE p1_market_prob IS NOT NULL").fetchall()[0]
    return int((p - 0.5) * (market - 0.5) < 0)


QUERY_CHECKS = {
    "biggest_upsets_this_week.sql": lambda rows, con: len(rows) == _upsets_expected(con),
    "calibration_by_bucket.sql": lambda rows, con: sum(r[2] for r in rows) == 2,
    "model_versions_compared.sql": lambda rows, con: ("all", 2) in {(r[1], r[3]) for r in rows},
    "player_record.sql": lambda rows, con: rows[0][:2] == (1, 1),
    "runs_last_30_days.sql": lambda rows, con: [(r[0], r[5]) for r in rows]
    == [("succeeded", 4)],
}


@pytest.mark.parametrize("query", QUERIES, ids=lambda p: p.name)
def test_every_example_query_answers_its_question(scenario: dict, query: Path) -> None:
    con = duckdb.connect(str(scenario["db"]), read_only=True)
    winner = scenario["pairs"][0][0]  # won the one settled match they played
    con.execute("SET VARIABLE player = (SELECT name FROM players WHERE player_id = ?)",
                [winner])
    con.execute("SET VARIABLE week_start = DATE '2022-01-01'")
    rows = con.execute(query.read_text()).fetchall()
    try:
        assert QUERY_CHECKS[query.name](rows, con), rows
    finally:
        con.close()


def test_example_queries_are_documented() -> None:
    assert len(QUERIES) >= 3
    for query in QUERIES:
        assert query.read_text().startswith("--"), query.name


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_outcomes_with_filters(scenario: dict, fmt: str) -> None:
    out = scenario["root"] / f"outcomes.{fmt}"
    result = cli(scenario["db"], "export", "outcomes", "--format", fmt, "--out", str(out),
                 "--from", "2022-01-01", "--model", "1")
    assert "4 rows of outcomes" in result.output
    frame = pl.read_csv(out) if fmt == "csv" else pl.read_parquet(out)
    assert frame.height == 4 and {"settled", "log_loss", "p1_win_prob"} <= set(frame.columns)
    none = cli(scenario["db"], "export", "predictions", "--out", str(out), "--to", "2021-12-31")
    assert "0 rows" in none.output


def test_runs_list_is_a_readable_table(scenario: dict) -> None:
    result = cli(scenario["db"], "runs", "list")
    assert "succeeded" in result.output and "predictions_written" in result.output


# Each view's columns as released. Analysts' exports and notebooks may read columns by
# position: a release may add columns at the end of a view, never move or drop one.
RELEASED_VIEW_COLUMNS = {
    "latest_predictions": [
        "fixture_id", "tourney_date", "tourney_name", "tourney_level", "surface", "round",
        "best_of", "p1_id", "p1_name", "p2_id", "p2_name", "p1_win_prob", "p2_win_prob",
        "predicted_winner_id", "favourite", "favourite_prob", "p1_market_prob", "edge",
        "cold_start", "model_version", "run_id", "scored_at", "as_of", "history_age_days",
        "p1_blend_prob"],
    "prediction_outcomes": [
        "fixture_id", "model_version", "run_id", "scored_at", "tourney_date", "tourney_name",
        "tourney_level", "surface", "round", "p1_id", "p1_name", "p2_id", "p2_name",
        "p1_win_prob", "predicted_winner_id", "p1_market_prob", "edge", "cold_start",
        "match_tourney_id", "match_num", "match_date", "winner_id", "score", "settled",
        "result_known", "result", "p1_won", "correct", "log_loss", "brier", "p1_blend_prob",
        "blend_log_loss"],
    "model_performance": [
        "model_version", "dimension", "value", "n", "accuracy", "log_loss", "brier",
        "calibration_error"],
    "run_history": [
        "run_id", "status", "started_at", "finished_at", "seconds", "model_version", "as_of",
        "fixtures_seen", "predictions_written", "archived", "cold_start", "error",
        "history_age_days"],
}


def test_views_only_add_columns_at_the_end() -> None:
    from acebet import store

    con = duckdb.connect()
    store.migrate(con)
    views = [v for (v,) in con.execute("SELECT view_name FROM duckdb_views() "
                                       "WHERE NOT internal ORDER BY 1").fetchall()]
    assert views == sorted(RELEASED_VIEW_COLUMNS)
    for view, released in RELEASED_VIEW_COLUMNS.items():
        columns = [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()]
        assert columns[:len(released)] == released, view
    con.close()


# sql/views.sql as released, by its version: editing the file means raising the version,
# or databases that already have this version would never get the edit.
RELEASED_VIEWS = {1: "e1b985f8f7f47b2199b32a73b680acd76afef52b9fb20b40ed2432c5eaa78ba8"}


def test_a_changed_views_file_carries_a_new_version() -> None:
    from acebet import store

    version, checksum = store._views_identity(store.views_sql())
    assert version not in RELEASED_VIEWS or RELEASED_VIEWS[version] == checksum, (
        "sql/views.sql changed: raise its '-- views version' and record it here")
    assert version >= max(RELEASED_VIEWS)


def _run_history_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("DESCRIBE run_history").fetchall()]


def _with_views(monkeypatch: pytest.MonkeyPatch, version: int, run_history: str) -> None:
    """Make this AceBet's views.sql version `version`, with `run_history` redefined."""
    from acebet import store

    text = store.VIEWS_VERSION.sub(f"-- views version: {version}", store.views_sql())
    edited = text + f"\nCREATE OR REPLACE VIEW run_history AS {run_history};\n"
    monkeypatch.setattr(store, "views_sql", lambda: edited)


def test_views_reach_old_databases_and_never_go_back_to_an_older_release(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database from before views.sql (views from the migrations, no schema_views) gets
    them; a newer release's views reach it; an older release sharing the file leaves the
    newer views in place instead of flipping them back."""
    from acebet import store

    db = tmp_path / "v.duckdb"
    store.connect(db).close()
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE schema_views")
        con.execute("CREATE OR REPLACE VIEW run_history AS SELECT 1 AS stale")
    store.ensure_migrated(db)
    with duckdb.connect(str(db), read_only=True) as con:
        assert "history_age_days" in _run_history_columns(con)
        assert store.views_state(con) == "current"

    with monkeypatch.context() as newer:
        _with_views(newer, 99, "SELECT 2 AS edited")
        store.ensure_migrated(db)
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute("SELECT * FROM run_history").fetchall() == [(2,)]
    store.connect(db).close()  # this (older) release writes to the file
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT * FROM run_history").fetchall() == [(2,)]
        assert store.views_state(con) == "newer"


def test_a_reader_of_a_file_with_older_views_sees_this_releases_views(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before any writer upgrades the file, `runs list`, `report` and `export` read
    through this release's views (temporary, the file untouched), not a binder error."""
    from acebet import store

    db = tmp_path / "v.duckdb"
    store.connect(db).close()
    with duckdb.connect(str(db)) as con:  # as an older release left them
        con.execute("CREATE OR REPLACE VIEW run_history AS SELECT 1 AS stale")
        con.execute("UPDATE schema_views SET version = 0")
    result = CliRunner().invoke(main, ["--db", str(db), "runs", "list", "--format", "json"])
    assert result.exit_code == 0 and result.output.strip() == "[]", result.output
    with duckdb.connect(str(db), read_only=True) as con:  # the file is as it was
        assert _run_history_columns(con) == ["stale"]


def test_a_views_record_without_a_version_is_upgraded(tmp_path: Path) -> None:
    """An early build recorded only the checksum of the views it applied."""
    from acebet import store

    db = tmp_path / "v.duckdb"
    store.connect(db).close()
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE OR REPLACE TABLE schema_views (checksum VARCHAR NOT NULL, "
                    "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        con.execute("INSERT INTO schema_views (checksum) VALUES ('early')")
    result = CliRunner().invoke(main, ["--db", str(db), "runs", "list", "--format", "json"])
    assert result.exit_code == 0 and result.output.strip() == "[]", result.output
    store.connect(db).close()
    with duckdb.connect(str(db), read_only=True) as con:
        assert store.views_state(con) == "current"
