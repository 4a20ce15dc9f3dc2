"""Point-in-time features: nothing looks forward, first matches use the priors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from acebet import features as F
from acebet.features import market as FM
from acebet.model import matrix


@pytest.fixture(scope="module")
def history(ingested_db: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    con = duckdb.connect(str(ingested_db), read_only=True)
    try:
        return F.load_matches(con), F.load_players(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def history_features(history: tuple[pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    """The whole history's features, built once for the tests that only read them."""
    matches, players = history
    return F.build(F.timeline(matches), players)


def test_appending_later_matches_never_changes_earlier_features(history, history_features
                                                                ) -> None:
    matches, players = history
    dates = matches["tourney_date"].unique().sort()
    cut = dates[int(len(dates) * 0.8)]
    full = history_features
    early = F.build(F.timeline(matches.filter(pl.col("tourney_date") < cut)), players)
    before = full.filter(pl.col("tourney_date") < cut)
    assert before.height == early.height > 0
    assert_frame_equal(before.drop("row"), early.drop("row"))


def test_a_players_first_match_uses_the_priors(history, history_features) -> None:
    matches, _ = history
    feats = history_features
    long = pl.concat([
        feats.select("row", pl.col("p1_id").alias("player"), pl.col("p1_elo").alias("elo"),
                     pl.col("p1_n").alias("n"), pl.col("p1_form10").alias("form"),
                     pl.col("p1_m30").alias("m30"), pl.col("p1_days_since").alias("days")),
        feats.select("row", pl.col("p2_id").alias("player"), pl.col("p2_elo").alias("elo"),
                     pl.col("p2_n").alias("n"), pl.col("p2_form10").alias("form"),
                     pl.col("p2_m30").alias("m30"), pl.col("p2_days_since").alias("days")),
    ])
    firsts = long.sort("row").group_by("player", maintain_order=True).first()
    assert firsts.height > 100 or firsts.height == matches.select(
        pl.concat_list("p1_id", "p2_id").explode().n_unique()).item()
    assert (firsts["elo"] == F.EloParams().initial).all()
    assert (firsts["n"] == 0).all()
    assert firsts["form"].is_null().all()
    assert firsts["days"].is_null().all()
    assert (firsts["m30"] == 0).all()


@pytest.mark.parametrize("no_play", ["W/O", "DEF", "6-5 DEF", "Def.", "UNK",
                                     "6-4 5-6 Played and abandoned", "23-21 3-1 ABD"])
def test_walkovers_and_defaults_do_not_move_ratings(no_play: str) -> None:
    day = dt.date(2020, 1, 6)
    rows = pl.DataFrame({
        "row_key": ["a", "b", "c"], "tourney_date": [day, day, day + dt.timedelta(days=7)],
        "tourney_id": ["t1", "t1", "t2"], "match_num": [1, 2, 1],
        "tourney_level": ["A"] * 3, "surface": ["Hard"] * 3, "round": ["R32", "R16", "R32"],
        "best_of": [3] * 3, "p1_id": [1, 1, 1], "p2_id": [2, 3, 2], "p1_won": [True] * 3,
        "score": [no_play, "6-4 6-4", None], "p1_rank": [None] * 3, "p2_rank": [None] * 3,
        "p1_points": [None] * 3, "p2_points": [None] * 3, "is_fixture": [False, False, True],
    })
    feats = F.build(F.timeline(rows), pl.DataFrame(
        {"player_id": [1, 2, 3], "hand": ["R"] * 3, "dob": [None] * 3, "height": [None] * 3},
        schema_overrides={"dob": pl.Date, "height": pl.Int32}))
    elo = feats.select("row_key", "p1_elo", "p2_elo", "p1_n", "p2_n").rows_by_key("row_key")
    # the walkover left everyone at the prior; the real win moved player 1 up
    assert elo["b"][0] == (1500.0, 1500.0, 0.0, 0.0)
    assert elo["c"][0][0] > 1500.0 and elo["c"][0][1] == 1500.0
    assert elo["c"][0][2] == 1.0  # one played match, the walkover does not count


def test_model_matrix_is_antisymmetric(history) -> None:
    matches, players = history
    feats = F.build(F.timeline(matches.tail(2000)), players)
    ab = matrix.model_matrix(feats)
    ba = matrix.model_matrix(matrix.swap_sides(feats))
    for name in matrix.ANTISYMMETRIC:
        assert (ab[name] + ba[name]).fill_null(0).abs().max() == 0, name
    for name in matrix.SYMMETRIC:
        assert ab[name].equals(ba[name]), name
    assert matrix.model_matrix(feats, swap=True).equals(ba)


def test_the_faded_experience_input_is_symmetric(history, monkeypatch) -> None:
    from acebet.features import elo as FE

    matches, players = history
    monkeypatch.setattr(FE, "FADED_EXPERIENCE", True)
    feats = F.build(F.timeline(matches.tail(2000)), players)
    ab = matrix.model_matrix(feats)
    ba = matrix.model_matrix(matrix.swap_sides(feats))
    assert ab.columns[-1] == "min_log_kn" and ab["min_log_kn"].equals(ba["min_log_kn"])
    # never above the unfaded experience, and below it after some layoff
    assert (ab["min_log_kn"] <= ab["min_log_n"] + 1e-12).all()
    assert (ab["min_log_kn"] < ab["min_log_n"] - 1e-9).any()


def test_a_fixture_does_not_see_results_dated_the_same_day() -> None:
    """Sackmann dates every round with the event's Monday: a fixture on that date must not
    see the event's results, its own match included."""
    day = dt.date(2022, 6, 27)
    played = pl.DataFrame({
        "row_key": ["m1"], "tourney_date": [day], "tourney_id": ["w"], "match_num": [1],
        "tourney_level": ["G"], "surface": ["Grass"], "round": ["F"], "best_of": [5],
        "p1_id": [1], "p2_id": [2], "p1_won": [True], "score": ["6-4 6-4 6-4"],
        "p1_rank": [None], "p2_rank": [None], "p1_points": [None], "p2_points": [None],
        "is_fixture": [False],
    })
    fixture = played.with_columns(pl.lit("fx").alias("row_key"), pl.lit(None, pl.Boolean)
                                  .alias("p1_won"), pl.lit(None, pl.String).alias("score"),
                                  pl.lit(True).alias("is_fixture"))
    players = pl.DataFrame({"player_id": [1, 2], "hand": ["R", "R"], "dob": [None, None],
                            "height": [None, None]},
                           schema_overrides={"dob": pl.Date, "height": pl.Int32})
    feats = F.build(F.timeline(played, fixture), players)
    fx = feats.filter(pl.col("is_fixture")).row(0, named=True)
    assert fx["p1_elo"] == 1500.0 and fx["h2h_n"] == 0 and fx["p1_n"] == 0


def test_inactivity_decay_regresses_on_read_and_fixtures_change_nothing() -> None:
    start = dt.date(2019, 1, 7)
    dates = [start, start + dt.timedelta(days=7), start + dt.timedelta(days=800),
             start + dt.timedelta(days=800)]
    rows = pl.DataFrame({
        "row_key": ["a", "b", "fx", "c"], "tourney_date": dates,
        "tourney_id": ["t1", "t2", "t3", "t4"], "match_num": [1, 1, 1, 1],
        "tourney_level": ["A"] * 4, "surface": ["Hard"] * 4, "round": ["R32"] * 4,
        "best_of": [3] * 4, "p1_id": [1, 1, 1, 1], "p2_id": [2, 2, 2, 2],
        "p1_won": [True, True, None, True], "score": ["6-0 6-0", "6-0 6-0", None, "6-4 6-4"],
        "p1_rank": [None] * 4, "p2_rank": [None] * 4, "p1_points": [None] * 4,
        "p2_points": [None] * 4, "is_fixture": [False, False, True, False],
    })
    players = pl.DataFrame({"player_id": [1, 2], "hand": ["R", "R"], "dob": [None, None],
                            "height": [None, None]},
                           schema_overrides={"dob": pl.Date, "height": pl.Int32})
    off = F.build(F.timeline(rows), players).rows_by_key("row_key", named=True)
    on = F.build(F.timeline(rows), players, F.EloParams(decay_days=180)).rows_by_key(
        "row_key", named=True)
    # before the idle spell both agree; after it the leader has drifted back to the mean
    assert on["b"][0]["p1_elo"] == off["b"][0]["p1_elo"]
    assert 1500 < on["fx"][0]["p1_elo"] < off["fx"][0]["p1_elo"]
    # the fixture read the decayed rating but stored nothing: the next match sees the same
    assert on["c"][0]["p1_elo"] == on["fx"][0]["p1_elo"]


def test_young_k_moves_a_young_winner_further_and_leaves_unknown_ages_alone() -> None:
    day = dt.date(2020, 1, 6)
    rows = pl.DataFrame({
        "row_key": ["a", "b"], "tourney_date": [day, day + dt.timedelta(days=7)],
        "tourney_id": ["t1", "t2"], "match_num": [1, 1], "tourney_level": ["A"] * 2,
        "surface": ["Hard"] * 2, "round": ["R32"] * 2, "best_of": [3] * 2,
        "p1_id": [1, 3], "p2_id": [2, 4], "p1_won": [True, True],
        "score": ["6-4 6-4", "6-4 6-4"], "p1_rank": [None] * 2, "p2_rank": [None] * 2,
        "p1_points": [None] * 2, "p2_points": [None] * 2, "is_fixture": [False, False],
    })
    players = pl.DataFrame(
        {"player_id": [1, 2, 3, 4], "hand": ["R"] * 4,
         "dob": [dt.date(2001, 1, 1), dt.date(1990, 1, 1), None, None],
         "height": [None] * 4},
        schema_overrides={"dob": pl.Date, "height": pl.Int32})
    off = F.build(F.timeline(rows), players)
    on = F.build(F.timeline(rows), players, F.EloParams(young_k=0.5))
    assert F.young_k_factor(np.array([19.0, 22.5, 30.0, np.nan]), F.EloParams(young_k=0.5)
                            ).tolist() == [1.5, 1.25, 1.0, 1.0]
    _, final_off = F.elo_pass(F.timeline(rows), F.EloParams(), ages=(
        off["p1_age"].to_numpy(), off["p2_age"].to_numpy()))
    _, final_on = F.elo_pass(F.timeline(rows), F.EloParams(young_k=0.5), ages=(
        on["p1_age"].to_numpy(), on["p2_age"].to_numpy()))
    gain = dict(zip(final_on["player_id"], final_on["elo"] - final_off["elo"], strict=True))
    assert gain[1] > 0  # the 19-year-old winner gained half as much again
    assert gain[2] == 0 and gain[3] == 0 and gain[4] == 0  # a 30-year-old, unknown ages


def _weekly_rows(days: list[int], winners: list[int], losers: list[int]) -> pl.DataFrame:
    """Played Hard-court matches on the given days after 2019-01-07."""
    start = dt.date(2019, 1, 7)
    n = len(days)
    return pl.DataFrame({
        "row_key": [f"r{i}" for i in range(n)],
        "tourney_date": [start + dt.timedelta(days=d) for d in days],
        "tourney_id": [f"t{i}" for i in range(n)], "match_num": [1] * n,
        "tourney_level": ["A"] * n, "surface": ["Hard"] * n, "round": ["R32"] * n,
        "best_of": [3] * n, "p1_id": winners, "p2_id": losers, "p1_won": [True] * n,
        "score": ["6-4 6-4"] * n, "p1_rank": [None] * n, "p2_rank": [None] * n,
        "p1_points": [None] * n, "p2_points": [None] * n, "is_fixture": [False] * n,
    })


def test_a_long_layoff_fades_the_experience_that_sizes_k_and_nothing_else() -> None:
    # players 1 and 2 play ten weeks in a row; player 1 returns after 100 or 240 days
    # and beats player 3, who has played every week meanwhile. A walkover 200 days
    # after his last match is not a match: it neither fades nor ends his layoff.
    def history(gap: int) -> pl.DataFrame:
        days = [7 * w for w in range(10)] + [63 + 7 * w for w in range(1, 40)]
        winners = [1, 2] * 5 + [3] * 39
        losers = [2, 1] * 5 + [4] * 39
        rows = _weekly_rows(days + [63 + gap, 63 + 200], winners + [1, 5], losers + [3, 1])
        return rows.with_columns(score=pl.when(pl.col("row_key") == "r50").then(pl.lit("W/O"))
                                 .otherwise(pl.col("score")))

    from acebet.domain import SURFACES

    hard = SURFACES.index("Hard")
    fade = F.EloParams()
    assert (fade.rest_days, fade.rest_half_life) == (120.0, 30.0)  # adopted (C52)
    off = F.EloParams(rest_days=0.0)
    for gap, kept in ((100, 1.0), (240, 0.5 ** (120 / 30))):
        _, final = F.elo_pass(F.timeline(history(gap)), fade)
        _, plain = F.elo_pass(F.timeline(history(gap)), off)
        one, three = (final.filter(pl.col("player_id") == p).row(0, named=True)
                      for p in (1, 3))
        plain_one = plain.filter(pl.col("player_id") == 1).row(0, named=True)
        # the match count (a model input) is untouched; only K's experience fades,
        # overall and on the surface (every match here is on hard courts)
        assert one["n"] == plain_one["n"] == 11
        assert one["kn"] == pytest.approx(10 * kept + 1)
        assert one[f"skn{hard}"] == pytest.approx(10 * kept + 1)
        assert three["kn"] == three["n"] == 40  # never idle that long
        for rating in ("elo", f"selo{hard}"):
            moved_more = one[rating] > plain_one[rating]
            assert moved_more == (gap > 120)
            assert (one[rating] == plain_one[rating]) == (gap <= 120)


def test_the_faded_experience_input_reads_the_fade_up_to_the_rows_date(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """C58: with FADED_EXPERIENCE each row reads both players' experience faded by their
    idle time up to its date, and the model takes the smaller, symmetric."""
    from acebet.features import elo as FE

    monkeypatch.setattr(FE, "FADED_EXPERIENCE", True)
    days = [7 * w for w in range(10)] + [63 + 240]
    rows = F.timeline(_weekly_rows(days, [1, 2] * 5 + [1], [2, 1] * 5 + [3]))
    pre, _ = F.elo_pass(rows)
    assert pre["p1_kn"][:10].to_list() == [float(w) for w in range(10)]  # weekly: no fade
    assert pre["p1_kn"][10] == pytest.approx(10 * 0.5 ** (120 / 30))  # back after 240 days
    assert pre["p2_kn"][10] == 0.0  # a newcomer


def test_the_faded_experience_carries_over_a_snapshot_bit_for_bit() -> None:
    # a layoff on each side of the split: the continuation must fade from the stored state
    days = [0, 7, 14, 200, 207, 214, 500, 507]
    rows = F.timeline(_weekly_rows(days, [1, 2, 1, 1, 3, 2, 1, 2], [2, 3, 3, 2, 1, 1, 3, 3]))
    whole_pre, whole_final = F.elo_pass(rows)
    head, tail = rows.head(4), rows.tail(4)
    _, head_final = F.elo_pass(head)
    tail_pre, tail_final = F.elo_pass(tail, start=head_final)
    assert_frame_equal(tail_pre, whole_pre.tail(4))
    assert_frame_equal(tail_final.sort("player_id"), whole_final.sort("player_id"))
    assert whole_final["kn"].to_list() != whole_final["n"].cast(pl.Float64).to_list()


def test_the_five_set_conversions_invert_each_other_and_favour_the_favourite() -> None:
    from acebet.features.elo import over_five_sets

    p = np.linspace(0.01, 0.99, 99)
    five = np.array([over_five_sets(v) for v in p])
    np.testing.assert_allclose(FM.best_of_three(five), p, atol=1e-12)
    np.testing.assert_allclose(five + five[::-1], 1.0, atol=1e-12)  # p and 1 - p
    assert over_five_sets(0.5) == pytest.approx(0.5, abs=1e-15)
    assert (five[p > 0.5] > p[p > 0.5]).all()  # five sets favour the better player
    assert over_five_sets(0.75) == pytest.approx(0.8004, abs=1e-4)  # set rate 0.657
    assert np.isnan(FM.best_of_three(np.array([np.nan, 0.8]))).tolist() == [True, False]


def test_best_of_three_a_grand_slam_price_moves_the_market_rating_by_its_three_set_value(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """C32: with MARKET_BEST_OF_3 a best-of-five match's odds move the ratings toward
    their best-of-three equivalent; best-of-three odds move them as before."""
    d1, d2 = dt.date(2019, 1, 14), dt.date(2019, 1, 21)
    rows = F.timeline(_market_rows([1, 3, 1, 3], [2, 4, 2, 4], [d1, d1, d2, d2]).with_columns(
        pl.Series("best_of", [5, 3, 5, 3])))
    market = rows.select("tourney_id", "match_num",
                         pl.Series("market_prob", [0.8, 0.8, 0.5, 0.5]))
    k = 0.2
    off = F.market_ratings(rows, market, k)
    monkeypatch.setattr(FM, "MARKET_BEST_OF_3", True)
    on = F.market_ratings(rows, market, k)
    three = FM.best_of_three(np.array([0.8]))[0]
    assert on["p1_mkt"][2] == pytest.approx(k * np.log(three / (1 - three)))
    assert on["p1_mkt"][2] < off["p1_mkt"][2] == pytest.approx(k * np.log(4.0))
    assert on["p1_mkt"][3] == off["p1_mkt"][3]  # the best-of-three match: as before


def test_weighted_by_information_a_heavy_favourites_price_moves_the_market_rating_less(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """C55: with MARKET_INFO a match's step is k · (4p(1 − p))^power: an even price moves
    the ratings as before, a 0.9 price by 0.36^power of its former step, a 0.7 one by
    0.84^power."""
    d1, d2 = dt.date(2019, 1, 14), dt.date(2019, 1, 21)
    rows = F.timeline(_market_rows([1, 3, 1, 3], [2, 4, 2, 4], [d1, d1, d2, d2]))
    market = rows.select("tourney_id", "match_num",
                         pl.Series("market_prob", [0.9, 0.7, 0.5, 0.5]))
    k = 0.2
    off = F.market_ratings(rows, market, k)
    monkeypatch.setattr(FM, "MARKET_INFO", 0.75)
    on = F.market_ratings(rows, market, k)
    assert off["p1_mkt"][2] == pytest.approx(k * np.log(9.0))
    assert on["p1_mkt"][2] == pytest.approx(k * 0.36 ** 0.75 * np.log(9.0))
    assert on["p1_mkt"][3] == pytest.approx(k * 0.84 ** 0.75 * np.log(7 / 3))
    assert on["p1_mkt"][2] == -on["p2_mkt"][2]
    assert on["p1_mkt"][2] / off["p1_mkt"][2] < on["p1_mkt"][3] / off["p1_mkt"][3] < 1


def test_with_result_steps_a_match_without_odds_moves_the_market_rating_by_its_result(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """C56: with MARKET_RESULT_K a played match without odds moves the winner up and the
    loser down by k_res · (1 − P(winner)) at the ratings' odds, after its date, and
    counts nothing; an odds-bearing match moves them as before."""
    d1, d2, d3 = dt.date(2019, 1, 7), dt.date(2019, 1, 14), dt.date(2019, 1, 21)
    rows = F.timeline(_market_rows([1, 1, 2], [2, 2, 1], [d1, d2, d3]))
    market = rows.select("tourney_id", "match_num",
                         pl.Series("market_prob", [0.8, None, None]))
    k = 0.2
    off = F.market_ratings(rows, market, k).to_dicts()
    monkeypatch.setattr(FM, "MARKET_RESULT_K", 0.15)
    on = F.market_ratings(rows, market, k).to_dicts()
    lead = k * np.log(4.0)  # the priced first match, as without the switch
    assert on[1]["p1_mkt"] == off[1]["p1_mkt"] == pytest.approx(lead)
    assert off[2]["p2_mkt"] == off[1]["p1_mkt"]  # without it the result changes nothing
    moved = 0.15 / (1.0 + np.exp(2 * lead))  # player 1 won again, as the favourite
    assert on[2]["p2_mkt"] == pytest.approx(lead + moved)
    assert on[2]["p1_mkt"] == pytest.approx(-lead - moved)
    assert (on[2]["p1_mkt_n"], on[2]["p2_mkt_n"]) == (1.0, 1.0)  # only the priced match


def test_with_five_sets_the_elo_credits_a_favourite_less_for_a_grand_slam_win(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """C33: with FIVE_SETS the expected score of a best-of-five match is its five-set
    probability, in the overall and the surface Elo, so the favourite's win there gains
    exactly K · (1 − that probability); a best-of-three match is rated as before."""
    from acebet.domain import SURFACES
    from acebet.features import elo as FE

    day = dt.date(2020, 1, 6)
    rows = F.timeline(_market_rows([1, 1], [2, 2], [day, day + dt.timedelta(days=7)])
                      .with_columns(pl.Series("best_of", [3, 5]),
                                    pl.Series("score", ["6-4 6-4", "6-4 6-4 6-4"])))
    plain_pre, plain = F.elo_pass(rows)
    monkeypatch.setattr(FE, "FIVE_SETS", True)
    five_pre, five = F.elo_pass(rows)
    assert five_pre.equals(plain_pre)  # the best-of-three match before: rated alike
    p = FE.EloParams()
    # player 1's second match; K grows by the games margin, (18 − 12) / 30
    k = p.k_scale / (1 + p.k_offset) ** p.k_shape * (1.0 + 0.2)
    hard = SURFACES.index("Hard")
    for final, pre in (("elo", "elo"), (f"selo{hard}", "selo")):
        lead = five_pre[f"p1_{pre}"][1] - five_pre[f"p2_{pre}"][1]
        assert lead > 0  # player 1 won the first match: the favourite
        expected = 1.0 / (1.0 + 10.0 ** (-lead / 400.0))
        gain_five = five[final][five["player_id"].index_of(1)] - five_pre[f"p1_{pre}"][1]
        gain_plain = plain[final][plain["player_id"].index_of(1)] - plain_pre[f"p1_{pre}"][1]
        assert gain_five == pytest.approx(k * (1.0 - FE.over_five_sets(expected)), rel=1e-9)
        assert gain_plain == pytest.approx(k * (1.0 - expected), rel=1e-9)
        assert gain_five < gain_plain


def _market_rows(p1: list[int], p2: list[int], days: list[dt.date],
                 surfaces: list[str] | None = None) -> pl.DataFrame:
    n = len(p1)
    return pl.DataFrame({
        "row_key": [f"m{i}" for i in range(n)], "tourney_date": days,
        "tourney_id": [f"t{d:%Y%m%d}" for d in days], "match_num": list(range(n)),
        "tourney_level": ["A"] * n, "surface": surfaces or ["Hard"] * n,
        "round": ["R32"] * n, "best_of": [3] * n, "p1_id": p1, "p2_id": p2,
        "p1_won": [True] * n, "score": ["6-4 6-4"] * n, "p1_rank": [None] * n,
        "p2_rank": [None] * n,
        "p1_points": [None] * n, "p2_points": [None] * n, "is_fixture": [False] * n,
    })


def test_the_market_rating_moves_toward_the_odds_of_past_dates_only() -> None:
    """A match's own odds, and those of its date, never feed its own rating; the next date
    sees them: from 0 - 0 toward logit(0.8), one step of k."""
    d1, d2 = dt.date(2019, 1, 7), dt.date(2019, 1, 14)
    rows = F.timeline(_market_rows([1, 1, 1], [2, 3, 2], [d1, d1, d2]))
    market = rows.select("tourney_id", "match_num",
                         pl.Series("market_prob", [0.8, 0.6, 0.7]))
    k = 0.2
    r = F.market_ratings(rows, market, k).to_dicts()
    assert r[0] == {"p1_mkt": 0.0, "p2_mkt": 0.0, "p1_mkt_n": 0.0, "p2_mkt_n": 0.0}
    assert r[1] == r[0]  # same date: the first match's odds are not seen yet
    first = k * np.log(0.8 / 0.2)
    step = k * (np.log(0.6 / 0.4) - (first - 0.0))  # applied in row order after the date
    assert r[2]["p1_mkt"] == pytest.approx(first + step)
    assert r[2]["p2_mkt"] == pytest.approx(-first)
    assert (r[2]["p1_mkt_n"], r[2]["p2_mkt_n"]) == (2.0, 1.0)
    # a match without odds moves nothing and counts nothing
    none = F.market_ratings(rows, market.with_columns(pl.lit(None, pl.Float64)
                                                      .alias("market_prob")), k)
    assert (none.to_numpy() == 0).all()


def test_the_market_rating_difference_flips_sign_when_the_sides_swap() -> None:
    days = [dt.date(2019, 1, 7) + dt.timedelta(days=7 * i) for i in range(6)]
    p1, p2 = [1, 2, 3, 1, 2, 1], [2, 3, 1, 3, 1, 2]
    probs = [0.7, 0.55, 0.4, 0.8, 0.35, 0.6]
    surfaces = ["Hard", "Clay", "Hard", "Clay", "Hard", "Clay"]
    rows = F.timeline(_market_rows(p1, p2, days, surfaces))
    swapped = F.timeline(_market_rows(p2, p1, days, surfaces))
    ab = F.market_ratings(rows, rows.select("tourney_id", "match_num",
                                            pl.Series("market_prob", probs)), 0.3,
                          surface=True)
    ba = F.market_ratings(swapped, swapped.select(
        "tourney_id", "match_num", pl.Series("market_prob", [1 - p for p in probs])), 0.3,
        surface=True)
    for kind in ("mkt", "smkt"):
        d_ab = (ab[f"p1_{kind}"] - ab[f"p2_{kind}"]).to_numpy()
        d_ba = (ba[f"p1_{kind}"] - ba[f"p2_{kind}"]).to_numpy()
        assert np.abs(d_ab).max() > 0.1
        np.testing.assert_allclose(d_ab, -d_ba, atol=1e-12)
    # the surface rating hears only its surface: the clay rows differ from the overall
    assert not np.allclose(ab["p1_smkt"], ab["p1_mkt"])
    np.testing.assert_array_equal(ab["p1_mkt_n"], ba["p2_mkt_n"])


def test_the_market_inputs_keep_the_matrix_antisymmetric(history) -> None:
    matches, players = history
    rows = F.timeline(matches.tail(2000))
    rng = np.random.default_rng(3)
    market = rows.select("tourney_id", "match_num",
                         pl.Series("market_prob", rng.uniform(0.2, 0.9, rows.height)))
    plain = F.build(rows, players)
    feats = F.build(rows, players, market=market, market_k=0.2)
    assert feats.drop("p1_mkt", "p2_mkt", "p1_mkt_n", "p2_mkt_n").equals(plain)
    ab = matrix.model_matrix(feats)
    ba = matrix.model_matrix(matrix.swap_sides(feats))
    assert ab.columns == matrix.FEATURES + matrix.MARKET_INPUTS + matrix.SERVE_INPUTS
    assert ab["mkt_diff"].abs().max() > 0
    for name in ("mkt_diff", "log_mkt_n_diff"):
        assert (ab[name] + ba[name]).abs().max() == 0, name
    assert ab["min_log_mkt_n"].equals(ba["min_log_mkt_n"])
    assert matrix.model_matrix(plain).columns == matrix.FEATURES + matrix.SERVE_INPUTS
    by_surface = F.build(rows, players, market=market, market_k=0.2, market_surface=True)
    s_ab = matrix.model_matrix(by_surface)
    s_ba = matrix.model_matrix(matrix.swap_sides(by_surface))
    assert s_ab.columns[-1] == "smkt_diff" and s_ab["smkt_diff"].abs().max() > 0
    assert (s_ab["smkt_diff"] + s_ba["smkt_diff"]).abs().max() == 0


def test_by_round_the_market_rating_reads_the_odds_of_earlier_rounds_of_its_event(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """C14: with MARKET_BY_ROUND a later round of the same date sees an earlier round's
    odds, as the Elo sees its result; a round's own odds stay unseen."""
    d1 = dt.date(2019, 1, 7)
    rows = F.timeline(_market_rows([1, 1], [2, 3], [d1, d1]).with_columns(
        pl.Series("round", ["R32", "R16"]), pl.lit("t1").alias("tourney_id")))
    market = rows.select("tourney_id", "match_num", pl.Series("market_prob", [0.8, 0.6]))
    monkeypatch.setattr(FM, "MARKET_BY_ROUND", True)
    r = F.market_ratings(rows, market, 0.2).to_dicts()
    assert r[0]["p1_mkt"] == 0.0
    assert r[1]["p1_mkt"] == pytest.approx(0.2 * np.log(0.8 / 0.2))
    assert r[1]["p1_mkt_n"] == 1.0
