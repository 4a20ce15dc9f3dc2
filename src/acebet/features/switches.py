"""The evaluation switches (EVALUATION.md): candidates measured by `acebet evaluate` and
left off. Neither the snapshot nor the model metadata carries them, so a stored model or
snapshot built with one on would disagree with what scoring computes; `train` and the
snapshot refuse them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from acebet.errors import InputError, first_line
from acebet.features import elo as FE
from acebet.features import market as FM
from acebet.features import serve as FS

# The evaluation switches: candidates measured and left off (each named in its
# EVALUATION.md heading). Any of them on: `train` and the snapshot refuse.
EVALUATION_SWITCHES = [
    "features.market.MARKET_SURFACE", "features.market.MARKET_NEWCOMER",
    "features.market.MARKET_FAST_K", "features.market.MARKET_BY_ROUND",
    "features.market.MARKET_BEST_OF_3", "features.market.MARKET_INFO",
    "features.market.MARKET_RESULT_K", "features.elo.FIVE_SETS",
    "features.elo.FADED_EXPERIENCE", "features.serve.SERVE_NEWCOMER",
    "features.serve.SERVE_SKIP_RETIRED", "model.matrix.LAYOFF_INPUT",
    "model.matrix.SEASON_INPUT", "model.matrix.AGE_INPUT",
    "model.matrix.STRENGTH_INPUT", "model.linear.SURFACE_BLOCKS",
]


def switches_on() -> list[str]:
    """The evaluation switches not at their default (off), by name."""
    known = settable()
    return [name for name in EVALUATION_SWITCHES if getattr(*known[name])]


def require_default_features(what: str) -> None:
    """Refuse to build `what` (a stored model or snapshot) with a switch on."""
    if switches_on():
        raise ValueError(f"evaluation switches are on ({', '.join(switches_on())}): "
                         f"{what} is built with the default features only")


def settable() -> dict[str, tuple[object, str]]:
    """What `acebet evaluate --switch NAME=VALUE` may set, by the names EVALUATION.md
    uses: the evaluation switches above, the adopted candidates' own settings (so a
    candidate from before one of them can be run again) and the training settings
    candidates changed. The Elo's parameters are not here: they are defaults of
    `EloParams`, fixed when the package is imported."""
    from acebet import blend as B
    from acebet import model as M
    from acebet.model import linear as L
    from acebet.model import matrix as MX
    from acebet.model import youth as Y

    names = {
        FM: ["MARKET_K", "MARKET_SURFACE", "MARKET_NEWCOMER", "MARKET_FAST_K",
             "MARKET_BY_ROUND", "MARKET_BEST_OF_3", "MARKET_INFO", "MARKET_RESULT_K"],
        FE: ["FIVE_SETS", "FADED_EXPERIENCE"],
        FS: ["SERVE_K", "SERVE_SURFACE_K", "SERVE_NEWCOMER", "SERVE_SKIP_RETIRED"],
        MX: ["LAYOFF_INPUT", "SEASON_INPUT", "AGE_INPUT", "STRENGTH_INPUT"],
        M: ["RECENCY_HALF_LIFE_YEARS", "UPDATE_TREES", "BASE_MARGIN", "YOUTH_AGE"],
        L: ["WEIGHT", "SURFACE_BLOCKS"],
        B: ["PRIOR_MATCHES", "RECORD_MONTHS"],
        Y: ["RECORD_MONTHS"],
    }
    prefix = {FM: "features.market", FE: "features.elo", FS: "features.serve",
              MX: "model.matrix", M: "model", Y: "model.youth", L: "model.linear", B: "blend"}
    return {f"{prefix[module]}.{attr}": (module, attr)
            for module, attrs in names.items() for attr in attrs}


def _parse(text: str, current: object) -> object:
    """`text` as a value of `current`'s type (a switch keeps its type)."""
    if isinstance(current, bool):
        words = {"true": True, "on": True, "1": True, "false": False, "off": False, "0": False}
        if text.lower() not in words:
            raise ValueError("expected true or false")
        return words[text.lower()]
    value: float = int(text) if isinstance(current, int) else float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("expected a finite number")
    if value < 0:  # every setting is a step, weight, count or length
        raise ValueError("expected a number of 0 or more")
    return value


@contextmanager
def switched(assignments: Sequence[str]) -> Iterator[dict[str, object]]:
    """Set each `NAME=VALUE` for the duration of the block (all parsed before any is
    set), then put every one back; yields what was set, by name."""
    known = settable()
    chosen: dict[str, tuple[object, str, object]] = {}
    for text in assignments:
        name, sep, raw = text.partition("=")
        name = name.strip().removeprefix("acebet.")
        if not sep or name not in known:
            raise InputError(f"--switch {text!r}: expected NAME=VALUE with NAME one of "
                             f"{', '.join(known)}")
        module, attr = known[name]
        try:
            value = _parse(raw.strip(), getattr(module, attr))
        except ValueError as exc:
            raise InputError(f"--switch {text!r}: {first_line(exc)}") from None
        chosen[name] = (module, attr, value)
    saved = {name: getattr(module, attr) for name, (module, attr, _) in chosen.items()}
    try:
        for module, attr, value in chosen.values():
            setattr(module, attr, value)
        yield {name: value for name, (_, _, value) in chosen.items()}
    finally:
        for name, (module, attr, _) in chosen.items():
            setattr(module, attr, saved[name])
