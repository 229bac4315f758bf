"""Calibration: the default configuration under the status quo (the 2020
status quo) against the real region's known figures (shared MODEL-BRIEF).

Prints each target next to the simulated value (mean over replications with its
95% t-interval over replications) and PASS/FAIL at the stated tolerance;
``--json`` prints one line per target with ``name``, ``target``, ``simulated``,
``ci_low``, ``ci_high``, ``tolerance``, ``pass``. Statistics are over the
evaluation horizon (after the warm-up), care starts and ended trajectories in
that window.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim import STATUS_QUO  # noqa: E402
from sim.analysis.stats import t_interval  # noqa: E402
from sim.experiment.executors import parallel_map  # noqa: E402
from sim.model.streams import replication_seed  # noqa: E402
from sim.units import DAYS_PER_MONTH  # noqa: E402

#: S: CBS, durations of ended trajectories 2021 (months: 0-3, 3-6, 6-12, 12-24, 24-36, 36-48, 48+)
DURATION_BINS = [0, *(months * DAYS_PER_MONTH for months in (3, 6, 12, 24, 36, 48)), np.inf]
DURATION_TARGET = [0.16, 0.17, 0.30, 0.23, 0.07, 0.03, 0.04]
DURATION_LABELS = ["0-3m", "3-6m", "6-12m", "1-2y", "2-3y", "3-4y", "4y+"]
#: S: CBS youth care 2021, care form at start
FORM_TARGET = {"ambulant": 0.608, "network": 0.173, "team": 0.107, "day_care": 0.051, "with_stay": 0.061}
#: S: CBS 85096NED, referral source of starts 2021
SOURCE_TARGET = {"gp": 0.385, "municipal_team": 0.308, "none": 0.134, "certified_institution": 0.081,
                 "medical_specialist": 0.049, "youth_doctor": 0.031, "court": 0.004}


def measure(job) -> dict[str, float]:
    """One replication of the status quo: every calibrated statistic."""
    config, overrides, seed = job
    cfg = sim.load_config(config, overrides)
    res = sim.run(cfg, regime=STATUS_QUO, seed=seed)
    ep, s = res.episodes, res.contract_start_day
    started = ep["care_start"] >= s
    done = (ep["record_type"] == "completed") & (ep["exit_time"] >= s)
    dur = (ep["care_end"] - ep["care_start"])[done]
    out = {"youths_in_care_year": res.summary["youths_in_care_year"],
           "wait_mean_weeks": res.summary["wait_mean_weeks"],
           "repeat_share": float(np.mean(ep["episode"][started] > 0))}
    hist = np.histogram(dur, DURATION_BINS)[0] / max(len(dur), 1)
    out.update({f"duration_{k}": float(v) for k, v in zip(DURATION_LABELS, hist)})
    out.update({f"care_form_{k}": float(np.mean(ep["care_form"][started] == k)) for k in FORM_TARGET})
    out.update({f"source_{k}": float(np.mean(ep["source"][started] == k)) for k in SOURCE_TARGET})
    return out


def targets() -> list[tuple[str, float, float, str]]:
    """(statistic, target, tolerance, kind): kind 'abs' is +- tolerance, 'rel' a relative one."""
    t = [("youths_in_care_year", 6000.0, 0.10, "rel"),
         ("repeat_share", 0.24, 0.03, "abs"),
         ("wait_mean_weeks", 12.5, 1.5, "abs")]        # observed 11-14 weeks (S, proxy region)
    t += [(f"duration_{k}", v, 0.05, "abs") for k, v in zip(DURATION_LABELS, DURATION_TARGET)]
    t += [(f"source_{k}", v, 0.02, "abs") for k, v in SOURCE_TARGET.items()]
    t += [(f"care_form_{k}", v, 0.03, "abs") for k, v in FORM_TARGET.items()]
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "achterhoek.yaml"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    overrides = dict(s.split("=", 1) for s in args.set)
    jobs = [(args.config, overrides, replication_seed(args.seed, r)) for r in range(args.reps)]
    rows = parallel_map(measure, jobs, args.workers)
    failed = 0
    if not args.json:
        print(f"calibration of {args.config} ({STATUS_QUO} regime, {args.reps} replications, "
              f"evaluation horizon; 95% t-CI over replications)")
        print(f"{'statistic':32s} {'target':>9s} {'simulated':>10s} {'95% CI':>21s} {'tolerance':>10s}  result")
    for name, target, tol, kind in targets():
        iv = t_interval([r[name] for r in rows])
        width = tol * target if kind == "rel" else tol
        ok = abs(iv.mean - target) <= width
        failed += not ok
        if args.json:
            print(json.dumps({"name": name, "target": target, "simulated": iv.mean, "ci_low": iv.low,
                              "ci_high": iv.high, "tolerance": width, "pass": bool(ok)}))
        else:
            print(f"{name:32s} {target:9.3f} {iv.mean:10.3f} [{iv.low:9.3f}, {iv.high:9.3f}] "
                  f"{'+-' + format(width, '.3f'):>10s}  {'PASS' if ok else 'FAIL'}")
    if not args.json:
        print(f"{len(targets()) - failed} of {len(targets())} targets pass")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
