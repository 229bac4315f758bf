"""Provider behaviour under each payment: what a provider does because of how
it is paid, wherever that payment applies (config ``behaviour``).

Per-unit payment rewards volume (Ellis and McGuire 1986; Hennig-Schmidt,
Selten and Wiesen 2011; Clemens and Gottlieb 2014): care goes on beyond the
need as judged (``extension``: longer care, a new indication when the need is
nearly met) and is heavier than it (``heavier_indication``). A lump sum
rewards restraint: under pressure (budget-tight, or a long list) care is
lighter and shorter (``under_provision``), and eligible youths are moved to
another funder (``other_funder``: long-term care under the Wlz); rationing by
the list and selection are the ceiling (M5) and selection (M8) of the
expertise regime. The access team's own care has no payment incentive.

Both regimes use the same rule through this object: care stops once the
youth's progress reaches :meth:`PaymentBehaviour.target` (1 = the need as
judged is met) at an intensity of :meth:`PaymentBehaviour.intensity` times
the need. Under-provision ``u`` at pressure ``pi`` gives ``u pi`` less care,
half of it (on a log scale) as lighter and half as shorter care: intensity
and duration each ``x sqrt(1 - u pi)``, so the target is ``1 - u pi``. With
every strength at 0 the target is 1 and the factor 1 for every provider, so
the regimes dose, extend and discharge alike. The regime stores the target a
segment was planned with (``Episode.seg_target``): the plan made at
admission holds until the segment ends.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..config.schema import Config

if TYPE_CHECKING:  # pragma: no cover
    from .episode import Episode
    from .provider import Provider


class PaymentBehaviour:
    """The behaviour strengths of ``cfg.behaviour`` applied to a provider as it is paid now."""

    def __init__(self, cfg: Config):
        b = cfg.behaviour
        self.extension = b.per_unit.extension
        self.heavier = b.per_unit.heavier_indication
        self.under = b.lump_sum.under_provision
        self.pressure_weeks = b.lump_sum.pressure_backlog_weeks
        self.other_funder = b.lump_sum.other_funder
        self.other_funder_min_need_days = b.lump_sum.other_funder_min_need_days
        # lump-sum-paid providers act on the lump sum's incentives; False: as if paid per unit
        # (set by the expertise regime when its ``behaviour`` feature is off)
        self.lump_sum_incentives = True

    def pressure(self, p: Provider) -> float:
        """0..1: 1 when ``p`` is budget-tight (M5), else its longest list's
        backlog over ``pressure_backlog_weeks`` (capped at 1)."""
        if p.budget_tight:
            return 1.0
        backlog = max(wl.backlog for wl in p.lists_served)
        return min(1.0, backlog / self.pressure_weeks)

    def plan(self, p: Provider) -> tuple[float, float]:
        """``(target, intensity)`` of ``p`` now: the progress (share of the need
        as judged) at which it stops care, and the factor on the weekly intensity
        it gives (before the unit's maximum)."""
        if p.idx < 0:                   # the access team
            return 1.0, 1.0
        if p.billed_per_unit or not self.lump_sum_incentives:
            return 1.0 + self.extension, 1.0 + self.heavier
        if not self.under:
            return 1.0, 1.0
        share = 1.0 - self.under * self.pressure(p)
        return share, math.sqrt(share)

    def target(self, p: Provider) -> float:
        """The progress at which ``p`` stops care (:meth:`plan`)."""
        return self.plan(p)[0]

    def intensity(self, p: Provider) -> float:
        """The factor on the weekly intensity ``p`` gives (:meth:`plan`)."""
        return self.plan(p)[1]

    def moves_to_other_funder(self, ep: Episode, p: Provider) -> bool:
        """A lump-sum provider about to admit ``ep`` for its first care moves it
        to another funder instead: eligible (severe, a long need) and the
        youth's latent ``u_funder`` below the strength."""
        return (self.other_funder > 0 and not p.billed_per_unit and self.lump_sum_incentives and p.idx >= 0
                and not ep.started
                and ep.severity >= 2 and ep.need_duration >= self.other_funder_min_need_days
                and ep.u_funder < self.other_funder)
