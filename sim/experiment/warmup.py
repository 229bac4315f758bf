"""The warm-up check: MSER-5 applied to the status quo's monthly series over
replications, next to the configured warm-up (``caresim warmup``)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..analysis.stats import mser5
from ..model.streams import replication_seed
from ..regimes import STATUS_QUO
from ..run import run
from ..units import DAYS_PER_MONTH
from .executors import parallel_map


def warmup_analysis(cfg, replications: int = 5, seed: int = 1,
                    series: Sequence[str] = ("waiting_list", "youths_in_care"),
                    regime: str = STATUS_QUO, workers: int = 1, progress: bool = False) -> dict[str, Any]:
    """Run ``regime`` (default the status quo, which runs through the whole
    horizon unchanged) for ``replications`` replications and apply MSER-5 to
    each monthly series: to the mean over replications (the estimate used for
    the verdict) and to each replication separately.

    Returns a dict with the configured warm-up (``warmup_months``,
    ``contract_start``) and per series the truncation in months and as a date,
    the per-replication truncations and ``long_enough`` (truncation point at or
    before the contract start). ``progress``: a bar counting the replications
    (plain lines when stderr is not a terminal).
    """
    seeds = [replication_seed(seed, r) for r in range(replications)]
    monthly = parallel_map(_monthly_of, [(cfg, regime, s) for s in seeds], workers,
                           progress="warm-up check" if progress else None)
    dates = monthly[0]["date"]
    warm_days = float(cfg.timeline.contract_start_day)
    warm_months = warm_days / DAYS_PER_MONTH
    out: dict[str, Any] = {"regime": regime, "replications": replications, "seed": seed, "seeds": seeds,
                           "months": len(dates), "start": str(cfg.timeline.start),
                           "contract_start": str(cfg.timeline.contract_start), "warmup_months": warm_months,
                           "series": {}}
    for name in series:
        n = min(len(mo[name]) for mo in monthly)
        matrix = np.array([np.asarray(mo[name][:n], float) for mo in monthly])
        res = mser5(matrix.mean(axis=0))
        per_rep = [mser5(row).truncation_index for row in matrix]
        idx = res.truncation_index
        out["series"][name] = {
            "mser": res, "truncation_months": idx, "truncation_date": str(dates[idx]) if idx < len(dates) else None,
            "per_replication_months": per_rep, "long_enough": idx <= warm_months,
            "at_boundary": res.at_boundary, "steady_mean": res.truncated_mean,
        }
    return out


def _monthly_of(args) -> dict[str, np.ndarray]:
    cfg, regime, s = args
    return run(cfg, regime=regime, seed=s).monthly.to_dict()


def warmup_report(cfg, replications: int = 5, seed: int = 1,
                  series: Sequence[str] = ("waiting_list", "youths_in_care"),
                  regime: str = STATUS_QUO, workers: int = 1, progress: bool = False) -> str:
    """Printable MSER-5 warm-up check of a config: per monthly series the
    truncation point (months from the start, and date) next to the configured
    warm-up, and whether the warm-up is long enough. See :func:`warmup_analysis`."""
    a = warmup_analysis(cfg, replications, seed, series, regime, workers, progress)
    lines = [
        f"MSER-5 warm-up check: {regime} regime, {replications} replication(s), root seed {seed}, "
        f"{a['months']} monthly observations",
        f"configured warm-up: {a['start']} to {a['contract_start']} = {a['warmup_months']:.1f} months",
        "",
    ]
    header = ["series", "truncation (mean series)", "per replication min/median/max", "verdict"]
    rows = []
    for name, s in a["series"].items():
        per = np.asarray(s["per_replication_months"])
        when = f"month {s['truncation_months']}" + (f" ({s['truncation_date']})" if s["truncation_date"] else "")
        spread = f"{per.min()} / {np.median(per):g} / {per.max()} months"
        margin = a["warmup_months"] - s["truncation_months"]
        if s["at_boundary"]:
            verdict = "UNRELIABLE: minimum at the half-way bound; the series may not settle"
        elif s["long_enough"]:
            verdict = f"ok: warm-up long enough ({margin:.1f} months to spare)"
        else:
            verdict = f"TOO SHORT: lengthen the warm-up by at least {-margin:.1f} months"
        rows.append([name, when, spread, verdict])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    ok = all(s["long_enough"] and not s["at_boundary"] for s in a["series"].values())
    lines += ["", "verdict: the configured warm-up is long enough" if ok else
              "verdict: the configured warm-up may be too short (see above)"]
    return "\n".join(lines)
