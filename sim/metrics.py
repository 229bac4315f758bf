"""Summary metrics of one run, computed over the evaluation horizon."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .config import DAYS_PER_YEAR
from .results import Table

if TYPE_CHECKING:  # pragma: no cover
    from .model import CareModel

NORM_WEEKS = 14.0   # treeknorm: 4 weeks to intake + 10 weeks to treatment

#: summary keys with what they mean (docs/model.md has the formulas)
METRICS = {
    "wait_mean_weeks": "mean weeks from referral to first care, care starts in the horizon",
    "wait_median_weeks": "median of the same",
    "wait_p90_weeks": "90th percentile of the same",
    "share_over_norm": "share of those waits over the 14-week treeknorm",
    "referrals": "referrals per year (first and repeat)",
    "starts_per_year": "first care starts per year",
    "youths_in_care_year": "distinct youths with care per contract year (mean over full years)",
    "mean_youths_in_care": "time-average number of youths in care",
    "mean_waiting_list": "time-average number waiting on providers' lists",
    "waiting_at_end": "episodes still waiting (for assessment or care) at the end",
    "goal_attained_rate": "share of completed episodes that reached their goal",
    "rereferral_12m_rate": "share of completed episodes followed by a referral within 12 months",
    "dropout_rate": "share of referrals whose family left the waiting list",
    "dose_mean": "mean delivered share of the needed care, completed episodes",
    "care_cost_eur_per_year": "paid for care: per unit, lump sums, population part, safety valve, team",
    "admin_cost_eur_per_year": "providers' and municipalities' administrative hours at cost",
    "admin_share": "share of contracted providers' staff time spent on administration",
    "cost_per_goal_eur": "care cost per attained goal",
    "utilisation": "care hours in use / care capacity of contracted providers",
    "handovers_per_youth": "provider changes per completed episode",
    "reindications_per_year": "new indications for follow-up products per year",
    "contracts": "providers holding a contract (taking new youths) at the end",
    "hhi": "Herfindahl-Hirschman index of care hours delivered (0-10000)",
}


def summarise(m: "CareModel", ep: Table) -> dict[str, float]:
    """The summary of a run over its evaluation horizon."""
    out = window(m, ep, m.t_switch, m.t_end, m.at_switch, m.at_end)
    out["waiting_at_end"] = float((ep["record_type"] == "waiting_at_end").sum())
    out["contracts"] = float(m.open_mask.sum())
    return out


def yearly(m: "CareModel", ep: Table) -> Table:
    """The same metrics per full contract year of the horizon (one row per year)."""
    marks = m.year_marks
    rows = []
    for y in range(len(marks) - 1):
        t0 = m.t_switch + y * DAYS_PER_YEAR
        row = {"contract_year": y, "start_day": t0, "end_day": t0 + DAYS_PER_YEAR}
        row.update(window(m, ep, t0, t0 + DAYS_PER_YEAR, marks[y], marks[y + 1]))
        rows.append(row)
    return Table.from_rows(rows)


def window(m: "CareModel", ep: Table, t0: float, t1: float, mark0: dict, mark1: dict) -> dict[str, float]:
    """Metrics over the time window [t0, t1) from the episode table and the
    model's cumulative accumulators marked at t0 and t1."""
    years = (t1 - t0) / DAYS_PER_YEAR
    a0, a1 = mark0["acc"], mark1["acc"]
    c0, c1 = mark0["counts"], mark1["counts"]
    d = {k: a1[k] - a0[k] for k in a1}
    costs = m.cfg.costs
    rt = ep["record_type"]
    start, ref = ep["care_start"], ep["referral_time"]
    exit_ = ep["exit_time"]

    started = (start >= t0) & (start < t1)
    waits = (start[started] - ref[started]) / 7.0
    out: dict[str, float] = {}
    out["wait_mean_weeks"] = _mean(waits)
    out["wait_median_weeks"] = float(np.median(waits)) if len(waits) else np.nan
    out["wait_p90_weeks"] = float(np.percentile(waits, 90)) if len(waits) else np.nan
    out["share_over_norm"] = _mean(waits > NORM_WEEKS)
    in_h = (ref >= t0) & (ref < t1)
    out["referrals"] = float(in_h.sum()) / years
    out["starts_per_year"] = float(started.sum()) / years
    out["youths_in_care_year"] = youths_in_care_per_year(ep, t0, t1)
    out["mean_youths_in_care"] = d["in_care"] / (t1 - t0)
    out["mean_waiting_list"] = d["waiting"] / (t1 - t0)

    done = (rt == "completed") & (exit_ >= t0) & (exit_ < t1)
    out["goal_attained_rate"] = _mean(ep["outcome"][done])
    out["rereferral_12m_rate"] = rereferral_rate(ep, t0, t1, m.t_end)
    out["dropout_rate"] = _mean(rt[in_h] == "dropped_out")
    out["dose_mean"] = _mean(ep["dose"][done])

    care = d["billed"] + d["lump"] + d["team"]
    prov_admin_h = d["overhead_h"] + d["decl_h"] + d["tx_h"]
    admin = prov_admin_h * costs.provider_admin_hour_eur + d["mun_h"] * costs.municipal_admin_hour_eur
    out["care_cost_eur_per_year"] = care / years
    out["admin_cost_eur_per_year"] = admin / years
    out["admin_share"] = prov_admin_h / d["staff_h"] if d["staff_h"] > 0 else 0.0
    goals = float(np.nansum(ep["outcome"][done]))
    out["cost_per_goal_eur"] = care / goals if goals > 0 else np.nan
    out["utilisation"] = d["used"] / d["cap"] if d["cap"] > 0 else np.nan
    out["handovers_per_youth"] = _mean(ep["handovers"][done])
    out["reindications_per_year"] = (c1["reindications"] - c0["reindications"]) / years
    hours = mark1["hours"] - mark0["hours"]
    tot = hours.sum()
    out["hhi"] = float(((hours / tot) ** 2).sum() * 10000) if tot > 0 else np.nan
    return out


def _mean(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(x.mean()) if x.size else float("nan")


def youths_in_care_per_year(ep: Table, t0: float, t1: float) -> float:
    """Distinct youths with any care in each full year of the horizon, averaged."""
    start = ep["care_start"]
    end = np.where(np.isnan(ep["care_end"]), np.inf, ep["care_end"])
    had = ~np.isnan(start)
    ids = ep["youth_id"]
    counts = []
    y = t0
    while y + DAYS_PER_YEAR <= t1 + 1e-9:
        sel = had & (start < y + DAYS_PER_YEAR) & (end >= y)
        counts.append(len(np.unique(ids[sel])))
        y += DAYS_PER_YEAR
    return float(np.mean(counts)) if counts else float("nan")


def rereferral_rate(ep: Table, t0: float, t1: float, run_end: float) -> float:
    """Share of completed episodes ended in [t0, t1) (and early enough to observe
    12 months before ``run_end``) whose youth is referred again within 12 months."""
    ids, k = ep["youth_id"], ep["episode"]
    order = np.lexsort((k, ids))
    ids, k = ids[order], k[order]
    rt = ep["record_type"][order]
    end = ep["exit_time"][order]
    ref = ep["referral_time"][order]
    nxt_same = np.zeros(len(ids), dtype=bool)
    nxt_same[:-1] = ids[1:] == ids[:-1]
    nxt_ref = np.full(len(ids), np.inf)
    nxt_ref[:-1] = np.where(nxt_same[:-1], ref[1:], np.inf)
    base = (rt == "completed") & (end >= t0) & (end < t1) & (end <= run_end - DAYS_PER_YEAR)
    if not base.any():
        return float("nan")
    return float(((nxt_ref[base] - end[base]) <= DAYS_PER_YEAR).mean())
