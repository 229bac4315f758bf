"""Properties of the care process that hold in every run: conservation of
referrals, no negative waits, caseload within capacity at every event,
reproducibility, the limits of infinite and of more capacity, and the shape of
the output tables.

All runs use the small Achterhoek world of ``conftest.py`` (a fraction of a
second each). Properties over seeds and parameter variations use hypothesis
with a handful of examples, so the suite stays fast.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.units import DAYS_PER_MONTH
from sim.model.metrics import METRICS
from sim.errors import InvariantError

from conftest import INFINITE, RECORD_TYPES, REGIMES, col, differing_columns, simulate, small_config

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
FAST = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- the test world
@pytest.mark.parametrize("regime", REGIMES)
def test_small_world_has_queueing(regime):
    """The fixture world is not trivial: youths wait, some long, and capacity is busy."""
    s = simulate(regime=regime, seed=1).summary
    assert s["wait_mean_weeks"] > 1.0
    assert s["wait_p90_weeks"] > 4.0
    assert s["mean_waiting_list"] > 10
    assert 0.4 < s["utilisation"] <= 1.0


# --------------------------------------------------------------------------- 1. conservation
def assert_conservation(res) -> None:
    ep, mo = res.episodes, res.monthly
    yid, k, rt = col(ep, "youth_id"), col(ep, "episode"), col(ep, "record_type")
    n = len(ep)
    assert n > 0

    # every record has exactly one of the four types
    assert set(rt.tolist()) <= RECORD_TYPES

    # one record per referral: (youth_id, episode) is unique ...
    pairs = set(zip(yid.tolist(), k.tolist()))
    assert len(pairs) == n, "duplicate (youth_id, episode) records"
    # ... and the referrals counted month by month (first and repeat) are exactly the records
    assert int(col(mo, "referrals").sum()) == n
    # first referrals: youth ids are 0..Y-1 and each has exactly one episode-0 record;
    # the other records are the re-referrals
    first = k == 0
    assert sorted(yid[first].tolist()) == list(range(int(first.sum())))
    assert int(first.sum()) + int((k > 0).sum()) == n

    # a youth's episodes are numbered 0..k without gaps
    order = np.lexsort((k, yid))
    y_s, k_s = yid[order], k[order]
    new_youth = np.r_[True, y_s[1:] != y_s[:-1]]
    assert np.all(k_s[new_youth] == 0)
    assert np.all(k_s[~new_youth] == k_s[np.flatnonzero(~new_youth) - 1] + 1)

    # a re-referral follows a finished episode of the same youth, after it ended
    prev = np.flatnonzero(~new_youth) - 1
    cur = np.flatnonzero(~new_youth)
    rt_s = rt[order]
    assert set(rt_s[prev].tolist()) <= {"completed", "dropped_out"}
    assert np.all(col(ep, "exit_time")[order][prev] <= col(ep, "referral_time")[order][cur])

    # each record type is consistent with its times
    start, end, exit_ = col(ep, "care_start"), col(ep, "care_end"), col(ep, "exit_time")
    outcome = col(ep, "outcome")
    done = rt == "completed"
    assert np.all(np.isfinite(start[done]) & np.isfinite(end[done]) & np.isfinite(exit_[done]))
    assert set(outcome[done].tolist()) <= {0.0, 1.0}
    drop = rt == "dropped_out"
    # a family leaves from a wait: the first one, or (follow-up effects) a later one after care
    if not small_config().waiting.follow_up_effects:
        assert np.all(np.isnan(start[drop])), "a family left the list after care had started"
    left_later = drop & np.isfinite(start)
    assert np.all(col(ep, "care_days")[left_later] > 0) and np.all(exit_[left_later] > start[left_later])
    # each youth's time: care and list time are parts of its time in the system
    care_d, list_d, sys_d = col(ep, "care_days"), col(ep, "list_days"), col(ep, "system_days")
    assert np.all((care_d >= 0) & (list_d >= 0))
    assert np.all(care_d + list_d <= sys_d + 1e-6)
    assert np.all(care_d[np.isnan(start)] == 0.0)
    assert np.all(np.isfinite(exit_[drop]) & np.isnan(outcome[drop]))
    at_end = (rt == "waiting_at_end") | (rt == "in_care_at_end")
    assert np.all(np.isnan(exit_[at_end]) & np.isnan(end[at_end]) & np.isnan(outcome[at_end]))
    assert np.all(np.isfinite(start[rt == "in_care_at_end"]))
    # nobody leaves after the end of the run
    assert np.all(exit_[done | drop] <= res.end_day)

    # the youths in care at the end (monthly state) are the in_care_at_end records
    assert int(col(mo, "youths_in_care")[-1]) == int((rt == "in_care_at_end").sum())
    # those on a list or in assessment at the end are among the waiting_at_end records
    waiting_now = int(col(mo, "waiting_list")[-1]) + int(col(mo, "in_assessment")[-1])
    assert waiting_now <= int((rt == "waiting_at_end").sum())


@pytest.mark.parametrize("regime", REGIMES)
def test_conservation_default_seed(regime):
    assert_conservation(simulate(regime=regime, seed=1))


@settings(max_examples=6, **FAST)
@given(seed=SEEDS, regime=st.sampled_from(REGIMES))
def test_conservation_over_seeds(seed, regime):
    assert_conservation(sim.run(small_config(), regime=regime, seed=seed))


# --------------------------------------------------------------------------- 2. no negative waits
def assert_time_order(res) -> None:
    ep = res.episodes
    ref, ass, alloc = col(ep, "referral_time"), col(ep, "assessment_time"), col(ep, "allocation_time")
    start, end, exit_ = col(ep, "care_start"), col(ep, "care_end"), col(ep, "exit_time")
    wait = col(ep, "wait_days")
    started = np.isfinite(start)
    assert np.all(wait[started] >= 0)
    assert np.allclose(wait[started], start[started] - ref[started], rtol=0, atol=1e-9)
    assert np.all(np.isnan(wait[~started]))
    assert np.all(ass >= ref)
    allocated = np.isfinite(alloc)
    assert np.all(alloc[allocated] >= ass[allocated])
    assert np.all(start[started] >= alloc[started])
    assert np.all(np.isfinite(alloc[started])), "care started without an allocation"
    ended = np.isfinite(end)
    assert np.all(end[ended] >= start[ended])
    left = np.isfinite(exit_)
    assert np.all(exit_[left] >= ref[left])
    assert np.all((ref >= 0) & (ref < res.end_day))
    assert np.all(start[started] < res.end_day)


@settings(max_examples=8, **FAST)
@given(seed=SEEDS, regime=st.sampled_from(REGIMES))
def test_no_negative_waits(seed, regime):
    assert_time_order(sim.run(small_config(), regime=regime, seed=seed))


# --------------------------------------------------------------------------- 3. capacity at every event
@settings(max_examples=10, **FAST)
@given(
    seed=SEEDS,
    regime=st.sampled_from(REGIMES),
    mode=st.sampled_from(["grandfather", "transfer"]),
    selection=st.sampled_from([0.0, 1.0]),
    level=st.sampled_from([0.7, 1.2]),
    collaboration=st.booleans(),
)
def test_caseload_never_above_capacity(seed, regime, mode, selection, level, collaboration):
    """``check_invariants`` asserts after every SimPy event that no provider
    (nor the access team) holds more caseload than its capacity, and that the
    waiting and in-care counters agree with the youths on lists and in care."""
    cfg = small_config({
        "regimes.expertise.transition.mode": mode,
        "regimes.expertise.selection_strength": selection,
        "regimes.expertise.budget.level": level,
        "mechanisms.collaboration": collaboration,
    })
    res = sim.run(cfg, regime=regime, seed=seed, check_invariants=True)
    assert len(res.episodes) > 0


@settings(max_examples=4, **FAST)
@given(seed=SEEDS, regime=st.sampled_from(REGIMES), sigma=st.sampled_from([0.5, 1.5]),
       factor=st.sampled_from([1.25, 3.0]))
def test_no_intensity_above_the_units_physical_maximum(seed, regime, sigma, factor):
    """Judgement and assessment error and deterioration never give a youth more
    than 7 days, 14 half days or the stated hours a week (checked at every
    event by ``check_invariants``, on needs and on care in progress)."""
    cfg = small_config({"regimes.expertise.judgement_error_sigma": sigma,
                        "regimes.product.assessment_error_sigma": sigma,
                        "waiting.deterioration_intensity_factor": factor,
                        "waiting.deterioration_mean_days": 60})
    res = sim.run(cfg, regime=regime, seed=seed, check_invariants=True)
    assert col(res.episodes, "deteriorated").sum() > 0


def test_invariant_checking_is_transparent():
    """Stepping with invariant checks gives the same run as without."""
    cfg = small_config()
    for regime in REGIMES:
        a = simulate(regime=regime, seed=3)
        b = sim.run(cfg, regime=regime, seed=3, check_invariants=True)
        assert differing_columns(a.episodes, b.episodes) == []


@pytest.mark.parametrize("seed", [1, 2])
def test_caseload_within_capacity_when_the_switch_lowers_capacity(seed):
    """A study regime with a larger administrative overhead than the status quo
    (a plausible sensitivity case: lump-sum contracts that do not cut
    paperwork) lowers every provider's care capacity at the switch. Caseload
    must still never exceed capacity at any event."""
    cfg = small_config({
        "regimes.expertise.admin.overhead_share": 0.6,   # status quo: 0.34
        "mechanisms.provider_transition": False,
    })
    try:
        sim.run(cfg, regime="expertise", seed=seed, check_invariants=True)
    except InvariantError as exc:
        pytest.fail(f"caseload above capacity after the switch: {exc}")


# --------------------------------------------------------------------------- 4. reproducibility
@pytest.mark.parametrize("regime", REGIMES)
def test_same_seed_same_results(regime):
    cfg = small_config()
    a = sim.run(cfg, regime=regime, seed=11)
    b = sim.run(cfg, regime=regime, seed=11)
    assert a.summary.keys() == b.summary.keys()
    for k in a.summary:
        x, y = a.summary[k], b.summary[k]
        assert x == y or (math.isnan(x) and math.isnan(y)), k
    assert len(a.episodes) == len(b.episodes)
    assert differing_columns(a.episodes, b.episodes) == []
    assert differing_columns(a.monthly, b.monthly) == []
    assert a.events == b.events


@pytest.mark.parametrize("regime", REGIMES)
def test_different_seeds_differ(regime):
    a, b = simulate(regime=regime, seed=1), simulate(regime=regime, seed=2)
    assert a.summary["wait_mean_weeks"] != b.summary["wait_mean_weeks"]
    assert len(a.episodes) != len(b.episodes) or \
        not np.array_equal(col(a.episodes, "referral_time"), col(b.episodes, "referral_time"))


# --------------------------------------------------------------------------- 7. infinite capacity
@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize("seed", [1, 2])
def test_infinite_capacity_gives_zero_waits(regime, seed):
    """With unlimited provider, team and assessment capacity nobody waits for a
    provider: care starts at the moment of allocation. Referral to care start
    then is the (tiny, fixed) assessment time for referrals through the access
    team and zero for the others; nobody drops out."""
    res = simulate(INFINITE, regime=regime, seed=seed)
    ep = res.episodes
    start, alloc, ref = col(ep, "care_start"), col(ep, "allocation_time"), col(ep, "referral_time")
    started = np.isfinite(start)
    assert started.sum() > 1000
    assert np.all(start[started] - alloc[started] == 0.0)
    assert np.all(col(ep, "wait_days")[started] <= 0.0001 + 1e-9)
    rt = col(ep, "record_type")
    # nobody leaves a first wait; a family may leave during a re-indication (a
    # follow-up wait that capacity does not shorten: products, also before the switch)
    drop = rt == "dropped_out"
    assert np.all(started[drop])
    assert np.all(col(ep, "list_days")[drop] < 1e-9)   # never on a provider's list: in a re-indication
    assert not col(ep, "deteriorated")[~started].any()
    # still waiting at the end: only between products (care started) or referred in the last instant
    w = rt == "waiting_at_end"
    assert np.all(started[w] | (ref[w] > res.end_day - 0.001))
    assert res.summary["wait_mean_weeks"] < 0.0001


# --------------------------------------------------------------------------- 8. more capacity
MORE_CAPACITY_SEEDS = (1, 2, 3, 4, 5)


@pytest.mark.parametrize("regime", REGIMES)
def test_more_capacity_never_raises_mean_wait(regime):
    """On common random numbers (same seeds), 1.5x the staff hours gives a mean
    wait (averaged over seeds) no higher than 1x."""
    base = small_config().providers.total_staff_hours_per_week
    more = {"providers.total_staff_hours_per_week": 1.5 * base}
    w1 = [simulate(regime=regime, seed=s).summary["wait_mean_weeks"] for s in MORE_CAPACITY_SEEDS]
    w15 = [simulate(more, regime=regime, seed=s).summary["wait_mean_weeks"] for s in MORE_CAPACITY_SEEDS]
    assert np.mean(w15) <= np.mean(w1), (w1, w15)
    s1 = [simulate(regime=regime, seed=s).summary["share_over_norm"] for s in MORE_CAPACITY_SEEDS]
    s15 = [simulate(more, regime=regime, seed=s).summary["share_over_norm"] for s in MORE_CAPACITY_SEEDS]
    assert np.mean(s15) <= np.mean(s1)


# --------------------------------------------------------------------------- 10. output tables
EPISODE_COLUMNS = {
    # the issue's list
    "youth_id", "episode", "record_type", "municipality", "source", "domain", "severity",
    "referral_time", "care_start", "care_end", "provider", "outcome", "cost_eur",
    # the brief's outputs
    "assessment_time", "allocation_time", "collective", "secondary", "urgent",
    "delivered_hours", "needed_hours", "handovers",
}
ISSUE_SUMMARY_KEYS = {
    "wait_mean_weeks", "wait_median_weeks", "wait_p90_weeks", "share_over_norm", "referrals",
    "youths_in_care_year", "goal_attained_rate", "rereferral_12m_rate", "dropout_rate",
    "care_cost_eur_per_year", "admin_cost_eur_per_year", "admin_share", "cost_per_goal_eur",
    "utilisation", "handovers_per_youth", "contracts", "hhi",
}
MONTHLY_MONEY = ("spending_eur", "billed_eur", "lump_sum_eur", "team_eur", "budget_eur",
                 "admin_eur", "admin_hours")


@pytest.mark.parametrize("regime", REGIMES)
def test_output_tables(regime):
    res = simulate(regime=regime, seed=1)
    assert ISSUE_SUMMARY_KEYS <= set(res.summary)
    assert set(METRICS) <= set(res.summary)
    assert all(isinstance(v, float) for v in res.summary.values())
    assert isinstance(res.events, int) and res.events > 0
    assert res.contract_start_day == small_config().timeline.contract_start_day
    assert res.end_day == small_config().timeline.end_day

    ep = res.episodes
    assert EPISODE_COLUMNS <= set(ep.columns)
    assert len({len(v) for v in ep.columns.values()}) == 1
    df = ep.to_pandas()
    assert list(df.columns) == list(ep.columns) and len(df) == len(ep)
    assert set(col(ep, "severity").tolist()) <= {"mild", "moderate", "severe"}
    cfg = small_config()
    assert set(col(ep, "municipality").tolist()) <= set(cfg.region.municipalities)
    assert set(col(ep, "source").tolist()) <= set(cfg.demand.sources)
    assert set(col(ep, "domain").tolist()) <= set(cfg.demand.domains)
    assert np.all(col(ep, "cost_eur") >= 0)

    mo = res.monthly
    dfm = mo.to_pandas()
    assert len(dfm) == len(mo)
    first, last = col(mo, "start_day"), col(mo, "end_day")
    assert first[0] == 0.0 and last[-1] == pytest.approx(res.end_day)
    assert np.allclose(first[1:], last[:-1])                         # contiguous
    assert np.allclose((last - first)[:-1], DAYS_PER_MONTH)           # one row per month
    assert 0 < (last - first)[-1] <= DAYS_PER_MONTH + 1e-9
    assert len(mo) == math.ceil(res.end_day / DAYS_PER_MONTH - 1e-9)
    assert np.array_equal(col(mo, "month"), np.arange(len(mo)))
    for name in MONTHLY_MONEY:
        assert np.all(col(mo, name) >= -1e-6), name
    for name in ("waiting_list", "youths_in_care", "in_assessment", "referrals"):
        assert np.all(col(mo, name) >= 0), name
    after = first >= res.contract_start_day
    assert set(col(mo, "regime")[after].tolist()) == {regime}
    assert set(col(mo, "regime")[last <= res.contract_start_day].tolist()) == {"product"}


def test_provider_column_names_who_gave_care():
    """``provider``: the provider of the last care segment, ``access_team`` for
    the team's own care, empty when care never started."""
    res = simulate(regime="product", seed=1)
    ep = res.episodes
    started = np.isfinite(col(ep, "care_start"))
    prov = col(ep, "provider")
    team_form = col(ep, "care_form") == "team"
    names = set(res.episodes.columns["provider"].tolist())
    assert (~started).sum() > 0 and (started & team_form).sum() > 0
    assert set(prov[~started].tolist()) == {""}, \
        f"episodes that never started care name provider {set(prov[~started].tolist())}"
    assert set(prov[started & team_form].tolist()) == {"access_team"}, \
        f"team care names provider {set(prov[started & team_form].tolist())}"
    assert "" not in set(prov[started].tolist())
    assert names - {"", "access_team"} <= {f"P{i:03d}" for i in range(1, 61)}


def test_episode_unpacks_latent_fields_in_cases_order():
    """Episode.__init__ unpacks a latent row by position: the order must be cases.FIELDS."""
    from sim.model.cases import FIELDS
    from sim.model.episode import Episode

    ep = Episode(1, 1, 0, 0.0, tuple(range(len(FIELDS))))
    assert [getattr(ep, f) for f in FIELDS] == list(range(len(FIELDS)))
