"""Typed, immutable configuration: one YAML file describes a region and both regimes.

The types below are the single source of truth: they validate the YAML, and
``caresim schema`` prints the JSON Schema generated from them. Errors are
reported as one line naming the key path, the bad value and what was expected.
"""
from __future__ import annotations

import re
from typing import Any, Literal, Mapping, Optional

from pydantic import Field, model_validator

from ..errors import did_you_mean
from ..units import DAYS_PER_YEAR
from .distributions import Dist
from .types import Date, Int, Pair, Section, Share

SEVERITIES = ("mild", "moderate", "severe")
MECHANISMS = (
    "admin_burden",          # M1
    "product_fit",           # M2
    "expertise_match",       # M3
    "collaboration",         # M4
    "budget_ceiling",        # M5
    "waiting_effects",       # M6
    "provider_transition",   # M7
    "selection",             # M8
)
_Model = Section

#: no count of things the model builds (providers, collectives, products per episode...)
#: is larger: a model of that size would not fit in memory
MAX_COUNT = 100_000
#: more new referrals a year than a country has (the Netherlands: about 450,000
#: youths in youth care a year, CBS); every referral is simulated one by one
MAX_REFERRALS_PER_YEAR = 10_000_000
#: more youths (0-17) than a municipality can have
MAX_POPULATION = 100_000_000


def _sums_to_one(values: Mapping[str, float], what: str) -> None:
    """``what`` is the key path relative to the validated model."""
    total = sum(values.values())
    if abs(total - 1.0) > 1e-6:
        shown = ", ".join(f"{k}={v:g}" for k, v in values.items())
        raise ValueError(f"{what}: got shares summing to {total:.6g} ({shown}); expected a sum of 1")


# --------------------------------------------------------------------------- time
class Timeline(_Model):
    """Calendar of a run: warm-up under the status quo from ``start`` to
    ``contract_start``, then the evaluation horizon to ``end``."""

    start: Date = Field(description="simulation day 0; the warm-up starts here")
    contract_start: Date = Field(description="the regime under study takes over")
    end: Date = Field(description="end of the evaluation horizon")
    initial_state: Literal["empty", "preloaded"] = Field(
        "empty", description="state at day 0: empty, or preloaded with youths in care and waiting resampled "
        "from the snapshot file `preload` (written by `caresim preload`), so the warm-up can be short")
    preload: Optional[str] = Field(
        None, description="snapshot CSV of the youths in the system (required when initial_state is preloaded); "
        "a relative path is read from the config file's folder")

    @model_validator(mode="after")
    def _order(self):
        if not (self.start < self.contract_start < self.end):
            raise ValueError(
                f"contract_start: got {self.contract_start}; expected a date strictly between start "
                f"{self.start} and end {self.end}"
            )
        if self.initial_state == "preloaded" and not self.preload:
            raise ValueError("preload: missing; expected the snapshot file (caresim preload) when "
                             "initial_state is preloaded")
        if self.initial_state == "empty" and self.preload is not None:
            raise ValueError(f"preload: got {self.preload!r} with initial_state empty; expected no preload "
                             "file (or initial_state: preloaded)")
        return self

    @property
    def contract_start_day(self) -> float:
        return float((self.contract_start - self.start).days)

    @property
    def end_day(self) -> float:
        return float((self.end - self.start).days)

    @property
    def horizon_years(self) -> float:
        return (self.end_day - self.contract_start_day) / DAYS_PER_YEAR


# --------------------------------------------------------------------------- region
class Region(_Model):
    name: str
    municipalities: dict[str, Int] = Field(
        description="youth population (0-17) per municipality; referrals arise in proportion"
    )

    @model_validator(mode="after")
    def _positive(self):
        if not self.municipalities:
            raise ValueError("municipalities: got none; expected at least one municipality")
        for k, v in self.municipalities.items():
            if not 0 < v <= MAX_POPULATION:
                raise ValueError(f"municipalities.{k}: got {v}; expected a positive youth population of at most "
                                 f"{MAX_POPULATION:,}")
        return self


class Source(_Model):
    share: float = Field(ge=0, le=1)
    via_access_team: bool = Field(description="assessed by the access team before allocation")


class Domain(_Model):
    share: float = Field(ge=0, le=1, description="share of referrals with this primary domain")
    price_factor: float = Field(1.0, gt=0, description="multiplies the care form's unit price")


#: physical maximum of units per week: a week has 7 days and 14 half days
UNIT_MAX_PER_WEEK = {"day": 7.0, "half_day": 14.0}


class CareForm(_Model):
    delivered_by: Literal["provider", "access_team"]
    unit: Literal["hour", "half_day", "day"]
    price_eur: float = Field(gt=0, description="price (or cost) per unit")
    staff_hours_per_unit: float = Field(gt=0)
    need_intensity: Dist = Field(description="units per week the youth needs")
    need_duration: Dist = Field(description="days of care at full dose to reach the goal")
    heavier: Optional[str] = Field(None, description="care form an urgent case escalates to")
    max_units_per_week: Optional[float] = Field(
        None, gt=0, description="most units a youth can receive in a week (needs, doses and products are capped "
        "here); at most 7 for days and 14 for half days, which are also the defaults; required for hours")

    @model_validator(mode="after")
    def _unit_max(self):
        physical = UNIT_MAX_PER_WEEK.get(self.unit)
        if physical is None and self.max_units_per_week is None:
            raise ValueError(f"max_units_per_week: missing; expected the most {self.unit}s a youth can receive "
                             "in a week")
        if physical is not None and self.max_units_per_week is not None and self.max_units_per_week > physical:
            raise ValueError(f"max_units_per_week: {self.max_units_per_week} {self.unit}s; expected at most "
                             f"{physical:g} (a week has {physical:g})")
        return self

    @property
    def unit_max(self) -> float:
        """Units per week no need, dose or product exceeds."""
        return self.max_units_per_week if self.max_units_per_week is not None else UNIT_MAX_PER_WEEK[self.unit]


class Demand(_Model):
    first_referrals_per_year: float = Field(gt=0, le=MAX_REFERRALS_PER_YEAR,
                                            description="referrals of youths new to care")
    seasonality_amplitude: float = Field(0.0, ge=0, lt=1)
    peak_day_of_year: float = Field(0.0, ge=0, le=366)
    growth_per_year: float = Field(0.0, ge=-0.5, le=1.0, description="after the contract start")
    sources: dict[str, Source]
    domains: dict[str, Domain]
    secondary_domain_share: float = Field(ge=0, le=1)
    severity: dict[str, Share]
    urgent_share: dict[str, Share]
    care_form_by_severity: dict[str, dict[str, Share]]
    need_shift_share: float = Field(
        0.0, ge=0, le=1, description="share of multi-problem youths whose need shifts to the secondary domain during care"
    )
    need_shift_at: Pair = Field(
        (0.25, 0.75), description="the shift happens at a uniform share of the first segment between these two")
    need_beyond_judged: float = Field(
        0.0, ge=0, le=2, description="the care a youth needs to reach its goal beyond the need as judged (what "
        "an indication or a provider's plan covers), as a share of it: care stops when the judged need is met, "
        "so the delivered dose is 1 / (1 + this) unless providers extend care")

    @model_validator(mode="after")
    def _mixes(self):
        _sums_to_one({k: s.share for k, s in self.sources.items()}, "sources")
        _sums_to_one({k: d.share for k, d in self.domains.items()}, "domains")
        for key in ("severity", "urgent_share", "care_form_by_severity"):
            got = set(getattr(self, key))
            if got != set(SEVERITIES):
                raise ValueError(f"{key}: got {sorted(got)}; expected exactly the severities {list(SEVERITIES)}")
        _sums_to_one(self.severity, "severity")
        lo, hi = self.need_shift_at
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"need_shift_at: {[lo, hi]}; expected [low, high] with 0 <= low <= high <= 1")
        for sev, mix in self.care_form_by_severity.items():
            _sums_to_one(mix, f"care_form_by_severity.{sev}")
        return self


class AccessTeam(_Model):
    assessors: Int = Field(gt=0, description="assessments in progress at once")
    assessment_days: Dist
    care_hours_per_week: float = Field(gt=0, description="team's own care capacity")


class ProviderPool(_Model):
    count: Int = Field(gt=0, le=MAX_COUNT)
    total_staff_hours_per_week: float = Field(gt=0)
    size: Dist = Field(description="relative size; scaled so sizes sum to the total")
    extra_domain_probability: float = Field(ge=0, le=1)
    primary_proficiency: Dist
    other_proficiency: Dist
    form_offer_probability: dict[str, Share]
    with_stay_min_staff_hours: float = Field(0.0, ge=0)
    form_coverage_factor: float = Field(
        1.5, ge=0, description="providers offering a care form hold at least this multiple of its expected share "
        "of staff hours (the largest eligible providers take it on until they do)")


class Level(_Model):
    intensity_quantile: float = Field(gt=0, lt=1, description="quantile of the form's need intensity")
    duration_days: float = Field(gt=0)


class CustomProduct(_Model):
    name: str
    domain: str
    care_form: str
    units_per_week: float = Field(gt=0)
    duration_days: float = Field(gt=0)
    price_eur: float = Field(gt=0)


class Products(_Model):
    care_forms: list[str] = Field(description="care forms billed as products")
    levels: dict[str, Level]
    exclude: list[str] = Field(default_factory=list, description="'domain/care_form' pairs without products")
    custom: list[CustomProduct] = Field(default_factory=list)


class AdminTerms(_Model):
    """Administrative burden of a regime's contracts (M1)."""

    overhead_share: float = Field(ge=0, lt=1, description="share of staff time lost to administration")
    hours_per_allocation: float = Field(ge=0)
    hours_per_start: float = Field(ge=0)
    hours_per_stop: float = Field(ge=0)
    hours_per_declaration: float = Field(ge=0, description="per youth in care per month")
    municipal_hours_per_transaction: float = Field(ge=0)


class Choice(_Model):
    """Multinomial-logit weights of a family's choice of provider."""

    home: float = 1.0
    size: float = 0.3
    wait: float = 1.0


class ProductRegimeConfig(_Model):
    """``regimes.product``: the terms of the product-based regime (``sim.regimes.ProductRegime``)."""

    admin: AdminTerms
    assessment_error_sigma: float = Field(ge=0, description="log-scale error of the indicated intensity")
    reindication_probability: float = Field(ge=0, le=1)
    max_products_per_episode: Int = Field(ge=1, le=MAX_COUNT)
    stay_with_provider: float = Field(ge=0, le=1, description="chance a follow-up product stays with the same provider")
    reindication_days: Dist
    choice: Choice = Choice()


class Routing(_Model):
    secondary_weight: float = Field(0.5, ge=0)
    wait: float = Field(1.0, ge=0)
    home: float = Field(0.2, ge=0)
    proficiency_threshold: float = Field(0.5, ge=0, le=1)


class ExplicitCollective(_Model):
    name: str
    members: list[str] = Field(min_length=1)


class Collectives(_Model):
    auto_count: Int = Field(0, ge=0, le=MAX_COUNT, description="collectives formed from contracted providers by the world stream")
    auto_share: float = Field(0.5, ge=0, le=1, description="share of contracted providers in an auto collective")
    explicit: list[ExplicitCollective] = Field(default_factory=list)


class SafetyValve(_Model):
    enabled: bool
    queue_weeks_threshold: float = Field(gt=0, description="waiting list in weeks of the provider's capacity")
    extra_share: float = Field(ge=0, description="extra budget as a share of the yearly lump sum")


class Budget(_Model):
    level: float = Field(gt=0, description="total budget / product-regime spending in the year before the switch")
    population_share: float = Field(ge=0, lt=1)
    ceiling_tolerance: float = Field(0.05, ge=0)
    ceiling_capacity_share: float = Field(0.5, ge=0, le=1, description="share of capacity a budget-tight provider keeps open")
    safety_valve: SafetyValve


class Transition(_Model):
    mode: Literal["grandfather", "transfer"] = Field(
        description="grandfather: youths in care at a provider without a new contract finish their care there, "
        "need-based, and its staff moves as that caseload winds down; transfer: they move to a contracted "
        "provider at the contract start")
    retained_capacity_share: float = Field(
        ge=0, le=1, description="share of a closing provider's staff hours that moves to contracted providers "
        "when its caseload no longer needs them (the rest leaves the region's youth care)")
    grandfathered_billing: Literal["netted", "on_top"] = Field(
        "netted", description="netted: a closing provider keeps its share of the budget while it cares for "
        "grandfathered youths, is paid per unit from it, and the share follows its staff to the contracted "
        "providers; on_top: the whole budget goes to contracted providers at the start and grandfathered care "
        "is billed on top")


class CollaborationRamp(_Model):
    """``regimes.expertise.collaboration_ramp``: collectives and the transfer of staff mature with
    the preparation between award and contract start and over the first contract years."""

    award: Optional[Date] = Field(None, description="award of the contracts; preparation runs from here to "
                                     "the contract start (none: no preparation)")
    months_to_mature: float = Field(0.0, ge=0, description="time constant (months) of the maturity "
                                    "1 - exp(-(preparation + months since the start) / this); 0: mature at once")


#: the respects in which the expertise regime differs from the status quo (``regimes.expertise.features``)
FEATURES = ("contracts", "administration", "dosing", "routing", "collectives", "payment", "behaviour")


class Features(_Model):
    """``regimes.expertise.features``: the respects in which the expertise regime
    differs from the status quo, each on by default. A feature switched off makes
    the expertise arm act as the status quo does in that respect (and only the
    expertise arm: the status quo is unchanged); with all off the two arms are
    identical. The attribution (``experiments/mechanisms.py``) switches them."""

    contracts: bool = Field(True, description="the contracted pool and the transition (M7); off: every "
                            "provider keeps a contract")
    administration: bool = Field(True, description="the expertise regime's administrative terms (M1); off: the "
                                 "status quo's (regimes.product.admin)")
    dosing: bool = Field(True, description="care dosed by need, continued without a new indication, need shifts "
                         "handed over (M2); off: catalogue products, a new indication and a new wait")
    routing: bool = Field(True, description="routing by expertise and backlog (M3); off: the families' choice, "
                          "as in the status quo")
    collectives: bool = Field(True, description="collectives that pool lists, consult and hand over (M4); off: none")
    payment: bool = Field(True, description="the lump sum, population part and budget ceiling (M5); off: billed "
                          "per unit at catalogue prices")
    behaviour: bool = Field(True, description="provider behaviour under the lump sum and selection (M8); off: "
                            "providers behave as the status quo's, paid per unit")


class ExpertiseRegimeConfig(_Model):
    """``regimes.expertise``: the terms of the expertise-based regime (``sim.regimes.ExpertiseRegime``)."""

    contracted_providers: Int = Field(gt=0, le=MAX_COUNT)
    contract_years: float = Field(ge=3, le=7)
    admin: AdminTerms
    judgement_error_sigma: float = Field(ge=0)
    routing: Routing = Routing()
    collectives: Collectives = Collectives()
    budget: Budget
    selection_strength: float = Field(0.0, ge=0, le=1)
    selection_depth: Int = Field(8, ge=1, le=MAX_COUNT, description="youths from the head of a list a budget-tight provider "
                                 "looks at when it passes over complex ones (M8)")
    transition: Transition
    collaboration_ramp: CollaborationRamp = CollaborationRamp()
    features: Features = Features()


class PerUnitBehaviour(_Model):
    """What a provider paid per unit does because of it (over-provision)."""

    extension: float = Field(0.0, ge=0, le=1, description="care a provider paid per unit gives beyond the need "
                             "as judged, as a share of it: it keeps youths in care longer and applies for a new "
                             "indication when the need is nearly met")
    heavier_indication: float = Field(0.0, ge=0, le=1, description="a per-unit-paid provider's care is this "
                                      "share heavier than the need as judged (the indicated intensity, or its own "
                                      "dose)")


class LumpSumBehaviour(_Model):
    """What a provider paid a lump sum does because of it (under-provision)."""

    under_provision: float = Field(0.0, ge=0, lt=1, description="under full pressure (budget-tight, or its list "
                                   "at pressure_backlog_weeks) a lump-sum provider gives this share less care: "
                                   "lighter and shorter, discharging earlier")
    pressure_backlog_weeks: float = Field(26.0, gt=0, description="backlog (weeks) of a lump-sum provider's list "
                                          "at which the pressure to under-provide is full")
    other_funder: float = Field(0.0, ge=0, le=1, description="chance that a lump-sum provider moves an eligible "
                                "youth it would admit to another funder (long-term care under the Wlz) instead")
    other_funder_min_need_days: float = Field(730.0, gt=0, description="a youth is eligible for the other funder "
                                              "when severe with a need of at least this many days")


class Behaviour(_Model):
    """``behaviour``: provider behaviour under each payment, wherever that payment applies (a
    grandfathered provider billed per unit behaves as one). Every strength at 0: both regimes
    dose, extend and discharge by the same rule."""

    per_unit: PerUnitBehaviour = PerUnitBehaviour()
    lump_sum: LumpSumBehaviour = LumpSumBehaviour()


class Regimes(_Model):
    product: ProductRegimeConfig
    expertise: ExpertiseRegimeConfig


class Waiting(_Model):
    deterioration_mean_days: float = Field(gt=0)
    deterioration_intensity_factor: float = Field(ge=1)
    deterioration_duration_factor: float = Field(ge=1)
    patience_mean_days: float = Field(gt=0, description="mean time before a family leaves the list")
    escalation_probability: float = Field(ge=0, le=1)
    escalated_need_quantile: float = Field(
        0.5, gt=0, lt=1, description="an escalated youth needs this quantile of the heavier form's need intensity "
        "(times the deterioration factor)")
    follow_up_effects: bool = Field(
        True, description="deterioration and dropout also run while a youth whose care has started waits again "
        "(a follow-up product, a handover); each wait starts its own clocks from the youth's latent thresholds")


class Outcome(_Model):
    """Logistic model of goal attainment (see docs/model.md)."""

    intercept: float
    proficiency: float
    proficiency_reference: float = Field(ge=0, le=1)
    dose: float
    deterioration: float
    unconsulted_secondary: float
    handover: float
    severity: float
    dose_floor: float = Field(0.05, gt=0, le=1, description="delivered dose below this counts as this in log(dose)")


class Rereferral(_Model):
    after_goal: float = Field(ge=0, le=1)
    after_no_goal: float = Field(ge=0, le=1)
    after_dropout: float = Field(ge=0, le=1)
    delay: Dist


class Costs(_Model):
    provider_admin_hour_eur: float = Field(gt=0)
    municipal_admin_hour_eur: float = Field(gt=0)


class Config(_Model):
    """A region, its demand, its providers and both contract regimes."""

    timeline: Timeline
    region: Region
    demand: Demand
    care_forms: dict[str, CareForm]
    access_team: AccessTeam
    providers: ProviderPool
    products: Products
    regimes: Regimes
    waiting: Waiting
    outcome: Outcome
    rereferral: Rereferral
    costs: Costs
    behaviour: Behaviour = Behaviour()
    mechanisms: dict[str, bool] = Field(default_factory=lambda: {m: True for m in MECHANISMS})

    @model_validator(mode="after")
    def _cross(self):
        forms = set(self.care_forms)
        domains = set(self.demand.domains)
        for m in self.mechanisms:
            if m not in MECHANISMS:
                raise ValueError(_unknown("mechanisms", m, MECHANISMS))
        for sev, mix in self.demand.care_form_by_severity.items():
            for f in mix:
                if f not in forms:
                    raise ValueError(_unknown(f"demand.care_form_by_severity.{sev}", f, forms))
        for name, cf in self.care_forms.items():
            if cf.heavier is not None and cf.heavier not in forms:
                raise ValueError(_unknown(f"care_forms.{name}.heavier", cf.heavier, forms))
        for f in self.products.care_forms:
            if f not in forms:
                raise ValueError(_unknown("products.care_forms", f, forms))
            if self.care_forms[f].delivered_by != "provider":
                raise ValueError(f"products.care_forms: {f!r} is delivered by the access team, not billed as a product")
        for pair in self.products.exclude:
            d, _, f = pair.partition("/")
            if d not in domains:
                raise ValueError(_unknown("products.exclude", d, domains, what="domain"))
            if f not in forms:
                raise ValueError(_unknown("products.exclude", f, forms, what="care form"))
        for i, p in enumerate(self.products.custom):
            if p.domain not in domains:
                raise ValueError(_unknown(f"products.custom.{i}.domain", p.domain, domains, what="domain"))
            if p.care_form not in forms:
                raise ValueError(_unknown(f"products.custom.{i}.care_form", p.care_form, forms, what="care form"))
            top = self.care_forms[p.care_form].unit_max
            if p.units_per_week > top:
                raise ValueError(f"products.custom.{i}.units_per_week: {p.units_per_week}; expected at most "
                                 f"{top:g}, care_forms.{p.care_form}.max_units_per_week")
        for f in self.providers.form_offer_probability:
            if f not in forms:
                raise ValueError(_unknown("providers.form_offer_probability", f, forms))
        n = self.providers.count
        ex = self.regimes.expertise
        if ex.contracted_providers > n:
            raise ValueError(
                f"regimes.expertise.contracted_providers: {ex.contracted_providers} exceeds providers.count {n}"
            )
        where = "regimes.expertise.collectives.explicit"
        member_of: dict[str, int] = {}
        for i, c in enumerate(ex.collectives.explicit):
            for m in c.members:
                if provider_index(m) is None or provider_index(m) >= n:
                    raise ValueError(
                        f"{where}.{i}.members: unknown provider {m!r} "
                        f"(expected P001..P{n:03d})"
                    )
                if m in member_of:
                    raise ValueError(f"{where}.{i}.members: got {m!r}, already a member of collective "
                                     f"{member_of[m]}; expected each provider in one collective at most")
                member_of[m] = i
        if len(member_of) > ex.contracted_providers:
            raise ValueError(f"{where}: got {len(member_of)} members; expected at most "
                             f"regimes.expertise.contracted_providers ({ex.contracted_providers}): members are "
                             "contracted")
        _unique([c.name for c in ex.collectives.explicit], f"{where}.*.name")
        if ex.collectives.auto_count:
            for i, c in enumerate(ex.collectives.explicit):
                if re.fullmatch(r"collective-\d+", c.name):
                    raise ValueError(f"{where}.{i}.name: got {c.name!r}; expected a name unlike those of the "
                                     "automatic collectives (collective-1, collective-2, ...)")
        _unique(self.products.care_forms, "products.care_forms")
        _unique(self.products.exclude, "products.exclude")
        _unique([p.name for p in self.products.custom], "products.custom.*.name")
        return self

    @property
    def mechanism(self) -> "Switches":
        return Switches(self.mechanisms)


class Switches:
    """Attribute access to mechanism switches; a missing switch is on."""

    def __init__(self, values: Mapping[str, bool]):
        for name in MECHANISMS:
            setattr(self, name, bool(values.get(name, True)))


def provider_index(name: str) -> Optional[int]:
    """``'P007'`` -> 6; None when the name is not a generated provider id."""
    if len(name) >= 2 and name[0] == "P" and name[1:].isdigit():
        i = int(name[1:]) - 1
        return i if i >= 0 else None
    return None


def provider_name(index: int) -> str:
    return f"P{index + 1:03d}"


def _unique(items: list[str], path: str) -> None:
    """Refuse a list of names that repeats one (the model would use one of them silently)."""
    seen: set[str] = set()
    for x in items:
        if x in seen:
            raise ValueError(f"{path}: got {x!r} twice; expected each name once")
        seen.add(x)


def _unknown(path: str, value: Any, allowed, what: str = "name") -> str:
    allowed = sorted(map(str, allowed))
    return f"{path}: unknown {what} {value!r}, expected one of {allowed}{did_you_mean(value, allowed)}"
