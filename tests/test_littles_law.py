"""Little's law on the default run (configs/achterhoek.yaml, seed 1, both regimes).

Over the evaluation horizon (T days), for the providers' waiting lists and for
youths in care: the time-average number L against the entry rate lambda
times the mean time W of those who left (experiments/littles_law.py).

Two checks:

* The exact finite-horizon identity L T = (days of exits) + S(end) - S(start),
  with S(t) the time already spent summed over those present at t, must hold
  to rounding in both regimes: it checks the model's counters (the integrals of
  the list and care counts, list entries/exits, care starts/stops, list and care
  time) against each youth's own times, whatever the state of the system.
* L = lambda W within 2%. That needs the system to be near stationary over the
  horizon, and holds under the product regime. Under the expertise regime the
  default horizon is a transient after the switch: the providers' waiting
  lists grow to two or three times their size and youths in care fall over
  the 7 years (seed 1, when this was written: lists 1,245 -> 3,491, care
  2,311 -> 2,024), so entries x mean time of exits falls short of L by about
  8% (lists) and 15% (care); the exact identity attributes that gap entirely
  to the edge term. On a run extended to 2045 the expertise regime settles
  6-8 years after the switch, and L = lambda W then holds within about 2%
  over 3-year windows. That case is marked xfail (not strict), so the gap
  stays visible in every test run.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from sim.config import load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "achterhoek.yaml"
TOLERANCE = 0.02


def _load_script():
    path = ROOT / "experiments" / "littles_law.py"
    spec = importlib.util.spec_from_file_location("littles_law", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("littles_law", mod)
    spec.loader.exec_module(mod)
    return mod


ll = _load_script()


@pytest.fixture(scope="module")
def rows():
    """Little's law rows of one default run per regime (seed 1), by (regime, quantity)."""
    cfg = load_config(CONFIG)
    out = {}
    for regime in ("product", "expertise"):
        m = ll.AuditedModel(cfg, regime, 1)
        m.run()
        for r in ll.littles_law(m, TOLERANCE):
            out[(regime, r.quantity)] = r
    return out


QUANTITIES = ("waiting list", "in care")


@pytest.mark.parametrize("regime", ("product", "expertise"))
@pytest.mark.parametrize("quantity", QUANTITIES)
def test_exact_identity_over_the_horizon(rows, regime, quantity):
    r = rows[(regime, quantity)]
    assert r.entries > 1000 and r.exits > 1000 and r.L > 100
    assert abs(r.identity_residual) < 1e-9, (
        f"{regime} {quantity}: L = {r.L:.4f} but (days of exits + S(end) - S(start)) / T = "
        f"{r.exits_term + r.edge_term:.4f}: the counters disagree with the youths' own times")


@pytest.mark.parametrize("quantity", QUANTITIES)
@pytest.mark.parametrize("regime", (
    "product",
    pytest.param("expertise", marks=pytest.mark.xfail(
        reason="the expertise horizon of the default run is a transient (lists grow 2-3x, care shrinks), "
               "so lambda W misses L by ~8-16%; see the module docstring", strict=False)),
))
def test_littles_law_within_2_percent(rows, regime, quantity):
    r = rows[(regime, quantity)]
    assert abs(r.rel_diff) <= TOLERANCE, (
        f"{regime} {quantity}: L = {r.L:.2f}, lambda W = {r.lam:.4f} x {r.W:.2f} = {r.lam_W:.2f} "
        f"({100 * r.rel_diff:+.2f}%); edge term (S(end) - S(start)) / T = {r.edge_term:+.2f}")
