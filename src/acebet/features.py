"""Point-in-time features for every match and fixture, in one pass over the history.

All rows (played matches and fixtures to score) are put on one timeline in the order
they were known. Each row's features are read from the state *before* it: a sequential
Elo pass for the ratings (the one honest Python loop), and Polars as-of joins for form,
fatigue, head-to-head and rankings. Appending later rows cannot change earlier features,
because nothing ever looks forward.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from acebet.domain import LEVELS, NO_PLAY, ROUND_ORDER, SURFACES, TOUR_LEVELS  # noqa: F401
from acebet.store import query_frame

# Rows of the timeline: matches (result known) and fixtures (result unknown).
TIMELINE_COLUMNS = {
    "row_key": pl.String, "tourney_date": pl.Date, "tourney_id": pl.String,
    "match_num": pl.Int64, "tourney_level": pl.String, "surface": pl.String,
    "round": pl.String, "best_of": pl.Int32, "p1_id": pl.Int64, "p2_id": pl.Int64,
    "p1_won": pl.Boolean, "score": pl.String, "p1_rank": pl.Int32, "p2_rank": pl.Int32,
    "p1_points": pl.Int32, "p2_points": pl.Int32, "is_fixture": pl.Boolean,
    # serve statistics of a played match (unknown for fixtures and older matches)
    "p1_svpt": pl.Int32, "p1_sv_won": pl.Int32, "p2_svpt": pl.Int32, "p2_sv_won": pl.Int32,
}
SERVE_HALF_LIFE = 20  # matches: how fast the serve/return averages forget


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
    initial: float = 1500.0


def load_matches(
    con: duckdb.DuckDBPyConnection, *, until: dt.date | None = None
) -> pl.DataFrame:
    """Played matches from the store as timeline rows (p1 = winner), known by `until`."""
    sql = """
        SELECT tourney_id || '#' || match_num AS row_key, tourney_date, tourney_id,
               match_num::BIGINT AS match_num, tourney_level, surface, round, best_of,
               winner_id AS p1_id, loser_id AS p2_id, true AS p1_won, score,
               winner_rank AS p1_rank, loser_rank AS p2_rank,
               winner_rank_points AS p1_points, loser_rank_points AS p2_points,
               false AS is_fixture,
               w_svpt AS p1_svpt, w_1stWon + w_2ndWon AS p1_sv_won,
               l_svpt AS p2_svpt, l_1stWon + l_2ndWon AS p2_sv_won
        FROM matches
        WHERE winner_id <> loser_id AND (? IS NULL OR tourney_date <= ?)
    """
    return query_frame(con, sql, [until, until]).cast(TIMELINE_COLUMNS)


def load_players(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return query_frame(con, "SELECT player_id, hand, dob, height FROM players")


def timeline(matches: pl.DataFrame, fixtures: pl.DataFrame | None = None) -> pl.DataFrame:
    """Matches and fixtures in the order their information became known.

    Within a date, fixtures come before played matches (Sackmann dates every round of an
    event with its Monday, so a fixture on that date must not see the event's results),
    and a tournament's rounds are in draw order; `row` is the position every as-of
    lookup uses.
    """
    frames = [_timeline_frame(matches)]
    if fixtures is not None and fixtures.height:
        frames.append(_timeline_frame(fixtures))
    rows = pl.concat(frames)
    return (
        rows.with_columns(
            pl.col("round").replace_strict(ROUND_ORDER, default=0, return_dtype=pl.Int8)
            .alias("_round_order"),
            (~pl.col("is_fixture") & ~pl.col("score").fill_null("").str.contains(NO_PLAY))
            .alias("played"),
            pl.col("score").fill_null("").str.contains("RET").alias("retired"),
        )
        .sort("tourney_date", ~pl.col("is_fixture"), "tourney_id", "_round_order",
              "match_num", "row_key", maintain_order=True)
        .drop("_round_order")
        .with_row_index("row")
        .with_columns(pl.col("row").cast(pl.Int64))
    )


def _timeline_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Timeline columns in order; serve statistics may be absent (fixtures, old data)."""
    absent = [c for c in TIMELINE_COLUMNS if c not in frame.columns]
    return frame.with_columns(pl.lit(None).alias(c) for c in absent).select(
        list(TIMELINE_COLUMNS)).cast(TIMELINE_COLUMNS)


def _games(score: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(games won by p1, games won by p2, sets) from a Sackmann score like `7-6(5) 6-3`."""
    sets = score.fill_null("").str.extract_all(r"\d+-\d+")
    first = sets.list.eval(pl.element().str.split("-").list.get(0).cast(pl.Int32)).list.sum()
    second = sets.list.eval(pl.element().str.split("-").list.get(1).cast(pl.Int32)).list.sum()
    return first, second, sets.list.len().cast(pl.Int32)


def elo_pass(
    rows: pl.DataFrame, params: EloParams = EloParams(), start: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pre-row ratings and experience for both players, and the ratings after the last row.

    Walkovers, defaults and fixtures read the ratings but never move them. `start` (a
    previous pass's final ratings) lets fixtures be rated without replaying the history.
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
    last = [None] * n_players  # day of the last played match, for inactivity decay
    s_elo = [[params.initial] * n_players for _ in range(n_surfaces)]
    s_n = [[0] * n_players for _ in range(n_surfaces)]
    if start is not None:
        for row in start.iter_rows(named=True):
            i = index[row["player_id"]]
            elo[i], n[i], last[i] = row["elo"], row["n"], row["last"]
            for s in range(n_surfaces):
                s_elo[s][i], s_n[s][i] = row[f"selo{s}"], row[f"sn{s}"]
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
    played = rows["played"].to_list()
    won = rows["p1_won"].fill_null(True).to_list()
    days = rows["tourney_date"].cast(pl.Int32).to_list()
    out = np.empty((rows.height, 8), dtype=np.float64)
    ks, ko, kp = params.k_scale, params.k_offset, params.k_shape
    decay, per_day, mean = params.decay_days, params.decay_per_year / 365.0, params.initial

    def kept(p: int, day: int) -> float:
        """Share of a player's distance from the mean kept after an idle spell."""
        idle = day - last[p] - decay if last[p] is not None else 0
        return 1.0 - min(0.9, idle * per_day) if idle > 0 else 1.0

    for i in range(rows.height):
        a, b = p1[i], p2[i]
        se, sn = s_elo[surface[i]], s_n[surface[i]]
        ea, eb, sa, sb = elo[a], elo[b], se[a], se[b]
        if decay:  # read-time regression: nothing is stored until a match is played
            ka, kb = kept(a, days[i]), kept(b, days[i])
            ea, sa = mean + (ea - mean) * ka, mean + (sa - mean) * ka
            eb, sb = mean + (eb - mean) * kb, mean + (sb - mean) * kb
        out[i] = (ea, eb, sa, sb, n[a], n[b], sn[a], sn[b])
        if not played[i]:
            continue
        result = 1.0 if won[i] else 0.0
        mult = k_mult[i]
        expected = 1.0 / (1.0 + 10.0 ** ((eb - ea) / 400.0))
        elo[a] = ea + mult * ks / (n[a] + ko) ** kp * (result - expected)
        elo[b] = eb - mult * ks / (n[b] + ko) ** kp * (result - expected)
        expected = 1.0 / (1.0 + 10.0 ** ((sb - sa) / 400.0))
        se[a] = sa + mult * ks / (sn[a] + ko) ** kp * (result - expected)
        se[b] = sb - mult * ks / (sn[b] + ko) ** kp * (result - expected)
        n[a] += 1
        n[b] += 1
        sn[a] += 1
        sn[b] += 1
        last[a] = last[b] = days[i]
    names = ["p1_elo", "p2_elo", "p1_selo", "p2_selo", "p1_n", "p2_n", "p1_sn", "p2_sn"]
    pre = pl.DataFrame({name: out[:, j] for j, name in enumerate(names)})
    final = pl.DataFrame({
        "player_id": pl.Series(ids, dtype=pl.Int64), "elo": elo, "n": n,
        "last": pl.Series(last, dtype=pl.Int32),
        **{f"selo{s}": s_elo[s] for s in range(n_surfaces)},
        **{f"sn{s}": s_n[s] for s in range(n_surfaces)},
    }, schema_overrides={"n": pl.Int64, **{f"sn{s}": pl.Int64 for s in range(n_surfaces)}})
    return pre, final


def _share(won: str, points: str) -> pl.Expr:
    """Points won / points played, only where the match has sane serve statistics."""
    ok = (pl.col(points) >= 10) & (pl.col(won) >= 0) & (pl.col(won) <= pl.col(points))
    return pl.when(ok).then(pl.col(won) / pl.col(points))


def _long(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per player per timeline row, from that player's side."""
    base = rows.select(
        "row", "tourney_date", "surface", "played", "is_fixture", "p1_id", "p2_id",
        pl.col("p1_won").cast(pl.Float64).alias("_won1"),
        pl.col("score").fill_null("").str.count_matches(r"\d+-\d+").cast(pl.Int32)
        .alias("sets"),
        pl.col("p1_rank"), pl.col("p2_rank"), pl.col("p1_points"), pl.col("p2_points"),
        _share("p1_sv_won", "p1_svpt").alias("_spw1"),
        _share("p2_sv_won", "p2_svpt").alias("_spw2"),
    )

    def side(me: str, other: str, number: int, won: pl.Expr) -> pl.DataFrame:
        return base.select(
            "row", "tourney_date", "surface", "played", "is_fixture", "sets",
            pl.col(f"{me}_id").alias("player"), pl.col(f"{other}_id").alias("opponent"),
            won.alias("won"),
            pl.col(f"{me}_rank").alias("rank"), pl.col(f"{me}_points").alias("points"),
            pl.col(f"_spw{me[1]}").alias("spw"), (1.0 - pl.col(f"_spw{other[1]}")).alias("rpw"),
            pl.lit(number, pl.Int8).alias("side"),
        )

    return pl.concat([side("p1", "p2", 1, pl.col("_won1")),
                      side("p2", "p1", 2, 1.0 - pl.col("_won1"))]).sort("row")


def _before(queries: pl.DataFrame, states: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """For each query row, the latest state strictly before it (as-of on `row`)."""
    return queries.join_asof(
        states, on="row", by=by, strategy="backward", allow_exact_matches=False,
        check_sortedness=False,
    )


def history_states(rows: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Running per-player (and per-pair) state after each played row, keyed by `row`.

    Looking these up strictly before a row gives that row's features; keeping only their
    last rows gives everything a fixture after the history needs (see `Snapshot`).
    """
    long = _long(rows)
    played = long.filter(pl.col("played"))
    states = played.sort("player", "row").with_columns(
        pl.col("won").rolling_sum(10, min_samples=1).over("player").alias("won10"),
        pl.col("won").rolling_sum(25, min_samples=1).over("player").alias("won25"),
        pl.int_range(1, pl.len() + 1).over("player").alias("cum_n"),
        pl.col("sets").cum_sum().over("player").alias("cum_sets"),
    ).select(
        "row", "player", "won10", "won25", "cum_n", "cum_sets",
        pl.col("tourney_date").alias("last_date"),
    ).sort("row")
    surface = (
        played.sort("player", "surface", "row")
        .with_columns(
            pl.col("won").rolling_sum(10, min_samples=1).over("player", "surface").alias("swon10"),
            pl.int_range(1, pl.len() + 1).over("player", "surface").alias("s_n"),
        )
        .select("row", "player", "surface", "swon10", "s_n")
        .sort("row")
    )
    serve = (
        played.filter(pl.col("spw").is_not_null() & pl.col("rpw").is_not_null())
        .sort("player", "row")
        .with_columns(
            pl.col("spw").ewm_mean(half_life=SERVE_HALF_LIFE).over("player").alias("spw_avg"),
            pl.col("rpw").ewm_mean(half_life=SERVE_HALF_LIFE).over("player").alias("rpw_avg"),
        )
        .select("row", "player", "spw_avg", "rpw_avg")
        .sort("row")
    )
    rank = (
        long.filter(~pl.col("is_fixture") & pl.col("rank").is_not_null())
        .select("row", "player", pl.col("rank").alias("last_rank"),
                pl.col("points").alias("last_points"))
        .sort("row")
    )
    per_date = (
        states.group_by("player", "last_date").agg(pl.col("cum_n").max(), pl.col("cum_sets").max())
        .sort("player", "last_date")
    )
    pair = played.filter(pl.col("side") == 1).select(
        "row", pl.min_horizontal("player", "opponent").alias("lo"),
        pl.max_horizontal("player", "opponent").alias("hi"),
        pl.when(pl.col("player") < pl.col("opponent")).then(pl.col("won"))
        .otherwise(1.0 - pl.col("won")).alias("lo_won"),
    ).sort("lo", "hi", "row").with_columns(
        pl.col("lo_won").cum_sum().over("lo", "hi").alias("lo_wins"),
        pl.int_range(1, pl.len() + 1).over("lo", "hi").alias("h2h_n"),
    ).select("row", "lo", "hi", "lo_wins", "h2h_n").sort("row")
    return {"states": states, "surface": surface, "serve": serve, "rank": rank,
            "per_date": per_date, "pair": pair}


HISTORY_KEYS = {"states": ["player"], "surface": ["player", "surface"], "serve": ["player"],
                "rank": ["player"], "pair": ["lo", "hi"]}


def lookup_history(long: pl.DataFrame, st: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per-side history features for each row of `long`, from the states before it."""
    queries = long.select("row", "player", "opponent", "side", "surface", "tourney_date",
                          "rank", "points")
    feats = _before(queries, st["states"], ["player"])
    feats = _before(feats, st["surface"], ["player", "surface"])
    feats = _before(feats, st["rank"], ["player"])
    feats = _before(feats, st["serve"], ["player"])
    # matches and sets in the last 7/14/30 days: the running totals now, minus those at
    # the end of the last date outside the window
    per_date = st["per_date"].sort("last_date")
    for days in (7, 14, 30):
        cutoff = (pl.col("tourney_date") - pl.duration(days=days + 1)).alias("_cutoff")
        edge = (
            feats.select("row", "player", cutoff).sort("_cutoff")
            .join_asof(per_date.rename({"cum_n": "_n_edge", "cum_sets": "_s_edge"}),
                       left_on="_cutoff", right_on="last_date", by="player",
                       strategy="backward", check_sortedness=False)
            .select("row", "player", "_n_edge", "_s_edge")
        )
        feats = feats.join(edge, on=["row", "player"], how="left",
                           maintain_order="left").with_columns(
            (pl.col("cum_n").fill_null(0) - pl.col("_n_edge").fill_null(0)).alias(f"m{days}"),
            (pl.col("cum_sets").fill_null(0) - pl.col("_s_edge").fill_null(0)).alias(f"sets{days}"),
        ).drop("_n_edge", "_s_edge")
    # head to head: running wins of each player of an unordered pair
    feats = _before(
        feats.with_columns(pl.min_horizontal("player", "opponent").alias("lo"),
                           pl.max_horizontal("player", "opponent").alias("hi")),
        st["pair"], ["lo", "hi"],
    ).with_columns(
        pl.when(pl.col("player") == pl.col("lo")).then(pl.col("lo_wins"))
        .otherwise(pl.col("h2h_n") - pl.col("lo_wins")).fill_null(0).alias("h2h_wins"),
        pl.col("h2h_n").fill_null(0),
    )
    feats = feats.with_columns(
        (pl.col("won10") / pl.min_horizontal(pl.col("cum_n"), 10)).alias("form10"),
        (pl.col("won25") / pl.min_horizontal(pl.col("cum_n"), 25)).alias("form25"),
        (pl.col("swon10") / pl.min_horizontal(pl.col("s_n"), 10)).alias("sform10"),
        (pl.col("tourney_date") - pl.col("last_date")).dt.total_days().alias("days_since"),
        pl.coalesce("rank", "last_rank").alias("rank_now"),
        pl.coalesce("points", "last_points").alias("points_now"),
    )
    keep = ["form10", "form25", "sform10", "days_since", "m7", "m14", "m30", "sets7",
            "sets14", "sets30", "rank_now", "points_now", "spw_avg", "rpw_avg", "h2h_wins",
            "h2h_n"]
    wide = feats.select("row", "side", *keep)
    p1 = wide.filter(pl.col("side") == 1).drop("side").rename({c: f"p1_{c}" for c in keep})
    p2 = wide.filter(pl.col("side") == 2).drop("side", "h2h_n").rename(
        {c: f"p2_{c}" for c in keep if c != "h2h_n"})
    return p1.join(p2, on="row").rename({"p1_h2h_n": "h2h_n"}).sort("row")


def history_features(rows: pl.DataFrame) -> pl.DataFrame:
    """Form, fatigue, activity, ranking, serve/return and head-to-head, per side, known
    before each row."""
    return lookup_history(_long(rows), history_states(rows))


def player_features(rows: pl.DataFrame, players: pl.DataFrame) -> pl.DataFrame:
    """Age at the match, height and handedness for both sides (known facts, not results)."""
    info = players.select(
        pl.col("player_id"), pl.col("dob"), pl.col("height").cast(pl.Float64),
        (pl.col("hand") == "L").cast(pl.Float64).alias("left"),
    )
    out = rows.select("row", "tourney_date", "p1_id", "p2_id")
    for side in ("p1", "p2"):
        out = out.join(
            info.rename({c: f"{side}_{c}" for c in ("dob", "height", "left")}),
            left_on=f"{side}_id", right_on="player_id", how="left",
        ).with_columns(
            ((pl.col("tourney_date") - pl.col(f"{side}_dob")).dt.total_days() / 365.25)
            .alias(f"{side}_age")
        )
    return out.select("row", "p1_age", "p2_age", "p1_height", "p2_height",
                      "p1_left", "p2_left").sort("row")


def build(rows: pl.DataFrame, players: pl.DataFrame, params: EloParams = EloParams()
          ) -> pl.DataFrame:
    """Every per-side feature for every timeline row, in timeline order."""
    ratings, _ = elo_pass(rows, params)
    return pl.concat(
        [rows, ratings,
         history_features(rows).drop("row"),
         player_features(rows, players).drop("row")],
        how="horizontal",
    )


def _log_rank(col: str) -> pl.Expr:
    return pl.col(col).fill_null(2000).clip(1, 2000).cast(pl.Float64).log()


# Model inputs. Antisymmetric ones flip sign when the players swap; symmetric ones don't.
ANTISYMMETRIC = [
    "elo_diff", "selo_diff", "blend_diff", "log_n_diff", "log_sn_diff", "log_rank_diff",
    "log_points_diff", "rank_missing_diff", "age_diff", "height_diff", "left_diff",
    "form10_diff", "form25_diff", "sform10_diff", "log_days_since_diff", "m7_diff",
    "m14_diff", "m30_diff", "sets14_diff", "h2h_diff", "spw_diff", "rpw_diff", "sr_diff",
]
SYMMETRIC = ["surface_code", "level_code", "round_code", "best_of", "h2h_n", "min_log_n"]
FEATURES = ANTISYMMETRIC + SYMMETRIC


def model_matrix(feats: pl.DataFrame, params: EloParams = EloParams(), *, swap: bool = False
                 ) -> pl.DataFrame:
    """The model's inputs for each row, from p1's point of view (or p2's with `swap`)."""
    a, b = ("p2", "p1") if swap else ("p1", "p2")
    w = params.surface_weight

    def diff(name: str, fn=lambda e: e) -> pl.Expr:  # noqa: ANN001
        return (fn(pl.col(f"{a}_{name}")) - fn(pl.col(f"{b}_{name}"))).cast(pl.Float64)

    log1p = lambda e: e.cast(pl.Float64).log1p()  # noqa: E731
    return feats.select(
        diff("elo").alias("elo_diff"),
        diff("selo").alias("selo_diff"),
        ((1 - w) * diff("elo") + w * diff("selo")).alias("blend_diff"),
        diff("n", log1p).alias("log_n_diff"),
        diff("sn", log1p).alias("log_sn_diff"),
        (_log_rank(f"{a}_rank_now") - _log_rank(f"{b}_rank_now")).alias("log_rank_diff"),
        (pl.col(f"{a}_points_now").fill_null(0).cast(pl.Float64).log1p()
         - pl.col(f"{b}_points_now").fill_null(0).cast(pl.Float64).log1p())
        .alias("log_points_diff"),
        (pl.col(f"{a}_rank_now").is_null().cast(pl.Float64)
         - pl.col(f"{b}_rank_now").is_null().cast(pl.Float64)).alias("rank_missing_diff"),
        diff("age").alias("age_diff"),
        diff("height").alias("height_diff"),
        diff("left").alias("left_diff"),
        diff("form10").alias("form10_diff"),
        diff("form25").alias("form25_diff"),
        diff("sform10").alias("sform10_diff"),
        diff("days_since", log1p).alias("log_days_since_diff"),
        diff("m7").alias("m7_diff"),
        diff("m14").alias("m14_diff"),
        diff("m30").alias("m30_diff"),
        diff("sets14").alias("sets14_diff"),
        diff("h2h_wins").alias("h2h_diff"),
        diff("spw_avg").alias("spw_diff"),
        diff("rpw_avg").alias("rpw_diff"),
        (diff("spw_avg") + diff("rpw_avg")).alias("sr_diff"),
        pl.col("surface").replace_strict({s: i for i, s in enumerate(SURFACES)}, default=None,
                                         return_dtype=pl.Float64).alias("surface_code"),
        pl.col("tourney_level").replace_strict({v: i for i, v in enumerate(LEVELS)},
                                               default=None, return_dtype=pl.Float64)
        .alias("level_code"),
        pl.col("round").replace_strict(ROUND_ORDER, default=None, return_dtype=pl.Float64)
        .alias("round_code"),
        pl.col("best_of").cast(pl.Float64),
        pl.col("h2h_n").cast(pl.Float64),
        pl.min_horizontal(pl.col(f"{a}_n"), pl.col(f"{b}_n")).cast(pl.Float64).log1p()
        .alias("min_log_n"),
    )


def elo_probability(feats: pl.DataFrame, params: EloParams = EloParams()) -> np.ndarray:
    """The Elo baseline: P(p1 wins) from the surface blend alone."""
    w = params.surface_weight
    diff = ((1 - w) * (feats["p1_elo"] - feats["p2_elo"])
            + w * (feats["p1_selo"] - feats["p2_selo"])).to_numpy()
    return 1.0 / (1.0 + np.power(10.0, -diff / 400.0))




def swap_sides(feats: pl.DataFrame) -> pl.DataFrame:
    """The same rows seen from the other player: every p1_/p2_ column trades places."""
    renames = {}
    for col in feats.columns:
        if col == "p1_won":
            continue
        if col.startswith("p1_"):
            renames[col] = "p2_" + col[3:]
        elif col.startswith("p2_"):
            renames[col] = "p1_" + col[3:]
    swapped = feats.rename(renames).select(feats.columns)
    return swapped.with_columns(
        pl.when(pl.col("p1_won").is_null()).then(None).otherwise(~pl.col("p1_won"))
        .alias("p1_won")
    ) if "p1_won" in feats.columns else swapped


FEATURE_CODE_VERSION = 3  # bump when features change, so stored snapshots are rebuilt


@dataclass
class Snapshot:
    """What fixtures dated after the history need, so a daily run does not replay 390K
    matches: the final ratings and the last row of every running state.

    Looking fixtures up in it gives exactly what `build` gives them on the full timeline
    (tests check this bit for bit), because every lookup wants the latest state before
    the fixture, and for a fixture after the history that is the last one.
    """

    fingerprint: str
    next_row: int
    history_end: dt.date | None
    ratings: pl.DataFrame
    tables: dict[str, pl.DataFrame]

    WINDOW_DAYS = 40  # longest fatigue window (30 days) plus margin

    @classmethod
    def from_history(cls, matches: pl.DataFrame, fingerprint: str,
                     params: EloParams = EloParams()) -> Snapshot:
        rows = timeline(matches)
        _, ratings = elo_pass(rows, params)
        states = history_states(rows)
        end = rows["tourney_date"].max() if rows.height else None
        tables = {
            name: states[name].sort("row").unique(subset=keys, keep="last", maintain_order=True)
            for name, keys in HISTORY_KEYS.items()
        }
        per_date = states["per_date"]
        if end is not None:
            edge = end - dt.timedelta(days=cls.WINDOW_DAYS)
            recent = per_date.filter(pl.col("last_date") >= edge)
            older = (per_date.filter(pl.col("last_date") < edge).sort("last_date")
                     .unique(subset=["player"], keep="last"))
            per_date = pl.concat([older, recent])
        tables["per_date"] = per_date
        return cls(fingerprint, rows.height, end, ratings, tables)

    def covers(self, dates: pl.Series) -> bool:
        """Whether every fixture comes after the whole history on the timeline: dated
        after its last day (a fixture on that day must not see that day's results)."""
        return self.history_end is None or bool((dates > self.history_end).all())

    def build(self, fixtures: pl.DataFrame, players: pl.DataFrame,
              params: EloParams = EloParams()) -> pl.DataFrame:
        """`build` for fixture rows after the history, from the snapshot alone."""
        rows = timeline(fixtures.head(0), fixtures).with_columns(
            pl.col("row") + self.next_row)
        ratings, _ = elo_pass(rows, params, start=self.ratings)
        return pl.concat(
            [rows, ratings,
             lookup_history(_long(rows), self.tables).drop("row"),
             player_features(rows, players).drop("row")],
            how="horizontal",
        )

    def to_parts(self) -> dict[str, bytes]:
        """Parquet bytes per table, plus a JSON header, for storing in the database."""
        parts = {"ratings": _parquet(self.ratings)}
        parts.update({f"table:{k}": _parquet(v) for k, v in self.tables.items()})
        parts["meta"] = json.dumps({
            "next_row": self.next_row,
            "history_end": self.history_end.isoformat() if self.history_end else None,
        }).encode()
        return parts

    @classmethod
    def from_parts(cls, fingerprint: str, parts: dict[str, bytes]) -> Snapshot:
        meta = json.loads(parts["meta"])
        end = meta["history_end"]
        return cls(
            fingerprint, meta["next_row"], dt.date.fromisoformat(end) if end else None,
            pl.read_parquet(io.BytesIO(parts["ratings"])),
            {k.split(":", 1)[1]: pl.read_parquet(io.BytesIO(v))
             for k, v in parts.items() if k.startswith("table:")},
        )


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def history_fingerprint(con: duckdb.DuckDBPyConnection, params: EloParams = EloParams()) -> str:
    """Changes whenever a match is added, changed or removed, or the feature code changes."""
    from acebet.ingest import MATCH_COLUMNS

    row = ", ".join(f'"{c}"' for c in MATCH_COLUMNS)  # every column, named by constants
    count, end, digest = con.execute(
        f"SELECT count(*), max(tourney_date), coalesce(sum(hash({row})), 0) FROM matches"  # noqa: S608
    ).fetchall()[0]
    key = f"{count}|{end}|{digest}|{FEATURE_CODE_VERSION}|{params}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]
