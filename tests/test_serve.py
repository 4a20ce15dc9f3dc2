"""The point-based model (features.serve): the scoring-system arithmetic and the
opponent-adjusted serve and return ratings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from acebet import features as F
from acebet.features import serve as S
from acebet.model.matrix import SERVE_INPUTS, model_matrix


def test_a_game_held_at_sixty_percent_of_points_is_the_textbook_figure() -> None:
    p = np.array([0.5, 0.6, 0.7])
    np.testing.assert_allclose(S.hold_probability(p), [0.5, 0.7357, 0.9008], atol=1e-4)


def test_the_scoring_recursions_give_the_point_by_point_figures() -> None:
    """Reference values from a separate point-by-point recursion over the whole score
    (tie-break to 7 by two, set to 6 by two with a tie-break at 6-6)."""
    pa, pb = np.array([0.62]), np.array([0.60])
    assert S.tiebreak_probability(pa, pb)[0] == pytest.approx(0.5325241849696962, abs=1e-12)
    assert S.set_probability(pa, pb)[0] == pytest.approx(0.5679122891906656, abs=1e-12)
    assert S.match_probability(pa, pb, np.array([3]))[0] == pytest.approx(
        0.6012420000972221, abs=1e-12)
    assert S.match_probability(pa, pb, np.array([5]))[0] == pytest.approx(
        0.6257781254955835, abs=1e-12)


def test_who_serves_first_does_not_change_who_wins_a_set_or_tiebreak() -> None:
    """With points independent, serving first is worth nothing (Newton and Keller): a
    recursion that loses track of the score or of who serves breaks this."""
    rng = np.random.default_rng(3)
    pa, pb = rng.uniform(0.5, 0.75, 200), rng.uniform(0.5, 0.75, 200)
    np.testing.assert_allclose(S.set_probability(pa, pb), 1 - S.set_probability(pb, pa),
                               atol=1e-12)
    np.testing.assert_allclose(S.tiebreak_probability(pa, pb),
                               1 - S.tiebreak_probability(pb, pa), atol=1e-12)
    assert np.abs(S.set_probability(pa, pb) - 0.5).max() > 0.2


def test_five_sets_favour_the_better_player_more_than_three() -> None:
    pa, pb = np.array([0.66, 0.62, 0.64]), np.array([0.62, 0.66, 0.64])
    bo3 = S.match_probability(pa, pb, np.array([3, 3, 3]))
    bo5 = S.match_probability(pa, pb, np.array([5, 5, 5]))
    assert bo5[0] > bo3[0] > 0.5 > bo3[1] > bo5[1]
    np.testing.assert_allclose([bo3[2], bo5[2]], 0.5, atol=1e-12)
    np.testing.assert_allclose(bo3[0], 1 - bo3[1], atol=1e-12)


def _rows(p1: list[int], p2: list[int], shares: list[tuple[int, int]]) -> pl.DataFrame:
    n = len(p1)
    days = [dt.date(2019, 1, 7) + dt.timedelta(days=7 * i) for i in range(n)]
    return F.timeline(pl.DataFrame({
        "row_key": [f"m{i}" for i in range(n)], "tourney_date": days,
        "tourney_id": [f"t{i}" for i in range(n)], "match_num": list(range(n)),
        "tourney_level": ["A"] * n, "surface": ["Hard"] * n, "round": ["R32"] * n,
        "best_of": [3] * n, "p1_id": p1, "p2_id": p2, "p1_won": [True] * n,
        "score": ["6-4 6-4"] * n, "p1_rank": [None] * n, "p2_rank": [None] * n,
        "p1_points": [None] * n, "p2_points": [None] * n, "is_fixture": [False] * n,
        "p1_svpt": [80] * n, "p1_sv_won": [a for a, _ in shares],
        "p2_svpt": [80] * n, "p2_sv_won": [b for _, b in shares],
    }))


def test_a_strong_server_rises_and_his_opponents_returns_fall_from_later_rows_only() -> None:
    rows = _rows([1, 1, 2], [2, 3, 3], [(64, 40), (60, 48), (50, 50)])
    r = S.serve_ratings(rows, 0.1)
    first = r.row(0, named=True)
    assert (first["p1_srv"], first["p1_ret"], first["p2_srv"], first["p2_ret"]) == (0, 0, 0, 0)
    assert first["p1_ptm"] == pytest.approx(0.0, abs=1e-9)  # two unknowns: even
    second = r.row(1, named=True)
    assert second["p1_srv"] > 0 and second["p1_ret"] > 0  # held well, broke often
    assert r.row(2, named=True)["p1_ret"] < 0  # player 2 returned against 1's big serve
    assert second["p1_ptm"] > 0 > second["p2_ptm"]
    # appending a later match changes nothing before it
    longer = S.serve_ratings(_rows([1, 1, 2, 3], [2, 3, 3, 1], [(64, 40), (60, 48), (50, 50),
                                                                  (40, 60)]), 0.1)
    assert longer.head(3).equals(r)


def test_the_serve_inputs_flip_sign_when_the_sides_swap(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr(S, "SERVE_K", 0.1)
    rows = _rows([1, 2, 3, 1, 2], [2, 3, 1, 3, 1],
                 [(64, 40), (55, 45), (50, 58), (61, 47), (44, 52)])
    feats = F.build(rows, pl.DataFrame(
        {"player_id": [1, 2, 3], "hand": ["R"] * 3, "dob": [None] * 3, "height": [None] * 3},
        schema_overrides={"dob": pl.Date, "height": pl.Int32}))
    ab = model_matrix(feats).select(SERVE_INPUTS).to_numpy()
    ba = model_matrix(feats, swap=True).select(SERVE_INPUTS).to_numpy()
    assert np.abs(ab).max() > 0.05
    assert (ab == -ba).all()


def test_only_played_matches_with_usable_statistics_move_the_ratings() -> None:
    """A walkover's or a fixture's statistics, and a side that won no serve point or lost
    none (a recording error), never move a rating; a played match moves the surface's
    mean too."""
    base = _rows([1, 3], [2, 4], [(64, 40), (50, 50)])
    fixture = base.with_columns(pl.Series("is_fixture", [True, False]),
                                pl.Series("p1_won", [None, True]))
    walkover = base.with_columns(pl.Series("score", ["W/O", "6-4 6-4"]))
    extreme = base.with_columns(pl.Series("p1_sv_won", [80, 50]))
    for rows in (F.timeline(fixture), F.timeline(walkover), F.timeline(extreme)):
        players, means = S.final_serve_state(rows, 0.1)
        moved = players.filter(pl.col("player_id").is_in([1, 2]))
        assert (moved["srv"] == 0).all() and (moved["ret"] == 0).all()
    players, means = S.final_serve_state(base, 0.1)
    assert players.filter(pl.col("player_id") == 1)["srv"][0] > 0
    assert means["mu"][0] != S.MU_START  # hard courts' mean followed the two matches
    assert (means["mu"][1:] == S.MU_START).all()


def test_a_fixture_reads_the_ratings_before_the_matches_of_its_own_date() -> None:
    rows = _rows([1, 1], [2, 2], [(64, 40), (70, 30)])
    day = rows["tourney_date"][1]
    fixture = pl.DataFrame({
        "row_key": ["f"], "tourney_date": [day], "tourney_id": ["tf"], "match_num": [1],
        "tourney_level": ["A"], "surface": ["Hard"], "round": ["R16"], "best_of": [3],
        "p1_id": [1], "p2_id": [2], "p1_won": [None], "score": [None], "p1_rank": [None],
        "p2_rank": [None], "p1_points": [None], "p2_points": [None], "is_fixture": [True],
    })
    both = F.timeline(rows.drop("row", "played", "retired"), fixture)
    r = S.serve_ratings(both, 0.1).with_columns(both["is_fixture"], both["row_key"])
    seen = r.filter(pl.col("is_fixture")).row(0, named=True)
    same_day = r.filter(pl.col("row_key") == "m1").row(0, named=True)
    assert seen["p1_srv"] == same_day["p1_srv"] > 0  # after the first date, before the second


def test_the_history_fingerprint_covers_both_serve_steps(
        trained_synthetic_db, monkeypatch: pytest.MonkeyPatch) -> None:
    from acebet import store

    con = store.connect(trained_synthetic_db, read_only=True)
    try:
        before = F.history_fingerprint(con)
        monkeypatch.setattr(S, "SERVE_SURFACE_K", 0.05)
        surface = F.history_fingerprint(con)
        monkeypatch.setattr(S, "SERVE_K", 0.1)
        assert len({before, surface, F.history_fingerprint(con)}) == 3
    finally:
        con.close()


def test_a_surface_offset_hears_only_its_surface_and_moves_only_its_matches(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A player who serves well on grass: his grass offset rises and his hard one stays
    at 0; part of the excess goes to the offset instead of his overall rating."""
    monkeypatch.setattr(S, "SERVE_SURFACE_K", 0.05)
    rows = _rows([1, 1, 1, 1], [2, 3, 2, 3], [(70, 40), (70, 40), (50, 50), (50, 50)])
    rows = rows.with_columns(pl.Series("surface", ["Grass", "Grass", "Grass", "Hard"]))
    players, _ = S.final_serve_state(rows.head(3), 0.1)  # the grass matches
    one = players.filter(pl.col("player_id") == 1).row(0, named=True)
    grass, hard = S.SURFACES.index("Grass"), S.SURFACES.index("Hard")
    assert one[f"srv_surface_{grass}"] > 0 and one[f"srv_surface_{hard}"] == 0
    with_offsets = S.serve_ratings(rows, 0.1)
    monkeypatch.setattr(S, "SERVE_SURFACE_K", 0.0)
    without = S.serve_ratings(rows, 0.1)
    assert with_offsets.row(0) == without.row(0)  # nothing learnt yet
    # on grass he is expected to serve better than his overall rating alone says ...
    assert with_offsets["p1_ptm"][2] > without["p1_ptm"][2]
    # ... and off grass his overall rating has risen less
    assert 0 < with_offsets["p1_srv"][3] < without["p1_srv"][3]


@pytest.mark.parametrize(("module", "name", "value"), [
    ("acebet.features.serve", "SERVE_NEWCOMER", True),
    ("acebet.model.matrix", "LAYOFF_INPUT", True),
    ("acebet.model.matrix", "SEASON_INPUT", True),
    ("acebet.model.matrix", "AGE_INPUT", True),
    ("acebet.model.matrix", "STRENGTH_INPUT", True),
    ("acebet.features.market", "MARKET_BEST_OF_3", True),
    ("acebet.features.market", "MARKET_INFO", 0.75),
    ("acebet.features.market", "MARKET_RESULT_K", 0.15),
    ("acebet.features.elo", "FIVE_SETS", True),
    ("acebet.features.elo", "FADED_EXPERIENCE", True),
])
def test_a_stored_model_or_snapshot_is_never_built_with_an_evaluation_switch_on(
        trained_synthetic_db, monkeypatch: pytest.MonkeyPatch, module: str, name: str,
        value: object) -> None:
    import importlib

    from acebet import model as M
    from acebet import store

    monkeypatch.setattr(importlib.import_module(module), name, value)
    con = store.connect(trained_synthetic_db, read_only=True)
    try:
        with pytest.raises(ValueError, match=name):
            M.fit_from_store(con)
        with pytest.raises(ValueError, match="snapshot"):
            F.Snapshot.from_history(F.load_matches(con), "x")
    finally:
        con.close()
