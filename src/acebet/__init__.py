"""AceBet: scheduled batch forecasts of ATP tennis matches."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("acebet")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
