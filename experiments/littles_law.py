#!/usr/bin/env python
"""Little's law on a full run: L = lambda W for the waiting lists and for care.

Over the evaluation horizon (contract start to end, T days) the model's
cumulative marks (``CareModel.at_switch`` and ``CareModel.at_end``) give, for

  the providers' waiting lists
    L      = (integral of the number on the lists dt) / T
    lambda = list entries / T                          (counts["listed"])
    W      = days spent on a list by those who left one / list exits
             (acc["list_time"] / counts["unlisted"])
  youths in care
    L      = (integral of the number in care dt) / T
    lambda = care segment starts / T                   (counts["starts"])
    W      = days of finished care segments / segment ends
             (acc["care_time"] / counts["stops"])

and Little's law says L = lambda W. The three are measured independently (a
time average, an entry count, and the mean time of those who left), so the
identity holds only up to edge effects (youths present at the horizon's ends)
and any drift of the system over the horizon. PASS when |lambda W - L| / L is
within 2%.

The script also prints the exact finite-horizon identity behind the law,

    L T = (days of exits) + S(end) - S(start),

where S(t) is the time already spent on a list (in the current care segment)
summed over the youths there at t: each youth counts exactly its time inside
the horizon. Its residual checks the model's bookkeeping (the counters against
each youth's own times) and must be ~0 whatever the state of the system; the
edge term (S(end) - S(start)) / T is what lambda W misses when the system is
not stationary over the horizon (a list that grows, care that lengthens), so
it tells a drifting system apart from a counting error. S is recorded by a
subclass of ``CareModel`` that extends its marks (the model is not changed).

Examples:
    python experiments/littles_law.py
    python experiments/littles_law.py --config configs/achterhoek.yaml --regime expertise --seed 3
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.config import load_config  # noqa: E402
from sim.model import CareModel  # noqa: E402

CONFIG = ROOT / "configs" / "achterhoek.yaml"
TOLERANCE = 0.02
REGIMES = ("product", "expertise")

# (name, time integral, entry counter, time total, exit counter)
QUANTITIES = (
    ("waiting list", "waiting", "listed", "list_time", "unlisted"),
    ("in care", "in_care", "starts", "care_time", "stops"),
)


class AuditedModel(CareModel):
    """``CareModel`` whose marks also hold, per quantity, the number present and
    the summed time they have already spent there (S above)."""

    def _marks(self) -> dict:
        d = super()._marks()
        now = self.env.now
        n_list = s_list = n_care = s_care = 0.0
        for ep in self.active.values():
            if ep.queue is not None and ep.queue is not self.assess_queue:
                n_list += 1
                s_list += now - ep.listed_at
            if ep.in_care:
                n_care += 1
                s_care += now - ep.seg_start
        d["present"] = {"waiting": n_list, "in_care": n_care}
        d["age"] = {"waiting": s_list, "in_care": s_care}
        return d


@dataclass
class LittleRow:
    regime: str
    quantity: str
    horizon_days: float
    L: float
    lam: float
    W: float
    lam_W: float
    rel_diff: float
    entries: int
    exits: int
    passed: bool
    n_start: float = math.nan       # number present at the horizon's start and end
    n_end: float = math.nan
    exits_term: float = math.nan    # (days of exits) / T = lambda_exit x W
    edge_term: float = math.nan     # (S(end) - S(start)) / T
    identity_residual: float = math.nan   # (exits_term + edge_term - L) / L


def littles_law(m: CareModel, tolerance: float = TOLERANCE) -> list[LittleRow]:
    """Little's law over the evaluation horizon of a finished run ``m``."""
    a, b = m.at_switch, m.at_end
    T = m.t_end - m.t_switch
    rows = []
    for name, integral, entry, total, exit_ in QUANTITIES:
        L = (b["acc"][integral] - a["acc"][integral]) / T
        entries = b["counts"][entry] - a["counts"][entry]
        exits = b["counts"][exit_] - a["counts"][exit_]
        lam = entries / T
        W = (b["acc"][total] - a["acc"][total]) / exits
        rel = (lam * W - L) / L
        row = LittleRow(m.study, name, T, L, lam, W, lam * W, rel, int(entries), int(exits), abs(rel) <= tolerance)
        if "age" in a and "age" in b:
            row.n_start, row.n_end = a["present"][integral], b["present"][integral]
            row.exits_term = (b["acc"][total] - a["acc"][total]) / T
            row.edge_term = (b["age"][integral] - a["age"][integral]) / T
            row.identity_residual = (row.exits_term + row.edge_term - L) / L
        rows.append(row)
    return rows


def run(config: Path, regime: str, seed: int) -> tuple[CareModel, float]:
    cfg = load_config(config)
    t = time.perf_counter()
    m = AuditedModel(cfg, regime, seed)
    m.run()
    return m, time.perf_counter() - t


HEADER = (f"{'regime':<10} {'quantity':<13} {'L (number)':>11} {'lambda (/day)':>14} {'W (days)':>10} "
          f"{'lambda x W':>11} {'rel. diff':>10}  result")


def fmt(r: LittleRow) -> str:
    return (f"{r.regime:<10} {r.quantity:<13} {r.L:>11.2f} {r.lam:>14.4f} {r.W:>10.2f} {r.lam_W:>11.2f} "
            f"{100 * r.rel_diff:>+9.2f}%  {'PASS' if r.passed else 'FAIL'}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=CONFIG, help="config file (default configs/achterhoek.yaml)")
    ap.add_argument("--regime", choices=REGIMES, action="append",
                    help="regime (repeatable; default both)")
    ap.add_argument("--seed", type=int, default=1, help="replication seed (default 1)")
    ap.add_argument("--json", action="store_true", help="one JSON line per regime and quantity")
    args = ap.parse_args(argv)
    regimes = args.regime or list(REGIMES)

    cfg = load_config(args.config)
    tl = cfg.timeline
    if not args.json:
        try:
            shown = args.config.resolve().relative_to(ROOT)
        except ValueError:
            shown = args.config
        print(f"# Little's law L = lambda W, {shown}, seed {args.seed}; evaluation horizon "
              f"{tl.contract_start} to {tl.end} ({tl.end_day - tl.contract_start_day:.0f} days), "
              f"after a warm-up from {tl.start}")
        print("# waiting list: L = time-average number on providers' lists, lambda = list entries per day, "
              "W = days on a list per list exit")
        print("# in care: L = time-average youths in care, lambda = care segment starts per day, "
              "W = days per finished care segment")
        print(f"# PASS when |lambda W - L| / L <= {TOLERANCE:.0%}")
        print(HEADER, flush=True)
    rows: list[LittleRow] = []
    for regime in regimes:
        m, secs = run(args.config, regime, args.seed)
        for r in littles_law(m):
            rows.append(r)
            if args.json:
                print(json.dumps({**asdict(r), "seed": args.seed, "seconds": round(secs, 2)}))
            else:
                print(fmt(r), flush=True)
    passed = sum(r.passed for r in rows)
    if not args.json:
        print(f"{passed}/{len(rows)} PASS (within {TOLERANCE:.0%})")
        print()
        print("# exact finite-horizon identity L = (days of exits)/T + (S(end) - S(start))/T, S = time already spent "
              "summed over those present;")
        print("# the edge term is what lambda W misses when the system drifts over the horizon; "
              "the residual checks the bookkeeping")
        print(f"{'regime':<10} {'quantity':<13} {'N(start)':>9} {'N(end)':>8} {'exits/T':>9} {'edge/T':>9} "
              f"{'sum':>9} {'L':>9} {'residual':>10}")
        for r in rows:
            print(f"{r.regime:<10} {r.quantity:<13} {r.n_start:>9.0f} {r.n_end:>8.0f} {r.exits_term:>9.2f} "
                  f"{r.edge_term:>+9.2f} {r.exits_term + r.edge_term:>9.2f} {r.L:>9.2f} {r.identity_residual:>10.1e}")
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
