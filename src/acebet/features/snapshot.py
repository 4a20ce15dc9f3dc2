"""The end-of-history snapshot: final ratings and the last row of every running state, so
a daily run looks fixtures up instead of replaying the whole history."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass

import duckdb
import polars as pl

from acebet.db import match_odds
from acebet.db.history import matches_digest
from acebet.features import market as FM
from acebet.features import serve as FS
from acebet.features.elo import EloParams, elo_pass
from acebet.features.history import (
    HISTORY_KEYS,
    history_states,
    long_rows,
    lookup_history,
    player_features,
)
from acebet.features.switches import require_default_features
from acebet.features.timeline import timeline

FEATURE_CODE_VERSION = 7  # bump when features change, so stored snapshots are rebuilt


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
    market: pl.DataFrame  # final market-implied ratings (features.market)
    serve: pl.DataFrame  # final serve and return ratings and offsets (features.serve)
    serve_means: pl.DataFrame  # and the surfaces' mean serve logits

    WINDOW_DAYS = 40  # longest fatigue window (30 days) plus margin

    @classmethod
    def from_history(cls, matches: pl.DataFrame, fingerprint: str,
                     params: EloParams = EloParams(), market: pl.DataFrame | None = None
                     ) -> Snapshot:
        """From the played matches and the closing probabilities of those with odds
        (`features.load_market`; none: every market rating stays at 0)."""
        require_default_features("the snapshot")
        rows = timeline(matches)
        _, ratings = elo_pass(rows, params)
        if market is None:
            market = pl.DataFrame(schema={"tourney_id": pl.String, "match_num": pl.Int64,
                                          "market_prob": pl.Float64})
        final_market = FM.final_market_ratings(rows, market, FM.MARKET_K)
        serve, serve_means = FS.final_serve_state(rows, FS.SERVE_K)
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
        return cls(fingerprint, rows.height, end, ratings, tables, final_market, serve,
                   serve_means)

    def covers(self, dates: pl.Series) -> bool:
        """Whether every fixture comes after the whole history on the timeline: dated
        after its last day (a fixture on that day must not see that day's results)."""
        return self.history_end is None or bool((dates > self.history_end).all())

    def build(self, fixtures: pl.DataFrame, players: pl.DataFrame,
              params: EloParams = EloParams()) -> pl.DataFrame:
        """`build` for fixture rows after the history, from the snapshot alone, with the
        market-implied rating (which `build` adds only when given the odds)."""
        rows = timeline(fixtures.head(0), fixtures).with_columns(
            pl.col("row") + self.next_row)
        ratings, _ = elo_pass(rows, params, start=self.ratings)
        parts = [rows, ratings, lookup_history(long_rows(rows), self.tables).drop("row"),
                 player_features(rows, players).drop("row"),
                 FM.lookup_market_ratings(rows, self.market)]
        if FS.SERVE_K > 0:
            parts.append(FS.lookup_serve_ratings(rows, self.serve, self.serve_means))
        return pl.concat(parts, how="horizontal")

    def to_parts(self) -> dict[str, bytes]:
        """Parquet bytes per table, plus a JSON header, for storing in the database."""
        parts = {"ratings": _parquet(self.ratings), "market": _parquet(self.market),
                 "serve": _parquet(self.serve), "serve_means": _parquet(self.serve_means)}
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
            pl.read_parquet(io.BytesIO(parts["market"])),
            pl.read_parquet(io.BytesIO(parts["serve"])),
            pl.read_parquet(io.BytesIO(parts["serve_means"])),
        )


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def history_fingerprint(con: duckdb.DuckDBPyConnection, params: EloParams = EloParams()) -> str:
    """Changes whenever a match or its odds are added, changed or removed, or the feature
    code changes."""
    count, end, digest = matches_digest(con)
    odds_count, odds_digest = match_odds.digest(con)
    key = (f"{count}|{end}|{digest}|{odds_count}|{odds_digest}|{FM.MARKET_K}|{FS.SERVE_K}|"
           f"{FS.SERVE_SURFACE_K}|{FEATURE_CODE_VERSION}|{params}")
    return hashlib.sha256(key.encode()).hexdigest()[:24]
