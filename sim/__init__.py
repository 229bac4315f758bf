"""caresim: youth care under product-based and expertise-based contracts, side by side."""
from __future__ import annotations

try:
    from importlib.metadata import PackageNotFoundError, version as _version
    __version__ = _version("caresim")
except Exception:  # pragma: no cover - not installed
    __version__ = "0.1.0"

from .config import Config, ConfigError, load_config, with_overrides
from .regimes import REGIMES as _REGIMES
from .results import RunResult, Table
from .runner import run

REGIMES = tuple(_REGIMES)


def compare(cfg, replications: int = 10, seed: int = 1, workers: int = 1, progress: bool = False):
    """Both regimes on common random numbers, paired over replications (see sim.experiment)."""
    from .experiment import compare as _compare
    return _compare(cfg, replications=replications, seed=seed, workers=workers, progress=progress)


__all__ = ["Config", "ConfigError", "load_config", "with_overrides", "run", "compare", "RunResult",
           "Table", "REGIMES", "__version__"]
