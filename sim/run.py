"""Run one replication of one regime and return its result as data."""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

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
                 errors: str = "raise", cache: Optional[Union[str, Path]] = None,
                 keep: Optional[Callable[[RunResult], Any]] = None) -> list:
    """Run each ``(regime, cfg)`` of ``branches`` with seed ``seed`` from ONE
    warm-up: the status quo is simulated up to the contract switch once, the
    paused model is pickled, and each branch continues a copy of it (the
    last one continues the original). Every result is identical, table for
    table, to ``run(cfg, regime, seed)`` (``tests/test_branching.py``). The
    configs must share their warm-up (:func:`sim.config.branching.same_warm_up`,
    else ValueError): they may differ in the expertise regime's terms, its
    contracts and the lump-sum behaviours.

    ``errors="return"``: a branch that raises gives its exception in the list
    instead of a RunResult (a failing warm-up, every branch). ``cache``: a
    folder of paused models (:func:`warm_up_file`); one that is there is
    loaded instead of simulated, one that is not is written. A branch's
    ``wall_seconds`` is its own time plus an equal share of the warm-up and
    the copying, so that they add up to the time spent. ``keep``: what to keep
    of each result (default all of it), applied as each branch ends, so that a
    hundred branches need not hold a hundred episode tables at once."""
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
        path = warm_up_file(cache, base_cfg, seed, check_invariants) if cache is not None else None
        state = _read_cached(path) if path is not None else None
        base = _load(state) if state is not None else None
        if base is None:            # not cached (or unreadable): simulate it
            base = build_model(base_cfg, base_regime, seed, check_invariants)
            base.warm_up()
            state = b""
            if len(branches) > 1 or path is not None:
                state = pickle.dumps(base, protocol=pickle.HIGHEST_PROTOCOL)
            if path is not None:
                _write_atomic(path, state)
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
            res = result(m, regime, time.perf_counter() - t + shared, shared_warm_up=len(branches))
            out.append(keep(res) if keep is not None else res)
        except Exception as exc:
            if errors == "raise":
                raise
            out.append(exc)
        m = None        # one finished branch at a time in memory, besides the paused original
    return out


def warm_up_file(folder: Union[str, Path], cfg: Config, seed: int, check_invariants: bool = False) -> Path:
    """Where ``folder`` keeps the paused model of ``cfg``'s warm-up with
    ``seed``: named by the warm-up key (:func:`sim.config.branching.warm_up_key`,
    with the preload snapshot's contents), the seed, the invariant checks and
    a hash of the package's source, so a changed model never loads an old
    state."""
    from .config.branching import warm_up_key
    pre = cfg.timeline.preload if cfg.timeline.initial_state == "preloaded" else None
    extra = hashlib.sha256(Path(pre).read_bytes()).hexdigest() if pre else None
    name = f"warm-up-{warm_up_key(cfg, extra)}-{int(seed)}-{int(bool(check_invariants))}-{_source_hash()}.pickle"
    return Path(folder) / name


@functools.lru_cache(maxsize=1)
def _source_hash() -> str:
    """A short hash of every module of the package (paths and contents)."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _read_cached(path: Path) -> Optional[bytes]:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _load(state: bytes) -> Optional[CareModel]:
    """A cached paused model, or None when the file does not load as one."""
    try:
        m = pickle.loads(state)
    except Exception:  # noqa: BLE001 - a damaged cache file is simulated again
        return None
    return m if isinstance(m, CareModel) and m.at_switch else None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` by a rename (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


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
