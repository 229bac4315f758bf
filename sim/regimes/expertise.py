"""The expertise-based regime: ~60 providers on long contracts, a yearly lump
sum plus a population-based part, care dosed by need, collectives that pool
waiting lists, consult each other and hand youths over without a new wait."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..model.policy import CareHost, FollowUp, Regime, weekly_declaration_hours
from ..model.waiting_list import REGULAR, URGENT_HANDOVER, Entry, WaitingList
from ..units import DAYS_PER_YEAR

if TYPE_CHECKING:  # pragma: no cover
    from ..model.episode import Episode
    from ..model.provider import Provider

#: how many entries from the head a budget-tight provider looks at when it selects (M8)
SELECTION_DEPTH = 8


class ExpertiseRegime(Regime):
    name = "expertise"
    bills_per_unit = False

    def __init__(self, model: CareHost):
        super().__init__(model, model.cfg.regimes.expertise.admin)
        self.spec = model.cfg.regimes.expertise
        sw = model.switches
        self.use_expertise = sw.expertise_match      # M3
        self.collaborate = sw.collaboration          # M4
        self.budget_ceiling = sw.budget_ceiling      # M5
        self.provider_transition = sw.provider_transition   # M7
        self.selection = sw.selection and self.spec.selection_strength > 0   # M8
        self.proficiency_threshold = self.spec.routing.proficiency_threshold
        self.budget_total = 0.0
        self.valve_uses = 0
        self.may_skip_head = self.selection
        self._suitability_cache: dict = {}
        self._routing_wait_weight = self.spec.routing.wait / 10.0   # utility per 10 weeks of backlog
        self._pooled_lists: list[WaitingList] = []
        self._pooled_backlog = np.zeros(1)      # mirrors pooled lists' backlogs (weeks)
        self._pooled_slots: dict = {}           # (domain, form) -> (candidates, pooled slot per candidate)

    # -- contract -------------------------------------------------------------
    def activate(self) -> None:
        m, w = self.model, self.model.world
        contracted = w.contracted if self.provider_transition else np.ones(w.n, dtype=bool)
        closing = [p for p in m.providers if not contracted[p.idx]]
        keep = [p for p in m.providers if contracted[p.idx]]
        retained = self.spec.transition.retained_capacity_share * sum(p.staff for p in closing)
        total_keep = sum(p.staff for p in keep)
        declaration = weekly_declaration_hours(self.admin.hours_per_declaration)
        for p in closing:
            m.close(p)
        for p in keep:
            m.set_terms(p, overhead_share=self.admin.overhead_share, billed_per_unit=False,
                        declaration_load=declaration, extra_staff=retained * p.staff / total_keep)
        if self.collaborate:
            self._form_collectives(keep)
        # the budget: the status quo's spending in the year before the switch
        b = self.spec.budget
        self.budget_total = b.level * m.baseline_spending()
        lump = (1.0 - b.population_share) * self.budget_total
        staff = sum(p.staff for p in keep)
        for p in keep:
            p.budget_year = lump * p.staff / staff
        self.on_contract_year(0)
        for p in closing:  # families waiting for a provider that lost its contract move on
            for e in p.own_list.live():
                m.requeue(e.episode, e.priority, e.since)
        if self.spec.transition.mode == "transfer":
            for p in closing:
                for ep in list(m.in_care_at(p)):
                    m.transfer(ep)
        for p in keep:
            m.dispatch(p)

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
                    wl = WaitingList(f"{coll.name}/{cat.domains[d]}/{cat.care_forms[f]}")
                    self._pooled_lists.append(wl)
                    wl.servers = servers
                    coll.lists[d, f] = wl
                    for p in servers:
                        p.lists_served.append(wl)
        self._pooled_backlog = np.zeros(len(self._pooled_lists) + 1)
        for slot, wl in enumerate(self._pooled_lists):
            wl.mirror, wl.slot = self._pooled_backlog, slot
            wl.set_capacity(sum(p.capacity for p in wl.servers), m.mean_care_weeks)
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
                p.year_start = now
                p.valve_used = False
                p.budget_tight = False

    def yearly_payment(self) -> float:
        """Lump sums plus the population-based part."""
        return self.budget_total

    # -- the care process asks --------------------------------------------------------
    def match(self, ep: Episode) -> WaitingList:
        m = self.model
        d = ep.target_domain
        cands = self.open_candidates(ep, d)
        if self.use_expertise:
            backlog = m.backlog[cands]
            pooled = self._pooled_slots.get((d, ep.care_form))
            if pooled is not None and pooled[0] is cands:   # a member's backlog is its pooled list's
                idx = pooled[1]
                backlog = np.where(idx >= 0, self._pooled_backlog[idx], backlog)
            score = self._suitability(cands, d, ep.secondary, ep.municipality) - self._routing_wait_weight * backlog
            best = m.providers[int(cands[int(score.argmax())])]
        else:
            best = self.family_choice(ep, cands)
        return self._pooled(best, d, ep.care_form) or best.own_list

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

    def dose(self, ep: Episode, p: Provider) -> tuple[float, float]:
        """Intensity and duration follow the need, with the provider's judgement error."""
        s = self.spec.judgement_error_sigma
        units = ep.need_intensity * math.exp(s * ep.z_judge_i)
        r = min(1.0, units / ep.need_intensity)
        return units, self.model.remaining_need_days(ep) / r * math.exp(s * ep.z_judge_d)

    def after_segment(self, ep: Episode, p: Provider) -> Optional[FollowUp]:
        """Care is adjusted without a new indication; only a youth whose product
        ended at a provider without a new contract moves to a contracted one."""
        if not p.open and ep.progress < 1.0 - 1e-9:
            return FollowUp(0.0, URGENT_HANDOVER, False)
        return None

    def on_need_shift(self, ep: Episode, p: Provider) -> FollowUp:
        m = self.model
        d = ep.target_domain
        if p.open and m.world.proficiency[p.idx, d] >= self.proficiency_threshold:
            return FollowUp(0.0, URGENT_HANDOVER, False, p.own_list)
        if self.collaborate and p.collective >= 0:
            wl = m.collectives[p.collective].lists.get((d, ep.care_form))
            if wl is not None:
                return FollowUp(0.0, URGENT_HANDOVER, False, wl)
        return FollowUp(0.0, REGULAR, False)

    def admission_limit(self, p: Provider) -> float:
        """Budget ceiling (M5): past its pro-rata lump sum a provider keeps only
        part of its capacity open, unless the safety valve adds budget."""
        if not self.budget_ceiling or p.billed_per_unit or p.budget_year <= 0:
            return p.capacity
        now = self.model.now
        p.accrue(now)
        elapsed = max(now - p.year_start, 1.0) / DAYS_PER_YEAR
        spent = p.catalogue_spend - p.catalogue_spend_at_year_start
        budget = self.spec.budget
        tight = spent > p.budget_year * min(elapsed, 1.0) * (1.0 + budget.ceiling_tolerance)
        valve = budget.safety_valve
        if tight and valve.enabled and not p.valve_used and \
                p.own_list.backlog >= valve.queue_weeks_threshold:
            extra = valve.extra_share * p.budget_year
            p.budget_year += extra
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
        for e in wl.first(SELECTION_DEPTH):
            if not e.episode.complex:
                return e
        return head

    def secondary_proficiency(self, ep: Episode, p: Provider) -> float:
        w = self.model.world
        if ep.secondary < 0:
            return 1.0
        own = float(w.proficiency[p.idx, ep.secondary])
        if self.collaborate and p.collective >= 0:
            members = self.model.collectives[p.collective].members
            return max(own, max(float(w.proficiency[q.idx, ep.secondary]) for q in members))
        return own
