"""Run one replication of one regime and return its result as data."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .config import Config
from .model.metrics import summarise, yearly
from .model.process import CareModel
from .regimes import REGIMES, STATUS_QUO, regime_class
from .table import Table


@dataclass
class RunResult:
    """One replication of one regime."""

    regime: str
    seed: int
    summary: dict[str, float]
    episodes: Table
    monthly: Table
    yearly: Table      # the summary metrics per full contract year
    events: int
    contract_start_day: float
    end_day: float
    wall_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def build_model(cfg: Config, regime: str = "product", seed: int = 1, check_invariants: bool = False,
                model: type[CareModel] = CareModel) -> CareModel:
    """The care model of ``cfg`` under ``regime`` (a registered name) with the
    status quo before the contract start, not yet run. ``model`` may be a
    subclass of ``CareModel`` (e.g. one that records more)."""
    return model(cfg, regime_class(regime), seed, status_quo=REGIMES[STATUS_QUO],
                 check_invariants=check_invariants)


def run(cfg: Config, regime: str = "product", seed: int = 1, check_invariants: bool = False) -> RunResult:
    """Simulate ``cfg`` under ``regime`` with replication seed ``seed``.

    The status quo (product regime) runs from the start; at the contract start
    the regime under study takes over (for ``"product"`` nothing changes). With
    the same seed both regimes share the identical history up to the switch and
    the same new youths after it.
    """
    t = time.perf_counter()
    m = build_model(cfg, regime, seed, check_invariants)
    m.run()
    episodes = m.episodes.table(m.catalogue, m.world)
    monthly = m.monthly.table(m.cfg, m.t_contract_start)
    summary = summarise(m, episodes)
    per_year = yearly(m, episodes)
    return RunResult(
        regime=regime, seed=int(seed), summary=summary, episodes=episodes, monthly=monthly, yearly=per_year,
        events=m.events_processed(), contract_start_day=m.t_contract_start, end_day=m.t_end,
        wall_seconds=time.perf_counter() - t,
        extra={"valves": getattr(m.regime, "valve_uses", 0), "world_contracted": int(m.world.contracted.sum())},
    )
