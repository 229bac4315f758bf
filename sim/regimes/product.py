"""The product-based regime (status quo): products with a fixed weekly intensity,
a standard duration and a price, billed per unit; families choose a provider."""
from __future__ import annotations

import math
from typing import Optional

from ..model.waiting_list import REGULAR
from ..model.policy import FollowUp, Regime


class ProductRegime(Regime):
    name = "product"
    bills_per_unit = True

    def __init__(self, model):
        super().__init__(model, model.cfg.regimes.product.admin)
        self.p = model.cfg.regimes.product
        self.fit = model.switch.product_fit          # M2
        self._products = model.world.products
        self._levels = {k: [(math.log(self._products[i].units_per_week), i) for i in v]
                        for k, v in model.world.product_index.items()}

    def indicate(self, ep) -> None:
        """The assessor picks the product whose weekly intensity is nearest
        (on a log scale) to the need as assessed, with assessment error."""
        levels = self._levels.get((ep.target_domain, ep.care_form))
        if not levels:
            ep.product = -1
            return
        assessed = math.log(ep.need_intensity) + self.p.assessment_error_sigma * ep.z_assess
        best, gap = -1, math.inf
        for log_units, i in levels:
            g = abs(log_units - assessed)
            if g < gap:
                best, gap = i, g
        ep.product = best

    def dose(self, ep, p) -> tuple[float, float]:
        if not self.fit or ep.product < 0:
            return ep.need_intensity, self.m.remaining_need_days(ep)
        prod = self._products[ep.product]
        # the indication is a maximum: care stops early once the need is met
        # (over-dosing in intensity still wastes capacity while it lasts)
        met = self.m.remaining_need_days(ep) / min(1.0, prod.units_per_week / ep.need_intensity)
        return prod.units_per_week, min(prod.duration_days, met)

    def match(self, ep):
        m = self.m
        if ep.follow_up and ep.provider >= 0:
            prev = m.providers[ep.provider]
            if prev.open and m.offers(prev, ep) and m.u_decide() < self.p.stay_with_provider:
                return prev.queue
        return self.family_choice(ep, self.open_candidates(ep, ep.target_domain)).queue

    def after_segment(self, ep, p) -> Optional[FollowUp]:
        """Unmet need at the product's end: a new indication and a new wait."""
        if ep.progress >= 1.0 - 1e-9 or ep.segments >= self.p.max_products_per_episode:
            return None
        if self.m.u_decide() < self.p.reindication_probability:
            return FollowUp(self.m.draw(self.p.reindication_days), REGULAR, True)
        return None

    def on_need_shift(self, ep, p) -> FollowUp:
        """Another domain needs another product: a new indication and a new wait."""
        return FollowUp(self.m.draw(self.p.reindication_days), REGULAR, True)
