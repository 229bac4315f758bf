"""The expertise-based regime: ~60 providers on long contracts, a yearly lump
sum plus a population-based part, care dosed by need, collectives that pool
waiting lists, consult each other and hand youths over without a new wait."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..model.waiting_list import REGULAR, URGENT_HANDOVER, WaitingList
from ..model.policy import FollowUp, Regime


class ExpertiseRegime(Regime):
    name = "expertise"
    bills_per_unit = False

    def __init__(self, model):
        super().__init__(model, model.cfg.regimes.expertise.admin)
        self.x = model.cfg.regimes.expertise
        sw = model.switch
        self.use_expertise = sw.expertise_match      # M3
        self.collaborate = sw.collaboration          # M4
        self.ceiling = sw.budget_ceiling             # M5
        self.transition = sw.provider_transition     # M7
        self.selection = sw.selection and self.x.selection_strength > 0   # M8
        self.thr = self.x.routing.proficiency_threshold
        self.budget_total = 0.0
        self.valves = 0
        self.picks = self.selection
        self._suit: dict = {}
        self._route_wait = self.x.routing.wait / 10.0   # utility per 10 weeks of backlog
        self._pools: list[WaitingList] = []
        self._pool_backlog = np.zeros(1)      # mirrors pooled lists' backlogs (weeks)
        self._pool_of: dict = {}

    # -- contract -------------------------------------------------------------
    def activate(self) -> None:
        m, w = self.m, self.m.world
        contracted = w.contracted if self.transition else np.ones(w.n, dtype=bool)
        closing = [p for p in m.providers if not contracted[p.idx]]
        keep = [p for p in m.providers if contracted[p.idx]]
        retained = self.x.transition.retained_capacity_share * sum(p.staff for p in closing)
        total_keep = sum(p.staff for p in keep)
        decl = self.admin.hours_per_declaration * 12.0 / 52.0
        for p in closing:
            m.close(p)
        for p in keep:
            m.set_terms(p, overhead=self.admin.overhead_share, bills=False, decl_load=decl,
                        extra_staff=retained * p.staff / total_keep)
        if self.collaborate:
            self._form_collectives(keep)
        # the budget: the status quo's spending in the year before the switch
        b = self.x.budget
        self.budget_total = b.level * m.baseline_spending()
        lump = (1.0 - b.population_share) * self.budget_total
        staff = sum(p.staff for p in keep)
        for p in keep:
            p.budget_year = lump * p.staff / staff
        self.on_contract_year(0)
        for p in closing:  # families waiting for a provider that lost its contract move on
            for e in p.queue.live():
                m.requeue(e[3], e[0], e[1])
        if self.x.transition.mode == "transfer":
            for p in closing:
                for ep in list(m.in_care_at(p)):
                    m.transfer(ep)
        for p in keep:
            m.dispatch(p)

    def _form_collectives(self, keep) -> None:
        m, w = self.m, self.m.world
        for p in keep:
            c = int(w.collective[p.idx])
            if c < 0:
                continue
            coll = m.collective(c)
            coll.members.append(p)
            p.collective = c
        for coll in m.collectives.values():
            for d in range(len(w.cat.domains)):
                for f in range(len(w.cat.care_forms)):
                    servers = [p for p in coll.members
                               if w.proficiency[p.idx, d] >= self.thr and w.offers_form[p.idx, f]]
                    if not servers:
                        continue
                    wl = WaitingList(f"{coll.name}/{w.cat.domains[d]}/{w.cat.care_forms[f]}")
                    self._pools.append(wl)
                    wl.servers = servers
                    coll.lists[d, f] = wl
                    for p in servers:
                        p.pulls.append(wl)
        self._pool_backlog = np.zeros(len(self._pools) + 1)
        for slot, wl in enumerate(self._pools):
            wl.mirror, wl.slot = self._pool_backlog, slot
            wl.set_capacity(sum(p.capacity for p in wl.servers), m.mean_care_weeks)
        # per (domain, form): the pooled list each provider would use (-1: its own list)
        self._pool_of = {}
        for key in w.candidates:
            cands = m.open_candidates(*key)
            idx = np.full(len(cands), -1)
            for i, j in enumerate(cands.tolist()):
                wl = self._pooled(m.providers[j], key[0], key[1])
                if wl is not None:
                    idx[i] = wl.slot
            self._pool_of[key] = (cands, idx)

    def _pooled(self, p, domain: int, form: int):
        """The collective's pooled list ``p`` serves for this need, if any."""
        if not self.collaborate or p.collective < 0:
            return None
        wl = self.m.collectives[p.collective].lists.get((domain, form))
        return wl if wl is not None and p in wl.servers else None

    def on_contract_year(self, year: int) -> None:
        now = self.m.env.now
        for p in self.m.providers:
            if p.open and not p.bills:
                p.accrue(now)
                p.shadow_year_start = p.shadow
                p.year_start = now
                p.valve_used = False
                p.tight = False

    def yearly_payment(self) -> float:
        """Lump sums plus the population-based part."""
        return self.budget_total

    # -- the care process asks --------------------------------------------------------
    def match(self, ep) -> WaitingList:
        m = self.m
        d = ep.target_domain
        cands = self.open_candidates(ep, d)
        if self.use_expertise:
            backlog = m.backlog[cands]
            pooled = self._pool_of.get((d, ep.care_form))
            if pooled is not None and pooled[0] is cands:   # a member's backlog is its pooled list's
                idx = pooled[1]
                backlog = np.where(idx >= 0, self._pool_backlog[idx], backlog)
            score = self._suitability(cands, d, ep.secondary, ep.municipality) - self._route_wait * backlog
            best = m.providers[int(cands[int(score.argmax())])]
        else:
            best = self.family_choice(ep, cands)
        return self._pooled(best, d, ep.care_form) or best.queue

    def _suitability(self, cands, d: int, sec: int, mun: int) -> np.ndarray:
        """The fixed part of the routing score: proficiency in the domain (and,
        weighted, the secondary domain) plus a bonus for the home municipality."""
        key = (id(cands), d, sec, mun)
        hit = self._suit.get(key)
        if hit is None or hit[0] is not cands:
            r, w = self.x.routing, self.m.world
            score = w.proficiency[cands, d] + r.home * (w.home[cands] == mun)
            if sec >= 0:
                score = score + r.secondary_weight * w.proficiency[cands, sec]
            hit = self._suit[key] = (cands, score)
        return hit[1]

    def dose(self, ep, p) -> tuple[float, float]:
        """Intensity and duration follow the need, with the provider's judgement error."""
        s = self.x.judgement_error_sigma
        units = ep.need_intensity * math.exp(s * ep.z_judge_i)
        r = min(1.0, units / ep.need_intensity)
        return units, self.m.remaining_need_days(ep) / r * math.exp(s * ep.z_judge_d)

    def after_segment(self, ep, p) -> Optional[FollowUp]:
        """Care is adjusted without a new indication; only a youth whose product
        ended at a provider without a new contract moves to a contracted one."""
        if not p.open and ep.progress < 1.0 - 1e-9:
            return FollowUp(0.0, URGENT_HANDOVER, False)
        return None

    def on_need_shift(self, ep, p) -> FollowUp:
        w, m = self.m.world, self.m
        d = ep.target_domain
        if p.open and w.proficiency[p.idx, d] >= self.thr:
            return FollowUp(0.0, URGENT_HANDOVER, False, p.queue)
        if self.collaborate and p.collective >= 0:
            wl = m.collectives[p.collective].lists.get((d, ep.care_form))
            if wl is not None:
                return FollowUp(0.0, URGENT_HANDOVER, False, wl)
        return FollowUp(0.0, REGULAR, False)

    def admission_limit(self, p) -> float:
        """Budget ceiling (M5): past its pro-rata lump sum a provider keeps only
        part of its capacity open, unless the safety valve adds budget."""
        if not self.ceiling or p.bills or p.budget_year <= 0:
            return p.capacity
        now = self.m.env.now
        p.accrue(now)
        elapsed = max(now - p.year_start, 1.0) / 365.25
        used = p.shadow - p.shadow_year_start
        tight = used > p.budget_year * min(elapsed, 1.0) * (1.0 + self.x.budget.ceiling_tolerance)
        valve = self.x.budget.safety_valve
        if tight and valve.enabled and not p.valve_used and \
                p.queue.backlog >= valve.queue_weeks_threshold:
            extra = valve.extra_share * p.budget_year
            p.budget_year += extra
            p.valve_used = True
            self.valves += 1
            self.m.pay_extra(extra)
            tight = False
        p.tight = tight
        return p.capacity * self.x.budget.ceiling_capacity_share if tight else p.capacity

    def pick(self, wl, p):
        """Selection (M8): a budget-tight provider passes over complex youths
        at the head of the list with probability ``selection_strength``."""
        head = wl.head()
        if not self.selection or not p.tight or head is None or not head[3].complex:
            return head
        if self.m.u_decide() >= self.x.selection_strength:
            return head
        for e in wl.entries(8):
            if not e[3].complex:
                return e
        return head

    def secondary_proficiency(self, ep, p) -> float:
        w = self.m.world
        if ep.secondary < 0:
            return 1.0
        own = float(w.proficiency[p.idx, ep.secondary])
        if self.collaborate and p.collective >= 0:
            members = self.m.collectives[p.collective].members
            return max(own, max(float(w.proficiency[q.idx, ep.secondary]) for q in members))
        return own
