"""Provider behaviour under each payment (``behaviour``) and the collaboration
ramp: each behaviour moves what it should in the direction the literature
says, and nothing when its strength is 0."""
from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import BEHAVIOUR_OFF, col, simulate, small_config

import sim
from sim.model.behaviour import PaymentBehaviour
from sim.run import build_model
from sim.regimes.expertise import ExpertiseRegime
from sim.units import DAYS_PER_MONTH

OFF = BEHAVIOUR_OFF


def _provider(billed: bool, tight: bool = False, backlog: float = 0.0, idx: int = 0):
    wl = SimpleNamespace(backlog=backlog)
    return SimpleNamespace(idx=idx, billed_per_unit=billed, budget_tight=tight, lists_served=[wl])


def _completed(res):
    ep = res.episodes
    done = col(ep, "record_type") == "completed"
    return ep, done


# ----------------------------------------------------------------- the rule itself
def test_zero_strengths_give_one_rule_for_every_payment():
    b = PaymentBehaviour(small_config(OFF))
    for p in (_provider(True), _provider(False), _provider(False, tight=True, backlog=99.0),
              _provider(False, idx=-1)):
        assert b.target(p) == 1.0 and b.intensity(p) == 1.0


def test_strengths_act_by_payment_and_pressure():
    cfg = small_config({"behaviour.per_unit.extension": 0.2, "behaviour.per_unit.heavier_indication": 0.1,
                        "behaviour.lump_sum.under_provision": 0.3,
                        "behaviour.lump_sum.pressure_backlog_weeks": 20})
    b = PaymentBehaviour(cfg)
    assert b.target(_provider(True)) == pytest.approx(1.2)            # per unit: more care
    assert b.intensity(_provider(True)) == pytest.approx(1.1)
    assert b.target(_provider(False)) == 1.0                         # lump sum, no pressure
    assert b.target(_provider(False, backlog=10.0)) == pytest.approx(1 - 0.3 * 0.5)
    assert b.target(_provider(False, tight=True)) == pytest.approx(0.7)    # budget-tight: full pressure
    # less care, half of it lighter and half shorter: intensity x sqrt(0.7), so duration x sqrt(0.7) too
    assert b.intensity(_provider(False, backlog=40.0)) == pytest.approx(math.sqrt(0.7))
    assert b.target(_provider(True, idx=-1)) == 1.0                  # the access team: no incentive


# ----------------------------------------------------------------- per unit
def test_extension_delivers_more_care_per_youth_in_the_status_quo():
    base = simulate(OFF, "product", 3)
    ext = simulate({**OFF, "behaviour.per_unit.extension": 0.3}, "product", 3)
    (e0, d0), (e1, d1) = _completed(base), _completed(ext)
    ratio0 = col(e0, "delivered_hours")[d0] / col(e0, "needed_hours")[d0]
    ratio1 = col(e1, "delivered_hours")[d1] / col(e1, "needed_hours")[d1]
    assert ratio1.mean() > ratio0.mean() * 1.05
    # none of it goes beyond the need as judged without the behaviour (the dose column is of the need)
    judged = 1.0 / (1.0 + small_config(OFF).demand.need_beyond_judged)
    assert col(e0, "dose")[d0].max() <= judged + 1e-6
    assert col(e1, "dose")[d1].max() > judged + 1e-3


def test_heavier_indication_indicates_heavier_products():
    def indicated_units(strength):
        cfg = small_config({**OFF, "behaviour.per_unit.heavier_indication": strength})
        m = build_model(cfg, "product", 5)
        m.run()
        prods = m.world.products
        n = np.array(m.regime.indicated, float)
        return float((n * np.array([p.units_per_week for p in prods])).sum() / n.sum())
    assert indicated_units(0.3) > indicated_units(0.0) * 1.02      # discrete levels: some move up one


# ----------------------------------------------------------------- lump sum
def test_under_provision_gives_less_care_under_pressure():
    # tight capacity: long lists, so contracted providers feel the pressure
    tight = {**OFF, "providers.total_staff_hours_per_week": 4000}
    base = simulate(tight, "expertise", 7)
    under = simulate({**tight, "behaviour.lump_sum.under_provision": 0.3}, "expertise", 7)
    s = base.contract_start_day
    (e0, d0), (e1, d1) = _completed(base), _completed(under)
    new0 = d0 & (col(e0, "referral_time") >= s)
    new1 = d1 & (col(e1, "referral_time") >= s)
    assert col(e1, "dose")[new1].mean() < col(e0, "dose")[new0].mean() - 0.01
    # lighter and shorter: fewer care days and fewer hours a care week for the same youths
    same = np.intersect1d(col(e0, "youth_id")[new0 & (col(e0, "episode") == 0)],
                          col(e1, "youth_id")[new1 & (col(e1, "episode") == 0)])
    def per_youth(ep, done, name):
        sel = done & (col(ep, "episode") == 0) & np.isin(col(ep, "youth_id"), same)
        order = np.argsort(col(ep, "youth_id")[sel])
        return col(ep, name)[sel][order]
    days0, days1 = per_youth(e0, new0, "care_days"), per_youth(e1, new1, "care_days")
    hours0, hours1 = per_youth(e0, new0, "delivered_hours"), per_youth(e1, new1, "delivered_hours")
    assert len(same) > 50 and days1.mean() < days0.mean() and (hours1 / days1).mean() < (hours0 / days0).mean()
    # the status quo (per unit) is untouched by a lump-sum behaviour
    sq0 = simulate(tight, "product", 7)
    sq1 = simulate({**tight, "behaviour.lump_sum.under_provision": 0.3}, "product", 7)
    assert sq0.summary == sq1.summary


def test_without_under_provision_lump_sum_care_meets_the_judged_need():
    res = simulate(OFF, "expertise", 7)
    ep, done = _completed(res)
    new = done & (col(ep, "referral_time") >= res.contract_start_day) & ~col(ep, "need_shift")
    judged = 1.0 / (1.0 + small_config(OFF).demand.need_beyond_judged)
    # care stops with less than a day left (the shortest need is 14 days)
    assert col(ep, "dose")[new].min() >= judged * (1 - 1 / 14) - 1e-6


def test_other_funder_moves_only_eligible_youths_from_lump_sum_providers():
    over = {**OFF, "behaviour.lump_sum.other_funder": 1.0, "behaviour.lump_sum.other_funder_min_need_days": 365}
    sq = simulate(over, "product", 2)
    ex = simulate(over, "expertise", 2)
    assert not np.any(col(sq.episodes, "record_type") == "other_funder")   # nobody paid per unit moves anyone
    ep = ex.episodes
    moved = col(ep, "record_type") == "other_funder"
    assert moved.sum() > 0
    assert np.all(col(ep, "severity_at_start")[moved] == "severe")     # severity when it left (after any deterioration)
    assert np.all(np.isnan(col(ep, "care_start")[moved]))               # before any youth care
    assert np.all(col(ep, "exit_time")[moved] >= ex.contract_start_day)
    assert np.all(col(ep, "needed_hours")[moved] > 0)
    assert ex.summary["other_funder_rate"] > 0
    assert simulate(OFF, "expertise", 2).summary["other_funder_rate"] == 0.0
    # every youth is still counted: the moved are a competing event of the time to care
    from sim.model.metrics import OTHER_FUNDER, time_to_care, time_to_care_curve
    _, event = time_to_care(ep)
    assert np.all(event[moved] == OTHER_FUNDER)
    curve = time_to_care_curve(ep, ex.contract_start_day, ex.end_day, [0, 14, 52, 104])
    assert curve["cif_other_funder"][-1] > 0
    np.testing.assert_allclose(curve["cif_care"] + curve["cif_dropout"] + curve["cif_other_funder"]
                               + curve["still_waiting"], 1.0)
    # the cost it shifts out of youth care is counted beside care cost: its care as judged at catalogue prices
    assert np.all(col(ep, "shifted_cost_eur")[moved] > 0) and np.all(col(ep, "shifted_cost_eur")[~moved] == 0)
    window = moved & (col(ep, "exit_time") < ex.end_day)
    years = (ex.end_day - ex.contract_start_day) / 365.25
    assert ex.summary["other_funder_cost_eur_per_year"] == pytest.approx(
        col(ep, "shifted_cost_eur")[window].sum() / years, rel=1e-9)
    assert simulate(OFF, "expertise", 2).summary["other_funder_cost_eur_per_year"] == 0.0


# ----------------------------------------------------------------- the collaboration ramp
def _maturity(award, months, now_months, start="2022-07-01"):
    cfg = small_config({"regimes.expertise.collaboration_ramp.award": award,
                        "regimes.expertise.collaboration_ramp.months_to_mature": months,
                        "timeline.contract_start": start})
    reg = ExpertiseRegime(build_model(cfg, "expertise", 1))
    return reg.maturity(at=cfg.timeline.contract_start_day + now_months * DAYS_PER_MONTH)


def test_maturity_grows_with_preparation_and_contract_time():
    assert _maturity(None, 0, 0) == 1.0                       # no ramp: mature at once
    prep = (dt.date(2022, 7, 1) - dt.date(2022, 3, 14)).days / DAYS_PER_MONTH
    assert _maturity("2022-03-14", 12, 0) == pytest.approx(1 - math.exp(-prep / 12))
    assert _maturity("2022-03-14", 12, 12) == pytest.approx(1 - math.exp(-(prep + 12) / 12))
    assert _maturity("2021-07-01", 12, 0) > _maturity("2022-03-14", 12, 0)   # longer preparation
    assert _maturity("2023-01-01", 12, 0) == 0.0              # awarded after the start: none


def test_staff_transfer_ramps_up_and_conserves_staff():
    slow = {"regimes.expertise.collaboration_ramp.months_to_mature": 24,
            "regimes.expertise.collaboration_ramp.award": "2022-06-01"}
    res = simulate(slow, "expertise", 4)
    mo = res.monthly
    after = col(mo, "regime") == "expertise"
    transit = col(mo, "staff_in_transit_hours_per_week")
    assert transit[after].max() > 0
    total = col(mo, "staff_hours_per_week") + col(mo, "staff_left_hours_per_week") + transit
    assert np.allclose(total, total[0], rtol=1e-9)
    # money too: the budget the staff in transit carried waits with them
    m = build_model(small_config(slow), "expertise", 4)
    m.run()
    assert m.regime.budget_in_transit > 0
    assert sum(p.budget_year for p in m.providers) + m.regime.budget_in_transit == pytest.approx(
        m.regime.budget_total, rel=1e-9)
    fast = simulate({"regimes.expertise.collaboration_ramp.months_to_mature": 0}, "expertise", 4)
    assert np.all(col(fast.monthly, "staff_in_transit_hours_per_week") <= 1e-9)
