"""Experiment 4: when to start the new contracts. A later start (2021-01-01,
2021-04-01, 2021-07-01, 2022-01-01 or 2022-07-01) buys preparation between
award and start, so collectives and the staff transfer are further matured on
day one, and costs months under the status quo. Every start is compared with
the status quo over one common calendar window, from the earliest candidate
start to the contracts' end, with the award fixed at a counterfactual date."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np

from _common import (COSTS, OUTCOMES, REFORM, STATUS_QUO, arguments, by_regime, conclude, effects, fmt_ci,
                     output_dir, paired_against, scaled, select)
import sim
from sim.analysis.stats import t_interval
from sim.experiment.executors import parallel_map
from sim.model.metrics import CARE, time_to_care
from sim.model.streams import replication_seed
from sim.survival import cumulative_incidence
from sim.units import DAYS_PER_MONTH, DAYS_PER_WEEK, DAYS_PER_YEAR

#: the starts the region weighed (1 Jan 2021 ... 1 Jan 2022) and the one it took (1 July 2022)
DATES = ["2021-01-01", "2021-04-01", "2021-07-01", "2022-01-01", "2022-07-01"]
#: E: a counterfactual award, the same for every start: about ten weeks after the
#: (postponed) tender publication of 23 September 2020. The real award (14 March
#: 2022) came with the real start; a fixed award makes preparation grow with a later start.
AWARD = "2020-12-01"
#: the latest the simulation may begin so that the earliest start has a warm-up behind it
LATEST_SIM_START = dt.date(2020, 7, 1)
NORM_DAYS = 14 * DAYS_PER_WEEK
RAMP = "regimes.expertise.collaboration_ramp"

#: the per-run metrics over the common window: (column, label, unit, scale for printing)
WINDOW_METRICS = OUTCOMES + COSTS
SWITCH_METRICS = [("handover_share_in_care", "handover share of youths in care at the switch", "pp", 100.0)]


def preparation_months(award: dt.date, start: dt.date) -> float:
    """Months from award to contract start (0 if the award comes after it), as the model counts them."""
    return max((start - award).days, 0) / DAYS_PER_MONTH


def maturity(prep_months: float, months_since_start: float, months_to_mature: float) -> float:
    """``ExpertiseRegime.maturity()``: 1 - exp(-(preparation + months since the start) / months_to_mature)."""
    if months_to_mature <= 0:
        return 1.0
    return 1.0 - math.exp(-(prep_months + months_since_start) / months_to_mature)


def window_metrics(res, t0: float, t1: float) -> dict:
    """Metrics over the common window [t0, t1) (days from timeline.start)."""
    ep, years = res.episodes, (t1 - t0) / DAYS_PER_YEAR
    ref = ep["referral_time"]
    referred = (ref >= t0) & (ref < t1)
    days, event = time_to_care(ep)          # every referral of the window, followed to the end of the run
    cif = cumulative_incidence(days[referred], event[referred], cause=CARE)
    off_care = (ep["system_days"][referred] - ep["care_days"][referred]) / DAYS_PER_WEEK
    done = (ep["record_type"] == "completed") & (ep["exit_time"] >= t0) & (ep["exit_time"] < t1)
    mo = res.monthly
    a, b = np.asarray(mo["start_day"], float), np.asarray(mo["end_day"], float)
    # months cut by the window's edges count with the share of their days inside it
    w = np.clip(np.minimum(b, t1) - np.maximum(a, t0), 0.0, None) / np.maximum(b - a, 1e-12)
    return {
        "referrals_in_window": int(referred.sum()),
        "care_within_14w_share": float(cif.value_at(NORM_DAYS)) if cif.n else np.nan,
        "wait_total_mean_weeks": float(np.mean(off_care)) if len(off_care) else np.nan,
        "goals_per_year": float(np.nansum(ep["outcome"][done])) / years,
        "care_cost_eur_per_year": float(np.sum(w * np.asarray(mo["spending_eur"], float))) / years,
        "admin_cost_eur_per_year": float(np.sum(w * np.asarray(mo["admin_eur"], float))) / years,
    }


def switch_metrics(res, cfg, date: str) -> dict:
    """The youths in care at ``date`` and the share of them with a handover (any
    handover of their episode; the paired difference is what the switch adds)."""
    ep = res.episodes
    s = float((dt.date.fromisoformat(date) - cfg.timeline.start).days)
    start, end = ep["care_start"], ep["care_end"]
    in_care = (start < s) & ~(end < s)          # NaN end: still in care
    moved = in_care & (ep["handovers"] > 0)
    return {"in_care_at_switch": int(in_care.sum()),
            "handover_share_in_care": float(moved.sum() / max(in_care.sum(), 1))}


def one_run(job) -> list[dict]:
    """One run. The reform: one row for its start. The status quo (the same
    whatever the contract start, so run once per replication): one row per start."""
    config, overrides, regime, date, dates, award, window, rep, seed = job
    cfg = sim.load_config(config, {**overrides, "timeline.contract_start": date})
    res = sim.run(cfg, regime=regime, seed=seed)
    t0, t1 = (float((dt.date.fromisoformat(d) - cfg.timeline.start).days) for d in window)
    common = window_metrics(res, t0, t1)
    ramp = cfg.regimes.expertise.collaboration_ramp
    rows = []
    for d in (dates if regime == STATUS_QUO else [date]):
        prep = preparation_months(dt.date.fromisoformat(award), dt.date.fromisoformat(d))
        rows.append({
            "point": d, "contract_start": d, "regime": regime, "replication": rep, "seed": seed,
            "award": award, "window_start": window[0], "window_end": window[1],
            "status_quo_months_in_window": (dt.date.fromisoformat(d) - dt.date.fromisoformat(window[0])).days
            / DAYS_PER_MONTH,
            "preparation_months": prep,
            "maturity_at_start": maturity(prep, 0.0, ramp.months_to_mature),
            "maturity_after_12m": maturity(prep, 12.0, ramp.months_to_mature),
            **common, **switch_metrics(res, cfg, d), "wall_seconds": res.wall_seconds,
        })
    return rows


def when(d: str) -> str:
    return dt.date.fromisoformat(d).strftime("%-d %b %Y")


def extra(ap) -> None:
    ap.add_argument("--award", default=AWARD,
                    help=f"counterfactual award date for every start (default {AWARD}, E: about ten weeks after "
                         "the postponed tender publication of 23 September 2020)")


def main() -> None:
    args = arguments(__doc__, reps=10, quick_reps=2, extra=extra)
    award = dt.date.fromisoformat(args.award).isoformat()
    out = output_dir("contract_start", args)
    dates = [DATES[0], DATES[-1]] if args.quick else DATES
    base = sim.load_config(args.config)
    window = (DATES[0], base.timeline.end.isoformat())     # the same months for every start
    if base.timeline.end <= dt.date.fromisoformat(dates[-1]):
        raise SystemExit(f"contract_start.py: timeline.end {base.timeline.end} must lie after the latest start "
                         f"{dates[-1]}")
    over = {f"{RAMP}.award": award}
    earliest = dt.date.fromisoformat(dates[0])
    if args.quick:      # a short warm-up: 2 years before the earliest start
        over["timeline.start"] = earliest.replace(year=earliest.year - 2).isoformat()
    elif base.timeline.start > LATEST_SIM_START:     # keep the config's warm-up, before the earliest start
        over["timeline.start"] = (earliest - (base.timeline.contract_start - base.timeline.start)).isoformat()
    jobs = [(args.config, over, STATUS_QUO, dates[0], dates, award, window, rep, replication_seed(args.seed, rep))
            for rep in range(args.reps)]
    jobs += [(args.config, over, REFORM, d, dates, award, window, rep, replication_seed(args.seed, rep))
             for d in dates for rep in range(args.reps)]
    rows = [r for rs in parallel_map(one_run, jobs, args.workers) for r in rs]
    table = sim.Table.from_rows(rows)
    table.write_csv(out / "runs.csv")
    runs = table.to_pandas()

    metrics = WINDOW_METRICS + SWITCH_METRICS
    summary, lines = [], [
        f"common window {when(window[0])} to {when(window[1])} for every start (a later start spends more of it "
        f"under the {STATUS_QUO} regime); award fixed at {when(award)} (E), so preparation = start - award; "
        f"differences {REFORM} - {STATUS_QUO}, paired on the seed, 95% t-CI over {args.reps} replications"]
    for d in dates:
        p, e = by_regime(runs, contract_start=d)
        first = e.iloc[0]
        row = {"contract_start": d, "award": award, "window_start": window[0], "window_end": window[1],
               "preparation_months": first["preparation_months"], "maturity_at_start": first["maturity_at_start"],
               "maturity_after_12m": first["maturity_after_12m"], "n": len(e),
               "in_care_at_switch": t_interval(e["in_care_at_switch"]).mean}
        parts = []
        for m, label, unit, k in metrics:
            iv = paired_against(p, e, m)
            row.update({f"{m}_{STATUS_QUO}": t_interval(p[m]).mean, f"{m}_{REFORM}": t_interval(e[m]).mean,
                        f"{m}_diff": iv.mean, f"{m}_diff_low": iv.low, f"{m}_diff_high": iv.high})
            parts.append(f"{label} {fmt_ci(scaled(iv, k), unit, True)}")
        summary.append(row)
        prep = round(row["preparation_months"])
        lines.append(f"- start {when(d)}: preparation {prep} month{'' if prep == 1 else 's'}, maturity "
                     f"{row['maturity_at_start']:.2f} at the start and {row['maturity_after_12m']:.2f} a year "
                     f"later; " + "; ".join(parts))
    sim.Table.from_rows(summary).write_csv(out / "summary.csv")

    # the latest against the earliest start: the reform runs of the two, paired on the seed
    early = select(runs, contract_start=dates[0], regime=REFORM)
    late = select(runs, contract_start=dates[-1], regime=REFORM)
    diff = {m: paired_against(early, late, m) for m, *_ in WINDOW_METRICS}
    sim.Table.from_rows([{"metric": m, "later": dates[-1], "earlier": dates[0], "mean": iv.mean,
                          "ci_low": iv.low, "ci_high": iv.high, "n": iv.n} for m, iv in diff.items()]
                        ).write_csv(out / "latest_vs_earliest.csv")
    iv = diff["care_within_14w_share"]
    if iv.low > 0 or iv.high < 0:
        better, worse = (dates[-1], dates[0]) if iv.mean > 0 else (dates[0], dates[-1])
        verdict = f"the {when(better)} start is better than the {when(worse)} start"
    else:
        verdict = f"the replications do not separate the {when(dates[-1])} and the {when(dates[0])} starts"
    others = effects(early, late, WINDOW_METRICS[1:])
    lines.append(f"Over the common window {verdict} on care within 14 weeks: {when(dates[-1])} - "
                 f"{when(dates[0])} {fmt_ci(scaled(iv, 100.0), 'pp', True)} (both under {REFORM}, paired on the "
                 f"seed; {others}).")
    conclude(out, "Contract start date: preparation against delay", lines, args.quick)


if __name__ == "__main__":
    main()
