"""What ``caresim compare`` prints and writes about its own intervals: a
warning when they rest on fewer than MIN_PAIRS pairs, shares' intervals
clipped to [0, 1], every metric's unit, the last contract year's re-referral
rate as not observable, and help texts without doubled percent signs."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
from sim import cli
from sim.analysis.stats import MIN_PAIRS
from sim.experiment.compare import comparison_table, trend_table
from sim.model.metrics import METRICS, NOT_OBSERVABLE
from sim.present import report, tables
from sim.regimes import REFORM, REGIMES, STATUS_QUO

ROOT = Path(__file__).resolve().parents[1]
SHORT = {"timeline.start": "2022-01-01", "timeline.contract_start": "2022-07-01", "timeline.end": "2024-07-01"}


def _runs(reps: int, seed: int = 3, share_mean: float = 0.93) -> dict:
    """Runs of both regimes: a share (by default near 1, with a wide spread) and a weekly wait."""
    rng = np.random.default_rng(seed)
    share = np.clip(rng.normal(share_mean, 0.08, 2 * reps), 0, 1)
    return {"replication": np.tile(np.arange(reps), 2),
            "regime": np.array([STATUS_QUO] * reps + [REFORM] * reps),
            "care_within_14w_share": share, "wait_mean_weeks": rng.normal(10, 2, 2 * reps)}


def test_one_min_pairs_for_the_report_and_the_command_line():
    assert report.MIN_PAIRS is MIN_PAIRS == 5


def test_few_pairs_warn_and_shares_stay_within_0_and_1():
    table = comparison_table(_runs(2), list(REGIMES))
    i = list(table["metric"]).index("care_within_14w_share")
    assert table["n_pairs"].tolist() == [2, 2]
    assert all("2 pairs (fewer than 5)" in w for w in table["warning"])
    for r in REGIMES:
        assert 0.0 <= table[f"{r}_ci_low"][i] <= table[f"{r}_mean"][i] <= table[f"{r}_ci_high"][i] <= 1.0
    assert -1.0 <= table["diff_ci_low"][i] and table["diff_ci_high"][i] <= 1.0
    assert "interval clipped to [0, 1]" in table["warning"][i]
    j = list(table["metric"]).index("wait_mean_weeks")         # unbounded: never clipped
    assert "clipped" not in table["warning"][j]
    notes = tables.interval_notes(table)
    assert notes[0].startswith("Warning: every interval rests on 2 pairs, fewer than 5")
    assert "care_within_14w_share" in notes[1] and "wait_mean_weeks" not in notes[1]

    enough = comparison_table(_runs(MIN_PAIRS, seed=4, share_mean=0.6), list(REGIMES))
    assert set(enough["warning"]) == {""} and tables.interval_notes(enough) == []


def test_every_metric_of_the_registry_has_a_unit_and_the_tables_show_it():
    assert all(m.unit for m in METRICS.values())
    table = comparison_table(_runs(6), list(REGIMES))
    lines = tables.format_comparison(table).splitlines()
    assert lines[0].split()[:2] == ["metric", "unit"]
    assert lines[2].split()[:4] == ["care_within_14w_share", "share", "of", "referrals"]
    assert lines[3].split()[:2] == ["wait_mean_weeks", "weeks"]
    summary = tables.format_summary({"care_cost_eur_per_year": 7.2e7, "rereferral_12m_rate": math.nan})
    assert "EUR per year" in summary and "n/o" in summary and "rereferral_12m_rate not observable" in summary


@pytest.fixture(scope="module")
def two_years():
    """Both regimes on the full region over two contract years, two replications."""
    cfg = sim.load_config(ROOT / "configs" / "achterhoek.yaml", overrides=SHORT)
    return sim.compare(cfg, replications=2, seed=1, workers=2)


def test_the_last_contract_years_rereferral_rate_is_not_observable(two_years):
    yearly = two_years.yearly
    last = yearly["contract_year"] == yearly["contract_year"].max()
    rate = yearly["rereferral_12m_rate"].astype(float)
    assert np.isnan(rate[last]).all() and np.isfinite(rate[~last]).all()
    assert np.isfinite(two_years.runs["rereferral_12m_rate"].astype(float)).all()   # the horizon's: observable
    trends = two_years.trends
    row = [i for i, m in enumerate(trends["metric"]) if m == "rereferral_12m_rate"][0]
    assert math.isnan(trends["last_mean"][row]) and not math.isnan(trends["first_mean"][row])
    text = tables.format_trends(trends, ["rereferral_12m_rate"])
    assert "n/o" in text and "0.000" not in text
    notes = tables.interval_notes(trends, "replications", shown=["rereferral_12m_rate"], clipping=False)
    assert f"n/o: rereferral_12m_rate not observable: {NOT_OBSERVABLE['rereferral_12m_rate']}." in notes
    # the trend table warns about its few replications too, in trends.csv's warning column
    assert all("fewer than 5" in w for w in trends["warning"])


def test_help_texts_show_single_percent_signs():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.choices and "compare" in a.choices)
    for name, p in sub.choices.items():
        text = p.format_help()
        assert "%%" not in text, name
    assert "95% CI" in sub.choices["compare"].format_help()


def test_compare_prints_and_writes_the_warnings(tmp_path):
    """End to end through the command line, on a tiny world with two replications."""
    out = tmp_path / "cmp"
    sets = [x for k, v in {"timeline.initial_state": "empty", "timeline.preload": "null",
                           "timeline.start": "2021-01-01", "timeline.end": "2024-07-01",
                           "demand.first_referrals_per_year": "300",
                           "providers.total_staff_hours_per_week": "3000"}.items() for x in ("--set", f"{k}={v}")]
    proc = subprocess.run([sys.executable, "-m", "sim", "compare", str(ROOT / "configs" / "achterhoek.yaml"),
                           "--reps", "2", "--workers", "1", "--no-progress", "--out", str(out), *sets],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Warning: every interval rests on 2 pairs, fewer than 5" in proc.stdout
    assert "Warning: every interval rests on 2 replications, fewer than 5" in proc.stdout     # the trend table
    table = sim.Table.read_csv(out / "comparison.csv", text=("metric", "warning"))
    assert set(table["n_pairs"].tolist()) == {2} and all("fewer than 5" in w for w in table["warning"])
    shares = [i for i, m in enumerate(table["metric"]) if METRICS[m].bounds == (0.0, 1.0)]
    for r in REGIMES:
        assert all(0.0 <= table[f"{r}_ci_low"][i] and table[f"{r}_ci_high"][i] <= 1.0 for i in shares
                   if np.isfinite(table[f"{r}_ci_low"][i]))
    trends = sim.Table.read_csv(out / "trends.csv", text=("metric", "regime", "warning"))
    assert "warning" in trends and all("fewer than 5" in w for w in trends["warning"])
