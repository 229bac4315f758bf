"""sim.model.world: the providers, catalogue, contracts and collectives of one
replication, built from the world stream alone."""
from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.config.schema import provider_name
from sim.model.cases import Catalogue
from sim.model.streams import Streams
from sim.model.world import build_world, form_demand_shares, product_grid

from conftest import ACHTERHOEK


@pytest.fixture(scope="module")
def cfg():
    return sim.load_config(ACHTERHOEK)


@pytest.fixture(scope="module")
def world(cfg):
    return build_world(cfg, Streams(1).world)


def test_default_world_has_221_providers_and_72_products(cfg, world):
    assert world.n == cfg.providers.count == 221
    assert world.names[0] == "P001" and world.names[-1] == "P221" == provider_name(220)
    assert len(world.products) == 72 == 6 * 4 * 3      # domains x billed forms x levels
    assert world.catalogue == Catalogue.of(cfg)


def test_sizes_are_heavy_tailed_and_sum_to_the_regions_staff(cfg, world):
    staff = np.sort(world.staff_hours)[::-1]
    assert staff.sum() == pytest.approx(cfg.providers.total_staff_hours_per_week)
    assert np.all(staff > 0)
    top10 = staff[:10].sum() / staff.sum()
    assert 0.25 < top10 < 0.7                   # a few large providers hold much of the capacity
    assert staff[0] / np.median(staff) > 10
    assert np.mean(staff) > 1.5 * np.median(staff)


def test_expertise_and_care_forms(cfg, world):
    nd, nf = len(world.catalogue.domains), len(world.catalogue.care_forms)
    assert world.proficiency.shape == (world.n, nd) and world.offers_form.shape == (world.n, nf)
    assert np.all((world.proficiency >= 0) & (world.proficiency <= 1))
    assert np.all((world.proficiency > 0).any(axis=1))           # every provider has a primary domain
    billed = [world.catalogue.care_forms.index(f) for f in cfg.products.care_forms]
    assert np.all(world.offers_form[:, billed].any(axis=1))      # and offers a billed form
    for (d, f), cands in world.candidates.items():
        assert len(cands), (d, f)                                 # every need has a provider
        assert np.all(world.offers_form[cands, f]) and np.all(world.proficiency[cands, d] > 0)
    stay = world.catalogue.care_forms.index("with_stay")
    assert np.all(world.staff_hours[world.offers_form[:, stay]] >= cfg.providers.with_stay_min_staff_hours)


def test_capacity_follows_demand_per_care_form(cfg, world):
    """The providers offering a billed form hold 1.5x its share of demand in
    staff hours, unless every provider eligible for it already offers it."""
    need = form_demand_shares(cfg, world.catalogue)
    assert need.sum() == pytest.approx(1.0)
    for name in cfg.products.care_forms:
        f = world.catalogue.care_forms.index(name)
        offered = world.staff_hours[world.offers_form[:, f]].sum() / world.staff_hours.sum()
        eligible = np.ones(world.n, dtype=bool)
        if cfg.care_forms[name].unit == "day":
            eligible = world.staff_hours >= cfg.providers.with_stay_min_staff_hours
        assert offered >= 1.5 * need[f] - 1e-9 or world.offers_form[eligible, f].all(), name


def test_products_follow_the_catalogue(cfg, world):
    assert list(world.products) == product_grid(cfg)
    for i, p in enumerate(world.products):
        assert i in world.product_index[(p.domain, p.care_form)]
        d, f = world.catalogue.domains[p.domain], world.catalogue.care_forms[p.care_form]
        level = cfg.products.levels[p.name.rsplit("/", 1)[1]]
        cf = cfg.care_forms[f]
        assert p.name.startswith(f"{d}/{f}/")
        assert p.units_per_week == pytest.approx(float(cf.need_intensity.ppf(np.array([level.intensity_quantile]))[0]))
        assert p.duration_days == level.duration_days
        assert p.price_per_unit == pytest.approx(cf.price_eur * cfg.demand.domains[d].price_factor)
    for levels in world.product_index.values():   # levels in order of intensity
        units = [world.products[i].units_per_week for i in levels]
        assert units == sorted(units)


def test_contracted_providers_cover_every_need(cfg, world):
    assert world.contracted.sum() == cfg.regimes.expertise.contracted_providers == 60
    for key, cands in world.candidates.items():
        assert world.contracted[cands].any(), key


def test_collectives_partition_contracted_providers(cfg, world):
    spec = cfg.regimes.expertise.collectives
    assert world.collective_names == tuple(f"collective-{i + 1}" for i in range(spec.auto_count))
    members = world.collective >= 0
    assert np.all(world.contracted[members])                     # only contracted providers
    assert members.sum() == round(spec.auto_share * world.contracted.sum())
    sizes = np.bincount(world.collective[members], minlength=spec.auto_count)
    assert len(sizes) == spec.auto_count and sizes.max() - sizes.min() <= 1   # dealt round-robin
    assert np.all(world.collective[~members] == -1)


def test_explicit_collectives_are_contracted_and_come_first():
    cfg = sim.load_config(ACHTERHOEK, overrides={
        "regimes.expertise.collectives.explicit": [{"name": "east", "members": ["P005", "P200"]}]})
    w = build_world(cfg, Streams(1).world)
    assert w.collective_names[0] == "east"
    assert w.contracted[4] and w.contracted[199]
    assert w.collective[4] == w.collective[199] == 0
    assert np.flatnonzero(w.collective == 0).tolist() == [4, 199]


def test_same_seed_same_world_other_seed_other_world(cfg, world):
    again = build_world(cfg, Streams(1).world)
    for field in ("staff_hours", "home", "proficiency", "offers_form", "contracted", "collective"):
        assert np.array_equal(getattr(world, field), getattr(again, field)), field
    assert world.products == again.products
    other = build_world(cfg, Streams(2).world)
    assert not np.array_equal(world.staff_hours, other.staff_hours)
    assert not np.array_equal(world.contracted, other.contracted)


def test_the_world_depends_on_the_world_stream_only(cfg, world):
    s = Streams(1)
    s.rereferrals.random(1000)     # other streams used first change nothing
    s.choices.gumbel(size=50)
    assert np.array_equal(build_world(cfg, s.world).staff_hours, world.staff_hours)
