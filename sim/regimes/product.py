"""The product-based regime (status quo): products with a fixed weekly intensity,
a standard duration and a price, billed per unit; families choose a provider."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

from ..model.policy import CareHost, FollowUp, Regime
from ..model.waiting_list import REGULAR, WaitingList

if TYPE_CHECKING:  # pragma: no cover
    from ..model.episode import Episode
    from ..model.provider import Provider


class ProductRegime(Regime):
    name = "product"
    bills_per_unit = True

    def __init__(self, model: CareHost):
        super().__init__(model, model.cfg.regimes.product.admin)
        self.spec = model.cfg.regimes.product
        self.product_fit = model.switches.product_fit          # M2
        self._products = model.world.products
        # (domain, form) -> [(log units per week, log duration, product index)], in the
        # order of the tie-break: larger volume (units x duration) first, then catalogue order
        self.indicated = [0] * len(self._products)     # indications per catalogue product
        self._levels = {}
        for k, v in model.world.product_index.items():
            prods = sorted(v, key=lambda i: (-self._products[i].units_per_week * self._products[i].duration_days, i))
            self._levels[k] = [(math.log(self._products[i].units_per_week), math.log(self._products[i].duration_days), i)
                               for i in prods]

    def indicate(self, ep: Episode) -> None:
        """The assessor picks the product nearest to the need as assessed, in
        weekly intensity and in duration (Euclidean on log scales), each with
        assessment error. Ties go to the product with the larger volume (the
        need is not under-covered), then to catalogue order; products that
        differ only in duration (a fixed intensity) are told apart by it."""
        levels = self._levels.get((ep.target_domain, ep.care_form))
        if not levels:
            ep.product = -1
            return
        sigma = self.spec.assessment_error_sigma
        # a provider paid per unit proposes heavier care than the need (behaviour.per_unit)
        a_i = math.log(ep.need_intensity * (1.0 + self.model.behaviour.heavier)) + sigma * ep.z_assess
        a_d = math.log(self.model.remaining_need_days(ep)) + sigma * ep.z_assess_d
        best, gap = -1, math.inf
        for log_units, log_days, i in levels:
            g = (log_units - a_i) ** 2 + (log_days - a_d) ** 2
            if g < gap:     # strict: the first of equals in tie-break order wins
                best, gap = i, g
        ep.product = best
        self.indicated[best] += 1

    # dose: the indicated product; care stops early once the provider's target is
    # met (``behaviour.target``: the need as judged, plus any extension);
    # over-dosing in intensity still wastes capacity while it lasts. Without
    # product fit (M2) the need itself, at the provider's intensity.
    def intensity(self, ep: Episode, p: Provider, plan: tuple[float, float]) -> float:
        if not self.product_fit or ep.product < 0:
            return min(ep.need_intensity * plan[1], self.model.max_units[ep.care_form])
        return self._products[ep.product].units_per_week

    def duration(self, ep: Episode, p: Provider, units: float, plan: tuple[float, float]) -> float:
        m = self.model
        target = ep.seg_target = plan[0]
        if not self.product_fit or ep.product < 0:
            return m.remaining_need_days(ep, target) / min(1.0, units / ep.need_intensity)
        prod = self._products[ep.product]
        met = m.remaining_need_days(ep, target) / min(1.0, prod.units_per_week / ep.need_intensity)
        return min(prod.duration_days, met)

    def match(self, ep: Episode) -> WaitingList:
        return self.choose(ep).own_list

    def choose(self, ep: Episode) -> Provider:
        """The provider whose list the youth joins: for a follow-up, the same
        provider with chance ``stay_with_provider``; else the family's choice."""
        m = self.model
        if ep.follow_up and ep.provider >= 0:
            prev = m.providers[ep.provider]
            if prev.open and m.offers(prev, ep) and m.decision_uniform() < self.spec.stay_with_provider:
                return prev
        return self.family_choice(ep, self.open_candidates(ep, ep.target_domain))

    def after_segment(self, ep: Episode, p: Provider) -> Optional[FollowUp]:
        """Need left at the product's end (short of the provider's target): a
        new indication and a new wait."""
        if self.model.need_met(ep, ep.seg_target) or ep.segments >= self.spec.max_products_per_episode:
            return None
        if self.model.decision_uniform() < self.spec.reindication_probability:
            return FollowUp(self.model.draw(self.spec.reindication_days, "reindication_days"), REGULAR, True)
        return None

    def on_need_shift(self, ep: Episode, p: Provider) -> FollowUp:
        """Another domain needs another product: a new indication and a new wait."""
        return FollowUp(self.model.draw(self.spec.reindication_days, "reindication_days"), REGULAR, True)
