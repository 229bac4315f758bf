"""The features of the expertise regime (``regimes.expertise.features``): each
switched off makes the expertise arm act as the status quo in that respect and
leaves the status-quo arm alone; all off, the two arms are identical in every
table. This is what makes the Shapley attribution (experiments/mechanisms.py)
an attribution of the regime difference: its empty coalition is exactly 0."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import sim
from sim.config import FEATURES
from sim.run import build_model

from conftest import ACHTERHOEK, NEUTRAL, col, differing_columns, small_config

KEY = "regimes.expertise.features."
ALL_OFF = {KEY + f: False for f in FEATURES}
TABLES = ("episodes", "monthly", "yearly")


def _branches(base, cfgs, seed: int = 1):
    """The status quo of ``base``, then the expertise arm of each of ``cfgs``, from one warm-up."""
    return sim.run_branches([("product", base)] + [("expertise", c) for c in cfgs], seed=seed)


def _identical(a, b) -> list[str]:
    """What differs between two results (the regime's name aside)."""
    bad = [k for k in a.summary if not _same(a.summary[k], b.summary[k])]
    for name in TABLES:
        bad += [f"{name}.{c}" for c in differing_columns(getattr(a, name), getattr(b, name), exclude=("regime",))]
    return bad


def _same(x, y) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (x != x and y != y)
    return x == y


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(1, 10_000), neutral=st.booleans())
def test_all_features_off_is_the_status_quo(seed, neutral):
    """Every summary value, episode record, monthly and yearly row is the same."""
    base = small_config(NEUTRAL if neutral else {})
    off = sim.with_overrides(base, ALL_OFF)
    sq, e = _branches(base, [off], seed=seed)
    assert _identical(sq, e) == []
    assert set(col(e.monthly, "regime")) >= {"expertise"}


def test_the_default_world_all_off_is_the_status_quo():
    """The same on the default world (5-year warm-up, 221 providers, the real window)."""
    base = sim.load_config(ACHTERHOEK, overrides={"timeline.end": "2023-07-01"})
    sq, e = _branches(base, [sim.with_overrides(base, ALL_OFF)], seed=5)
    assert _identical(sq, e) == []


@pytest.fixture(scope="module")
def one_off():
    """The status quo, the expertise arm with every feature, and with each feature off alone."""
    base = small_config()
    cfgs = [base] + [sim.with_overrides(base, {KEY + f: False}) for f in FEATURES]
    sq, full, *off = _branches(base, cfgs, seed=2)
    sq2 = sim.run(base, "product", seed=2)
    return sq, sq2, full, dict(zip(FEATURES, off))


def test_each_feature_matters_and_leaves_the_status_quo_alone(one_off):
    sq, sq_day0, full, off = one_off
    assert _identical(sq, sq_day0) == []
    for f, res in off.items():
        assert _identical(full, res) != [], f"switching off {f} changed nothing"


def test_contracts_off_keeps_every_provider(one_off):
    sq, _, full, off = one_off
    assert full.summary["contracts"] == 20
    assert off["contracts"].summary["contracts"] == sq.summary["contracts"] == 60


def test_dosing_off_reindicates(one_off):
    sq, _, full, off = one_off
    assert full.summary["reindications_per_year"] == 0
    assert off["dosing"].summary["reindications_per_year"] > 0


def test_payment_off_bills_per_unit(one_off):
    _, _, full, off = one_off
    after = col(off["payment"].monthly, "month") >= 18          # the switch is at month 18
    assert np.all(col(off["payment"].monthly, "lump_sum_eur")[after] == 0)
    assert np.all(col(full.monthly, "lump_sum_eur")[col(full.monthly, "month") >= 19] > 0)


def test_behaviour_off_moves_no_one_to_another_funder(one_off):
    _, _, full, off = one_off
    kinds = col(full.episodes, "record_type")
    assert np.sum(kinds == "other_funder") > 0
    assert np.sum(col(off["behaviour"].episodes, "record_type") == "other_funder") == 0


def test_administration_off_takes_the_status_quos_terms():
    cfg = sim.with_overrides(small_config(), {KEY + "administration": False, KEY + "contracts": False})
    m = build_model(cfg, "expertise", seed=3)
    m.run()
    sq = cfg.regimes.product.admin.overhead_share
    assert {p.overhead_share for p in m.providers} == {sq}
    m = build_model(small_config({KEY + "contracts": False}), "expertise", seed=3)
    m.run()
    assert {p.overhead_share for p in m.providers} == {small_config().regimes.expertise.admin.overhead_share}


def test_collectives_off_pools_nothing():
    for on in (True, False):
        m = build_model(small_config({KEY + "collectives": on}), "expertise", seed=3)
        m.run()
        assert bool(m.collectives and any(c.lists for c in m.collectives.values())) is on
