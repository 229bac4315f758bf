"""Replications of every regime on common random numbers, compared pairwise.

The experiment layer: it calls the model through ``sim.run`` and never the other
way round. Replication ``r`` of root seed ``s`` runs every regime with the same
seed, so a pair shares its history before the switch and its youths after it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from ..analysis.stats import paired_differences, summarise_runs
from ..config import Config
from ..errors import ConfigError, did_you_mean
from ..model.streams import replication_seed
from ..regimes import REGIMES
from ..run import run
from ..table import Table
from .executors import parallel_map


@dataclass
class Comparison:
    """Every regime over replications: one row per run and one row per metric."""

    runs: Table
    table: Table
    seeds: list[int]
    replications: int
    seed: int
    regimes: list[str] = field(default_factory=lambda: list(REGIMES))


def _one(args) -> dict:
    cfg, regime, rep, seed = args
    res = run(cfg, regime=regime, seed=seed)
    return {"replication": rep, "regime": regime, "seed": seed, "wall_seconds": res.wall_seconds,
            "events": res.events, **res.summary}


def compare(cfg: Config, replications: int = 10, seed: int = 1, workers: int = 1,
            progress: bool = False, regimes: Optional[Iterable[str]] = None) -> Comparison:
    """Run each of ``regimes`` (default: every registered regime, status quo
    first) for ``replications`` paired replications and compare them: the
    difference is the last regime minus the first. ``workers`` > 1 runs them
    on a process pool; the results do not depend on it."""
    if replications < 1:
        raise ValueError("replications must be at least 1")
    regimes = list(REGIMES) if regimes is None else list(regimes)
    for r in regimes:
        if r not in REGIMES:
            raise ConfigError(f"unknown regime {r!r}, expected some of {list(REGIMES)}{did_you_mean(r, REGIMES)}")
    seeds = [replication_seed(seed, r) for r in range(replications)]
    jobs = [(cfg, reg, rep, s) for rep, s in enumerate(seeds) for reg in regimes]
    rows = parallel_map(_one, jobs, workers, "replications" if progress else None)
    runs = Table.from_rows(rows)
    return Comparison(runs, comparison_table(runs, regimes), seeds, replications, seed, regimes)


def comparison_table(runs, regimes: Optional[Sequence[str]] = None, level: float = 0.95) -> Table:
    """Per metric: each regime's mean with its t-CI, and (with two regimes or
    more) the paired difference of the last regime minus the first with its
    paired-t CI: a view of :func:`sim.analysis.stats.summarise_runs` and
    :func:`sim.analysis.stats.paired_differences` (the columns of
    ``comparison.csv``)."""
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
        for name in regimes:
            i = at[(name, metric)]
            row.update({f"{name}_{c}": summary[c][i] for c in ("mean", "ci_low", "ci_high")})
        if paired is not None:
            j = row_of[metric]
            row.update({c: paired[c][j] for c in ("diff_mean", "diff_ci_low", "diff_ci_high")})
        rows.append(row)
    return Table.from_rows(rows)
