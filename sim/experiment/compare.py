"""Replications of every regime on common random numbers, compared pairwise.

The experiment layer: it calls the model through ``sim.run`` and never the other
way round. Replication ``r`` of root seed ``s`` runs every regime with the same
seed, so a pair shares its history before the switch and its youths after it.

Besides the horizon means (``table``), a comparison holds every metric per
contract year and replication (``yearly``), the trend of each metric over the
contract years (``trends``, :func:`trend_table`) and the time to care of every
referral in the horizon as a cumulative incidence per week (``time_to_care``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from ..analysis.stats import _columns, _vector, few_pairs, paired_differences, summarise_runs, t_interval
from ..config import Config
from ..errors import ConfigError, did_you_mean
from ..model.metrics import METRICS, time_to_care_curve
from ..model.streams import replication_seed
from ..regimes import REGIMES
from ..run import run_branches
from ..table import Table
from .executors import parallel_map

#: the weekly grid of the time-to-care curves (two years from referral)
TIME_TO_CARE_WEEKS = np.arange(0, 105, dtype=float)


@dataclass
class Comparison:
    """Every regime over replications: one row per run and one row per metric;
    per contract year, its trends, and the time to care (see the module docstring)."""

    runs: Table
    table: Table
    seeds: list[int]
    replications: int
    seed: int
    regimes: list[str] = field(default_factory=lambda: list(REGIMES))
    yearly: Table = field(default_factory=lambda: Table({}))
    trends: Table = field(default_factory=lambda: Table({}))
    time_to_care: Table = field(default_factory=lambda: Table({}))
    monthly: Table = field(default_factory=lambda: Table({}))     # every run's months (replication, regime)
    episodes: Table = field(default_factory=lambda: Table({}))    # the runs' episode records, maybe thinned
    episodes_per_run: Optional[int] = None                        # the thinning (None: every record)


#: episode records of each run kept for figures by default (evenly spaced, :func:`thin`)
EPISODES_PER_RUN = 2000


def _replication(args) -> list[tuple]:
    """One replication of every regime, from one shared warm-up (``run_branches``)."""
    cfg, regimes, rep, seed, cache, per_run = args
    return run_branches([(regime, cfg) for regime in regimes], seed=seed, cache=cache,
                        keep=lambda res: _reduce(res, rep, per_run))


def _reduce(res, rep: int, per_run: Optional[int] = None) -> tuple:
    """One run: its summary row, its rows per contract year, its time-to-care
    curve, its monthly rows and its episode records (at most ``per_run`` of
    them, evenly spaced; None: all)."""
    regime, seed = res.regime, res.seed
    head = {"replication": rep, "regime": regime, "seed": seed}
    row = {**head, "wall_seconds": res.wall_seconds, "events": res.events, **res.summary}
    years = [{**head, **r} for r in res.yearly.rows()]
    curve = time_to_care_curve(res.episodes, res.contract_start_day, res.end_day, TIME_TO_CARE_WEEKS)
    return row, years, _tagged(curve, head), _tagged(res.monthly.columns, head), \
        _tagged(thin(res.episodes.columns, per_run), head)


def _tagged(cols: dict, head: dict) -> dict:
    n = len(next(iter(cols.values()))) if cols else 0
    return {"regime": np.full(n, head["regime"], dtype=object), "replication": np.full(n, head["replication"]),
            "seed": np.full(n, head["seed"]), **{k: v for k, v in cols.items() if k not in head}}


def thin(cols: dict, per_run: Optional[int]) -> dict:
    """At most ``per_run`` rows, evenly spaced over the table (the first and
    the last kept); None keeps every row, 0 none. Deterministic: the same run
    gives the same rows."""
    n = len(next(iter(cols.values()))) if cols else 0
    if per_run is None or n <= per_run:
        return dict(cols)
    idx = np.unique(np.linspace(0, n - 1, per_run).round().astype(int)) if per_run > 0 else np.array([], int)
    return {k: np.asarray(v)[idx] for k, v in cols.items()}


def compare(cfg: Config, replications: int = 10, seed: int = 1, workers: int = 1,
            progress: bool = False, regimes: Optional[Iterable[str]] = None,
            warm_up_cache: Optional[Union[str, Path]] = None,
            episodes_per_run: Optional[int] = EPISODES_PER_RUN) -> Comparison:
    """Run each of ``regimes`` (default: every registered regime, status quo
    first) for ``replications`` paired replications and compare them: the
    difference is the last regime minus the first. ``workers`` > 1 runs them
    on a process pool; the results do not depend on it. The regimes of a
    replication share one simulated warm-up (``sim.run.run_branches``), with
    results identical to running each from day 0; ``warm_up_cache``: a folder
    that keeps (and reuses) each replication's paused warm-up;
    ``episodes_per_run``: the episode records kept of each run for figures
    (evenly spaced, :func:`thin`; None: all, 0: none)."""
    if replications < 1:
        raise ValueError("replications must be at least 1")
    regimes = list(REGIMES) if regimes is None else list(regimes)
    for r in regimes:
        if r not in REGIMES:
            raise ConfigError(f"unknown regime {r!r}, expected some of {list(REGIMES)}{did_you_mean(r, REGIMES)}")
    seeds = [replication_seed(seed, r) for r in range(replications)]
    jobs = [(cfg, tuple(regimes), rep, s, warm_up_cache, episodes_per_run) for rep, s in enumerate(seeds)]
    done = [run for rep in parallel_map(_replication, jobs, workers, "replications" if progress else None)
            for run in rep]
    runs = Table.from_rows([d[0] for d in done])
    yearly = Table.from_rows([y for d in done for y in d[1]])

    def stack(i: int) -> Table:
        parts = [d[i] for d in done]
        return Table({k: np.concatenate([np.asarray(c[k]) for c in parts]) for k in parts[0]})

    return Comparison(runs, comparison_table(runs, regimes), seeds, replications, seed, regimes,
                      yearly=yearly, trends=trend_table(yearly, runs, regimes), time_to_care=stack(2),
                      monthly=stack(3), episodes=stack(4), episodes_per_run=episodes_per_run)


def comparison_table(runs, regimes: Optional[Sequence[str]] = None, level: float = 0.95) -> Table:
    """Per metric: each regime's mean with its t-CI, and (with two regimes or
    more) the paired difference of the last regime minus the first with its
    paired-t CI: a view of :func:`sim.analysis.stats.summarise_runs` and
    :func:`sim.analysis.stats.paired_differences` (the columns of
    ``comparison.csv``): ``n_pairs`` is the number of pairs behind the
    difference's interval (of replications, with one regime) and ``warning``
    says when it is below ``MIN_PAIRS`` or an interval was clipped to the
    metric's range (:func:`clip`)."""
    regimes = list(REGIMES) if regimes is None else list(regimes)
    summary = summarise_runs(runs, by=("regime",), level=level)
    at = {(str(r), str(m)): i for i, (r, m) in enumerate(zip(summary["regime"], summary["metric"]))}
    metrics = list(dict.fromkeys(str(m) for m in summary["metric"]))
    paired = None
    if len(regimes) > 1:
        paired = paired_differences(runs, metrics, a=regimes[0], b=regimes[-1], by=(), level=level)
        row_of = {str(m): i for i, m in enumerate(paired["metric"])}
    rows = []
    for metric in metrics:
        row: dict = {"metric": metric}
        clipped = False
        for name in regimes:
            i = at[(name, metric)]
            low, high, cut = clip(metric, summary["ci_low"][i], summary["ci_high"][i])
            row.update({f"{name}_mean": summary["mean"][i], f"{name}_ci_low": low, f"{name}_ci_high": high})
            clipped |= cut
        if paired is not None:
            j = row_of[metric]
            low, high, cut = clip(metric, paired["diff_ci_low"][j], paired["diff_ci_high"][j], difference=True)
            row.update({"diff_mean": paired["diff_mean"][j], "diff_ci_low": low, "diff_ci_high": high})
            clipped |= cut
            n, what = int(paired["n"][j]), "pairs"
        else:
            n, what = min(int(summary["n"][at[(name, metric)]]) for name in regimes), "replications"
        row["n_pairs"] = n
        row["warning"] = note(metric, n, clipped, what)
        rows.append(row)
    return Table.from_rows(rows)


def clip(metric: str, low: float, high: float, difference: bool = False) -> tuple[float, float, bool]:
    """A confidence interval cut to the range the metric's values lie in (the
    registry's ``bounds``: a share's to [0, 1], a difference of shares to
    [-1, 1]); the t-interval is symmetric and with few or skewed values
    reaches past it. Returns (low, high, whether it was cut)."""
    m = METRICS.get(metric)
    if m is None or m.bounds is None:
        return low, high, False
    lo, hi = m.bounds
    if difference:
        lo, hi = lo - hi, hi - lo
    cut = False
    if np.isfinite(low) and low < lo:
        low, cut = lo, True
    if np.isfinite(high) and high > hi:
        high, cut = hi, True
    return low, high, cut


def note(metric: str, n: int, clipped: bool, what: str = "pairs") -> str:
    """The ``warning`` cell of a row: fewer than MIN_PAIRS pairs (or ``what``),
    an interval clipped to the metric's range."""
    parts = [few_pairs(n, what)]
    if clipped:
        lo, hi = METRICS[metric].bounds
        parts.append(f"interval clipped to [{lo:g}, {hi:g}]")
    return "; ".join(p for p in parts if p)


TREND_COLUMNS = ["metric", "regime", "n", "horizon_mean", "first_year", "first_mean", "first_ci_low",
                 "first_ci_high", "last_year", "last_mean", "last_ci_low", "last_ci_high", "slope_per_year",
                 "slope_ci_low", "slope_ci_high", "warning"]


def trend_table(yearly, runs, regimes: Optional[Sequence[str]] = None, metrics: Optional[Sequence[str]] = None,
                level: float = 0.95) -> Table:
    """Per metric and regime: the horizon mean (over the runs), the first and
    the last contract year's mean with its t-CI across replications, and the
    trend: the least-squares slope per year of the metric over the contract
    years, fitted per replication, with its t-CI across replications (so the
    interval reflects the spread between replications, not the scatter of one
    replication's years around its line). With two regimes or more, a row
    ``regime = "<last> - <first>"`` holds the paired differences (the same
    replication in both regimes) of the horizon mean, each year and the slope.

    ``yearly``: one row per (regime, replication, contract_year) with the
    metrics as columns (``Comparison.yearly``); ``runs``: one row per run
    (``Comparison.runs``). Columns: :data:`TREND_COLUMNS`; ``n`` is the number
    of replications with a finite slope (with one contract year: none, slope NaN);
    ``warning`` as in :func:`comparison_table` (the first and last year's
    intervals clipped to the metric's range)."""
    regimes = list(REGIMES) if regimes is None else list(regimes)
    ycols, rcols = _columns(yearly) if len(yearly) else {}, _columns(runs)
    if not ycols:
        return Table({c: np.array([]) for c in TREND_COLUMNS})
    metrics = [m for m in (METRICS if metrics is None else metrics) if m in ycols]
    yreg = np.asarray(ycols["regime"]).astype(str)
    yrep = np.asarray(ycols["replication"]).astype(int)
    year = np.asarray(ycols["contract_year"]).astype(int)
    years = np.unique(year)
    reps = np.unique(yrep)
    rreg = np.asarray(rcols["regime"]).astype(str)
    rrep = np.asarray(rcols["replication"]).astype(int)

    def grid(metric: str, regime: str) -> np.ndarray:
        """(replication x contract year) values, NaN where missing."""
        g = np.full((len(reps), len(years)), np.nan)
        sel = yreg == regime
        g[np.searchsorted(reps, yrep[sel]), np.searchsorted(years, year[sel])] = _vector(ycols[metric][sel])
        return g

    def horizon(metric: str, regime: str) -> np.ndarray:
        h = np.full(len(reps), np.nan)
        if metric in rcols:
            sel = (rreg == regime) & np.isin(rrep, reps)
            h[np.searchsorted(reps, rrep[sel])] = _vector(rcols[metric][sel])
        return h

    rows = []
    for metric in metrics:
        grids = {r: grid(metric, r) for r in regimes}
        hor = {r: horizon(metric, r) for r in regimes}
        groups = [(r, grids[r], hor[r]) for r in regimes]
        if len(regimes) > 1:
            a, b = regimes[0], regimes[-1]
            groups.append((f"{b} - {a}", grids[b] - grids[a], hor[b] - hor[a]))
        for name, g, h in groups:
            diff = name not in regimes
            first, last = t_interval(g[:, 0], level), t_interval(g[:, -1], level)
            slope = t_interval(_slopes(years.astype(float), g), level)
            first_low, first_high, cut_first = clip(metric, first.low, first.high, diff)
            last_low, last_high, cut_last = clip(metric, last.low, last.high, diff)
            rows.append({"metric": metric, "regime": name, "n": slope.n,
                         "horizon_mean": t_interval(h, level).mean,
                         "first_year": int(years[0]), "first_mean": first.mean, "first_ci_low": first_low,
                         "first_ci_high": first_high, "last_year": int(years[-1]), "last_mean": last.mean,
                         "last_ci_low": last_low, "last_ci_high": last_high, "slope_per_year": slope.mean,
                         "slope_ci_low": slope.low, "slope_ci_high": slope.high,
                         "warning": note(metric, min([k for k in (first.n, last.n, slope.n) if k > 0], default=0),
                                         cut_first or cut_last, "pairs" if diff else "replications")})
    return Table({c: np.array([r[c] for r in rows], dtype=object if c in ("metric", "regime", "warning") else None)
                  for c in TREND_COLUMNS})


def _slopes(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The least-squares slope of each row of ``g`` on ``x`` over its finite
    values (NaN with fewer than two)."""
    out = np.full(len(g), np.nan)
    for i, y in enumerate(g):
        ok = np.isfinite(y)
        if ok.sum() >= 2:
            xo = x[ok] - x[ok].mean()
            out[i] = float((xo * (y[ok] - y[ok].mean())).sum() / (xo ** 2).sum())
    return out
