"""Statistics of the experiment layer (sim.analysis.stats) on synthetic data with known
answers: t and paired-t intervals, CRN variance reduction, Law's replication
procedure, MSER-5 and Bonferroni."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

import sim
from sim.analysis import stats
from sim.analysis.stats import (bonferroni, crn_variance_reduction, mser, mser5, paired_differences, paired_interval,
                       replications_needed, sequential, sequential_done, summarise_runs, t_interval)


def synthetic_runs(n_points: int, reps: int, delta: float, rho: float, sd_a: float = 1.0, sd_b: float = 1.0,
                   mean_a: float = 10.0, seed: int = 0, metrics=("wait_mean_weeks",)) -> dict:
    """A runs table of paired replications: per metric, a ~ N(mean_a, sd_a^2),
    b = mean_a + delta + sd_b * (rho z_a + sqrt(1-rho^2) z), so Corr(a, b) = rho."""
    rng = np.random.default_rng(seed)
    n = n_points * reps
    cols = {"point": np.repeat([f"p{i}" for i in range(n_points)], reps),
            "replication": np.tile(np.arange(reps), n_points)}
    a_cols, b_cols = {}, {}
    for m in metrics:
        za, zo = rng.standard_normal(n), rng.standard_normal(n)
        a_cols[m] = mean_a + sd_a * za
        b_cols[m] = mean_a + delta + sd_b * (rho * za + math.sqrt(1 - rho ** 2) * zo)
    out = {k: np.concatenate([v, v]) for k, v in cols.items()}
    out["regime"] = np.array(["product"] * n + ["expertise"] * n)
    for m in metrics:
        out[m] = np.concatenate([a_cols[m], b_cols[m]])
    return out


# --------------------------------------------------------------------------- intervals
@pytest.mark.parametrize("n", [2, 5, 30])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_t_interval_matches_scipy(n, level):
    x = np.random.default_rng(n).normal(3.0, 2.0, size=n)
    ci = t_interval(x, level)
    lo, hi = st.t.interval(level, n - 1, loc=x.mean(), scale=st.sem(x))
    assert ci.low == pytest.approx(lo, rel=1e-10) and ci.high == pytest.approx(hi, rel=1e-10)
    assert ci.half_width == pytest.approx(stats.half_width(x, 1 - level), rel=1e-10)
    assert ci.sd == pytest.approx(np.std(x, ddof=1)) and ci.n == n


def test_t_interval_edge_cases():
    assert t_interval([]).n == 0 and math.isnan(t_interval([]).mean)
    one = t_interval([4.0])
    assert one.mean == 4.0 and math.isnan(one.low)
    assert t_interval([1.0, np.nan, 3.0]).n == 2
    assert t_interval(np.array(["1", "", "3"], dtype=object)).n == 2   # CSV cells


def test_paired_interval_coverage_is_nominal():
    """2000 synthetic experiments of 10 pairs: the 95% paired-t CI covers the
    true difference in 93-97% of them (the binomial sd is 0.5 points)."""
    delta = 0.7
    runs = synthetic_runs(n_points=2000, reps=10, delta=delta, rho=0.6, sd_a=1.0, sd_b=1.5, seed=11)
    table = paired_differences(runs)
    assert len(table) == 2000 and set(table["n"].tolist()) == {10}
    covered = (table["diff_ci_low"] <= delta) & (delta <= table["diff_ci_high"])
    assert 0.93 <= covered.mean() <= 0.97, covered.mean()
    # the table agrees with paired_interval on one point
    p0 = runs["point"] == "p0"
    a = runs["wait_mean_weeks"][p0 & (runs["regime"] == "product")]
    b = runs["wait_mean_weeks"][p0 & (runs["regime"] == "expertise")]
    ci = paired_interval(a, b)
    assert table["diff_ci_low"][0] == pytest.approx(ci.low) and table["diff_ci_high"][0] == pytest.approx(ci.high)
    assert table["p_value"][0] == pytest.approx(st.ttest_rel(b, a).pvalue)


def test_pairs_are_matched_on_replication_not_row_order():
    runs = synthetic_runs(1, 8, delta=1.0, rho=0.9, seed=3)
    ref = paired_differences(runs)
    order = np.random.default_rng(0).permutation(len(runs["regime"]))
    shuffled = {k: v[order] for k, v in runs.items()}
    out = paired_differences(shuffled)
    assert out["diff_mean"][0] == pytest.approx(ref["diff_mean"][0])
    assert out["diff_ci_low"][0] == pytest.approx(ref["diff_ci_low"][0])


def test_crn_variance_reduction_matches_theory():
    """Var(b - a) = Var a + Var b - 2 rho sd_a sd_b, so the reduction against
    independent sampling is 2 rho sd_a sd_b / (Var a + Var b): rho itself for
    equal variances; the equivalent factor is 1 / (1 - reduction)."""
    for rho, sd_a, sd_b in ((0.8, 1.0, 1.0), (0.7, 1.0, 2.0), (0.0, 1.0, 1.0), (-0.5, 1.0, 1.0)):
        runs = synthetic_runs(1, 200_000, delta=0.3, rho=rho, sd_a=sd_a, sd_b=sd_b, seed=5)
        row = paired_differences(runs)
        theory = 2 * rho * sd_a * sd_b / (sd_a ** 2 + sd_b ** 2)
        assert row["crn_variance_reduction"][0] == pytest.approx(theory, abs=0.01)
        assert row["corr"][0] == pytest.approx(rho, abs=0.01)
        assert row["crn_factor"][0] == pytest.approx(1 / (1 - theory), rel=0.03)
        a = runs["wait_mean_weeks"][runs["regime"] == "product"]
        b = runs["wait_mean_weeks"][runs["regime"] == "expertise"]
        assert crn_variance_reduction(a, b) == pytest.approx(row["crn_variance_reduction"][0])


def test_summarise_runs_per_point_and_regime():
    runs = synthetic_runs(3, 6, delta=2.0, rho=0.5, seed=2, metrics=("wait_mean_weeks", "referrals"))
    out = summarise_runs(runs)
    assert list(out.keys())[:3] == ["point", "regime", "metric"]
    assert len(out) == 3 * 2 * 2
    sel = (runs["point"] == "p1") & (runs["regime"] == "expertise")
    ci = t_interval(runs["referrals"][sel])
    i = int(np.flatnonzero((out["point"] == "p1") & (out["regime"] == "expertise") & (out["metric"] == "referrals"))[0])
    assert out["mean"][i] == pytest.approx(ci.mean) and out["ci_low"][i] == pytest.approx(ci.low)
    assert out["n"][i] == 6 and out["se"][i] == pytest.approx(ci.sd / math.sqrt(6))


def test_tables_frames_and_failed_runs():
    """DataFrame in, DataFrame out; Table in, Table out; failed runs left out;
    a table without a point column (caresim compare's runs.csv) works."""
    pd = pytest.importorskip("pandas")
    runs = synthetic_runs(2, 5, delta=1.0, rho=0.5, seed=4)
    df = pd.DataFrame(runs)
    df["error"] = ""
    bad = df.iloc[[0]].copy()
    bad["wait_mean_weeks"] = 1e9
    bad["replication"] = 99
    bad["error"] = "RuntimeError: boom"
    df = pd.concat([df, bad], ignore_index=True)
    out = paired_differences(df)
    assert isinstance(out, pd.DataFrame) and len(out) == 2
    assert out["n"].tolist() == [5, 5] and out["mean_a"].max() < 100
    as_table = paired_differences(sim.Table({k: np.asarray(v) for k, v in runs.items()}))
    assert isinstance(as_table, sim.Table)
    np.testing.assert_allclose(as_table["diff_mean"], out["diff_mean"])
    no_point = df[df.point == "p0"].drop(columns="point")
    s = summarise_runs(no_point)
    assert list(s.columns[:2]) == ["regime", "metric"] and s["n"].tolist() == [5, 5]
    with pytest.raises(KeyError):
        summarise_runs(df, by=("nope",))


def test_paired_differences_on_a_real_comparison(small_cfg):
    cmp = sim.compare(small_cfg, replications=3, seed=1)
    out = paired_differences(cmp.runs)
    ref = cmp.table
    for m in ("wait_mean_weeks", "care_cost_eur_per_year"):
        i, j = list(out["metric"]).index(m), list(ref["metric"]).index(m)
        assert out["diff_ci_low"][i] == pytest.approx(ref["diff_ci_low"][j])
        assert out["diff_ci_high"][i] == pytest.approx(ref["diff_ci_high"][j])


# --------------------------------------------------------------------------- Bonferroni
def test_bonferroni_levels():
    assert bonferroni(0.95, 1) == pytest.approx(0.95)
    assert bonferroni(0.95, 5) == pytest.approx(0.99)
    assert bonferroni(0.90, 20) == pytest.approx(0.995)
    with pytest.raises(ValueError):
        bonferroni(0.95, 0)


def test_bonferroni_adjusted_intervals_hold_jointly():
    """Five independent metrics: unadjusted 95% intervals all cover in about
    0.95^5 = 77% of experiments; Bonferroni-adjusted ones in at least 95%
    (0.99^5 = 95.1% here; the bound allows 3 binomial sd below it)."""
    metrics = ("wait_mean_weeks", "referrals", "utilisation", "hhi", "dropout_rate")
    runs = synthetic_runs(1000, 8, delta=0.5, rho=0.5, seed=0, metrics=metrics)
    plain = paired_differences(runs)
    adj = paired_differences(runs, adjust="bonferroni")
    np.testing.assert_allclose(adj["level"], 0.99)
    assert (adj["diff_half_width"] > plain["diff_half_width"]).all()

    def joint(t):
        cov = (t["diff_ci_low"] <= 0.5) & (0.5 <= t["diff_ci_high"])
        return cov.reshape(1000, len(metrics)).all(axis=1).mean()

    assert 0.72 <= joint(plain) <= 0.82
    assert joint(adj) >= 0.93
    s = summarise_runs(runs, adjust="bonferroni")
    assert set(np.round(s["level"], 6).tolist()) == {0.99}
    with pytest.raises(ValueError):
        summarise_runs(runs, adjust="holm")


# --------------------------------------------------------------------------- Law's procedure
def test_replications_needed_is_the_smallest_n_that_reaches_the_half_width():
    pilot = np.random.default_rng(1).normal(50.0, 8.0, size=10)
    s = pilot.std(ddof=1)
    for target in (5.0, 2.0, 0.5):
        n = replications_needed(pilot, target)
        hw = lambda i: st.t.ppf(0.975, i - 1) * s / math.sqrt(i)
        assert hw(n) <= target
        assert n == 10 or hw(n - 1) > target
    assert replications_needed(pilot, 100.0) == 10          # the pilot already does
    # relative precision gamma uses Law's adjusted gamma' = gamma / (1 + gamma)
    n = replications_needed(pilot, 0.02, relative=True)
    assert st.t.ppf(0.975, n - 1) * s / math.sqrt(n) <= 0.02 / 1.02 * abs(pilot.mean())
    assert st.t.ppf(0.975, n - 2) * s / math.sqrt(n - 1) > 0.02 / 1.02 * abs(pilot.mean())
    assert replications_needed([3.0, 3.0, 3.0], 0.1) == 3
    with pytest.raises(ValueError):
        replications_needed([1.0], 0.1)


def test_replications_needed_achieves_the_half_width_on_fresh_data():
    """With a pilot whose sd equals sigma, n* fresh replications give a
    half-width at the target: the median over 400 experiments is within 5%."""
    rng = np.random.default_rng(2)
    sigma, target = 3.0, 0.8
    z = rng.normal(size=10)
    pilot = 7.0 + sigma * (z - z.mean()) / z.std(ddof=1)
    n = replications_needed(pilot, target)
    assert n > 10
    widths = [stats.half_width(rng.normal(0, sigma, size=n)) for _ in range(400)]
    assert np.median(widths) == pytest.approx(target, rel=0.05)


def test_sequential_procedure_stops_at_the_first_n_within_target():
    rng = np.random.default_rng(3)
    draws = rng.normal(20.0, 4.0, size=2000)
    res = sequential(lambda i: draws[i], half_width=1.0, pilot=10, max_n=2000)
    assert res.done and res.half_width <= 1.0 and res.n >= 10
    assert not sequential_done(draws[: res.n - 1], 1.0, min_n=10)
    assert sequential_done(draws[: res.n], 1.0, min_n=10)
    assert res.interval.half_width == pytest.approx(res.half_width)
    # relative precision and the max_n cap
    rel = sequential(lambda i: draws[i], half_width=0.05, relative=True, pilot=5)
    assert rel.half_width <= 0.05 / 1.05 * abs(rel.values.mean())
    capped = sequential(lambda i: draws[i], half_width=0.001, pilot=5, max_n=30)
    assert capped.n == 30 and not capped.done
    assert not sequential_done([1.0], 10.0)


# --------------------------------------------------------------------------- MSER-5
def test_mser5_finds_a_planted_step():
    """60 observations at mean 5 then N(0, 1): the truncation point is the
    planted one (60 = 12 batches) in most of 50 seeds and its median."""
    got = []
    for seed in range(50):
        x = np.r_[np.full(60, 5.0), np.zeros(440)] + np.random.default_rng(seed).normal(size=500)
        r = mser5(x)
        got.append(r.truncation_index)
        assert r.truncation_index == 5 * r.truncation_batches and r.n_batches == 100
    got = np.array(got)
    assert np.median(got) == 60 and (got == 60).mean() >= 0.6 and (got >= 60).all()


def test_mser5_finds_an_exponential_start_up():
    """10 exp(-t/20) + N(0, 1): the bias falls below a tenth of the noise sd
    at t ~ 92; the truncation lands between the half-life and there."""
    t = np.arange(500)
    got = [mser5(10 * np.exp(-t / 20) + np.random.default_rng(s).normal(size=500)).truncation_index
           for s in range(50)]
    assert 40 <= np.median(got) <= 100


def test_mser5_keeps_a_stationary_series():
    got = np.array([mser5(np.random.default_rng(s).normal(size=500)).truncation_batches for s in range(50)])
    assert np.median(got) == 0 and (got <= 3).mean() >= 0.8


def test_mser_details():
    x = np.r_[np.full(20, 9.0), np.ones(83)]                  # 103 observations: 20 batches, 3 left out
    r = mser5(x)
    assert r.n_batches == 20 and r.truncation_batches == 4 and r.truncated_mean == 1.0
    assert len(r.statistic) == 11 and np.argmin(r.statistic) == 4
    # a series that never settles: the minimum sits on the half-way bound
    trend = mser5(np.arange(200.0))
    assert trend.at_boundary and trend.truncation_batches == 20
    assert mser(np.arange(40.0), batch_size=1).truncation_batches == 20
    with pytest.raises(ValueError):
        mser5(np.arange(10.0))


def test_warmup_report_runs_the_status_quo(small_cfg):
    from sim.experiment.warmup import warmup_analysis, warmup_report

    a = warmup_analysis(small_cfg, replications=2, seed=1)
    assert a["warmup_months"] == pytest.approx(546 / (365.25 / 12))
    for name in ("waiting_list", "youths_in_care"):
        s = a["series"][name]
        assert 0 <= s["truncation_months"] <= a["months"] // 2
        assert len(s["per_replication_months"]) == 2
        assert s["long_enough"] == (s["truncation_months"] <= a["warmup_months"])
    text = warmup_report(small_cfg, replications=2, seed=1)
    assert "waiting_list" in text and "youths_in_care" in text and "configured warm-up: 2021-01-01" in text
    assert "verdict" in text
