"""The expertise-based regime: ~60 providers on long contracts, a yearly lump
sum plus a population-based part, care dosed by need, collectives that pool
waiting lists, consult each other and hand youths over without a new wait.

Each respect in which it differs from the status quo is a feature
(``regimes.expertise.features``); a feature that is off is done as the status
quo does it, by the status quo's own policy (:class:`ProductRegime`), so that
with every feature off the two arms are identical (``tests/test_features.py``)
and the difference can be attributed to the features
(``experiments/mechanisms.py``).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..model.policy import CONTINUE, CareHost, FollowUp, Regime, weekly_declaration_hours
from ..model.waiting_list import REGULAR, URGENT_HANDOVER, Entry, WaitingList
from ..units import DAYS_PER_MONTH
from .product import ProductRegime

if TYPE_CHECKING:  # pragma: no cover
    from ..model.episode import Episode
    from ..model.provider import Provider

class ExpertiseRegime(Regime):
    name = "expertise"
    bills_per_unit = False

    def __init__(self, model: CareHost):
        spec = model.cfg.regimes.expertise
        f = self.features = spec.features
        super().__init__(model, spec.admin if f.administration else model.cfg.regimes.product.admin)
        self.spec = spec
        sw = model.switches
        # the status quo's policy, for the features that are off (it draws nothing when it is made)
        self._sq = ProductRegime(model) if not all(f.model_dump().values()) else None
        self.use_expertise = sw.expertise_match      # M3
        self.collaborate = sw.collaboration and f.collectives          # M4
        self.budget_ceiling = sw.budget_ceiling and f.payment
        self.provider_transition = sw.provider_transition and f.contracts   # M7
        self.selection = sw.selection and f.behaviour and self.spec.selection_strength > 0   # M8
        self.proficiency_threshold = self.spec.routing.proficiency_threshold
        self.budget_total = 0.0
        self.valve_uses = 0
        self.staff_lost = 0.0           # staff hours a week that left with closing providers
        self.staff_moved = 0.0          # staff hours a week that moved to contracted providers
        self.staff_in_transit = 0.0     # released and retained, not yet working at a contracted provider
        self._retained = 0.0            # released x retained_capacity_share, cumulated
        self._released = 0.0            # staff hours a week released by closing providers, cumulated
        self._budget_released = 0.0     # EUR a year of budget that released staff carried, cumulated
        self._budget_moved = 0.0        # of which handed to the contracted providers
        self.budget_in_transit = 0.0    # EUR a year held with the staff in transit (paid to no one yet)
        ramp, tl = self.spec.collaboration_ramp, self.cfg.timeline
        self._mature_days = ramp.months_to_mature * DAYS_PER_MONTH       # maturity's time constant (days)
        self._prep_days = max((tl.contract_start - ramp.award).days, 0) if ramp.award is not None else 0.0
        self._t_start = tl.contract_start_day
        self._closing: list[Provider] = []
        self._keep: list[Provider] = []
        self._budget_per_staff: dict[int, float] = {}   # closing provider -> EUR a year per staff hour a week
        self.may_skip_head = self.selection
        self._suitability_cache: dict = {}
        self._routing_wait_weight = self.spec.routing.wait / 10.0   # utility per 10 weeks of backlog
        self._pooled_lists: list[WaitingList] = []
        self._pooled_backlog = np.zeros(1)      # mirrors pooled lists' backlogs (weeks)
        self._pooled_slots: dict = {}           # (domain, form) -> (candidates, pooled slot per candidate)

    # -- contract -------------------------------------------------------------
    def activate(self) -> None:
        """The contract start (M7): contracted providers switch to the lump sum;
        the others take no new youths, keep what their caseload needs and
        release the rest of their staff, of which ``retained_capacity_share``
        moves to the contracted providers (now and each month as their
        grandfathered caseload winds down). Budgets (M5) come from each
        provider's own baseline volume x price."""
        m, w = self.model, self.model.world
        contracted = w.contracted if self.provider_transition else np.ones(w.n, dtype=bool)
        closing = self._closing = [p for p in m.providers if not contracted[p.idx]]
        keep = self._keep = [p for p in m.providers if contracted[p.idx]]
        declaration = weekly_declaration_hours(self.admin.hours_per_declaration)
        m.behaviour.lump_sum_incentives = self.features.behaviour
        for p in closing:
            m.close(p)
        for p in keep:
            m.set_terms(p, overhead_share=self.admin.overhead_share, billed_per_unit=not self.features.payment,
                        declaration_load=declaration)
        if self.collaborate:
            self._form_collectives(keep)
        if self.features.payment:       # M5: else billed per unit, as the status quo
            self._set_budgets(keep, closing)
        else:
            self._budget_per_staff = {q.idx: 0.0 for q in closing}
        self.on_contract_year(0)
        for p in closing:  # families waiting for a provider that lost its contract move on
            for e in p.own_list.live():
                m.requeue(e.episode, e.priority, e.since)
        if self.spec.transition.mode == "transfer":
            for p in closing:
                for ep in list(m.in_care_at(p)):
                    m.transfer(ep)
        self._move_staff()
        for p in keep:
            m.dispatch(p)

    def _set_budgets(self, keep: list[Provider], closing: list[Provider]) -> None:
        """Budget = ``level`` x the status quo's spending in the year before the
        switch. Each contracted provider's lump sum is ``(1 - population_share)``
        of its own baseline; the population part is shared out over the
        municipalities by youth population and, within one, over the contracted
        providers based there by baseline (all contracted providers where none
        is): it raises their budget, so it buys admissions (capacity under the
        ceiling) where the youths live. A closing provider's share of the lump
        sum stays with it while it cares for grandfathered youths (paid per unit
        from it: ``netted``) and follows its staff; with ``on_top`` it moves
        to the contracted providers at once, by staff, and grandfathered care
        is billed on top."""
        m = self.model
        b = self.spec.budget
        base = m.baseline_by_provider()
        self.budget_total = b.level * float(base.sum())
        lump = {p.idx: b.level * (1.0 - b.population_share) * float(base[p.idx]) for p in keep}
        # population part
        cfg = self.cfg
        pop = np.array(list(cfg.region.municipalities.values()), float)
        population = b.level * b.population_share * float(base.sum())
        for mun, share in enumerate(pop / pop.sum()):
            here = [p for p in keep if p.home == mun] or keep
            weight = np.array([max(float(base[p.idx]), 1e-9) for p in here])
            for p, wgt in zip(here, weight / weight.sum()):
                lump[p.idx] += population * share * wgt
        closing_share = {q.idx: b.level * (1.0 - b.population_share) * float(base[q.idx]) for q in closing}
        if self.spec.transition.grandfathered_billing == "on_top":
            staff = sum(p.staff for p in keep)
            total = sum(closing_share.values())
            for p in keep:
                lump[p.idx] += total * p.staff / staff
            closing_share = {q: 0.0 for q in closing_share}
        for p in keep:
            m.set_budget_rate(p, lump[p.idx])
        for q in closing:
            m.set_budget_rate(q, closing_share[q.idx])
            self._budget_per_staff[q.idx] = closing_share[q.idx] / q.staff if q.staff > 0 else 0.0

    def on_month(self) -> None:
        self._move_staff()

    def maturity(self, at: Optional[float] = None) -> float:
        """0..1: how far collaboration (pooling, consultation, handover without
        a new wait) and the transfer of staff have matured,
        ``1 - exp(-(preparation + months since the start) / months_to_mature)``
        with the preparation the months from award to contract start; at
        simulation day ``at`` (default: now)."""
        tau = self._mature_days
        if tau <= 0:
            return 1.0
        now = self.model.now if at is None else at
        return 1.0 - math.exp(-(self._prep_days + max(now - self._t_start, 0.0)) / tau)

    def _move_staff(self) -> None:
        """Staff that closing providers' caseloads no longer need leaves them;
        ``retained_capacity_share`` of it joins the contracted providers (by
        staff) as the transfer matures (:meth:`maturity`; until then it is in
        transit). Staff hours are conserved:
        moved + in transit + lost = released; so is money: the budget the staff
        in transit carried is held with them (``budget_in_transit``, paid to no
        one) and follows them. The receivers admit at their next dispatch (right
        after, at the switch and in the monthly bookkeeping)."""
        if not self._closing or not self._keep:
            return
        m = self.model
        released = budget = 0.0
        for q in self._closing:
            free = m.release_staff(q)
            if free > 0:
                released += free
                carried = free * self._budget_per_staff[q.idx]
                budget += carried
                m.set_budget_rate(q, q.budget_year - carried)
        retained = self.spec.transition.retained_capacity_share * released
        self.staff_lost += released - retained
        self._retained += retained
        self._released += released
        self._budget_released += budget
        # the retained staff joins as the transfer matures (collaboration_ramp); the rest is in transit
        moved = max(self._retained * self.maturity() - self.staff_moved, 0.0)
        self.staff_moved += moved
        self.staff_in_transit = self._retained - self.staff_moved
        # the budget follows the staff: what the staff in transit carried waits with them; the budget of
        # staff that left goes to the contracted providers at once (they are to replace it)
        done = 1.0 - self.staff_in_transit / self._released if self._released > 0 else 1.0
        budget = max(self._budget_released * done - self._budget_moved, 0.0)
        self._budget_moved += budget
        self.budget_in_transit = self._budget_released - self._budget_moved
        if moved <= 1e-9 and budget <= 0.0:
            return
        staff = sum(p.staff for p in self._keep)
        for p in self._keep:
            share = p.staff / staff
            m.set_terms(p, overhead_share=p.overhead_share, billed_per_unit=p.billed_per_unit,
                        declaration_load=p.declaration_load, extra_staff=moved * share)
            if budget:
                m.set_budget_rate(p, p.budget_year + budget * share)

    def _form_collectives(self, keep: list[Provider]) -> None:
        m, w = self.model, self.model.world
        for p in keep:
            c = int(w.collective[p.idx])
            if c < 0:
                continue
            coll = m.collective(c)
            coll.members.append(p)
            p.collective = c
        cat = w.catalogue
        for coll in m.collectives.values():
            for d in range(len(cat.domains)):
                for f in range(len(cat.care_forms)):
                    servers = [p for p in coll.members
                               if w.proficiency[p.idx, d] >= self.proficiency_threshold and w.offers_form[p.idx, f]]
                    if not servers:
                        continue
                    wl = WaitingList(f"{coll.name}/{cat.domains[d]}/{cat.care_forms[f]}", tickets=m.tickets)
                    self._pooled_lists.append(wl)
                    wl.servers = servers
                    coll.lists[d, f] = wl
                    for p in servers:
                        p.lists_served.append(wl)
        self._pooled_backlog = np.zeros(len(self._pooled_lists) + 1)
        for slot, wl in enumerate(self._pooled_lists):
            wl.mirror, wl.slot = self._pooled_backlog, slot
            wl.set_capacity(sum(p.capacity for p in wl.servers))
        # per (domain, form): the pooled list each provider would use (-1: its own list)
        self._pooled_slots = {}
        for key in w.candidates:
            cands = m.open_candidates(*key)
            idx = np.full(len(cands), -1)
            for i, j in enumerate(cands.tolist()):
                wl = self._pooled(m.providers[j], key[0], key[1])
                if wl is not None:
                    idx[i] = wl.slot
            self._pooled_slots[key] = (cands, idx)

    def _pooled(self, p: Provider, domain: int, form: int) -> Optional[WaitingList]:
        """The collective's pooled list ``p`` serves for this need, if any."""
        if not self.collaborate or p.collective < 0:
            return None
        wl = self.model.collectives[p.collective].lists.get((domain, form))
        return wl if wl is not None and p in wl.servers else None

    def on_contract_year(self, year: int) -> None:
        now = self.model.now
        for p in self.model.providers:
            if p.open and not p.billed_per_unit:
                p.accrue(now)
                p.catalogue_spend_at_year_start = p.catalogue_spend
                p.budget_at_year_start = p.budget_accrued
                p.year_start = now
                p.valve_used = False
                p.budget_tight = False

    def yearly_payment(self) -> float:
        """The yearly budget: lump sums, the population-based part and the
        closing providers' shares that pay grandfathered care (safety-valve
        additions come on top)."""
        return self.budget_total

    # -- the care process asks --------------------------------------------------------
    def indicate(self, ep: Episode) -> None:
        """No product (care is dosed by need); the status quo's product when dosing is off."""
        if self._sq is not None and not self.features.dosing:
            self._sq.indicate(ep)

    def match(self, ep: Episode) -> WaitingList:
        m = self.model
        d = ep.target_domain
        if not self.features.routing:
            best = self._sq.choose(ep)       # as the status quo: the family chooses
        elif self.use_expertise:
            cands = self.open_candidates(ep, d)
            backlog = m.backlog[cands]
            pooled = self._pooled_slots.get((d, ep.care_form))
            if pooled is not None and pooled[0] is cands:   # a member's backlog is its pooled list's
                idx = pooled[1]
                backlog = np.where(idx >= 0, self._pooled_backlog[idx], backlog)
            score = self._suitability(cands, d, ep.secondary, ep.municipality) - self._routing_wait_weight * backlog
            best = m.providers[int(cands[int(score.argmax())])]
        else:
            best = self.family_choice(ep, self.open_candidates(ep, d))
        if ep.u_collab < self.maturity():        # the collective pools its lists (as it matures)
            return self._pooled(best, d, ep.care_form) or best.own_list
        return best.own_list

    def _suitability(self, cands: np.ndarray, d: int, sec: int, mun: int) -> np.ndarray:
        """The fixed part of the routing score: proficiency in the domain (and,
        weighted, the secondary domain) plus a bonus for the home municipality."""
        key = (id(cands), d, sec, mun)
        hit = self._suitability_cache.get(key)
        if hit is None or hit[0] is not cands:
            r, w = self.spec.routing, self.model.world
            score = w.proficiency[cands, d] + r.home * (w.home[cands] == mun)
            if sec >= 0:
                score = score + r.secondary_weight * w.proficiency[cands, sec]
            hit = self._suitability_cache[key] = (cands, score)
        return hit[1]

    # dose: intensity and planned duration follow the need, with the provider's
    # judgement error (intensity capped at the unit's physical maximum). Care
    # stops when the need is met, whatever was planned; a plan that falls short
    # is continued (``after_segment``).
    def intensity(self, ep: Episode, p: Provider, plan: tuple[float, float]) -> float:
        if not self.features.dosing:
            return self._sq.intensity(ep, p, plan)
        units = ep.need_intensity * math.exp(self.spec.judgement_error_sigma * ep.z_judge_i) * plan[1]
        return min(units, self.model.max_units[ep.care_form])

    def duration(self, ep: Episode, p: Provider, units: float, plan: tuple[float, float]) -> float:
        if not self.features.dosing:
            return self._sq.duration(ep, p, units, plan)
        ep.seg_target = plan[0]
        r = min(1.0, units / ep.need_intensity)
        met = self.model.remaining_need_days(ep, ep.seg_target) / r
        return min(met, met * math.exp(self.spec.judgement_error_sigma * ep.z_judge_d))

    def after_segment(self, ep: Episode, p: Provider) -> Optional[FollowUp]:
        """Care is adjusted without a new indication: unmet need (a plan that
        fell short, or a product that ended at the switch) continues at the
        same provider without a new wait, contracted or grandfathered."""
        if not self.features.dosing:
            return self._sq.after_segment(ep, p)
        if not self.model.need_met(ep, ep.seg_target):      # the target it was planned with
            return CONTINUE
        return None

    def on_need_shift(self, ep: Episode, p: Provider) -> FollowUp:
        if not self.features.dosing:
            return self._sq.on_need_shift(ep, p)
        m = self.model
        d = ep.target_domain
        if p.open and m.world.proficiency[p.idx, d] >= self.proficiency_threshold:
            return FollowUp(0.0, URGENT_HANDOVER, False, p.own_list)
        if self.collaborate and p.collective >= 0 and ep.u_collab < self.maturity():
            wl = m.collectives[p.collective].lists.get((d, ep.care_form))
            if wl is not None:     # a handover inside the collective, without a new wait
                return FollowUp(0.0, URGENT_HANDOVER, False, wl)
        return FollowUp(0.0, REGULAR, False)

    def admission_limit(self, p: Provider) -> float:
        """Budget ceiling (M5): past its pro-rata lump sum a provider keeps only
        part of its capacity open, unless the safety valve adds budget."""
        if not self.budget_ceiling or p.billed_per_unit or p.budget_year <= 0:
            return p.capacity
        p.accrue(self.model.now)
        spent = p.catalogue_spend - p.catalogue_spend_at_year_start
        budget = self.spec.budget
        tight = spent > (p.budget_accrued - p.budget_at_year_start) * (1.0 + budget.ceiling_tolerance)
        valve = budget.safety_valve
        if tight and valve.enabled and not p.valve_used and \
                max(wl.backlog for wl in p.lists_served) >= valve.queue_weeks_threshold:
            extra = valve.extra_share * p.budget_year   # once this contract year, not a higher rate
            p.budget_accrued += extra
            p.valve_used = True
            self.valve_uses += 1
            self.model.pay_extra(extra)
            tight = False
        p.budget_tight = tight
        return p.capacity * budget.ceiling_capacity_share if tight else p.capacity

    def pick(self, wl: WaitingList, p: Provider) -> Optional[Entry]:
        """Selection (M8): a budget-tight provider passes over complex youths
        at the head of the list with probability ``selection_strength``."""
        head = wl.head()
        if not self.selection or not p.budget_tight or head is None or not head.episode.complex:
            return head
        if self.model.decision_uniform() >= self.spec.selection_strength:
            return head
        for e in wl.first(self.spec.selection_depth):
            if not e.episode.complex:
                return e
        return head

    def secondary_proficiency(self, ep: Episode, p: Provider) -> float:
        w = self.model.world
        if ep.secondary < 0:
            return 1.0
        own = float(w.proficiency[p.idx, ep.secondary])
        if self.collaborate and p.collective >= 0:     # consultation, as far as it had matured during care
            members = self.model.collectives[p.collective].members
            best = max(own, max(float(w.proficiency[q.idx, ep.secondary]) for q in members))
            mid = (ep.care_start + self.model.now) / 2 if ep.started else None   # the middle of its care
            return own + self.maturity(mid) * (best - own)
        return own
