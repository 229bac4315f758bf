"""Summary metrics of one run, computed over the evaluation horizon."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol

import numpy as np

from ..config.schema import Config
from ..survival import cumulative_incidence
from ..units import DAYS_PER_MONTH, DAYS_PER_WEEK, DAYS_PER_YEAR
from ..table import Table

NORM_WEEKS = 14.0   # treeknorm: 4 weeks to intake + 10 weeks to treatment
#: the horizons of the time-to-care shares ``care_within_<t>w_share``, in weeks
CARE_WITHIN_WEEKS = (4, 14, 52)
#: event codes of the time to care: censored (still waiting at the end of the run),
#: care started, dropped out before any care, moved to another funder before any
#: care (the two competing events)
CENSORED, CARE, DROPOUT, OTHER_FUNDER = 0, 1, 2, 3

#: the range of a proportion: its confidence intervals are clipped to it
SHARE = (0.0, 1.0)
#: a re-referral within 12 months is seen only for episodes that end at least this long before
#: the end of the run; a window with less than REREFERRAL_MIN_OBSERVED_DAYS of such exits (e.g.
#: the last contract year) has the rate NaN: not observable, rather than a share of a few exits
REREFERRAL_DAYS = DAYS_PER_YEAR
REREFERRAL_MIN_OBSERVED_DAYS = DAYS_PER_MONTH
#: metrics that can be NaN because the end of the run cuts them off (tables show them as "n/o")
NOT_OBSERVABLE = {"rereferral_12m_rate": "a re-referral within 12 months is seen only for episodes that "
                  "end at least 12 months before the end of the run"}


@dataclass(frozen=True)
class Metric:
    """What a summary metric is: one line of meaning, an axis label, its unit,
    whether it is a headline metric (the ones conclusions talk about), and the
    range its values lie in (``bounds``; None: unbounded), to which intervals
    are clipped."""

    description: str
    label: str
    unit: str
    headline: bool = False
    bounds: Optional[tuple[float, float]] = None


#: the one metric registry: summary key -> Metric (docs/model.md has the formulas);
#: tables, figures, the report and the experiment scripts all read it
#: (the metrics that count every youth first: they lead the comparison table)
METRICS: dict[str, Metric] = {
    **{f"care_within_{w}w_share": Metric(
        f"share of all referrals in the window whose care started within {w} weeks (Aalen-Johansen: "
        "dropout before care competes, the end of the run censors)",
        f"Care within {w} weeks", "share of referrals", w == 14, SHARE) for w in CARE_WITHIN_WEEKS},
    "wait_total_mean_weeks": Metric("mean weeks out of care in the system (first and follow-up waits, "
                                    "assessment, re-indication) per episode referred in the window; open "
                                    "episodes with their time so far", "Total time waiting", "weeks", True),
    "mean_waiting_list_first": Metric("time-average number on providers' lists waiting for their first care",
                                      "Waiting for first care, time average", "youths"),
    "mean_waiting_list_follow_up": Metric("time-average number on providers' lists whose care had started "
                                          "(follow-up waits)", "Waiting for follow-up care, time average",
                                          "youths"),
    "goals_per_year": Metric("goals attained by episodes ending in the window, per year", "Goals attained",
                             "per year", True),
    "goals_per_referral": Metric("goals attained by episodes ending in the window / referrals in the window",
                                 "Goals per referral", "goals per referral"),
    "wait_mean_weeks": Metric("mean weeks from referral to first care, care starts in the horizon only (no "
                              "dropouts, none still waiting, no follow-up waits)", "Mean wait", "weeks", True),
    "wait_median_weeks": Metric("median of the same", "Median wait", "weeks"),
    "wait_p90_weeks": Metric("90th percentile of the same", "90th percentile wait", "weeks"),
    # no longer a headline metric: care_within_14w_share asks the same of every referral
    "share_over_norm": Metric("share of those waits over the 14-week treeknorm", "Waits over the 14-week norm",
                              "share", bounds=SHARE),
    "referrals": Metric("referrals per year (first and repeat)", "Referrals", "per year"),
    "starts_per_year": Metric("first care starts per year", "First care starts", "per year"),
    "youths_in_care_year": Metric("distinct youths with care per contract year (mean over full years)",
                                  "Youths in care", "youths per contract year", True),
    "mean_youths_in_care": Metric("time-average number of youths in care", "Youths in care, time average",
                                  "youths"),
    "mean_waiting_list": Metric("time-average number waiting on providers' lists", "Waiting list, time average",
                                "youths"),
    "waiting_at_end": Metric("episodes still waiting (for assessment or care) at the end", "Waiting at the end",
                             "episodes"),
    "goal_attained_rate": Metric("share of completed episodes that reached their goal", "Goal attained",
                                 "share of completed", True, SHARE),
    "rereferral_12m_rate": Metric("share of completed episodes followed by a referral within 12 months, of "
                                  "those ending at least 12 months before the end of the run (NaN, not "
                                  "observable, for a window without a month of them, e.g. the last contract "
                                  "year)", "Re-referral within 12 months", "share", bounds=SHARE),
    "dropout_rate": Metric("share of referrals whose family left the waiting list", "Left the waiting list",
                           "share of referrals", bounds=SHARE),
    "other_funder_rate": Metric("share of referrals moved to another funder (long-term care under the Wlz) "
                                "before youth care started", "Moved to another funder", "share of referrals",
                                bounds=SHARE),
    "dose_mean": Metric("mean delivered share of the needed care, completed episodes", "Delivered dose",
                        "share of needed care"),
    "care_cost_eur_per_year": Metric("paid for care: per unit, lump sums, population part, safety valve, team",
                                     "Care cost", "EUR per year", True),
    "other_funder_cost_eur_per_year": Metric(
        "care of the youths moved to another funder in the window, as judged and at catalogue prices: cost "
        "shifted out of youth care (not in care_cost_eur_per_year)", "Cost shifted to another funder",
        "EUR per year"),
    "admin_cost_eur_per_year": Metric("providers' and municipalities' administrative hours at cost",
                                      "Administration cost", "EUR per year", True),
    "admin_share": Metric("share of contracted providers' staff time spent on administration",
                          "Administration share of staff time", "share", bounds=SHARE),
    "cost_per_goal_eur": Metric("care cost per attained goal", "Care cost per attained goal", "EUR"),
    "utilisation": Metric("care hours in use / care capacity of contracted providers", "Utilisation",
                          "share of capacity"),
    "handovers_per_youth": Metric("provider changes per completed episode", "Handovers", "per completed episode"),
    "reindications_per_year": Metric("new indications for follow-up products per year", "Re-indications",
                                     "per year"),
    "contracts": Metric("providers holding a contract (taking new youths) at the end", "Contracted providers",
                        "providers"),
    "hhi": Metric("Herfindahl-Hirschman index of care hours delivered (0-10000)", "Concentration (HHI)",
                  "0-10000"),
}

#: the headline metrics, in registry order
HEADLINE: tuple[str, ...] = tuple(k for k, m in METRICS.items() if m.headline)

#: columns of the monthly table that figures plot, with their labels and units
SERIES: dict[str, Metric] = {
    "waiting_list": Metric("youths on providers' waiting lists at the month's end", "Waiting list", "youths"),
    "youths_in_care": Metric("youths in care at the month's end", "Youths in care", "youths"),
    "in_assessment": Metric("youths in the access team's assessment at the month's end", "In assessment",
                            "youths"),
    "spending_eur": Metric("care spending in the month", "Spending", "EUR per month"),
    "admin_hours": Metric("administrative hours in the month", "Administration", "hours per month"),
}


def metric_label(name: str, with_unit: bool = True) -> str:
    """A human label of a metric or monthly series, e.g. ``'Mean wait (weeks)'``;
    an unregistered name is shown as words."""
    m = METRICS.get(name) or SERIES.get(name)
    if m is None:
        return name.replace("_", " ").capitalize()
    return f"{m.label} ({m.unit})" if with_unit and m.unit else m.label


def metric_unit(name: str) -> str:
    m = METRICS.get(name) or SERIES.get(name)
    return m.unit if m is not None else ""


class FinishedRun(Protocol):
    """What the metrics read of a finished run of the care model: its horizon,
    the cumulative marks (``totals``, ``counts``, ``hours``) at the contract
    start, each contract year's end and the end, and who holds a contract."""

    cfg: Config
    t_contract_start: float
    t_end: float
    at_contract_start: dict
    year_marks: list[dict]
    at_end: dict
    open_mask: np.ndarray


def summarise(m: FinishedRun, ep: Table) -> dict[str, float]:
    """The summary of a run over its evaluation horizon."""
    idx = EpisodeIndex(ep, m.t_contract_start, m.t_end)
    out = window(m, idx, m.t_contract_start, m.t_end, m.at_contract_start, m.at_end)
    out["waiting_at_end"] = float((ep["record_type"] == "waiting_at_end").sum())
    out["contracts"] = float(m.open_mask.sum())
    return _registry_order(out)


def yearly(m: FinishedRun, ep: Table) -> Table:
    """The same metrics per full contract year of the horizon (one row per year)."""
    idx = EpisodeIndex(ep, m.t_contract_start, m.t_end)
    marks = m.year_marks
    rows = []
    for y in range(min(len(marks) - 1, len(idx.youths_by_year))):
        t0 = m.t_contract_start + y * DAYS_PER_YEAR
        row = {"contract_year": y, "start_day": t0, "end_day": t0 + DAYS_PER_YEAR}
        row.update(_registry_order(window(m, idx, t0, t0 + DAYS_PER_YEAR, marks[y], marks[y + 1])))
        rows.append(row)
    return Table.from_rows(rows)


def _registry_order(out: dict[str, float]) -> dict[str, float]:
    """``out`` with the registered metrics first, in registry order."""
    return {**{k: out[k] for k in METRICS if k in out}, **{k: v for k, v in out.items() if k not in METRICS}}


class EpisodeIndex:
    """Sorted views of the episode table, built once, so that metrics over
    many windows cost a binary search each instead of a pass over all rows."""

    def __init__(self, ep: Table, t0: float, t1: float):
        self.t0 = t0
        rt = ep["record_type"]
        start, ref, exit_ = ep["care_start"], ep["referral_time"], ep["exit_time"]
        o = np.argsort(start, kind="stable")            # NaN (never started) sort last
        self.start = start[o]
        self.wait_weeks = (start[o] - ref[o]) / DAYS_PER_WEEK
        o = np.argsort(ref, kind="stable")
        self.ref = ref[o]
        self.dropped = (rt[o] == "dropped_out")
        self.other_funder = (rt[o] == "other_funder")
        ttc_days, ttc_event = time_to_care(ep)
        self.ttc_days, self.ttc_event = ttc_days[o], ttc_event[o]
        self.off_care_weeks = (ep["system_days"][o] - ep["care_days"][o]) / DAYS_PER_WEEK
        done = rt == "completed"
        o = np.flatnonzero(done)[np.argsort(exit_[done], kind="stable")]
        self.exit = exit_[o]
        moved = rt == "other_funder"
        o_moved = np.flatnonzero(moved)[np.argsort(exit_[moved], kind="stable")]
        self.moved_exit = exit_[o_moved]
        self.moved_cost = ep["shifted_cost_eur"][o_moved]
        self.outcome = ep["outcome"][o]
        self.dose = ep["dose"][o]
        self.handovers = ep["handovers"][o].astype(float)
        self.gap_next = _gap_to_next_referral(ep)[o]
        self.youths_by_year = _youths_by_year(ep, t0, t1)

    def between(self, values: np.ndarray, a: float, b: float) -> slice:
        return slice(int(np.searchsorted(values, a, "left")), int(np.searchsorted(values, b, "left")))


def window(m: FinishedRun, idx: EpisodeIndex, t0: float, t1: float, mark0: dict, mark1: dict) -> dict[str, float]:
    """Metrics over the time window [t0, t1) from the indexed episode table and
    the model's cumulative accumulators marked at t0 and t1."""
    years = (t1 - t0) / DAYS_PER_YEAR
    a0, a1 = mark0["totals"], mark1["totals"]
    c0, c1 = mark0["counts"], mark1["counts"]
    d = {k: a1[k] - a0[k] for k in a1}
    costs = m.cfg.costs

    waits = idx.wait_weeks[idx.between(idx.start, t0, t1)]
    out: dict[str, float] = {}
    out["wait_mean_weeks"] = _mean(waits)
    out["wait_median_weeks"] = float(np.median(waits)) if len(waits) else np.nan
    out["wait_p90_weeks"] = float(np.percentile(waits, 90)) if len(waits) else np.nan
    out["share_over_norm"] = _mean(waits > NORM_WEEKS)
    referred = idx.between(idx.ref, t0, t1)
    out["referrals"] = (referred.stop - referred.start) / years
    out["starts_per_year"] = len(waits) / years
    y0 = int(round((t0 - idx.t0) / DAYS_PER_YEAR))
    y1 = y0 + int(np.floor(years + 1e-9))
    out["youths_in_care_year"] = _mean(idx.youths_by_year[y0:y1])
    out["mean_youths_in_care"] = d["in_care"] / (t1 - t0)
    out["mean_waiting_list"] = d["waiting"] / (t1 - t0)
    out["mean_waiting_list_first"] = (d["waiting"] - d["waiting_follow_up"]) / (t1 - t0)
    out["mean_waiting_list_follow_up"] = d["waiting_follow_up"] / (t1 - t0)

    # every referral of the window, followed to the end of the run
    cif = cumulative_incidence(idx.ttc_days[referred], idx.ttc_event[referred], cause=CARE)
    for w in CARE_WITHIN_WEEKS:
        out[f"care_within_{w}w_share"] = float(cif.value_at(w * DAYS_PER_WEEK)) if cif.n else np.nan
    out["wait_total_mean_weeks"] = _mean(idx.off_care_weeks[referred])

    done = idx.between(idx.exit, t0, t1)
    goals = float(np.nansum(idx.outcome[done]))
    n_referred = referred.stop - referred.start
    out["goals_per_year"] = goals / years
    out["goals_per_referral"] = goals / n_referred if n_referred else np.nan
    out["goal_attained_rate"] = _mean(idx.outcome[done])
    seen_until = min(t1, m.t_end - REREFERRAL_DAYS + 1e-9)      # exits followed for 12 months
    observable = idx.between(idx.exit, t0, seen_until)
    out["rereferral_12m_rate"] = (_mean(idx.gap_next[observable] <= REREFERRAL_DAYS)
                                  if seen_until - t0 >= REREFERRAL_MIN_OBSERVED_DAYS else np.nan)
    out["dropout_rate"] = _mean(idx.dropped[referred])
    out["other_funder_rate"] = _mean(idx.other_funder[referred])
    out["dose_mean"] = _mean(idx.dose[done])

    care = d["billed"] + d["lump"] + d["team"]
    prov_admin_h = d["overhead_h"] + d["decl_h"] + d["tx_h"]
    admin = prov_admin_h * costs.provider_admin_hour_eur + d["mun_h"] * costs.municipal_admin_hour_eur
    out["care_cost_eur_per_year"] = care / years
    out["other_funder_cost_eur_per_year"] = float(idx.moved_cost[idx.between(idx.moved_exit, t0, t1)].sum()) / years
    out["admin_cost_eur_per_year"] = admin / years
    out["admin_share"] = prov_admin_h / d["staff_h"] if d["staff_h"] > 0 else 0.0
    out["cost_per_goal_eur"] = care / goals if goals > 0 else np.nan
    out["utilisation"] = d["used"] / d["cap"] if d["cap"] > 0 else np.nan
    out["handovers_per_youth"] = _mean(idx.handovers[done])
    out["reindications_per_year"] = (c1["reindications"] - c0["reindications"]) / years
    hours = mark1["hours"] - mark0["hours"]
    tot = hours.sum()
    out["hhi"] = float(((hours / tot) ** 2).sum() * 10000) if tot > 0 else np.nan
    return out


def time_to_care(ep: Table) -> tuple[np.ndarray, np.ndarray]:
    """Per episode record: (days from referral, event) for the time to care with
    a competing risk. Care started: ``CARE`` at ``care_start - referral_time``;
    else dropped out: ``DROPOUT`` at ``exit_time - referral_time``; else
    (still waiting at the end of the run, or any other end without care)
    ``CENSORED`` at ``system_days`` (to the exit, or to the end of the run).
    Moved to another funder before any care: ``OTHER_FUNDER`` at its exit."""
    ref, start = ep["referral_time"], ep["care_start"]
    started = ~np.isnan(start)
    rt = ep["record_type"]
    dropped = ~started & (rt == "dropped_out")
    moved = ~started & (rt == "other_funder")
    days = np.where(started, start - ref, np.where(dropped | moved, ep["exit_time"] - ref, ep["system_days"]))
    event = np.where(started, CARE, np.where(dropped, DROPOUT, np.where(moved, OTHER_FUNDER, CENSORED)))
    event = event.astype(np.int64)
    return np.maximum(days, 0.0), event


def time_to_care_curve(ep: Table, t0: float, t1: float, weeks) -> dict[str, np.ndarray]:
    """The Aalen-Johansen cumulative incidence of care, of dropout before care
    and of a move to another funder before care, on the grid ``weeks``, for
    every referral in ``[t0, t1)`` followed to the end of the run
    (:func:`time_to_care`): columns ``weeks, n`` (referrals), ``cif_care,
    se_care, cif_dropout, se_dropout, cif_other_funder, se_other_funder``
    (delta-method se, within this run) and ``still_waiting`` (none of them yet:
    ``1 - cif_care - cif_dropout - cif_other_funder``)."""
    days, event = time_to_care(ep)
    ref = ep["referral_time"]
    sel = (ref >= t0) & (ref < t1)
    grid = np.unique(np.asarray(weeks, dtype=float))
    at = grid * DAYS_PER_WEEK
    cif = {name: cumulative_incidence(days[sel], event[sel], cause=code, at=at)
           for name, code in (("care", CARE), ("dropout", DROPOUT), ("other_funder", OTHER_FUNDER))}
    out = {"weeks": grid, "n": np.full(len(grid), int(sel.sum()))}
    for name, c in cif.items():
        out[f"cif_{name}"], out[f"se_{name}"] = np.array(c.cif), np.array(c.se)
    out["still_waiting"] = np.array(cif["care"].survival)
    return out


def _mean(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(x.mean()) if x.size else float("nan")


def _youths_by_year(ep: Table, t0: float, t1: float) -> np.ndarray:
    """Distinct youths with any care in each full year from ``t0`` (one pass:
    each episode is expanded into the years its care overlaps)."""
    k = int(np.floor((t1 - t0) / DAYS_PER_YEAR + 1e-9))
    # care runs from the first care start to the end of the latest segment (a
    # wait between segments counts as in care; a family that left after care
    # counts until its last segment, not until it left); in care at the end: on
    start = ep["care_start"]
    last = ep["last_care_end"]
    end = np.where((ep["record_type"] == "in_care_at_end") | np.isnan(last), np.inf, last)
    sel = ~np.isnan(start) & (start < t0 + k * DAYS_PER_YEAR) & (end >= t0)
    if k == 0 or not sel.any():
        return np.zeros(k)
    a = np.clip(np.floor((start[sel] - t0) / DAYS_PER_YEAR), 0, k - 1).astype(np.int64)
    b = np.clip(np.floor((np.minimum(end[sel], t0 + k * DAYS_PER_YEAR - 1e-9) - t0) / DAYS_PER_YEAR),
                0, k - 1).astype(np.int64)
    n = b - a + 1
    year = np.repeat(a, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    youth = np.repeat(ep["youth_id"][sel].astype(np.int64), n)
    pairs = np.unique(youth * k + year)
    return np.bincount(pairs % k, minlength=k).astype(float)


def _gap_to_next_referral(ep: Table) -> np.ndarray:
    """Days from each episode's exit to its youth's next referral (inf if none)."""
    ids, k = ep["youth_id"], ep["episode"]
    order = np.lexsort((k, ids))
    gap = np.full(len(ids), np.inf)
    same = ids[order][1:] == ids[order][:-1]
    nxt = np.where(same, ep["referral_time"][order][1:], np.inf)
    gap[order[:-1]] = nxt - ep["exit_time"][order][:-1]
    return gap
