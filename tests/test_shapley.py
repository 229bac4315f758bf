"""Shapley attribution (sim.analysis.shapley): the axioms on random games, the
2 x 2 interaction, the permutation estimate, and the attribution plumbing of
experiments/mechanisms.py on a runs table whose answer is known."""
from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.analysis.shapley import interactions, one_at_a_time, sampled_shapley, shapley

ROOT = Path(__file__).resolve().parents[1]

values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def game(k: int):
    return st.lists(values, min_size=1 << k, max_size=1 << k).map(np.array)


def brute_force(v: np.ndarray, k: int) -> np.ndarray:
    """Shapley values as the mean marginal contribution over all k! orders."""
    phi = np.zeros(k)
    orders = list(itertools.permutations(range(k)))
    for order in orders:
        mask = 0
        for i in order:
            phi[i] += v[mask | (1 << i)] - v[mask]
            mask |= 1 << i
    return phi / len(orders)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), k=st.integers(1, 5))
def test_efficiency_and_agreement_with_all_orders(data, k):
    v = data.draw(game(k))
    phi = shapley(v)
    scale = max(1.0, float(np.abs(v).max()))
    assert abs(phi.sum() - (v[-1] - v[0])) <= 1e-9 * scale
    assert np.allclose(phi, brute_force(v, k), rtol=1e-9, atol=1e-9 * scale)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), k=st.integers(2, 5))
def test_dummy_and_symmetry(data, k):
    v = data.draw(game(k - 1))
    # feature k-1 is a dummy: adding it changes nothing
    dummy = np.concatenate([v, v])
    assert abs(shapley(dummy)[-1]) <= 1e-9 * max(1.0, float(np.abs(v).max()))
    # a game symmetric in features 0 and 1 gives them equal values
    masks = np.arange(1 << k)
    swap = (masks & ~3) | ((masks & 1) << 1) | ((masks >> 1) & 1)
    w = data.draw(game(k))
    sym = (w + w[swap]) / 2
    phi = shapley(sym)
    assert math.isclose(phi[0], phi[1], rel_tol=1e-9, abs_tol=1e-6)


@settings(max_examples=40, deadline=None)
@given(effects=st.lists(values, min_size=1, max_size=5), c=values)
def test_an_additive_game_gives_each_its_own_effect(effects, c):
    k = len(effects)
    v = np.array([c + sum(e for i, e in enumerate(effects) if m >> i & 1) for m in range(1 << k)])
    tol = 1e-8 * max(1.0, abs(c), *map(abs, effects))
    assert np.allclose(shapley(v), effects, atol=tol)
    assert np.allclose(one_at_a_time(v), effects, atol=tol)
    assert np.allclose(interactions(v), 0.0, atol=tol)


@settings(max_examples=40, deadline=None)
@given(v=game(2))
def test_two_features_interaction_is_the_2x2_contrast(v):
    i = interactions(v)
    assert math.isclose(i[0, 1], v[3] - v[1] - v[2] + v[0], rel_tol=1e-12, abs_tol=1e-6)
    assert i[1, 0] == i[0, 1] and i[0, 0] == 0
    # Shapley splits the interaction equally; one-at-a-time gives it to both
    phi, oat = shapley(v), one_at_a_time(v)
    assert math.isclose(oat[0] - phi[0], i[0, 1] / 2, rel_tol=1e-9, abs_tol=1e-6)


def test_the_issues_2x2_example():
    """Issue 12: one-at-a-time +23.7 and -19.1 weeks, interaction -30.3 give
    Shapley values +38.8 and -4.0 (to the rounding of the issue's figures)."""
    a, b, ab = 23.7, -19.1, -30.3
    # v(00)=0; v(11)-v(01)=a, v(11)-v(10)=b, v(11)-v(10)-v(01)+v(00)=ab
    v11 = a + b - ab
    v = np.array([0.0, v11 - b, v11 - a, v11])
    phi = shapley(v)
    assert np.allclose(phi, [38.85, -3.95], atol=1e-9)
    assert math.isclose(interactions(v)[0, 1], ab)


def test_the_permutation_estimate_is_efficient_and_unbiased():
    rng = np.random.default_rng(7)
    k = 5
    v = rng.normal(size=1 << k) * 10
    mean, se = sampled_shapley(lambda m: float(v[m]), k, 4000, rng)
    assert math.isclose(mean.sum(), v[-1] - v[0], rel_tol=1e-9)
    z = np.abs(mean - shapley(v)) / se
    assert z.max() < 4.5
    with pytest.raises(ValueError):
        sampled_shapley(lambda m: 0.0, 3, 1, rng)


def test_a_game_must_have_two_to_the_k_values():
    with pytest.raises(ValueError):
        shapley([1.0, 2.0, 3.0])


def _mechanisms():
    sys.path.insert(0, str(ROOT / "experiments"))
    spec = importlib.util.spec_from_file_location("mechanisms_script", ROOT / "experiments" / "mechanisms.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_experiments_attribution_recovers_known_effects():
    """A runs table as the sweep writes it (bools as text, the status quo on every
    point): an additive effect per feature plus one interaction, per replication."""
    pd = pytest.importorskip("pandas")
    mech = _mechanisms()
    feats = ("administration", "dosing", "payment")
    effect = {"administration": -5.0, "dosing": -2.0, "payment": 1.0}
    rows = []
    for rep in range(4):
        base = 20.0 + rep
        for on in itertools.product([True, False], repeat=3):
            flags = dict(zip(feats, on))
            diff = sum(effect[f] for f in feats if flags[f]) + (3.0 if flags["dosing"] and flags["payment"] else 0)
            diff *= 1 + 0.1 * rep
            point = {mech.KEY + f: str(flags[f]) for f in feats}
            rows.append({**point, "regime": "product", "replication": rep, "m": base})
            rows.append({**point, "regime": "expertise", "replication": rep, "m": base + diff})
    runs = pd.DataFrame(rows)
    per_rep = mech.games(runs, feats, "m")
    assert sorted(per_rep) == [0, 1, 2, 3]
    attribution, pairs, eff = mech.attribute(per_rep, feats)
    assert eff < 1e-12
    by = {r["feature"]: r for r in attribution}
    scale = np.mean([1 + 0.1 * r for r in range(4)])
    assert math.isclose(by["administration"]["shapley"], -5.0 * scale)
    assert math.isclose(by["dosing"]["shapley"], (-2.0 + 1.5) * scale)
    assert math.isclose(by["payment"]["shapley"], (1.0 + 1.5) * scale)
    assert math.isclose(by["total"]["shapley"], (-5 - 2 + 1 + 3) * scale)
    assert by["total"]["all_off_difference_max"] == 0.0
    inter = {(p["feature_a"], p["feature_b"]): p["interaction"] for p in pairs}
    assert math.isclose(inter[("dosing", "payment")], 3.0 * scale)
    assert abs(inter[("administration", "dosing")]) < 1e-12
    # one-at-a-time gives the interaction to both dosing and payment
    assert math.isclose(by["dosing"]["one_at_a_time"], (-2.0 + 3.0) * scale)
