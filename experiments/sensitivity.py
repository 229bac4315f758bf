"""Experiment 6: Morris screening of the uncertain parameters on the paired
regime difference (expertise - product) in mean wait and goal attainment.
Needs SALib (pip install 'caresim[salib]')."""
from __future__ import annotations

import numpy as np

from _common import DIFFERENCE, arguments, base_overrides, by_regime, conclude, output_dir, require, sweep
from sim.present.figures import morris_plot
from sim.table import Table

#: uncertain parameters (estimates in configs/achterhoek.yaml) and their ranges
PARAMETERS = {
    "regimes.expertise.budget.level": (0.8, 1.2),
    "regimes.expertise.budget.ceiling_capacity_share": (0.4, 1.0),
    "regimes.expertise.judgement_error_sigma": (0.0, 0.4),
    "regimes.expertise.transition.retained_capacity_share": (0.3, 1.0),
    "regimes.expertise.admin.overhead_share": (0.15, 0.30),
    "regimes.product.admin.overhead_share": (0.30, 0.38),
    "regimes.product.reindication_probability": (0.5, 1.0),
    "waiting.patience_mean_days": (300.0, 900.0),
}
OUTPUTS = ("wait_mean_weeks", "goal_attained_rate")


def main() -> None:
    args = arguments(__doc__, reps=1, quick_reps=1,
                     extra=lambda ap: ap.add_argument("--trajectories", type=int, default=None))
    require("SALib", "salib")
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample
    out = output_dir("sensitivity", args)
    r = args.trajectories or (2 if args.quick else 10)
    names = list(PARAMETERS) if not args.quick else list(PARAMETERS)[:4]
    problem = {"num_vars": len(names), "names": names, "bounds": [PARAMETERS[n] for n in names]}
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
