"""An HTML report of a results folder: summary and paired tables and every
figure the data allow, readable offline (no external CSS, JS or fonts; images
are files next to ``index.html``).

Two layouts are read:

* a sweep's store (``caresim sweep ... --out DIR``), through ``sim.load_results``;
* a plain folder of CSV files, as written by ``caresim compare --out DIR``
  (``runs.csv``, ``comparison.csv``, ``manifest.json``, and ``time_to_care.csv``
  for the time-to-care figure), optionally with ``episodes.csv`` and
  ``monthly.csv`` (with ``regime`` and ``replication`` columns) for the
  waiting-time and time-series figures.

The tables of ``experiments/mechanisms.py`` (``attribution.csv``,
``interactions.csv``) and of ``experiments/uncertainty.py`` (``psa_summary.csv``,
``psa_sets.csv``, ``prcc.csv``) in the folder add their sections: a Shapley
waterfall per metric, and the PSA's ECDF with its tornado per metric.
A ``morris.csv`` in the folder (columns factor, mu_star, sigma, optionally
mu_star_conf and output), as written by the sensitivity experiment, adds the
Morris plot.

``write_report(DIR)`` writes ``DIR/report/index.html``, the figures under
``DIR/report/figures/`` and the tables it shows as CSV (``summary.csv``,
``paired.csv``).
"""
from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ..analysis.stats import MIN_PAIRS, _columns, _unique_str, bonferroni, paired_differences, summarise_runs
from ..experiment.store import TEXT_COLUMNS, load_results, result_folders
from ..errors import StoreError
from ..files import read_csv, read_json_object, write_csv
from ..model.metrics import HEADLINE, METRICS
from ..regimes import REFORM, REGIMES, STATUS_QUO
from . import figures
from .tables import _finite, decimals_for, fmt as _fmt_plain

__all__ = ["write_report", "load_any", "Loaded", "KEY_METRICS", "regime_pair"]

#: metrics shown in cross-point tables and response curves: the registry's headline metrics
KEY_METRICS = HEADLINE
RUN_COLUMNS = {"point", "regime", "replication", "seed", "wall_seconds", "events", "error"}
MAX_POINT_TABLES = 4      # per-point comparison tables and figures for at most this many points
MAX_RESPONSE_FACTORS = 6


# --------------------------------------------------------------------------- loading
@dataclass
class Loaded:
    """Result tables as dicts of numpy columns (None when absent)."""

    path: Path
    layout: str                                  # "sweep" or "folder"
    runs: Optional[dict] = None
    episodes: Optional[dict] = None
    monthly: Optional[dict] = None
    comparison: Optional[dict] = None
    time_to_care: Optional[dict] = None          # caresim compare's time_to_care.csv
    yearly: Optional[dict] = None                # caresim compare's yearly.csv (rows per run and contract year)
    morris: Optional[dict] = None
    attribution: Optional[dict] = None           # experiments/mechanisms.py's attribution.csv
    interactions: Optional[dict] = None          # ... and interactions.csv
    psa_summary: Optional[dict] = None           # experiments/uncertainty.py's psa_summary.csv
    psa_sets: Optional[dict] = None              # ... psa_sets.csv
    prcc: Optional[dict] = None                  # ... prcc.csv
    manifest: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    points: list = field(default_factory=list)   # [{"point": id, factor: value, ...}]
    factors: list = field(default_factory=list)
    configs: dict = field(default_factory=dict)  # point -> resolved config dict (when known)


def load_any(results_dir, bad: str = "raise") -> Loaded:
    """Load a sweep store (via ``sim.load_results``, which reads through pandas
    when it is installed and checks every part file; ``bad``: as there) or a
    plain CSV folder (:func:`sim.files.read_csv`): the same cell convention
    and the same column types either way."""
    path = Path(results_dir)
    if not path.is_dir():
        raise StoreError(f"{path}: no such results folder")
    manifest = read_json_object(path / "manifest.json")
    if (path / "runs").is_dir():
        res = load_results(path, bad=bad)
        out = Loaded(path, "sweep", manifest=dict(res.manifest or {}))
        out.runs, out.episodes, out.monthly = _plain(res.runs), _plain(res.episodes), _plain(res.monthly)
        out.failures = list(res.failures) + list(res.bad)       # runs left out: failed, or bad parts skipped
        for p in out.manifest.get("points", []) or []:
            out.points.append({"point": str(p.get("id")), **dict(p.get("values") or {})})
            if p.get("config") is not None:
                out.configs[str(p.get("id"))] = p["config"]
    else:
        out = Loaded(path, "folder", manifest=manifest or {})
        for name in ("runs", "episodes", "monthly", "comparison", "time_to_care", "yearly"):
            f = path / f"{name}.csv"
            if f.exists():
                setattr(out, name, read_csv(f, TEXT_COLUMNS))
        if out.runs is None and out.manifest.get("subcommand") == "run" and (path / "summary.csv").exists():
            out.runs = _one_run(read_csv(path / "summary.csv", TEXT_COLUMNS))   # caresim run --out
            regime = str(out.runs["regime"][0]) if len(out.runs.get("regime", [])) else ""
            for name in ("episodes", "monthly", "yearly"):
                t = getattr(out, name)
                if t is not None and "regime" not in t:
                    n = len(next(iter(t.values()))) if t else 0
                    setattr(out, name, {**t, "regime": np.full(n, regime, dtype=object)})
        if out.runs is None and out.comparison is None:
            raise StoreError(_no_results(path))
        if out.runs is not None:
            _check_pairing_keys(out.runs, path / "runs.csv")
        if isinstance(out.manifest.get("config"), dict):
            out.configs[""] = out.manifest["config"]
    if (path / "morris.csv").exists():
        out.morris = read_csv(path / "morris.csv", ("factor", "output"))
    for name, text in (("attribution", ("metric", "feature", "label")), ("interactions", ("metric", "feature_a",
                       "feature_b")), ("psa_summary", ("metric",)), ("psa_sets", ()),
                       ("prcc", ("metric", "parameter", "label"))):
        if (path / f"{name}.csv").exists():
            setattr(out, name, read_csv(path / f"{name}.csv", text))
    if out.runs is not None:
        out.runs = _with_point(out.runs)
        if "error" in out.runs and not out.failures:
            err = out.runs["error"]
            for i in range(len(err)):
                if str(err[i]).strip() not in ("", "nan", "None"):
                    out.failures.append({k: out.runs[k][i] for k in ("point", "regime", "replication", "error")
                                         if k in out.runs})
        metric_like = set(METRICS) | RUN_COLUMNS
        known = [k for p in out.points for k in p if k != "point"]
        out.factors = list(dict.fromkeys([k for k in known if k in out.runs] +
                                         [k for k in out.runs if "." in k and k not in metric_like]))
        if not out.points:
            pts = _unique_str(out.runs["point"])
            for p in pts:
                i = int(np.flatnonzero(out.runs["point"] == p)[0])
                out.points.append({"point": p, **{f: out.runs[f][i] for f in out.factors}})
    for name in ("episodes", "monthly", "time_to_care", "yearly"):
        t = getattr(out, name)
        if t is not None:
            t = _with_point(t)
            if "replication" not in t:
                t["replication"] = np.zeros(len(t["regime"]), dtype=int)
            setattr(out, name, t)
    return out


def _plain(table) -> Optional[dict]:
    return None if table is None else _columns(table)


def _with_point(cols: dict) -> dict:
    n = len(next(iter(cols.values()))) if cols else 0
    cols = dict(cols)
    cols["point"] = np.array([str(p) for p in cols["point"].tolist()]) if "point" in cols else np.full(n, "")
    return cols


def regime_pair(regimes: Sequence[str]) -> Optional[tuple[str, str]]:
    """The two regimes a report compares, (status quo, other): the reform
    when present, else the first other registered regime; None without the
    status quo or another regime."""
    present = [str(r) for r in regimes]
    if STATUS_QUO not in present:
        return None
    others = [r for r in (REFORM, *REGIMES) if r in present and r != STATUS_QUO]
    return (STATUS_QUO, others[0]) if others else None


def _one_run(summary: dict) -> dict:
    """A ``caresim run`` folder's summary.csv as runs: one run, replication 0
    (the episodes and months of a run carry no replication either)."""
    n = len(next(iter(summary.values()))) if summary else 0
    return {**summary, "replication": np.zeros(n, dtype=int)}


def _no_results(path: Path) -> str:
    """What to say about a folder that holds no results the report reads."""
    inner = result_folders(path)
    hint = (f"; its subfolders {', '.join(inner)} hold results: caresim report {path / inner[0]}" if inner
            else "")
    return (f"{path}: no results here: neither a sweep store (runs/ and manifest.json) nor the folder of "
            f"caresim compare or caresim run (runs.csv, comparison.csv or summary.csv){hint}")


def _check_pairing_keys(runs: dict, where: Path) -> None:
    """Two rows of one regime, design point and replication cannot be paired:
    refuse them in one line instead of failing in the statistics."""
    if "regime" not in runs or "replication" not in runs:
        return
    points = runs.get("point", [""] * len(runs["regime"]))
    seen: set = set()
    for key in zip(map(str, points), map(str, runs["regime"]), map(str, runs["replication"])):
        if key in seen:
            p, r, rep = key
            raise StoreError(f"{where}: two rows of regime {r!r}, replication {rep}" +
                             (f" at design point {p!r}" if p else "") +
                             "; expected one row per run (a 'point' column names the design point of each row)")
        seen.add(key)


# --------------------------------------------------------------------------- context
def _timeline(cfg: Optional[dict]) -> tuple[Optional[float], Optional[str]]:
    """(contract start day, contract start date) of a resolved config dict."""
    try:
        t = cfg["timeline"]
        start = dt.date.fromisoformat(str(t["start"])[:10])
        cs = dt.date.fromisoformat(str(t["contract_start"])[:10])
        return float((cs - start).days), cs.isoformat()
    except (KeyError, TypeError, ValueError):
        return None, None


def _contract_start(data: Loaded, point: str) -> tuple[Optional[float], Optional[str]]:
    cfg = data.configs.get(point) or data.configs.get("")
    day, date = _timeline(cfg)
    if day is None and data.monthly is not None and "contract_year" in data.monthly:
        m = data.monthly
        sel = (m["point"] == point) & (np.asarray(m["contract_year"], float) >= 0)
        if sel.any():
            i = np.flatnonzero(sel)[np.argmin(np.asarray(m["start_day"], float)[sel])]
            day, date = float(m["start_day"][i]), str(m["date"][i])[:10]
    return day, date


# --------------------------------------------------------------------------- report
def write_report(results_dir, out_html=None, formats: Sequence[str] = ("png",), bad: str = "raise") -> Path:
    """Write an HTML report of the results in ``results_dir`` and return its path
    (default ``results_dir/report/index.html``; figures go to ``figures/`` next
    to it). ``formats``: figure formats; the first one is shown (PNG or SVG),
    the others linked. ``bad``: a sweep store's part files that fail their
    check stop the report (``"raise"``) or leave their runs out (``"skip"``)."""
    data = load_any(results_dir, bad=bad)
    out_html = Path(out_html) if out_html else data.path / "report" / "index.html"
    out_dir = out_html.parent
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    formats = tuple(formats) or ("png",)
    body: list[str] = [_header(data)]
    if data.failures:
        body.append(_failures(data))

    def figure(name: str, caption: str, fn, *args, **kw) -> None:
        p = fig_dir / f"{name}.{formats[0]}"
        try:
            fn(*args, out=p, formats=formats, **kw)
        except Exception as exc:      # e.g. data too thin for this figure: say so and go on
            body.append(f'<p class="note">Figure {html.escape(name)} not drawn: '
                        f'{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</p>')
            return
        body.append(_figure_html(p, caption, out_dir, formats))

    runs = data.runs
    regimes = _unique_str(runs["regime"]) if runs is not None and "regime" in runs else []
    pair = regime_pair(regimes)
    summary = paired = paired_bonf = None
    if runs is not None and len(runs.get("regime", [])):
        summary = summarise_runs(runs)
        write_csv(out_dir / "summary.csv", _columns(summary))
        if pair is not None:
            a, b = pair
            paired = paired_differences(runs, a=a, b=b)
            paired_bonf = paired_differences(runs, a=a, b=b, adjust="bonferroni")
            write_csv(out_dir / "paired.csv", _columns(paired))
    pts = [p["point"] for p in data.points] or [""]
    shown = pts[:MAX_POINT_TABLES]

    if len(pts) > 1 and data.factors and paired is None:
        body.append(_points_table(data))
    if paired is not None and len(pts) > 1:
        body.append(_cross_point_table(data, paired, pair, shown))

    for p in shown:
        label = _point_label(data, p)
        if len(pts) > 1:
            body.append(f'<h2 id="point-{html.escape(p)}">Design point {html.escape(label)}</h2>')
        else:
            body.append('<h2 id="comparison">Regime comparison</h2>' if paired is not None or data.comparison
                        is not None else '<h2 id="results">Results per regime</h2>')
        if paired is not None:
            body.append(_comparison_table(_rows_of(summary, p), _rows_of(paired, p), _rows_of(paired_bonf, p), p))
            figure(f"forest_{_slug(p)}", f"Paired differences ({b} - {a}) per metric, in percent of "
                   f"the {a} mean, with the difference in the metric's own unit at the right.",
                   figures.forest_plot, _sub(paired, p), point=None)
        elif summary is not None:
            body.append(_summary_table(_rows_of(summary, p), p))
        elif data.comparison is not None:
            body.append(_plain_table(data.comparison, "comparison", "Comparison (from comparison.csv)"))
        if runs is not None and "care_cost_eur_per_year" in runs and "admin_cost_eur_per_year" in runs:
            figure(f"costs_{_slug(p)}", "Yearly cost over the evaluation horizon per regime: care and "
                   "administration (means over replications; error bar: 95% t-CI of the total).",
                   figures.cost_breakdown, _sub(runs, p), monthly=_sub(data.monthly, p) if data.monthly else None)
        day, date = _contract_start(data, p)
        if data.time_to_care is not None and len(data.time_to_care.get("regime", [])):
            figure(f"time_to_care_{_slug(p)}", "Time to care of every referral in the evaluation horizon "
                   "(Aalen-Johansen cumulative incidence: dropout before care competes, the end of the run "
                   "censors): care from the bottom, dropout from the top, the gap is still waiting; mean over "
                   "replications, band: 95% t-CI across replications.",
                   figures.time_to_care, _sub(data.time_to_care, p))
        if pair is not None and data.yearly is not None and len(data.yearly.get("regime", [])):
            n = len(set(np.asarray(data.yearly["replication"]).tolist()))
            figure(f"yearly_{_slug(p)}", f"Paired difference ({b} - {a}) per contract year for the headline "
                   f"metrics: mean over {n} replications, error bar: 95% paired t-CI (from yearly.csv).",
                   figures.yearly_differences, _sub(data.yearly, p), metrics=list(KEY_METRICS[:4]))
        if data.episodes is not None and len(data.episodes.get("regime", [])):
            figure(f"waits_{_slug(p)}", "Empirical distribution of waiting times (referral to care start) "
                   "for care started after the contract start, all replications pooled.",
                   figures.ecdf_waiting_times, _sub(data.episodes, p), contract_start_day=day)
        if data.monthly is not None and len(data.monthly.get("regime", [])):
            series = [s for s in ("waiting_list", "youths_in_care") if s in data.monthly]
            figure(f"series_{_slug(p)}", "Waiting list and youths in care at each month's end: mean over "
                   "replications, band = 2.5-97.5% of replications; the dashed line marks the contract start.",
                   figures.time_series, _sub(data.monthly, p), series=series, contract_start=date)
            money = [s for s in ("spending_eur", "admin_hours") if s in data.monthly]
            if money:
                figure(f"cost_series_{_slug(p)}", "Cost over time: care spending and administrative hours in "
                       "each month, mean over replications, band = 2.5-97.5% of replications; the dashed line "
                       "marks the contract start.", figures.time_series, _sub(data.monthly, p), series=money,
                       contract_start=date, title="Cost over time")
    if len(pts) > len(shown):
        body.append(f'<p class="note">{len(pts) - len(shown)} more design points are summarised in the '
                    'tables above and in summary.csv / paired.csv, without per-point figures.</p>')

    responsive = [f for f in data.factors if runs is not None and len(_unique_str(runs[f])) > 1]
    if responsive:
        body.append('<h2 id="responses">Response curves</h2>')
        metrics = [m for m in KEY_METRICS[:3] if m in runs]
        for f in responsive[:MAX_RESPONSE_FACTORS]:
            figure(f"response_{_slug(f)}", f"Metrics against {html.escape(f)}: per regime (mean over all runs "
                   "at each value, averaged over the other factors; band: 95% t-CI) and the paired difference "
                   "(band: 95% paired-t CI).", figures.response_curve, runs, factor=f, metrics=metrics)
    if data.morris is not None:
        body.append('<h2 id="morris">Morris screening</h2>')
        figure("morris", "Morris screening: mean absolute elementary effect (importance) against its "
               "standard deviation (non-linearity or interaction).", figures.morris_plot, data.morris)
        body.append(_plain_table(data.morris, "morris-table", "Morris indices (morris.csv)"))
    if data.attribution is not None:
        body.append('<h2 id="attribution">Why the regimes differ: Shapley attribution</h2>')
        if "n" in data.attribution:
            body.append(_few([int(v) for v in np.asarray(data.attribution["n"], dtype=float)],
                             "paired replications", "the attribution (figures and tables)"))
        for m in dict.fromkeys(str(v) for v in data.attribution["metric"].tolist()):
            figure(f"waterfall_{_slug(m)}", f"{html.escape(figures.metric_label(m))}: the regime difference attributed "
                   "to the features of the expertise regime (exact Shapley values, bars with 95% paired t-CI over "
                   "replications; blue raises the metric, orange lowers it, grey is the total); a diamond marks where the "
                   "step would end with the one-at-a-time part.",
                   figures.waterfall, data.attribution, metric=m)
        body.append(_plain_table(data.attribution, "attribution-table", "Shapley values per metric and feature "
                                 "(attribution.csv; feature total = all features on minus all off)", few=False))
        if data.interactions is not None:
            body.append(_plain_table(data.interactions, "interactions-table",
                                     "Pairwise Shapley interactions (interactions.csv)", few=False))
    if data.psa_summary is not None:
        body.append('<h2 id="psa">How sure we are: probabilistic sensitivity</h2>')
        body.append(_plain_table(data.psa_summary, "psa-table", "The paired difference over the parameter sets "
                                 "(psa_summary.csv): mean, 5th and 95th percentile, probability that the "
                                 "expertise regime is better, Monte Carlo share of the variance"))
        if data.psa_sets is not None and data.prcc is not None:
            for m in (str(v) for v in data.psa_summary["metric"].tolist()):
                if m not in data.psa_sets:
                    continue
                sel = np.asarray(data.prcc["metric"]).astype(str) == m
                drivers = list(zip(np.asarray(data.prcc["label"])[sel].tolist(),
                                   np.asarray(data.prcc["prcc"], dtype=float)[sel].tolist()))
                figure(f"psa_{_slug(m)}", f"{html.escape(figures.metric_label(m))}: the paired difference over the "
                       "parameter sets (ECDF, 90% shaded) and its drivers (partial rank correlation).",
                       figures.uncertainty_plot, data.psa_sets[m], drivers, metric=m)
    if summary is not None:
        body.append('<details><summary>All metrics per design point and regime (mean, sd, 95% t-CI)</summary>')
        body.append(_summary_table(_columns(summary), None, table_id="summary-all"))
        body.append("</details>")
    body.append(_methods(*(pair or (STATUS_QUO, REFORM))))
    out_html.write_text(_page(data, "\n".join(body)), encoding="utf-8")
    return out_html


# --------------------------------------------------------------------------- html pieces
CSS = """
body{font-family:-apple-system,'Segoe UI','DejaVu Sans',Arial,sans-serif;margin:24px auto;max-width:1180px;
color:#222;line-height:1.4;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.86em}
th,td{padding:3px 6px;border-bottom:1px solid #e4e4e4;text-align:right;vertical-align:top;white-space:nowrap}
th{white-space:normal}.ci{display:block;color:#666;font-size:.9em}.wrap{overflow-x:auto}
th{background:#f2f4f7;text-align:center}td.l,th.l{text-align:left}
tr:hover td{background:#fafbfd}.meta td{text-align:left;white-space:normal;overflow-wrap:anywhere}.meta td:first-child{color:#555;white-space:nowrap}
.sig{color:#17375e;font-weight:600}.ns{color:#777}
figure{margin:16px 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85em;color:#444;max-width:900px}.note{color:#666;font-size:.88em}
code{background:#f4f4f4;padding:0 3px}details{margin:16px 0}summary{cursor:pointer;font-weight:600}
.fail td{color:#a93226}#cross-point-table{font-size:.78em}
td.metric{white-space:normal;max-width:340px}.counts{display:block;color:#666;font-size:.82em;font-weight:normal}
.warn{color:#8a4b00;background:#fff4e0;border-left:3px solid #e69500;padding:4px 8px}
"""


def _page(data: Loaded, body: str) -> str:
    title = f"caresim report: {data.path.resolve().name}"
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n")


def _header(data: Loaded) -> str:
    m = data.manifest
    spec = m.get("spec") if isinstance(m.get("spec"), dict) else {}
    rows: list[tuple[str, str]] = []
    rows.append(("results", str(data.path)))
    rows.append(("layout", "sweep store" if data.layout == "sweep" else "folder of CSV files"))
    for k in ("command", "config_path"):
        if m.get(k):
            rows.append((k.replace("_", " "), str(m[k])))
    if spec.get("name") or m.get("name"):
        rows.append(("sweep", str(spec.get("name") or m.get("name"))))
    if spec.get("base") or m.get("base"):
        rows.append(("base config", str(spec.get("base") or m.get("base"))))
    overrides = m.get("overrides") or spec.get("overrides")
    if overrides:
        rows.append(("overrides", ", ".join(f"{k}={v}" for k, v in dict(overrides).items())))
    runs = data.runs
    if runs is not None:
        regs = _unique_str(runs["regime"]) if "regime" in runs else []
        nrep = len(_unique_str(runs["replication"])) if "replication" in runs else 0
        rows.append(("runs", f"{len(runs.get('regime', []))} ({len(data.points) or 1} design point(s) x "
                             f"{len(regs)} regime(s): {', '.join(regs)}; {nrep} replication(s)); "
                             f"{len(data.failures)} failed"))
    seed = m.get("seed", spec.get("seed"))
    if seed is not None:
        rows.append(("root seed", str(seed)))
    seeds = m.get("seeds")
    if seeds is None and runs is not None and "seed" in runs:
        seeds = list(dict.fromkeys(runs["seed"].tolist()))
    if seeds:
        shown = ", ".join(str(s) for s in list(seeds)[:8]) + (f", ... ({len(seeds)} in all)" if len(seeds) > 8 else "")
        rows.append(("replication seeds", shown))
    version = m.get("caresim_version") or (m.get("versions") or {}).get("caresim")
    if version:
        rows.append(("caresim version", str(version)))
    if m.get("git_commit"):
        rows.append(("git commit", str(m["git_commit"]) + (" (uncommitted changes)" if m.get("git_dirty") else "")))
    vers = m.get("versions")
    if isinstance(vers, dict) and vers:
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in vers.items() if v)))
    made = m.get("created") or m.get("timestamp")     # "timestamp" in folders of caresim 0.1
    if made:
        rows.append(("made", str(made)))
    rows.append(("report written", dt.datetime.now().isoformat(timespec="seconds")))
    cells = "\n".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="meta" id="meta">\n{cells}\n</table>'


def _failures(data: Loaded) -> str:
    rows = "\n".join(
        "<tr>" + "".join(f'<td class="l">{html.escape(str(f.get(k, "")))}</td>'
                         for k in ("point", "regime", "replication", "error")) + "</tr>"
        for f in data.failures[:200])
    return (f'<h2 id="failures">Failed runs ({len(data.failures)})</h2>\n<p class="note">Left out of every table '
            'and figure below.</p>\n<table class="fail" id="failures-table"><tr><th class="l">point</th>'
            f'<th class="l">regime</th><th class="l">replication</th><th class="l">error</th></tr>\n{rows}\n</table>')


def _points_table(data: Loaded) -> str:
    head = "".join(f"<th>{_key_html(f)}</th>" for f in data.factors)
    runs = data.runs
    lines = []
    for p in data.points:
        n = int((runs["point"] == p["point"]).sum()) if runs is not None else 0
        cells = "".join(f"<td>{html.escape(_val(p.get(f)))}</td>" for f in data.factors)
        lines.append(f'<tr><td class="l"><a href="#point-{html.escape(p["point"])}">{html.escape(p["point"])}'
                     f"</a></td>{cells}<td>{n}</td></tr>")
    return ('<h2 id="design">Design points</h2>\n<table id="points-table"><tr><th class="l">point</th>'
            f"{head}<th>runs</th></tr>\n" + "\n".join(lines) + "\n</table>")


def _cross_point_table(data: Loaded, paired, pair: tuple[str, str], shown: Sequence[str] = ()) -> str:
    cols = _columns(paired)
    metrics = [m for m in KEY_METRICS if m in set(np.asarray(cols["metric"]).tolist())]
    head = "".join(f"<th>{html.escape(figures.metric_label(m))}</th>" for m in metrics)
    fhead = "".join(f"<th>{_key_html(f)}</th>" for f in data.factors)
    lines = []
    for p in data.points:
        cells = []
        for m in metrics:
            r = _find(cols, p["point"], m)
            cells.append(_diff_cell(r, m) if r else "<td>n/a</td>")
        fcells = "".join(f"<td>{html.escape(_val(p.get(f)))}</td>" for f in data.factors)
        pid = html.escape(p["point"])
        link = f'<a href="#point-{pid}">{pid}</a>' if p["point"] in shown else pid
        lines.append(f'<tr><td class="l">{link}</td>{fcells}{"".join(cells)}</tr>')
    return (f'<h2 id="across">Design points: paired difference ({html.escape(pair[1])} - '
            f'{html.escape(pair[0])})</h2>\n'
            '<p class="note">Factor values (hover for the full config key), then per metric the mean '
            'difference with its 95% paired-t confidence interval; bold where the interval excludes zero.</p>\n'
            f'<div class="wrap"><table id="cross-point-table"><tr><th class="l">point</th>{fhead}{head}</tr>\n'
            + "\n".join(lines) + "\n</table></div>")


def _comparison_table(summary: dict, paired: dict, bonf: dict, point: str) -> str:
    a = str(paired["a"][0]) if len(paired.get("a", [])) else STATUS_QUO
    b = str(paired["b"][0]) if len(paired.get("b", [])) else REFORM
    m = len(paired.get("metric", []))
    lvl_b = bonferroni(0.95, max(m, 1))
    lines = []
    for i, metric in enumerate(np.asarray(paired.get("metric", [])).tolist()):
        r = {k: paired[k][i] for k in paired}
        rb = {k: bonf[k][i] for k in bonf} if bonf and i < len(bonf.get("metric", [])) else None
        sa, sb = _summary_row(summary, a, metric), _summary_row(summary, b, metric)
        vals = [x for x in (r["mean_a"], r["mean_b"], r["diff_ci_low"], r["diff_ci_high"]) if _finite(x)]
        d = decimals_spec(metric, vals)
        cells = [_metric_cell(metric),
                 f"<td>{_mean_ci(sa, d)}</td>", f"<td>{_mean_ci(sb, d)}</td>",
                 _diff_cell(r, metric, d),
                 f"<td>{_ci(rb['diff_ci_low'], rb['diff_ci_high'], d) if rb else 'n/a'}</td>",
                 f"<td>{_pct(r['rel_diff'])}</td>", f"<td>{_p(r['p_value'])}</td>", f"<td>{r['n']}</td>",
                 f"<td>{_num(r['corr'], 2)}</td>", f"<td>{_num(r['crn_variance_reduction'], 2)}</td>",
                 f"<td>{_factor(r['crn_factor'])}</td>"]
        lines.append("<tr>" + "".join(cells) + "</tr>")
    head = (f'<tr><th class="l">metric</th><th>{html.escape(a)}<br>mean [95% CI]</th>'
            f"<th>{html.escape(b)}<br>mean [95% CI]</th><th>{html.escape(b)} - {html.escape(a)}"
            f"<br>[95% paired-t CI]</th><th>Bonferroni<br>{100 * lvl_b:.3g}% CI</th>"
            "<th>relative<br>diff.</th><th>p</th><th>pairs</th><th>corr.</th>"
            "<th>CRN var.<br>reduction</th><th>equiv.<br>factor</th></tr>")
    tid = "comparison-table" if not point else f"comparison-table-{_slug(point)}"
    pairs = [int(n) for n in np.asarray(paired.get("n", [])).tolist() if _finite(n)]
    return (_few(pairs, "pairs", f"{b} - {a}") +
            f'<div class="wrap"><table id="{tid}" class="comparison">\n{head}\n' + "\n".join(lines)
            + "\n</table></div>\n<p class=\"note\">Bold: the 95% interval of the difference excludes zero. "
            f"Bonferroni: simultaneous intervals over the m={m} metrics. p: two-sided paired t-test. corr.: "
            "correlation of the regimes over replications. CRN var. reduction and equiv. factor: see Methods. "
            "Under each metric: which youths it counts. pairs: the paired replications behind each interval.</p>")


def _summary_table(summary: dict, point: Optional[str], table_id: Optional[str] = None) -> str:
    lines = []
    bycols = [c for c in ("point", "regime") if c in summary]
    for i in range(len(summary.get("metric", []))):
        metric = str(summary["metric"][i])
        d = decimals_spec(metric, [summary["mean"][i], summary["ci_low"][i], summary["ci_high"][i]])
        by = "".join(f'<td class="l">{html.escape(str(summary[c][i]))}</td>' for c in bycols)
        lines.append(f'<tr>{by}{_metric_cell(metric)}<td>{summary["n"][i]}</td>'
                     f'<td>{fmt(summary["mean"][i], d)}</td><td>{fmt(summary["sd"][i], d)}</td>'
                     f'<td>{_ci(summary["ci_low"][i], summary["ci_high"][i], d)}</td>'
                     f'<td>{fmt(summary["half_width"][i], d)}</td></tr>')
    head = "".join(f'<th class="l">{c}</th>' for c in bycols)
    tid = table_id or ("summary-table" if not point else f"summary-table-{_slug(point)}")
    ns = [int(n) for n in np.asarray(summary.get("n", [])).tolist() if _finite(n)]
    return (_few(ns, "replications", "a regime's mean") + f'<table id="{tid}"><tr>{head}<th class="l">metric</th><th>n</th><th>mean</th><th>sd</th>'
            "<th>95% t-CI</th><th>half-width</th></tr>\n" + "\n".join(lines) + "\n</table>")


#: columns of the experiments' tables that hold a probability or a share, not a value of the row's metric
SHARE_COLUMNS = {"prob_expertise_better", "prob_positive", "monte_carlo_share", "prcc", "p_value"}


def _metric_cell(metric: str) -> str:
    """The metric's name and, below it, which youths it counts (the registry's definition)."""
    what = METRICS[metric].description if metric in METRICS else ""
    return (f'<td class="l metric">{html.escape(metric)}'
            + (f'<span class="counts">{html.escape(what)}</span>' if what else "") + "</td>")


def _few(ns: Sequence[int], what: str, of: str) -> str:
    """A warning above a table whose intervals rest on fewer than MIN_PAIRS pairs or replications."""
    if not ns or min(ns) >= MIN_PAIRS:
        return ""
    return (f'<p class="warn">Only {min(ns)} {what} behind the intervals of {html.escape(of)} in the table '
            f"below: with fewer than {MIN_PAIRS} the t-intervals are wide and rest on the normality of very few "
            "values; run more replications before relying on them.</p>\n")


def _plain_table(cols: dict, table_id: str, caption: str, few: bool = True) -> str:
    """A CSV table as HTML; with an ``n`` column (replications) and ``few``, the
    few-pairs warning above it."""
    keys = list(cols)
    n = len(cols[keys[0]]) if keys else 0
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    lines = []
    for i in range(n):
        cells = []
        for k in keys:
            v = cols[k][i]
            if isinstance(v, (float, np.floating)):
                if k in SHARE_COLUMNS:     # probabilities and shares: in their own unit, whatever the metric
                    cells.append(f"<td>{fmt(v, 3 if k == 'p_value' else 2)}</td>")
                    continue
                name = str(cols["metric"][i]) if "metric" in cols else k
                cells.append(f"<td>{fmt(v, decimals_for(name, [v]))}</td>")
            else:
                cells.append(f'<td class="l">{html.escape(str(v))}</td>')
        lines.append("<tr>" + "".join(cells) + "</tr>")
    ns = [int(v) for v in np.asarray(cols["n"], dtype=float) if v == v] if few and "n" in cols else []
    return (_few(ns, "paired replications", table_id.removesuffix("-table")) +
            f'<p class="note">{html.escape(caption)}</p>\n<div class="wrap"><table id="{table_id}"><tr>{head}</tr>\n'
            + "\n".join(lines) + "\n</table></div>")


def _figure_html(path: Path, caption: str, out_dir: Path, formats: Sequence[str]) -> str:
    rel = path.relative_to(out_dir).as_posix()
    others = [path.with_suffix("." + f) for f in formats[1:]]
    links = " ".join(f'<a href="{html.escape(o.relative_to(out_dir).as_posix())}">{o.suffix[1:].upper()}</a>'
                     for o in others if o.exists())
    return (f'<figure><img src="{html.escape(rel)}" alt="{html.escape(path.stem)}">'
            f"<figcaption>{caption}{' Also as ' + links + '.' if links else ''}</figcaption></figure>")


def _methods(a: str, b: str) -> str:
    a, b = html.escape(a), html.escape(b)
    return f"""<h2 id="methods">Methods</h2>
<p class="note">Each replication runs both regimes with the same seed (common random numbers), so the
difference between regimes is estimated pairwise: the paired-t interval is
d&#772; &plusmn; t<sub>n-1, 0.975</sub> s<sub>d</sub>/&radic;n over the per-replication differences
d<sub>i</sub> = {b}<sub>i</sub> - {a}<sub>i</sub>. The per-regime intervals are t-intervals over
replications. <i>CRN variance reduction</i> = 1 - Var(d) / (Var({a}) + Var({b})): the share of the
variance of the estimated difference removed compared with independent streams; the
<i>replications saved factor</i> (Var({a}) + Var({b})) / Var(d) is how many independent
replications per regime give the precision of one paired replication. The Bonferroni column widens each
interval to level 1 - 0.05/m over the m metrics, so that all m intervals hold jointly with probability at
least 95%. Metrics are computed over the evaluation horizon (contract start to end); the metric names are
explained in the README.</p>"""


# --------------------------------------------------------------------------- cell formatting
class _Spec(tuple):
    """How to show the numbers of one row: (decimals, scale, suffix)."""


def decimals_spec(metric: str, values) -> _Spec:
    """Decimals for ``metric`` as in the CLI tables, but values of a million and
    more in millions ('M') so that wide euro intervals stay readable."""
    finite = [abs(float(v)) for v in values if _finite(v)]
    if finite and max(finite) >= 1e6:
        return _Spec((3, 1e6, "M"))
    return _Spec((decimals_for(metric, values), 1.0, ""))


def fmt(value, spec, sign: bool = False) -> str:
    if not isinstance(spec, _Spec):
        return _fmt_plain(value, spec, sign)
    d, scale, suffix = spec
    if not _finite(value):
        return _fmt_plain(value, d, sign)
    return _fmt_plain(float(value) / scale, d, sign) + suffix


def _ci(lo, hi, d: int) -> str:
    return f"[{fmt(lo, d)}, {fmt(hi, d)}]" if _finite(lo) else "n/a"


def _mean_ci(row: Optional[dict], d: int) -> str:
    if not row:
        return "n/a"
    return f"{fmt(row['mean'], d)}<span class=\"ci\">{_ci(row['ci_low'], row['ci_high'], d)}</span>"


def _diff_cell(r: dict, metric: str, d: Optional[int] = None) -> str:
    if d is None:
        d = decimals_spec(metric, [x for x in (r["mean_a"], r["diff_ci_low"], r["diff_ci_high"]) if _finite(x)])
    lo, hi = r["diff_ci_low"], r["diff_ci_high"]
    cls = "sig" if _finite(lo) and (float(lo) > 0 or float(hi) < 0) else "ns"
    return f'<td class="{cls}">{fmt(r["diff_mean"], d, sign=True)}<span class="ci">{_ci(lo, hi, d)}</span></td>'


def _pct(x) -> str:
    return f"{100 * float(x):+.1f}%" if _finite(x) else "n/a"


def _p(x) -> str:
    if not _finite(x):
        return "n/a"
    return "&lt;0.001" if float(x) < 0.001 else f"{float(x):.3f}"


def _num(x, d: int) -> str:
    return f"{float(x):.{d}f}" if _finite(x) else "n/a"


def _factor(x) -> str:
    if x is None:
        return "n/a"
    x = float(x)
    if math.isinf(x):
        return "&infin;"
    return f"&times;{x:.1f}" if math.isfinite(x) else "n/a"


def _key_html(key: str) -> str:
    """A dotted config key shortened to its last two parts (the full key as a
    tooltip), breakable after its dots."""
    parts = str(key).split(".")
    short = ".<wbr>".join(html.escape(q) for q in parts[-2:])
    return f'<span title="{html.escape(str(key))}">{short}</span>'


def _val(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    return "" if v is None else str(v)


# --------------------------------------------------------------------------- table access
def _sub(table: Optional[dict], point: str) -> Optional[dict]:
    """Rows of ``point`` (all rows when the table has no point column)."""
    if table is None:
        return None
    cols = _columns(table)
    if "point" not in cols:
        return cols
    sel = np.array([str(p) == str(point) for p in cols["point"].tolist()], dtype=bool)
    return {k: v[sel] for k, v in cols.items()}


def _rows_of(table, point: str) -> dict:
    return _sub(table, point) if table is not None else {}


def _summary_row(summary: dict, regime: str, metric: str) -> Optional[dict]:
    if not summary:
        return None
    for i in range(len(summary["metric"])):
        if str(summary["metric"][i]) == metric and str(summary["regime"][i]) == regime:
            return {k: summary[k][i] for k in summary}
    return None


def _find(cols: dict, point: str, metric: str) -> Optional[dict]:
    for i in range(len(cols["metric"])):
        if str(cols["metric"][i]) == metric and ("point" not in cols or str(cols["point"][i]) == str(point)):
            return {k: cols[k][i] for k in cols}
    return None


def _point_label(data: Loaded, p: str) -> str:
    for q in data.points:
        if q["point"] == p:
            vals = ", ".join(f"{f}={_val(q.get(f))}" for f in data.factors if f in q)
            return f"{p} ({vals})" if vals else p
    return p


def _slug(text: str) -> str:
    s = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(text))
    return s or "all"
