"""caresim: youth care under product-based and expertise-based contracts, side by side.

The public API. The model and its configuration load eagerly; the experiment
layer and presentation (``compare``, ``run_sweep``, ``load_results``,
``write_report``) load on first use, so ``import sim`` stays light.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .config import Config, load_config, with_overrides
from .errors import ConfigError, InvariantError, StoreError, SweepError
from .experiment.provenance import package_version as _package_version
from .model.policy import FollowUp, Regime
from .regimes import REFORM, REGIMES, STATUS_QUO
from .run import RunResult, run, run_branches
from .table import Table

if TYPE_CHECKING:  # the lazy names below, for type checkers and editors
    from .experiment.compare import Comparison, compare
    from .experiment.store import Results, load_results
    from .experiment.sweep import run_sweep
    from .present.report import write_report

__version__ = _package_version()

#: lazily loaded: name -> module that defines it
_LAZY = {
    "compare": "sim.experiment.compare",
    "Comparison": "sim.experiment.compare",
    "run_sweep": "sim.experiment.sweep",
    "load_results": "sim.experiment.store",
    "Results": "sim.experiment.store",
    "write_report": "sim.present.report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = ["Config", "ConfigError", "SweepError", "StoreError", "InvariantError", "load_config",
           "with_overrides", "run", "run_branches", "RunResult", "Table", "REGIMES", "STATUS_QUO", "REFORM", "Regime", "FollowUp",
           "compare",
           "Comparison", "run_sweep", "load_results", "Results", "write_report", "__version__"]
