"""Experiment 6: Morris screening of the uncertain parameters on the paired
regime difference (expertise - product) in total time waiting, care within 14
weeks and goals attained. The parameters and their ranges are those of the
reviewed uncertainty file (configs/uncertainty/achterhoek.yaml, as
experiments/uncertainty.py uses; Morris levels span each range). Needs SALib
(pip install 'caresim[salib]')."""
from __future__ import annotations

import sys

import numpy as np

from _common import DIFFERENCE, ROOT, arguments, base_overrides, by_regime, conclude, output_dir, require, sweep
from sim.errors import ConfigError
from sim.experiment.uncertainty import load_uncertainty
from sim.present.figures import morris_plot
from sim.table import Table

DEFAULT_FILE = ROOT / "configs" / "uncertainty" / "achterhoek.yaml"
OUTPUTS = ("wait_total_mean_weeks", "care_within_14w_share", "goals_per_year")


def _extra(ap) -> None:
    ap.add_argument("--trajectories", type=int, default=None)
    ap.add_argument("--uncertainty", default=str(DEFAULT_FILE), help="the file of parameter ranges")


def main() -> None:
    args = arguments(__doc__, reps=1, quick_reps=1, extra=_extra)
    require("SALib", "salib")
    try:
        spec, _, cfg_path = load_uncertainty(args.uncertainty)
    except ConfigError as exc:
        print(f"sensitivity.py: {exc}", file=sys.stderr)
        raise SystemExit(2)
    args.config = str(cfg_path)
    ranges = {k: p.range for k, p in spec.parameters.items()}
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample
    out = output_dir("sensitivity", args)
    r = args.trajectories or (2 if args.quick else 10)
    names = list(ranges) if not args.quick else list(ranges)[:4]
    problem = {"num_vars": len(names), "names": names, "bounds": [list(ranges[n]) for n in names]}
    X = sample.sample(problem, r, num_levels=4, seed=args.seed)
    coupled = {n: [float(v) for v in X[:, i]] for i, n in enumerate(names)}
    over = base_overrides(args, **({"timeline.end": "2024-07-01"} if args.quick else {}))
    runs = sweep(args, out, overrides=over, factors={"coupled": [coupled]}).runs
    lines = [f"Morris screening, {r} trajectories x {len(names) + 1} points, {args.reps} replication(s) "
             f"per point on common random numbers; output = {DIFFERENCE}"]
    morris_rows: list[dict] = []
    for metric in OUTPUTS:
        y = []
        for row in X:
            at = {n: float(v) for n, v in zip(names, row)}
            p, e = by_regime(runs, **at)
            y.append(float(np.mean(np.asarray(e[metric], float)) - np.mean(np.asarray(p[metric], float))))
        res = analyze.analyze(problem, X, np.array(y), num_levels=4, seed=args.seed)
        order = np.argsort(res["mu_star"])[::-1]
        lines.append(f"{metric}: parameters by mu* (mean absolute elementary effect) [sigma]")
        for i in order:
            lines.append(f"  - {names[i]}: mu* {res['mu_star'][i]:.3f} "
                         f"(95% CI +-{res['mu_star_conf'][i]:.3f}) [sigma {res['sigma'][i]:.3f}]")
        table = {"factor": names, "mu_star": res["mu_star"], "sigma": res["sigma"],
                 "mu_star_conf": res["mu_star_conf"], "output": [metric] * len(names)}
        morris_rows += [dict(zip(table, vals)) for vals in zip(*table.values())]
        morris_plot(table, out / f"morris_{metric}.png")
    Table.from_rows(morris_rows).write_csv(out / "morris.csv")   # caresim report draws it
    conclude(out, "Sensitivity of the regime difference (Morris)", lines, args.quick)


if __name__ == "__main__":
    main()
