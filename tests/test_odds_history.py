"""The odds history (`acebet odds load`) and the market-implied rating in production:
loaded once, paired with matches, read by train, score and the snapshot alike."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from acebet import model as M
from acebet import scoring, store
from acebet.cli import main
from acebet.errors import StoreError
from acebet.features import market as FM
from acebet.model.matrix import FEATURES, MARKET_INPUTS, SERVE_INPUTS
from tests.conftest import copy_db
from tests.jobdb import fixtures_file, player_ids, query
from tests.synthetic import write_odds_folder


def cli(db: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(main, ["--db", str(db), *args])


@pytest.fixture(scope="module")
def odds_folder(synthetic_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_odds_folder(synthetic_source, tmp_path_factory.mktemp("odds"),
                             range(2019, 2023))


@pytest.fixture(scope="module")
def market_db(trained_synthetic_db: Path, odds_folder: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model 1 trained without odds; then the odds loaded and model 2 trained on them."""
    path = copy_db(trained_synthetic_db, tmp_path_factory.mktemp("market"))
    assert cli(path, "odds", "load", str(odds_folder)).exit_code == 0
    result = cli(path, "train")
    assert result.exit_code == 0, result.output
    assert "blend weights model 0." in result.output and "priced matches" in result.output
    return path


def test_odds_load_pairs_every_match_once_and_a_second_load_replaces(
    trained_synthetic_db: Path, odds_folder: Path, tmp_path: Path
) -> None:
    db = copy_db(trained_synthetic_db, tmp_path)
    played = query(db, "SELECT count(*) FROM matches WHERE year(tourney_date) "
                       "BETWEEN 2019 AND 2022 AND tourney_level IN ('A', 'G', 'M', 'F')")[0][0]
    first = cli(db, "odds", "load", str(odds_folder))
    assert first.exit_code == 0, first.output
    stored = query(db, "SELECT count(*) FROM match_odds")[0][0]
    assert stored >= 0.99 * played and f"{stored:,} stored" in first.output
    assert cli(db, "odds", "load", str(odds_folder), "--year", "2022").exit_code == 0
    assert query(db, "SELECT count(*) FROM match_odds")[0][0] == stored
    # each row is a played match, with the winner's vig-free probability
    orphans, bad = query(db, "SELECT count(*) FILTER (m.tourney_id IS NULL), count(*) FILTER "
                             "(NOT o.pinnacle_prob BETWEEN 0.1 AND 0.9) FROM match_odds o "
                             "LEFT JOIN matches m USING (tourney_id, match_num)")[0]
    assert (orphans, bad) == (0, 0)


def test_odds_load_refuses_a_missing_folder_and_odds_outside_the_history(
    trained_synthetic_db: Path, synthetic_source: Path, tmp_path: Path
) -> None:
    db = copy_db(trained_synthetic_db, tmp_path)
    missing = cli(db, "odds", "load", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "no such folder" in missing.output
    assert "Traceback" not in missing.output
    later = tmp_path / "later"
    shutil.copytree(write_odds_folder(synthetic_source, tmp_path / "odds", range(2022, 2023)),
                    later)
    (later / "2022.csv").rename(later / "2030.csv")
    text = (later / "2030.csv").read_text().replace("/2022,", "/2030,")
    (later / "2030.csv").write_text(text)
    outside = cli(db, "odds", "load", str(later))
    assert outside.exit_code == 2, outside.output
    assert "the history has no matches" in outside.output
    assert query(db, "SELECT count(*) FROM match_odds")[0][0] == 0


def test_a_model_trained_after_odds_load_takes_the_market_rating_and_the_blend(
    market_db: Path
) -> None:
    con = store.connect(market_db, read_only=True)
    try:
        version, fitted = M.load(con)
        _, earlier = M.load(con, 1)
    finally:
        con.close()
    assert version == 2 and fitted.uses_market
    assert fitted.features == FEATURES + MARKET_INPUTS + SERVE_INPUTS
    assert fitted.metadata["market_k"] == FM.MARKET_K
    assert fitted.metadata["blend"] is not None  # fitted from the stored odds, no --odds
    status = cli(market_db, "db", "status")
    last = query(market_db, "SELECT max(tourney_date) FROM matches m JOIN match_odds o "
                            "USING (tourney_id, match_num)")[0][0]
    assert f"odds through: {last}" in status.output
    assert not earlier.uses_market and earlier.features == FEATURES + SERVE_INPUTS


def test_a_market_model_is_exactly_symmetric(market_db: Path) -> None:
    import numpy as np

    from acebet import features as F
    from acebet.model.matrix import swap_sides

    con = store.connect(market_db, read_only=True)
    try:
        _, fitted = M.load(con)
        feats = F.build(F.timeline(F.load_matches(con)), F.load_players(con),
                        market=F.load_market(con), market_k=FM.MARKET_K)
    finally:
        con.close()
    assert feats["p1_mkt_n"].max() > 0
    p_ab = fitted.predict_proba(feats)
    p_ba = fitted.predict_proba(swap_sides(feats))
    assert np.array_equal(p_ab, 1.0 - p_ba)


def test_a_market_model_scores_the_same_from_the_snapshot_and_the_full_pass(
    market_db: Path, tmp_path: Path
) -> None:
    db = copy_db(market_db, tmp_path)
    a, b, c, d = player_ids(db)[:4]
    assert cli(db, "fixtures", "load", str(fixtures_file(tmp_path / "f.csv",
                                                         [(a, b), (c, d)]))).exit_code == 0
    result = cli(db, "score")
    assert result.exit_code == 0, result.output
    stored = dict(query(db, "SELECT p1_id, p1_win_prob FROM predictions"))
    con = store.connect(db, read_only=True)
    try:
        for p1, p2 in ((a, b), (c, d)):
            one = scoring.predict_one(con, str(p1), str(p2), surface="Hard", level="A",
                                      round_="R32", best_of=3, date=dt.date(2023, 1, 9))
            assert one["p1_win_prob"] == pytest.approx(stored[p1], abs=1e-12)
    finally:
        con.close()
    # the earlier model, without the market rating, still scores
    again = cli(db, "score", "--model", "1")
    assert again.exit_code == 0, again.output
    assert query(db, "SELECT count(*) FROM predictions WHERE model_version = 1")[0][0] == 2


def test_loading_odds_makes_the_stored_snapshot_stale(market_db: Path, odds_folder: Path,
                                                      tmp_path: Path) -> None:
    from acebet import features as F

    db = copy_db(market_db, tmp_path)
    con = store.connect(db)
    try:
        before = F.history_fingerprint(con)
        con.execute("DELETE FROM match_odds WHERE match_num % 7 = 0")
        assert F.history_fingerprint(con) != before
    finally:
        con.close()
    assert cli(db, "odds", "load", str(odds_folder)).exit_code == 0
    con = store.connect(db, read_only=True)
    try:
        assert F.history_fingerprint(con) == before
    finally:
        con.close()


def test_a_model_trained_with_another_market_step_is_refused(
    market_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FM, "MARKET_K", 0.3)
    con = store.connect(market_db, read_only=True)
    try:
        with pytest.raises(StoreError, match="market rating step 0.2"):
            M.load(con)
        M.load(con, 1)  # no market inputs: nothing to disagree on
    finally:
        con.close()


def test_score_warns_when_the_odds_lag_the_results(caplog: pytest.LogCaptureFixture) -> None:
    end = dt.date(2022, 11, 20)
    with caplog.at_level(logging.WARNING, logger="acebet.scoring"):
        assert not scoring.warn_if_odds_lag(end - dt.timedelta(days=10), end)
        assert caplog.text == ""
        assert scoring.warn_if_odds_lag(end - dt.timedelta(days=60), end)
        assert "acebet odds load FOLDER --year 2022" in caplog.text
        assert scoring.warn_if_odds_lag(None, end)
        assert "no match has odds" in caplog.text
    assert not scoring.warn_if_odds_lag(None, None)


def _odds_file(folder: Path, rows: list[tuple[str, str, str, float, float, str]]) -> Path:
    """A one-year tennis-data file: (date m/d/yyyy, winner, loser, PSW, PSL, comment)."""
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "2022.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Date", "Winner", "Loser", "PSW", "PSL", "Comment"])
        writer.writerows(rows)
    return folder


def _a_played_match(db: Path) -> tuple[str, int, dt.date, int, int, str, str]:
    """(tourney_id, match_num, date, winner_id, loser_id, winner name, loser name) of a
    2022 tour-level match."""
    return query(db, """
        SELECT tourney_id, match_num, tourney_date, winner_id, loser_id,
               w.name_last || ' ' || left(w.name_first, 1) || '.',
               l.name_last || ' ' || left(l.name_first, 1) || '.'
        FROM matches m JOIN players w ON w.player_id = winner_id
        JOIN players l ON l.player_id = loser_id
        WHERE year(tourney_date) = 2022 AND tourney_level = 'A' AND score NOT LIKE '%W/O%'
        ORDER BY tourney_date, tourney_id, match_num LIMIT 1""")[0]


def test_odds_never_pair_with_a_walkover_of_the_same_players(
    trained_synthetic_db: Path, tmp_path: Path
) -> None:
    db = copy_db(trained_synthetic_db, tmp_path)
    tid, num, day, winner, loser, wname, lname = _a_played_match(db)
    walkover_day = day + dt.timedelta(days=7)
    con = store.connect(db)
    try:  # the same two players a week later, a walkover: nearer the odds row's date
        con.execute("INSERT INTO matches (tourney_id, tourney_name, surface, tourney_level, "
                    "tourney_date, match_num, winner_id, loser_id, score, best_of, round, "
                    "source_file) VALUES ('2022-WO', 'Walkover Open', 'Hard', 'A', ?, 1, ?, ?, "
                    "'W/O', 3, 'R32', 'test')", [walkover_day, winner, loser])
    finally:
        con.close()
    when = f"{walkover_day.month}/{walkover_day.day}/{walkover_day.year}"
    folder = _odds_file(tmp_path / "odds", [(when, wname, lname, 1.5, 2.6, "Completed"),
                                            (when, wname, lname, 1.2, 4.0, "Walkover")])
    result = cli(db, "odds", "load", str(folder))
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT tourney_id, match_num FROM match_odds") == [(tid, num)]


def test_a_corrected_result_turns_its_odds_round_and_a_corrected_file_drops_them(
    trained_synthetic_db: Path, tmp_path: Path
) -> None:
    from acebet import features as F

    db = copy_db(trained_synthetic_db, tmp_path)
    tid, num, day, winner, loser, wname, lname = _a_played_match(db)
    when = f"{day.month}/{day.day}/{day.year}"
    folder = _odds_file(tmp_path / "odds", [(when, wname, lname, 1.25, 5.0, "Completed")])
    assert cli(db, "odds", "load", str(folder)).exit_code == 0

    def market() -> list[tuple]:
        con = store.connect(db, read_only=True)
        try:
            return F.load_market(con).select("tourney_id", "match_num", "pinnacle_prob").rows()
        finally:
            con.close()

    assert market() == [(tid, num, pytest.approx(0.8))]
    con = store.connect(db)
    try:  # the result is corrected upstream: the other player won
        con.execute("UPDATE matches SET winner_id = loser_id, loser_id = winner_id "
                    "WHERE tourney_id = ? AND match_num = ?", [tid, num])
    finally:
        con.close()
    assert market() == [(tid, num, pytest.approx(0.2))]
    # a file where nothing pairs is refused and changes nothing
    _odds_file(folder, [(when, "Nobody N.", "Noone N.", 1.25, 5.0, "Completed")])
    refused = cli(db, "odds", "load", str(folder))
    assert refused.exit_code == 2 and "none of 1 odds rows matched" in refused.output
    assert query(db, "SELECT count(*) FROM match_odds")[0][0] == 1
    # the file is corrected: its row is now another match (the first one's players
    # swapped back), so the odds stored from it for the first match go
    other = query(db, "SELECT tourney_id, match_num, tourney_date, w.name_last || ' ' || "
                      "left(w.name_first, 1) || '.', l.name_last || ' ' || "
                      "left(l.name_first, 1) || '.' FROM matches JOIN players w ON "
                      "w.player_id = winner_id JOIN players l ON l.player_id = loser_id "
                      "WHERE year(tourney_date) = 2022 AND tourney_level = 'A' AND "
                      "(tourney_id, match_num) <> (?, ?) AND score NOT LIKE '%W/O%' "
                      "ORDER BY tourney_date DESC LIMIT 1", [tid, num])[0]
    on = other[2]
    _odds_file(folder, [(f"{on.month}/{on.day}/{on.year}", other[3], other[4], 1.8, 2.0,
                         "Completed")])
    reloaded = cli(db, "odds", "load", str(folder))
    assert reloaded.exit_code == 0, reloaded.output
    assert query(db, "SELECT tourney_id, match_num FROM match_odds") == [other[:2]]


def test_odds_load_optional_skips_a_missing_folder_with_a_warning(
    trained_synthetic_db: Path, tmp_path: Path
) -> None:
    db = copy_db(trained_synthetic_db, tmp_path)
    result = CliRunner().invoke(main, ["--db", str(db), "odds", "load", "--optional"],
                                env={"ACEBET_ODDS_DIR": str(tmp_path / "none")})
    assert result.exit_code == 0, result.output
    assert "no such folder; no odds loaded" in result.stderr
    assert query(db, "SELECT count(*) FROM match_odds")[0][0] == 0


def test_score_does_not_store_a_snapshot_that_odds_loaded_meanwhile_made_stale(
    market_db: Path, synthetic_source: Path, tmp_path: Path
) -> None:
    from acebet import features as F
    from tests.processes import acebet, pause_at, wait_for_pause

    db = copy_db(market_db, tmp_path)
    a, b = player_ids(db)[:2]
    assert cli(db, "fixtures", "load", str(fixtures_file(tmp_path / "f.csv",
                                                         [(a, b)]))).exit_code == 0
    con = store.connect(db)
    try:
        con.execute("DELETE FROM feature_snapshots")  # this score rebuilds it
    finally:
        con.close()
    marker, release = tmp_path / "paused", tmp_path / "release"
    run = acebet(db, "score", env=pause_at("score:computed", marker,
                                           ACEBET_RELEASE_FILE=str(release)))
    wait_for_pause(marker, run)
    other = write_odds_folder(synthetic_source, tmp_path / "other", range(2022, 2023), seed=9)
    assert cli(db, "odds", "load", str(other)).exit_code == 0  # other prices for 2022
    release.touch()
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    con = store.connect(db, read_only=True)
    try:
        stored = [r[0] for r in con.execute(
            "SELECT DISTINCT fingerprint FROM feature_snapshots").fetchall()]
        assert stored in ([], [F.history_fingerprint(con)])
        assert con.execute("SELECT count(*) FROM predictions").fetchall()[0][0] == 1
    finally:
        con.close()
