"""Experiment 5: why the regimes differ. The paired regime difference (expertise
minus the status quo, common random numbers) attributed to the features in
which the expertise regime differs from the status quo
(``regimes.expertise.features``) by exact Shapley values over all 2^k feature
combinations, per replication, with paired 95% CIs; pairwise Shapley
interactions, and the one-at-a-time parts (all on minus that one off) beside
them. A feature off makes the expertise arm act as the status quo in that
respect; all off is the equivalence (difference 0). Mechanisms both regimes
share (waiting effects, the outcome model, demand) stay as they are.

Writes attribution.csv (metric, feature, shapley, ci_low, ci_high,
one_at_a_time, ...; feature ``total`` = all on minus all off), interactions.csv,
figures/waterfall_<metric>.png and conclusion.txt."""
from __future__ import annotations

import sys

import numpy as np

from _common import (DIFFERENCE, HEADLINE, arguments, base_overrides, conclude, fmt, fmt_ci, output_dir,
                     sweep)
import sim
from sim import REFORM, STATUS_QUO
from sim.analysis.shapley import interactions, one_at_a_time, shapley
from sim.analysis.stats import Interval, t_interval
from sim.config import FEATURES
from sim.files import write_json
from sim.experiment.provenance import file_sha256, provenance
from sim.model.metrics import METRICS
from sim.present.figures import waterfall

KEY = "regimes.expertise.features."
#: what each feature is, for tables and figures
LABELS = {
    "contracts": "Contracted pool and transition",
    "administration": "Administrative terms",
    "dosing": "Dosing by need, no re-indication",
    "routing": "Routing by expertise",
    "collectives": "Collectives",
    "payment": "Lump sum and ceiling",
    "behaviour": "Lump-sum behaviour, selection",
}
#: --quick: three features (8 combinations), enough to exercise every step
QUICK_FEATURES = ("administration", "dosing", "payment")


def _extra(ap) -> None:
    ap.add_argument("--features", nargs="+", choices=FEATURES, default=None,
                    help=f"features to attribute over (default all {len(FEATURES)}; quick: "
                         f"{' '.join(QUICK_FEATURES)}); the others stay on")


def _on(value) -> bool:
    return str(value).strip().lower() in ("true", "1", "1.0")


def games(runs, features: tuple[str, ...], metric: str) -> dict[int, np.ndarray]:
    """Per replication, the game ``v[mask] = expertise(features in mask) - status
    quo`` (length ``2**k``). Replications missing a combination are left out."""
    k = len(features)
    reg = np.asarray(runs["regime"])
    rep = np.asarray(runs["replication"]).astype(int)
    val = np.asarray(runs[metric], dtype=float)
    mask = np.zeros(len(runs), dtype=int)
    for i, f in enumerate(features):
        mask |= np.array([_on(x) for x in np.asarray(runs[KEY + f])], dtype=int) << i
    base: dict[int, float] = {}
    for r, v in zip(rep[reg == STATUS_QUO].tolist(), val[reg == STATUS_QUO].tolist()):
        if r in base and not np.array_equal(base[r], v, equal_nan=True):   # one run, copied to every point
            raise ValueError(f"replication {r}: the status-quo arm differs between design points")
        base[r] = v
    out: dict[int, np.ndarray] = {}
    for r in sorted(base):
        g = np.full(1 << k, np.nan)
        sel = (reg == REFORM) & (rep == r)
        g[mask[sel]] = val[sel] - base[r]
        if np.isfinite(g).all():
            out[r] = g
    return out


def attribute(per_rep: dict[int, np.ndarray], features: tuple[str, ...]) -> tuple[list[dict], list[dict], float]:
    """Rows of attribution.csv and interactions.csv for one metric, and the
    largest efficiency error (|sum of Shapley values - total|) over replications."""
    k = len(features)
    phi = np.array([shapley(g) for g in per_rep.values()])
    oat = np.array([one_at_a_time(g) for g in per_rep.values()])
    inter = np.array([interactions(g) for g in per_rep.values()])
    total = np.array([g[-1] - g[0] for g in per_rep.values()])
    empty = np.array([g[0] for g in per_rep.values()])
    efficiency = float(np.max(np.abs(phi.sum(axis=1) - total))) if len(total) else float("nan")
    rows = []
    for i, f in enumerate(features):
        iv, io = t_interval(phi[:, i]), t_interval(oat[:, i])
        rows.append({"feature": f, "label": LABELS[f], "shapley": iv.mean, "ci_low": iv.low, "ci_high": iv.high,
                     "one_at_a_time": io.mean, "oat_ci_low": io.low, "oat_ci_high": io.high, "n": iv.n})
    it = t_interval(total)
    rows.append({"feature": "total", "label": "All features (regime difference)", "shapley": it.mean,
                 "ci_low": it.low, "ci_high": it.high, "one_at_a_time": float(np.mean(oat.sum(axis=1))),
                 "oat_ci_low": float("nan"), "oat_ci_high": float("nan"), "n": it.n,
                 "all_off_difference_max": float(np.max(np.abs(empty)))})
    pairs = []
    for i in range(k):
        for j in range(i + 1, k):
            iv = t_interval(inter[:, i, j])
            pairs.append({"feature_a": features[i], "feature_b": features[j], "interaction": iv.mean,
                          "ci_low": iv.low, "ci_high": iv.high, "n": iv.n})
    return rows, pairs, efficiency


def main() -> None:
    args = arguments(__doc__, reps=10, quick_reps=2, extra=_extra)
    out = output_dir("mechanisms", args)
    features = tuple(args.features or (QUICK_FEATURES if args.quick else FEATURES))
    if len(set(features)) != len(features):
        print(f"mechanisms.py: --features: got {' '.join(features)}; expected each feature once", file=sys.stderr)
        raise SystemExit(2)
    grid = {KEY + f: [True, False] for f in features}
    runs = sweep(args, out, factors={"grid": grid}, overrides=base_overrides(args)).runs
    attribution, pairs, lines = [], [], []
    k = len(features)
    lines.append(f"regime difference ({DIFFERENCE}) attributed to {k} features by exact Shapley values over "
                 f"all {1 << k} combinations of the expertise arm (the status quo run once per replication, "
                 "common random numbers), paired 95% t-CI over replications; one-at-a-time = all on minus that "
                 "one off")
    worst = 0.0
    for metric, unit in HEADLINE.items():
        per_rep = games(runs, features, metric)
        if len(per_rep) < args.reps:
            lines.append(f"{metric}: {args.reps - len(per_rep)} replication(s) left out: a combination failed or "
                         "gave no value (see the runs' error column)")
        if len(per_rep) < 2:
            lines.append(f"{metric}: fewer than 2 complete replications; no attribution")
            continue
        rows, inter, eff = attribute(per_rep, features)
        scale = max(1.0, max(abs(r["shapley"]) for r in rows))
        worst = max(worst, eff / scale)
        attribution += [{"metric": metric, **r} for r in rows]
        pairs += [{"metric": metric, **p} for p in inter]
        total = rows[-1]
        empty = ("all features off: max |difference| " if k == len(FEATURES) else
                 "these features off, the others on: max |difference| ")
        lines.append(f"{METRICS[metric].label} ({unit}): total {fmt_ci(t_interval_of(total), unit, True)} "
                     f"over {total['n']} replications ({empty}{total['all_off_difference_max']:.2g})")
        ranked = sorted(rows[:-1], key=lambda r: -abs(r["shapley"]))
        for r in ranked:
            oat = r["one_at_a_time"]
            lines.append(f"  - {r['label']}: Shapley {fmt_ci(t_interval_of(r), unit, True)}; one-at-a-time "
                         f"{'+' if oat >= 0 else ''}{fmt(oat, unit, ref=r['shapley'])}")
        strong = sorted(inter, key=lambda p: -abs(p["interaction"]))[:2]
        if strong:
            lines.append("    strongest interactions: " + "; ".join(
                f"{LABELS[p['feature_a']]} x {LABELS[p['feature_b']]} "
                f"{fmt_ci(t_interval_of(p, 'interaction'), unit, True)}" for p in strong))
        waterfall(rows, out / "figures" / f"waterfall_{metric}.png", metric)
    lines.append(f"efficiency: the Shapley values sum to the total in every replication (largest relative "
                 f"error {worst:.1e})")
    lines.append(in_short(attribution))
    if attribution:
        sim.Table.from_rows(attribution).write_csv(out / "attribution.csv")
        sim.Table.from_rows(pairs).write_csv(out / "interactions.csv")
        write_json(out / "attribution.json", {
            "features": list(features), "replications": int(args.reps), "seed": int(args.seed),
            "quick": bool(args.quick), "config": str(args.config),
            "files": {n: file_sha256(out / n) for n in ("attribution.csv", "interactions.csv")},
            **provenance(),
        })
    conclude(out, "Why the regimes differ: Shapley attribution over the regime's features", lines, args.quick)


def in_short(attribution: list[dict]) -> str:
    """One paragraph: for the main metrics, which features make the difference
    and which work against it (Shapley values whose 95% CI excludes 0)."""
    parts = []
    for metric in ("care_within_14w_share", "wait_total_mean_weeks", "goals_per_year", "care_cost_eur_per_year"):
        rows = [r for r in attribution if r["metric"] == metric]
        if not rows:
            continue
        total = next(r for r in rows if r["feature"] == "total")
        unit = METRICS[metric].unit
        clear = [r for r in rows if r["feature"] != "total" and (r["ci_low"] > 0 or r["ci_high"] < 0)]
        same = sorted((r for r in clear if r["shapley"] * total["shapley"] > 0), key=lambda r: -abs(r["shapley"]))
        against = sorted((r for r in clear if r["shapley"] * total["shapley"] < 0), key=lambda r: -abs(r["shapley"]))
        resolved = total["ci_low"] > 0 or total["ci_high"] < 0
        text = (f"{METRICS[metric].label.lower()} {_signed(total['shapley'])} {unit} (expertise - status quo"
                f"{'' if resolved else '; its CI includes 0'})")
        if same:
            text += " comes mostly from " + ", ".join(f"{r['label'].lower()} ({_signed(r['shapley'])})"
                                                     for r in same[:3])
        if against:
            text += "; " + ", ".join(f"{r['label'].lower()} ({_signed(r['shapley'])})"
                                     for r in against[:2]) + " work against it"
        parts.append(text)
    return ("In short: " + "; ".join(parts) + ". Each part is an assumption of the model (docs/model.md): "
            "read it with the ranges in experiments/uncertainty.py.") if parts else ""


def _signed(v: float) -> str:
    return ("+" if v >= 0 else "") + fmt(v)


def t_interval_of(row: dict, key: str = "shapley") -> Interval:
    """A row's mean and CI as the Interval ``fmt_ci`` prints."""
    return Interval(row[key], row["ci_low"], row["ci_high"], float("nan"), int(row["n"]))


if __name__ == "__main__":
    main()
