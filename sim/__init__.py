"""caresim: youth care under product-based and expertise-based contracts, side by side."""
from __future__ import annotations

try:
    from importlib.metadata import version as _version
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


def load_results(path):
    """The tables of a sweep's results folder (see sim.store.load_results)."""
    from .store import load_results as _load_results
    return _load_results(path)


def run_sweep(spec, out_dir, **kwargs):
    """Run or resume a sweep spec into ``out_dir`` (see sim.sweep_runner.run_sweep)."""
    from .sweep_runner import run_sweep as _run_sweep
    return _run_sweep(spec, out_dir, **kwargs)


__all__ = ["Config", "ConfigError", "load_config", "with_overrides", "run", "compare", "RunResult",
           "Table", "REGIMES", "__version__", "load_results", "run_sweep"]
