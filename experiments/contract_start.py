"""Experiment 4: the contract start on 2021-01-01, 2021-04-01, 2021-07-01,
2022-01-01 or 2022-07-01: effects in the first 12 months on the youths in care
at the switch (handovers, waits) and on new referrals."""
from __future__ import annotations

import datetime as dt

import numpy as np

from _common import DIFFERENCE, arguments, by_regime, conclude, fmt_ci, output_dir, paired_against
import sim
from sim.analysis.stats import t_interval
from sim.experiment.executors import parallel_map
from sim.model.streams import replication_seed
from sim.units import DAYS_PER_WEEK, DAYS_PER_YEAR

DATES = ["2021-01-01", "2021-04-01", "2021-07-01", "2022-01-01", "2022-07-01"]


def first_year(job) -> dict:
    """One run; metrics over the 12 months after the switch."""
    config, overrides, date, regime, rep, seed = job
    cfg = sim.load_config(config, {**overrides, "timeline.contract_start": date})
    res = sim.run(cfg, regime=regime, seed=seed)
    ep, s = res.episodes, res.contract_start_day
    start, end, ref = ep["care_start"], ep["care_end"], ep["referral_time"]
    in_care = (start < s) & ~(end < s)          # in care at the switch (NaN end: still in care)
    new = (ref >= s) & (ref < s + DAYS_PER_YEAR) & ~np.isnan(start)
    moved = in_care & (ep["handovers"] > 0)
    y0 = {k: float(v[0]) for k, v in res.yearly.columns.items()} if len(res.yearly) else {}
    return {
        "contract_start": date, "regime": regime, "replication": rep, "seed": seed,
        "in_care_at_switch": int(in_care.sum()),
        "handover_share_in_care": float(moved.sum() / max(in_care.sum(), 1)),
        "dropped_or_waiting_after_switch": int(((ep["record_type"] != "completed") & in_care).sum()),
        "new_referral_wait_weeks": float(np.mean((start[new] - ref[new]) / DAYS_PER_WEEK)) if new.any() else np.nan,
        "year1_wait_mean_weeks": y0.get("wait_mean_weeks", np.nan),
        "year1_care_cost_eur": y0.get("care_cost_eur_per_year", np.nan),
        "year1_admin_cost_eur": y0.get("admin_cost_eur_per_year", np.nan),
    }


def main() -> None:
    args = arguments(__doc__, reps=10, quick_reps=2)
    out = output_dir("contract_start", args)
    dates = DATES[-2:] if args.quick else DATES
    # quick: 2.5 years of warm-up before the earliest date, 1 year after the latest
    over = {"timeline.start": "2019-07-01", "timeline.end": "2023-07-02"} if args.quick else {}
    jobs = [(args.config, over, d, r, rep, replication_seed(args.seed, rep))
            for d in dates for rep in range(args.reps) for r in sim.REGIMES]
    table = sim.Table.from_rows(parallel_map(first_year, jobs, args.workers))
    table.write_csv(out / "runs.csv")
    runs = table.to_pandas()
    lines = [f"first 12 months after the switch: {DIFFERENCE} (paired over replications)"]
    for d in dates:
        p, e = by_regime(runs, contract_start=d)
        when = dt.date.fromisoformat(d).strftime("%d %b %Y")
        lines.append(
            f"- {when}: {t_interval(e['in_care_at_switch']).mean:,.0f} youths in care at the switch; "
            f"share with a handover {fmt_ci(paired_against(p, e, 'handover_share_in_care'), '', True)}; "
            f"new referrals' wait {fmt_ci(paired_against(p, e, 'new_referral_wait_weeks'), 'weeks', True)}; "
            f"year-1 admin cost {fmt_ci(paired_against(p, e, 'year1_admin_cost_eur'), 'EUR', True)}")
    conclude(out, "Contract start date", lines, args.quick)


if __name__ == "__main__":
    main()
