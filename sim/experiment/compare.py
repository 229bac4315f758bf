"""Replications of both regimes on common random numbers, compared pairwise.

The experiment layer: it calls the model through ``sim.run`` and never the other
way round. Replication ``r`` of root seed ``s`` runs both regimes with the same
seed, so the pair shares its history before the switch and its youths after it.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from ..analysis.stats import paired_interval, t_interval
from ..config import Config
from ..model.metrics import METRICS
from ..model.streams import replication_seed
from ..regimes import REGIMES
from ..run import run
from ..table import Table


@dataclass
class Comparison:
    """Both regimes over replications: one row per run and one row per metric."""

    runs: Table
    table: Table
    seeds: list[int]
    replications: int
    seed: int


def _one(args) -> dict:
    cfg, regime, rep, seed = args
    res = run(cfg, regime=regime, seed=seed)
    return {"replication": rep, "regime": regime, "seed": seed, "wall_seconds": res.wall_seconds,
            "events": res.events, **res.summary}


def compare(cfg: Config, replications: int = 10, seed: int = 1, workers: int = 1,
            progress: bool = False, regimes: Iterable[str] = ("product", "expertise")) -> Comparison:
    """Run every regime for ``replications`` paired replications and compare them."""
    if replications < 1:
        raise ValueError("replications must be at least 1")
    regimes = list(regimes)
    for r in regimes:
        if r not in REGIMES:
            raise ValueError(f"unknown regime {r!r}")
    seeds = [replication_seed(seed, r) for r in range(replications)]
    jobs = [(cfg, reg, rep, s) for rep, s in enumerate(seeds) for reg in regimes]
    rows = list(_map(_one, jobs, workers, progress))
    rows.sort(key=lambda r: (r["replication"], regimes.index(r["regime"])))
    runs = Table.from_rows(rows)
    return Comparison(runs, comparison_table(runs, regimes), seeds, replications, seed)


def _map(fn, jobs: list, workers: int, progress: bool):
    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(jobs), unit="run", desc="replications")
        except ImportError:  # pragma: no cover
            bar = None
    if workers <= 1:
        for j in jobs:
            yield fn(j)
            if bar:
                bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            for row in ex.map(fn, jobs):
                yield row
                if bar:
                    bar.update()
    if bar:
        bar.close()


def comparison_table(runs: Table, regimes: Optional[list[str]] = None, level: float = 0.95) -> Table:
    """Per metric: each regime's mean with its t-CI, and the paired difference
    (second regime minus first) with its paired-t CI."""
    regimes = regimes or ["product", "expertise"]
    a_name, b_name = regimes[0], regimes[-1]
    reg = runs["regime"]
    rep = runs["replication"]
    rows = []
    for metric in METRICS:
        if metric not in runs:
            continue
        row: dict = {"metric": metric}
        vals = {}
        for name in regimes:
            sel = reg == name
            order = np.argsort(rep[sel])
            v = runs[metric][sel][order].astype(float)
            vals[name] = v
            ci = t_interval(v, level)
            row.update({f"{name}_mean": ci.mean, f"{name}_ci_low": ci.low, f"{name}_ci_high": ci.high})
        if len(regimes) > 1:
            d = paired_interval(vals[a_name], vals[b_name], level)
            row.update({"diff_mean": d.mean, "diff_ci_low": d.low, "diff_ci_high": d.high})
        rows.append(row)
    return Table.from_rows(rows)
