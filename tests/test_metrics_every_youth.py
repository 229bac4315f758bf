"""Metrics that count every youth (issue 9): the time-to-care shares with dropout
competing and the end of the run censoring, the total time out of care per
episode, the waiting list split into first and follow-up waiters, goals per year
and per referral, every metric per contract year and its trend.

Hand-built episode tables with hand-computed answers first, then one short real run."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import sim
from sim.experiment.compare import TREND_COLUMNS, trend_table
from sim.model.metrics import HEADLINE, METRICS, summarise, time_to_care, time_to_care_curve, yearly
from sim.present import tables
from sim.table import Table
from sim.units import DAYS_PER_WEEK, DAYS_PER_YEAR

from conftest import TINY

W = DAYS_PER_WEEK
Y = DAYS_PER_YEAR
NEW = ("care_within_4w_share", "care_within_14w_share", "care_within_52w_share", "wait_total_mean_weeks",
       "mean_waiting_list_first", "mean_waiting_list_follow_up", "goals_per_year", "goals_per_referral")
NAN = math.nan


# --------------------------------------------------------------------------- a hand-built run
def _marks(waiting: float, follow_up: float) -> dict:
    totals = {k: 0.0 for k in ("billed", "team", "lump", "used", "cap", "staff_h", "overhead_h", "decl_h",
                               "tx_h", "mun_h", "in_care")}
    totals.update(waiting=waiting, waiting_follow_up=follow_up)
    return {"totals": totals, "counts": {"reindications": 0}, "hours": np.zeros(3)}


class HandRun:
    """A finished run of two contract years from day 0: on average 70 first and 30
    follow-up waiters in year 0, 40 and 10 in year 1."""

    cfg = SimpleNamespace(costs=SimpleNamespace(provider_admin_hour_eur=50.0, municipal_admin_hour_eur=60.0))
    t_contract_start = 0.0
    t_end = 2 * Y
    at_contract_start = _marks(0.0, 0.0)
    year_marks = [at_contract_start, _marks(100 * Y, 30 * Y), _marks(150 * Y, 40 * Y)]
    at_end = year_marks[-1]
    open_mask = np.ones(3, bool)


def hand_episodes() -> Table:
    """Seven episode records (days; T = 2 years = 730.5):

    1. referred 0, care 14-114 (first wait 2 weeks), completed, goal
    2. referred 10, care 73-123, follow-up wait 123-151 (4 weeks), care 151-201, completed, no goal:
       first wait 9 weeks, 13 weeks out of care in all
    3. referred 20, dropped out at 62 (6 weeks) without care
    4. referred 2 weeks before the end, still waiting at the end (censored at 2 weeks)
    5. referred 400, care from 540 (20 weeks), still in care at the end
    6. referred 500, care 521-621 (3 weeks), completed, goal
    7. referred 70 days before the contract start, care 5-105, completed, goal (not a referral of the window)
    """
    T = 2 * Y
    rows = [
        # youth, ep, type, referral, start, end, exit, outcome, care_days, list_days, system_days
        (1, 0, "completed", 0.0, 14.0, 114.0, 114.0, 1.0, 100.0, 14.0, 114.0),
        (2, 0, "completed", 10.0, 73.0, 201.0, 201.0, 0.0, 100.0, 91.0, 191.0),
        (3, 0, "dropped_out", 20.0, NAN, NAN, 62.0, NAN, 0.0, 42.0, 42.0),
        (4, 0, "waiting_at_end", T - 14.0, NAN, NAN, NAN, NAN, 0.0, 14.0, 14.0),
        (5, 0, "in_care_at_end", 400.0, 540.0, NAN, NAN, NAN, T - 540.0, 140.0, T - 400.0),
        (6, 0, "completed", 500.0, 521.0, 621.0, 621.0, 1.0, 100.0, 21.0, 121.0),
        (7, 0, "completed", -70.0, 5.0, 105.0, 105.0, 1.0, 100.0, 75.0, 175.0),
    ]
    names = ("youth_id", "episode", "record_type", "referral_time", "care_start", "care_end", "exit_time",
             "outcome", "care_days", "list_days", "system_days")
    cols = {k: np.array([r[i] for r in rows]) for i, k in enumerate(names)}
    cols["record_type"] = cols["record_type"].astype(object)
    for k in ("youth_id", "episode"):
        cols[k] = cols[k].astype(np.int64)
    n = len(rows)
    cols.update(dose=np.where(cols["record_type"] == "completed", 1.0, NAN), handovers=np.zeros(n, np.int64),
                shifted_cost_eur=np.zeros(n))
    cols["last_care_end"] = np.where(cols["record_type"] == "in_care_at_end", T, cols["care_end"])
    return Table(cols)


@pytest.fixture(scope="module")
def hand():
    ep = hand_episodes()
    return summarise(HandRun(), ep), yearly(HandRun(), ep)


def test_time_to_care_codes_every_record():
    days, event = time_to_care(hand_episodes())
    np.testing.assert_allclose(days, [14, 63, 42, 14, 140, 21, 75])
    np.testing.assert_array_equal(event, [1, 1, 2, 0, 1, 1, 1])     # 1 care, 2 dropout, 0 censored


def test_care_within_is_aalen_johansen_with_censoring_and_dropout(hand):
    s, _ = hand
    # at risk 6: care at 14 (F = 1/6), the censoring at 14 leaves 4; care at 21: F += 5/6 * 1/4 = 3/8;
    # dropout at 42 (S = 5/8 * 2/3 = 5/12); care at 63: F += 5/12 * 1/2 = 7/12; care at 140: F = 19/24
    assert s["care_within_4w_share"] == pytest.approx(3 / 8)
    assert s["care_within_14w_share"] == pytest.approx(7 / 12)
    assert s["care_within_52w_share"] == pytest.approx(19 / 24)


def test_a_referral_two_weeks_before_the_end_is_not_a_late_start(hand):
    """Counting the youth referred 2 weeks before the end as 'not within 4 weeks'
    would give 2/6; leaving it out, 2/5; the estimator gives it a share of the
    later starts: 3/8."""
    s, _ = hand
    assert s["care_within_4w_share"] != pytest.approx(2 / 6)
    # year 1 alone: referrals 4 (censored at 2 weeks), 5 (care at 20 weeks), 6 (care at 3 weeks)
    _, per_year = hand
    assert per_year["care_within_4w_share"][1] == pytest.approx(1 / 2)     # not 1/3
    assert per_year["care_within_52w_share"][1] == pytest.approx(1.0)


def test_dropout_competes_rather_than_censors(hand):
    """1 - Kaplan-Meier with dropout as censoring would reach 1 at 52 weeks; the
    cumulative incidence leaves the dropout's share out: care + dropout = 1."""
    s, _ = hand
    curve = time_to_care_curve(hand_episodes(), 0.0, 2 * Y, [0, 4, 52])
    assert curve["cif_care"][-1] == pytest.approx(s["care_within_52w_share"]) == pytest.approx(19 / 24)
    assert curve["cif_dropout"][-1] == pytest.approx(5 / 24)
    np.testing.assert_allclose(curve["cif_care"] + curve["cif_dropout"] + curve["still_waiting"], 1.0)
    assert list(curve["n"]) == [6, 6, 6]
    # year 0 has no censoring: the shares are the plain shares, dropout included in the denominator
    _, per_year = hand
    assert per_year["care_within_4w_share"][0] == pytest.approx(1 / 3)
    assert per_year["care_within_14w_share"][0] == pytest.approx(2 / 3)
    assert per_year["care_within_52w_share"][0] == pytest.approx(2 / 3)


def test_wait_total_counts_follow_up_waits_and_every_referral(hand):
    s, per_year = hand
    # weeks out of care of episodes 1-6 (7 was referred before the window): 2, 9 + 4, 6, 2, 20, 3
    assert s["wait_total_mean_weeks"] == pytest.approx((2 + 13 + 6 + 2 + 20 + 3) / 6)
    first_waits_only = (2 + 9 + 6 + 2 + 20 + 3) / 6
    assert s["wait_total_mean_weeks"] - first_waits_only == pytest.approx(4 / 6)
    assert per_year["wait_total_mean_weeks"][0] == pytest.approx((2 + 13 + 6) / 3)
    assert per_year["wait_total_mean_weeks"][1] == pytest.approx((2 + 20 + 3) / 3)
    # the old metric: first waits of care starts in the window, whenever referred; no dropouts, no waiters
    assert s["wait_mean_weeks"] == pytest.approx((2 + 9 + 20 + 3 + 75 / W) / 5)


def test_goals_per_year_and_per_referral(hand):
    s, per_year = hand
    # completed in the window: 1 (goal), 2 (none), 6 (goal), 7 (goal); 6 referrals in 2 years
    assert s["goals_per_year"] == pytest.approx(3 / 2)
    assert s["goals_per_referral"] == pytest.approx(3 / 6)
    assert s["goal_attained_rate"] == pytest.approx(3 / 4)
    assert list(per_year["goals_per_year"]) == pytest.approx([2.0, 1.0])
    assert list(per_year["goals_per_referral"]) == pytest.approx([2 / 3, 1 / 3])


def test_waiting_list_split_into_first_and_follow_up(hand):
    s, per_year = hand
    assert s["mean_waiting_list"] == pytest.approx(75.0)
    assert s["mean_waiting_list_first"] == pytest.approx(55.0)
    assert s["mean_waiting_list_follow_up"] == pytest.approx(20.0)
    assert list(per_year["mean_waiting_list_first"]) == pytest.approx([70.0, 40.0])
    assert list(per_year["mean_waiting_list_follow_up"]) == pytest.approx([30.0, 10.0])


def test_every_metric_is_registered_and_per_contract_year(hand):
    s, per_year = hand
    assert set(NEW) <= set(METRICS) and set(NEW) <= set(s)
    assert list(s)[: len(NEW)] == list(NEW)                  # registry order: the new metrics first
    assert set(NEW) <= set(per_year.keys()) and len(per_year) == 2
    assert {"care_within_14w_share", "wait_total_mean_weeks", "goals_per_year"} <= set(HEADLINE)
    assert all(METRICS[k].label and METRICS[k].unit for k in NEW)


def test_care_within_equals_the_plain_share_without_censoring_or_dropout():
    rng = np.random.default_rng(4)
    n = 400
    ref = rng.uniform(0, Y, n)
    wait = np.round(rng.exponential(8 * W, n))          # whole days: ties, some exactly at 4 weeks
    start = ref + wait
    cols = {"youth_id": np.arange(n), "episode": np.zeros(n, np.int64),
            "record_type": np.array(["completed"] * n, dtype=object), "referral_time": ref,
            "care_start": start, "care_end": start + 30, "exit_time": start + 30, "outcome": np.ones(n),
            "care_days": np.full(n, 30.0), "list_days": wait, "system_days": wait + 30,
            "dose": np.ones(n), "handovers": np.zeros(n, np.int64), "last_care_end": start + 30,
            "shifted_cost_eur": np.zeros(n)}

    class Run(HandRun):
        t_end = 10 * Y
        year_marks = [_marks(0, 0), _marks(0, 0)]
        at_end = year_marks[-1]

    s = summarise(Run(), Table(cols))
    for w in (4, 14, 52):
        assert s[f"care_within_{w}w_share"] == pytest.approx(float(np.mean(wait <= w * W)), abs=1e-12)
    assert s["wait_total_mean_weeks"] == pytest.approx(float(np.mean(wait)) / W)


def test_the_estimator_lives_on_the_bottom_floor():
    assert importlib.util.find_spec("sim.survival") is not None
    assert importlib.util.find_spec("sim.analysis.survival") is None      # moved, no shim


# --------------------------------------------------------------------------- trends and the compare text
def test_trend_table_slope_first_last_and_paired_difference():
    rows, runs = [], []
    for regime, (a, b) in {"product": (10.0, 1.0), "expertise": (8.0, -0.5)}.items():
        for rep in range(3):
            shift = rep * 0.3                            # replications differ in level, not in slope
            for year in range(4):
                rows.append({"replication": rep, "regime": regime, "contract_year": year,
                             "wait_total_mean_weeks": a + shift + b * year})
            runs.append({"replication": rep, "regime": regime, "wait_total_mean_weeks": a + shift + 1.5 * b})
    t = trend_table(Table.from_rows(rows), Table.from_rows(runs), ["product", "expertise"])
    assert list(t.keys()) == TREND_COLUMNS
    got = {str(r["regime"]): r for r in t.rows()}
    assert set(got) == {"product", "expertise", "expertise - product"}
    assert got["product"]["slope_per_year"] == pytest.approx(1.0)
    assert got["expertise"]["slope_per_year"] == pytest.approx(-0.5)
    assert got["expertise - product"]["slope_per_year"] == pytest.approx(-1.5)
    assert got["product"]["first_mean"] == pytest.approx(10.3) and got["product"]["last_mean"] == pytest.approx(13.3)
    assert got["expertise - product"]["last_mean"] == pytest.approx(6.5 - 13.0)
    assert got["product"]["horizon_mean"] == pytest.approx(11.8)
    assert got["product"]["n"] == 3 and got["product"]["last_year"] == 3
    text = tables.format_trends(t)
    assert "year 1" in text and "year 4" in text and "+1.00 [+1.00, +1.00]" in text
    assert not any(line.startswith("metric") for line in text.splitlines())


def test_who_counts_note_names_what_the_wait_metrics_leave_out():
    note = tables.who_counts(METRICS)
    lines = note.splitlines()
    assert 1 <= len(lines) <= 2
    assert "wait_mean" in lines[0] and "first care started" in lines[0]
    assert "care_within_*" in note and "wait_total_mean_weeks" in note
    assert tables.who_counts(["referrals"]) == ""


def test_time_to_care_figure(tmp_path):
    from sim.present import figures

    curves = {k: [] for k in ("regime", "replication", "weeks", "n", "cif_care", "cif_dropout")}
    for regime in ("product", "expertise"):
        for rep in range(2):
            w = np.arange(0, 60, dtype=float)
            care = 0.9 * (1 - np.exp(-w / (6 + rep + (regime == "expertise"))))
            for k, v in (("regime", [regime] * len(w)), ("replication", [rep] * len(w)), ("weeks", w),
                         ("n", [100] * len(w)), ("cif_care", care), ("cif_dropout", 0.05 * w / 60)):
                curves[k].extend(list(v))
    figures.time_to_care({k: np.array(v) for k, v in curves.items()}, tmp_path / "ttc.png")
    assert (tmp_path / "ttc.png").stat().st_size > 5000


# --------------------------------------------------------------------------- a short real run
SHORT = TINY


@pytest.fixture(scope="module")
def short_runs():
    cfg = sim.with_overrides(sim.load_config(Path(__file__).resolve().parents[1] / "configs" / "achterhoek.yaml"),
                             SHORT)
    return [sim.run(cfg, regime=r, seed=3) for r in ("product", "expertise")]


@pytest.mark.parametrize("i", [0, 1])
def test_a_short_run_has_the_new_metrics(short_runs, i):
    res = short_runs[i]
    s = res.summary
    assert set(NEW) <= set(s)
    shares = [s[f"care_within_{w}w_share"] for w in (4, 14, 52)]
    assert all(0.0 <= v <= 1.0 for v in shares)
    assert shares[0] <= shares[1] <= shares[2]
    assert 0.0 <= s["goals_per_referral"] <= 1.5
    assert s["goals_per_year"] >= 0
    assert s["goals_per_referral"] == pytest.approx(s["goals_per_year"] / s["referrals"])
    assert s["mean_waiting_list_first"] >= 0 and s["mean_waiting_list_follow_up"] >= 0
    assert s["mean_waiting_list_first"] + s["mean_waiting_list_follow_up"] == pytest.approx(s["mean_waiting_list"])

    ep = res.episodes
    ref = ep["referral_time"]
    sel = (ref >= res.contract_start_day) & (ref < res.end_day)
    started = ~np.isnan(ep["care_start"])
    first = np.where(started, ep["care_start"] - ref, ep["system_days"])[sel] / W
    assert s["wait_total_mean_weeks"] >= float(first.mean()) - 1e-9
    assert s["wait_total_mean_weeks"] == pytest.approx(
        float(((ep["system_days"] - ep["care_days"])[sel]).mean()) / W)
    # the shares against a direct estimate from the records
    days, event = time_to_care(ep)
    assert np.all(days[sel] >= 0)
    from sim.survival import incidence_at

    direct = incidence_at(days[sel], event[sel], [4 * W, 14 * W, 52 * W])
    assert shares == pytest.approx(list(direct.values()))


def test_a_family_that_left_after_care_is_not_in_care_in_later_years():
    """Youths in care per year count care up to the latest segment: a family that
    left during a follow-up wait (a dropout with a care start) is not counted in
    the years after it left (the old count ran its care to infinity)."""
    from sim.model.metrics import _youths_by_year
    t = Table({"youth_id": np.array([1, 2], np.int64), "record_type": np.array(["dropped_out", "completed"], object),
               "care_start": np.array([10.0, 10.0]), "care_end": np.array([NAN, 50.0]),
               "last_care_end": np.array([60.0, 50.0])})
    np.testing.assert_array_equal(_youths_by_year(t, 0.0, 3 * Y), [2, 0, 0])
