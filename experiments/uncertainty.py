"""Experiment 8: how sure we are. A probabilistic sensitivity analysis of the
paired regime difference (expertise minus the status quo) over the estimates
in configs/uncertainty/achterhoek.yaml: a Latin hypercube of parameter sets
(scipy.stats.qmc), each run paired on common random numbers through the sweep
runner (resumable, process pool or Dask, progress). For each headline metric:
the distribution of the difference over the sets (mean, 90% interval, ECDF),
the probability that the expertise regime is better, and which parameters
drive the difference (partial rank correlation, tornado figure).

Writes psa_sets.csv (one row per set: its parameters and the mean paired
difference of each metric), psa_summary.csv, prcc.csv, figures/ and
conclusion.txt."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from _common import ROOT, DIFFERENCE, HEADLINE, arguments, base_overrides, conclude, fmt, output_dir, sweep
import sim
from sim import REFORM, STATUS_QUO
from sim.analysis.sensitivity import prcc, probability, quantile_interval
from sim.errors import ConfigError
from sim.experiment.provenance import file_sha256, provenance
from sim.experiment.uncertainty import draw, load_uncertainty
from sim.files import write_json
from sim.model.metrics import METRICS
from sim.present.figures import uncertainty_plot

DEFAULT_FILE = ROOT / "configs" / "uncertainty" / "achterhoek.yaml"
#: which way is better for the region (+1: more is better, -1: less is better)
BETTER = {
    "care_within_14w_share": +1, "wait_total_mean_weeks": -1, "goals_per_year": +1, "wait_mean_weeks": -1,
    "goal_attained_rate": +1, "care_cost_eur_per_year": -1, "admin_cost_eur_per_year": -1,
}
#: --quick: the first parameters only, few sets (a smoke test)
QUICK_PARAMETERS, QUICK_SETS = 6, 16


def _extra(ap) -> None:
    ap.add_argument("--sets", type=int, default=None, help=f"parameter sets (default 200, quick {QUICK_SETS})")
    ap.add_argument("--uncertainty", default=str(DEFAULT_FILE), help="the file of parameter ranges")


def differences(runs, keys: list[str], metrics) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float]]:
    """Per design point: its parameter values (sets x keys), the mean over
    replications of the paired difference of each metric, and the Monte Carlo
    share of each metric's variance over sets (within-set variance of the mean
    over the total; NaN with one replication)."""
    point = np.asarray(runs["point"]).astype(str)
    reg = np.asarray(runs["regime"]).astype(str)
    rep = np.asarray(runs["replication"]).astype(int)
    ids = sorted(set(point))
    x = np.array([[float(np.asarray(runs[k])[point == p][0]) for k in keys] for p in ids])
    diff, noise = {}, {}
    for m in metrics:
        val = np.asarray(runs[m], dtype=float)
        means, within = [], []
        for p in ids:
            sel = point == p
            a = dict(zip(rep[sel & (reg == STATUS_QUO)], val[sel & (reg == STATUS_QUO)]))
            d = [v - a[r] for r, v in zip(rep[sel & (reg == REFORM)], val[sel & (reg == REFORM)]) if r in a]
            means.append(float(np.mean(d)) if d else np.nan)
            within.append(float(np.var(d, ddof=1)) / len(d) if len(d) > 1 else np.nan)
        diff[m] = np.array(means)
        total = float(np.nanvar(diff[m], ddof=1))
        noise[m] = float(np.nanmean(within)) / total if total > 0 and np.isfinite(within).any() else np.nan
    return x, diff, noise


def main() -> None:
    args = arguments(__doc__, reps=2, quick_reps=1, extra=_extra)
    out = output_dir("uncertainty", args)
    try:
        spec, base, cfg_path = load_uncertainty(args.uncertainty)
    except ConfigError as exc:
        print(f"uncertainty.py: {exc}", file=sys.stderr)
        raise SystemExit(2)
    n = args.sets or (QUICK_SETS if args.quick else 200)
    keys = list(spec.parameters)[:QUICK_PARAMETERS] if args.quick else list(spec.parameters)
    if n <= len(keys) + 2:
        print(f"uncertainty.py: --sets: got {n}; expected more than {len(keys) + 2} for {len(keys)} parameters",
              file=sys.stderr)
        raise SystemExit(2)
    values = draw(spec, base, n, args.seed)
    values = {k: values[k] for k in keys}
    args.config = str(cfg_path)
    runs = sweep(args, out, factors={"coupled": [values]}, overrides=base_overrides(args)).runs
    x, diff, noise = differences(runs, keys, HEADLINE)
    label = {k: spec.parameters[k].label for k in keys}

    summary, drivers = [], []
    lines = [f"{len(x)} parameter sets (Latin hypercube over {len(keys)} estimates of {Path(args.uncertainty).name}),"
             f" each with {args.reps} paired replication(s) on common random numbers; difference = {DIFFERENCE};"
             " 90% interval over the sets; drivers by partial rank correlation (PRCC)"]
    for metric, unit in HEADLINE.items():
        d = diff[metric]
        if np.isfinite(d).sum() < len(d):
            lines.append(f"{metric}: {len(d) - int(np.isfinite(d).sum())} parameter set(s) left out: no paired "
                         "value (a failed run; see the runs' error column)")
        lo, hi = quantile_interval(d)
        sign = BETTER.get(metric)
        better = probability(d, sign) if sign else float("nan")
        rho, pval = prcc(x[np.isfinite(d)], d[np.isfinite(d)])
        summary.append({"metric": metric, "mean": float(np.nanmean(d)), "p05": lo, "p95": hi,
                        "prob_expertise_better": better, "prob_positive": probability(d, +1),
                        "monte_carlo_share": noise[metric], "sets": int(np.isfinite(d).sum()),
                        "replications": int(args.reps)})
        drivers += [{"metric": metric, "parameter": k, "label": label[k], "prcc": float(r), "p_value": float(p)}
                    for k, r, p in zip(keys, rho, pval)]
        top = np.argsort(-np.abs(rho))[:3]
        better_text = f"; P(expertise better) {better:.2f}" if sign else ""
        lines.append(f"{METRICS[metric].label} ({unit}): mean {fmt(float(np.nanmean(d)), unit)}, 90% of sets in "
                     f"[{fmt(lo, ref=max(abs(lo), abs(hi)))}, {fmt(hi, ref=max(abs(lo), abs(hi)))}]{better_text}; "
                     "drivers " + ", ".join(f"{label[keys[i]]} ({rho[i]:+.2f})" for i in top))
        uncertainty_plot(d, [(label[k], float(r)) for k, r in zip(keys, rho)],
                         out / "figures" / f"psa_{metric}.png", metric)
    sim.Table.from_rows(summary).write_csv(out / "psa_summary.csv")
    sim.Table.from_rows(drivers).write_csv(out / "prcc.csv")
    sets = [{"set": i, **{k: float(x[i, j]) for j, k in enumerate(keys)}, **{m: float(diff[m][i]) for m in diff}}
            for i in range(len(x))]
    sim.Table.from_rows(sets).write_csv(out / "psa_sets.csv")
    write_json(out / "psa.json", {
        "uncertainty_file": str(args.uncertainty), "uncertainty_sha256": file_sha256(args.uncertainty),
        "parameters": keys, "sets": n, "replications": int(args.reps), "seed": int(args.seed),
        "quick": bool(args.quick),
        "files": {f: file_sha256(out / f) for f in ("psa_summary.csv", "prcc.csv", "psa_sets.csv")},
        **provenance(),
    })
    shares = [r["monte_carlo_share"] for r in summary if r["monte_carlo_share"] == r["monte_carlo_share"]]
    if shares:
        lines.append(f"Monte Carlo noise (the chance variation between simulated worlds, {args.reps} replication(s) "
                     f"per set) is {min(shares):.0%}-{max(shares):.0%} of the variance of a difference over the sets; "
                     "the rest is the parameters' uncertainty. The intervals above hold both.")
    lines.append(policy_paragraph(summary, drivers))
    conclude(out, "How sure we are: probabilistic sensitivity of the regime difference", lines, args.quick)


def policy_paragraph(summary: list[dict], drivers: list[dict]) -> str:
    """The result in one paragraph a policy maker can read."""
    s = {r["metric"]: r for r in summary}
    parts = []
    for metric in ("care_within_14w_share", "wait_total_mean_weeks", "goals_per_year", "care_cost_eur_per_year"):
        if metric not in s or s[metric]["prob_expertise_better"] != s[metric]["prob_expertise_better"]:
            continue
        r = s[metric]
        parts.append(f"{METRICS[metric].label.lower()} is better under the expertise contracts in "
                     f"{r['prob_expertise_better']:.0%} of the plausible parameter sets")
    wait = [d for d in drivers if d["metric"] == "wait_total_mean_weeks"]
    top = max(wait, key=lambda d: abs(d["prcc"]))["label"] if wait else None
    text = "In short: " + "; ".join(parts) + "."
    if top:
        text += (f" How much the waiting changes depends most on the {top}, so that estimate deserves "
                 "measurement before the result is relied on.")
    return text


if __name__ == "__main__":
    main()
