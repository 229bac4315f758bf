"""Statistics over replications: confidence intervals, paired differences under
common random numbers, the number of replications needed, MSER-5 warm-up
detection and Bonferroni adjustment.

Plain functions, usable from notebooks. Inputs may be numpy arrays, lists,
``sim.Table``, pandas ``DataFrame``/``Series`` or dicts of columns; pandas is
optional. Table-valued results come back as a pandas ``DataFrame`` when the
input was a DataFrame, and as a ``sim.Table`` otherwise (``.to_pandas()``
converts).

Notation: ``x_1..x_n`` replications of one output, ``xbar`` their mean,
``s^2 = sum (x_i - xbar)^2 / (n - 1)``, ``t_{k,p}`` the p-quantile of Student's
t with k degrees of freedom, ``alpha = 1 - level``.

* t-interval: ``xbar +- t_{n-1,1-alpha/2} * s / sqrt(n)``.
* paired-t interval of b - a (pairs matched on the replication, which shares
  its seed across regimes): the t-interval of ``d_i = b_i - a_i``.
* CRN variance reduction: ``1 - Var(d) / (Var(a) + Var(b))``, the share of
  variance of the estimated difference removed compared with running the two
  regimes on independent streams (where ``Var(b - a) = Var(a) + Var(b)``).
  ``Var(d) = Var(a) + Var(b) - 2 rho sd(a) sd(b)``, so with equal variances the
  reduction equals the correlation ``rho``. The equivalent factor
  ``(Var(a) + Var(b)) / Var(d)`` is how many independent replications give the
  precision of one paired replication.
* Bonferroni: ``m`` intervals each at level ``1 - alpha/m`` hold jointly with
  probability at least ``1 - alpha``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Optional, Sequence

import numpy as np
from scipy import special

from ..model.metrics import METRICS

__all__ = [
    "MIN_PAIRS", "few_pairs", "Interval", "t_interval", "paired_interval", "half_width", "bonferroni",
    "summarise_runs", "paired_differences", "crn_variance_reduction",
    "replications_needed", "sequential_done", "sequential", "Sequential",
    "Mser", "mser", "mser5",
]


# --------------------------------------------------------------------------- intervals
#: fewer pairs (or replications) than this and an interval is not to be relied on: the
#: t-interval is wide and rests on the normality of very few values (tables warn)
MIN_PAIRS = 5


def few_pairs(n: int, what: str = "pairs") -> str:
    """The warning for an interval on ``n`` pairs (or ``what``: replications)
    ("" when there are enough, or none: no values, no interval)."""
    if n >= MIN_PAIRS or n == 0:
        return ""
    return f"{n} {what} (fewer than {MIN_PAIRS}): interval not to be relied on"


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    sd: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0


def _t_quantile(df, p):
    """``t_{df,p}``, the p-quantile of Student's t (vectorised over df)."""
    return special.stdtrit(df, p)


def t_interval(x, level: float = 0.95) -> Interval:
    """Student-t confidence interval of the mean of ``x`` (NaNs dropped).

    ``xbar +- t_{n-1,(1+level)/2} * s / sqrt(n)``; low/high are NaN for n < 2.
    """
    x = _vector(x)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, math.nan, 1)
    sd = float(x.std(ddof=1))
    h = float(_t_quantile(n - 1, 0.5 + level / 2.0)) * sd / math.sqrt(n)
    return Interval(mean, mean - h, mean + h, sd, n)


def paired_interval(a, b, level: float = 0.95) -> Interval:
    """Paired-t interval of mean(b - a) over replications where both are defined."""
    a, b = _vector(a), _vector(b)
    ok = ~(np.isnan(a) | np.isnan(b))
    return t_interval(b[ok] - a[ok], level)


def half_width(values, alpha: float = 0.05) -> float:
    """Half-width ``t_{n-1,1-alpha/2} * s / sqrt(n)`` of the t-interval of the
    mean of ``values`` (NaNs dropped); inf for fewer than 2 values."""
    x = _vector(values)
    x = x[~np.isnan(x)]
    n = len(x)
    if n < 2:
        return math.inf
    return float(_t_quantile(n - 1, 1.0 - alpha / 2.0)) * float(x.std(ddof=1)) / math.sqrt(n)


def bonferroni(level: float, m: int) -> float:
    """Per-interval level so that ``m`` intervals hold jointly with probability
    at least ``level``: ``1 - (1 - level) / m`` (Bonferroni's inequality)."""
    if m < 1:
        raise ValueError("m must be at least 1")
    if not 0.0 < level < 1.0:
        raise ValueError("level must be strictly between 0 and 1")
    return 1.0 - (1.0 - level) / m


def _adjusted_level(level: float, adjust: Optional[str], m: int) -> float:
    if adjust in (None, "none", False):
        return level
    if adjust == "bonferroni":
        return bonferroni(level, max(int(m), 1))
    raise ValueError(f"adjust: got {adjust!r}; expected None or 'bonferroni'")


def crn_variance_reduction(a, b) -> float:
    """``1 - Var(b - a) / (Var(a) + Var(b))`` over the pairs where both are defined:
    the share of variance of the estimated difference removed by common random
    numbers compared with independent sampling (equals the correlation when the
    two variances are equal). NaN when fewer than 2 pairs or no variance."""
    a, b = _vector(a), _vector(b)
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    if len(a) < 2:
        return math.nan
    va, vb, vd = a.var(ddof=1), b.var(ddof=1), (b - a).var(ddof=1)
    return float(1.0 - vd / (va + vb)) if va + vb > 0 else math.nan


# --------------------------------------------------------------------------- tables of runs
def summarise_runs(runs, metrics: Optional[Sequence[str]] = None, by: Optional[Sequence[str]] = None,
                   level: float = 0.95, adjust: Optional[str] = None, m: Optional[int] = None,
                   drop_errors: bool = True):
    """Mean, sd, n and t-CI of each metric per group of runs.

    ``runs``: one row per run (a runs table from a sweep or ``cmp.runs``).
    ``metrics``: columns to summarise (default: every ``sim.model.metrics.METRICS``
    key present). ``by``: grouping columns (default ``("point", "regime")``,
    leaving out those the table lacks). Rows with a non-empty ``error`` are
    dropped when ``drop_errors``. ``adjust="bonferroni"`` widens every interval
    to level ``1 - (1 - level)/m`` with ``m`` the number of metrics (or the
    given ``m``).

    Returns one row per group and metric with columns ``*by, metric, n, mean,
    sd, se, ci_low, ci_high, half_width, level``: ``mean +- t_{n-1,(1+level)/2} * sd/sqrt(n)``.
    """
    cols = _columns(runs)
    if drop_errors:
        cols = _ok_rows(cols)
    by = _columns_named(cols, by, ("point", "regime"), "group-by")
    metrics = _columns_named(cols, metrics, METRICS, "metric")
    lvl = _adjusted_level(level, adjust, m if m is not None else len(metrics))
    rows = []
    for key, idx in _groups(cols, by):
        for metric in metrics:
            x = _vector(cols[metric][idx])
            ci = t_interval(x, lvl)
            se = ci.sd / math.sqrt(ci.n) if ci.n > 1 else math.nan
            rows.append({**dict(zip(by, key)), "metric": metric, "n": ci.n, "mean": ci.mean, "sd": ci.sd,
                         "se": se, "ci_low": ci.low, "ci_high": ci.high, "half_width": ci.half_width,
                         "level": lvl})
    return _result(rows, runs, [*by, "metric", "n", "mean", "sd", "se", "ci_low", "ci_high", "half_width",
                                "level"])


PAIRED_COLUMNS = ["metric", "a", "b", "n", "mean_a", "mean_b", "sd_a", "sd_b", "diff_mean", "diff_sd",
                  "diff_ci_low", "diff_ci_high", "diff_half_width", "rel_diff", "p_value", "corr",
                  "crn_variance_reduction", "crn_factor", "level"]


#: the default pair of :func:`paired_differences`: ``sim.regimes.STATUS_QUO`` and
#: ``sim.regimes.REFORM`` (spelled out because analysis never imports the regimes;
#: tests/test_api.py checks they agree)
DEFAULT_PAIR = ("product", "expertise")


def paired_differences(runs, metrics: Optional[Sequence[str]] = None, a: str = DEFAULT_PAIR[0],
                       b: str = DEFAULT_PAIR[1], by: Optional[Sequence[str]] = None, level: float = 0.95,
                       adjust: Optional[str] = None, m: Optional[int] = None, pair_on: str = "replication",
                       drop_errors: bool = True):
    """Paired difference ``b - a`` between two regimes per design point and metric
    (the one implementation behind ``comparison.csv`` of ``caresim compare``
    and the report's ``paired.csv``).

    Runs of regime ``a`` and ``b`` are matched on ``pair_on`` (the replication,
    which fixes the seed, so a pair shares its random numbers) within each group
    of ``by`` (default ``("point",)`` when the table has a point column, else
    the whole table). Pairs where either value is NaN are left out.

    Columns: ``*by, metric, a, b, n`` (pairs), ``mean_a, mean_b, sd_a, sd_b``,
    ``diff_mean, diff_sd``, the paired-t interval ``diff_ci_low, diff_ci_high,
    diff_half_width`` (``dbar +- t_{n-1,(1+level)/2} s_d/sqrt(n)``),
    ``rel_diff = diff_mean / |mean_a|``, the two-sided paired-t ``p_value``,
    ``corr`` (Pearson correlation of a and b over pairs),
    ``crn_variance_reduction = 1 - Var(d) / (Var(a) + Var(b))`` and
    ``crn_factor = (Var(a) + Var(b)) / Var(d)``, the number of independent
    replications per regime that would give the precision of one paired
    replication (so ``1 - 1/crn_factor`` of the replications are saved), and
    ``level`` (after any Bonferroni adjustment over the ``m`` metrics).
    """
    cols = _columns(runs)
    if drop_errors:
        cols = _ok_rows(cols)
    for need in ("regime", pair_on):
        if need not in cols:
            raise KeyError(f"runs table has no {need!r} column")
    by = _columns_named(cols, by, ("point",), "group-by")
    metrics = _columns_named(cols, metrics, METRICS, "metric")
    lvl = _adjusted_level(level, adjust, m if m is not None else len(metrics))
    regime = np.asarray(cols["regime"]).astype(str)
    rows = []
    for key, idx in _groups(cols, by):
        ia, ib = idx[regime[idx] == a], idx[regime[idx] == b]
        if len(ia) == 0 or len(ib) == 0:
            continue
        ra, rb = _pair_keys(cols[pair_on][ia], a), _pair_keys(cols[pair_on][ib], b)
        common = [k for k in ra if k in rb]
        pa = np.array([ra[k] for k in common], dtype=int)
        pb = np.array([rb[k] for k in common], dtype=int)
        for metric in metrics:
            xa = _vector(cols[metric][ia[pa]]) if len(pa) else np.array([])
            xb = _vector(cols[metric][ib[pb]]) if len(pb) else np.array([])
            ok = ~(np.isnan(xa) | np.isnan(xb))
            xa, xb = xa[ok], xb[ok]
            rows.append({**dict(zip(by, key)), "metric": metric, "a": a, "b": b,
                         **_paired_row(xa, xb, lvl)})
    return _result(rows, runs, [*by, *PAIRED_COLUMNS])


def _paired_row(xa: np.ndarray, xb: np.ndarray, level: float) -> dict:
    n = len(xa)
    d = xb - xa
    ci = t_interval(d, level)
    nan = math.nan
    out = {"n": n, "mean_a": float(xa.mean()) if n else nan, "mean_b": float(xb.mean()) if n else nan,
           "sd_a": nan, "sd_b": nan, "diff_mean": ci.mean, "diff_sd": ci.sd, "diff_ci_low": ci.low,
           "diff_ci_high": ci.high, "diff_half_width": ci.half_width, "rel_diff": nan, "p_value": nan,
           "corr": nan, "crn_variance_reduction": nan, "crn_factor": nan, "level": level}
    if n and out["mean_a"] != 0 and math.isfinite(out["mean_a"]):
        out["rel_diff"] = ci.mean / abs(out["mean_a"])
    if n < 2:
        return out
    va, vb, vd = float(xa.var(ddof=1)), float(xb.var(ddof=1)), float(d.var(ddof=1))
    out["sd_a"], out["sd_b"] = math.sqrt(va), math.sqrt(vb)
    if va > 0 and vb > 0:
        out["corr"] = float(np.corrcoef(xa, xb)[0, 1])
    if va + vb > 0:
        out["crn_variance_reduction"] = 1.0 - vd / (va + vb)
        out["crn_factor"] = (va + vb) / vd if vd > 0 else math.inf
    if vd > 0:
        t = ci.mean / math.sqrt(vd / n)
        out["p_value"] = float(2.0 * special.stdtr(n - 1, -abs(t)))
    elif n:
        out["p_value"] = 1.0 if ci.mean == 0 else 0.0
    return out


def _pair_keys(values, regime: str) -> dict:
    keys: dict = {}
    for i, v in enumerate(np.asarray(values).tolist()):
        if v in keys:
            raise ValueError(f"regime {regime!r} has two runs with the same pairing key {v!r} in one group")
        keys[v] = i
    return keys


# --------------------------------------------------------------------------- replications needed (Law)
def replications_needed(values, half_width: float, alpha: float = 0.05, relative: bool = False,
                        max_n: int = 100_000) -> int:
    """Replications needed for a confidence-interval half-width, estimated from
    a pilot of ``n`` replications (Law, *Simulation Modeling and Analysis*,
    section 9.4.1, the "approximate number of replications").

    Absolute precision ``beta = half_width``:
    ``n*(beta) = min{ i >= n : t_{i-1,1-alpha/2} * sqrt(s^2(n) / i) <= beta }``.
    Relative precision (``relative=True``, ``half_width = gamma``, e.g. 0.05
    for 5% of the mean): the same with ``beta = gamma' * |xbar(n)|`` where
    ``gamma' = gamma / (1 + gamma)`` is Law's adjusted relative error, so that
    the achieved relative error is at most gamma.

    ``s^2(n)`` is held at its pilot value, so this is an estimate; use
    :func:`sequential` (or :func:`sequential_done` as the stopping rule) for the
    sequential procedure that guarantees the half-width on the data. Returns at
    least the pilot size, and ``max_n`` when even ``max_n`` would not do.
    """
    x = _vector(values)
    x = x[~np.isnan(x)]
    n = len(x)
    if n < 2:
        raise ValueError("need a pilot of at least 2 replications")
    beta = _target(x, half_width, relative)
    s = float(x.std(ddof=1))
    if s == 0.0:
        return n
    if not beta > 0:
        return max_n
    start = n
    while start <= max_n:
        stop = min(max_n, max(2 * start, start + 1024))
        i = np.arange(start, stop + 1)
        ok = _t_quantile(i - 1, 1.0 - alpha / 2.0) * s / np.sqrt(i) <= beta
        if ok.any():
            return int(i[np.argmax(ok)])
        start = stop + 1
    return max_n


def sequential_done(values, half_width: float, alpha: float = 0.05, relative: bool = False,
                    min_n: int = 2) -> bool:
    """Stopping rule of Law's sequential procedure (section 9.4.1): stop once
    ``n >= min_n`` and ``t_{n-1,1-alpha/2} * s(n) / sqrt(n) <= beta``, with
    ``beta = half_width`` (absolute) or ``beta = gamma/(1+gamma) * |xbar(n)|``
    (relative, ``half_width = gamma``). NaNs are dropped."""
    x = _vector(values)
    x = x[~np.isnan(x)]
    n = len(x)
    if n < max(2, min_n):
        return False
    return _half_width_of(x, alpha) <= _target(x, half_width, relative)


@dataclass
class Sequential:
    """Outcome of :func:`sequential`: the values drawn, whether the target was met."""

    values: np.ndarray
    done: bool
    half_width: float
    target: float
    alpha: float

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def interval(self) -> Interval:
        return t_interval(self.values, 1.0 - self.alpha)


def sequential(draw: Callable[[int], float], half_width: float, alpha: float = 0.05, relative: bool = False,
               pilot: int = 10, max_n: int = 1000) -> Sequential:
    """Law's sequential procedure: take ``pilot`` replications
    (``draw(0) .. draw(pilot-1)``), then add one replication at a time
    (``draw(n)``) until :func:`sequential_done` holds or ``max_n`` is reached."""
    if pilot < 2:
        raise ValueError("pilot must be at least 2")
    vals = [float(draw(i)) for i in range(pilot)]
    while not sequential_done(vals, half_width, alpha, relative, pilot) and len(vals) < max_n:
        vals.append(float(draw(len(vals))))
    x = np.asarray(vals, float)
    ok = x[~np.isnan(x)]
    return Sequential(x, sequential_done(x, half_width, alpha, relative, pilot),
                      _half_width_of(ok, alpha) if len(ok) > 1 else math.inf,
                      _target(ok, half_width, relative) if len(ok) else math.nan, alpha)


def _half_width_of(x: np.ndarray, alpha: float) -> float:
    n = len(x)
    return float(_t_quantile(n - 1, 1.0 - alpha / 2.0)) * float(x.std(ddof=1)) / math.sqrt(n)


def _target(x: np.ndarray, half_width: float, relative: bool) -> float:
    if half_width <= 0:
        raise ValueError("half_width must be positive")
    if not relative:
        return float(half_width)
    gamma = half_width / (1.0 + half_width)
    return gamma * abs(float(x.mean()))


# --------------------------------------------------------------------------- MSER-5
@dataclass(frozen=True)
class Mser:
    """Result of MSER (White 1997) on one series.

    ``truncation_batches`` (d*) batches = ``truncation_index`` observations are
    to be deleted from the start; ``statistic[d]`` is MSER(d) for
    d = 0..``n_batches // 2``; ``at_boundary`` is True when the minimum lies on
    the largest d allowed, a sign that the series is too short (or never
    settles) and the truncation point is unreliable.
    """

    truncation_batches: int
    truncation_index: int
    batch_size: int
    n_batches: int
    statistic: np.ndarray = field(repr=False)
    truncated_mean: float
    at_boundary: bool

    @property
    def n_observations(self) -> int:
        return self.n_batches * self.batch_size


def mser(series, batch_size: int = 5, max_fraction: float = 0.5) -> Mser:
    """MSER-m truncation point of a series (White 1997; White, Cobb & Spratt 2000).

    The first ``k * batch_size`` observations are cut into ``k`` batches of
    ``batch_size`` (a remainder at the end is left out) with means
    ``Y_1..Y_k``. For each ``d = 0..floor(max_fraction * k)`` the marginal
    standard error is

        MSER(d) = sum_{i=d+1}^{k} (Y_i - Ybar(d))^2 / (k - d)^2,

    with ``Ybar(d)`` the mean of ``Y_{d+1}..Y_k``; the truncation point is the
    d minimising it (ties: the smallest d). NaNs are dropped.
    """
    x = _vector(series)
    x = x[~np.isnan(x)]
    k = len(x) // batch_size
    if k < 4:
        raise ValueError(f"MSER needs at least 4 batches of {batch_size}; got {len(x)} observations")
    y = x[: k * batch_size].reshape(k, batch_size).mean(axis=1)
    y = y - y.mean()            # centre for numerical stability; MSER is shift invariant
    dmax = int(math.floor(max_fraction * k))
    s1 = np.cumsum(y[::-1])[::-1]          # s1[d] = sum_{i>=d} y_i
    s2 = np.cumsum((y * y)[::-1])[::-1]
    d = np.arange(dmax + 1)
    m = k - d
    ss = np.maximum(s2[d] - s1[d] ** 2 / m, 0.0)
    stat = ss / m.astype(float) ** 2
    best = int(np.argmin(stat))
    kept = x[best * batch_size: k * batch_size]
    return Mser(best, best * batch_size, batch_size, k, stat, float(kept.mean()), best == dmax and dmax > 0)


def mser5(series) -> Mser:
    """MSER-5: :func:`mser` with batch means of 5 observations (White 1997)."""
    return mser(series, batch_size=5)


# --------------------------------------------------------------------------- helpers
def _vector(x) -> np.ndarray:
    """A 1-d float array; non-numeric cells (e.g. '' from CSV) become NaN."""
    if hasattr(x, "to_numpy"):
        x = x.to_numpy()
    arr = np.asarray(x)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    try:
        return arr.astype(float)
    except (TypeError, ValueError):
        out = np.full(arr.shape, np.nan)
        for i, v in enumerate(arr.ravel().tolist()):
            try:
                out.flat[i] = float(v) if v is not None and v != "" else np.nan
            except (TypeError, ValueError):
                pass
        return out


def _unique_str(values) -> list[str]:
    """Distinct values as strings, in order of first appearance."""
    return list(dict.fromkeys(str(v) for v in np.asarray(values).tolist()))


def _columns(data) -> dict[str, np.ndarray]:
    """Columns of a Table, DataFrame or mapping of sequences as numpy arrays."""
    if hasattr(data, "columns") and isinstance(getattr(data, "columns"), dict):      # sim.Table
        return dict(data.columns)
    if hasattr(data, "to_numpy") and hasattr(data, "columns"):                         # DataFrame
        return {str(c): data[c].to_numpy() for c in data.columns}
    if isinstance(data, Mapping):
        return {str(k): np.asarray(v) for k, v in data.items()}
    raise TypeError(f"expected a Table, DataFrame or dict of columns; got {type(data).__name__}")


def _ok_rows(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if "error" not in cols or not cols:
        return cols
    err = cols["error"]
    ok = np.array([_blank(e) for e in err.tolist()], dtype=bool)
    if ok.all():
        return cols
    return {k: v[ok] for k, v in cols.items()}


def _blank(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    return str(v).strip() in ("", "nan", "None")


def _columns_named(cols, names, default: Sequence[str], what: str) -> list[str]:
    """``names`` (one or several; ``None``: those of ``default`` present), each
    required to be a column; ``what`` names their role in the error."""
    if names is None:
        return [c for c in default if c in cols]
    names = [names] if isinstance(names, str) else list(names)
    for c in names:
        if c not in cols:
            raise KeyError(f"runs table has no {what} column {c!r}")
    return names


def _groups(cols, by: Sequence[str]) -> Iterable[tuple[tuple, np.ndarray]]:
    """(key, row indices) per distinct combination of ``by``, in order of first appearance."""
    n = len(next(iter(cols.values()))) if cols else 0
    if not by:
        yield (), np.arange(n)
        return
    keys: dict[tuple, list[int]] = {}
    lists = [np.asarray(cols[c]).tolist() for c in by]
    for i, key in enumerate(zip(*lists)):
        keys.setdefault(key, []).append(i)
    for key, idx in keys.items():
        yield key, np.asarray(idx, dtype=int)


def _result(rows: list[dict], like, columns: list[str]):
    """A DataFrame when ``like`` is one, else a ``sim.Table``."""
    if _is_frame(like):
        import pandas as pd
        return pd.DataFrame(rows, columns=columns)
    from ..table import Table

    if not rows:
        return Table({c: np.array([]) for c in columns})
    return Table({c: np.array([r[c] for r in rows]) for c in columns})


def _is_frame(x) -> bool:
    return type(x).__name__ == "DataFrame" and hasattr(x, "iloc")


# --------------------------------------------------------------------------- trend (OLS slope)
def trend_slope(years, values, level: float = 0.95) -> tuple[float, float, float]:
    """OLS slope of ``values`` on ``years`` with its t confidence interval:
    ``(slope, low, high)``.

    ``b = Sxy / Sxx`` with ``Sxx = sum (x - xbar)^2``, ``Sxy = sum (x - xbar)(y - ybar)``;
    ``se(b) = sqrt(SSE / (n - 2) / Sxx)``; the interval is
    ``b +- t_{n-2,(1+level)/2} * se(b)``. Pairs with a NaN are dropped. The
    interval assumes independent residuals (successive yearly means of a slowly
    mixing system are correlated, so it is then too narrow). Fewer than 2
    distinct years: all NaN; exactly 2 points: the slope and a NaN interval.
    """
    x, y = _vector(years), _vector(values)
    if x.shape != y.shape:
        raise ValueError(f"years and values differ in length ({len(x)} and {len(y)})")
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    n = len(x)
    if n < 2:
        return math.nan, math.nan, math.nan
    xc = x - x.mean()
    sxx = float(xc @ xc)
    if sxx == 0.0:
        return math.nan, math.nan, math.nan
    b = float(xc @ (y - y.mean())) / sxx
    if n < 3:
        return b, math.nan, math.nan
    resid = y - y.mean() - b * xc
    se = math.sqrt(float(resid @ resid) / (n - 2) / sxx)
    h = float(_t_quantile(n - 2, 0.5 + level / 2.0)) * se
    return b, b - h, b + h
