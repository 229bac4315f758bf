"""Closed-form queueing theory (sim.analysis.queueing) against known values and invariants."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from sim.analysis import queueing as q


def erlang_c_direct(c: int, a: float) -> float:
    """Textbook Erlang C by its defining sums (fine for small c)."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


# --------------------------------------------------------------------------- known values
@pytest.mark.parametrize("lam, mu", [(0.5, 1.0), (0.9, 1.0), (2.0, 5.0), (0.1333, 1 / 6)])
def test_mm1(lam, mu):
    rho = lam / mu
    assert q.erlang_c(1, rho) == pytest.approx(rho)
    assert q.mmc_mean_wait(lam, mu, 1) == pytest.approx(rho / (mu - lam))
    assert q.mmc_mean_queue_length(lam, mu, 1) == pytest.approx(rho**2 / (1 - rho))
    assert q.mmc_mean_sojourn(lam, mu, 1) == pytest.approx(1 / (mu - lam))


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.8, 0.95])
def test_mm2_closed_form(rho):
    mu = 2.0
    lam = 2 * mu * rho
    assert q.erlang_c(2, lam / mu) == pytest.approx(2 * rho**2 / (1 + rho))
    assert q.mmc_mean_wait(lam, mu, 2) == pytest.approx(rho**2 / (mu * (1 - rho**2)))
    assert q.mmc_mean_queue_length(lam, mu, 2) == pytest.approx(2 * rho**3 / (1 - rho**2))


def test_mm2_textbook_numbers():
    # lam = 1, mu = 1, c = 2: rho = 1/2, P(wait) = 1/3, Wq = 1/3, Lq = 1/3
    assert q.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert q.mmc_mean_wait(1.0, 1.0, 2) == pytest.approx(1 / 3)
    assert q.mmc_mean_queue_length(1.0, 1.0, 2) == pytest.approx(1 / 3)
    # lam = 3, mu = 2, c = 2: rho = 3/4, P(wait) = 9/14, Wq = 9/14, Lq = 27/14
    assert q.erlang_c(2, 1.5) == pytest.approx(9 / 14)
    assert q.mmc_mean_wait(3.0, 2.0, 2) == pytest.approx(9 / 14)
    assert q.mmc_mean_queue_length(3.0, 2.0, 2) == pytest.approx(27 / 14)


def test_mm3_exact():
    # lam = 2, mu = 1, c = 3: P0 = 1/9, C = 4/9, Lq = 8/9, Wq = 4/9
    assert q.erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert q.mmc_mean_queue_length(2.0, 1.0, 3) == pytest.approx(8 / 9)
    assert q.mmc_mean_wait(2.0, 1.0, 3) == pytest.approx(4 / 9)


def test_verification_point():
    # the verification config: c = 5, care mean 30 days, rho = 0.8
    lam, mu, c = 0.8 * 5 / 30, 1 / 30, 5
    assert q.erlang_c(c, lam / mu) == pytest.approx(erlang_c_direct(5, 4.0))
    assert q.erlang_c(c, 4.0) == pytest.approx(0.5541, abs=1e-4)
    assert q.mmc_mean_wait(lam, mu, c) == pytest.approx(0.5541 * 30 / (5 - 4), abs=5e-3)


@pytest.mark.parametrize("c", [1, 2, 3, 5, 10, 25, 60])
@pytest.mark.parametrize("rho", [0.05, 0.5, 0.8, 0.99])
def test_erlang_c_matches_direct_sum(c, rho):
    assert q.erlang_c(c, rho * c) == pytest.approx(erlang_c_direct(c, rho * c), rel=1e-10)


@pytest.mark.parametrize("c, rho", [(500, 0.9), (2000, 0.975), (10000, 0.999)])
def test_erlang_b_stable_for_many_servers(c, rho):
    a = rho * c
    reference = stats.poisson.pmf(c, a) / stats.poisson.cdf(c, a)
    assert q.erlang_b(c, a) == pytest.approx(reference, rel=1e-8)
    pc = q.erlang_c(c, a)
    assert math.isfinite(pc) and 0.0 < pc < 1.0


def test_zero_load():
    assert q.erlang_b(3, 0.0) == 0.0
    assert q.erlang_c(3, 0.0) == 0.0
    assert q.mmc_mean_wait(0.0, 1.0, 3) == 0.0
    assert q.mmc_wait_cdf(0.0, 0.0, 1.0, 3) == 1.0


# --------------------------------------------------------------------------- waiting-time distribution
def test_wait_cdf_shape():
    lam, mu, c = 4 / 30, 1 / 30, 5
    pw = q.erlang_c(c, lam / mu)
    assert q.mmc_wait_cdf(-1.0, lam, mu, c) == 0.0
    assert q.mmc_wait_cdf(0.0, lam, mu, c) == pytest.approx(1 - pw)
    assert q.mmc_wait_cdf(1e6, lam, mu, c) == pytest.approx(1.0)
    t = np.linspace(0, 300, 50)
    f = q.mmc_wait_cdf(t, lam, mu, c)
    assert f.shape == t.shape and np.all(np.diff(f) > 0)


@pytest.mark.parametrize("lam, mu, c", [(0.8, 1.0, 1), (3.0, 2.0, 2), (4 / 30, 1 / 30, 5), (18.0, 1.0, 20)])
def test_wait_cdf_integrates_to_mean(lam, mu, c):
    tail, _ = integrate.quad(lambda t: 1.0 - q.mmc_wait_cdf(t, lam, mu, c), 0, np.inf)
    assert tail == pytest.approx(q.mmc_mean_wait(lam, mu, c), rel=1e-7)


@pytest.mark.parametrize("p", [0.5, 0.9, 0.99])
def test_wait_quantile_inverts_cdf(p):
    lam, mu, c = 4 / 30, 1 / 30, 5
    t = q.mmc_wait_quantile(p, lam, mu, c)
    assert q.mmc_wait_cdf(t, lam, mu, c) == pytest.approx(p)
    assert q.mmc_wait_quantile(0.1, lam, mu, c) == 0.0  # 1 - C = 0.446 wait not at all


# --------------------------------------------------------------------------- priority classes
def test_priority_single_class_is_fcfs():
    assert q.mmc_priority_mean_waits([0.7], 1.0, 1)[0] == pytest.approx(q.mmc_mean_wait(0.7, 1.0, 1))


def test_priority_mm1_two_classes():
    # M/M/1, two classes: W1 = rho/(mu (1 - s1)), W2 = rho/(mu (1 - s1)(1 - rho))
    lam1, lam2, mu = 0.3, 0.5, 1.0
    rho = lam1 + lam2
    w = q.mmc_priority_mean_waits([lam1, lam2], mu, 1)
    assert w[0] == pytest.approx(rho / (mu * (1 - lam1)))
    assert w[1] == pytest.approx(rho / (mu * (1 - lam1) * (1 - rho)))


@pytest.mark.parametrize(
    "lams, mu, c",
    [([0.1, 0.2, 0.3], 1.0, 1), ([1.0, 2.0], 2.0, 2), ([0.01, 0.05, 0.0733], 1 / 30, 5), ([3.0, 3.0, 3.0, 8.0], 1.0, 20)],
)
def test_priority_conserves_fcfs_mean(lams, mu, c):
    lams = np.asarray(lams)
    w = q.mmc_priority_mean_waits(lams, mu, c)
    assert np.all(np.diff(w) > 0)  # lower priority waits longer
    assert float(lams @ w / lams.sum()) == pytest.approx(q.mmc_mean_wait(lams.sum(), mu, c))


@settings(max_examples=200, deadline=None)
@given(
    c=st.integers(1, 50),
    rho=st.floats(0.01, 0.98),
    split=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=6),
)
def test_priority_conservation_property(c, rho, split):
    mu = 1.0
    lams = np.asarray(split) / sum(split) * rho * c * mu
    w = q.mmc_priority_mean_waits(lams, mu, c)
    assert float(lams @ w / lams.sum()) == pytest.approx(q.mmc_mean_wait(lams.sum(), mu, c), rel=1e-9)


# --------------------------------------------------------------------------- invariants
@settings(max_examples=300, deadline=None)
@given(c=st.integers(1, 400), rho=st.floats(0.0, 0.999))
def test_erlang_c_is_a_probability(c, rho):
    pc = q.erlang_c(c, rho * c)
    assert 0.0 <= pc <= 1.0
    assert pc >= q.erlang_b(c, rho * c)  # waiting is likelier than being blocked


@settings(max_examples=300, deadline=None)
@given(c=st.integers(1, 400), r1=st.floats(0.01, 0.99), r2=st.floats(0.01, 0.99))
def test_erlang_c_increasing_in_load(c, r1, r2):
    lo, hi = sorted((r1, r2))
    if hi - lo < 1e-6:
        return
    assert q.erlang_c(c, lo * c) <= q.erlang_c(c, hi * c)


@settings(max_examples=300, deadline=None)
@given(a=st.floats(0.01, 300.0), extra=st.integers(1, 50))
def test_erlang_c_decreasing_in_servers(a, extra):
    c = math.floor(a) + 1
    assert q.erlang_c(c + extra, a) <= q.erlang_c(c, a)
    assert q.mmc_mean_wait(a, 1.0, c + extra) <= q.mmc_mean_wait(a, 1.0, c)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call",
    [
        lambda: q.erlang_c(2, 2.0),
        lambda: q.erlang_c(2, 5.0),
        lambda: q.mmc_mean_wait(1.0, 1.0, 1),
        lambda: q.mmc_mean_queue_length(5.0, 1.0, 4),
        lambda: q.mmc_wait_cdf(1.0, 2.0, 1.0, 2),
        lambda: q.mmc_utilisation(3.0, 1.0, 2),
        lambda: q.mmc_priority_mean_waits([0.5, 0.6], 1.0, 1),
    ],
)
def test_unstable_raises(call):
    with pytest.raises(ValueError, match="unstable"):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: q.erlang_c(0, 0.5),
        lambda: q.erlang_c(2.5, 0.5),
        lambda: q.erlang_b(3, -1.0),
        lambda: q.mmc_mean_wait(1.0, 0.0, 3),
        lambda: q.mmc_mean_wait(-1.0, 1.0, 3),
        lambda: q.mmc_priority_mean_waits([], 1.0, 3),
        lambda: q.mmc_wait_quantile(1.0, 1.0, 1.0, 3),
    ],
)
def test_bad_arguments_raise(call):
    with pytest.raises(ValueError):
        call()
