"""Tennis vocabulary in one place: surfaces, tournament levels, rounds and the scores
that record no play.

Features, fixture validation, backtests and the demo all read these; the SQL views that
need them (the no-play pattern in `prediction_outcomes`) are checked against this module
by a test, so the two cannot drift apart.
"""

from __future__ import annotations

import polars as pl

# Order within an event, for features ("how deep into the draw") and validation.
ROUND_ORDER = {
    "Q1": 1, "Q2": 2, "Q3": 3, "Q4": 4, "ER": 5, "R128": 6, "R64": 7, "R32": 8, "R16": 9,
    "RR": 10, "QF": 11, "SF": 12, "BR": 13, "F": 14,
}
# Qualifying rounds by name; every other round is the main draw ("QF" is a quarterfinal).
QUALIFYING_ROUNDS = ("Q1", "Q2", "Q3", "Q4")
MAIN_DRAW_ROUNDS = tuple(r for r in ROUND_ORDER if r not in QUALIFYING_ROUNDS)
SURFACES = ("Hard", "Clay", "Grass", "Carpet")
# Every level code the history uses (S: satellites/futures, Q: qualifying in older files).
LEVELS = ("G", "M", "A", "F", "D", "C", "S", "Q")
# Levels a fixture may have: Grand Slams, Masters, other tour events, Finals, Davis Cup,
# Challengers.
FIXTURE_LEVELS = ("G", "M", "A", "F", "D", "C")
# Tour-level main draws: where the market is the yardstick and backtests are scored.
TOUR_LEVELS = ("G", "M", "A", "F")


def tour_main_draw() -> pl.Expr:
    """True for a tour-level main-draw match: the matches a backtest is scored on."""
    return (pl.col("tourney_level").is_in(TOUR_LEVELS)
            & ~pl.col("round").is_in(QUALIFYING_ROUNDS).fill_null(False))


# Scores that say nothing (or too little) about play: walkovers, defaults (disqualified),
# unknown or abandoned results. These rows never move ratings, form or fatigue, and
# their predictions settle as void.
NO_PLAY = r"(?i)W/O|walkover|DEF|default|^UNK|ABD|abandoned|unfinished|^NA$|^\s*$"
