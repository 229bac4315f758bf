"""Design points of a sweep: a grid, coupled factors and a quasi-random sample
(Latin hypercube or Sobol from ``scipy.stats.qmc``), combined as a product."""
from __future__ import annotations

import itertools
import math
import warnings
from typing import Any, Mapping, Optional, Sequence

from ..errors import SweepWarning

# ``Factors`` and ``Sample`` below are the spec types of sim.experiment.spec (which imports this module)


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of the value lists (the first key varies slowest)."""
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def coupled_points(groups: Sequence[Mapping[str, Sequence[Any]]]) -> list[dict[str, Any]]:
    """Each group's lists zipped; the groups combined as a cartesian product."""
    per_group = []
    for g in groups:
        keys = list(g)
        per_group.append([dict(zip(keys, vals)) for vals in zip(*(g[k] for k in keys))])
    return [_merge(combo) for combo in itertools.product(*per_group)]


def sample_points(sample: Optional[Sample], integer: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The Latin hypercube or Sobol design scaled to the bounds. Keys in
    ``sample.integer`` or ``integer`` get integers, each value of [low, high]
    (inclusive) covering an equal share of the unit interval."""
    if sample is None:
        return [{}]
    from scipy.stats import qmc

    keys = list(sample.bounds)
    d = len(keys)
    if sample.method == "lhs":
        engine = _engine(qmc.LatinHypercube, d, sample.seed)
        unit = engine.random(sample.n)
    else:
        m = math.ceil(math.log2(sample.n))
        if 2 ** m != sample.n:
            warnings.warn(f"factors.sample.n: {sample.n} is not a power of 2; Sobol uses {2 ** m} points",
                          SweepWarning, stacklevel=2)
        engine = _engine(qmc.Sobol, d, sample.seed)
        unit = engine.random_base2(m)
    ints = set(sample.integer) | set(integer)
    points = []
    for row in unit:
        point: dict[str, Any] = {}
        for k, u in zip(keys, row):
            lo, hi = sample.bounds[k]
            if k in ints:
                lo_i, hi_i = math.ceil(lo), math.floor(hi)
                point[k] = int(min(hi_i, lo_i + math.floor(float(u) * (hi_i - lo_i + 1))))
            else:
                point[k] = float(lo + float(u) * (hi - lo))
        points.append(point)
    return points


def _engine(cls, d: int, seed: int):
    try:
        return cls(d, scramble=True, rng=seed)
    except TypeError:  # scipy < 1.15
        return cls(d, scramble=True, seed=seed)


def design(factors: Factors, integer: Sequence[str] = ()) -> list[dict[str, Any]]:
    """All design points: grid x coupled x sample (each point a key -> value dict)."""
    blocks = [grid_points(factors.grid), coupled_points(factors.coupled), sample_points(factors.sample, integer)]
    return [_merge(combo) for combo in itertools.product(*blocks)]


def _merge(dicts) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for d in dicts:
        out.update(d)
    return out
