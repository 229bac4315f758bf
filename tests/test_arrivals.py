"""Referrals of youths new to care do not depend on the simulation horizon.

Arrival times and the latent attributes of first referrals are drawn in yearly
blocks from simulation day 0 (block k covers [k * 365.25, (k + 1) * 365.25)),
block k from its own streams keyed by (seed, name, k); only the last block is
cut at the end. So a run to 2052 and a run to 2029 with the same seed share
every youth referred before 2029: same times, same attributes, same order --
and, the rest of the model being causal, the same history before 2029.
"""
from __future__ import annotations

import datetime as dt
import json
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import ACHTERHOEK, TINY, col, columns_equal
from sim.config import load_config, with_overrides
from sim.model.cases import (BLOCK_DAYS, FIELDS, Catalogue, arrival_rate, block_arrival_times,
                             block_rate_bound, referrals)
from sim.model.streams import STREAMS, Streams, block_stream, stream
from sim.run import build_model

START = dt.date(2021, 1, 1)
FIRST_END = dt.date(2022, 1, 2)          # the earliest end after the contract start
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)

_BASE = None
_CFGS: dict[str, object] = {}


def cfg_with(**overrides):
    """The smoke config with dotted overrides (``timeline__end`` for ``timeline.end``), cached."""
    global _BASE
    if _BASE is None:
        _BASE = load_config(ACHTERHOEK, overrides=TINY)
    ov = {k.replace("__", "."): v for k, v in overrides.items()}
    key = json.dumps(ov, sort_keys=True, default=str)
    if key not in _CFGS:
        _CFGS[key] = with_overrides(_BASE, ov) if ov else _BASE
    return _CFGS[key]


def draw(cfg, seed: int):
    return referrals(cfg, Catalogue.of(cfg), Streams(seed))


# --------------------------------------------------------------------------- block streams
def test_block_streams_depend_only_on_seed_name_and_block():
    s = Streams(5)
    for name in ("arrivals", "cases"):
        a = s.block(name, 3).random(20)
        assert np.array_equal(a, block_stream(5, name, 3).random(20))      # fresh each call
        assert np.array_equal(a, Streams(5).block(name, 3).random(20))
        assert not np.array_equal(a, block_stream(5, name, 4).random(20))
        assert not np.array_equal(a, block_stream(6, name, 3).random(20))
        assert not np.array_equal(a, stream(5, name).random(20))
    assert not np.array_equal(block_stream(5, "arrivals", 0).random(20), block_stream(5, "cases", 0).random(20))
    # the k-th child of the named stream's seed sequence; drawing blocks moves no named stream
    parent = np.random.SeedSequence(5, spawn_key=(zlib.crc32(b"cases"),))     # stream(5, "cases")'s
    want = np.random.default_rng(parent.spawn(3)[2]).random(5)
    assert np.array_equal(block_stream(5, "cases", 2).random(5), want)
    fresh = Streams(5)
    for name in STREAMS:
        assert np.array_equal(getattr(s, name).random(5), getattr(fresh, name).random(5)), name
    with pytest.raises(ValueError):
        block_stream(5, "cases", -1)


# --------------------------------------------------------------------------- (1) prefix property
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=SEEDS, days1=st.integers(0, 12 * 366), extra=st.integers(1, 12 * 366),
       growth=st.sampled_from([0.0, 0.04, -0.1]))
@example(seed=1, days1=(dt.date(2025, 1, 1) - FIRST_END).days, extra=1, growth=0.0)   # end on a block edge
@example(seed=1, days1=(dt.date(2025, 1, 1) - FIRST_END).days - 1, extra=1, growth=0.0)  # just before it
def test_shorter_horizon_gives_a_prefix_of_the_referrals(seed, days1, extra, growth):
    end1 = FIRST_END + dt.timedelta(days=days1)
    end2 = end1 + dt.timedelta(days=extra)
    cfg1 = cfg_with(timeline__end=end1, demand__growth_per_year=growth)
    cfg2 = cfg_with(timeline__end=end2, demand__growth_per_year=growth)
    t1, c1 = draw(cfg1, seed)
    t2, c2 = draw(cfg2, seed)
    T1, T2 = cfg1.timeline.end_day, cfg2.timeline.end_day

    assert list(c1) == list(FIELDS) == list(c2)
    for t, c, T in ((t1, c1, T1), (t2, c2, T2)):
        assert np.all(np.diff(t) >= 0) and (len(t) == 0 or (t[0] >= 0 and t[-1] < T))
        assert all(len(c[f]) == len(t) for f in FIELDS)
    n = len(t1)
    assert n > 0
    assert int(np.searchsorted(t2, T1, side="left")) == n      # exactly the long run's referrals before T1
    assert np.array_equal(t1, t2[:n])
    for f in FIELDS:
        assert c1[f].dtype == c2[f].dtype, f
        assert np.array_equal(c1[f], c2[f][:n]), f


def test_referrals_differ_between_seeds_and_blocks():
    """The blocks are not copies of each other, and seeds matter."""
    cfg = cfg_with(timeline__end=dt.date(2025, 1, 1))
    t, c = draw(cfg, 1)
    u, _ = draw(cfg, 2)
    assert len(t) != len(u) or not np.array_equal(t, u)
    k = np.floor(t / BLOCK_DAYS).astype(int)
    offsets = [np.sort(t[k == b] - b * BLOCK_DAYS)[:20] for b in range(4)]
    assert all(not np.allclose(offsets[0], o) for o in offsets[1:])
    assert not np.array_equal(c["u_outcome"][k == 0][:20], c["u_outcome"][k == 1][:20])


# --------------------------------------------------------------------------- (2) the whole model
SHORT, LONG = dt.date(2023, 5, 17), dt.date(2026, 1, 1)   # the short end falls mid-month and mid-block
#: columns fixed at the referral (not ``care_form``: an escalation after the short end changes it)
LATENT = ("youth_id", "referral_time", "municipality", "source", "domain", "secondary", "severity", "urgent")


def _run(end: dt.date, regime: str, seed: int):
    cfg = cfg_with(timeline__end=end)
    m = build_model(cfg, regime, seed)
    m.run()
    return cfg, m.episodes.table(m.catalogue, m.world), m.monthly.table(cfg, m.t_contract_start)


@pytest.mark.parametrize("regime", ["product", "expertise"])
@pytest.mark.parametrize("seed", [1, 2])
def test_history_before_the_shorter_end_does_not_depend_on_the_horizon(regime, seed):
    cfg1, e1, m1 = _run(SHORT, regime, seed)
    cfg2, e2, m2 = _run(LONG, regime, seed)
    T = cfg1.timeline.end_day

    # episodes that exited before the short end: identical, every column, same order
    def exited(e):
        rt = col(e, "record_type")
        return np.isin(rt, ["completed", "dropped_out"]) & (col(e, "exit_time") < T)

    s1, s2 = exited(e1), exited(e2)
    assert s1.sum() > 200
    assert (col(e1, "episode")[s1] > 0).any()           # re-referrals are covered too
    bad = [name for name in e1.columns if not columns_equal(col(e1, name)[s1], col(e2, name)[s2])]
    assert bad == []

    # every youth referred before the short end: the same youths, times and latent attributes
    f1 = col(e1, "episode") == 0
    f2 = (col(e2, "episode") == 0) & (col(e2, "referral_time") < T)
    assert f1.sum() == f2.sum() > 300
    for name in LATENT:
        assert columns_equal(col(e1, name)[f1], col(e2, name)[f2]), name

    # the monthly rows that end by the short end: identical (the short run adds one cut month at most)
    n = int((col(m2, "end_day") <= T).sum())
    assert n >= 24 and len(col(m1, "month")) - n in (0, 1)
    bad = [name for name in m1.columns if not columns_equal(col(m1, name)[:n], col(m2, name)[:n])]
    assert bad == []


# --------------------------------------------------------------------------- (3) the rate is still right
def _integral(cfg, a: float, b: float, step: float = 0.25) -> float:
    t = np.arange(a, b + step / 2, step)
    return float(np.trapezoid(arrival_rate(cfg, t), t))


@pytest.mark.parametrize("growth", [0.03, -0.05])
def test_block_counts_match_the_integral_of_the_rate(growth):
    """Mean count per block (over seeds) against the integral of arrival_rate
    over the block, and counts per month against the rate's monthly integral
    (seasonality and growth inside the blocks), within a few standard errors."""
    years = 40                                         # 40 x 365.25 days: the end is a block edge
    cfg = cfg_with(timeline__end=dt.date(2021 + years, 1, 1), demand__growth_per_year=growth,
                   demand__seasonality_amplitude=0.3)
    assert cfg.timeline.end_day == years * BLOCK_DAYS
    R = 12
    edges = np.arange(years + 1) * BLOCK_DAYS
    months = np.linspace(0.0, years * BLOCK_DAYS, 12 * years + 1)
    per_block = np.zeros(years)
    per_month = np.zeros(12 * years)
    for seed in range(R):
        t, _ = draw(cfg, 1000 + seed)
        per_block += np.histogram(t, edges)[0]
        per_month += np.histogram(t, months)[0]

    want_block = np.array([_integral(cfg, a, b) for a, b in zip(edges[:-1], edges[1:])])
    z = (per_block / R - want_block) / np.sqrt(want_block / R)
    assert np.max(np.abs(z)) < 4.5, z
    total = (per_block.sum() - R * want_block.sum()) / np.sqrt(R * want_block.sum())
    assert abs(total) < 4.0

    want_month = R * np.array([_integral(cfg, a, b, step=0.05) for a, b in zip(months[:-1], months[1:])])
    chi2 = float(((per_month - want_month) ** 2 / want_month).sum())
    df = len(want_month)
    assert abs(chi2 - df) < 5 * np.sqrt(2 * df), chi2


@pytest.mark.parametrize("growth", [0.03, -0.05, 0.0])
def test_block_rate_bound_bounds_the_rate_over_its_block(growth):
    cfg = cfg_with(timeline__end=dt.date(2030, 1, 1), demand__growth_per_year=growth,
                   demand__seasonality_amplitude=0.3)
    for k in range(10):
        t = np.linspace(k * BLOCK_DAYS, (k + 1) * BLOCK_DAYS, 20001)
        rate = arrival_rate(cfg, t)
        bound = block_rate_bound(cfg, k)
        assert np.all(rate <= bound * (1 + 1e-12))
        assert rate.max() > 0.9 * bound                    # and not a wasteful one
        times = block_arrival_times(cfg, k, block_stream(3, "arrivals", k))
        assert np.all((times >= k * BLOCK_DAYS) & (times <= (k + 1) * BLOCK_DAYS))
        assert np.all(np.diff(times) >= 0)
