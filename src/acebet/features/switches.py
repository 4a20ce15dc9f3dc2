"""The evaluation switches (EVALUATION.md): candidates measured by `acebet evaluate` and
left off. Neither the snapshot nor the model metadata carries them, so a stored model or
snapshot built with one on would disagree with what scoring computes; `train` and the
snapshot refuse them."""

from __future__ import annotations

from acebet.features import elo as FE
from acebet.features import market as FM
from acebet.features import serve as FS


def switches_on() -> list[str]:
    """The evaluation switches not at their default (off), by name."""
    from acebet.model import matrix as MX  # the model imports the features: not at the top

    values = {
        "features.market.MARKET_SURFACE": FM.MARKET_SURFACE,
        "features.market.MARKET_NEWCOMER": FM.MARKET_NEWCOMER,
        "features.market.MARKET_FAST_K": FM.MARKET_FAST_K,
        "features.market.MARKET_BY_ROUND": FM.MARKET_BY_ROUND,
        "features.market.MARKET_BEST_OF_3": FM.MARKET_BEST_OF_3,
        "features.market.MARKET_INFO": FM.MARKET_INFO,
        "features.market.MARKET_RESULT_K": FM.MARKET_RESULT_K,
        "features.elo.FIVE_SETS": FE.FIVE_SETS,
        "features.elo.FADED_EXPERIENCE": FE.FADED_EXPERIENCE,
        "features.serve.SERVE_NEWCOMER": FS.SERVE_NEWCOMER,
        "features.serve.SERVE_SKIP_RETIRED": FS.SERVE_SKIP_RETIRED,
        "model.matrix.LAYOFF_INPUT": MX.LAYOFF_INPUT,
        "model.matrix.SEASON_INPUT": MX.SEASON_INPUT,
    }
    return [name for name, value in values.items() if value]


def require_default_features(what: str) -> None:
    """Refuse to build `what` (a stored model or snapshot) with a switch on."""
    if switches_on():
        raise ValueError(f"evaluation switches are on ({', '.join(switches_on())}): "
                         f"{what} is built with the default features only")
