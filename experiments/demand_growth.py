"""Experiment 7: referrals growing 0-6% a year over the contract, both regimes."""
from __future__ import annotations

from _common import arguments, base_overrides, conclude, fmt_ci, output_dir, paired_against, select, sweep

GROWTH = [0.0, 0.02, 0.04, 0.06]


def main() -> None:
    args = arguments(__doc__, reps=10, quick_reps=2)
    out = output_dir("demand_growth", args)
    growth = [0.0, 0.06] if args.quick else GROWTH
    res = sweep(args, out, overrides=base_overrides(args), factors={"grid": {"demand.growth_per_year": growth}})
    runs = res.runs
    lines = ["growth per year: mean wait (weeks) per regime and the paired difference (expertise - product)"]
    for g in growth:
        prod = select(runs, regime="product", **{"demand.growth_per_year": g})
        exp = select(runs, regime="expertise", **{"demand.growth_per_year": g})
        d = paired_against(prod, exp, "wait_mean_weeks")
        c = paired_against(prod, exp, "care_cost_eur_per_year")
        lines.append(f"- {g:.0%}: product {prod['wait_mean_weeks'].mean():.1f}, expertise "
                     f"{exp['wait_mean_weeks'].mean():.1f}; wait difference {fmt_ci(d, 'weeks', True)}; "
                     f"care cost difference {fmt_ci(c, 'EUR/yr', True)}")
    conclude(out, "Demand growth over the contract", lines, args.quick)


if __name__ == "__main__":
    main()
