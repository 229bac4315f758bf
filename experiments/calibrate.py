"""Calibration: the status quo of a configuration against the real region's known figures.

Three sets of runs of the status quo (the product regime, ``sim.run(cfg,
regime=STATUS_QUO, seed=s)``), each with ``--reps`` replications on the seeds
``replication_seed(--seed, r)``:

* **calibration**: the configured timeline; every statistic over the
  evaluation horizon (after the warm-up): care starts, ended trajectories and
  referrals in that window, against the targets of :data:`TARGETS`;
* **stationarity**: the same configuration run on to 30 years after the
  contract start (10 with ``--quick``); per full calendar year after the
  contract start the mean wait of care starts, the time-average waiting list
  and the time-average number of youths in care (both from the monthly rows).
  The OLS slope of each replication's yearly series on the year
  (:func:`sim.analysis.stats.trend_slope`), as a share of its mean level per
  year, with a 95% t-interval across the replications (independent, unlike
  the years of one run); PASS when that interval lies within +-1% a year.
  Dropout over those 30 years is checked as well;
* **stability**: the same long run with deterioration and dropout switched off
  (``mechanisms.waiting_effects: false``); PASS when the waiting list has no
  upward trend after the first ten years of the run, the transient from the
  state with waiting effects on: its growth a year as a share of the
  referrals a year (the demand that is not served), upper bound of the 95%
  interval across replications below 1%; and utilisation stays below 1.

Every target lives in the one table :data:`TARGETS` with its source (S =
sourced, D = derived from sourced figures, E = estimate). The text output
prints each target next to the simulated value (mean over replications with
its 95% t-interval over replications) and PASS/FAIL; ``--json`` prints one line
per target with ``name, target, simulated, ci_low, ci_high, tolerance, pass,
source`` (plus ``kind``, ``accept_low``, ``accept_high``, ``unit``, ``note``).
For a range, ``target`` is its midpoint and ``tolerance`` its half-width; for
the trend targets ``simulated`` and the interval are the slope as a share of the
level per year.

Writes targets.csv (the --json fields, one row per target) and conclusion.txt
(the table) under results/calibrate/ (results/calibrate-quick/ with --quick;
or --out DIR).

Exit status: 0 when every target passes, 1 when any fails, 2 on a user error
(bad option or ``--set``, invalid config), with one line on stderr.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "experiments"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import sim  # noqa: E402
from _common import QUICK_NOTE, keep, output_dir  # noqa: E402
from sim import STATUS_QUO  # noqa: E402
from sim.analysis.stats import t_interval, trend_slope  # noqa: E402
from sim.cli import replications, workers  # noqa: E402
from sim.errors import ConfigError  # noqa: E402
from sim.experiment.executors import parallel_map  # noqa: E402
from sim.files import write_csv  # noqa: E402
from sim.model.streams import replication_seed  # noqa: E402
from sim.units import DAYS_PER_MONTH, DAYS_PER_WEEK, add_years  # noqa: E402

PROG = "calibrate.py"
DEFAULT_CONFIG = ROOT / "configs" / "achterhoek.yaml"
STATIONARITY_YEARS = 30
QUICK_STATIONARITY_YEARS = 10
QUICK_REPS = 2
#: calendar years the stability check leaves out: with waiting effects off the lists grow from the
#: status quo's state to their own level first (about ten years: the relaxation of waits whose
#: patience averages 3.8 years); the trend is fitted to the years after
STABILITY_TRANSIENT_YEARS = 10
#: replications per run set: each replication draws its own world of providers, and the waits differ
#: much between worlds (a 95% interval of +-1.5 weeks over 10 of them)
DEFAULT_REPS = 10
#: the trend rule: the slope's 95% interval within +-1% of the level per year
TREND_TOLERANCE = 0.01

# --------------------------------------------------------------------------- the targets
#: S: CBS, durations of ended trajectories 2021 (months: 0-3, 3-6, 6-12, 12-24, 24-36, 36-48, 48+)
DURATION_BINS = [0, *(months * DAYS_PER_MONTH for months in (3, 6, 12, 24, 36, 48)), np.inf]
DURATION_TARGET = [0.16, 0.17, 0.30, 0.23, 0.07, 0.03, 0.04]
DURATION_LABELS = ["0-3m", "3-6m", "6-12m", "1-2y", "2-3y", "3-4y", "4y+"]
#: S: CBS youth care 2021, care form at start
FORM_TARGET = {"ambulant": 0.608, "network": 0.173, "team": 0.107, "day_care": 0.051, "with_stay": 0.061}
#: S: CBS 85096NED, referral source of starts 2021
SOURCE_TARGET = {"gp": 0.385, "municipal_team": 0.308, "none": 0.134, "certified_institution": 0.081,
                 "medical_specialist": 0.049, "youth_doctor": 0.031, "court": 0.004}

#: what a target's kind means (``value`` is the mean over replications, for
#: the trend kinds the slope as a share of the level per year with its interval)
KINDS = {
    "abs": "|value - target| <= tolerance",
    "rel": "|value - target| <= tolerance x |target|",
    "range": "low <= value <= high (target = (low, high))",
    "below": "value < target",
    "trend": "the slope's 95% interval lies within +-tolerance (share of the level per year)",
    "trend_below": "the upper bound of the slope's 95% interval is at most +tolerance (share of the level per year)",
}
#: which set of runs a target is measured on
RUN_SETS = ("calibration", "stationarity", "stability")


@dataclass(frozen=True)
class Target:
    """One calibration target: the statistic ``name`` of the run set ``runs``."""

    name: str
    target: Any                 # a number; (low, high) for kind "range"
    tolerance: float
    kind: str
    source: str
    runs: str = "calibration"
    unit: str = ""

    def bounds(self) -> tuple[float, float]:
        """The accepted interval of the value (of the slope's interval for the trend kinds)."""
        if self.kind == "abs":
            return self.target - self.tolerance, self.target + self.tolerance
        if self.kind == "rel":
            w = self.tolerance * abs(self.target)
            return self.target - w, self.target + w
        if self.kind == "range":
            return float(self.target[0]), float(self.target[1])
        if self.kind == "below":
            return -math.inf, float(self.target)
        if self.kind == "trend":
            return -self.tolerance, self.tolerance
        if self.kind == "trend_below":
            return -math.inf, self.tolerance
        raise ValueError(f"{self.name}: unknown kind {self.kind!r}")

    def centre(self) -> float:
        """The number reported as the target (the midpoint of a range)."""
        if self.kind == "range":
            return (float(self.target[0]) + float(self.target[1])) / 2.0
        if self.kind in ("trend", "trend_below"):
            return 0.0
        return float(self.target)

    def width(self) -> float:
        """The tolerance reported, in the value's units (half-width of a range)."""
        if self.kind == "range":
            return (float(self.target[1]) - float(self.target[0])) / 2.0
        if self.kind == "rel":
            return self.tolerance * abs(float(self.target))
        if self.kind == "below":
            return 0.0
        return float(self.tolerance)

    def passes(self, mean: float, low: float, high: float) -> bool:
        lo, hi = self.bounds()
        if self.kind == "trend":
            return bool(np.isfinite(low) and np.isfinite(high) and lo <= low and high <= hi)
        if self.kind == "trend_below":
            return bool(np.isfinite(high) and high <= hi)
        if not np.isfinite(mean):
            return False
        if self.kind == "below":
            return bool(mean < hi)
        return bool(lo <= mean <= hi)


_CBS_DURATION = "S: CBS, duration of ended trajectories 2021 (NL)"
_CBS_SOURCE = "S: CBS 85096NED, starts 2021 (NL)"
_CBS_FORM = "S: CBS youth care 2021, care form at start (NL)"
_TREND = ("E: stationary status quo: OLS slope of the yearly series on the calendar year, as a share of its "
          "level, one per replication; their 95% t-interval within +-1% of the level a year")

#: the one table of targets: (name, target, tolerance, kind, source, run set, unit)
TARGETS: list[Target] = [
    Target("youths_in_care_year", 6000.0, 0.10, "rel",
           "S: Achterhoek news July 2020 (~6,000 youths with youth care a year)", unit="youths per year"),
    Target("repeat_share", 0.24, 0.03, "abs", "D: CBS 2021 (share of care starts that are repeat use)",
           unit="share of starts"),
    Target("wait_mean_weeks", (11.0, 14.0), 0.0, "range",
           "S: one Dutch region 2022-23 (proxy): mean wait from referral to care 11-14 weeks", unit="weeks"),
    *(Target(f"duration_{k}", v, 0.05, "abs", _CBS_DURATION, unit="share of ended")
      for k, v in zip(DURATION_LABELS, DURATION_TARGET)),
    *(Target(f"source_{k}", v, 0.02, "abs", _CBS_SOURCE, unit="share of starts") for k, v in SOURCE_TARGET.items()),
    *(Target(f"care_form_{k}", v, 0.03, "abs", _CBS_FORM, unit="share of starts") for k, v in FORM_TARGET.items()),
    Target("care_cost_eur_per_year", 78.0e6, 0.15, "rel",
           "D: national youth-care spending 2022 (~6.1 bn EUR, CBS/Rijksoverheid) / 467k youths with jeugdhulp "
           "2022 (CBS) = ~13,100 EUR per youth x 6,000 youths; cross-check 83454NED per inhabitant 291-474 EUR "
           "(Beekdaelen, Heerlen 2021) x 300k = 87-142 M. Simulated: summary care_cost_eur_per_year = providers' "
           "billed care + lump sums + the access team's own care at its hourly price (admin cost not included)",
           unit="EUR per year"),
    Target("staff_hours_per_week", 29_900.0, 0.35, "rel",
           "D: CBS 2019 broad youth-care field 61,430 FTE / 443k youths in care 2019 = 0.139 FTE per youth x "
           "6,000 x 36 h (CAO Jeugdzorg). Simulated: providers' staff hours a week before the switch (monthly "
           "staff_hours_per_week; providers.total_staff_hours_per_week), the access team's own care hours and "
           "assessors not included", unit="hours per week"),
    Target("utilisation", (0.85, 0.95), 0.0, "range",
           "E: target band of issue 10 (summary utilisation: care hours in use / care capacity)",
           unit="share of capacity"),
    Target("dropout_share", (0.0, 0.10), 0.0, "range",
           "E: at most 0.10 of referrals leave the waiting list (records: dropped-out episodes / episodes "
           "referred in the horizon; the same as summary dropout_rate)", unit="share of referrals"),
    Target("stationarity_wait_mean_weeks_trend", 0.0, TREND_TOLERANCE, "trend",
           _TREND + " (mean wait of the care starts in each year)", "stationarity", "share of level per year"),
    Target("stationarity_waiting_list_trend", 0.0, TREND_TOLERANCE, "trend",
           _TREND + " (time-average waiting list, monthly rows)", "stationarity", "share of level per year"),
    Target("stationarity_youths_in_care_trend", 0.0, TREND_TOLERANCE, "trend",
           _TREND + " (time-average youths in care, monthly rows)", "stationarity", "share of level per year"),
    Target("stationarity_dropout_share", (0.0, 0.10), 0.0, "range",
           "E: at most 0.10 of referrals leave the waiting list, over the whole long run (records)",
           "stationarity", "share of referrals"),
    Target("stability_waiting_list_trend", 0.0, TREND_TOLERANCE, "trend_below",
           "E: stability with deterioration and dropout off (mechanisms.waiting_effects false): no upward trend "
           "of the time-average waiting list after the first ten years of the long run (the transient from the "
           "state with waiting effects on): its growth a year as a share of the referrals a year (the demand "
           "not served), upper bound of the 95% t-interval across replications below 1%", "stability",
           "share of referrals per year"),
    Target("stability_utilisation", 1.0, 0.0, "below",
           "E: stability with deterioration and dropout off: utilisation (summary, long-run horizon) below 1",
           "stability", "share of capacity"),
]


# --------------------------------------------------------------------------- measuring one run
def dropout_share(ep, t0: float, t1: float) -> float:
    """Dropped-out episodes / episodes referred in ``[t0, t1)``, from the records
    (an episode still waiting at the end counts as referred and not dropped out)."""
    ref = ep["referral_time"]
    sel = (ref >= t0) & (ref < t1)
    n = int(sel.sum())
    return float((ep["record_type"][sel] == "dropped_out").sum() / n) if n else math.nan


def staff_hours(res, cfg) -> float:
    """Providers' staff hours a week in the last month before the switch
    (the config's total when the monthly table has no such column)."""
    m = res.monthly
    if "staff_hours_per_week" in m.columns and len(m["staff_hours_per_week"]):
        before = np.flatnonzero(np.asarray(m["start_day"]) < res.contract_start_day)
        if len(before):
            return float(m["staff_hours_per_week"][before[-1]])
    return float(cfg.providers.total_staff_hours_per_week)


def measure(job) -> dict[str, Any]:
    """One replication of the status quo: the statistics of its run set."""
    runs, cfg, seed = job
    res = sim.run(cfg, regime=STATUS_QUO, seed=seed)
    if runs == "calibration":
        return calibration_stats(res, cfg)
    return long_run_stats(res, cfg)


def calibration_stats(res, cfg) -> dict[str, float]:
    ep, s, e = res.episodes, res.contract_start_day, res.end_day
    started = ep["care_start"] >= s
    done = (ep["record_type"] == "completed") & (ep["exit_time"] >= s)
    dur = (ep["care_end"] - ep["care_start"])[done]
    out = {"youths_in_care_year": res.summary["youths_in_care_year"],
           "wait_mean_weeks": res.summary["wait_mean_weeks"],
           "repeat_share": float(np.mean(ep["episode"][started] > 0)) if started.any() else math.nan,
           "care_cost_eur_per_year": float(res.summary["care_cost_eur_per_year"]),
           "staff_hours_per_week": staff_hours(res, cfg),
           "utilisation": float(res.summary["utilisation"]),
           "dropout_share": dropout_share(ep, s, e)}
    hist = np.histogram(dur, DURATION_BINS)[0] / max(len(dur), 1)
    out.update({f"duration_{k}": float(v) for k, v in zip(DURATION_LABELS, hist)})
    n_started = max(int(started.sum()), 1)
    out.update({f"care_form_{k}": float((ep["care_form"][started] == k).sum() / n_started) for k in FORM_TARGET})
    out.update({f"source_{k}": float((ep["source"][started] == k).sum() / n_started) for k in SOURCE_TARGET})
    return out


def calendar_years(cfg) -> list[int]:
    """The full calendar years between the contract start and the end."""
    tl = cfg.timeline
    first = tl.contract_start.year + (0 if (tl.contract_start.month, tl.contract_start.day) == (1, 1) else 1)
    return [y for y in range(first, tl.end.year) if dt.date(y + 1, 1, 1) <= tl.end]


def long_run_stats(res, cfg) -> dict[str, Any]:
    """Per full calendar year after the contract start: the mean wait of care
    starts (weeks), the time-average waiting list and youths in care (monthly
    rows, weighted by their length, assigned to the year of their midpoint);
    dropout share and utilisation over the whole horizon."""
    years = calendar_years(cfg)
    day0 = cfg.timeline.start
    edges = np.array([(dt.date(y, 1, 1) - day0).days for y in years + [years[-1] + 1]], float) if years else None
    ep, m = res.episodes, res.monthly
    wait, wl, yic = [], [], []
    start = ep["care_start"]
    weeks = (start - ep["referral_time"]) / DAYS_PER_WEEK
    mid = (np.asarray(m["start_day"], float) + np.asarray(m["end_day"], float)) / 2.0
    length = np.asarray(m["end_day"], float) - np.asarray(m["start_day"], float)
    wl_col = "mean_waiting_list" if "mean_waiting_list" in m.columns else "waiting_list"
    yic_col = "mean_youths_in_care" if "mean_youths_in_care" in m.columns else "youths_in_care"
    for i in range(len(years)):
        a, b = edges[i], edges[i + 1]
        sel = (start >= a) & (start < b)
        wait.append(float(weeks[sel].mean()) if sel.any() else math.nan)
        rows = (mid >= a) & (mid < b)
        w = length[rows]
        for out, name in ((wl, wl_col), (yic, yic_col)):
            v = np.asarray(m[name], float)[rows]
            out.append(float((v * w).sum() / w.sum()) if w.sum() > 0 else math.nan)
    return {"years": years, "wait_mean_weeks": wait, "waiting_list": wl, "youths_in_care": yic,
            "dropout_share": dropout_share(ep, res.contract_start_day, res.end_day),
            "utilisation": float(res.summary["utilisation"]),
            "referrals_per_year": float(res.summary["referrals"]),
            "wall_seconds": res.wall_seconds}


# --------------------------------------------------------------------------- evaluating
def relative_trend(years: Sequence[int], series: np.ndarray) -> dict[str, float]:
    """The OLS slope of ``series`` on ``years`` and its 95% t-interval, as a
    share of the series' mean level per year."""
    slope, low, high = trend_slope(years, series)
    level = float(np.nanmean(series)) if np.isfinite(series).any() else math.nan
    if not np.isfinite(level) or level == 0.0:
        flat = slope == 0.0 and low == 0.0 and high == 0.0
        rel = (0.0, 0.0, 0.0) if flat else (math.nan, math.nan, math.nan)
    else:
        rel = (slope / abs(level), low / abs(level), high / abs(level))
    return {"slope": slope, "slope_low": low, "slope_high": high, "level": level, "rel": rel[0], "rel_low": rel[1],
            "rel_high": rel[2]}


_TREND_SERIES = {"stationarity_wait_mean_weeks_trend": ("wait_mean_weeks", "weeks"),
                 "stationarity_waiting_list_trend": ("waiting_list", "youths"),
                 "stationarity_youths_in_care_trend": ("youths_in_care", "youths"),
                 "stability_waiting_list_trend": ("waiting_list", "youths")}


def evaluate(target: Target, rows: list[dict]) -> dict[str, Any]:
    """The result line of one target from the replications of its run set."""
    note = ""
    if target.kind in ("trend", "trend_below"):
        key, unit = _TREND_SERIES[target.name]
        per_rep = []
        for r in rows:
            years, series = list(r["years"]), np.asarray(r[key], float)
            if target.name.startswith("stability_") and len(years) > 2 * STABILITY_TRANSIENT_YEARS:
                # the run starts from the status quo's state with waiting effects on, so with them off the
                # lists first grow to their own level (a transient); stability is whether they then stop
                years, series = years[STABILITY_TRANSIENT_YEARS:], series[STABILITY_TRANSIENT_YEARS:]
            tr = relative_trend(years, series)
            if target.name.startswith("stability_"):
                # growth of the list a year as a share of the referrals a year: the excess of the load over
                # capacity as a share of demand (a list that grows by e x referrals a year means that e of
                # the demand is not served); the level would hide it behind a long list
                per = r.get("referrals_per_year", math.nan)
                tr = {**tr, "rel": tr["slope"] / per, "rel_low": tr["slope_low"] / per,
                      "rel_high": tr["slope_high"] / per}
            per_rep.append((years, tr))
        years = per_rep[0][0] if per_rep else []
        span = f"{years[0]}-{years[-1]}" if years else "no full year"
        if len(per_rep) >= 2:
            # one slope per replication, a t-interval across them: replications are independent, the
            # years of one run are not (autocorrelated), so this is the honest interval
            iv = t_interval([tr["rel"] for _, tr in per_rep])
            mean, low, high = iv.mean, iv.low, iv.high
            how = f"t-interval of the {len(per_rep)} replications' slopes"
        else:
            tr = per_rep[0][1] if per_rep else relative_trend([], np.array([]))
            mean, low, high = tr["rel"], tr["rel_low"], tr["rel_high"]
            how = "OLS interval of one replication (years assumed independent: too narrow)"
        level = float(np.mean([tr["level"] for _, tr in per_rep])) if per_rep else math.nan
        slope = float(np.mean([tr["slope"] for _, tr in per_rep])) if per_rep else math.nan
        note = f"level {_num(level)} {unit}, slope {slope:+.3g} {unit}/year, calendar years {span}, {how}"
    else:
        key = target.name.removeprefix("stationarity_").removeprefix("stability_")
        iv = t_interval([r[key] for r in rows])
        mean, low, high = iv.mean, iv.low, iv.high
    lo, hi = target.bounds()
    return {"name": target.name, "target": target.centre(), "simulated": mean, "ci_low": low, "ci_high": high,
            "tolerance": target.width(), "pass": target.passes(mean, low, high), "source": target.source,
            "kind": target.kind, "accept_low": lo, "accept_high": hi, "unit": target.unit, "runs": target.runs,
            "note": note}


def _finite(x: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (np.floating, np.integer)):
        return _finite(float(x))
    return x


# --------------------------------------------------------------------------- printing
def _num(v: float) -> str:
    if v is None or not np.isfinite(v):
        return "nan"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:,.2f}M"
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}"


def _pct(v: float) -> str:
    return "nan" if v is None or not np.isfinite(v) else f"{100 * v:+.2f}%"


def target_text(t: Target) -> str:
    if t.kind == "abs":
        return f"{_num(t.target)} +-{_num(t.tolerance)}"
    if t.kind == "rel":
        return f"{_num(t.target)} +-{t.tolerance:.0%}"
    if t.kind == "range":
        return f"{_num(t.target[0])}-{_num(t.target[1])}"
    if t.kind == "below":
        return f"< {_num(t.target)}"
    if t.kind == "trend":
        return f"+-{t.tolerance:.0%}/y"
    return f"< +{t.tolerance:.0%}/y"


def table_lines(results: list[dict], targets: list[Target]) -> list[str]:
    """The printed table: every target next to its simulated value, by run set."""
    by_name = {t.name: t for t in targets}
    lines = [f"{'statistic':36s} {'target':>14s} {'simulated':>10s} {'95% CI':>22s}  result  source"]
    section = None
    for r in results:
        t = by_name[r["name"]]
        if t.runs != section:
            section = t.runs
            lines.append(f"-- {section}")
        fmt = _pct if t.kind in ("trend", "trend_below") else _num
        ci = f"[{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"
        lines.append(f"{r['name']:36s} {target_text(t):>14s} {fmt(r['simulated']):>10s} {ci:>22s}  "
                     f"{'PASS' if r['pass'] else 'FAIL':6s}  {r['source']}")
        if r["note"]:
            lines.append(f"{'':36s} ({r['note']})")
    return lines


# --------------------------------------------------------------------------- command line
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{PROG}: error: {' '.join(str(message).split())}\n")


def _override(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    key = key.strip()
    if not eq or not key or any(not part for part in key.split(".")):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. demand.growth_per_year=0.02), got {text!r}")
    return key, value


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    ap = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(DEFAULT_CONFIG), help="YAML configuration (default: %(default)s)")
    ap.add_argument("--reps", type=replications, default=None,
                    help=f"replications per run set (default {DEFAULT_REPS}, with --quick {QUICK_REPS})")
    ap.add_argument("--seed", type=int, default=1, help="root seed (default 1)")
    ap.add_argument("--workers", type=workers, default=os.cpu_count() or 1,
                    help="parallel processes (default: one per core)")
    ap.add_argument("--set", dest="overrides", type=_override, action="append", default=[], metavar="KEY=VALUE",
                    help="override a config value by its dotted key path (repeatable)")
    ap.add_argument("--json", action="store_true", help="one JSON line per target, nothing else on stdout")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke test: {QUICK_REPS} replications and a {QUICK_STATIONARITY_YEARS}-year "
                         "stationarity run")
    ap.add_argument("--skip-stationarity", action="store_true",
                    help="skip the long runs (the stationarity and the stability check)")
    ap.add_argument("--out", default=None, help="output folder: targets.csv and conclusion.txt (default "
                    "results/calibrate, results/calibrate-quick with --quick)")
    ap.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    if args.reps is None:
        args.reps = QUICK_REPS if args.quick else DEFAULT_REPS
    return args


def configs(args: argparse.Namespace) -> dict[str, sim.Config]:
    """The validated config of each run set (a ConfigError is a user error)."""
    cfg = sim.load_config(args.config, dict(args.overrides))
    out = {"calibration": cfg}
    if not args.skip_stationarity:
        years = QUICK_STATIONARITY_YEARS if args.quick else STATIONARITY_YEARS
        end = add_years(cfg.timeline.contract_start, years)
        long = sim.with_overrides(cfg, {"timeline.end": end.isoformat()})
        out["stationarity"] = long
        out["stability"] = sim.with_overrides(long, {"mechanisms.waiting_effects": False})
    return out


def header(args: argparse.Namespace, cfgs: dict[str, sim.Config]) -> list[str]:
    tl = cfgs["calibration"].timeline
    warm = tl.contract_start_day / 365.25
    lines = [f"calibration of {args.config}{' (' + ', '.join(f'{k}={v}' for k, v in args.overrides) + ')' if args.overrides else ''}",
             f"regime: {STATUS_QUO} (the status quo) throughout; {args.reps} replication"
             f"{'s' if args.reps != 1 else ''} per run set, root seed {args.seed}",
             f"calibration: evaluation horizon {tl.contract_start} to {tl.end} ({tl.horizon_years:.1f} years) "
             f"after a {warm:.1f}-year warm-up from {tl.start}"]
    if "stationarity" in cfgs:
        lt = cfgs["stationarity"].timeline
        ys = calendar_years(cfgs["stationarity"])
        lines.append(f"stationarity: {lt.contract_start} to {lt.end} ({lt.horizon_years:.0f} years), calendar "
                     f"years {ys[0]}-{ys[-1]}" if ys else f"stationarity: {lt.contract_start} to {lt.end}")
        lines.append("stability: the same long run with mechanisms.waiting_effects false (no deterioration, "
                     "no dropout)")
    lines.append("intervals: 95% t-intervals over replications (trends: the OLS slope of each replication's "
                 "yearly series, as a share of its level per year, t-interval across replications)")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        cfgs = configs(args)
    except ConfigError as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    folder = output_dir("calibrate", args)
    t0 = time.perf_counter()
    head = header(args, cfgs) + ([QUICK_NOTE] if args.quick else [])
    if not args.json:
        print("\n".join(head), flush=True)
    seeds = [replication_seed(args.seed, r) for r in range(args.reps)]
    # the long runs first, so the pool ends on the short ones
    order = [k for k in ("stability", "stationarity", "calibration") if k in cfgs]
    jobs = [(k, cfgs[k], s) for k in order for s in seeds]
    out = parallel_map(measure, jobs, args.workers, progress=None if args.no_progress else "calibration runs")
    rows = {k: [o for (kk, _, _), o in zip(jobs, out) if kk == k] for k in order}
    targets = [t for t in TARGETS if t.runs in rows]
    results = [evaluate(t, rows[t.runs]) for t in targets]
    failed = sum(not r["pass"] for r in results)
    plain = [{k: _finite(v) for k, v in r.items()} for r in results]
    body = table_lines(results, targets) + [f"{len(results) - failed} of {len(results)} targets pass "
                                            f"({len(jobs)} runs in {time.perf_counter() - t0:.0f} s)"]
    if args.json:
        for r in plain:
            print(json.dumps(r))
    else:
        print("\n".join(body))
    write_csv(folder / "targets.csv", {k: [_cell(r[k]) for r in plain] for k in plain[0]})
    keep(folder, "\n".join(head + body))
    return 1 if failed else 0


def _cell(value: Any) -> Any:
    """A target's field for targets.csv: a range as ``low-high``, None as empty."""
    if isinstance(value, (list, tuple)):
        return "-".join(str(v) for v in value)
    return "" if value is None else value


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BrokenPipeError:          # e.g. `calibrate.py --json | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        raise SystemExit(130)
