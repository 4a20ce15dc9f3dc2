"""Elo ratings, overall and per surface: the one honest sequential pass over the history.

K shrinks with experience, scales with the games margin of victory and the tournament
level, and is halved for retirements; walkovers, defaults and abandoned matches never
move a rating. The experience that sizes K fades after a long idle spell (EVALUATION.md,
C52), so a player back from injury is rated like a newer one until he has played again.
Ratings are read before each row, so a row never sees its own result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from acebet.domain import SURFACES
from acebet.features.sets import five_set_match, set_rate_from_three

# Evaluation switch (C33): a best-of-five match's expected score is its five-set
# probability (`over_five_sets`). Off; `train` and the snapshot refuse it, so neither the
# model metadata nor the snapshot key has to carry it.
FIVE_SETS = False
# Evaluation switch (C58): the pass also returns each side's faded experience as read
# before the row (`p1_kn`, `p2_kn`: C52's fade applied up to the row's date), and the
# model takes the smaller as a symmetric input (`model.matrix`), so the trees can pull a
# match with an uncertain rating toward even odds. Refused by `train` and the snapshot.
FADED_EXPERIENCE = False


@dataclass(frozen=True)
class EloParams:
    """FiveThirtyEight-style Elo with a K that shrinks with experience, plus our tweaks."""

    k_scale: float = 250.0
    k_offset: float = 5.0
    k_shape: float = 0.4
    surface_weight: float = 0.5        # blend of surface and overall rating
    level_k: tuple[tuple[str, float], ...] = (("G", 1.1), ("M", 1.0), ("A", 1.0),
                                              ("F", 1.0), ("D", 0.8), ("C", 0.9))
    retired_k: float = 0.5             # a retirement says less about play than a finish
    margin_weight: float = 1.0         # scale K by the games margin of victory (0: off)
    decay_days: float = 0.0            # >0: after this many idle days ratings regress...
    decay_per_year: float = 0.25       # ...toward `initial` by this share per idle year
    young_k: float = 0.0               # >0: K grows by up to this share for young players,
    young_until: float = 25.0          # ...fully at 20 and fading to nothing at this age
    rest_days: float = 120.0           # >0: after this many idle days the experience K
    rest_half_life: float = 30.0       # ...counts halves every this many more idle days
    initial: float = 1500.0

    def __post_init__(self) -> None:
        if self.rest_days < 0 or self.rest_half_life <= 0:
            raise ValueError("rest_days must be >= 0 and rest_half_life > 0")


def _games(score: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(games won by p1, games won by p2, sets) from a Sackmann score like `7-6(5) 6-3`."""
    sets = score.fill_null("").str.extract_all(r"\d+-\d+")
    first = sets.list.eval(pl.element().str.split("-").list.get(0).cast(pl.Int32)).list.sum()
    second = sets.list.eval(pl.element().str.split("-").list.get(1).cast(pl.Int32)).list.sum()
    return first, second, sets.list.len().cast(pl.Int32)


def over_five_sets(p3: float) -> float:
    """The best-of-five probability of a player whose best-of-three probability is `p3`,
    at the same set rate (`features.sets`). A rating gap read from best-of-three matches
    makes a steeper favourite over five sets; expecting the three-set odds there lets a
    favourite's Grand Slam wins raise his rating for what was only his due."""
    return five_set_match(set_rate_from_three(p3))


def young_k_factor(age: np.ndarray, params: EloParams) -> np.ndarray:
    """K multiplier by age at the match: fast risers are young, and a K sized for their
    experience alone lets their rating trail their level. 1 where the age is unknown."""
    if not params.young_k:
        return np.ones(len(age))
    youth = np.clip((params.young_until - np.nan_to_num(age, nan=99.0)) / 5.0, 0.0, 1.0)
    return 1.0 + params.young_k * youth


def elo_pass(
    rows: pl.DataFrame, params: EloParams = EloParams(), start: pl.DataFrame | None = None,
    ages: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pre-row ratings and experience for both players, and the ratings after the last row.

    Walkovers, defaults and fixtures read the ratings but never move them. `start` (a
    previous pass's final ratings) lets fixtures be rated without replaying the history.
    `ages` (p1's and p2's age at each row) drive `young_k`; without them K ignores age.
    `build` passes them; the scoring snapshot does not yet, so `young_k` is for
    evaluation runs until a candidate using it is adopted (EVALUATION.md, C4).
    """
    seen = pl.concat([rows["p1_id"], rows["p2_id"]])
    if start is not None:
        seen = pl.concat([seen, start["player_id"]])
    ids = seen.unique().sort().to_list()
    index = {pid: i for i, pid in enumerate(ids)}
    n_players = len(index)
    n_surfaces = len(SURFACES) + 1
    elo = [params.initial] * n_players
    n = [0] * n_players
    kn = [0.0] * n_players  # experience that sizes K: n, faded by long idle spells
    last = [None] * n_players  # day of the last played match, for inactivity decay
    s_elo = [[params.initial] * n_players for _ in range(n_surfaces)]
    s_n = [[0] * n_players for _ in range(n_surfaces)]
    s_kn = [[0.0] * n_players for _ in range(n_surfaces)]
    if start is not None:
        for row in start.iter_rows(named=True):
            i = index[row["player_id"]]
            elo[i], n[i], last[i], kn[i] = row["elo"], row["n"], row["last"], row["kn"]
            for s in range(n_surfaces):
                s_elo[s][i], s_n[s][i] = row[f"selo{s}"], row[f"sn{s}"]
                s_kn[s][i] = row[f"skn{s}"]
    p1 = [index[x] for x in rows["p1_id"].to_list()]
    p2 = [index[x] for x in rows["p2_id"].to_list()]
    codes = {s: i for i, s in enumerate(SURFACES)}
    surface = rows["surface"].replace_strict(codes, default=len(SURFACES),
                                             return_dtype=pl.Int8).to_list()
    k_mult = rows["tourney_level"].replace_strict(dict(params.level_k), default=1.0,
                                                  return_dtype=pl.Float64).to_numpy().copy()
    k_mult[rows["retired"].to_numpy()] *= params.retired_k
    if params.margin_weight:
        gw, gl, _ = _games(pl.col("score"))
        share = rows.select(((gw - gl) / (gw + gl)).fill_nan(0).fill_null(0)).to_series()
        k_mult *= 1.0 + params.margin_weight * share.clip(0, 1).to_numpy()
    if ages is None:
        ages = (np.full(rows.height, np.nan), np.full(rows.height, np.nan))
    ya = young_k_factor(np.asarray(ages[0], dtype=np.float64), params).tolist()
    yb = young_k_factor(np.asarray(ages[1], dtype=np.float64), params).tolist()
    played = rows["played"].to_list()
    five = (rows["best_of"] == 5).to_list() if FIVE_SETS else [False] * rows.height
    won = rows["p1_won"].fill_null(True).to_list()
    days = rows["tourney_date"].cast(pl.Int32).to_list()
    out = np.empty((rows.height, 8), dtype=np.float64)
    faded = np.empty((rows.height, 2), dtype=np.float64) if FADED_EXPERIENCE else None
    ks, ko, kp = params.k_scale, params.k_offset, params.k_shape
    decay, per_day, mean = params.decay_days, params.decay_per_year / 365.0, params.initial
    rest, rest_half_life = params.rest_days, params.rest_half_life

    def kept(p: int, day: int) -> float:
        """Share of a player's distance from the mean kept after an idle spell."""
        idle = day - last[p] - decay if last[p] is not None else 0
        return 1.0 - min(0.9, idle * per_day) if idle > 0 else 1.0

    def fade_by(p: int, day: int) -> float:
        """Share of a player's experience that still sizes K after his idle spell."""
        idle = day - last[p] - rest if last[p] is not None else 0
        return 0.5 ** (idle / rest_half_life) if rest and idle > 0 else 1.0

    def rested(p: int, day: int) -> None:
        """Fade the experience that sizes K after a long idle spell: a player back from
        injury may not be the player he was, so his rating should move like a newer
        player's until he has played again (a Glicko deviation, grown by idle time)."""
        fade = fade_by(p, day)
        if fade < 1.0:
            kn[p] *= fade
            for s in range(n_surfaces):
                s_kn[s][p] *= fade

    for i in range(rows.height):
        a, b = p1[i], p2[i]
        se, sn, skn = s_elo[surface[i]], s_n[surface[i]], s_kn[surface[i]]
        ea, eb, sa, sb = elo[a], elo[b], se[a], se[b]
        if decay:  # read-time regression: nothing is stored until a match is played
            ka, kb = kept(a, days[i]), kept(b, days[i])
            ea, sa = mean + (ea - mean) * ka, mean + (sa - mean) * ka
            eb, sb = mean + (eb - mean) * kb, mean + (sb - mean) * kb
        out[i] = (ea, eb, sa, sb, n[a], n[b], sn[a], sn[b])
        if faded is not None:
            faded[i] = (kn[a] * fade_by(a, days[i]), kn[b] * fade_by(b, days[i]))
        if not played[i]:
            continue
        if rest:
            rested(a, days[i])
            rested(b, days[i])
        result = 1.0 if won[i] else 0.0
        mult = k_mult[i]
        expected = 1.0 / (1.0 + 10.0 ** ((eb - ea) / 400.0))
        if five[i]:
            expected = over_five_sets(expected)
        ma, mb = mult * ya[i], mult * yb[i]
        elo[a] = ea + ma * ks / (kn[a] + ko) ** kp * (result - expected)
        elo[b] = eb - mb * ks / (kn[b] + ko) ** kp * (result - expected)
        expected = 1.0 / (1.0 + 10.0 ** ((sb - sa) / 400.0))
        if five[i]:
            expected = over_five_sets(expected)
        se[a] = sa + ma * ks / (skn[a] + ko) ** kp * (result - expected)
        se[b] = sb - mb * ks / (skn[b] + ko) ** kp * (result - expected)
        n[a] += 1
        n[b] += 1
        sn[a] += 1
        sn[b] += 1
        kn[a] += 1.0
        kn[b] += 1.0
        skn[a] += 1.0
        skn[b] += 1.0
        last[a] = last[b] = days[i]
    names = ["p1_elo", "p2_elo", "p1_selo", "p2_selo", "p1_n", "p2_n", "p1_sn", "p2_sn"]
    pre = pl.DataFrame({name: out[:, j] for j, name in enumerate(names)})
    if faded is not None:
        pre = pre.with_columns(pl.Series("p1_kn", faded[:, 0]), pl.Series("p2_kn", faded[:, 1]))
    final = pl.DataFrame({
        "player_id": pl.Series(ids, dtype=pl.Int64), "elo": elo, "n": n,
        "last": pl.Series(last, dtype=pl.Int32), "kn": pl.Series(kn, dtype=pl.Float64),
        **{f"selo{s}": s_elo[s] for s in range(n_surfaces)},
        **{f"sn{s}": s_n[s] for s in range(n_surfaces)},
        **{f"skn{s}": pl.Series(s_kn[s], dtype=pl.Float64) for s in range(n_surfaces)},
    }, schema_overrides={"n": pl.Int64, **{f"sn{s}": pl.Int64 for s in range(n_surfaces)}})
    return pre, final


def elo_probability(feats: pl.DataFrame, params: EloParams = EloParams()) -> np.ndarray:
    """The Elo baseline: P(p1 wins) from the surface blend alone."""
    w = params.surface_weight
    diff = ((1 - w) * (feats["p1_elo"] - feats["p2_elo"])
            + w * (feats["p1_selo"] - feats["p2_selo"])).to_numpy()
    return 1.0 / (1.0 + np.power(10.0, -diff / 400.0))
