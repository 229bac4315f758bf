"""Experiment 1: the default region, both regimes side by side, replications
added until the paired difference in total time waiting (every referral of the
contract window, dropouts and those still waiting included) is known to a
stated precision."""
from __future__ import annotations

from _common import (DIFFERENCE, HEADLINE, REFORM, STATUS_QUO, arguments, base_overrides, by_regime, conclude,
                     fmt_ci, output_dir, paired_against, sweep)
from sim.analysis.stats import paired_differences, t_interval

PRECISION_WEEKS = 1.0   # half-width of the 95% CI of the paired difference in total time waiting
PRECISION_METRIC = "wait_total_mean_weeks"
MAX_REPLICATIONS = 80


def main() -> None:
    args = arguments(__doc__, reps=10, quick_reps=3)
    out = output_dir("compare_regimes", args)
    reps = args.reps if args.quick else {
        "target": {"metric": PRECISION_METRIC, "half_width": PRECISION_WEEKS},
        "pilot": args.reps, "max": MAX_REPLICATIONS}
    res = sweep(args, out, overrides=base_overrides(args), replications=reps)
    runs = res.runs
    prod, exp = by_regime(runs)
    n = len(prod)
    lines = [f"{n} paired replications (seed {args.seed}); difference = {DIFFERENCE}, paired t, 95% CI"
             + ("" if args.quick else f"; target half-width {PRECISION_WEEKS} weeks for {PRECISION_METRIC}")]
    for metric, unit in HEADLINE.items():
        a, b = t_interval(prod[metric]), t_interval(exp[metric])
        d = paired_against(prod, exp, metric)
        lines.append(f"- {metric}: {STATUS_QUO} {fmt_ci(a, unit)}; {REFORM} {fmt_ci(b, unit)}; "
                     f"difference {fmt_ci(d, unit, signed=True)}")
    d = paired_against(prod, exp, PRECISION_METRIC)
    if not args.quick:
        reached = d.half_width <= PRECISION_WEEKS
        lines.append(f"- precision: half-width of the {PRECISION_METRIC} difference {d.half_width:.2f} weeks after {n} "
                     f"replications ({'target reached' if reached else f'target NOT reached (max {MAX_REPLICATIONS})'})")
    if n > 2:
        crn = paired_differences(runs, metrics=list(HEADLINE), a=STATUS_QUO, b=REFORM)
        for row in crn.to_dict("records"):
            lines.append(f"- common random numbers, {row['metric']}: correlation between regimes "
                         f"{row['corr']:+.2f}; variance reduction of the difference against independent "
                         f"streams {row['crn_variance_reduction']:.0%}")
    conclude(out, f"{STATUS_QUO.capitalize()} vs {REFORM} regime, default Achterhoek configuration", lines,
             args.quick)


if __name__ == "__main__":
    main()
