"""The world of one replication: providers, product catalogue, contracts.

Built from the ``world`` stream only, so it is identical in both regimes for the
same seed: the same providers with the same sizes and expertise, the same
catalogue, and the same ~60 providers the expertise regime would contract.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cases import Catalogue
from ..config.schema import Config, provider_index, provider_name


@dataclass(frozen=True)
class Product:
    """A catalogue product: domain x care form x level, fixed intensity, duration and price."""

    name: str
    domain: int
    care_form: int
    units_per_week: float
    duration_days: float
    price_per_unit: float


@dataclass(frozen=True)
class World:
    """Providers (size, home, expertise, care forms), the product catalogue and
    the expertise regime's contracts and collectives, indexed by provider."""

    catalogue: Catalogue
    names: tuple[str, ...]
    staff_hours: np.ndarray          # per provider, staff hours per week
    home: np.ndarray                 # home municipality index
    proficiency: np.ndarray          # (providers, domains), 0 where no expertise
    offers_form: np.ndarray          # (providers, care forms) bool
    products: tuple[Product, ...]
    product_index: dict              # (domain, form) -> list of product indices (by level)
    candidates: dict                 # (domain, form) -> provider indices offering it
    contracted: np.ndarray           # bool, contracted by the expertise regime
    collective: np.ndarray           # collective index per provider, -1 when independent
    collective_names: tuple[str, ...]

    @property
    def n(self) -> int:
        return len(self.names)


def product_grid(cfg: Config) -> list[Product]:
    """The product catalogue: every domain x billed care form x level, minus
    exclusions, plus custom products. Deterministic (no randomness)."""
    cat = Catalogue.of(cfg)
    excl = set(cfg.products.exclude)
    out: list[Product] = []
    for d, dname in enumerate(cat.domains):
        dom = cfg.demand.domains[dname]
        for fname in cfg.products.care_forms:
            if f"{dname}/{fname}" in excl:
                continue
            f = cat.care_forms.index(fname)
            cf = cfg.care_forms[fname]
            for lname, lvl in cfg.products.levels.items():
                units = min(float(cf.need_intensity.ppf(np.array([lvl.intensity_quantile]))[0]), cf.unit_max)
                out.append(Product(f"{dname}/{fname}/{lname}", d, f, units, lvl.duration_days,
                                   cf.price_eur * dom.price_factor))
    for p in cfg.products.custom:
        out.append(Product(p.name, cat.domains.index(p.domain), cat.care_forms.index(p.care_form),
                           p.units_per_week, p.duration_days, p.price_eur))
    return out


def build_world(cfg: Config, rng: np.random.Generator) -> World:
    """Generate providers and contracts from the world stream ``rng``."""
    cat = Catalogue.of(cfg)
    pp = cfg.providers
    n, nd, nf = pp.count, len(cat.domains), len(cat.care_forms)
    rel = np.maximum(pp.size.sample(rng, n), 1e-9)
    staff = rel / rel.sum() * pp.total_staff_hours_per_week
    order = np.argsort(-staff, kind="stable")
    pop = np.array([cfg.region.municipalities[m] for m in cat.municipalities], float)
    home = np.searchsorted(np.cumsum(pop) / pop.sum(), rng.random(n), side="right").clip(0, len(pop) - 1)

    # Primary domains: largest providers first, each to the domain whose share of
    # capacity lags its share of demand most, so capacity follows demand.
    share = np.array([cfg.demand.domains[d].share for d in cat.domains])
    cap = np.zeros(nd)
    primary = np.empty(n, dtype=int)
    for j in order:
        deficit = share * (cap.sum() + staff[j]) - cap
        primary[j] = int(np.argmax(deficit + 1e-12 * rng.random(nd)))
        cap[primary[j]] += staff[j]
    prof = np.zeros((n, nd))
    prof[np.arange(n), primary] = pp.primary_proficiency.sample(rng, n)
    extra = (rng.random((n, nd)) < pp.extra_domain_probability) & (prof == 0)
    prof[extra] = pp.other_proficiency.sample(rng, int(extra.sum()))
    prof = np.clip(prof, 0.0, 1.0)

    offers = np.zeros((n, nf), dtype=bool)
    billed = [cat.care_forms.index(f) for f in cfg.products.care_forms]
    u = rng.random((n, nf))
    for f, fname in enumerate(cat.care_forms):
        p = pp.form_offer_probability.get(fname, 0.0)
        offers[:, f] = u[:, f] < p
        if fname == "with_stay" or cfg.care_forms[fname].unit == "day":
            offers[:, f] &= staff >= pp.with_stay_min_staff_hours
    # capacity follows demand per care form too: while the providers offering a
    # form hold less than form_coverage_factor x its expected share of staff hours, the largest
    # eligible provider not yet offering it takes it on
    need = form_demand_shares(cfg, cat)
    for f in billed:
        eligible = order[~offers[order, f]]
        if cfg.care_forms[cat.care_forms[f]].unit == "day":
            eligible = eligible[staff[eligible] >= pp.with_stay_min_staff_hours]
        for j in eligible:
            if staff[offers[:, f]].sum() >= pp.form_coverage_factor * need[f] * staff.sum():
                break
            offers[j, f] = True
    # every provider offers at least one billed form: its most common one
    if billed:
        best = max(billed, key=lambda f: pp.form_offer_probability.get(cat.care_forms[f], 0.0))
        none = ~offers[:, billed].any(axis=1)
        offers[none, best] = True

    # guarantee that every (domain, billed form) has a provider: the largest
    # provider with that primary domain (or any provider) takes it on
    for d in range(nd):
        for f in billed:
            if not (offers[:, f] & (prof[:, d] > 0)).any():
                pool = order[primary[order] == d]
                j = int(pool[0]) if len(pool) else int(order[0])
                offers[j, f] = True
                if prof[j, d] == 0:
                    prof[j, d] = float(pp.other_proficiency.sample(rng, 1)[0])

    products = product_grid(cfg)
    product_index: dict = {}
    for i, p in enumerate(products):
        product_index.setdefault((p.domain, p.care_form), []).append(i)
    candidates = {
        (d, f): np.flatnonzero(offers[:, f] & (prof[:, d] > 0))
        for d in range(nd) for f in billed
    }

    contracted = _contract(cfg, rng, staff, order, candidates)
    collective, cnames = _collectives(cfg, rng, contracted)
    names = tuple(provider_name(j) for j in range(n))
    return World(cat, names, staff, home, prof, offers, tuple(products), product_index,
                 candidates, contracted, collective, cnames)


def _contract(cfg: Config, rng, staff, order, candidates) -> np.ndarray:
    """Which providers the expertise regime contracts: every (domain, form)
    covered by its largest provider, explicit collective members, then the rest
    drawn with probability proportional to size."""
    n = len(staff)
    k = cfg.regimes.expertise.contracted_providers
    chosen = np.zeros(n, dtype=bool)
    for c in cfg.regimes.expertise.collectives.explicit:
        for m in c.members:
            chosen[provider_index(m)] = True
    for key in sorted(candidates):
        cand = candidates[key]
        if len(cand) and not chosen[cand].any() and chosen.sum() < k:
            chosen[cand[np.argmax(staff[cand])]] = True
    rest = np.flatnonzero(~chosen)
    need = max(k - int(chosen.sum()), 0)
    if need and len(rest):
        w = staff[rest] / staff[rest].sum()
        pick = rng.choice(rest, size=min(need, len(rest)), replace=False, p=w)
        chosen[pick] = True
    return chosen


def _collectives(cfg: Config, rng, contracted) -> tuple[np.ndarray, tuple[str, ...]]:
    col = np.full(len(contracted), -1, dtype=int)
    spec = cfg.regimes.expertise.collectives
    names: list[str] = []
    for c in spec.explicit:
        for m in c.members:
            col[provider_index(m)] = len(names)
        names.append(c.name)
    free = np.flatnonzero(contracted & (col < 0))
    if spec.auto_count > 0 and len(free):
        m = int(round(spec.auto_share * len(free)))
        members = rng.permutation(free)[:m]
        base = len(names)
        for i, j in enumerate(members):
            col[j] = base + i % spec.auto_count
        names += [f"collective-{i + 1}" for i in range(spec.auto_count)]
    return col, tuple(names)


def form_demand_shares(cfg: Config, cat: Catalogue) -> np.ndarray:
    """Expected share of staff hours each care form needs (from the config's
    severity mix, care-form mix, need intensity and duration)."""
    d = cfg.demand
    share = np.zeros(len(cat.care_forms))
    for sev, p_sev in d.severity.items():
        for fname, p_f in d.care_form_by_severity[sev].items():
            share[cat.care_forms.index(fname)] += p_sev * p_f
    hours = np.array([
        share[f] * cfg.care_forms[n].need_intensity.mean() * cfg.care_forms[n].staff_hours_per_unit
        * cfg.care_forms[n].need_duration.mean()
        for f, n in enumerate(cat.care_forms)
    ])
    hours[[cfg.care_forms[n].delivered_by != "provider" for n in cat.care_forms]] = 0.0
    return hours / hours.sum() if hours.sum() > 0 else hours
