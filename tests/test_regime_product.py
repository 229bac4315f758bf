"""sim.regimes.product: indication picks the product nearest the need, care is
dosed by the product, every unit is billed, follow-ups mean a new indication
and a new wait, families choose their provider."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model.cases import FIELDS
from sim.model.episode import Episode
from sim.model.policy import weekly_declaration_hours
from sim.model.waiting_list import REGULAR
from sim.regimes import ProductRegime
from sim.run import build_model

from conftest import NEUTRAL, col, simulate, small_config


def model(overrides=None, regime="product"):
    """The small world's model without payment behaviour (this file checks the product rules)."""
    return build_model(small_config({**NEUTRAL, **(overrides or {})}), regime, seed=1)


def episode(m, **attrs) -> Episode:
    """A referral with neutral latent attributes, then ``attrs``."""
    row = dict.fromkeys(FIELDS, 0)
    row.update(secondary=-1, urgent=False, need_intensity=2.0, need_duration=100.0, u_outcome=0.5,
               e_deteriorate=1.0, e_patience=1.0, u_rereferral=0.9, u_rereferral_delay=0.5,
               u_escalate=0.5, u_shift=0.9, u_shift_at=0.5)
    row.update({k: v for k, v in attrs.items() if k in row})
    ep = Episode(m._new_uid(), 1, 0, 0.0, tuple(row[f] for f in FIELDS))
    ep.target_domain = ep.domain
    for k, v in attrs.items():
        if k not in row:
            setattr(ep, k, v)
    return ep


def test_the_status_quo_is_the_product_regime_from_day_0():
    m = model()
    assert isinstance(m.regime, ProductRegime) and m.regime.name == "product"


def test_indication_picks_the_product_nearest_the_need_in_intensity_and_duration():
    m = model({"regimes.product.assessment_error_sigma": 0.0})
    r, world = m.regime, m.world
    ambulant = m.catalogue.care_forms.index("ambulant")
    rng = np.random.default_rng(0)
    for _ in range(200):
        d = int(rng.integers(len(m.catalogue.domains)))
        need = float(np.exp(rng.uniform(-2, 3)))
        days = float(np.exp(rng.uniform(np.log(14), np.log(1500))))
        ep = episode(m, domain=d, care_form=ambulant, need_intensity=need, need_duration=days,
                     z_assess=float(rng.normal()), z_assess_d=float(rng.normal()))
        r.indicate(ep)
        prod = world.products[ep.product]
        assert (prod.domain, prod.care_form) == (d, ambulant)     # a product for this need

        def gap(i):
            q = world.products[i]
            return (math.log(q.units_per_week / need)) ** 2 + (math.log(q.duration_days / days)) ** 2
        assert gap(ep.product) == min(gap(i) for i in world.product_index[(d, ambulant)])


def test_products_of_a_fixed_intensity_are_told_apart_by_duration():
    """with_stay needs 7 days a week whatever the level: every level's product is
    indicated for the need duration nearest its own (the old tie-break always
    gave the 91-day product)."""
    m = model({"regimes.product.assessment_error_sigma": 0.0})
    stay = m.catalogue.care_forms.index("with_stay")
    d = next(d for d in range(len(m.catalogue.domains)) if (d, stay) in m.world.product_index)
    prods = m.world.product_index[(d, stay)]
    assert len({m.world.products[i].units_per_week for i in prods}) == 1
    for i in prods:
        target = m.world.products[i].duration_days
        ep = episode(m, domain=d, care_form=stay, need_intensity=7.0, need_duration=target * 1.1)
        m.regime.indicate(ep)
        assert ep.product == i


def test_ties_go_to_the_larger_volume():
    """A need exactly between two products (on the log scales) gets the larger one."""
    m = model({"regimes.product.assessment_error_sigma": 0.0})
    stay = m.catalogue.care_forms.index("with_stay")
    d = next(d for d in range(len(m.catalogue.domains)) if (d, stay) in m.world.product_index)
    prods = sorted(m.world.product_index[(d, stay)], key=lambda i: m.world.products[i].duration_days)
    a, b = (m.world.products[i].duration_days for i in prods[:2])
    ep = episode(m, domain=d, care_form=stay, need_intensity=7.0, need_duration=math.sqrt(a * b))
    m.regime.indicate(ep)
    assert ep.product == prods[1]


def test_assessment_error_moves_the_indication_up_with_z():
    m = model({"regimes.product.assessment_error_sigma": 0.35})
    ambulant = m.catalogue.care_forms.index("ambulant")
    units = []
    for z in (-4.0, 0.0, 4.0):
        ep = episode(m, care_form=ambulant, need_intensity=2.0, z_assess=z)
        m.regime.indicate(ep)
        units.append(m.world.products[ep.product].units_per_week)
    assert units == sorted(units) and units[0] < units[-1]


def test_no_product_for_a_need_outside_the_catalogue():
    m = model()
    team = m.catalogue.care_forms.index("team")          # the access team's own care: not a product
    ep = episode(m, care_form=team)
    m.regime.indicate(ep)
    assert ep.product == -1
    assert m.regime.dose(ep, m.providers[0]) == (ep.need_intensity, m.remaining_need_days(ep))


def test_dose_is_the_products_intensity_and_at_most_its_duration():
    m = model()
    ambulant = m.catalogue.care_forms.index("ambulant")
    ep = episode(m, care_form=ambulant, need_intensity=1.5, need_duration=400.0)
    m.regime.indicate(ep)
    prod = m.world.products[ep.product]
    units, days = m.regime.dose(ep, m.providers[0])
    assert units == prod.units_per_week
    met = ep.need_duration / min(1.0, prod.units_per_week / ep.need_intensity)
    assert days == min(prod.duration_days, met)
    ep.progress = 0.99                                   # nearly met: care stops early
    assert m.regime.dose(ep, m.providers[0])[1] < prod.duration_days


def test_without_product_fit_care_follows_the_need():
    m = model({"mechanisms.product_fit": False})
    ep = episode(m, care_form=m.catalogue.care_forms.index("ambulant"), need_intensity=1.7)
    m.regime.indicate(ep)
    assert ep.product >= 0
    assert m.regime.dose(ep, m.providers[0]) == (1.7, ep.need_duration)


def test_every_provider_bills_per_unit_with_the_admin_terms():
    m = model()
    admin = m.cfg.regimes.product.admin
    for p in m.providers:
        assert p.billed_per_unit and p.open
        assert p.overhead_share == admin.overhead_share
        assert p.declaration_load == weekly_declaration_hours(admin.hours_per_declaration)
        assert p.capacity == pytest.approx(p.staff * (1 - admin.overhead_share))
    assert weekly_declaration_hours(0.5) == 0.5 * 12.0 / 52.0


def test_all_care_is_paid_per_unit_delivered():
    """Over a whole run the money paid per unit (and to the access team) is what
    the episodes cost at their units' prices; nothing is paid as a lump sum."""
    res = simulate(regime="product")
    mo, ep = res.monthly, res.episodes
    assert np.all(col(mo, "lump_sum_eur") == 0.0)
    assert np.all(col(mo, "billed_eur") > 0)
    paid = col(mo, "billed_eur").sum() + col(mo, "team_eur").sum()
    assert paid == pytest.approx(col(ep, "cost_eur").sum(), rel=1e-9)
    assert paid == pytest.approx(col(mo, "spending_eur").sum(), rel=1e-12)


def test_follow_up_is_a_new_indication_and_a_new_wait():
    m = model({"regimes.product.reindication_probability": 1.0})
    p = m.providers[0]
    ep = episode(m, segments=1, progress=0.5)
    fu = m.regime.after_segment(ep, p)
    assert fu is not None and fu.reindicate and fu.priority == REGULAR and fu.delay > 0
    assert m.regime.after_segment(episode(m, segments=1, progress=1.0), p) is None       # need met
    cap = m.cfg.regimes.product.max_products_per_episode
    assert m.regime.after_segment(episode(m, segments=cap, progress=0.5), p) is None     # out of products
    shift = m.regime.on_need_shift(ep, p)
    assert shift.reindicate and shift.priority == REGULAR and shift.target is None
    never = model({"regimes.product.reindication_probability": 0.0})
    assert never.regime.after_segment(episode(never, segments=1, progress=0.5), p) is None


def test_a_follow_up_stays_with_its_provider_when_the_family_wants_to():
    m = model({"regimes.product.stay_with_provider": 1.0})
    ambulant = m.catalogue.care_forms.index("ambulant")
    ep = episode(m, care_form=ambulant)
    cands = m.open_candidates(ep.target_domain, ambulant)
    prev = m.providers[int(cands[-1])]
    ep.follow_up, ep.provider = True, prev.idx
    assert m.regime.match(ep) is prev.own_list


def test_families_choose_among_candidates_and_avoid_long_backlogs():
    m = model()
    ambulant = m.catalogue.care_forms.index("ambulant")
    ep = episode(m, care_form=ambulant)
    cands = m.open_candidates(ep.target_domain, ambulant)
    assert len(cands) > 2
    chosen = {m.regime.match(ep).servers[0].idx for _ in range(300)}
    assert chosen <= set(cands.tolist()) and len(chosen) > 1    # a choice, with noise
    free = int(cands[len(cands) // 2])
    m.backlog[cands] = 1e4                                      # 10,000 weeks everywhere but one
    m.backlog[free] = 0.0
    assert {m.regime.match(ep).servers[0].idx for _ in range(50)} == {free}


def test_every_product_of_the_catalogue_is_indicated_in_a_default_run():
    """On the default configuration (seed 1) every one of the 72 products is
    indicated at least once: none is shadowed by another with the same
    intensity (the old tie-break never indicated 12 of them)."""
    from sim.config import load_config
    from conftest import ACHTERHOEK
    m = build_model(load_config(ACHTERHOEK), "product", seed=1)
    m.run()
    counts = m.regime.indicated
    assert len(counts) == len(m.world.products) == 72
    never = [m.world.products[i].name for i, c in enumerate(counts) if c == 0]
    assert never == []
