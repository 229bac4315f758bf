"""Little's law (experiments/littles_law.py), seed 1, both regimes.

* Steady state: the default configuration run on to 2052-07-01, over its last
  10 contract years (20 years after the switch): L = lambda W within 2% for
  the providers' waiting lists and for youths in care.
* Default horizon (contract start to end of configs/achterhoek.yaml): the
  exact finite-horizon identity L T = (days of exits) + S(end) - S(start),
  with S(t) the time already spent summed over those present at t, to
  rounding. It checks the model's counters (integrals of the list and care
  counts, list entries/exits, care starts/stops, list and care time) against
  each youth's own times whatever the state of the system; lambda W itself
  misses L on this horizon under the expertise regime because the switch is a
  transient (see the script's docstring), which the edge term accounts for.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.config import load_config

from _load import load_script

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "achterhoek.yaml"


ll = load_script("experiments/littles_law.py")
QUANTITIES = ("waiting list", "in care")
REGIMES = ("product", "expertise")


@pytest.fixture(scope="module")
def rows():
    """Little's law rows of seed 1 per regime, by (window, regime, quantity):
    the steady-state window of a run to 2052 and the default horizon (slow)."""
    cfg = load_config(CONFIG)
    out = {}
    for regime in REGIMES:
        for r in ll.check(cfg, regime, 1)[0]:
            out[(r.window, regime, r.quantity)] = r
    return out


@pytest.fixture(scope="module")
def horizon_rows():
    """The default-horizon rows only (one default run per regime)."""
    cfg = load_config(CONFIG)
    out = {}
    for regime in REGIMES:
        for r in ll.default_horizon(ll.simulate(cfg, regime, 1)[0]):
            out[(r.window, regime, r.quantity)] = r
    return out


@pytest.mark.slow
@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize("quantity", QUANTITIES)
def test_littles_law_within_2_percent_in_steady_state(rows, regime, quantity):
    r = rows[("steady_state", regime, quantity)]
    assert r.days >= 10 * 365 and r.entries > 5000 and r.exits > 5000 and r.L > 100
    assert r.start_day - load_config(CONFIG).timeline.contract_start_day >= 15 * 365, "window inside the transient"
    assert abs(r.rel_diff) <= 0.02 and r.passed, (
        f"{regime} {quantity}: L = {r.L:.2f}, lambda W = {r.lam:.4f} x {r.W:.2f} = {r.lam_W:.2f} "
        f"({100 * r.rel_diff:+.2f}%); edge term (S(end) - S(start)) / T = {r.edge_term:+.2f}")


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize("quantity", QUANTITIES)
def test_exact_identity_over_the_default_horizon(horizon_rows, regime, quantity):
    r = horizon_rows[("default_horizon", regime, quantity)]
    cfg = load_config(CONFIG)
    assert r.start_day == cfg.timeline.contract_start_day and r.end_day == cfg.timeline.end_day
    assert r.entries > 1000 and r.exits > 1000 and r.L > 100
    assert abs(r.identity_residual) < 1e-9 and r.passed, (
        f"{regime} {quantity}: L = {r.L:.4f} but (days of exits + S(end) - S(start)) / T = "
        f"{r.exits_term + r.edge_term:.4f}: the counters disagree with the youths' own times")


@pytest.mark.slow
def test_the_edge_term_explains_the_transient(rows):
    """On the default horizon the expertise regime drifts (the switch): its
    caseload grows, so lambda W misses the youths in care by much more than 2%;
    the exact identity (exits plus the edge term) holds in both regimes; the
    product regime, without a switch, stays within 2%."""
    e = rows[("default_horizon", "expertise", "in care")]
    assert abs(e.rel_diff) > 0.02 and e.edge_term > 0       # the caseload builds up after the switch
    for q in QUANTITIES:
        for regime in ("expertise", "product"):
            r = rows[("default_horizon", regime, q)]
            assert r.exits_term + r.edge_term == pytest.approx(r.L, rel=1e-9)
        assert abs(rows[("default_horizon", "product", q)].rel_diff) <= 0.02


@pytest.mark.slow
def test_script_json_and_exit_status(capsys, tmp_path):
    """The script's --json lines carry the fields of a row, one set per seed, and it
    exits 0 when all pass (short runs: 3-year window of a run to 2033, 2 seeds on 2 workers)."""
    code = ll.main(["--regime", "product", "--end", "2033-07-01", "--window-years", "3", "--json",
                    "--out", str(tmp_path), "--no-progress",
                    "--seeds", "2", "--workers", "2"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert sorted((d["seed"], d["window"], d["quantity"]) for d in lines) == sorted(
        (s, w, q) for s in (1, 2) for w in ("steady_state", "default_horizon") for q in QUANTITIES)
    for d in lines:
        assert {"regime", "L", "lam", "W", "lam_W", "rel_diff", "identity_residual", "passed", "seed"} <= set(d)
    assert code == (0 if all(d["passed"] for d in lines) else 1)


def test_script_bad_end_date_exits_2(capsys):
    assert ll.main(["--end", "not-a-date"]) == 2
    assert "timeline.end" in capsys.readouterr().err
