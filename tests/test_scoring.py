"""The scheduled job: fixtures in, predictions out — atomic, idempotent, observable."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from acebet import scoring, store
from acebet.cli import main
from acebet.db import runs as runs_db
from tests.conftest import copy_db
from tests.jobdb import query
from tests.processes import acebet, pause_at, wait_for_pause

HEADER = ["tourney_date", "tourney_name", "surface", "tourney_level", "round", "best_of",
          "p1_id", "p2_id", "p1_name", "p2_name", "p1_odds", "p2_odds"]


@pytest.fixture
def db(trained_synthetic_db: Path, tmp_path: Path) -> Path:
    return copy_db(trained_synthetic_db, tmp_path)


def players(db: Path, n: int = 8) -> list[tuple[int, str, str]]:
    """(id, full name, `Last F.` name) of players with history."""
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT player_id, name_first, name_last FROM players ORDER BY player_id LIMIT ?", [n]
    ).fetchall()
    con.close()
    return [(pid, f"{first} {last}", f"{last} {first[0]}.") for pid, first, last in rows]


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in HEADER})
    return path


def fixture(a: object, b: object, *, by: str = "id", **extra: object) -> dict[str, object]:
    row = {"tourney_date": "2023-01-09", "tourney_name": "Test Open", "surface": "Hard",
           "tourney_level": "A", "round": "R32", "best_of": 3}
    row.update({f"p1_{by}": a, f"p2_{by}": b}, **extra)
    return row


def cli(db: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(main, ["--db", str(db), *args])


def predictions(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        "SELECT fixture_id, model_version, p1_id, p2_id, p1_win_prob, cold_start "
        "FROM predictions ORDER BY fixture_id").fetchall()
    con.close()
    return rows


def test_ids_and_last_f_names_score_identically_and_swaps_give_one_minus_p(
    db: Path, tmp_path: Path
) -> None:
    (a, a_full, a_short), (b, b_full, b_short), *_ = players(db)
    by_id = write(tmp_path / "ids.csv", [fixture(a, b, tourney_name="By id")])
    by_name = write(tmp_path / "names.csv", [fixture(a_short, b_full, by="name",
                                                     tourney_name="By name")])
    swapped = write(tmp_path / "swap.csv", [fixture(b, a, tourney_name="Swapped")])
    for file in (by_id, by_name, swapped):
        result = cli(db, "fixtures", "load", str(file))
        assert result.exit_code == 0, result.output
    result = cli(db, "score")
    assert result.exit_code == 0, result.output
    assert "3 predictions written" in result.output
    rows = predictions(db)
    assert len(rows) == 3
    p_ab = [r[4] for r in rows if r[2] == a]
    p_ba = [r[4] for r in rows if r[2] == b]
    assert p_ab[0] == p_ab[1]  # ids and names: the same players, the same number
    assert p_ba[0] == 1.0 - p_ab[0] and p_ab[0] == 1.0 - p_ba[0]


def test_running_score_twice_writes_nothing_new(db: Path, tmp_path: Path) -> None:
    ids = [p[0] for p in players(db)]
    write(tmp_path / "f.csv", [fixture(ids[0], ids[1]), fixture(ids[2], ids[3])])
    assert cli(db, "fixtures", "load", str(tmp_path / "f.csv")).exit_code == 0
    assert cli(db, "score").exit_code == 0
    first = predictions(db)
    again = cli(db, "score")
    assert again.exit_code == 0 and "0 predictions written" in again.output
    assert predictions(db) == first
    # re-loading the same file neither duplicates fixtures nor triggers a re-score
    assert "0 new, 0 updated, 2 unchanged" in cli(db, "fixtures", "load",
                                                  str(tmp_path / "f.csv")).output
    assert "0 predictions written" in cli(db, "score").output


def test_changed_fixture_is_updated_rescored_and_the_old_prediction_archived(
    db: Path, tmp_path: Path
) -> None:
    a, b = (p[0] for p in players(db)[:2])
    write(tmp_path / "f.csv", [fixture(a, b)])
    cli(db, "fixtures", "load", str(tmp_path / "f.csv"))
    cli(db, "score")
    write(tmp_path / "f.csv", [fixture(a, b, surface="Clay", tourney_date="2023-01-10")])
    assert "0 new, 1 updated" in cli(db, "fixtures", "load", str(tmp_path / "f.csv")).output
    result = cli(db, "score")
    assert "1 predictions written, 1 archived" in result.output
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM fixtures").fetchall()[0][0] == 1
    assert con.execute("SELECT surface FROM predictions").fetchall() == [("Clay",)]
    assert con.execute("SELECT surface, archive_reason FROM predictions_history").fetchall() == [
        ("Hard", "fixture details changed")]


def test_bad_rows_are_rejected_with_reasons_and_the_rest_are_scored(
    db: Path, tmp_path: Path
) -> None:
    ids = [p[0] for p in players(db)]
    rows = [
        fixture(ids[0], ids[1]),                                   # good
        fixture("Nobody Atall", "Novak A.", by="name"),            # unknown player
        fixture(ids[2], ids[2]),                                   # same player twice
        fixture(ids[3], ids[4], surface="Ice"),                    # bad surface
        fixture(ids[4], ids[5], tourney_date="2023-02-30"),        # bad date
        fixture(ids[5], ids[6], p1_odds="1.8"),                    # missing odds value
        fixture(ids[6], ids[7], p1_odds="1.5", p2_odds="2.6"),     # good, with odds
    ]
    path = write(tmp_path / "mixed.csv", rows)
    result = cli(db, "fixtures", "load", str(path))
    assert result.exit_code == 0
    assert "2 new" in result.output and "5 rejected" in result.output
    # the file line an editor shows: the header is line 1, the first data row line 2
    assert "warning: mixed.csv: line 3:" in result.output
    con = duckdb.connect(str(db), read_only=True)
    rejects = dict(con.execute(
        "SELECT row_number, reason FROM fixture_rejects ORDER BY row_number").fetchall())
    con.close()
    assert set(rejects) == {3, 4, 5, 6, 7}
    assert "'Nobody Atall' is not a known player" in rejects[3]
    assert "same player" in rejects[4]
    assert "surface Ice" in rejects[5]
    assert "tourney_date 2023-02-30 is not a date" in rejects[6]
    assert "p2_odds is missing" in rejects[7]
    assert "2 predictions written" in cli(db, "score").output
    con = duckdb.connect(str(db), read_only=True)
    market = con.execute("SELECT p1_market_prob, edge, p1_win_prob FROM predictions "
                         "WHERE p1_market_prob IS NOT NULL").fetchall()
    assert len(market) == 1
    con.close()
    (m, edge, p), = market
    assert m == pytest.approx((1 / 1.5) / (1 / 1.5 + 1 / 2.6))
    assert edge == pytest.approx(p - m)

    strict = write(tmp_path / "strict.csv", [fixture(ids[1], ids[2]), rows[2]])
    result = cli(db, "fixtures", "load", "--strict", str(strict))
    assert result.exit_code == 2 and "--strict" in result.output


def test_missing_required_column_is_exit_2_and_loads_nothing(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "nosurface.csv"
    path.write_text("tourney_date,tourney_level,round,best_of,p1_id,p2_id\n"
                    "2023-01-09,A,R32,3,200000,200001\n")
    result = cli(db, "fixtures", "load", str(path))
    assert result.exit_code == 2 and "surface" in result.output
    assert "Traceback" not in result.output
    assert store.table_counts(store.connect(db, read_only=True))["fixtures"] == 0


def test_parquet_fixtures_load(db: Path, tmp_path: Path) -> None:
    import polars as pl

    a, b = (p[0] for p in players(db)[:2])
    pl.DataFrame([fixture(a, b)]).write_parquet(tmp_path / "f.parquet")
    result = cli(db, "fixtures", "load", str(tmp_path / "f.parquet"))
    assert result.exit_code == 0 and "1 new" in result.output


def test_players_without_history_are_scored_from_priors_and_flagged(
    db: Path, tmp_path: Path
) -> None:
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO players (player_id, name, name_first, name_last) "
                "VALUES (999999, 'Newbie Player', 'Newbie', 'Player')")
    con.close()
    a = players(db)[0][0]
    write(tmp_path / "f.csv", [fixture(a, 999999)])
    cli(db, "fixtures", "load", str(tmp_path / "f.csv"))
    assert "1 cold start" in cli(db, "score").output
    assert predictions(db)[0][5] is True


def test_no_model_is_exit_3_and_the_failed_run_is_recorded(
    synthetic_source: Path, tmp_path: Path
) -> None:
    db = tmp_path / "nomodel.duckdb"
    cli(db, "ingest", str(synthetic_source), "--years", "2022")
    result = cli(db, "score")
    assert result.exit_code == 3 and "acebet train" in result.output
    con = duckdb.connect(str(db), read_only=True)
    runs = con.execute("SELECT status, error FROM score_runs").fetchall()
    con.close()
    assert len(runs) == 1 and runs[0][0] == "failed" and "acebet train" in runs[0][1]


def test_json_logs_carry_the_run_fields(db: Path, tmp_path: Path) -> None:
    a, b = (p[0] for p in players(db)[:2])
    write(tmp_path / "f.csv", [fixture(a, b)])
    cli(db, "fixtures", "load", str(tmp_path / "f.csv"))
    proc = subprocess.run(
        [sys.executable, "-m", "acebet", "--db", str(db), "--log-format", "json", "score"],
        capture_output=True, text=True, check=True)
    events = [json.loads(line) for line in proc.stderr.splitlines()]
    finished = [e for e in events if e["event"] == "run finished"][0]
    assert finished["predictions_written"] == 1 and finished["run_id"].startswith("run-")
    assert finished["model_version"] == 1 and "seconds" in finished


@pytest.mark.reliability  # fault injection: kills three processes (the long suite)
@pytest.mark.parametrize("point", ["score:computed", "score:in-transaction",
                                   "score:before-commit"])
def test_sigkill_in_the_middle_of_score_leaves_nothing_and_the_next_run_completes(
    db: Path, tmp_path: Path, point: str
) -> None:
    ids = [p[0] for p in players(db)]
    write(tmp_path / "f.csv", [fixture(ids[i], ids[i + 1]) for i in range(0, 6, 2)])
    cli(db, "fixtures", "load", str(tmp_path / "f.csv"))
    marker = tmp_path / "paused"
    proc = acebet(db, "score", env=pause_at(point, marker))
    wait_for_pause(marker, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    con = store.connect(db, read_only=True)
    assert store.table_counts(con)["predictions"] == 0
    assert store.table_counts(con)["score_runs"] == 0
    con.close()
    result = cli(db, "score")
    assert result.exit_code == 0 and "3 predictions written" in result.output


@pytest.mark.reliability  # three processes racing for the lock (the long suite)
def test_two_scores_at_once_one_writes_the_other_exits_75_or_writes_nothing(
    db: Path, tmp_path: Path
) -> None:
    ids = [p[0] for p in players(db)]
    write(tmp_path / "f.csv", [fixture(ids[i], ids[i + 1]) for i in range(0, 6, 2)])
    cli(db, "fixtures", "load", str(tmp_path / "f.csv"))
    marker = tmp_path / "paused"
    release = tmp_path / "release"
    first = acebet(db, "score", env=pause_at("score:in-transaction", marker,
                                             ACEBET_RELEASE_FILE=str(release)))
    wait_for_pause(marker, first)
    busy = acebet(db, "score")
    _, err = busy.communicate(timeout=60)
    assert busy.returncode == 75, err
    assert "another process holds the database" in err and "Traceback" not in err
    waiting = acebet(db, "--log-format", "json", "--lock-timeout", "60", "score")
    waited = waiting.stderr.readline()  # its first event: it has met the lock and waits
    assert "waiting for another process's lock" in waited, waited
    release.touch()
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 0 and "3 predictions written" in out
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert "0 predictions written" in out
    con = duckdb.connect(str(db), read_only=True)
    per_model = con.execute("SELECT fixture_id, model_version, count(*) FROM predictions "
                            "GROUP BY ALL HAVING count(*) > 1").fetchall()
    assert per_model == []
    assert con.execute("SELECT count(*) FROM predictions").fetchall()[0][0] == 3


def test_predict_prints_a_symmetric_matchup(db: Path) -> None:
    (a, a_full, _), (b, _, b_short), *_ = players(db)
    one = cli(db, "predict", a_full, b_short, "--surface", "Hard", "--date", "2023-01-09")
    two = cli(db, "predict", str(b), str(a), "--surface", "Hard", "--date", "2023-01-09")
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    first = one.output.splitlines()[1].split(": ")[1]
    second = two.output.splitlines()[2].split(": ")[1]
    assert first == second
    unknown = cli(db, "predict", "Nobody Atall", str(a), "--surface", "Hard")
    assert unknown.exit_code == 2 and "not a known player" in unknown.output


def test_demo_runs_end_to_end_and_a_second_run_adds_nothing(
    synthetic_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "demo.duckdb"
    monkeypatch.setenv("ACEBET_SOURCE", str(synthetic_source))
    con = store.connect(db)
    from acebet import ingest

    ingest.ingest(con, str(synthetic_source))
    con.close()
    (a, a_full, _), (b, _, b_short), *_ = players(db)
    fixtures = write(tmp_path / "demo.csv", [fixture(a_full, b_short, by="name")])
    first = cli(db, "demo", "--fixtures", str(fixtures))
    assert first.exit_code == 0, first.output
    assert "Test Open" in first.output and "p1 win %" in first.output
    counts = store.table_counts(store.connect(db, read_only=True))
    second = cli(db, "demo", "--fixtures", str(fixtures))
    assert second.exit_code == 0
    again = store.table_counts(store.connect(db, read_only=True))
    assert again["predictions"] == counts["predictions"]
    con = store.connect(db, read_only=True)
    ours = con.execute("SELECT count(*) FROM predictions WHERE fixture_id IN "
                       "(SELECT fixture_id FROM fixtures WHERE source_file = 'demo.csv')")
    assert ours.fetchall()[0][0] == 1
    con.close()
    assert again["models"] == 1 and again["matches"] == counts["matches"]


@pytest.mark.slow
def test_demo_on_the_real_history_with_the_shipped_fixtures(
    real_data: Path, history_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACEBET_SOURCE", str(real_data / "tennis_atp"))
    first = cli(history_db, "demo")
    assert first.exit_code == 0, first.output
    assert "Australian Open" in first.output and "Novak Djokovic" in first.output
    con = duckdb.connect(str(history_db), read_only=True)
    n = con.execute("SELECT count(*) FROM predictions").fetchall()[0][0]
    shipped = con.execute("SELECT count(*) FROM predictions WHERE fixture_id IN (SELECT "
                          "fixture_id FROM fixtures WHERE source_file = 'example_fixtures.csv')"
                          ).fetchall()[0][0]
    rejected = con.execute("SELECT count(*) FROM fixture_rejects").fetchall()[0][0]
    con.close()
    assert shipped == 12 and rejected == 0 and n > shipped  # plus the replayed weeks
    second = cli(history_db, "demo")
    assert second.exit_code == 0
    con = duckdb.connect(str(history_db), read_only=True)
    assert con.execute("SELECT count(*) FROM predictions").fetchall()[0][0] == n


def test_latest_lists_the_active_models_predictions(db: Path, tmp_path: Path) -> None:
    a, b = (p[0] for p in players(db)[:2])
    write(tmp_path / "f.csv", [fixture(a, b)])
    cli(db, "fixtures", "load", str(tmp_path / "f.csv"))
    cli(db, "score")
    con = store.connect(db, read_only=True)
    assert runs_db.latest_predictions(con).height == 1


# the serve ratings as adopted (with per-surface offsets), without the offsets, and off
SERVE_STEPS = [(0.03, 0.02), (0.05, 0.0), (0.0, 0.0)]


def test_the_snapshot_test_covers_the_adopted_serve_steps() -> None:
    from acebet.features import serve as FS

    assert SERVE_STEPS[0] == (FS.SERVE_K, FS.SERVE_SURFACE_K)


@pytest.mark.parametrize(("serve_k", "surface_k"), SERVE_STEPS)
def test_snapshot_features_equal_the_full_pass_bit_for_bit(
        db: Path, tmp_path: Path, serve_k: float, surface_k: float,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    import numpy as np
    import polars as pl
    from polars.testing import assert_frame_equal

    from acebet import features as F
    from acebet import model as M
    from acebet.features import market as FM
    from acebet.features import serve as FS

    adopted = (FS.SERVE_K, FS.SERVE_SURFACE_K) == (serve_k, surface_k)
    monkeypatch.setattr(FS, "SERVE_K", serve_k)
    monkeypatch.setattr(FS, "SERVE_SURFACE_K", surface_k)
    ids = [p[0] for p in players(db, 12)]
    con = store.connect(db, read_only=True)
    end = con.execute("SELECT max(tourney_date) FROM matches").fetchall()[0][0]
    fixtures = pl.DataFrame({
        "fixture_id": [f"f{i}" for i in range(6)],
        "tourney_date": [end + dt.timedelta(days=d) for d in (1, 2, 3, 10, 35, 400)],
        "tourney_id": None, "tourney_name": "Snap Open",
        "surface": ["Hard", "Clay", "Grass", "Hard", "Carpet", "Clay"],
        "tourney_level": ["A", "G", "M", "A", "A", "C"], "round": "R32",
        # the last fixture's second player has never played: every rating at its start
        "best_of": [3, 5, 3, 3, 3, 3], "p1_id": ids[:6], "p2_id": ids[6:11] + [9_999_999],
    }, schema_overrides={"tourney_id": pl.String})
    matches, people = F.load_matches(con), F.load_players(con)
    # closing odds for most matches, so the market-implied rating moves too, and serve
    # statistics (the synthetic history has none), so the serve ratings move
    rng = np.random.default_rng(3)
    matches = matches.with_columns(
        p1_svpt=pl.lit(80, pl.Int32), p2_svpt=pl.lit(80, pl.Int32),
        p1_sv_won=pl.Series(rng.integers(40, 65, matches.height), dtype=pl.Int32),
        p2_sv_won=pl.Series(rng.integers(35, 60, matches.height), dtype=pl.Int32))
    market = matches.select("tourney_id", "match_num").with_columns(
        market_prob=pl.Series(rng.uniform(0.2, 0.9, matches.height))).sample(
        fraction=0.7, seed=3)
    full = F.build(F.timeline(matches, scoring.fixture_rows(fixtures)), people,
                   market=market, market_k=FM.MARKET_K).filter(pl.col("is_fixture"))
    assert full["p1_mkt"].abs().sum() > 0 and full["p1_mkt_n"].min() > 0
    snap = F.Snapshot.from_history(matches, F.history_fingerprint(con), market=market)
    stored = F.Snapshot.from_parts(snap.fingerprint, snap.to_parts())
    fast = stored.build(scoring.fixture_rows(fixtures), people)
    assert snap.covers(fixtures["tourney_date"])
    # a fixture on the history's last day must not see that day's results: full pass
    assert not snap.covers(pl.Series([end]))
    assert_frame_equal(fast, full)
    serve = ["p1_srv", "p1_ret", "p2_srv", "p2_ret", "p1_ptm", "p2_ptm"]
    if serve_k:
        assert full["p1_srv"].abs().sum() > 0 and full["p1_ptm"].abs().sum() > 0
    else:
        assert not set(serve) & set(full.columns)
    assert_frame_equal(fast, full, check_exact=True)
    empty = stored.build(scoring.fixture_rows(fixtures.head(0)), people)
    assert empty.height == 0 and empty.columns == fast.columns
    offsets = stored.serve.select(pl.col("^(srv|ret)_surface_.*$")).to_numpy()
    assert (np.abs(offsets).sum() > 0) == bool(serve_k and surface_k)
    if adopted:  # the stored model was trained with these settings
        _, fitted = M.load(con)
        assert (fitted.predict_proba(fast) == fitted.predict_proba(full)).all()
    con.close()


def test_score_uses_a_stored_snapshot_and_rebuilds_it_when_history_changes(
    db: Path, tmp_path: Path, synthetic_source: Path
) -> None:
    ids = [p[0] for p in players(db)]

    def score_a_new_fixture(a: int, b: int) -> list[tuple]:
        """The snapshot fingerprints stored after scoring one more fixture."""
        path = write(tmp_path / f"{a}-{b}.csv", [fixture(a, b)])
        cli(db, "fixtures", "load", str(path))
        assert cli(db, "score").exit_code == 0
        return query(db, "SELECT DISTINCT fingerprint FROM feature_snapshots")

    first = score_a_new_fixture(ids[0], ids[1])
    assert len(first) == 1
    con = duckdb.connect(str(db))
    con.execute("UPDATE matches SET score = '6-0 6-0' WHERE match_num = 1")
    con.close()
    second = score_a_new_fixture(ids[2], ids[3])
    assert len(second) == 1 and second != first



def test_a_second_run_on_the_same_history_reads_the_stored_snapshot(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daily run's speed rests on this: with the history unchanged, scoring looks
    fixtures up in the stored snapshot and never replays the history to rebuild it."""
    from acebet import features

    ids = [p[0] for p in players(db)]

    def load_and_score(a: int, b: int) -> None:
        cli(db, "fixtures", "load", str(write(tmp_path / f"{a}-{b}.csv", [fixture(a, b)])))
        assert scoring.score(db).predictions_written == 1

    def replay(*args: object, **kwargs: object) -> None:
        raise AssertionError("the history was replayed to rebuild the snapshot")

    load_and_score(ids[0], ids[1])
    stored = query(db, "SELECT fingerprint, part, created_at FROM feature_snapshots")
    assert stored
    monkeypatch.setattr(features.Snapshot, "from_history", replay)
    load_and_score(ids[2], ids[3])
    assert query(db, "SELECT fingerprint, part, created_at FROM feature_snapshots") == stored


def test_a_snapshot_built_before_the_history_changed_never_replaces_the_stored_one(
    db: Path,
) -> None:
    """`train` builds its snapshot on a copy of the history; if an ingest and a score ran
    meanwhile, the score's newer snapshot stays."""
    from acebet import snapshots

    con = store.connect(db)
    try:
        con.execute("DELETE FROM feature_snapshots")
        older = snapshots.build_if_stale(con)
        con.execute("UPDATE matches SET score = '6-0 6-0' WHERE match_num = 1")
        newer = snapshots.build_if_stale(con)
        assert snapshots.store(con, newer)
        assert not snapshots.store(con, older)
        stored = con.execute("SELECT DISTINCT fingerprint FROM feature_snapshots").fetchall()
        assert older.fingerprint != newer.fingerprint
        assert stored == [(newer.fingerprint,)]
    finally:
        con.close()

def test_as_of_uses_only_history_up_to_that_date(db: Path, tmp_path: Path) -> None:
    import datetime as dt

    from acebet import features as F
    from acebet import model as M

    a, b = (p[0] for p in players(db)[:2])
    write(tmp_path / "f.csv", [fixture(a, b)])
    cli(db, "fixtures", "load", str(tmp_path / "f.csv"))
    assert cli(db, "score", "--as-of", "2021-06-30").exit_code == 0
    con = store.connect(db, read_only=True)
    stored, as_of = con.execute("SELECT p1_win_prob, as_of FROM predictions").fetchall()[0]
    fixtures = store.query_frame(con, "SELECT * FROM fixtures")
    cut = dt.date(2021, 6, 30)
    _, fitted = M.load(con)
    expected = scoring.predict_fixtures(fixtures, F.load_matches(con, until=cut),
                                        F.load_players(con), fitted)["p1_win_prob"][0]
    latest = scoring.predict_fixtures(fixtures, F.load_matches(con), F.load_players(con),
                                      fitted)["p1_win_prob"][0]
    con.close()
    assert as_of == cut and stored == expected and stored != latest


def test_a_rematch_in_the_same_week_is_a_different_fixture(db: Path, tmp_path: Path) -> None:
    a, b = (p[0] for p in players(db)[:2])
    write(tmp_path / "f.csv", [fixture(a, b, round="RR"), fixture(b, a, round="F")])
    result = cli(db, "fixtures", "load", str(tmp_path / "f.csv"))
    assert "2 new" in result.output and "0 rejected" in result.output


def test_user_errors_in_fixture_files_are_one_line_exit_2(db: Path, tmp_path: Path) -> None:
    dup = tmp_path / "dup.csv"
    dup.write_text("tourney_date,surface,tourney_level,round,best_of,p1_id,P1_ID,p2_id\n"
                   "2023-01-09,Hard,A,R32,3,1,1,2\n")
    own_row_number = tmp_path / "rn.csv"
    own_row_number.write_text("row_number,tourney_date,surface,tourney_level,round,best_of,"
                              "p1_id,p2_id\n7,2023-01-09,Hard,A,R32,3,200000,200001\n")
    for path, expected in ((dup, "appears more than once"), (own_row_number, "1 new")):
        result = cli(db, "fixtures", "load", str(path))
        assert expected in result.output, result.output
        assert "Traceback" not in result.output
    assert cli(db, "fixtures", "load", str(dup)).exit_code == 2


def test_parquet_dates_written_as_datetimes_are_accepted(db: Path, tmp_path: Path) -> None:
    import datetime as dt

    import polars as pl

    a, b = (p[0] for p in players(db)[:2])
    row = fixture(a, b)
    row["tourney_date"] = dt.datetime(2023, 1, 9)
    pl.DataFrame([row]).write_parquet(tmp_path / "f.parquet")
    result = cli(db, "fixtures", "load", str(tmp_path / "f.parquet"))
    assert "1 new" in result.output and "0 rejected" in result.output


def test_json_mode_warnings_are_json_too(db: Path, tmp_path: Path) -> None:
    a, b = (p[0] for p in players(db)[:2])
    path = write(tmp_path / "bad.csv", [fixture("Nobody Atall", "Somebody Else", by="name"),
                                        fixture(a, b)])
    proc = subprocess.run(
        [sys.executable, "-m", "acebet", "--db", str(db), "--log-format", "json",
         "fixtures", "load", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0
    events = [json.loads(line) for line in proc.stderr.splitlines()]
    assert any(e["level"] == "warning" and "not a known player" in e["event"] for e in events)


def test_a_model_version_not_stored_is_exit_3_in_one_line(db: Path) -> None:
    result = cli(db, "score", "--model", "7")
    assert result.exit_code == 3, result.output
    assert result.output.strip() == "Error: model version 7 is not in the database"
    # past what a version number can be: a usage error, not a database error
    result = cli(db, "score", "--model", "3000000000")
    assert result.exit_code == 2 and "is not in the range" in result.output
