#!/usr/bin/env python
"""Verification against queueing theory: the simulator reduced to M/M/c.

``configs/verification/mmc.yaml`` reduces the model to an M/M/c queue (Poisson
referrals, exponential care, ``c`` places, FIFO, every mechanism off). This
script sets its three keys from a grid of (c, utilisation rho) and compares the
simulated mean wait (referral to care start) with the Erlang-C mean wait
``sim.analysis.queueing.mmc_mean_wait``; with ``--priority`` it makes a share ``p`` of the
youths urgent (urgent first on the provider's list, non-preemptive, FIFO within
a class, equal care times) and compares each class's mean wait with Cobham's
formula ``sim.analysis.queueing.mmc_priority_mean_waits``.

Per point:
    lam = rho * c / care_mean                          (referrals per day)
    warm-up = care_mean * max(20 / (1 - rho), 10 / (c (1 - sqrt rho)^2))
              the first term is the stated multiple of the care mean scaled
              with 1/(1 - rho); the second is 10 relaxation times of the queue
              (1 / (c mu (1 - sqrt rho)^2), the M/M/1-like relaxation time of
              the heavy-traffic queue), which dominates for few places near
              rho = 1. Care starts before the warm-up's end are discarded.
    horizon = customers / lam days after the warm-up (``--customers`` = the
              expected number of referrals per replication after warm-up)
    replications r = 0..K-1 with independent seeds
              replication_seed(seed, (1000 c + 1000 rho) x 100000 + r), so that
              every point has its own seeds;
    one mean wait per replication; Student-t 95% CI over the K means;
    PASS when theory lies inside it.

The runs start from empty (the model's only initial state). One small known
departure from M/M/c: the model floors each need duration at 1 day
(sim/cases.py), so care lasts E[max(X, 1)] = 30.016 days instead of 30
(+0.055% on rho, +0.6% on Wq at c = 1, rho = 0.9), well inside every CI here.
With 95% CIs about one point in twenty misses by chance; rerun a failing point
with more replications (``--servers C --utilisation R --reps K``) before
concluding.

Examples:
    python experiments/verify_queueing.py                     # the default grid
    python experiments/verify_queueing.py --priority          # the priority grid
    python experiments/verify_queueing.py --servers 5 --utilisation 0.9 --customers 50000 --reps 40
    python experiments/verify_queueing.py --json
    python experiments/verify_queueing.py --quick           # a smoke test: two points, short runs

Writes points.csv (one row per point, per class with --priority) and
conclusion.txt (the table) under results/verify_queueing/ (with --priority
results/verify_queueing-priority/; -quick with --quick; or --out DIR).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "experiments"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from _common import QUICK_NOTE, keep, output_dir  # noqa: E402
from sim.config import load_config  # noqa: E402
from sim.experiment.executors import parallel_map  # noqa: E402
from sim.files import write_csv  # noqa: E402
from sim.units import DAYS_PER_YEAR  # noqa: E402
from sim.model.streams import replication_seed  # noqa: E402
from sim.regimes import REGIMES, STATUS_QUO  # noqa: E402
from sim.run import build_model  # noqa: E402
from sim.analysis.queueing import erlang_c, mmc_mean_wait, mmc_priority_mean_waits  # noqa: E402
from sim.analysis.stats import t_interval  # noqa: E402

CONFIG = ROOT / "configs" / "verification" / "mmc.yaml"

GRID_SERVERS = (1, 2, 5, 10, 20)
GRID_UTILISATION = (0.5, 0.7, 0.8, 0.9)
PRIORITY_SERVERS = (1, 5, 20)
PRIORITY_UTILISATION = (0.7, 0.9)
URGENT_SHARE = 0.3
CARE_MEAN_DAYS = 30.0          # the config's care mean (1/mu)
LEVEL = 0.95

WARMUP_CARE_MEANS = 20.0       # x care mean / (1 - rho)
WARMUP_RELAXATIONS = 10.0      # x relaxation time 1 / (c mu (1 - sqrt rho)^2)

START = dt.date(1, 1, 1)       # day 0; early so that long runs fit before 9999-12-31
LAST = dt.date(9999, 12, 31)

WARMUP_TEXT = (f"warm-up = care mean x max({WARMUP_CARE_MEANS:g}/(1-rho), "
               f"{WARMUP_RELAXATIONS:g}/(c(1-sqrt rho)^2)) from empty, care starts before it discarded")


def default_customers(c: int, rho: float) -> int:
    """Referrals per replication after warm-up when ``--customers`` is not given.

    A pilot (10 replications of 10,000 referrals at every grid point) put the
    relative standard deviation of one replication's mean wait at about
    kappa / sqrt(customers) with kappa = 6-12 at rho <= 0.7, 12-16 at 0.8 and
    15-18 at 0.9 (larger only where Wq is a tiny fraction of a day, c = 10-20 at
    rho <= 0.7). With 20 replications these run lengths give a 95% half-width of
    2.5-7% of Wq where Wq is a day or more (9-19% where it is a fraction of a
    day), and the grid takes ~4 minutes of CPU on one core (~6 minutes
    wall-clock on a busy 2-core machine). Longer runs also keep the replication means near normal, which
    the t-interval needs (a run's mean wait is right-skewed when short).

    Where waiting is rare (c = 20, rho = 0.5: P(wait) = C(c, a) = 0.0036) a
    replication's mean rests on a few dozen short busy periods and is skewed,
    so the t-interval undercovers; runs are then lengthened until about 100
    youths per replication are expected to wait (the first grid run missed
    this point with 10,000 referrals per replication; 80 replications of
    20,000 covered Erlang C under two root seeds).
    """
    base = 10_000 if rho <= 0.75 else 20_000 if rho <= 0.85 else 40_000
    waiting = 100.0 / erlang_c(c, rho * c)
    return int(max(base, 10_000 * math.ceil(waiting / 10_000)))


DEFAULT_REPS = 20

#: --quick: two points of each grid, short runs, few replications (a smoke test, not a verification)
QUICK_GRID = ((1, 0.5), (5, 0.7))
QUICK_PRIORITY_GRID = ((1, 0.7), (5, 0.7))
QUICK_CUSTOMERS = 2_000
QUICK_REPS = 5


# --------------------------------------------------------------------------- one point
def warmup_days(c: int, rho: float, care_mean: float) -> float:
    relax = 1.0 / (c * (1.0 - math.sqrt(rho)) ** 2)
    return care_mean * max(WARMUP_CARE_MEANS / (1.0 - rho), WARMUP_RELAXATIONS * relax)


def point_config(c: int, rho: float, care_mean: float, customers: int, urgent_share: float = 0.0,
                 config: Path = CONFIG):
    """The verification config set to (c, rho, care mean) with the run length from ``customers``."""
    if not 0.0 < rho < 1.0:
        raise SystemExit(f"--utilisation: got {rho}; expected 0 < rho < 1 (no steady state otherwise)")
    if c < 1 or int(c) != c:
        raise SystemExit(f"--servers: got {c}; expected a positive whole number of places")
    lam = rho * c / care_mean
    warm = math.ceil(warmup_days(c, rho, care_mean))
    horizon = math.ceil(customers / lam)
    contract = START + dt.timedelta(days=warm)
    try:
        end = contract + dt.timedelta(days=horizon)
    except OverflowError:
        end = None
    if end is None or end > LAST:
        raise SystemExit(
            f"c={c}, rho={rho}: {customers} customers need {horizon + warm} days, beyond the calendar "
            f"({(LAST - START).days} days); use fewer --customers, more --reps or a shorter --care-mean")
    overrides = {
        "timeline.start": START,
        "timeline.contract_start": contract,
        "timeline.end": end,
        "demand.first_referrals_per_year": lam * DAYS_PER_YEAR,
        "care_forms.service.need_duration.mean": care_mean,
        "providers.total_staff_hours_per_week": float(c),
    }
    if urgent_share:
        overrides["demand.urgent_share.mild"] = urgent_share
    return load_config(config, overrides=overrides), lam, warm


@dataclass
class Row:
    servers: int
    utilisation: float
    mean_care_days: float
    theory_wait_days: float
    mean_wait_days: float
    ci_low: float
    ci_high: float
    inside: bool
    cls: str
    customers: int
    replications: int
    warmup_days: float
    waits_per_rep: float
    urgent_share: float
    regime: str
    seed: int
    seconds: float

    def json(self) -> str:
        d = {
            "servers": self.servers, "utilisation": self.utilisation, "mean_care_days": self.mean_care_days,
            "theory_wait_days": self.theory_wait_days, "mean_wait_days": self.mean_wait_days,
            "ci_low": self.ci_low, "ci_high": self.ci_high, "inside": self.inside,
            "class": self.cls, "urgent_share": self.urgent_share, "customers": self.customers,
            "replications": self.replications, "warmup_days": self.warmup_days,
            "waits_per_replication": self.waits_per_rep, "regime": self.regime, "seed": self.seed,
            "seconds": round(self.seconds, 2),
        }
        return json.dumps(d)


def point_key(c: int, rho: float) -> int:
    """Replication r of point (c, rho) uses ``replication_seed(seed, point_key(c, rho) + r)``:
    independent seeds for every point (so one unlucky set of replications cannot
    sink the whole grid), and the same numbers whether the point runs alone or
    in the grid."""
    return (1000 * int(c) + int(round(1000 * rho))) * 100_000


def episodes(cfg, regime: str, seed: int):
    """The episode table of one replication and the end of its warm-up (day).

    What ``sim.run`` does, without the run summary and the per-year metrics,
    which cost as much as the simulation itself over centuries-long horizons
    and do not touch the episodes.
    """
    m = build_model(cfg, regime, seed)
    m.run()
    return m.episodes.table(m.catalogue, m.world), m.t_contract_start


def run_point(c: int, rho: float, customers: int, reps: int, seed: int = 1, care_mean: float = CARE_MEAN_DAYS,
              urgent_share: float = 0.0, regime: str = STATUS_QUO) -> list[Row]:
    """Replicate one (c, rho) point; one Row for FIFO, or one per class (urgent, regular)."""
    if not 2 <= reps <= 100_000:
        raise SystemExit("--reps: need 2 to 100,000 replications for a confidence interval")
    t0 = time.perf_counter()
    cfg, lam, warm = point_config(c, rho, care_mean, customers, urgent_share)
    mu = 1.0 / care_mean
    classes = ("all",) if not urgent_share else ("urgent", "regular")
    if urgent_share:
        theory = list(mmc_priority_mean_waits([urgent_share * lam, (1 - urgent_share) * lam], mu, c))
    else:
        theory = [mmc_mean_wait(lam, mu, c)]
    means = [[] for _ in classes]
    counts = [[] for _ in classes]
    for r in range(reps):
        ep, warm_end = episodes(cfg, regime, replication_seed(seed, point_key(c, rho) + r))
        start = ep["care_start"].astype(float)
        sel = np.isfinite(start) & (start >= warm_end)
        wait = start - ep["referral_time"].astype(float)
        if urgent_share:
            urgent = ep["urgent"].astype(bool)
            masks = (sel & urgent, sel & ~urgent)
        else:
            masks = (sel,)
        for k, mk in enumerate(masks):
            means[k].append(float(wait[mk].mean()) if mk.any() else math.nan)
            counts[k].append(int(mk.sum()))
    secs = time.perf_counter() - t0
    rows = []
    for k, name in enumerate(classes):
        ci = t_interval(means[k], LEVEL)
        rows.append(Row(
            servers=int(c), utilisation=float(rho), mean_care_days=float(care_mean),
            theory_wait_days=float(theory[k]), mean_wait_days=ci.mean, ci_low=ci.low, ci_high=ci.high,
            inside=bool(ci.low <= theory[k] <= ci.high), cls=name, customers=int(customers),
            replications=int(reps), warmup_days=float(warm), waits_per_rep=float(np.mean(counts[k])),
            urgent_share=float(urgent_share), regime=regime, seed=int(seed), seconds=secs,
        ))
    return rows


# --------------------------------------------------------------------------- output
HEADER = (f"{'c':>3} {'rho':>5} {'class':>8} {'cust/rep':>9} {'reps':>5} {'warm-up d':>10} "
          f"{'theory Wq d':>12} {'sim mean d':>11} {'95% CI d':>21} {'+-%':>6} {'time s':>7}  result")


def fmt(row: Row) -> str:
    hw = 100.0 * (row.ci_high - row.ci_low) / 2.0 / row.theory_wait_days
    ci = f"[{row.ci_low:.3f}, {row.ci_high:.3f}]"
    return (f"{row.servers:>3} {row.utilisation:>5.2f} {row.cls:>8} {row.customers:>9d} {row.replications:>5d} "
            f"{row.warmup_days:>10.0f} {row.theory_wait_days:>12.3f} {row.mean_wait_days:>11.3f} {ci:>21} "
            f"{hw:>6.1f} {row.seconds:>7.1f}  {'PASS' if row.inside else 'FAIL'}")


def preamble(args, priority: bool) -> list[str]:
    kind = (f"non-preemptive priority M/M/c, urgent share p = {args.urgent_share:g} "
            f"(urgent first, FIFO within class), theory = Cobham (sim.analysis.queueing.mmc_priority_mean_waits)"
            if priority else "M/M/c FIFO, theory = Erlang C (sim.analysis.queueing.mmc_mean_wait)")
    return [
        f"# verification of {CONFIG.relative_to(ROOT)}: {kind}",
        f"# regime {args.regime}, root seed {args.seed}, replication r of point (c, rho) uses "
        f"replication_seed(seed, (1000 c + 1000 rho) x 100000 + r); "
        f"care mean {args.care_mean:g} d, lam = rho c / care mean",
        f"# start-up bias: {WARMUP_TEXT}; horizon = cust/rep / lam days after it",
        f"# one mean wait per replication, Student-t {LEVEL:.0%} CI over replications; "
        f"PASS = theory inside the CI (about 1 point in 20 misses by chance)",
    ]


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", "-c", type=int, help="places c (one point; with --utilisation)")
    ap.add_argument("--utilisation", "--rho", type=float, help="utilisation rho (one point; with --servers)")
    ap.add_argument("--customers", "-n", type=int,
                    help="expected referrals per replication after warm-up (default: by rho, see default_customers)")
    ap.add_argument("--reps", "-k", type=int, default=None, help=f"replications per point (default {DEFAULT_REPS})")
    ap.add_argument("--seed", type=int, default=1, help="root seed (default 1)")
    ap.add_argument("--care-mean", type=float, default=CARE_MEAN_DAYS, help="mean care time 1/mu in days (default 30)")
    ap.add_argument("--regime", default=STATUS_QUO, choices=tuple(REGIMES))
    ap.add_argument("--priority", action="store_true", help="the two-class non-preemptive priority case")
    ap.add_argument("--urgent-share", type=float, default=URGENT_SHARE,
                    help=f"share p of urgent youths with --priority (default {URGENT_SHARE})")
    ap.add_argument("--json", action="store_true", help="one JSON line per point (per class with --priority)")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke test: {len(QUICK_GRID)} points, {QUICK_CUSTOMERS:,} referrals x {QUICK_REPS} "
                    "replications each (not a verification)")
    ap.add_argument("--workers", type=int, default=1, help="parallel processes over the points (default 1)")
    ap.add_argument("--out", default=None, help="output folder: points.csv and conclusion.txt (default "
                    "results/verify_queueing, results/verify_queueing-priority with --priority; -quick with --quick)")
    ap.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)

    if (args.servers is None) != (args.utilisation is None):
        ap.error("--servers and --utilisation go together (one point); give both or neither (the grid)")
    if args.servers is not None:
        grid = [(args.servers, args.utilisation)]
    elif args.priority:
        grid = list(QUICK_PRIORITY_GRID) if args.quick else [(c, r) for c in PRIORITY_SERVERS
                                                             for r in PRIORITY_UTILISATION]
    else:
        grid = list(QUICK_GRID) if args.quick else [(c, r) for c in GRID_SERVERS for r in GRID_UTILISATION]
    if args.priority and not 0.0 < args.urgent_share < 1.0:
        ap.error("--urgent-share must lie strictly between 0 and 1")
    if args.workers < 1:
        ap.error(f"--workers: expected a positive integer, got {args.workers}")
    share = args.urgent_share if args.priority else 0.0
    reps = args.reps or (QUICK_REPS if args.quick else DEFAULT_REPS)
    out = output_dir("verify_queueing-priority" if args.priority else "verify_queueing", args)

    t0 = time.perf_counter()
    tasks = [(c, rho, args.customers or (QUICK_CUSTOMERS if args.quick else default_customers(c, rho)), reps,
              args.seed, args.care_mean, share, args.regime) for c, rho in grid]
    rows = [row for point in parallel_map(_point, tasks, args.workers,
                                          progress=None if args.no_progress else "verification points")
            for row in point]
    passed = sum(r.inside for r in rows)
    what = "class rows" if args.priority else "points"
    text = [*preamble(args, args.priority), *([QUICK_NOTE] if args.quick else []), HEADER,
            *(fmt(r) for r in rows),
            f"{passed}/{len(rows)} {what} PASS (theory inside the {LEVEL:.0%} CI); {time.perf_counter() - t0:.0f} s"]
    print("\n".join(row.json() for row in rows) if args.json else "\n".join(text), flush=True)
    dicts = [json.loads(r.json()) for r in rows]
    write_csv(out / "points.csv", {k: [d[k] for d in dicts] for k in dicts[0]})
    keep(out, "\n".join(text))
    return 0 if passed == len(rows) else 1


def _point(task: tuple) -> list[Row]:
    return run_point(*task)


if __name__ == "__main__":
    sys.exit(main())
