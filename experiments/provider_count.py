"""Experiment 2: 221, 120, 60 or 35 contracted providers, with 0, 50 or 100%
of the dropped providers' capacity retained by the contracted ones."""
from __future__ import annotations

from _common import (COSTS, DIFFERENCE, OUTCOMES, REFORM, STATUS_QUO, arguments, base_overrides, conclude,
                     effects, output_dir, select, sweep)

COUNTS = [221, 120, 60, 35]
RETAINED = [0.0, 0.5, 1.0]


def main() -> None:
    args = arguments(__doc__, reps=10, quick_reps=2)
    out = output_dir("provider_count", args)
    counts, retained = ([60, 35], [0.0, 1.0]) if args.quick else (COUNTS, RETAINED)
    over = base_overrides(args)
    # the status quo does not depend on these factors: one baseline, paired on replication
    base = sweep(args, out / STATUS_QUO, overrides=over, regimes=[STATUS_QUO]).runs
    runs = sweep(args, out / REFORM, overrides=over, regimes=[REFORM],
                 factors={"grid": {"regimes.expertise.contracted_providers": counts,
                                   "regimes.expertise.transition.retained_capacity_share": retained}}).runs
    lines = [f"contracted providers x retained capacity: {DIFFERENCE}, paired on the seed, 95% t-CI over "
             f"{args.reps} replications"]
    for n in counts:
        for r in retained:
            sel = select(runs, **{"regimes.expertise.contracted_providers": n,
                                  "regimes.expertise.transition.retained_capacity_share": r})
            h = sel["hhi"].mean()
            lines.append(f"- {n:3d} providers, {r:.0%} retained: {effects(base, sel, OUTCOMES + COSTS[:1])}; "
                         f"HHI {h:,.0f}")
    conclude(out, "Number of contracted providers and retained capacity", lines, args.quick)


if __name__ == "__main__":
    main()
