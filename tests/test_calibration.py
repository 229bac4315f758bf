"""experiments/calibrate.py: the table of targets, the trend rule behind the
stationarity check (``sim.analysis.stats.trend_slope``) and the script's
command line on a small world. Nothing here asserts that the default config
passes its targets (that is the calibration's job, not the tool's)."""
from __future__ import annotations

import csv
import datetime as dt
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import sim
from sim.analysis.stats import trend_slope

from _load import ROOT, load_script
from conftest import SMALL, simulate, small_config

cal = load_script("experiments/calibrate.py")

SCRIPT = ROOT / "experiments" / "calibrate.py"
FIELDS = ("name", "target", "simulated", "ci_low", "ci_high", "tolerance", "pass", "source")


# --------------------------------------------------------------------------- the targets table
def test_every_target_has_a_source_a_valid_kind_and_a_run_set():
    names = [t.name for t in cal.TARGETS]
    assert len(names) == len(set(names))
    for t in cal.TARGETS:
        assert t.kind in cal.KINDS, t.name
        assert t.runs in cal.RUN_SETS, t.name
        assert isinstance(t.source, str) and t.source[:3] in ("S: ", "D: ", "E: "), t.name
        assert len(t.source) > 10, t.name
        lo, hi = t.bounds()
        assert lo < hi, t.name
        if t.kind == "range":
            assert len(t.target) == 2
        else:
            assert math.isfinite(float(t.target)), t.name
        if t.kind in ("abs", "rel", "trend", "trend_below"):
            assert t.tolerance > 0, t.name


def test_the_required_targets_are_all_there():
    names = {t.name for t in cal.TARGETS}
    required = {"youths_in_care_year", "repeat_share", "wait_mean_weeks", "care_cost_eur_per_year",
                "staff_hours_per_week", "utilisation", "dropout_share",
                *(f"duration_{k}" for k in cal.DURATION_LABELS), *(f"source_{k}" for k in cal.SOURCE_TARGET),
                *(f"care_form_{k}" for k in cal.FORM_TARGET),
                "stationarity_wait_mean_weeks_trend", "stationarity_waiting_list_trend",
                "stationarity_youths_in_care_trend", "stationarity_dropout_share",
                "stability_waiting_list_trend", "stability_utilisation"}
    assert required <= names
    by = {t.name: t for t in cal.TARGETS}
    assert by["care_cost_eur_per_year"].target == 78.0e6 and by["care_cost_eur_per_year"].kind == "rel"
    assert "access team" in by["care_cost_eur_per_year"].source
    assert by["wait_mean_weeks"].bounds() == (11.0, 14.0)
    assert by["utilisation"].bounds() == (0.85, 0.95)
    assert by["dropout_share"].bounds()[1] == 0.10


def test_each_kind_passes_and_fails_where_it_should():
    T = cal.Target
    assert T("a", 10.0, 1.0, "abs", "E: x").passes(10.9, 0, 0)
    assert not T("a", 10.0, 1.0, "abs", "E: x").passes(11.1, 0, 0)
    assert T("r", 100.0, 0.1, "rel", "E: x").passes(91.0, 0, 0)
    assert not T("r", 100.0, 0.1, "rel", "E: x").passes(89.0, 0, 0)
    assert T("g", (11, 14), 0, "range", "E: x").passes(14.0, 0, 0)
    assert not T("g", (11, 14), 0, "range", "E: x").passes(10.9, 0, 0)
    assert T("b", 1.0, 0, "below", "E: x").passes(0.99, 0, 0)
    assert not T("b", 1.0, 0, "below", "E: x").passes(1.0, 0, 0)
    assert T("t", 0.0, 0.01, "trend", "E: x").passes(0.0, -0.009, 0.009)
    assert not T("t", 0.0, 0.01, "trend", "E: x").passes(0.0, -0.011, 0.009)     # the interval, not the mean
    assert not T("t", 0.0, 0.01, "trend", "E: x").passes(0.0, math.nan, math.nan)
    assert T("u", 0.0, 0.01, "trend_below", "E: x").passes(-0.5, -0.6, 0.009)
    assert not T("u", 0.0, 0.01, "trend_below", "E: x").passes(0.005, 0.0, 0.011)
    assert not T("n", 1.0, 0.5, "abs", "E: x").passes(math.nan, 0, 0)


# --------------------------------------------------------------------------- trend_slope
def test_trend_slope_recovers_a_known_slope_and_its_interval_covers_it():
    rng = np.random.default_rng(3)
    years = np.arange(2023, 2053)
    slope, low, high = trend_slope(years, 100.0 + 2.5 * (years - 2023) + rng.normal(0, 3, len(years)))
    assert abs(slope - 2.5) < 0.2
    assert low < 2.5 < high and high - low < 0.5
    # exact on a straight line
    s, lo, hi = trend_slope([1, 2, 3, 4], [1.0, 3.0, 5.0, 7.0])
    assert s == pytest.approx(2.0) and lo == pytest.approx(2.0) and hi == pytest.approx(2.0)


def test_trend_slope_interval_has_about_its_coverage():
    rng = np.random.default_rng(11)
    x = np.arange(15.0)
    hits = 0
    n = 2000
    for _ in range(n):
        _, lo, hi = trend_slope(x, -0.7 * x + rng.normal(0, 1, len(x)))
        hits += lo <= -0.7 <= hi
    assert 0.93 < hits / n < 0.97


def test_trend_slope_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(5)
    x = np.arange(20.0)
    y = 1.0 + 0.3 * x + rng.normal(0, 1, 20)
    r = stats.linregress(x, y)
    h = stats.t.ppf(0.975, 18) * r.stderr
    assert trend_slope(x, y) == pytest.approx((r.slope, r.slope - h, r.slope + h))


def test_trend_slope_drops_nan_and_needs_three_points_for_an_interval():
    s, lo, hi = trend_slope([1, 2, 3, 4], [1.0, np.nan, 3.0, 4.0])
    assert math.isfinite(s) and math.isfinite(lo) and math.isfinite(hi)
    s, lo, hi = trend_slope([1, 2], [1.0, 2.0])
    assert s == pytest.approx(1.0) and math.isnan(lo) and math.isnan(hi)
    assert all(math.isnan(v) for v in trend_slope([1], [1.0]))
    assert all(math.isnan(v) for v in trend_slope([2, 2, 2], [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError):
        trend_slope([1, 2, 3], [1.0, 2.0])


def test_a_flat_noisy_series_passes_the_one_percent_rule_and_a_trend_fails():
    rng = np.random.default_rng(7)
    years = list(range(2023, 2052))
    rule = next(t for t in cal.TARGETS if t.name == "stationarity_waiting_list_trend")
    flat = cal.relative_trend(years, 1000.0 + rng.normal(0, 20, len(years)))
    assert abs(flat["level"] - 1000.0) < 20
    assert rule.passes(flat["rel"], flat["rel_low"], flat["rel_high"])
    rising = cal.relative_trend(years, 1000.0 * 1.03 ** np.arange(len(years)) + rng.normal(0, 20, len(years)))
    assert rising["rel_low"] > 0.01
    assert not rule.passes(rising["rel"], rising["rel_low"], rising["rel_high"])
    # the one-sided stability rule: a falling list passes, a rising one fails
    up = next(t for t in cal.TARGETS if t.name == "stability_waiting_list_trend")
    falling = cal.relative_trend(years, 1000.0 * 0.97 ** np.arange(len(years)))
    assert up.passes(falling["rel"], falling["rel_low"], falling["rel_high"])
    assert not up.passes(rising["rel"], rising["rel_low"], rising["rel_high"])


# --------------------------------------------------------------------------- measuring
def test_calendar_years_and_the_thirty_year_end():
    assert cal.add_years(dt.date(2022, 7, 1), 30) == dt.date(2052, 7, 1)
    assert cal.add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)
    c = small_config({"timeline.end": "2032-07-01"})
    assert cal.calendar_years(c) == list(range(2023, 2032))
    c = small_config({"timeline.contract_start": "2023-01-01", "timeline.end": "2025-06-30"})
    assert cal.calendar_years(c) == [2023, 2024]


def test_dropout_share_from_the_records_is_the_summary_dropout_rate():
    res = simulate()
    share = cal.dropout_share(res.episodes, res.contract_start_day, res.end_day)
    assert share == pytest.approx(res.summary["dropout_rate"])
    assert 0.0 <= share <= 1.0


# --------------------------------------------------------------------------- the script
def _sets(overrides: dict) -> list[str]:
    out = []
    for k, v in overrides.items():
        out += ["--set", f"{k}={v}"]
    return out


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_quick_json_prints_one_valid_line_per_target(tmp_path):
    p = _run("--quick", "--json", "--reps", "1", "--workers", "2", "--out", str(tmp_path), *_sets(SMALL))
    assert p.returncode in (0, 1), p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["name"] for r in lines] == [t.name for t in cal.TARGETS]
    for r in lines:
        for f in FIELDS:
            assert f in r, (r["name"], f)
        assert isinstance(r["pass"], bool)
        assert isinstance(r["source"], str) and r["source"]
        assert isinstance(r["target"], float) and isinstance(r["tolerance"], float)
        assert r["simulated"] is None or isinstance(r["simulated"], float)
    by = {r["name"]: r for r in lines}
    # one replication: no interval over replications, but the OLS interval of a trend exists
    assert by["youths_in_care_year"]["ci_low"] is None
    assert by["stationarity_waiting_list_trend"]["ci_low"] is not None
    assert "2023-2031" in by["stationarity_waiting_list_trend"]["note"]     # --quick: 10 years
    assert p.returncode == (0 if all(r["pass"] for r in lines) else 1)
    # kept under --out: one row per target, and the table with the quick-mode note
    with open(tmp_path / "targets.csv", newline="") as fh:
        kept = list(csv.DictReader(fh))
    assert [r["name"] for r in kept] == [r["name"] for r in lines]
    assert [r["pass"] for r in kept] == [str(r["pass"]) for r in lines]
    text = (tmp_path / "conclusion.txt").read_text()
    assert "quick mode" in text and text.strip().splitlines()[-1].endswith("s)")


def test_text_output_names_regime_replications_horizon_and_ends_with_the_count(tmp_path):
    p = _run("--reps", "2", "--skip-stationarity", "--workers", "2", "--out", str(tmp_path), *_sets(SMALL))
    assert p.returncode in (0, 1), p.stderr
    out = p.stdout
    assert "product" in out and "2 replications" in out
    assert "2022-07-01 to 2024-07-01" in out and "95% t-intervals over replications" in out
    assert "stationarity_" not in out
    last = out.strip().splitlines()[-1]
    n = sum(t.runs == "calibration" for t in cal.TARGETS)
    assert last.startswith(f"{n - out.count(' FAIL ')} of {n} targets pass")


@pytest.mark.parametrize("bad", [["--set", "novalue"], ["--set", "demand.no_such_key=1"],
                                 ["--set", "demand.first_referrals_per_year=-5"], ["--reps", "0"]])
def test_a_user_error_is_one_line_and_status_2(bad):
    p = _run(*bad, timeout=60)
    assert p.returncode == 2
    assert p.stdout == ""
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("calibrate.py: error:"), p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.slow
def test_quick_json_on_the_default_config(tmp_path):
    p = _run("--quick", "--json", "--reps", "1", "--workers", "2", "--out", str(tmp_path), timeout=600)
    assert p.returncode in (0, 1), p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["name"] for r in lines] == [t.name for t in cal.TARGETS]
    assert all(all(f in r for f in FIELDS) for r in lines)


# --------------------------------------------------------------------------- the default, in a fast smoke form
#: targets that two provider worlds already pin down (the waits differ much between
#: worlds, single replications 9-18 weeks: the full script checks them over 10)
SMOKE_TARGETS = ("youths_in_care_year", "repeat_share", "care_cost_eur_per_year", "utilisation", "dropout_share",
                 *(f"duration_{k}" for k in cal.DURATION_LABELS), *(f"source_{k}" for k in cal.SOURCE_TARGET),
                 *(f"care_form_{k}" for k in cal.FORM_TARGET))


@pytest.fixture(scope="module")
def default_runs():
    cfg = sim_load_default()
    return [cal.calibration_stats(sim_run_status_quo(cfg, seed), cfg) for seed in (1, 2)]


def sim_load_default():
    return sim.load_config(ROOT / "configs" / "achterhoek.yaml")


def sim_run_status_quo(cfg, seed):
    return sim.run(cfg, regime=cal.STATUS_QUO, seed=seed)


def test_the_default_meets_its_calibration_targets_in_smoke_form(default_runs):
    by = {t.name: t for t in cal.TARGETS}
    failed = {}
    for name in SMOKE_TARGETS:
        r = cal.evaluate(by[name], default_runs)
        if not r["pass"]:
            failed[name] = (r["simulated"], cal.target_text(by[name]))
    assert not failed, failed
    # the waits: the mean of two worlds within a widened band (11-14 weeks over 10 worlds)
    waits = [r["wait_mean_weeks"] for r in default_runs]
    assert 8.0 <= float(np.mean(waits)) <= 17.0, waits


def test_the_status_quo_is_stationary_on_a_cheap_long_run():
    """Twelve years after the switch from the preloaded state, one world: the
    yearly waiting list and youths in care stay within a band around their
    level (the full check: 30 years, 10 worlds, slopes within +-1% a year)."""
    cfg = sim.with_overrides(sim_load_default(), {"timeline.end": "2034-07-01"})
    stats = cal.long_run_stats(sim_run_status_quo(cfg, 3), cfg)
    for key in ("waiting_list", "youths_in_care"):
        tr = cal.relative_trend(stats["years"], np.asarray(stats[key], float))
        assert abs(tr["rel"]) < 0.02, (key, tr)
        first, last = np.mean(stats[key][:3]), np.mean(stats[key][-3:])
        assert abs(last / first - 1) < 0.15, (key, first, last)
    assert stats["dropout_share"] <= 0.10
