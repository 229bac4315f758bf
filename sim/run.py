"""Run one replication of one regime and return its result as data."""
from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

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
    """Simulate ``cfg`` under ``regime`` with replication seed ``seed``, from day 0.

    The status quo (product regime) runs from the start; at the contract start
    the regime under study takes over (for ``"product"`` nothing changes). With
    the same seed both regimes share the identical history up to the switch and
    the same new youths after it: :func:`run_branches` simulates that history
    once for several regimes and configs, with identical results.
    """
    t = time.perf_counter()
    m = build_model(cfg, regime, seed, check_invariants)
    m.run()
    return result(m, regime, time.perf_counter() - t)


def run_branches(branches: Sequence[tuple[str, Config]], seed: int = 1, check_invariants: bool = False,
                 errors: str = "raise") -> list:
    """Run each ``(regime, cfg)`` of ``branches`` with seed ``seed`` from ONE
    warm-up: the status quo is simulated up to the contract switch once, the
    paused model is pickled, and each branch continues a copy of it (the
    last one continues the original). Every result is identical, table for
    table, to ``run(cfg, regime, seed)`` (``tests/test_branching.py``). The
    configs must share their warm-up (:func:`sim.config.branching.same_warm_up`,
    else ValueError): they may differ in the expertise regime's terms, its
    contracts and the lump-sum behaviours.

    ``errors="return"``: a branch that raises gives its exception in the list
    instead of a RunResult (a failing warm-up, every branch). A branch's
    ``wall_seconds`` is its own time plus an equal share of the warm-up and
    the copying, so that they add up to the time spent."""
    if errors not in ("raise", "return"):
        raise ValueError(f"errors: got {errors!r}; expected 'raise' or 'return'")
    if not branches:
        return []
    from .config.branching import same_warm_up
    base_regime, base_cfg = branches[0]
    for regime, cfg in branches[1:]:
        why = same_warm_up(base_cfg, cfg)
        if why:
            raise ValueError(f"run_branches: the configs differ before the switch ({why})")
    t = time.perf_counter()
    try:
        base = build_model(base_cfg, base_regime, seed, check_invariants)
        base.warm_up()
        state = pickle.dumps(base, protocol=pickle.HIGHEST_PROTOCOL) if len(branches) > 1 else b""
    except Exception as exc:
        if errors == "raise":
            raise
        return [exc] * len(branches)
    shared = (time.perf_counter() - t) / len(branches)
    out: list = []
    for k, (regime, cfg) in enumerate(branches):
        t = time.perf_counter()
        try:
            m = base if k == len(branches) - 1 else pickle.loads(state)
            if m.at_switch:
                m.branch(cfg, regime_class(regime))
            m.go_on()
            out.append(result(m, regime, time.perf_counter() - t + shared, shared_warm_up=len(branches)))
        except Exception as exc:
            if errors == "raise":
                raise
            out.append(exc)
        m = None        # one finished branch at a time in memory, besides the paused original
    return out


def result(m: CareModel, regime: str, seconds: float, shared_warm_up: int = 1) -> RunResult:
    """The result tables and summary of a model that has run to the end."""
    episodes = m.episodes.table(m.catalogue, m.world)
    monthly = m.monthly.table(m.cfg, m.t_contract_start)
    summary = summarise(m, episodes)
    per_year = yearly(m, episodes)
    return RunResult(
        regime=regime, seed=int(m.seed), summary=summary, episodes=episodes, monthly=monthly, yearly=per_year,
        events=m.events_processed(), contract_start_day=m.t_contract_start, end_day=m.t_end,
        wall_seconds=seconds,
        extra={"valves": getattr(m.regime, "valve_uses", 0), "world_contracted": int(m.world.contracted.sum()),
               "shared_warm_up": shared_warm_up},
    )
