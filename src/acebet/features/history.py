"""Running per-player states read with as-of joins: form, fatigue, rankings, serve and
return, head-to-head, and the players' own attributes.

Every state is keyed by the timeline row that produced it and looked up strictly before
the row that asks, so appending later matches changes nothing earlier.
"""

from __future__ import annotations

import numpy as np
import polars as pl

SERVE_HALF_LIFE = 20  # matches: how fast the serve/return averages forget


def _share(rows: pl.DataFrame, won: str, points: str) -> pl.Series:
    """Points won / points played, only where the match has sane serve statistics.

    Divided by NumPy: Polars' division of a column without nulls can round differently
    from its division of one with nulls, so the snapshot (history alone) and the full
    pass (history and fixtures) would disagree in the last bit."""
    w = rows[won].cast(pl.Float64).to_numpy()
    n = rows[points].cast(pl.Float64).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (n >= 10) & (w >= 0) & (w <= n)
        share = np.where(ok, w / np.where(ok, n, 1.0), np.nan)
    return pl.Series(share).fill_nan(None)


def long_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per player per timeline row, from that player's side."""
    base = rows.select(
        "row", "tourney_date", "surface", "played", "is_fixture", "p1_id", "p2_id",
        pl.col("p1_won").cast(pl.Float64).alias("_won1"),
        pl.col("score").fill_null("").str.count_matches(r"\d+-\d+").cast(pl.Int32)
        .alias("sets"),
        pl.col("p1_rank"), pl.col("p2_rank"), pl.col("p1_points"), pl.col("p2_points"),
        _share(rows, "p1_sv_won", "p1_svpt").alias("_spw1"),
        _share(rows, "p2_sv_won", "p2_svpt").alias("_spw2"),
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
    long = long_rows(rows)
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
    return lookup_history(long_rows(rows), history_states(rows))


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
