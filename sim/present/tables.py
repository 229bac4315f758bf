"""Plain-text tables for the command line (presentation only; the model never
imports this module).

Numbers are formatted by what the metric's name says it measures: euros with
thousands separators, rates and shares with 3 decimals, weeks with 2, large
counts with thousands separators.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np

from ..analysis.stats import MIN_PAIRS, _columns
from ..model.metrics import NOT_OBSERVABLE, metric_unit

NA = "n/a"
#: a value the end of the run cuts off (``sim.model.metrics.NOT_OBSERVABLE``): not observable
NO = "n/o"

_RATE_NAMES = {"utilisation", "utilization"}


def decimals_for(metric: str, values: Iterable[float]) -> int:
    """Decimals to show for ``metric`` given the values it takes in a row."""
    finite = [float(v) for v in values if _finite(v)]
    largest = max(map(abs, finite), default=0.0)
    name = metric.lower()
    if "_eur" in name or name.startswith("eur") or name.endswith("eur"):
        return 0 if largest >= 100 else 2
    if (
        name in _RATE_NAMES
        or name.endswith("_rate")
        or "share" in name
        or name.endswith("_per_youth")
        or name.startswith("p_")
    ):
        return 3
    if name.endswith(("_weeks", "_days", "_years", "_months")):
        return 2
    if largest >= 1000 or all(v.is_integer() for v in finite):
        return 0
    if largest >= 10:
        return 1
    return 3


def fmt(value: Any, decimals: int, sign: bool = False, na: str = NA) -> str:
    """One number: thousands separators, fixed decimals, optional '+' sign;
    NaN as ``na`` ('n/a'); no '-0.000'."""
    if value is None:
        return na
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x):
        return na
    if math.isinf(x):
        return ("+" if sign and x > 0 else "-" if x < 0 else "") + "inf"
    if round(x, decimals) == 0:
        return format(0.0, f",.{decimals}f")
    return format(x, f"{'+' if sign else ''},.{decimals}f")


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def render(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool], gap: str = "  ") -> str:
    """Align string cells into columns; ``right[i]`` right-aligns column i."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)]
        return gap.join(parts).rstrip()

    rule = gap.join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def missing(metric: str) -> str:
    """How a NaN of ``metric`` reads: 'n/o' (not observable) where the end of the run cuts it off, else 'n/a'."""
    return NO if metric in NOT_OBSERVABLE else NA


def format_summary(summary: Mapping[str, float]) -> str:
    """A run's summary as an aligned table (metric, unit, value), with a note
    under it for a value that is not observable."""
    rows = [[k, metric_unit(k), fmt(v, decimals_for(k, [v]), na=missing(k))] for k, v in summary.items()]
    return "\n".join([render(["metric", "unit", "value"], rows, [False, False, True]),
                       *not_observable_notes(r[0] for r in rows if r[2] == NO)])


def not_observable_notes(metrics: Iterable[str]) -> list[str]:
    """One line per metric shown as 'n/o', saying why."""
    return [f"{NO}: {m} not observable: {NOT_OBSERVABLE[m]}." for m in dict.fromkeys(metrics)]


def _interval(mean: str, low: str, high: str, mean_width: int) -> str:
    """``mean [low, high]`` with the mean right-aligned to ``mean_width``."""
    if low in (NA, NO) and high in (NA, NO):
        return mean.rjust(mean_width)
    return f"{mean.rjust(mean_width)} [{low}, {high}]"


def comparison_regimes(table: Any) -> list[str]:
    """The regimes of a comparison table, in column order (``<regime>_mean`` columns)."""
    return [k[: -len("_mean")] for k in _columns(table) if k.endswith("_mean") and k != "diff_mean"]


def format_comparison(table: Any) -> str:
    """The comparison table, metric by metric: each regime's mean [95% CI]
    and the paired difference (last regime minus first) [95% CI].

    ``table`` is a ``sim.Table`` (or a mapping of columns) as
    ``sim.experiment.compare.comparison_table`` makes it: metric, then per
    regime ``<regime>_mean``, ``_ci_low``, ``_ci_high``, then diff_mean,
    diff_ci_low, diff_ci_high (with two regimes or more).
    """
    cols = _columns(table)
    regimes = comparison_regimes(cols)
    metrics = [str(m) for m in cols["metric"]]
    groups = [(r, False) for r in regimes] + ([("diff", True)] if "diff_mean" in cols else [])
    # format every number of a row with the row's own precision
    cells: dict[str, list[tuple[str, str, str]]] = {g: [] for g, _ in groups}
    for i, metric in enumerate(metrics):
        values = [cols[f"{g}_{p}"][i] for g, _ in groups for p in ("mean", "ci_low", "ci_high")]
        d = decimals_for(metric, values)
        for g, sign in groups:
            cells[g].append(
                tuple(fmt(cols[f"{g}_{p}"][i], d, sign=sign, na=missing(metric)) for p in ("mean", "ci_low", "ci_high"))
            )
    texts: dict[str, list[str]] = {}
    for g, _ in groups:
        triples = cells[g]
        width = max((len(t[0]) for t in triples), default=1)
        texts[g] = [_interval(*t, width) for t in triples]
    header = ["metric", "unit", *(f"{r} mean [95% CI]" for r in regimes)]
    if "diff" in texts:
        header.append(f"{regimes[-1]} - {regimes[0]} [95% CI]")
    rows = [[m, metric_unit(m), *(texts[g][i] for g, _ in groups)] for i, m in enumerate(metrics)]
    return render(header, rows, [False] * len(header), gap="   ")


def interval_notes(table: Any, what: str = "pairs", shown: Optional[Iterable[str]] = None,
                   clipping: bool = True) -> list[str]:
    """Lines to print under a table with ``n_pairs`` (or ``n``) and
    ``warning`` columns (``comparison_table``, ``trend_table``): which
    intervals rest on fewer than MIN_PAIRS pairs (or ``what``), which were
    clipped to the metric's range, and which values are not observable.
    ``shown``: the metrics printed (default all); ``clipping``: whether the
    printed intervals are the clipped ones (the trend table prints slopes only)."""
    cols = _columns(table)
    if not cols or not len(cols.get("metric", [])):
        return []
    if shown is not None:
        keep = np.isin(np.asarray(cols["metric"]).astype(str), list(shown))
        cols = {k: np.asarray(v)[keep] for k, v in cols.items()}
    metrics = [str(m) for m in cols["metric"]]
    counts = cols.get("n_pairs", cols.get("n"))
    warnings = [str(w) for w in cols.get("warning", [""] * len(metrics))]
    lines = []
    few = {m: int(n) for m, n, w in zip(metrics, counts, warnings) if "fewer than" in w} if counts is not None else {}
    if few:
        ns = sorted(set(few.values()))
        with_values = {m for m, n in zip(metrics, counts) if _finite(n) and int(n) > 0}
        if set(few) == with_values and len(ns) == 1:
            where = f"every interval rests on {ns[0]} {what}"
        else:
            where = "the intervals of " + ", ".join(f"{m} ({n} {what})" for m, n in few.items())
        lines.append(f"Warning: {where}, fewer than {MIN_PAIRS}: t-intervals from so few are wide and lean on "
                     f"the normality of a handful of values; run at least {MIN_PAIRS} replications before "
                     "relying on them.")
    clipped = list(dict.fromkeys(m for m, w in zip(metrics, warnings) if "clipped" in w)) if clipping else []
    if clipped:
        lines.append("Intervals clipped to the metric's range (shares to [0, 1], their differences to [-1, 1]; "
                     f"the t-interval reached past it): {', '.join(clipped)}.")
    values = [k for k in cols if k.endswith("_mean") and k != "diff_mean"]
    unseen = [m for i, m in enumerate(metrics) if m in NOT_OBSERVABLE
              and any(not _finite(cols[k][i]) for k in values)]
    return lines + not_observable_notes(unseen)


#: which youths the wait metrics count, printed under the comparison table:
#: (metrics, how they are named in the note, whom they leave out)
WHO_COUNTS = (
    (("wait_mean_weeks", "wait_median_weeks", "wait_p90_weeks", "share_over_norm"),
     "wait_mean/median/p90_weeks, share_over_norm",
     "only youths whose first care started in the horizon (no dropouts, none still waiting at the end, "
     "no follow-up waits)"),
    (("care_within_4w_share", "care_within_14w_share", "care_within_52w_share"), "care_within_*",
     "every referral in the horizon (dropout competes, the end censors)"),
    (("wait_total_mean_weeks",), "wait_total_mean_weeks",
     "every episode referred in the horizon, follow-up waits included (open ones: their time so far)"),
)


def who_counts(metrics: Iterable[str]) -> str:
    """One or two lines saying which youths the wait metrics among ``metrics``
    leave out (the first group on the first line, the others on the second)."""
    present = set(metrics)
    parts = [f"{label}: {text}" for names, label, text in WHO_COUNTS if present & set(names)]
    if not parts:
        return ""
    lines = ["Who counts: " + parts[0] + "."]
    if len(parts) > 1:
        lines.append("            " + "; ".join(parts[1:]) + ".")
    return "\n".join(lines)


def format_trends(trends: Any, metrics: Optional[Sequence[str]] = None) -> str:
    """The trend table of ``sim.experiment.compare.trend_table`` as text: per
    metric (``metrics``: which, in that order; default all) and regime (and
    the paired difference), the horizon mean, the first and the last contract
    year's mean over replications and the slope per year [95% CI]."""
    cols = _columns(trends)
    if not cols or not len(cols.get("metric", [])):
        return ""
    names = [str(m) for m in cols["metric"]]
    wanted = list(dict.fromkeys(names)) if metrics is None else [m for m in metrics if m in names]
    first = int(cols["first_year"][0]) + 1
    last = int(cols["last_year"][0]) + 1
    value_cols = ("horizon_mean", "first_mean", "last_mean", "slope_per_year", "slope_ci_low", "slope_ci_high")
    rows, raw = [], []
    for metric in wanted:
        idx = [i for i, m in enumerate(names) if m == metric]
        d = decimals_for(metric, [cols[c][i] for i in idx for c in value_cols])
        na = missing(metric)
        for k, i in enumerate(idx):
            regime = str(cols["regime"][i])
            diff = " - " in regime
            cells = [fmt(cols[c][i], d, sign=diff, na=na) for c in ("horizon_mean", "first_mean", "last_mean")]
            slope = tuple(fmt(cols[c][i], d, sign=True) for c in ("slope_per_year", "slope_ci_low", "slope_ci_high"))
            raw.append(slope)
            rows.append([metric if k == 0 else "", metric_unit(metric) if k == 0 else "", regime, *cells])
    width = max((len(t[0]) for t in raw), default=1)
    for row, t in zip(rows, raw):
        row.append(_interval(*t, width))
    header = ["per contract year", "unit", "regime", "horizon mean", f"year {first}", f"year {last}",
              "trend per year [95% CI]"]
    return render(header, rows, [False, False, False, True, True, True, False], gap="   ")
