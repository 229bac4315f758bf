"""Experiment 3: the lump sum at 80-120% of the product regime's spending,
with the safety valve on and off, and a population-based share of 0-30%."""
from __future__ import annotations

from _common import (COSTS, DIFFERENCE, OUTCOMES, REFORM, STATUS_QUO, arguments, base_overrides, conclude,
                     effects, output_dir, select, sweep)

LEVELS = [0.8, 0.9, 1.0, 1.1, 1.2]
VALVE = [True, False]
POPULATION = [0.0, 0.1, 0.2, 0.3]
B = "regimes.expertise.budget."


def main() -> None:
    args = arguments(__doc__, reps=10, quick_reps=2)
    out = output_dir("lump_sum_budget", args)
    levels, valve, pop = ([0.8, 1.2], [True], [0.0, 0.3]) if args.quick else (LEVELS, VALVE, POPULATION)
    over = base_overrides(args)
    base = sweep(args, out / STATUS_QUO, overrides=over, regimes=[STATUS_QUO]).runs
    budget = sweep(args, out / "level_valve", overrides=over, regimes=[REFORM],
                   factors={"grid": {B + "level": levels, B + "safety_valve.enabled": valve}}).runs
    share = sweep(args, out / "population_share", overrides=over, regimes=[REFORM],
                  factors={"grid": {B + "population_share": pop}}).runs
    lines = [f"budget level (x the status quo's spending) and safety valve: {DIFFERENCE}, paired on the seed, "
             f"95% t-CI over {args.reps} replications"]
    for lv in levels:
        for v in valve:
            sel = select(budget, **{B + "level": lv, B + "safety_valve.enabled": v})
            lines.append(f"- level {lv:.0%}, valve {'on' if v else 'off'}: {effects(base, sel, OUTCOMES + COSTS[:1])}")
    lines.append("population-based share of the budget (level 100%, valve as configured):")
    for p in pop:
        sel = select(share, **{B + "population_share": p})
        lines.append(f"- {p:.0%}: {effects(base, sel, OUTCOMES + COSTS[:1])}")
    conclude(out, "Lump-sum budget, safety valve and population-based share", lines, args.quick)


if __name__ == "__main__":
    main()
