"""Experiment 5: ablation. Each mechanism M1-M8 switched off in turn: how much
of the regime difference in waiting time, goal attainment and cost each explains."""
from __future__ import annotations

import numpy as np

from _common import DIFFERENCE, HEADLINE, arguments, base_overrides, by_regime, conclude, fmt_ci, output_dir, select, sweep
from sim.config import MECHANISMS
from sim.analysis.stats import t_interval



def differences(runs, metric: str) -> dict[int, float]:
    """Per replication: the reform minus the status quo."""
    p, e = (rows.set_index("replication")[metric] for rows in by_regime(runs))
    d = (e - p).dropna()
    return {int(k): float(v) for k, v in d.items()}


def main() -> None:
    args = arguments(__doc__, reps=10, quick_reps=2)
    out = output_dir("mechanisms", args)
    mechs = list(MECHANISMS[:2]) if args.quick else list(MECHANISMS)
    # one design point with everything on, then one per mechanism switched off (a coupled design)
    cases = ["none"] + mechs
    coupled = {f"mechanisms.{m}": [case != m for case in cases] for m in mechs}
    runs = sweep(args, out, overrides=base_overrides(args), factors={"coupled": [coupled]}).runs
    key = lambda m: {f"mechanisms.{x}": (x != m) for x in mechs}  # noqa: E731
    full = select(runs, **{k: True for k in coupled})
    lines = [f"regime difference ({DIFFERENCE}) with all mechanisms on, and the part each explains "
             "(difference with it on minus with it off, paired over replications)"]
    for metric, unit in HEADLINE.items():
        d_full = differences(full, metric)
        lines.append(f"{metric}: all on {fmt_ci(t_interval(list(d_full.values())), unit, True)}")
        for m in mechs:
            sel = select(runs, **key(m))
            d_off = differences(sel, metric)
            explained = [d_full[r] - d_off[r] for r in d_full if r in d_off]
            lines.append(f"  - {m}: explains {fmt_ci(t_interval(np.array(explained)), unit, True)}")
    conclude(out, "Mechanism ablation", lines, args.quick)


if __name__ == "__main__":
    main()
