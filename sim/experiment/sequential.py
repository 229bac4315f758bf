"""The sequential rule of a sweep: per design point, more replications until
the paired-t interval of the target metric is narrow enough (Law's rule)."""
from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..analysis.stats import replications_needed, sequential_done, t_interval

Key = tuple[str, str, int]


def point_samples(rows: Mapping[Key, Mapping[str, Any]], counts: Mapping[str, int], regimes: Sequence[str],
                  metric: str) -> dict[str, np.ndarray]:
    """Per design point, the paired differences of ``metric`` (last regime
    minus first) over replications ``0..counts[point]-1``; with one regime,
    its values. A failed or missing run gives NaN."""
    out = {}
    pair = (regimes[0], regimes[-1]) if len(regimes) > 1 else (regimes[0],)
    for point, n in counts.items():
        vals = [np.array([_metric(rows.get((point, regime, r)), metric) for r in range(n)], dtype=float)
                for regime in pair]
        out[point] = vals[1] - vals[0] if len(vals) == 2 else vals[0]
    return out


def half_widths(rows: Mapping[Key, Mapping[str, Any]], counts: Mapping[str, int], regimes: Sequence[str],
                metric: str, level: float = 0.95) -> dict[str, float]:
    """Per design point, the half-width of the paired-t CI of ``metric`` (see
    :func:`point_samples`); NaN with fewer than two usable pairs."""
    out = {}
    for point, x in point_samples(rows, counts, regimes, metric).items():
        ci = t_interval(x, level)
        out[point] = float(ci.half_width) if ci.n >= 2 else math.nan
    return out


def _metric(row: Optional[Mapping[str, Any]], metric: str) -> float:
    if row is None or row.get("error"):
        return math.nan
    try:
        return float(row.get(metric, math.nan))
    except (TypeError, ValueError):
        return math.nan


def next_counts(counts: Mapping[str, int], samples: Mapping[str, Any], half_width: float, maximum: int,
                step: Optional[int] = None, level: float = 0.95, relative: bool = False) -> dict[str, int]:
    """The sequential decision, per design point, from its ``samples`` (paired
    differences over its ``counts[point]`` replications, NaN dropped).

    A point is done when its paired-t half-width is at most ``half_width``
    (Law's stopping rule, ``sim.analysis.stats.sequential_done``; relative: a fraction
    of |mean|) or it has ``maximum`` replications. Otherwise it gets ``step``
    more replications, or without ``step`` as many as Law's approximate
    number of replications says (``sim.analysis.stats.replications_needed``, at least
    one more); never more than ``maximum``. The sweep stops when nothing
    changes."""
    alpha = 1.0 - level
    out = {}
    for point, n in counts.items():
        x = np.asarray(samples.get(point, []), dtype=float)
        x = x[~np.isnan(x)]
        if n >= maximum or _done(x, half_width, alpha, relative):
            out[point] = n
        elif step:
            out[point] = min(n + step, maximum)
        else:
            out[point] = min(maximum, max(n + 1, _needed(x, half_width, alpha, relative, maximum, n)))
    return out


def _done(x: np.ndarray, half_width: float, alpha: float, relative: bool) -> bool:
    return bool(sequential_done(x, half_width, alpha=alpha, relative=relative))


def _needed(x: np.ndarray, half_width: float, alpha: float, relative: bool, maximum: int, n: int) -> int:
    if len(x) < 2:
        return 2 * n  # no estimate yet: double
    try:
        need = int(replications_needed(x, half_width, alpha=alpha, relative=relative, max_n=maximum))
    except ValueError:
        return 2 * n
    return need + (n - len(x))  # replications lost to failed runs count too
