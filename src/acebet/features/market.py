"""A market-implied rating: each player's strength as the betting market saw it in his
past matches, updated like Elo but toward the market's closing view instead of the result.

The market prices information the results alone carry slowly (injuries, form, a rising
player). The rating distils the closing odds of a player's *past* matches into one
number; a match's own odds never feed its own feature, so this is still the pure model.

Ratings are logits: with d = r_a − r_b and m = logit(market P(a beats b)), an odds-bearing
match moves r_a by k·(m − d) and r_b by the opposite, so the difference of two ratings is
antisymmetric by construction. All matches of one date are read before any of them
updates: Sackmann dates every round of an event with its Monday, so a fixture of that
date (which comes before the date's results) and a match of that date see the same state.
In production the odds come from the `match_odds` table (`acebet odds load`); the
end-of-history snapshot carries every player's final rating (`final_market_ratings`).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from acebet.domain import SURFACES
from acebet.features.sets import set_rate_from_five, three_set_match

# The rating's step size (EVALUATION.md, C9: chosen once from 0.1/0.2/0.3 on the tuning
# periods). A model trained on a history with odds takes the rating as inputs
# (`model.matrix.MARKET_INPUTS`) and records k; 0 turns the rating off everywhere.
MARKET_K = 0.2
# With MARKET_K > 0: also a rating per surface (same k), fed only by that surface's odds.
MARKET_SURFACE = False
# Evaluation switch (C11): a player's step is max(k, 1/(n+1)) with n his earlier matches
# with odds, so a newcomer's rating is the running mean of the market's view of him
# until n reaches 1/k; when the two steps add up to more than 1 they are scaled to sum 1.
MARKET_NEWCOMER = False
# Evaluation switch (C12): >0 adds a second, faster rating with this step (`p1_fmkt`,
# `p2_fmkt`), so the model can weigh the market's recent view against its longer one.
MARKET_FAST_K = 0.0
# Evaluation switch (C14): apply each match's odds right after its row, as the Elo
# applies results, so later rounds of an event read the odds of its earlier rounds. In a
# knockout draw a player plays once per round, so rows of one round never see each
# other's odds (a round robin's later matches do, as its Elo sees earlier results).
MARKET_BY_ROUND = False
# Evaluation switch (C32): a best-of-five match's odds move the ratings by what they imply
# for best of three. The same gap in strength makes a steeper price over five sets, so a
# Grand Slam's odds would otherwise stretch the ratings that every best-of-three match
# then reads.
MARKET_BEST_OF_3 = False
# Evaluation switch (C55): >0 scales each match's step by (4·p·(1 − p)) to this power, p
# the market's probability: a heavy favourite's price says less about the gap in logits
# (the margin and the longshot bias weigh most there), as a Bernoulli's information
# shrinks toward the extremes.
MARKET_INFO = 0.0
# Evaluation switch (C56): >0 lets a played match without odds (a challenger, a
# qualifier, a tour match before the odds files) move the ratings by its result, like
# an Elo on the same logit scale with this step, so a rating does not go stale while its
# player wins or loses away from the priced tour. Such a match does not count in mkt_n.
MARKET_RESULT_K = 0.0
EPS = 1e-4


def best_of_three(p5: np.ndarray) -> np.ndarray:
    """The best-of-three probability of the player whose best-of-five probability is
    `p5`, at the same set rate (`features.sets`); an unknown price stays unknown."""
    return three_set_match(set_rate_from_five(p5))


def _probabilities(market: pl.DataFrame) -> pl.DataFrame:
    return market.select("tourney_id", "match_num", "market_prob").unique(
        subset=["tourney_id", "match_num"], keep="first")


def _market_pass(rows: pl.DataFrame, market: pl.DataFrame, k: float
                 ) -> tuple[np.ndarray, list[int], list[float], list[int]]:
    """One pass over the timeline: the pre-row state of both sides of every row (columns
    p1_mkt, p2_mkt, p1_mkt_n, p2_mkt_n, p1_smkt, p2_smkt) and the final ratings and
    counts of every player in `ids` order (all odds-bearing rows applied)."""
    joined = rows.select("row", "tourney_id", "match_num", "played", "is_fixture",
                         "best_of").join(
        _probabilities(market), on=["tourney_id", "match_num"], how="left",
        maintain_order="left")
    usable = joined["played"] & ~joined["is_fixture"] & joined["market_prob"].is_not_null()
    p = joined["market_prob"].fill_null(0.5).to_numpy()
    if MARKET_BEST_OF_3:
        p = np.where(joined["best_of"].to_numpy() == 5, best_of_three(p), p)
    p = np.clip(p, EPS, 1 - EPS)
    target = np.where(usable.to_numpy(), np.log(p) - np.log1p(-p), np.nan).tolist()
    step = (k * (4.0 * p * (1.0 - p)) ** MARKET_INFO).tolist() if MARKET_INFO else None
    result_k = MARKET_RESULT_K
    by_result = (joined["played"] & ~joined["is_fixture"] & ~usable).to_list() if result_k \
        else None

    ids = pl.concat([rows["p1_id"], rows["p2_id"]]).unique().to_list()
    index = {pid: i for i, pid in enumerate(ids)}
    p1 = [index[x] for x in rows["p1_id"].to_list()]
    p2 = [index[x] for x in rows["p2_id"].to_list()]
    days = rows["tourney_date"].cast(pl.Int32).to_list()
    codes = {s: i for i, s in enumerate(SURFACES)}
    surfaces = rows["surface"].replace_strict(codes, default=len(SURFACES),
                                              return_dtype=pl.Int8).to_list()
    rating = [0.0] * len(ids)
    count = [0] * len(ids)
    s_rating = [[0.0] * len(ids) for _ in range(len(SURFACES) + 1)]
    out = np.empty((rows.height, 6), dtype=np.float64)
    pending: list[int] = []  # odds-bearing rows of the current date, applied after it

    newcomer = MARKET_NEWCOMER
    by_round = MARKET_BY_ROUND

    def apply(waiting: list[int]) -> None:
        for j in waiting:
            a, b = p1[j], p2[j]
            if by_result and by_result[j]:  # p1 won: move by the result's surprise
                surprise = result_k / (1.0 + math.exp(rating[a] - rating[b]))
                rating[a] += surprise
                rating[b] -= surprise
                continue
            error = target[j] - (rating[a] - rating[b])
            if newcomer:
                ka, kb = max(k, 1.0 / (count[a] + 1)), max(k, 1.0 / (count[b] + 1))
                if ka + kb > 1.0:
                    ka, kb = ka / (ka + kb), kb / (ka + kb)
                rating[a] += ka * error
                rating[b] -= kb * error
            else:
                kj = step[j] if step else k
                rating[a] += kj * error
                rating[b] -= kj * error
            sr = s_rating[surfaces[j]]
            s_step = (step[j] if step else k) * (target[j] - (sr[a] - sr[b]))
            sr[a] += s_step
            sr[b] -= s_step
            count[a] += 1
            count[b] += 1

    for i in range(rows.height):
        if pending and days[i] != days[pending[0]]:
            apply(pending)
            pending = []
        a, b = p1[i], p2[i]
        sr = s_rating[surfaces[i]]
        out[i] = (rating[a], rating[b], count[a], count[b], sr[a], sr[b])
        if target[i] == target[i] or (by_result and by_result[i]):  # odds, or a result
            pending.append(i)
            if by_round:
                apply(pending)
                pending = []
    apply(pending)
    return out, ids, rating, count


def market_ratings(rows: pl.DataFrame, market: pl.DataFrame, k: float, *,
                   surface: bool = False) -> pl.DataFrame:
    """Pre-row market ratings and odds-bearing match counts for both sides of every row
    (with `surface`, also the row's surface rating: `p1_smkt`, `p2_smkt`).

    `rows` is the timeline; `market` holds `tourney_id`, `match_num` and `market_prob`,
    the vig-free probability that the row's p1 wins (p1 is the winner of a played match).
    Only played matches (not fixtures) with a market probability move the ratings (and,
    with the evaluation switch MARKET_RESULT_K, played matches without one).
    """
    out, *_ = _market_pass(rows, market, k)
    names = ["p1_mkt", "p2_mkt", "p1_mkt_n", "p2_mkt_n", "p1_smkt", "p2_smkt"]
    if not surface:
        names = names[:4]
    return pl.DataFrame({name: out[:, j] for j, name in enumerate(names)})


def final_market_ratings(rows: pl.DataFrame, market: pl.DataFrame, k: float) -> pl.DataFrame:
    """Every player's rating and count after the whole timeline (`player_id`, `mkt`,
    `mkt_n`): what a fixture dated after the history sees (`Snapshot`)."""
    _, ids, rating, count = _market_pass(rows, market, k)
    return pl.DataFrame({"player_id": ids, "mkt": rating, "mkt_n": count},
                        schema={"player_id": pl.Int64, "mkt": pl.Float64, "mkt_n": pl.Float64})


def lookup_market_ratings(rows: pl.DataFrame, final: pl.DataFrame) -> pl.DataFrame:
    """`market_ratings` for rows dated after the history, from the final ratings: a
    player without odds-bearing matches is at 0 with a count of 0."""
    out = {}
    for side in ("p1", "p2"):
        found = rows.select(pl.col(f"{side}_id").cast(pl.Int64).alias("player_id")).join(
            final, on="player_id", how="left", maintain_order="left")
        out[f"{side}_mkt"] = found["mkt"].fill_null(0.0)
        out[f"{side}_mkt_n"] = found["mkt_n"].fill_null(0.0)
    return pl.DataFrame(out).select("p1_mkt", "p2_mkt", "p1_mkt_n", "p2_mkt_n")
