"""Shared fixtures for the model tests: a small, fast Achterhoek world and a
cache of runs so tests that look at the same (config, regime, seed) share one
simulation.

The small world: 1.5 years of warm-up under the status quo, a 2-year
evaluation horizon, ~600 first referrals a year, 60 providers of which the
expertise regime contracts 20. Capacity is tight enough that there is real
queueing (mean waits of a few weeks, a 90th percentile well above that), and
one run takes a fraction of a second.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]
ACHTERHOEK = ROOT / "configs" / "achterhoek.yaml"

#: the small worlds start empty: the default's preloaded snapshot is of the full-size region
EMPTY_START = {"timeline.initial_state": "empty", "timeline.preload": "null"}   # read as YAML

SMALL = {
    **EMPTY_START,
    "timeline.start": "2021-01-01",
    "timeline.contract_start": "2022-07-01",
    "timeline.end": "2024-07-01",
    "demand.first_referrals_per_year": 600,
    "providers.count": 60,
    "providers.total_staff_hours_per_week": 9000,
    "regimes.expertise.contracted_providers": 20,
    "access_team.assessors": 20,
    "access_team.care_hours_per_week": 100,
}

#: configs/sweeps/smoke.yaml's region: one year of warm-up, one contract year,
#: 30 providers (a run takes a fraction of a second)
TINY = {
    **EMPTY_START,
    "timeline.start": "2021-01-01",
    "timeline.contract_start": "2022-01-01",
    "timeline.end": "2023-01-01",
    "demand.first_referrals_per_year": 300,
    "providers.count": 30,
    "providers.total_staff_hours_per_week": 4500,
    "regimes.expertise.contracted_providers": 10,
    "access_team.assessors": 10,
    "access_team.care_hours_per_week": 60,
}

REGIMES = ("product", "expertise")
RECORD_TYPES = {"completed", "dropped_out", "waiting_at_end", "in_care_at_end", "other_funder"}

#: unlimited capacity everywhere: providers, the access team's care and its
#: assessors; assessment takes a fixed instant (1e-4 days)
INFINITE = {
    "providers.total_staff_hours_per_week": 1e9,
    "access_team.care_hours_per_week": 1e9,
    "access_team.assessors": 1_000_000,
    "access_team.assessment_days": {"dist": "fixed", "value": 0.0001},
}

#: every provider-behaviour strength 0: both payments dose, extend and discharge alike
BEHAVIOUR_OFF = {"behaviour.per_unit.extension": 0.0, "behaviour.per_unit.heavier_indication": 0.0,
                 "behaviour.lump_sum.under_provision": 0.0, "behaviour.lump_sum.other_funder": 0.0}

#: the mechanisms of M1-M8 on their own: no payment behaviour, the need as judged is the
#: need, collaboration and the staff transfer mature at once
NEUTRAL = {**BEHAVIOUR_OFF, "demand.need_beyond_judged": 0.0,
           "regimes.expertise.collaboration_ramp.months_to_mature": 0}

#: the mechanisms that make the regimes differ (M6 waiting effects is not one)
REGIME_MECHANISMS = ("admin_burden", "product_fit", "expertise_match", "collaboration",
                     "budget_ceiling", "provider_transition", "selection")

_BASE: sim.Config | None = None
_CFG_CACHE: dict[str, sim.Config] = {}
_RUN_CACHE: dict[tuple[str, str, int], Any] = {}


def _key(overrides: Mapping[str, Any]) -> str:
    return json.dumps(dict(overrides), sort_keys=True, default=str)


def base_config() -> sim.Config:
    """The small Achterhoek world (loaded once)."""
    global _BASE
    if _BASE is None:
        _BASE = sim.load_config(ACHTERHOEK, overrides=SMALL)
    return _BASE


def small_config(overrides: Mapping[str, Any] | None = None) -> sim.Config:
    """The small world with extra dotted-key overrides (cached per overrides)."""
    overrides = dict(overrides or {})
    k = _key(overrides)
    if k not in _CFG_CACHE:
        _CFG_CACHE[k] = sim.with_overrides(base_config(), overrides) if overrides else base_config()
    return _CFG_CACHE[k]


def simulate(overrides: Mapping[str, Any] | None = None, regime: str = "product", seed: int = 1):
    """``sim.run`` on the small world with ``overrides``; cached, so tests that
    ask for the same run share it. Callers must not mutate the result."""
    overrides = dict(overrides or {})
    k = (_key(overrides), regime, int(seed))
    if k not in _RUN_CACHE:
        _RUN_CACHE[k] = sim.run(small_config(overrides), regime=regime, seed=int(seed))
    return _RUN_CACHE[k]


def col(table, name: str) -> np.ndarray:
    """A column of a result table as a numpy array."""
    return np.asarray(table.columns[name])


def columns_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Exact equality of two columns (NaN equals NaN in float columns)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def differing_columns(t1, t2, rows1=None, rows2=None, exclude=()) -> list[str]:
    """Names of columns that differ between two tables (optionally on row selections)."""
    out = []
    for name in t1.columns:
        if name in exclude:
            continue
        a, b = col(t1, name), col(t2, name)
        if rows1 is not None:
            a = a[rows1]
        if rows2 is not None:
            b = b[rows2]
        if not columns_equal(a, b):
            out.append(name)
    return out


@pytest.fixture(scope="session")
def small_cfg() -> sim.Config:
    return base_config()
