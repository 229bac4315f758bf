"""sim.regimes.expertise: a lump sum instead of billing per unit, routing to
proficient providers and their collectives' pooled lists, care dosed by need,
and the budget ceiling's admission limit with its safety valve."""
from __future__ import annotations

import numpy as np
import pytest

from sim.model.waiting_list import REGULAR, URGENT, URGENT_HANDOVER
from sim.regimes import ExpertiseRegime
from sim.run import build_model
from sim.units import DAYS_PER_YEAR

from conftest import NEUTRAL, col, small_config
from test_regime_product import episode


def switched(overrides=None):
    """A model (not run) in which the expertise regime has just taken over at day 0."""
    m = build_model(small_config({**NEUTRAL, **(overrides or {})}), "expertise", seed=1)
    m.regime = ExpertiseRegime(m)
    m.regime.activate()
    return m


@pytest.fixture(scope="module")
def run():
    m = build_model(small_config(NEUTRAL), "expertise", seed=1)
    m.run()
    return m, m.monthly.table(m.cfg, m.t_contract_start)


def test_the_regime_takes_over_at_the_contract_start(run):
    m, mo = run
    assert isinstance(m.regime, ExpertiseRegime)
    after = col(mo, "end_day") > m.t_contract_start     # a month's regime: the one at its end
    assert set(col(mo, "regime")[after]) == {"expertise"} and set(col(mo, "regime")[~after]) == {"product"}


def test_contracted_providers_are_paid_a_lump_sum_not_per_unit(run):
    m, mo = run
    for p in m.providers:
        assert p.open == bool(m.world.contracted[p.idx])
        if p.open:
            assert not p.billed_per_unit
    b = m.cfg.regimes.expertise.budget
    # the basis: billed in the year before the contract start, provider by provider
    baseline = m.at_contract_start["totals"]["billed"] - m.billed_a_year_before
    own = m.baseline_by_provider()
    assert own.sum() == pytest.approx(baseline, rel=1e-9)
    assert m.regime.yearly_payment() == m.regime.budget_total == pytest.approx(b.level * baseline, rel=1e-9)
    assert baseline > 0
    for p in m.providers:
        if p.open:   # its own baseline, plus the population part and budget that followed staff
            assert p.budget_year >= b.level * (1 - b.population_share) * own[p.idx] * (1 - 1e-9)
    # money is conserved: lump sums, population part and the closing providers' shares make the budget
    assert sum(p.budget_year for p in m.providers) + m.regime.budget_in_transit == pytest.approx(
        m.regime.budget_total, rel=1e-9)
    before = col(mo, "end_day") <= m.t_contract_start
    assert np.all(col(mo, "lump_sum_eur")[before] == 0.0)
    # what was paid as lump sums is what the contracted providers' budgets accrued (valve included)
    paid = m.at_end["totals"]["lump"] - m.at_contract_start["totals"]["lump"]
    assert paid == pytest.approx(sum(p.budget_accrued for p in m.providers if p.open), rel=1e-9)
    assert m.lump_rate == pytest.approx(sum(p.budget_rate for p in m.providers if p.open), rel=1e-12)


@pytest.mark.parametrize("billing", ["netted", "on_top"])
def test_without_the_safety_valve_the_budget_is_paid_and_no_more(billing):
    """on_top: the whole budget is paid as lump sums and grandfathered care on top;
    netted: the closing providers' shares pay their grandfathered care, so lump
    sums plus those shares are the budget."""
    m = build_model(small_config({"regimes.expertise.budget.safety_valve.enabled": False,
                                  "regimes.expertise.transition.grandfathered_billing": billing}),
                    "expertise", seed=1)
    m.run()
    mo = m.monthly.table(m.cfg, m.t_contract_start)
    after = col(mo, "start_day") >= m.t_contract_start
    assert m.regime.valve_uses == 0
    lump, budget = col(mo, "lump_sum_eur")[after], col(mo, "budget_eur")[after]
    closing = [p for p in m.providers if not p.open]
    if billing == "on_top":
        assert np.allclose(lump, budget, rtol=1e-9)
        assert all(p.budget_year == 0.0 for p in closing)
    else:
        assert np.all(lump <= budget * (1 + 1e-9)) and lump.sum() < budget.sum()
        assert sum(p.budget_year for p in m.providers) + m.regime.budget_in_transit == pytest.approx(
        m.regime.budget_total, rel=1e-9)


def test_closed_providers_keep_their_youths_and_bill_them():
    m = switched()
    closed = [p for p in m.providers if not m.world.contracted[p.idx]]
    assert closed and all(not p.open and p.billed_per_unit for p in closed)
    assert not m.open_mask[[p.idx for p in closed]].any()


def test_routing_prefers_the_most_proficient_provider():
    m = switched({"mechanisms.collaboration": False, "regimes.expertise.routing.wait": 0.0,
                  "regimes.expertise.routing.home": 0.0, "regimes.expertise.routing.secondary_weight": 0.0})
    ambulant = m.catalogue.care_forms.index("ambulant")
    for d in range(len(m.catalogue.domains)):
        ep = episode(m, domain=d, care_form=ambulant)
        cands = m.open_candidates(d, ambulant)
        best = int(cands[np.argmax(m.world.proficiency[cands, d])])
        assert m.regime.match(ep) is m.providers[best].own_list


def test_routing_weighs_the_backlog():
    m = switched({"mechanisms.collaboration": False})
    ambulant = m.catalogue.care_forms.index("ambulant")
    ep = episode(m, domain=0, care_form=ambulant)
    first = m.regime.match(ep).servers[0].idx
    m.backlog[first] = 1e4
    assert m.regime.match(ep).servers[0].idx != first


def test_collectives_pool_lists_of_proficient_members():
    m = switched()
    thr = m.cfg.regimes.expertise.routing.proficiency_threshold
    assert m.collectives
    for coll in m.collectives.values():
        for (d, f), wl in coll.lists.items():
            assert wl.servers and set(wl.servers) <= set(coll.members)
            for p in wl.servers:
                assert m.world.proficiency[p.idx, d] >= thr and m.world.offers_form[p.idx, f]
                assert wl in p.lists_served
            assert wl.capacity == pytest.approx(sum(p.capacity for p in wl.servers))


def test_a_collective_members_youth_waits_on_the_pooled_list():
    m = switched({"regimes.expertise.routing.wait": 0.0, "regimes.expertise.routing.home": 0.0,
                  "regimes.expertise.routing.secondary_weight": 0.0})
    hits = 0
    for coll in m.collectives.values():
        for (d, f), wl in coll.lists.items():
            cands = m.open_candidates(d, f)
            best = m.providers[int(cands[np.argmax(m.world.proficiency[cands, d])])]
            got = m.regime.match(episode(m, domain=d, care_form=f))
            if best in wl.servers:
                assert got is wl
                hits += 1
            else:
                assert got is not wl
    assert hits > 0


def test_dose_follows_the_need_up_to_the_judgement_error():
    m = switched({"regimes.expertise.judgement_error_sigma": 0.0})
    ep = episode(m, need_intensity=2.5, need_duration=120.0)
    assert m.regime.dose(ep, m.providers[0]) == (2.5, 120.0)
    m = switched({"regimes.expertise.judgement_error_sigma": 0.2})
    low = m.regime.dose(episode(m, need_intensity=2.5, z_judge_i=-1.0), m.providers[0])
    high = m.regime.dose(episode(m, need_intensity=2.5, z_judge_i=1.0), m.providers[0])
    assert low[0] < 2.5 < high[0]
    assert low[1] > high[1] * 0.999      # under-dosed care lasts longer


def test_care_stops_when_the_need_is_met_and_a_short_plan_continues():
    """One stopping rule: an over-estimated duration ends when the need is met;
    an under-estimate ends the segment early and care continues at the same
    provider without a new wait."""
    m = switched({"regimes.expertise.judgement_error_sigma": 0.3})
    p = contracted(m)
    over = episode(m, need_intensity=2.0, need_duration=100.0, z_judge_d=2.0)
    assert m.regime.dose(over, p) == (2.0, 100.0)
    under = episode(m, need_intensity=2.0, need_duration=100.0, z_judge_d=-2.0)
    assert m.regime.dose(under, p)[1] == pytest.approx(100.0 * np.exp(-0.6))
    under.progress = 0.5
    assert m.regime.after_segment(under, p).stay
    under.progress = 1.0
    assert m.regime.after_segment(under, p) is None


def test_intensity_never_exceeds_the_units_physical_maximum():
    m = switched({"regimes.expertise.judgement_error_sigma": 0.5})
    stay = m.catalogue.care_forms.index("with_stay")
    units, _ = m.regime.dose(episode(m, care_form=stay, need_intensity=7.0, z_judge_i=3.0), m.providers[0])
    assert units == 7.0


def contracted(m):
    return next(p for p in m.providers if p.open)


def test_admission_limit_under_the_budget_ceiling():
    m = switched({"regimes.expertise.budget.safety_valve.enabled": False})
    p = contracted(m)
    share = m.cfg.regimes.expertise.budget.ceiling_capacity_share
    p.budget_rate, p.budget_accrued = 1000.0 / DAYS_PER_YEAR, p.budget_at_year_start + 1000.0
    assert m.regime.admission_limit(p) == p.capacity and not p.budget_tight
    p.catalogue_spend = p.catalogue_spend_at_year_start + 1e6    # far past the budget accrued so far
    assert m.regime.admission_limit(p) == pytest.approx(p.capacity * share) and p.budget_tight
    m.regime.on_contract_year(1)                                 # a new contract year
    assert not p.budget_tight and m.regime.admission_limit(p) == p.capacity
    off = switched({"mechanisms.budget_ceiling": False})
    q = contracted(off)
    q.budget_rate, q.catalogue_spend = 1000.0 / DAYS_PER_YEAR, 1e6
    assert off.regime.admission_limit(q) == q.capacity


def _tight(m, p):
    p.budget_rate = 1000.0 / DAYS_PER_YEAR
    p.catalogue_spend = p.catalogue_spend_at_year_start + 1e6


def test_the_safety_valve_adds_budget_once_a_year_when_the_list_is_long():
    m = switched()
    valve = m.cfg.regimes.expertise.budget.safety_valve
    p = contracted(m)
    _tight(m, p)
    y = episode(m, est_work=p.capacity * valve.queue_weeks_threshold * 2)
    p.own_list.push(y, REGULAR, 0.0)
    assert p.own_list.backlog >= valve.queue_weeks_threshold
    lump, accrued, rate = m.totals["lump"], p.budget_accrued, p.budget_rate
    assert m.regime.admission_limit(p) == p.capacity                  # the valve opens
    assert p.valve_used and m.regime.valve_uses == 1
    assert p.budget_accrued - accrued == pytest.approx(1000.0 * valve.extra_share)
    assert p.budget_rate == rate                                      # once, not a higher budget from now on
    assert m.totals["lump"] - lump == pytest.approx(1000.0 * valve.extra_share)
    assert m.regime.admission_limit(p) < p.capacity                   # once a year only
    assert m.regime.valve_uses == 1


def test_the_safety_valve_sees_the_pooled_lists_a_member_serves():
    """A collective member's youths wait on pooled lists: a long pooled list opens
    the valve although the member's own list is empty."""
    m = switched()
    valve = m.cfg.regimes.expertise.budget.safety_valve
    p = next(q for q in m.providers if q.open and len(q.lists_served) > 1)
    _tight(m, p)
    pooled = p.lists_served[1]
    pooled.push(episode(m, est_work=pooled.capacity * valve.queue_weeks_threshold * 2), REGULAR, 0.0)
    assert p.own_list.size == 0 and pooled.backlog >= valve.queue_weeks_threshold
    assert m.regime.admission_limit(p) == p.capacity and p.valve_used


def test_a_tight_provider_may_pass_over_complex_youths():
    m = switched({"regimes.expertise.selection_strength": 1.0})
    assert m.regime.may_skip_head
    p = contracted(m)
    wl = p.own_list
    hard = [episode(m, severity=2) for _ in range(3)]
    easy = episode(m, severity=0)
    for i, y in enumerate(hard + [easy]):
        wl.push(y, URGENT, float(i))
    assert m.regime.pick(wl, p).episode is hard[0]      # not tight: the head
    p.budget_tight = True
    assert m.regime.pick(wl, p).episode is easy          # tight: the first youth not complex


def test_a_need_shift_stays_with_a_proficient_provider_without_a_new_wait():
    m = switched()
    thr = m.cfg.regimes.expertise.routing.proficiency_threshold
    p = contracted(m)
    d = int(np.argmax(m.world.proficiency[p.idx]))
    assert m.world.proficiency[p.idx, d] >= thr
    fu = m.regime.on_need_shift(episode(m, domain=d), p)
    assert (fu.target, fu.priority, fu.reindicate, fu.delay) == (p.own_list, URGENT_HANDOVER, False, 0.0)


def test_consultation_in_a_collective_uses_the_best_member():
    m = switched()
    coll = next(iter(m.collectives.values()))
    p = coll.members[0]
    for sec in range(len(m.catalogue.domains)):
        ep = episode(m, secondary=sec)
        best = max(float(m.world.proficiency[q.idx, sec]) for q in coll.members)
        assert m.regime.secondary_proficiency(ep, p) == best
