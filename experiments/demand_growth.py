"""Experiment 7: referrals growing 0-6% a year over the contract, both regimes."""
from __future__ import annotations

from _common import (DIFFERENCE, REFORM, STATUS_QUO, arguments, base_overrides, by_regime, conclude, fmt_ci,
                     output_dir, paired_against, sweep)

GROWTH = [0.0, 0.02, 0.04, 0.06]


def main() -> None:
    args = arguments(__doc__, reps=10, quick_reps=2)
    out = output_dir("demand_growth", args)
    growth = [0.0, 0.06] if args.quick else GROWTH
    res = sweep(args, out, overrides=base_overrides(args), factors={"grid": {"demand.growth_per_year": growth}})
    runs = res.runs
    lines = [f"growth per year: mean wait (weeks) per regime and the paired difference ({DIFFERENCE})"]
    for g in growth:
        prod, exp = by_regime(runs, **{"demand.growth_per_year": g})
        d = paired_against(prod, exp, "wait_mean_weeks")
        c = paired_against(prod, exp, "care_cost_eur_per_year")
        lines.append(f"- {g:.0%}: {STATUS_QUO} {prod['wait_mean_weeks'].mean():.1f}, {REFORM} "
                     f"{exp['wait_mean_weeks'].mean():.1f}; wait difference {fmt_ci(d, 'weeks', True)}; "
                     f"care cost difference {fmt_ci(c, 'EUR/yr', True)}")
    conclude(out, "Demand growth over the contract", lines, args.quick)


if __name__ == "__main__":
    main()
