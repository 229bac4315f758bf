"""Experiment 7: referrals growing 0-6% a year over the contract, both regimes."""
from __future__ import annotations

from _common import (COSTS, DIFFERENCE, OUTCOMES, REFORM, STATUS_QUO, arguments, base_overrides, by_regime,
                     conclude, effects, output_dir, sweep)

GROWTH = [0.0, 0.02, 0.04, 0.06]


def main() -> None:
    args = arguments(__doc__, reps=10, quick_reps=2)
    out = output_dir("demand_growth", args)
    growth = [0.0, 0.06] if args.quick else GROWTH
    res = sweep(args, out, overrides=base_overrides(args), factors={"grid": {"demand.growth_per_year": growth}})
    runs = res.runs
    lines = [f"growth per year: total time waiting (weeks) per regime and the paired differences ({DIFFERENCE}), "
             f"95% t-CI over {args.reps} replications"]
    for g in growth:
        prod, exp = by_regime(runs, **{"demand.growth_per_year": g})
        w = "wait_total_mean_weeks"
        lines.append(f"- {g:.0%}: {STATUS_QUO} {prod[w].mean():.1f}, {REFORM} {exp[w].mean():.1f}; "
                     f"{effects(prod, exp, OUTCOMES + COSTS[:1])}")
    conclude(out, "Demand growth over the contract", lines, args.quick)


if __name__ == "__main__":
    main()
