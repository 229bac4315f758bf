"""The Aalen-Johansen cumulative incidence (sim.survival) against answers known
independently: the empirical CDF and cause shares without censoring, a Kaplan-Meier
loop with one cause, Greenwood's variance, a hand-computed example with ties, a brute
force loop of the variance formula, exponential competing risks with a closed-form
CIF, and the Monte Carlo spread of the estimate."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from sim.survival import CIF, competing_risks_table, cumulative_incidence, incidence_at


# --------------------------------------------------------------------------- independent references
def km_loop(times, events):
    """Kaplan-Meier of 'any event' by a plain loop: {event time: S(t)}."""
    out, s = {}, 1.0
    for u in sorted(set(t for t, e in zip(times, events) if e > 0)):
        n = sum(1 for t in times if t >= u)
        d = sum(1 for t, e in zip(times, events) if t == u and e > 0)
        s *= 1 - d / n
        out[u] = s
    return out


def greenwood_loop(times, events):
    """Greenwood's Var(1 - KM) by a plain loop: {event time: variance}."""
    out, s, acc = {}, 1.0, 0.0
    for u in sorted(set(t for t, e in zip(times, events) if e > 0)):
        n = sum(1 for t in times if t >= u)
        d = sum(1 for t, e in zip(times, events) if t == u and e > 0)
        s *= 1 - d / n
        acc += d / (n * (n - d)) if n > d else 0.0
        out[u] = s * s * acc
    return out


def delta_variance_loop(times, events, cause):
    """The delta-method variance written out term by term, O(J^2), at every event time."""
    us = sorted(set(t for t, e in zip(times, events) if e > 0))
    rows, s, f = [], 1.0, 0.0
    for u in us:
        n = sum(1 for t in times if t >= u)
        d = sum(1 for t, e in zip(times, events) if t == u and e > 0)
        dk = sum(1 for t, e in zip(times, events) if t == u and e == cause)
        f += s * dk / n
        rows.append((n, d, dk, s, f))
        s *= 1 - d / n
    out = {}
    for m, u in enumerate(us):
        fm = rows[m][4]
        v = 0.0
        for n, d, dk, sp, fj in rows[: m + 1]:
            v += (fm - fj) ** 2 * d / (n * (n - d)) if n > d else 0.0
            v += sp ** 2 * dk * (n - dk) / n ** 3
            v -= 2 * (fm - fj) * sp * dk / n ** 2
        out[u] = v
    return out


def at_times(est: CIF, ts):
    return np.asarray(est.value_at(np.asarray(ts, dtype=float)))


# --------------------------------------------------------------------------- no censoring
def test_one_cause_no_censoring_is_the_ecdf():
    rng = np.random.default_rng(1)
    t = rng.integers(0, 30, size=500).astype(float)        # many ties, some at 0
    est = cumulative_incidence(t, np.ones(len(t), dtype=int))
    grid = np.arange(-1, 32, 0.5)
    ecdf = np.array([(t <= g).mean() for g in grid])
    np.testing.assert_allclose(at_times(est, grid), ecdf, rtol=0, atol=1e-12)
    # and the delta-method se is then the binomial one
    f = est.cif
    np.testing.assert_allclose(est.se, np.sqrt(f * (1 - f) / len(t)), atol=1e-12)


def test_two_causes_no_censoring_are_the_empirical_shares_and_sum_to_one():
    rng = np.random.default_rng(2)
    t = rng.exponential(10, size=400).round(1)
    e = rng.integers(1, 3, size=400)
    grid = np.concatenate(([0.0], np.unique(t), np.unique(t) + 0.05))
    e1, e2 = cumulative_incidence(t, e, 1), cumulative_incidence(t, e, 2)
    for est, k in ((e1, 1), (e2, 2)):
        share = np.array([((t <= g) & (e == k)).mean() for g in grid])
        np.testing.assert_allclose(at_times(est, grid), share, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(e1.time, e2.time)
    np.testing.assert_allclose(e1.cif + e2.cif + e1.survival, 1.0, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- one cause with censoring
def test_one_cause_with_censoring_is_one_minus_kaplan_meier_with_greenwood_se():
    rng = np.random.default_rng(3)
    n = 300
    x, c = rng.exponential(20, n).round(0), rng.exponential(30, n).round(0)
    t, e = np.minimum(x, c), (x <= c).astype(int)                  # ties event/censoring included
    est = cumulative_incidence(t, e)
    km, gw = km_loop(t.tolist(), e.tolist()), greenwood_loop(t.tolist(), e.tolist())
    us = np.array(sorted(km))
    np.testing.assert_allclose(at_times(est, us), 1 - np.array([km[u] for u in us]), atol=1e-12)
    np.testing.assert_allclose(est.survival[np.searchsorted(est.time, us)], [km[u] for u in us], atol=1e-12)
    ok = np.array([km[u] > 0 for u in us])
    np.testing.assert_allclose(np.asarray(est.se_at(us))[ok], np.sqrt([gw[u] for u in us[ok]]), rtol=1e-9, atol=1e-12)


def test_se_matches_the_variance_formula_written_out():
    rng = np.random.default_rng(4)
    t = rng.integers(0, 15, size=120).astype(float)
    e = rng.choice([0, 1, 2, 3], size=120, p=[0.3, 0.4, 0.2, 0.1])
    for k in (1, 2, 3):
        est = cumulative_incidence(t, e, k)
        ref = delta_variance_loop(t.tolist(), e.tolist(), k)
        us = np.array(sorted(ref))
        np.testing.assert_allclose(np.asarray(est.se_at(us)) ** 2, [ref[u] for u in us], rtol=1e-9, atol=1e-14)


# --------------------------------------------------------------------------- by hand
def test_hand_computed_example_with_ties():
    # times  1  2  2  2  3  4  4  5      at t = 2: a cause-1, a cause-2 and a censoring tie;
    # events 1  1  2  0  2  1  0  0      at t = 4: a cause-1 event and a censoring tie.
    # Events come before censorings, so the record censored at 2 is at risk at 2.
    #  t=1: n=8, d1=1         F1 = 1/8                  S = 7/8
    #  t=2: n=7, d1=1, d2=1   F1 = 1/8 + 7/8*1/7 = 1/4  F2 = 7/8*1/7 = 1/8    S = 7/8*5/7 = 5/8
    #  t=3: n=4, d2=1         F2 = 1/8 + 5/8*1/4 = 9/32                       S = 5/8*3/4 = 15/32
    #  t=4: n=3, d1=1         F1 = 1/4 + 15/32*1/3 = 13/32                    S = 15/32*2/3 = 5/16
    #  t=5: censoring only, not on the grid.     Check: 13/32 + 9/32 + 10/32 = 1.
    t = [1, 2, 2, 2, 3, 4, 4, 5]
    e = [1, 1, 2, 0, 2, 1, 0, 0]
    f1, f2 = cumulative_incidence(t, e, 1), cumulative_incidence(t, e, 2)
    np.testing.assert_array_equal(f1.time, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(f1.cif, [0, 1 / 8, 1 / 4, 1 / 4, 13 / 32], atol=1e-15)
    np.testing.assert_allclose(f2.cif, [0, 0, 1 / 8, 9 / 32, 9 / 32], atol=1e-15)
    np.testing.assert_allclose(f1.survival, [1, 7 / 8, 5 / 8, 15 / 32, 5 / 16], atol=1e-15)
    assert f1.value_at(4.5) == pytest.approx(13 / 32) and f1.value_at(0.999) == 0.0
    assert f1.n == 8 and f1.cause == 1
    # se of F1:
    #  t=1: S0^2 d1 (n-d1)/n^3 = 7/512 (the binomial 1/8*7/8/8)
    #  t=2: j=1: (1/4-1/8)^2 * 1/(8*7) + 7/512 - 2*(1/4-1/8)*1*1/64 = 1/3584 + 49/3584 - 14/3584
    #       j=2: 0 + (7/8)^2 * 1*6/7^3 - 0 = 48/3584;   total 84/3584 = 3/128
    #       (= 1/4*3/4/8: nothing is censored before 2, so the binomial variance)
    np.testing.assert_allclose(f1.se[1:3], [math.sqrt(7 / 512), math.sqrt(3 / 128)], rtol=1e-12)


def test_censoring_counted_after_events_at_a_tie():
    # one event and one censoring at t=1 among n=2: the censored record is at risk, F = 1/2
    # (counting the censoring first would leave n=1 and give F = 1)
    assert cumulative_incidence([1, 1], [1, 0]).value_at(1) == pytest.approx(0.5)


# --------------------------------------------------------------------------- properties
records = hs.lists(hs.tuples(hs.integers(0, 12).map(float) | hs.floats(0, 50, allow_nan=False),
                             hs.integers(0, 3)), min_size=0, max_size=60)


@settings(max_examples=150, deadline=None)
@given(records)
def test_properties(recs):
    t = np.array([r[0] for r in recs], dtype=float)
    e = np.array([r[1] for r in recs], dtype=int)
    ests = [cumulative_incidence(t, e, k) for k in (1, 2, 3)]
    total = np.zeros(len(ests[0].time))
    for est in ests:
        assert np.all(np.diff(est.cif) >= -1e-12)
        assert np.all((est.cif >= 0) & (est.cif <= 1 + 1e-12))
        assert np.all(np.isfinite(est.se)) and np.all(est.se >= 0)
        low, high = est.ci()
        assert np.all((0 <= low) & (low <= est.cif + 1e-12) & (est.cif <= high + 1e-12) & (high <= 1))
        total += est.cif
    assert np.all(total <= 1 + 1e-12)
    np.testing.assert_allclose(total + ests[0].survival, 1, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(records, hs.randoms(use_true_random=False))
def test_permuting_the_input_changes_nothing(recs, rnd):
    t = np.array([r[0] for r in recs], dtype=float)
    e = np.array([r[1] for r in recs], dtype=int)
    order = list(range(len(t)))
    rnd.shuffle(order)
    for k in (1, 2):
        a, b = cumulative_incidence(t, e, k), cumulative_incidence(t[order], e[order], k)
        for field in ("time", "cif", "se", "survival"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


@settings(max_examples=100, deadline=None)
@given(records, hs.floats(0.01, 100), hs.floats(0.01, 100))
def test_censorings_outside_the_event_times_change_nothing(recs, gap1, gap2):
    t = np.array([r[0] for r in recs], dtype=float)
    e = np.array([r[1] for r in recs], dtype=int)
    if not np.any(e > 0):
        return
    first, last = t[e > 0].min(), t[e > 0].max()
    base = cumulative_incidence(t, e, 1)
    # a censoring strictly before the first event time is never at risk at an event time
    if first > 0:
        more = cumulative_incidence(np.append(t, first * 0.5), np.append(e, 0), 1)
        for field in ("time", "cif", "se", "survival"):
            np.testing.assert_array_equal(getattr(more, field), getattr(base, field))
    # a censoring after the last event time may move anywhere after it
    a = cumulative_incidence(np.append(t, last + gap1), np.append(e, 0), 1)
    b = cumulative_incidence(np.append(t, last + gap2), np.append(e, 0), 1)
    for field in ("time", "cif", "se", "survival"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_a_censoring_after_the_last_event_is_at_risk_throughout():
    # It is not "nothing": the added record is at risk at every event time.
    # [1, 2] both events: F(2) = 1; with a censoring at 3: F(1) = 1/3, F(2) = 1/3 + 2/3*1/2 = 2/3.
    np.testing.assert_allclose(cumulative_incidence([1, 2], [1, 1]).cif, [0, 1 / 2, 1])
    np.testing.assert_allclose(cumulative_incidence([1, 2, 3], [1, 1, 0]).cif, [0, 1 / 3, 2 / 3])


# --------------------------------------------------------------------------- known distribution
def test_exponential_competing_risks_match_the_closed_form():
    a, b, c, n = 0.05, 0.02, 0.01, 20_000
    rng = np.random.default_rng(20240607)
    x1, x2, cens = rng.exponential(1 / a, n), rng.exponential(1 / b, n), rng.exponential(1 / c, n)
    t = np.minimum.reduce([x1, x2, cens])
    e = np.select([t == x1, t == x2], [1, 2], 0)
    for k, rate in ((1, a), (2, b)):
        est = cumulative_incidence(t, e, k)
        for s in (3.0, 7.0, 14.0, 28.0, 60.0):
            truth = rate / (a + b) * (1 - math.exp(-(a + b) * s))
            got, se = est.value_at(s), est.se_at(s)
            assert abs(got - truth) < 4 * se, (k, s, got, truth, se)
    assert incidence_at(t, e, [28, 98]) == {28.0: est1_at(t, e, 28), 98.0: est1_at(t, e, 98)}


def est1_at(t, e, s):
    return float(cumulative_incidence(t, e, 1).value_at(s))


def test_se_matches_the_monte_carlo_spread():
    a, b, c, n, reps, s = 0.05, 0.03, 0.02, 200, 600, 15.0
    rng = np.random.default_rng(7)
    vals, ses = [], []
    for _ in range(reps):
        x1, x2, cens = rng.exponential(1 / a, n), rng.exponential(1 / b, n), rng.exponential(1 / c, n)
        t = np.minimum.reduce([x1, x2, cens])
        e = np.select([t == x1, t == x2], [1, 2], 0)
        est = cumulative_incidence(t, e)
        vals.append(est.value_at(s))
        ses.append(est.se_at(s))
    assert np.mean(ses) == pytest.approx(np.std(vals, ddof=1), rel=0.1)
    truth = a / (a + b) * (1 - math.exp(-(a + b) * s))
    # the log-log interval covers about 95 % of the time (binomial sd of the rate ~ 0.9 %)
    rng = np.random.default_rng(8)
    cover = 0
    for _ in range(reps):
        x1, x2, cens = rng.exponential(1 / a, n), rng.exponential(1 / b, n), rng.exponential(1 / c, n)
        t = np.minimum.reduce([x1, x2, cens])
        e = np.select([t == x1, t == x2], [1, 2], 0)
        est = cumulative_incidence(t, e, at=[s])
        lo, hi = est.ci()
        cover += lo[0] <= truth <= hi[0]
    assert 0.92 <= cover / reps <= 0.98


def test_large_input_with_tied_days():
    """100,000 records rounded to days (heavy ties): the sum over causes and
    survival is 1 at every time and the estimate is monotone."""
    rng = np.random.default_rng(9)
    t = rng.exponential(50, 100_000).round(0)
    e = rng.integers(0, 3, 100_000)
    one, two = cumulative_incidence(t, e, 1), cumulative_incidence(t, e, 2)
    np.testing.assert_allclose(one.cif + two.cif + one.survival, 1.0, atol=1e-12)
    assert np.all(np.diff(one.cif) >= 0)


# --------------------------------------------------------------------------- edge cases
def test_empty_input():
    est = cumulative_incidence([], [])
    assert est.n == 0
    np.testing.assert_array_equal(est.time, [0.0])
    np.testing.assert_array_equal(est.cif, [0.0])
    np.testing.assert_array_equal(est.value_at([0, 5]), [0, 0])
    assert incidence_at([], [], [28, 98]) == {28.0: 0.0, 98.0: 0.0}


def test_all_censored_is_zero_everywhere():
    est = cumulative_incidence([1.0, 2.0, 5.0], [0, 0, 0])
    np.testing.assert_array_equal(est.time, [0.0])
    np.testing.assert_array_equal(est.value_at([0, 1, 3, 100]), 0)
    np.testing.assert_array_equal(est.survival, [1.0])
    np.testing.assert_array_equal(est.se, [0.0])


def test_an_event_at_time_zero_counts_at_zero():
    est = cumulative_incidence([0.0, 1.0, 2.0], [1, 0, 1])
    np.testing.assert_array_equal(est.time, [0.0, 2.0])
    assert est.value_at(0.0) == pytest.approx(1 / 3)
    assert est.value_at(-1e-9) == 0.0
    assert est.value_at(2.0) == pytest.approx(1.0)   # 1/3 + 2/3 * 1/1
    assert np.isnan(est.value_at(np.nan))


def test_value_at_is_vectorised_and_right_continuous():
    est = cumulative_incidence([1, 2, 3], [1, 1, 1])
    np.testing.assert_allclose(est.value_at([[0.5, 1], [1.5, 3]]), [[0, 1 / 3], [1 / 3, 1]])
    assert isinstance(est.value_at(2), float)


def test_at_grid_and_events_as_booleans():
    t = [1, 2, 2, 2, 3, 4, 4, 5]
    e = [1, 1, 2, 0, 2, 1, 0, 0]
    est = cumulative_incidence(t, e, at=[10, 0.5, 2, 2])
    np.testing.assert_array_equal(est.time, [0.5, 2, 10])
    np.testing.assert_allclose(est.cif, [0, 1 / 4, 13 / 32])
    np.testing.assert_allclose(cumulative_incidence([1, 2, 3], [True, False, True]).cif,
                               cumulative_incidence([1, 2, 3], [1, 0, 1]).cif)


@pytest.mark.parametrize("times, events, cause", [
    ([1, -0.5], [1, 0], 1),
    ([1, np.nan], [1, 0], 1),
    ([1, np.inf], [1, 0], 1),
    ([1, 2], [1, 1.5], 1),
    ([1, 2], [1, -1], 1),
    ([1, 2], [1, np.nan], 1),
    ([1, 2], ["a", "b"], 1),
    (["1", "2"], [1, 1], 1),
    ([1, 2, 3], [1, 0], 1),
    ([[1, 2]], [[1, 0]], 1),
    ([1, 2], [1, 0], 0),
    ([1, 2], [1, 0], 1.5),
])
def test_bad_input_raises_value_error_with_one_line(times, events, cause):
    with pytest.raises(ValueError) as info:
        cumulative_incidence(times, events, cause)
    assert "\n" not in str(info.value) and str(info.value)


def test_ci_options():
    est = cumulative_incidence([1, 2, 2, 2, 3, 4, 4, 5], [1, 1, 2, 0, 2, 1, 0, 0])
    lo, hi = est.ci(0.95, "plain")
    np.testing.assert_allclose(lo, np.clip(est.cif - 1.959963984540054 * est.se, 0, 1))
    lo9, hi9 = est.ci(0.90)
    lo95, hi95 = est.ci(0.95)
    assert np.all(lo95 <= lo9) and np.all(hi9 <= hi95)
    for bad in ({"level": 1.0}, {"level": 0}, {"transform": "logit"}):
        with pytest.raises(ValueError):
            est.ci(**bad)


# --------------------------------------------------------------------------- the table
def test_competing_risks_table():
    t = [1, 2, 2, 2, 3, 4, 4, 5]
    e = [1, 1, 2, 0, 2, 1, 0, 0]
    by = {"care": cumulative_incidence(t, e, 1), "dropout": cumulative_incidence(t, e, 2)}
    tab = competing_risks_table(by)
    assert list(tab) == ["group", "time", "cif", "se", "ci_low", "ci_high"]
    assert len({len(v) for v in tab.values()}) == 1 and len(tab["time"]) == 10
    assert list(tab["group"][:5]) == ["care"] * 5 and list(tab["group"][5:]) == ["dropout"] * 5
    np.testing.assert_allclose(tab["cif"][5:], by["dropout"].cif)
    lo, hi = by["care"].ci()
    np.testing.assert_allclose(tab["ci_low"][:5], lo)
    np.testing.assert_allclose(tab["ci_high"][:5], hi)
    empty = competing_risks_table({})
    assert all(len(v) == 0 for v in empty.values()) and list(empty) == list(tab)


def test_table_writes_as_csv(tmp_path):
    from sim.table import Table
    tab = competing_risks_table({"care": cumulative_incidence([1, 2, 3], [1, 2, 0])})
    back = Table.read_csv(Table(tab).write_csv(tmp_path / "cif.csv"), text=("group",))
    np.testing.assert_array_equal(back["cif"], tab["cif"])
    assert list(back["group"]) == ["care", "care", "care"]
