"""Opponent-adjusted serve and return ratings, and the match probability they imply.

A player's share of serve points won says as much about his opponents' returns as about
his serve. Each player has a serve rating and a return rating (logits); with mu the
running mean logit of serve points won on the match's surface, the model of a match is
logit P(A wins a point on serve) = mu + serve_A − return_B. Each match with serve
statistics moves both ratings toward the observed shares, like Elo toward the points
instead of the result.

The two serve-point probabilities then give a match probability through the scoring
system (games, tie-breaks, sets; best of 3 or 5), the classic point-based model: the
same point edge is worth more over five sets. Each player also has a serve and a return
offset per surface, for what his overall ratings leave unexplained there (a big server
on grass). Adopted with the offsets (EVALUATION.md, C40); without them (C15) the
ratings had not carried over. Both steps are product settings: `features.build` adds
the columns, the end-of-history snapshot carries every player's final ratings, offsets
and the surfaces' means (`final_serve_state`), the history fingerprint covers both steps
and a model records them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from acebet.domain import SURFACES
from acebet.features.sets import five_set_match, three_set_match

# Step of the serve and return ratings per match, and of the per-surface offsets (C18's
# pair, chosen together by the log loss of the point-based probability alone on the
# tuning periods; adopted as C40, EVALUATION.md). SERVE_K = 0 leaves the ratings out of
# the model; SERVE_SURFACE_K = 0 leaves the offsets at 0.
SERVE_K = 0.03
SERVE_SURFACE_K = 0.02
# These constants shape every feature: changing one needs a FEATURE_CODE_VERSION bump
# (features.snapshot), so stored snapshots are rebuilt.
MU_STEP = 0.002  # how fast a surface's mean serve logit follows the tour
MU_START = 0.5  # logit of 0.62, about the tour's share of serve points won
MIN_POINTS = 20  # a side's serve points below this: the statistics are not used
EPS = 1e-3
# Evaluation switch (C17): a player's step is max(k, V / ((n + 1) V + E)), n his earlier
# matches with serve statistics: the Kalman gain of a rating with prior variance V seen
# through per-match noise E (logit units), so a newcomer's ratings settle in a few
# matches instead of twenty; two steps adding up to more than 1 are scaled to sum 1.
SERVE_NEWCOMER = False
PRIOR_VAR, MATCH_VAR = 0.09, 0.05
# Evaluation switch (C19): retired matches' serve statistics (often an injured player's
# last games) do not move the ratings.
SERVE_SKIP_RETIRED = False


def _logit(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return float(np.log(p / (1 - p)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def hold_probability(p: np.ndarray) -> np.ndarray:
    """P(the server wins a game) when he wins each point with probability p."""
    q = 1.0 - p
    deuce = p * p / (p * p + q * q)
    return p**4 * (1 + 4 * q + 10 * q * q) + 20 * p**3 * q**3 * deuce


def tiebreak_probability(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """P(A wins a tie-break he starts serving): A serves point 1, then two each."""
    # reach[(i, j)]: P(the score passes i-j), until one side has 7 or it is 6-6
    reach = {(0, 0): np.ones_like(pa)}
    win = np.zeros_like(pa)
    tied = np.zeros_like(pa)
    for total in range(12):
        for i in range(total + 1):
            j = total - i
            here = reach.pop((i, j), None)
            if here is None:
                continue
            a_serves = ((total + 1) // 2) % 2 == 0
            p = pa if a_serves else 1.0 - pb
            for di, dj, share in ((1, 0, p), (0, 1, 1.0 - p)):
                ni, nj = i + di, j + dj
                if ni == 7:
                    win = win + here * share
                elif nj == 7:
                    continue
                elif ni == 6 and nj == 6:
                    tied = tied + here * share
                else:
                    reach[(ni, nj)] = reach.get((ni, nj), 0.0) + here * share
    # from 6-6 each pair of points has one serve each: A must take both to end it
    both = pa * (1.0 - pb)
    none = (1.0 - pa) * pb
    return win + tied * both / (both + none)


def set_probability(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """P(A wins a set he starts serving, tie-break at 6-6)."""
    ha, hb = hold_probability(pa), hold_probability(pb)
    reach = {(0, 0): np.ones_like(pa)}
    win = np.zeros_like(pa)
    for total in range(12):
        for i in range(total + 1):
            j = total - i
            here = reach.pop((i, j), None)
            if here is None:
                continue
            p = ha if total % 2 == 0 else 1.0 - hb
            for ni, nj, share in ((i + 1, j, p), (i, j + 1, 1.0 - p)):
                if (ni >= 6 and ni - nj >= 2) or ni == 7:
                    win = win + here * share
                elif (nj >= 6 and nj - ni >= 2) or nj == 7:
                    continue
                else:
                    reach[(ni, nj)] = reach.get((ni, nj), 0.0) + here * share
    return win + reach.pop((6, 6)) * tiebreak_probability(pa, pb)


def match_probability(pa: np.ndarray, pb: np.ndarray, best_of: np.ndarray) -> np.ndarray:
    """P(A wins the match): sets as independent, each the mean of A and B serving first."""
    s = 0.5 * (set_probability(pa, pb) + 1.0 - set_probability(pb, pa))
    return np.where(np.asarray(best_of) == 5, five_set_match(s), three_set_match(s))


def _surface_codes(rows: pl.DataFrame) -> list[int]:
    codes = {s: i for i, s in enumerate(SURFACES)}
    return rows["surface"].replace_strict(codes, default=len(SURFACES),
                                          return_dtype=pl.Int8).to_list()


def _shares(won: list[int | None], points: list[int | None]) -> list[float | None]:
    """Serve points won / played; None where unusable: too few points, or none won or
    none lost (a recording error rather than a match, and a logit of ±7 would move a
    rating by a third of the players' whole spread in one step)."""
    return [w / n if n is not None and w is not None and 0 < w < n else None
            for w, n in zip(won, points, strict=True)]


@dataclass
class _State:
    """Ratings after a pass: per player (in `ids` order), and each surface's mean serve
    logit (SURFACES order, then any other surface)."""

    ids: list[int]
    srv: list[float]
    ret: list[float]
    mu: list[float]
    surface_srv: list[list[float]]  # per surface code, then per player
    surface_ret: list[list[float]]


def _serve_pass(rows: pl.DataFrame, k: float) -> tuple[np.ndarray, _State]:
    """One pass over the timeline: each row's pre-row (srv_a, ret_a, srv_b, ret_b,
    mu + srv_a − ret_b, mu + srv_b − ret_a; with SERVE_SURFACE_K the last two also take
    the surface offsets), then the state after the last row."""
    ids = pl.concat([rows["p1_id"], rows["p2_id"]]).unique().to_list()
    index = {pid: i for i, pid in enumerate(ids)}
    p1 = [index[x] for x in rows["p1_id"].to_list()]
    p2 = [index[x] for x in rows["p2_id"].to_list()]
    surfaces = _surface_codes(rows)
    # Shares are divided in Python, not by Polars: in the snapshot test Polars' division
    # of a column without nulls rounded one share differently from the same division
    # with a fixture's nulls appended, and the snapshot must match the full pass.
    stats = rows.select(
        (pl.col("played") & ~pl.col("is_fixture")
         & ~(pl.col("retired") & SERVE_SKIP_RETIRED)).alias("ok"),
        *(pl.when(pl.col(f"{s}_svpt") >= MIN_POINTS).then(pl.col(f"{s}_svpt")).alias(s)
          for s in ("p1", "p2")),
        *(pl.col(f"{s}_sv_won").alias(f"{s}_won") for s in ("p1", "p2")),
    )
    ok = stats["ok"].to_list()
    share1 = _shares(stats["p1_won"].to_list(), stats["p1"].to_list())
    share2 = _shares(stats["p2_won"].to_list(), stats["p2"].to_list())
    srv = [0.0] * len(ids)
    ret = [0.0] * len(ids)
    mu = [MU_START] * (len(SURFACES) + 1)
    count = [0] * len(ids)
    newcomer = SERVE_NEWCOMER
    ks = SERVE_SURFACE_K
    s_srv = [[0.0] * len(ids) for _ in mu]
    s_ret = [[0.0] * len(ids) for _ in mu]

    def step(n: int) -> float:
        return max(k, PRIOR_VAR / ((n + 1) * PRIOR_VAR + MATCH_VAR)) if newcomer else k

    out = np.empty((rows.height, 6), dtype=np.float64)
    for i in range(rows.height):
        a, b, s = p1[i], p2[i], surfaces[i]
        out[i, :4] = (srv[a], ret[a], srv[b], ret[b])
        out[i, 4] = mu[s] + srv[a] - ret[b]
        out[i, 5] = mu[s] + srv[b] - ret[a]
        if ks:
            ss, sr = s_srv[s], s_ret[s]
            out[i, 4] += ss[a] - sr[b]
            out[i, 5] += ss[b] - sr[a]
        if ok[i] and share1[i] is not None and share2[i] is not None:
            e1 = _logit(share1[i]) - out[i, 4]
            e2 = _logit(share2[i]) - out[i, 5]
            ka, kb = step(count[a]), step(count[b])
            if ka + kb > 1.0:
                ka, kb = ka / (ka + kb), kb / (ka + kb)
            srv[a] += ka * e1
            ret[b] -= kb * e1
            srv[b] += kb * e2
            ret[a] -= ka * e2
            count[a] += 1
            count[b] += 1
            if ks:
                ss[a] += ks * e1
                sr[b] -= ks * e1
                ss[b] += ks * e2
                sr[a] -= ks * e2
            mu[s] += MU_STEP * (e1 + e2)
    return out, _State(ids, srv, ret, mu, s_srv, s_ret)


def _columns(out: np.ndarray, best_of: np.ndarray) -> pl.DataFrame:
    """The feature columns from the pre-row states: one function for the full pass and
    the snapshot's lookup, so both give the same bits."""
    pa, pb = _sigmoid(out[:, 4]), _sigmoid(out[:, 5])
    p_ab = np.clip(match_probability(pa, pb, best_of), EPS, 1 - EPS)
    p_ba = np.clip(match_probability(pb, pa, best_of), EPS, 1 - EPS)
    return pl.DataFrame({
        "p1_srv": out[:, 0], "p1_ret": out[:, 1], "p2_srv": out[:, 2], "p2_ret": out[:, 3],
        "p1_ptm": np.log(p_ab / (1 - p_ab)), "p2_ptm": np.log(p_ba / (1 - p_ba)),
    })


def _best_of(rows: pl.DataFrame) -> np.ndarray:
    return rows["best_of"].fill_null(3).to_numpy()


def serve_ratings(rows: pl.DataFrame, k: float) -> pl.DataFrame:
    """Pre-row serve and return ratings of both sides (p1_srv, p1_ret, p2_srv, p2_ret)
    and the point-based match probability as a logit from each side (p1_ptm, p2_ptm).

    Only played rows with serve statistics for both sides move the ratings, each right
    after it is read, as the Elo applies results."""
    out, _ = _serve_pass(rows, k)
    return _columns(out, _best_of(rows))


def _surface_column(what: str, code: int) -> str:
    """The snapshot's column of a player's `what` ("srv" or "ret") offset on a surface."""
    return f"{what}_surface_{code}"


def _surface_columns(code: int) -> tuple[str, str]:
    return _surface_column("srv", code), _surface_column("ret", code)


def final_serve_state(rows: pl.DataFrame, k: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """After the whole timeline: every player's ratings (`player_id`, `srv`, `ret`, and
    the offsets per surface code: `srv_surface_0`, `ret_surface_0`, ...) and each
    surface's mean serve logit (`surface_code`: SURFACES order, then any other surface;
    `mu`), what a fixture dated after the history sees (`Snapshot`)."""
    if k <= 0:  # off: nothing to carry
        rows = rows.head(0)
    _, st = _serve_pass(rows, k)
    columns: dict[str, list] = {"player_id": st.ids, "srv": st.srv, "ret": st.ret}
    for code in range(len(st.mu)):
        srv_col, ret_col = _surface_columns(code)
        columns[srv_col], columns[ret_col] = st.surface_srv[code], st.surface_ret[code]
    players = pl.DataFrame(columns, schema={
        name: pl.Int64 if name == "player_id" else pl.Float64 for name in columns})
    means = pl.DataFrame({"surface_code": list(range(len(st.mu))), "mu": st.mu},
                         schema={"surface_code": pl.Int64, "mu": pl.Float64})
    return players, means


def lookup_serve_ratings(rows: pl.DataFrame, players: pl.DataFrame, means: pl.DataFrame
                         ) -> pl.DataFrame:
    """`serve_ratings` for rows dated after the history, from `final_serve_state`: a
    player without serve statistics is at 0. The sums are taken in the full pass's
    order, so the two agree bit for bit."""
    mu = means.sort("surface_code")["mu"].to_list()
    surfaces = np.asarray(_surface_codes(rows), dtype=np.intp)
    rated = ["srv", "ret", *(c for code in range(len(mu)) for c in _surface_columns(code))]
    found = {}
    for side in ("p1", "p2"):
        joined = rows.select(pl.col(f"{side}_id").cast(pl.Int64).alias("player_id")).join(
            players, on="player_id", how="left", maintain_order="left")
        found[side] = {c: joined[c].fill_null(0.0).to_numpy() for c in rated}

    def on_surface(side: str, what: str) -> np.ndarray:
        """Each row's offset of `side` on the row's own surface."""
        table = np.column_stack([found[side][_surface_column(what, code)]
                                 for code in range(len(mu))])
        return table[np.arange(rows.height), surfaces]

    a, b = found["p1"], found["p2"]
    m = np.asarray(mu)[surfaces]
    out = np.column_stack([a["srv"], a["ret"], b["srv"], b["ret"],
                           m + a["srv"] - b["ret"], m + b["srv"] - a["ret"]])
    if SERVE_SURFACE_K:
        out[:, 4] += on_surface("p1", "srv") - on_surface("p2", "ret")
        out[:, 5] += on_surface("p2", "srv") - on_surface("p1", "ret")
    return _columns(out, _best_of(rows))
