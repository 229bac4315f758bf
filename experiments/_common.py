"""Shared plumbing of the experiment scripts: arguments, quick mode, output
folders, paired statistics against a baseline, and the printed conclusion.

Every script runs as ``python experiments/NAME.py [--quick] [--workers N]
[--out DIR] [--no-progress]``, writes under ``results/NAME/``
(``results/NAME-quick/`` with ``--quick``; :func:`output_dir`) and prints a
short plain-text conclusion with numbers and 95% confidence intervals, kept
there as ``conclusion.txt``. Progress goes to stderr: a bar on a terminal, a
line every few runs in a log.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.cli import replications, seed, workers  # noqa: E402
from sim import REFORM, STATUS_QUO  # noqa: E402
from sim.analysis.stats import Interval, paired_interval, t_interval  # noqa: E402
from sim.model.metrics import HEADLINE as HEADLINE_METRICS, METRICS  # noqa: E402

DEFAULT_CONFIG = ROOT / "configs" / "achterhoek.yaml"
#: how the scripts name the paired difference they report
DIFFERENCE = f"{REFORM} - {STATUS_QUO}"

#: --quick: a shorter world (3-year warm-up, 3-year horizon) so a script
#: finishes in well under a minute; the numbers are for smoke tests, not findings.
QUICK = {
    "timeline.start": "2019-07-01",
    "timeline.contract_start": "2022-07-01",
    "timeline.end": "2025-07-01",
}

#: printed under the title of every --quick run
QUICK_NOTE = "(quick mode: a shortened world and few replications; not a finding)"

#: the metrics the conclusions talk about (the registry's headline metrics), with units for printing
HEADLINE = {m: METRICS[m].unit for m in HEADLINE_METRICS}

#: the three measures every factor experiment reports, all counting every referral
#: of the window or every episode ending in it (dropouts, those still waiting and
#: follow-up waits included): (column, label, unit, scale for printing)
OUTCOMES = [
    ("care_within_14w_share", "care within 14 weeks", "pp", 100.0),
    ("wait_total_mean_weeks", "total waiting", "weeks", 1.0),
    ("goals_per_year", "goals", "per year", 1.0),
]
#: the yearly costs, printed in millions
COSTS = [
    ("care_cost_eur_per_year", "care cost", "M EUR/yr", 1e-6),
    ("admin_cost_eur_per_year", "admin cost", "M EUR/yr", 1e-6),
]


def arguments(description: str, reps: int, quick_reps: int = 2,
              extra: Optional[callable] = None) -> argparse.Namespace:
    """Common options; ``reps`` is the default number of replications."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="a small, fast version (smoke test)")
    ap.add_argument("--workers", type=workers, default=os.cpu_count() or 1, help="parallel processes")
    ap.add_argument("--reps", type=replications, default=None,
                    help=f"replications (default {reps}, quick {quick_reps})")
    ap.add_argument("--seed", type=seed, default=1, help="root seed")
    ap.add_argument("--config", default=str(DEFAULT_CONFIG), help="base config")
    ap.add_argument("--out", default=None, help="output folder (default results/NAME)")
    ap.add_argument("--no-progress", action="store_true",
                    help="no progress on stderr (a bar on a terminal, else a line every few runs)")
    if extra:
        extra(ap)
    args = ap.parse_args()
    require("pandas", "pandas")
    if args.reps is None:
        args.reps = quick_reps if args.quick else reps
    return args


def require(module: str, extra: str) -> None:
    """Exit with status 2 and one line when an optional dependency is missing."""
    import importlib.util
    if importlib.util.find_spec(module) is None:
        print(f"{Path(sys.argv[0]).name}: needs {module}; install it with: pip install -e '.[{extra}]'",
              file=sys.stderr)
        raise SystemExit(2)


def output_dir(name: str, args: argparse.Namespace) -> Path:
    """The one rule for where a script writes: ``--out``, else ``results/NAME/``
    (``results/NAME-quick/`` with ``--quick``) at the repository's top."""
    out = Path(args.out) if args.out else ROOT / "results" / (name + ("-quick" if args.quick else ""))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"{Path(sys.argv[0]).name}: error: --out {out}: cannot write there ({exc.strerror or exc})",
              file=sys.stderr)
        raise SystemExit(2) from None
    return out


def keep(out: Path, text: str) -> Path:
    """The printed conclusion, kept beside the results as ``conclusion.txt``."""
    path = out / "conclusion.txt"
    path.write_text(text.rstrip("\n") + "\n")
    return path


def base_overrides(args: argparse.Namespace, **more: Any) -> dict:
    """Overrides applied to every design point: quick mode plus ``more``."""
    return {**(QUICK if args.quick else {}), **more}


def sweep(args: argparse.Namespace, out: Path, factors: Optional[Mapping] = None,
          overrides: Optional[Mapping] = None, regimes: Iterable[str] = sim.REGIMES,
          replications: Any = None, outputs: Iterable[str] = ()):
    """Run a sweep through the public API (resumable; one row per run)."""
    spec = {
        "base": args.config,
        "overrides": dict(overrides or {}),
        "factors": dict(factors or {}),
        "regimes": list(regimes),
        "replications": replications if replications is not None else args.reps,
        "seed": args.seed,
    }
    if outputs:
        spec["outputs"] = list(outputs)
    executor = "serial" if args.workers <= 1 else "process"
    return sim.run_sweep(spec, out, executor=executor, workers=args.workers, progress=not args.no_progress)


def column(df, name) -> np.ndarray:
    return np.asarray(df[name])


def paired_against(base, runs, metric: str, match: str = "replication"):
    """Paired-t interval of ``runs[metric] - base[metric]``, pairs matched on
    replication (so on the same seed: common random numbers)."""
    b = {int(r): v for r, v in zip(column(base, match), column(base, metric))}
    pairs = [(b[int(r)], v) for r, v in zip(column(runs, match), column(runs, metric)) if int(r) in b]
    if not pairs:
        return t_interval([])
    x, y = map(np.array, zip(*pairs))
    return paired_interval(x, y)


def scaled(iv: Interval, k: float) -> Interval:
    """An interval in other units (k times the value)."""
    return Interval(iv.mean * k, iv.low * k, iv.high * k, iv.sd * abs(k), iv.n)


def effects(base, runs, measures=OUTCOMES) -> str:
    """``label +d [low, high] unit; ...``: the paired differences ``runs - base`` of each measure."""
    return "; ".join(f"{label} {fmt_ci(scaled(paired_against(base, runs, m), k), unit, True)}"
                     for m, label, unit, k in measures)


def by_regime(df, **equal) -> tuple[Any, Any]:
    """The rows of the status quo and of the reform (see :func:`select`)."""
    return select(df, regime=STATUS_QUO, **equal), select(df, regime=REFORM, **equal)


def select(df, **equal) -> Any:
    """Rows of a DataFrame whose columns equal the given values."""
    mask = np.ones(len(df), dtype=bool)
    for k, v in equal.items():
        col = np.asarray(df[k])
        if isinstance(v, bool):   # CSV round trips may give bools or 'True'/'False'
            mask &= np.char.lower(col.astype(str)) == str(v).lower()
        elif _numeric(v):
            mask &= np.isclose(col.astype(float), float(v))
        else:
            mask &= col == v
    return df[mask]


def _numeric(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _decimals(ref: float) -> int:
    ref = abs(ref)
    return 0 if ref >= 1000 else 1 if ref >= 100 else 2 if ref >= 1 else 3


def fmt(value: float, unit: str = "", ref: Optional[float] = None) -> str:
    """A number with decimals suited to ``ref`` (default: the value itself)."""
    if value != value:
        return "n/a"
    d = _decimals(value if ref is None or ref != ref else ref)
    return f"{value:,.{d}f} {unit}".strip()


def fmt_ci(iv, unit: str = "", signed: bool = False) -> str:
    """``mean [low, high] unit`` of a stats.Interval, one number format for all three."""
    ref = max(abs(iv.mean), abs(iv.low), abs(iv.high)) if iv.low == iv.low else iv.mean
    sign = "+" if signed and iv.mean == iv.mean and iv.mean >= 0 else ""
    return f"{sign}{fmt(iv.mean, ref=ref)} [{fmt(iv.low, ref=ref)}, {fmt(iv.high, ref=ref)}] {unit}".rstrip()


def conclude(out: Path, title: str, lines: Iterable[str], quick: bool) -> None:
    """Print the conclusion and keep it beside the results."""
    text = [title, "=" * len(title)]
    if quick:
        text.append(QUICK_NOTE)
    text += list(lines)
    body = "\n".join(text)
    print(body)
    keep(out, body)
