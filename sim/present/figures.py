"""Figures of simulation results (matplotlib, no pyplot state, Agg rendering).

Every function takes tidy data (a ``sim.Table``, pandas ``DataFrame`` or dict
of columns, as loaded by ``sim.load_results`` or built from ``sim.run`` /
``sim.compare``), draws one figure, writes it when given an output path and
returns the matplotlib ``Figure`` (a notebook shows it; :func:`written` names
the files). The format follows the path's suffix (PNG by default); pass
``formats=("png", "svg")`` to write several files side by side. When a table holds several design points (a ``point`` column) pass
``point=`` to pick one; the functions refuse to mix points silently.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
from matplotlib.figure import Figure

from ..analysis.stats import _columns, _ok_rows, _vector, t_interval
from ..model.metrics import CARE_WITHIN_WEEKS, NORM_WEEKS, metric_label, metric_unit
from ..regimes import REFORM, REGIMES, STATUS_QUO
from ..units import DAYS_PER_WEEK

__all__ = ["ecdf_waiting_times", "time_to_care", "time_series", "forest_plot", "response_curve", "morris_plot",
           "yearly_differences", "waterfall", "uncertainty_plot", "cost_breakdown", "metric_label", "written",
           "REGIME_COLOURS"]

DPI = 110
#: where a figure goes: a path (its suffix picks the format unless ``formats`` is given)
PathLike = Union[str, Path]

#: colours of the registered regimes (status quo blue, reform orange); a regime
#: not listed here gets the next of _OTHER
REGIME_COLOURS = {STATUS_QUO: "#1f5f99", REFORM: "#d9641c"}
_OTHER = ["#2a9d57", "#8e44ad", "#b8860b", "#c0392b", "#16a085", "#7f8c8d"]
POINT_MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*"]
SIGNIFICANT, NOT_SIGNIFICANT = "#17375e", "#8c9aa6"     # neutral: a difference is not good or bad per se
#: monthly series that are snapshots at the month's end (the others are flows or averages over the month)
SNAPSHOT_SERIES = {"waiting_list", "youths_in_care", "in_assessment", "capacity_hours_per_week",
                   "used_hours_per_week"}


def _scaled(metric: str, values) -> tuple[float, str]:
    """(divisor, unit) so that euro amounts of a million and more read in millions."""
    unit = metric_unit(metric)
    v = np.abs(_vector(values))
    v = v[np.isfinite(v)]
    if "EUR" in unit and len(v) and v.max() >= 1e6:
        return 1e6, "million " + unit
    return 1.0, unit


def regime_colour(regime: str, i: int = 0) -> str:
    return REGIME_COLOURS.get(str(regime), _OTHER[i % len(_OTHER)])


# --------------------------------------------------------------------------- helpers
def _figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (8.0, 4.5), **kw):
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def written(out: PathLike, formats: Optional[Sequence[str]] = None) -> list[Path]:
    """The files a figure function writes for ``out`` and ``formats``: ``out``
    with each format's suffix (default: ``out``'s own suffix, else PNG)."""
    out = Path(out)
    fmts = [f.lstrip(".").lower() for f in formats] if formats else [out.suffix.lstrip(".").lower() or "png"]
    return [out.with_suffix("." + f) for f in fmts]


def _finish(fig: Figure, out: Optional[PathLike], formats: Optional[Sequence[str]]) -> Figure:
    """Write ``fig`` to ``out`` in each of ``formats`` (nothing when ``out`` is
    None) and return it, so a notebook shows it and code can restyle it."""
    if out is not None:
        paths = written(out, formats)
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        for p in paths:
            fig.savefig(p, dpi=DPI, format=p.suffix[1:], metadata={"Software": None} if p.suffix == ".png" else None)
    return fig


def _style(ax) -> None:
    ax.grid(True, color="#dddddd", linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _select(cols: dict[str, np.ndarray], point: Any, what: str) -> tuple[dict[str, np.ndarray], Any]:
    """Rows of one design point (all rows when the table has no point column)."""
    if "point" not in cols or not len(cols["point"]):
        return cols, point
    pts = _unique(cols["point"])
    if point is None:
        if len(pts) > 1:
            raise ValueError(f"{what} holds {len(pts)} design points; pass point= (one of {pts[:5]}...)")
        point = pts[0]
    sel = np.array([str(p) == str(point) for p in cols["point"].tolist()], dtype=bool)
    if not sel.any():
        raise ValueError(f"{what} has no design point {point!r}")
    return {k: v[sel] for k, v in cols.items()}, point


def _unique(values) -> list:
    seen: dict = {}
    for v in np.asarray(values).tolist():
        seen.setdefault(v, None)
    return list(seen)


def _regimes(cols, regimes) -> list[str]:
    present = [str(r) for r in _unique(cols["regime"])]
    if regimes is None:
        order = [r for r in REGIMES if r in present]
        return order + [r for r in present if r not in order]
    return [r for r in regimes if r in present]


def _dates(values) -> np.ndarray:
    """Dates (ISO strings, dates or datetime64) as datetime64[D]."""
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):      # e.g. a pandas date column (datetime64[ns])
        return arr.astype("datetime64[D]")
    return np.array([np.datetime64(str(v)[:10]) for v in arr.tolist()], dtype="datetime64[D]")


def _fmt_num(x: float, unit: str = "") -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    ax = abs(x)
    if "EUR" in unit and ax >= 1e6:
        s = f"{x / 1e6:,.2f}M"
    elif "EUR" in unit and ax >= 1e4:
        s = f"{x / 1e3:,.0f}k"
    elif ax >= 100:
        s = f"{x:,.0f}"
    elif ax >= 10:
        s = f"{x:.1f}"
    elif ax >= 0.01 or ax == 0:
        s = f"{x:.3f}" if ax < 1 else f"{x:.2f}"
    else:
        s = f"{x:.2g}"
    return s


def _title(ax_or_fig, text: str, point: Any = None) -> None:
    """A title wrapped to the figure's width (so constrained layout never clips it)."""
    if point is not None and str(point) not in ("", "None"):
        text = f"{text} [design point {point}]"
    fig = ax_or_fig if isinstance(ax_or_fig, Figure) else ax_or_fig.figure
    text = "\n".join(textwrap.wrap(text, width=max(30, int(fig.get_figwidth() * 10.5))))
    if isinstance(ax_or_fig, Figure):
        ax_or_fig.suptitle(text, fontsize=12)
    else:
        ax_or_fig.set_title(text, fontsize=11)


# --------------------------------------------------------------------------- ECDF of waits
def ecdf_waiting_times(episodes, out: Optional[PathLike] = None, contract_start_day: Optional[float] = None, point: Any = None,
                       regimes: Optional[Sequence[str]] = None, norm_weeks: float = NORM_WEEKS,
                       formats: Optional[Sequence[str]] = None, title: Optional[str] = None) -> Figure:
    """Empirical CDF of waiting times (weeks from referral to care start) per
    regime, pooled over replications, for care that started at or after
    ``contract_start_day`` (days from the run's start; all starts when None).
    The x-axis is cut at the largest 99th percentile; the 14-week norm is marked."""
    cols, point = _select(_columns(episodes), point, "episodes")
    start, ref = _vector(cols["care_start"]), _vector(cols["referral_time"])
    keep = ~np.isnan(start)
    if contract_start_day is not None:
        keep &= start >= float(contract_start_day)
    waits = (start - ref) / DAYS_PER_WEEK
    reg = np.asarray(cols["regime"]).astype(str)
    fig, axes = _figure(size=(8.0, 4.8))
    ax = axes[0, 0]
    xmax = 0.0
    for i, r in enumerate(_regimes(cols, regimes)):
        w = np.sort(waits[keep & (reg == r)])
        if not len(w):
            continue
        y = np.arange(1, len(w) + 1) / len(w)
        share = float((w > norm_weeks).mean())
        ax.step(np.r_[0.0, w], np.r_[0.0, y], where="post", color=regime_colour(r, i), linewidth=1.8,
                label=f"{r}: median {np.median(w):.1f} wk, {100 * share:.0f}% over {norm_weeks:g} wk (n={len(w):,})")
        xmax = max(xmax, float(np.percentile(w, 99)))
    ax.axvline(norm_weeks, color="#555555", linestyle="--", linewidth=1)
    ax.text(norm_weeks, 0.02, f" {norm_weeks:g}-week norm", color="#555555", fontsize=8, va="bottom")
    ax.set_xlim(0, max(xmax * 1.05, norm_weeks * 1.2))
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("Waiting time from referral to care start (weeks; axis cut at the 99th percentile)")
    ax.set_ylabel("Share of care starts waiting at most x")
    _style(ax)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    when = "care starts after the contract start" if contract_start_day is not None else "all care starts"
    _title(ax, title or f"Waiting times per regime ({when}, pooled over replications)", point)
    return _finish(fig, out, formats)


# --------------------------------------------------------------------------- time to care (competing risks)
def time_to_care(curves, out: Optional[PathLike] = None, point: Any = None, regimes: Optional[Sequence[str]] = None, level: float = 0.95,
                 marks: Sequence[float] = CARE_WITHIN_WEEKS, formats: Optional[Sequence[str]] = None,
                 title: Optional[str] = None) -> Figure:
    """Time to care of every referral in the evaluation horizon, one panel per
    regime: the Aalen-Johansen cumulative incidence of care (rising from the
    bottom) and of leaving before care (hanging from the top, drawn as
    ``1 - cif_dropout - cif_other_funder``: dropout, and a move to another
    funder when the table has it), so the gap between them is the share still
    waiting.

    ``curves``: the tidy ``time_to_care.csv`` of ``caresim compare`` (columns
    regime, replication, weeks, cif_care, cif_dropout, ...), one curve per run.
    Lines are the mean over replications at each week; the band around the
    care curve is the t-CI of that mean across replications (the honest
    interval: a run's referrals share capacity, so the within-run delta-method
    se understates). The shares at ``marks`` weeks are written on the curve."""
    cols, point = _select(_columns(curves), point, "time to care")
    for need in ("regime", "weeks", "cif_care", "cif_dropout"):
        if need not in cols:
            raise KeyError(f"time-to-care table has no {need!r} column")
    reg = np.asarray(cols["regime"]).astype(str)
    rep = np.asarray(cols["replication"]) if "replication" in cols else np.zeros(len(reg), int)
    weeks = _vector(cols["weeks"])
    names = _regimes(cols, regimes)
    fig, axes = _figure(1, len(names), size=(5.2 * len(names) + 0.6, 4.6), sharey=True)
    for i, r in enumerate(names):
        ax = axes[0, i]
        sel = reg == r
        grid = np.unique(weeks[sel])
        reps = _unique(rep[sel])
        mean: dict[str, np.ndarray] = {}
        lo = hi = None
        for key in ("cif_care", "cif_dropout", "cif_other_funder"):
            if key not in cols:
                continue
            m = np.full((len(reps), len(grid)), np.nan)
            ri = {q: j for j, q in enumerate(reps)}
            m[[ri[q] for q in rep[sel].tolist()], np.searchsorted(grid, weeks[sel])] = _vector(cols[key][sel])
            mean[key] = np.nanmean(m, axis=0)
            if key == "cif_care" and len(reps) > 1:
                cis = [t_interval(m[:, j], level) for j in range(len(grid))]
                lo = np.clip(np.array([c.low for c in cis]), 0, 1)
                hi = np.clip(np.array([c.high for c in cis]), 0, 1)
        c = regime_colour(r, i)
        ax.step(grid, mean["cif_care"], where="post", color=c, linewidth=1.9, label="care started")
        if lo is not None:
            ax.fill_between(grid, lo, hi, step="post", color=c, alpha=0.22, linewidth=0,
                            label=f"{100 * level:g}% t-CI across {len(reps)} replications")
        moved = mean.get("cif_other_funder")
        top = 1 - mean["cif_dropout"] - (moved if moved is not None else 0.0)
        left = "dropped out" + (" or moved to another funder" if moved is not None and np.nanmax(moved) > 0 else "")
        ax.step(grid, top, where="post", color="#7f7f7f", linewidth=1.4, label=f"{left} before care (from top)")
        ax.fill_between(grid, top, 1, step="post", color="#bbbbbb", alpha=0.45, linewidth=0)
        ax.fill_between(grid, mean["cif_care"], top, step="post", color=c, alpha=0.06, linewidth=0)
        for w in marks:
            if grid.size and grid[0] <= w <= grid[-1]:
                v = float(mean["cif_care"][np.searchsorted(grid, w, side="right") - 1])
                ax.axvline(w, color="#555555", linestyle=":", linewidth=0.9)
                ax.annotate(f"{100 * v:.0f}% by {w:g} wk", (w, v), textcoords="offset points", xytext=(4, -12),
                            fontsize=8, color=c)
        n = _vector(cols["n"][sel]) if "n" in cols else np.array([])
        per = f", {np.nanmean(n):,.0f} referrals per run" if len(n) else ""
        ax.set_title(f"{r}{per}", fontsize=10)
        ax.set_xlim(0, grid[-1] if grid.size else 1)
        ax.set_ylim(0, 1.0)
        ax.set_xlabel("Weeks from referral")
        if i == 0:
            ax.set_ylabel("Share of referrals (cumulative incidence)")
        _style(ax)
        ax.legend(loc="lower right", fontsize=7.5, frameon=False)
    _title(fig, title or "Time to care of every referral in the horizon (Aalen-Johansen; dropout before care "
                         "competes, the end of the run censors; mean over replications)", point)
    return _finish(fig, out, formats)


# --------------------------------------------------------------------------- time series
def time_series(monthly, out: Optional[PathLike] = None, series: Sequence[str] = ("waiting_list", "youths_in_care"), point: Any = None,
                regimes: Optional[Sequence[str]] = None, band: str = "quantile", level: float = 0.95,
                contract_start: Any = None, formats: Optional[Sequence[str]] = None,
                title: Optional[str] = None) -> Figure:
    """Monthly series over calendar time, one panel per series, one line per
    regime: the mean over replications and a band, either the central
    ``level`` range of the replications (``band="quantile"``, 2.5-97.5% by
    default) or the t-CI of the mean (``band="t"``). The contract start
    (``contract_start`` as a date, or the first month of contract year 0) is
    marked and the warm-up shaded."""
    if band not in ("quantile", "t"):
        raise ValueError("band must be 'quantile' or 't'")
    cols, point = _select(_columns(monthly), point, "monthly")
    cols = {k: v for k, v in cols.items()}
    reg = np.asarray(cols["regime"]).astype(str)
    month = np.asarray(cols["month"]).astype(int)
    rep = np.asarray(cols["replication"]) if "replication" in cols else np.zeros(len(month), int)
    dates = _dates(cols["date"])
    if contract_start is None and "contract_year" in cols:
        cy = _vector(cols["contract_year"])
        if (cy >= 0).any():
            contract_start = dates[np.flatnonzero(cy >= 0)[np.argmin(month[cy >= 0])]]
    cs = np.datetime64(str(contract_start)[:10]) if contract_start is not None else None
    fig, axes = _figure(len(series), 1, size=(9.0, 3.4 * len(series)), sharex=True)
    names = _regimes(cols, regimes)
    months = np.unique(month)
    date_of = {m: d for m, d in zip(month.tolist(), dates)}
    x0 = np.array([date_of[m] for m in months.tolist()], dtype="datetime64[D]")
    span = np.zeros(len(months))
    if "start_day" in cols and "end_day" in cols:
        days = {m: e - b for m, b, e in zip(month.tolist(), _vector(cols["start_day"]), _vector(cols["end_day"]))}
        span = np.array([days[m] for m in months.tolist()])
    for k, name in enumerate(series):
        ax = axes[k, 0]
        # snapshots sit at the month's end, flows and averages at its middle
        shift = span if name in SNAPSHOT_SERIES else span / 2
        x = x0 + np.round(shift).astype("timedelta64[D]")
        v = _vector(cols[name])
        div, unit = _scaled(name, v)       # euros of a million and more in millions
        v = v / div
        for i, r in enumerate(names):
            sel = reg == r
            reps = _unique(rep[sel])
            grid = np.full((len(reps), len(months)), np.nan)
            ri = {q: j for j, q in enumerate(reps)}
            mi = np.searchsorted(months, month[sel])
            grid[[ri[q] for q in rep[sel].tolist()], mi] = v[sel]
            mean = np.nanmean(grid, axis=0)
            c = regime_colour(r, i)
            if len(reps) > 1:
                if band == "quantile":
                    q = (1 - level) / 2
                    lo, hi = np.nanquantile(grid, q, axis=0), np.nanquantile(grid, 1 - q, axis=0)
                    what = f"{100 * q:g}-{100 * (1 - q):g}% of replications"
                else:
                    n = np.sum(~np.isnan(grid), axis=0)
                    sd = np.nanstd(grid, axis=0, ddof=1)
                    from scipy import special
                    h = special.stdtrit(np.maximum(n - 1, 1), 0.5 + level / 2) * sd / np.sqrt(np.maximum(n, 1))
                    lo, hi = mean - h, mean + h
                    what = f"{100 * level:g}% t-CI of the mean"
                ax.fill_between(x, lo, hi, color=c, alpha=0.2, linewidth=0,
                                label=f"{r}: {what}" if k == 0 else None)
            ax.plot(x, mean, color=c, linewidth=1.6,
                    label=(f"{r}: mean of {len(reps)} replications" if len(reps) > 1 else r) if k == 0 else None)
        if cs is not None:
            ax.axvspan(x0[0], cs, color="#888888", alpha=0.08, linewidth=0)
            ax.axvline(cs, color="#333333", linestyle="--", linewidth=1)
            ax.text(cs, 0.98, " contract start", transform=ax.get_xaxis_transform(), fontsize=8,
                    va="top", color="#333333")
            ax.text(x0[0], 0.98, " warm-up (status quo)", transform=ax.get_xaxis_transform(), fontsize=8,
                    va="top", color="#666666")
        ax.set_ylabel(f"{metric_label(name, False)} ({unit})" if unit else metric_label(name))
        ax.set_ylim(bottom=0)
        _style(ax)
    axes[-1, 0].set_xlabel("Date (snapshots at each month's end)" if set(series) <= SNAPSHOT_SERIES
                           else "Date (monthly observations)")
    axes[0, 0].legend(fontsize=8, frameon=True, loc="lower right", framealpha=0.85)
    _title(fig, title or "Waiting list and youths in care over time", point)
    return _finish(fig, out, formats)


# --------------------------------------------------------------------------- forest plot
def forest_plot(paired, out: Optional[PathLike] = None, metrics: Optional[Sequence[str]] = None, point: Any = None,
                scale: str = "relative", formats: Optional[Sequence[str]] = None,
                title: Optional[str] = None) -> Figure:
    """Paired differences (b - a) per metric with their confidence intervals,
    from :func:`sim.analysis.stats.paired_differences`.

    ``scale="relative"``: one axis, every difference and its CI in percent of
    regime a's mean (so metrics in different units share the axis), with the
    difference in the metric's own unit written beside it. ``scale="panels"``:
    one small panel per metric in its own unit. Several design points (when
    ``point`` is None) are drawn side by side with different markers (at most
    eight). Intervals that exclude zero are drawn solid, the others faded."""
    if scale not in ("relative", "panels"):
        raise ValueError("scale must be 'relative' or 'panels'")
    cols = _columns(paired)
    if "point" in cols and point is not None:
        cols, point = _select(cols, point, "paired table")
    pts = _unique(cols["point"]) if "point" in cols else [None]
    if len(pts) > len(POINT_MARKERS):
        raise ValueError(f"paired table holds {len(pts)} design points; pass point= (at most "
                         f"{len(POINT_MARKERS)} are drawn together)")
    names = [str(m) for m in _unique(cols["metric"])]
    if metrics is not None:
        names = [m for m in metrics if m in names]
    a = str(cols["a"][0]) if "a" in cols and len(cols["a"]) else "a"
    b = str(cols["b"][0]) if "b" in cols and len(cols["b"]) else "b"
    lvl = float(_vector(cols["level"])[0]) if "level" in cols and len(cols["level"]) else 0.95
    metric_col = np.asarray(cols["metric"]).astype(str)
    pcol = np.asarray(cols["point"]).tolist() if "point" in cols else [None] * len(metric_col)

    def row(m, p):
        for i in range(len(metric_col)):
            if metric_col[i] == m and (p is None or str(pcol[i]) == str(p)):
                return {k: cols[k][i] for k in cols}
        return None

    offsets = np.linspace(-0.25, 0.25, len(pts)) if len(pts) > 1 else np.zeros(1)
    what = f"{b} - {a}, {100 * lvl:.4g}% paired-t CI"
    if scale == "relative":
        fig, axes = _figure(size=(10.0, 0.42 * len(names) + 1.6))
        ax = axes[0, 0]
        for j, p in enumerate(pts):
            for k, m in enumerate(names):
                r = row(m, p)
                if r is None:
                    continue
                base = abs(float(r["mean_a"]))
                y = k + offsets[j]
                if not (base > 0 and math.isfinite(base)):
                    ax.text(0, y, "  n/a (mean of a is 0)", va="center", fontsize=7, color="#777777")
                    continue
                d, lo, hi = (100 * float(r[c]) / base for c in ("diff_mean", "diff_ci_low", "diff_ci_high"))
                sig = math.isfinite(lo) and (lo > 0 or hi < 0)
                colour = SIGNIFICANT if sig else NOT_SIGNIFICANT
                ax.errorbar(d, y, xerr=[[d - lo], [hi - d]] if math.isfinite(lo) else None,
                            fmt=POINT_MARKERS[j], color=colour, alpha=1.0 if sig else 0.55, capsize=3,
                            markersize=5, label=(f"point {p}" if len(pts) > 1 and k == 0 else None))
        ax.axvline(0, color="#333333", linewidth=1)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels([metric_label(m, False) for m in names], fontsize=9)
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_xlabel(f"Difference in % of the {a} mean ({what})")
        _style(ax)
        if len(pts) == 1:
            sec = ax.secondary_yaxis("right")
            sec.set_yticks(range(len(names)))
            labels = []
            for m in names:
                r = row(m, pts[0])
                u = metric_unit(m)
                labels.append("" if r is None else
                              f"{_fmt_num(float(r['diff_mean']), u)} [{_fmt_num(float(r['diff_ci_low']), u)}, "
                              f"{_fmt_num(float(r['diff_ci_high']), u)}] {u}")
            sec.set_yticklabels(labels, fontsize=8)
            sec.tick_params(length=0)
            sec.spines["right"].set_visible(False)
        else:
            ax.legend(fontsize=8, frameon=False, loc="best")
        _title(ax, title or f"Paired differences per metric ({what})", point)
    else:
        ncols = 3
        nrows = max(1, math.ceil(len(names) / ncols))
        fig, axes = _figure(nrows, ncols, size=(11.0, 1.5 * nrows + 1.0))
        for k, m in enumerate(names):
            ax = axes[k // ncols, k % ncols]
            rows = [row(m, p) for p in pts]
            div, unit = _scaled(m, [float(r[c]) for r in rows if r is not None
                                    for c in ("diff_ci_low", "diff_ci_high", "diff_mean")])
            for j, p in enumerate(pts):
                r = rows[j]
                if r is None:
                    continue
                d, lo, hi = (float(r[c]) / div for c in ("diff_mean", "diff_ci_low", "diff_ci_high"))
                sig = math.isfinite(lo) and (lo > 0 or hi < 0)
                ax.errorbar(d, offsets[j], xerr=[[d - lo], [hi - d]] if math.isfinite(lo) else None,
                            fmt=POINT_MARKERS[j], color=SIGNIFICANT if sig else NOT_SIGNIFICANT, capsize=3,
                            markersize=5)
            ax.axvline(0, color="#333333", linewidth=1)
            ax.set_yticks([])
            ax.set_ylim(-0.6, 0.6)
            ax.set_title(metric_label(m, False), fontsize=9)
            ax.set_xlabel(unit, fontsize=8)
            ax.tick_params(labelsize=8)
            _style(ax)
        for k in range(len(names), nrows * ncols):
            axes[k // ncols, k % ncols].set_visible(False)
        _title(fig, title or f"Paired differences per metric ({what})", point)
    return _finish(fig, out, formats)


# --------------------------------------------------------------------------- response curves
def response_curve(runs, out: Optional[PathLike], factor: str, metrics: Sequence[str] = ("wait_mean_weeks",),
                   regimes: Optional[Sequence[str]] = None, a: str = STATUS_QUO, b: str = REFORM,
                   level: float = 0.95, difference: bool = True, formats: Optional[Sequence[str]] = None,
                   title: Optional[str] = None) -> Figure:
    """Metric against one factor: left, one line per regime (mean over all
    runs at each factor value, averaged over any other factors) with its t-CI
    band; right (when ``difference`` and both regimes ``a`` and ``b`` are
    present), the paired difference ``b - a`` (pairs matched on design point
    and replication) with its paired-t CI band. Non-numeric factor values
    (dates, names, booleans) are placed at equal spacing in order of appearance."""
    cols = _ok_rows(_columns(runs))
    if factor not in cols:
        raise KeyError(f"runs table has no factor column {factor!r}")
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    reg = np.asarray(cols["regime"]).astype(str)
    names = _regimes(cols, regimes)
    fv = np.asarray(cols[factor])
    levels = _unique(fv)
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in levels)
    if numeric:
        levels = sorted(levels)
        xs = np.asarray(levels, float)
    else:
        xs = np.arange(len(levels), dtype=float)
    fstr = np.array([str(v) for v in fv.tolist()])
    lstr = [str(v) for v in levels]
    both = difference and a in names and b in names
    pt = np.asarray(cols["point"]).tolist() if "point" in cols else [None] * len(fv)
    rp = np.asarray(cols["replication"]).tolist() if "replication" in cols else list(range(len(fv)))
    fig, axes = _figure(len(metrics), 2 if both else 1, size=(11.0 if both else 7.0, 3.6 * len(metrics)))
    for k, m in enumerate(metrics):
        v = _vector(cols[m])
        div, unit = _scaled(m, v)
        v = v / div
        ax = axes[k, 0]
        for i, r in enumerate(names):
            cis = [t_interval(v[(reg == r) & (fstr == s)], level) for s in lstr]
            mean = np.array([c.mean for c in cis])
            lo, hi = np.array([c.low for c in cis]), np.array([c.high for c in cis])
            c = regime_colour(r, i)
            ax.plot(xs, mean, marker="o", color=c, linewidth=1.6, markersize=4, label=r)
            ax.fill_between(xs, lo, hi, color=c, alpha=0.2, linewidth=0)
        ax.set_ylabel(f"{metric_label(m, False)} ({unit})" if unit else metric_label(m))
        ax.set_xlabel(factor)
        _style(ax)
        if k == 0:
            ax.legend(fontsize=8, frameon=False, title=f"mean, {100 * level:g}% t-CI", title_fontsize=8)
            ax.set_title("Per regime", fontsize=10)
        if both:
            ax2 = axes[k, 1]
            cis = []
            for s in lstr:
                ka = {(pt[i], rp[i]): v[i] for i in np.flatnonzero((reg == a) & (fstr == s))}
                kb = {(pt[i], rp[i]): v[i] for i in np.flatnonzero((reg == b) & (fstr == s))}
                common = [q for q in ka if q in kb]
                cis.append(t_interval(np.array([kb[q] - ka[q] for q in common], float), level))
            mean = np.array([c.mean for c in cis])
            lo, hi = np.array([c.low for c in cis]), np.array([c.high for c in cis])
            ax2.plot(xs, mean, marker="o", color="#444444", linewidth=1.6, markersize=4)
            ax2.fill_between(xs, lo, hi, color="#444444", alpha=0.18, linewidth=0)
            ax2.axhline(0, color="#333333", linewidth=0.8, linestyle=":")
            ax2.set_ylabel(f"{b} - {a} ({unit or 'difference'})")
            ax2.set_xlabel(factor)
            _style(ax2)
            if k == 0:
                ax2.set_title(f"Paired difference, {100 * level:g}% paired-t CI", fontsize=10)
        if not numeric:
            for axx in axes[k]:
                axx.set_xticks(xs)
                axx.set_xticklabels(lstr, rotation=30 if max(map(len, lstr)) > 6 else 0, fontsize=8,
                                    ha="right" if max(map(len, lstr)) > 6 else "center")
    _title(fig, title or f"Response to {factor}")
    return _finish(fig, out, formats)


# --------------------------------------------------------------------------- Morris
def morris_plot(morris, out: Optional[PathLike] = None, formats: Optional[Sequence[str]] = None, title: Optional[str] = None,
                label: int = 12) -> Figure:
    """Morris screening: sigma against mu* per factor (one panel per value of an
    ``output`` column if there is one), with horizontal error bars for
    ``mu_star_conf`` when given and reference lines sigma/mu* = 0.1, 0.5 and 1
    (nearly linear, monotonic, and non-linear or interacting effects). The
    ``label`` factors with the largest mu* are named."""
    cols = _columns(morris)
    for need in ("factor", "mu_star", "sigma"):
        if need not in cols:
            raise KeyError(f"Morris table has no {need!r} column")
    outputs = _unique(cols["output"]) if "output" in cols else [None]
    fig, axes = _figure(1, len(outputs), size=(6.5 * len(outputs), 5.2))
    for j, o in enumerate(outputs):
        ax = axes[0, j]
        sel = np.ones(len(cols["factor"]), bool) if o is None else \
            np.array([str(v) == str(o) for v in cols["output"].tolist()])
        mu, sd = _vector(cols["mu_star"][sel]), _vector(cols["sigma"][sel])
        names = np.asarray(cols["factor"][sel]).astype(str)
        conf = _vector(cols["mu_star_conf"][sel]) if "mu_star_conf" in cols else None
        ax.errorbar(mu, sd, xerr=conf, fmt="o", color="#1f5f99", ecolor="#9bb7d4", capsize=2, markersize=5)
        top = max(float(np.nanmax(mu)) if len(mu) else 1.0, float(np.nanmax(sd)) if len(sd) else 1.0, 1e-12) * 1.1
        xx = np.linspace(0, top, 10)
        for ratio, ls in ((0.1, ":"), (0.5, "--"), (1.0, "-")):
            ax.plot(xx, ratio * xx, color="#999999", linestyle=ls, linewidth=0.8)
            ax.text(top, min(ratio * top, top), f" σ/μ*={ratio:g}", fontsize=7, color="#777777", va="center")
        for i in np.argsort(-np.nan_to_num(mu, nan=-np.inf))[:label]:
            ax.annotate(names[i], (mu[i], sd[i]), textcoords="offset points", xytext=(4, 3), fontsize=8)
        ax.set_xlim(0, top * 1.12)
        ax.set_ylim(0, top)
        unit = metric_unit(str(o)) if o is not None else ""
        ax.set_xlabel(f"μ* (mean absolute elementary effect{', ' + unit if unit else ''})")
        ax.set_ylabel(f"σ (sd of elementary effects{', ' + unit if unit else ''})")
        _style(ax)
        if o is not None:
            ax.set_title(metric_label(str(o)), fontsize=10)
    _title(fig, title or "Morris screening: importance (μ*) and non-linearity/interaction (σ)")
    return _finish(fig, out, formats)


# --------------------------------------------------------------------------- per contract year
def yearly_differences(yearly, out: Optional[PathLike], metrics: Sequence[str], point: Any = None, level: float = 0.95,
                       formats: Optional[Sequence[str]] = None) -> Figure:
    """The paired difference (reform minus status quo) per contract year, one
    panel per metric: the mean over replications with its ``level`` t-interval
    (pairs matched on replication). ``yearly``: rows per run and contract year,
    as ``caresim compare`` writes ``yearly.csv``."""
    cols, _ = _select(_columns(yearly), point, "yearly")
    for need in ("regime", "replication", "contract_year"):
        if need not in cols:
            raise KeyError(f"yearly table has no {need!r} column")
    metrics = [m for m in metrics if m in cols]
    if not metrics:
        raise ValueError("yearly_differences: none of the metrics is in the table")
    reg = np.asarray(cols["regime"]).astype(str)
    rep = np.asarray(cols["replication"]).astype(int)
    year = np.asarray(cols["contract_year"]).astype(int)
    years = sorted(set(year.tolist()))
    fig, axes = _figure(1, len(metrics), size=(4.2 * len(metrics), 3.8))
    for j, metric in enumerate(metrics):
        ax = axes[0, j]
        val = _vector(cols[metric])
        k, unit = _scaled(metric, val)
        means, lows, highs = [], [], []
        for y in years:
            a = {r: v for r, v, g, yy in zip(rep, val, reg, year) if g == STATUS_QUO and yy == y}
            d = [v - a[r] for r, v, g, yy in zip(rep, val, reg, year) if g == REFORM and yy == y and r in a]
            iv = t_interval(np.array(d, dtype=float), level)
            means.append(iv.mean / k)
            lows.append(iv.low / k)
            highs.append(iv.high / k)
        x = np.array(years) + 1
        m, lo, hi = np.array(means), np.array(lows), np.array(highs)
        ax.errorbar(x, m, yerr=[m - lo, hi - m], fmt="o-", color=regime_colour(REFORM), capsize=3)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(x, [f"year {v}" for v in x])
        ax.set_ylabel(f"{REFORM} - {STATUS_QUO} ({unit})")
        ax.set_title(metric_label(metric, False), fontsize=10)
        _style(ax)
    _title(fig, f"Paired difference per contract year (mean, {100 * level:g}% t-CI over replications)", point)
    return _finish(fig, out, formats)


# --------------------------------------------------------------------------- attribution and uncertainty
def waterfall(attribution, out: Optional[PathLike], metric: str, formats: Optional[Sequence[str]] = None) -> Figure:
    """Shapley attribution of one metric's regime difference: a step per feature
    from 0 to the total (bars with 95% CIs); a diamond marks where the step
    would end if it were the one-at-a-time part instead. Rows as ``experiments/mechanisms.py`` writes them (``feature``,
    ``label``, ``shapley``, ``ci_low``, ``ci_high``, ``one_at_a_time``; feature
    ``total`` last), for this metric."""
    rows = [r for r in (attribution if isinstance(attribution, list) else _rows_of(attribution))
            if r.get("metric", metric) == metric]
    parts = [r for r in rows if r["feature"] != "total"]
    total = next((r for r in rows if r["feature"] == "total"), None)
    if total is None:
        raise ValueError(f"waterfall: no 'total' row for {metric!r}; expected the rows of attribution.csv")
    k, unit = _scaled(metric, [r["shapley"] for r in rows] + [r["one_at_a_time"] for r in parts])
    fig, axes = _figure(size=(8.0, 0.55 * (len(parts) + 2) + 1.5))
    ax = axes[0, 0]
    y = np.arange(len(parts) + 1)[::-1]
    start = 0.0
    for yi, r in zip(y[:-1], parts):
        v, lo, hi = r["shapley"] / k, r["ci_low"] / k, r["ci_high"] / k
        ax.barh(yi, v, left=start, color="#1f5f99" if v >= 0 else "#d9641c", height=0.6)
        ax.errorbar(start + v, yi, xerr=[[v - lo], [hi - v]], fmt="none", color="k", capsize=3, lw=1)
        ax.plot(start + r["one_at_a_time"] / k, yi, marker="D", color="#555555", ms=5, ls="none")
        start += v
    t, lo, hi = total["shapley"] / k, total["ci_low"] / k, total["ci_high"] / k
    ax.barh(y[-1], t, color="#636363", height=0.6)
    ax.errorbar(t, y[-1], xerr=[[t - lo], [hi - t]], fmt="none", color="k", capsize=3, lw=1)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, [str(r["label"]) for r in parts] + [f"Total ({REFORM} - {STATUS_QUO})"])
    ax.set_xlabel(f"{metric_label(metric, False)}: difference ({unit})")
    _style(ax)
    _title(fig, f"{metric_label(metric, False)}: Shapley attribution (bars, 95% CI); where the step would end "
                f"with the one-at-a-time part (diamonds)")
    return _finish(fig, out, formats)


def uncertainty_plot(differences, drivers: Sequence[tuple[str, float]], out: Optional[PathLike], metric: str,
                     formats: Optional[Sequence[str]] = None, top: int = 10) -> Figure:
    """A probabilistic sensitivity analysis of one metric: the ECDF of the paired
    difference over the parameter sets (90% of them shaded, the mean dashed)
    and a tornado of the ``top`` parameters by partial rank correlation
    (``drivers``: (label, prcc) pairs)."""
    d = _vector(differences)
    d = np.sort(d[np.isfinite(d)])
    k, unit = _scaled(metric, d)
    fig, axes = _figure(1, 2, size=(12.0, 4.8), gridspec_kw={"width_ratios": [1, 1.3]})
    a1, a2 = axes[0]
    a1.step(d / k, np.arange(1, len(d) + 1) / len(d), where="post", color="#1f5f99")
    lo, hi = np.quantile(d, [0.05, 0.95]) / k
    a1.axvspan(lo, hi, color="#1f5f99", alpha=0.12, label="90% of parameter sets")
    a1.axvline(0, color="k", lw=0.8)
    a1.axvline(float(d.mean()) / k, color="#d9641c", lw=1, ls="--", label="mean")
    a1.set_xlabel(f"{metric_label(metric, False)}: {REFORM} - {STATUS_QUO} ({unit})")
    a1.set_ylabel("share of parameter sets at or below")
    a1.legend(fontsize=8, loc="upper left")
    a1.set_title("Distribution over the parameter sets", fontsize=10)
    _style(a1)
    strongest = sorted(drivers, key=lambda lr: abs(lr[1]))[-top:]
    rho = np.array([r for _, r in strongest])
    a2.barh(np.arange(len(rho)), rho, color=["#1f5f99" if r >= 0 else "#d9641c" for r in rho])
    a2.set_yticks(np.arange(len(rho)), [str(lab) for lab, _ in strongest], fontsize=8)
    a2.axvline(0, color="k", lw=0.8)
    a2.set_xlim(-1, 1)
    a2.set_xlabel("partial rank correlation with the difference")
    a2.set_title(f"What drives it (the {len(rho)} strongest)", fontsize=10)
    _style(a2)
    _title(fig, metric_label(metric, False))
    return _finish(fig, out, formats)


def _rows_of(table) -> list[dict]:
    cols = _columns(table)
    names = list(cols)
    return [dict(zip(names, vals)) for vals in zip(*(np.asarray(cols[n]).tolist() for n in names))]


# --------------------------------------------------------------------------- cost breakdown
CARE_PARTS = (("billed_eur", "care: paid per unit"),
              ("lump_sum_eur", "care: lump sum, population part, valve"),
              ("team_eur", "care: municipal access team"))


def cost_breakdown(runs, out: Optional[PathLike] = None, point: Any = None, monthly=None, regimes: Optional[Sequence[str]] = None,
                   level: float = 0.95, formats: Optional[Sequence[str]] = None,
                   title: Optional[str] = None) -> Figure:
    """Stacked bars per regime of the yearly cost over the evaluation horizon:
    care (``care_cost_eur_per_year``) and administration
    (``admin_cost_eur_per_year``), means over replications in million EUR, with
    the t-CI of the total as an error bar. With ``monthly`` (the monthly series
    of the same runs) care is split into its parts (paid per unit, lump sum
    and population part, the access team's own care) in the proportions of the
    months after the contract start."""
    cols, point = _select(_ok_rows(_columns(runs)), point, "runs")
    reg = np.asarray(cols["regime"]).astype(str)
    names = _regimes(cols, regimes)
    care, admin = _vector(cols["care_cost_eur_per_year"]), _vector(cols["admin_cost_eur_per_year"])
    shares: dict[str, list[float]] = {}
    if monthly is not None:
        mcols, _ = _select(_columns(monthly), point, "monthly")
        if all(c in mcols for c, _ in CARE_PARTS):
            mreg = np.asarray(mcols["regime"]).astype(str)
            after = _vector(mcols["contract_year"]) >= 0 if "contract_year" in mcols else np.ones(len(mreg), bool)
            for r in names:
                tot = [float(np.nansum(_vector(mcols[c])[(mreg == r) & after])) for c, _ in CARE_PARTS]
                s = sum(tot)
                if s > 0:
                    shares[r] = [t / s for t in tot]
    fig, axes = _figure(size=(7.5, 5.0))
    ax = axes[0, 0]
    x = np.arange(len(names))
    parts_colours = ["#1f5f99", "#5b8fc7", "#a9c6e8"]
    for i, r in enumerate(names):
        sel = reg == r
        c_mean, a_mean = float(np.nanmean(care[sel])) / 1e6, float(np.nanmean(admin[sel])) / 1e6
        bottom = 0.0
        if r in shares:
            for (col, lab), s, colour in zip(CARE_PARTS, shares[r], parts_colours):
                ax.bar(i, c_mean * s, bottom=bottom, color=colour, width=0.6, label=lab if i == 0 else None)
                bottom += c_mean * s
        else:
            ax.bar(i, c_mean, color="#1f5f99", width=0.6, label="care" if i == 0 else None)
            bottom = c_mean
        ax.bar(i, a_mean, bottom=bottom, color="#e0a040", width=0.6, label="administration" if i == 0 else None)
        total = t_interval((care[sel] + admin[sel]) / 1e6, level)
        if math.isfinite(total.low):
            ax.errorbar(i, total.mean, yerr=[[total.mean - total.low], [total.high - total.mean]], color="#222222",
                        capsize=5, linewidth=1.2)
        top = total.high if math.isfinite(total.high) else total.mean
        ax.text(i, top, f"total {total.mean:,.1f}", ha="center", va="bottom", fontsize=9)
        ax.text(i, c_mean / 2, f"care\n{c_mean:,.1f}", ha="center", va="center", fontsize=8, color="white")
        ax.text(i, bottom + a_mean / 2, f"admin {a_mean:,.1f}", ha="center", va="center", fontsize=8)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_xticks(x)
    ax.set_xticklabels(names)
    ax.set_xlabel("Regime")
    ax.set_ylabel("Cost (million EUR per year, evaluation horizon)")
    ymax = max([float(np.nanmax((care + admin)[reg == r])) for r in names] + [0.0]) / 1e6
    ax.set_ylim(0, ymax * 1.15 if ymax > 0 else 1)
    _style(ax)
    _title(fig, title or f"Cost per year: care and administration (mean over replications, "
                         f"{100 * level:g}% t-CI of the total)", point)
    return _finish(fig, out, formats)
