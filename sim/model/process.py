"""The care process: referrals, assessment, matching, waiting, care and outcome.

One SimPy environment per run. Referral arrivals, the monthly bookkeeping and
the contract timeline are SimPy processes; a youth's pathway is a chain of
SimPy events whose callbacks move the youth on (event scheduling on SimPy's
calendar). That costs two events per care segment instead of the five or six
of a process per youth, which is what makes thousands of replications
affordable. Every decision that differs between contract regimes is asked of
the active regime object (``sim.regimes``); the model never branches on the
regime's name and never imports the experiment layer.
"""
from __future__ import annotations

import itertools
import math
from typing import Iterator, Optional

import numpy as np
import simpy

from ..config import Config
from ..errors import InvariantError
from ..units import DAYS_PER_MONTH, DAYS_PER_YEAR
from .cases import CaseSource, Catalogue, arrival_times, draw_cases, FIELDS
from .episode import Episode
from .policy import Regime, logistic
from .provider import Collective, Provider
from .records import EpisodeRecorder, MonthlyRecorder
from .streams import GumbelBlock, SpecBlock, Streams, UniformBlock
from .waiting_list import REGULAR, URGENT, URGENT_HANDOVER, WaitingList
from .world import World, build_world


def _rows(cols: dict[str, np.ndarray], block: int = 4096) -> Iterator[tuple]:
    """Latent rows in FIELDS order, converted to Python tuples a block at a time
    (the draws themselves were made up front; this only bounds memory)."""
    n = len(cols[FIELDS[0]])
    for start in range(0, n, block):
        yield from zip(*(cols[f][start:start + block].tolist() for f in FIELDS))


class CareModel:
    """One replication of one regime: build with a config, the regime under
    study and the status quo (policy classes, see ``sim.run``) and a seed, then ``run()``."""

    def __init__(self, cfg: Config, regime: type[Regime], seed: int, status_quo: type[Regime],
                 check_invariants: bool = False):
        self.cfg = cfg
        self.study = regime
        self.seed = int(seed)
        self.switch = cfg.mechanism
        self.check = check_invariants
        self.streams = Streams(seed)
        self.world: World = build_world(cfg, self.streams.world)
        self.cat: Catalogue = self.world.cat
        self.env = simpy.Environment()
        tl = cfg.timeline
        self.t_switch = tl.contract_start_day
        self.t_end = tl.end_day

        cf = [cfg.care_forms[f] for f in self.cat.care_forms]
        self.staff_per_unit = [c.staff_hours_per_unit for c in cf]
        self.by_team = [c.delivered_by == "access_team" for c in cf]
        self.heavier = [self.cat.care_forms.index(c.heavier) if c.heavier else -1 for c in cf]
        self.price = np.array([[c.price_eur * cfg.demand.domains[d].price_factor for c in cf]
                               for d in self.cat.domains])      # (domain, form) EUR per unit
        self.team_price = [c.price_eur for c in cf]
        self.need_dists = [c.need_intensity for c in cf]
        mean_dur = np.mean([c.need_duration.mean() for c in cf])
        self.mean_care_weeks = float(mean_dur / 7.0)

        w = self.world
        self.backlog = np.zeros(w.n)      # mirrors each provider's own list backlog (weeks)
        self.providers = [Provider(j, w.names[j], float(w.staff_hours[j]), int(w.home[j]),
                                   self.mean_care_weeks, self.backlog) for j in range(w.n)]
        self.log_size = np.log(w.staff_hours / np.median(w.staff_hours))
        self.open_mask = np.ones(w.n, dtype=bool)
        self._open_cands: dict = {}
        self.team = Provider(-1, "access_team", cfg.access_team.care_hours_per_week, -1, self.mean_care_weeks)
        self.team.bills = False
        self.collectives: dict[int, Collective] = {}
        self._in_care: dict[int, dict[int, Episode]] = {j: {} for j in range(w.n)}

        # access team's assessments
        self.assess_queue = WaitingList("assessment")
        self.assessing = 0
        self.assessors = cfg.access_team.assessors

        # random numbers that are not a youth's latent attributes
        self.u_decide = UniformBlock(self.streams.assessment)
        self.gumbel = GumbelBlock(self.streams.choices)
        self._draws: dict[int, SpecBlock] = {}
        self.rereferral_cases = CaseSource(cfg, self.cat, self.streams.rereferrals)

        # state counters and accumulators (integrated lazily between changes)
        self.active: dict[int, Episode] = {}
        self.next_uid = 0
        self.next_youth = 0
        self.arrivals = 0           # referrals handled by the merged arrival stream
        self.n_waiting = 0          # on providers' waiting lists
        self.n_in_care = 0
        self.decl_load = 0.0        # declaration hours per week of the youths in care
        self.used_open = 0.0
        self.cap_open = 0.0
        self.staff_open = 0.0
        self.billed_rate = 0.0      # EUR/day paid per unit
        self.team_rate = 0.0
        self.lump_rate = 0.0        # EUR/day paid regardless of volume
        self.overhead_rate = 0.0    # provider admin hours per day (overhead share)
        self.t_acc = 0.0
        self.acc = dict(billed=0.0, team=0.0, lump=0.0, used=0.0, cap=0.0, staff_h=0.0, overhead_h=0.0,
                        decl_h=0.0, tx_h=0.0, mun_h=0.0, waiting=0.0, in_care=0.0,
                        list_time=0.0, care_time=0.0)
        self.counts = dict(referrals=0, starts=0, stops=0, ends=0, dropouts=0, reindications=0,
                           handovers=0, listed=0, unlisted=0)
        self.baseline_mark: Optional[float] = None

        self.episodes = EpisodeRecorder()
        self.monthly = MonthlyRecorder()
        self.cap_open = sum(p.capacity for p in self.providers)
        self.staff_open = sum(p.staff for p in self.providers)
        self.regime: Regime = status_quo(self)
        self.regime.activate()

    # ================================================================== run
    def run(self) -> None:
        """Simulate from day 0 to the end of the horizon."""
        env = self.env
        env.process(self._months())
        env.process(self._contract())
        times = arrival_times(self.cfg, self.streams.arrivals)
        cols = draw_cases(self.cfg, self.cat, self.streams.cases, len(times))
        self._loop(times.tolist(), _rows(cols))
        self._accrue()
        if self.monthly.last_time() < self.env.now:
            self.monthly.snapshot(self)
        self.at_end = self._marks()
        self._close_records()

    def _loop(self, times: list, rows: Iterator[tuple]) -> None:
        """The event loop: SimPy's calendar merged with the pre-drawn arrival stream.

        Referrals of youths new to care are exogenous: their times and latent
        attributes are drawn up front in numpy blocks. Instead of a SimPy process
        resuming once per referral, the loop hands each referral to the care
        process when its time comes (before any SimPy event at the same time),
        then lets SimPy process its own events. SimPy's clock is advanced to the
        referral time, which is exactly what a Timeout would do.
        """
        env, step, peek, end = self.env, self.env.step, self.env.peek, self.t_end
        check = self.check
        n, i = len(times), 0
        t_arr = times[0] if n else math.inf   # the next referral of a youth new to care
        while True:
            t_ev = peek()
            if t_arr <= t_ev and t_arr < end:
                env._now = t_arr
                youth = self.next_youth
                self.next_youth += 1
                self.arrivals += 1
                self.refer(Episode(self._uid(), youth, 0, t_arr, next(rows)))
                i += 1
                t_arr = times[i] if i < n else math.inf
            elif t_ev < end:
                step()
            else:
                env._now = end
                break
            if check:
                self.assert_invariants()

    def _months(self):
        """Monthly bookkeeping: one row per month."""
        env = self.env
        self.monthly.snapshot(self)
        while True:
            yield env.timeout(DAYS_PER_MONTH)
            self._accrue()
            self.monthly.snapshot(self)

    def _contract(self):
        """The contract timeline: baseline year, the switch, contract years."""
        env = self.env
        mark = self.t_switch - DAYS_PER_YEAR
        if mark > 0:
            yield env.timeout(mark)
            self._accrue()
            self.baseline_mark = self.acc["billed"]
        yield env.timeout(self.t_switch - env.now)
        self._accrue()
        self.at_switch = self._marks()
        if self.study is not type(self.regime):
            self.regime = self.study(self)
            self.regime.activate()
            self.lump_rate = self.regime.yearly_payment() / DAYS_PER_YEAR
        self.year_marks = [self.at_switch]
        year = 0
        while True:
            yield env.timeout(DAYS_PER_YEAR)
            self._accrue()
            self.year_marks.append(self._marks())
            year += 1
            self.regime.on_contract_year(year)
            for p in self.providers:
                if p.open:
                    self.dispatch(p)

    # ================================================================== pathway
    def _uid(self) -> int:
        self.next_uid += 1
        return self.next_uid

    def refer(self, ep: Episode) -> None:
        """A referral arrives."""
        self.counts["referrals"] += 1
        self.active[ep.uid] = ep
        if self.switch.waiting_effects:
            w = self.cfg.waiting
            patience = ep.e_patience * w.patience_mean_days
            worse = ep.e_deteriorate * w.deterioration_mean_days
            if worse < patience:    # one clock at a time: most youths start care before either
                self.env.timeout(worse).callbacks.append(lambda _e, ep=ep, p=patience - worse: self._worse(ep, p))
            else:
                self.env.timeout(patience).callbacks.append(lambda _e, ep=ep: self._renege(ep))
        if self.cfg.demand.sources[self.cat.sources[ep.source]].via_access_team:
            self._assess(ep)
        else:
            self._allocate(ep)

    def _assess(self, ep: Episode) -> None:
        if self.assessing < self.assessors:
            self.assessing += 1
            d = self.draw(self.cfg.access_team.assessment_days)
            self.env.timeout(d).callbacks.append(lambda _e, ep=ep: self._assessed(ep))
        else:
            ep.est_load = 0.0
            self.assess_queue.push(ep, URGENT if ep.urgent else REGULAR, self.env.now)

    def _assessed(self, ep: Episode) -> None:
        self.assessing -= 1
        ep.assessed_time = self.env.now
        e = self.assess_queue.head()
        if e is not None:
            self._assess(self.assess_queue.pop_head())
        self._allocate(ep)

    def _allocate(self, ep: Episode) -> None:
        """Indication and allocation by the regime, then a place on a waiting list."""
        if ep.end_type == "pending_dropout":
            self._finish(ep, "dropped_out")
            return
        self.regime.indicate(ep)
        self._transaction(self.regime.admin.hours_per_allocation)
        if ep.allocated_time != ep.allocated_time:
            ep.allocated_time = self.env.now
        self.place(ep, URGENT if ep.urgent else REGULAR, self.env.now)

    def place(self, ep: Episode, cls: int, since: float, target: Optional[WaitingList] = None) -> None:
        """Put ``ep`` on a waiting list (the regime's match unless ``target``) and
        let that list's providers admit."""
        if self.by_team[ep.care_form]:
            wl = self.team.queue
        else:
            wl = target if target is not None else self.regime.match(ep)
        ep.est_load = ep.need_intensity * self.staff_per_unit[ep.care_form]
        ep.wait_since = since
        self._accrue()
        wl.push(ep, cls, since)
        ep.listed_at = self.env.now
        self.n_waiting += 1
        self.counts["listed"] += 1
        for p in wl.servers:
            if ep.queue is not wl:
                break
            if p.open and p.used < p.capacity:
                self.dispatch(p)

    def requeue(self, ep: Episode, cls: int, since: float) -> None:
        """Re-route a waiting youth (its provider lost its contract), keeping its place in time."""
        self.unlist(ep)
        self.place(ep, cls, since)

    def unlist(self, ep: Episode) -> None:
        """Take ``ep`` off the list it waits on (for assessment or for care)."""
        q = ep.queue
        self._accrue()
        q.remove(ep)
        if q is not self.assess_queue:
            self.n_waiting -= 1
            self.counts["unlisted"] += 1
            self.acc["list_time"] += self.env.now - ep.listed_at

    def _worse(self, ep: Episode, until_renege: float) -> None:
        """The youth's deterioration time passed; its patience runs out later."""
        if ep.end_type or ep.care_start == ep.care_start:
            return
        self._deteriorate(ep)
        if not ep.end_type:
            self.env.timeout(until_renege).callbacks.append(lambda _e, ep=ep: self._renege(ep))

    def _renege(self, ep: Episode) -> None:
        """The family's patience ran out: it leaves if care has not started (M6)."""
        if ep.end_type or ep.care_start == ep.care_start:
            return
        q = ep.queue
        if q is None:
            ep.end_type = "pending_dropout"   # in assessment or indication: leaves when that ends
            return
        self.unlist(ep)
        self._finish(ep, "dropped_out")

    def dispatch(self, p: Provider) -> None:
        """``p`` admits youths from the lists it serves while capacity allows."""
        regime = self.regime
        picks = regime.picks
        while p.open:
            best = None
            for wl in p.pulls:
                if not wl.size:
                    continue
                e = regime.pick(wl, p) if picks else wl.head()
                if e is not None and (best is None or e[:3] < best[:3]):
                    best = e
            if best is None:
                return
            ep = best[3]
            if ep.end_type == "pending_dropout":
                self.unlist(ep)
                self._finish(ep, "dropped_out")
                continue
            units, days = (self._team_dose(ep) if p is self.team else regime.dose(ep, p))
            load = min(units * self.staff_per_unit[ep.care_form] + p.decl_load, p.capacity)
            if p.used + load > regime.admission_limit(p) + 1e-9:
                return
            self.unlist(ep)
            self._start(ep, p, units, days, load)

    def _deteriorate(self, ep: Episode) -> None:
        """Deterioration while waiting (M6), at the moment the youth's own
        threshold ``e_deteriorate * deterioration_mean_days`` of waiting passes:
        severity +1, need grows, and an urgent case may escalate to a heavier
        care form (a new indication and a place on another list)."""
        if ep.end_type or ep.care_start == ep.care_start or ep.deteriorated:
            return
        w = self.cfg.waiting
        ep.deteriorated = True
        ep.severity = min(ep.severity + 1, 2)
        ep.need_intensity *= w.deterioration_intensity_factor
        ep.need_duration *= w.deterioration_duration_factor
        heavier = self.heavier[ep.care_form]
        escalate = ep.urgent and heavier >= 0 and ep.u_escalate < w.escalation_probability
        if escalate:
            ep.escalated = True
            ep.care_form = heavier
            ep.need_intensity = float(self.need_dists[heavier].ppf(np.array([0.5]))[0]) \
                * w.deterioration_intensity_factor
        q = ep.queue
        if q is None or q is self.assess_queue:
            return      # still in assessment: the allocation sees the new need
        self._accrue()
        if escalate:
            self.unlist(ep)
            self.regime.indicate(ep)
            self.place(ep, URGENT, ep.wait_since)
        else:
            q.reload(ep, ep.need_intensity * self.staff_per_unit[ep.care_form])

    def _team_dose(self, ep: Episode) -> tuple[float, float]:
        return ep.need_intensity, self.remaining_need_days(ep)

    def remaining_need_days(self, ep: Episode) -> float:
        return max(ep.need_duration * (1.0 - ep.progress), 1.0)

    def _start(self, ep: Episode, p: Provider, units: float, days: float, load: float) -> None:
        now = self.env.now
        self._accrue()
        p.accrue(now)
        if ep.care_start != ep.care_start:
            ep.care_start = now
            ep.first_provider = p.idx
            ep.initial_form = ep.care_form
        elif ep.provider != p.idx:
            ep.handovers += 1
            self.counts["handovers"] += 1
        ep.provider = p.idx
        ep.collective = p.collective
        ep.in_care = True
        ep.segments += 1
        ep.seg_token += 1
        ep.seg_start = now
        ep.seg_units = units
        ep.seg_load = load
        rate = units / 7.0 * (self.team_price[ep.care_form] if p is self.team
                              else self.price[ep.target_domain, ep.care_form])
        ep.seg_rate = rate
        p.used += load
        p.cut_used = 0.0
        p.rate += rate
        p.in_care += 1
        self.n_in_care += 1
        self.counts["starts"] += 1
        if p is self.team:
            self.team_rate += rate
        else:
            self._in_care[p.idx][ep.uid] = ep
            if p.bills:
                self.billed_rate += rate
            ep.seg_decl = p.decl_load
            self.decl_load += ep.seg_decl
            if p.open:
                self.used_open += load
            self._transaction(self.regime.admin.hours_per_start)
        # a need shift (M4) interrupts the first segment part-way
        shift = (not ep.shifted and ep.secondary >= 0 and p is not self.team
                 and ep.u_shift < self.cfg.demand.need_shift_share)
        ep.seg_shift = shift
        ep.seg_duration = days * ep.u_shift_at if shift else days
        tok = ep.seg_token
        self.env.timeout(ep.seg_duration).callbacks.append(lambda _e, ep=ep, tok=tok: self._segment_end(ep, tok))

    def _stop(self, ep: Episode, p: Provider, transaction: bool = True) -> None:
        """Close the current care segment at the current time (bookkeeping only)."""
        now = self.env.now
        self._accrue()
        p.accrue(now)
        dur = now - ep.seg_start
        weeks = dur / 7.0
        f = ep.care_form
        ep.delivered_hours += ep.seg_units * self.staff_per_unit[f] * weeks
        ep.cost_eur += ep.seg_rate * dur
        ep.progress += min(1.0, ep.seg_units / ep.need_intensity) * dur / ep.need_duration
        prof = 1.0 if p is self.team else float(self.world.proficiency[p.idx, ep.target_domain])
        ep.prof_hours += prof * ep.seg_units * weeks
        ep.in_care = False
        self.counts["stops"] += 1
        self.acc["care_time"] += dur
        p.used -= ep.seg_load
        if p.used < 1e-9:
            p.used = 0.0
        p.rate -= ep.seg_rate
        p.in_care -= 1
        self.n_in_care -= 1
        if p is self.team:
            self.team_rate -= ep.seg_rate
        else:
            self._in_care[p.idx].pop(ep.uid, None)
            if p.bills:
                self.billed_rate -= ep.seg_rate
            self.decl_load -= ep.seg_decl
            if p.open:
                self.used_open -= ep.seg_load
            if transaction:
                self._transaction(self.regime.admin.hours_per_stop)

    def _segment_end(self, ep: Episode, tok: int) -> None:
        if ep.seg_token != tok or not ep.in_care:
            return  # transferred meanwhile
        p = self.team if ep.provider < 0 else self.providers[ep.provider]
        self._stop(ep, p)
        if ep.seg_shift:
            ep.shifted = True
            ep.target_domain, ep.secondary = ep.secondary, ep.target_domain
            fu = self.regime.on_need_shift(ep, p)
        elif p is self.team:
            fu = None
        else:
            fu = self.regime.after_segment(ep, p)
        if fu is None:
            self._finish(ep, "completed")
        else:
            self._follow_up(ep, fu)
        self.dispatch(p)

    def _follow_up(self, ep: Episode, fu) -> None:
        ep.follow_up = True
        if fu.reindicate:
            self.counts["reindications"] += 1

        def go(_e=None):
            if fu.reindicate:
                self.regime.indicate(ep)
                self._transaction(self.regime.admin.hours_per_allocation)
            self.place(ep, fu.priority, self.env.now, fu.target)

        if fu.delay > 0:
            self.env.timeout(fu.delay).callbacks.append(go)
        else:
            go()

    def transfer(self, ep: Episode) -> None:
        """Move a youth in care to another provider (M7 transfer): a handover."""
        p = self.providers[ep.provider]
        self._stop(ep, p)
        ep.seg_token += 1
        ep.follow_up = True
        self.place(ep, URGENT_HANDOVER, self.env.now)

    def _finish(self, ep: Episode, kind: str) -> None:
        """The episode ends: outcome, record, and perhaps a later re-referral."""
        now = self.env.now
        ep.end_type = kind
        ep.exit_time = now
        if kind == "completed":
            ep.care_end = now
        self.active.pop(ep.uid, None)
        rr = self.cfg.rereferral
        if kind == "completed":
            self.counts["ends"] += 1
            ep.outcome = int(ep.u_outcome < self.goal_probability(ep))
            p_rr = rr.after_goal if ep.outcome else rr.after_no_goal
        else:
            self.counts["dropouts"] += 1
            p_rr = rr.after_dropout
        self.episodes.add(ep, kind, self)
        if ep.u_rereferral < p_rr:
            t = now + float(rr.delay.ppf(np.array([ep.u_rereferral_delay]))[0])
            if t < self.t_end:
                row = list(self.rereferral_cases.next())
                row[0] = ep.municipality
                nxt = Episode(self._uid(), ep.youth_id, ep.episode + 1, t, tuple(row))
                self.env.timeout(t - now).callbacks.append(lambda _e, nxt=nxt: self.refer(nxt))

    def goal_probability(self, ep: Episode) -> float:
        """Logistic outcome model (docs/model.md)."""
        o = self.cfg.outcome
        x = o.intercept + o.severity * ep.severity + o.handover * ep.handovers
        dose = min(1.0, ep.progress)
        x += o.dose * math.log(max(dose, 0.05))
        if ep.deteriorated:
            x += o.deterioration
        if self.switch.expertise_match and ep.delivered_hours > 0:
            prof = ep.prof_hours / (ep.delivered_hours / self.staff_per_unit[ep.care_form])
            x += o.proficiency * (prof - o.proficiency_reference)
        if ep.secondary >= 0 and ep.provider >= 0:
            p = self.providers[ep.provider]
            sec = self.regime.secondary_proficiency(ep, p)
            ep.unconsulted = sec < self.cfg.regimes.expertise.routing.proficiency_threshold
            if ep.unconsulted:
                x += o.unconsulted_secondary
        return logistic(x)

    # ================================================================== contracts and money
    def set_terms(self, p: Provider, overhead: float, bills: bool, decl_load: float,
                  extra_staff: float = 0.0) -> None:
        """Apply a regime's contract terms to a provider (capacity, payment, declarations)."""
        self._accrue()
        p.accrue(self.env.now)
        if p.open:
            self.cap_open -= p.capacity
            self.staff_open -= p.staff
            self.overhead_rate -= p.staff * p.overhead / 7.0
        if p.bills and not bills:
            self.billed_rate -= p.rate
        elif bills and not p.bills:
            self.billed_rate += p.rate
        p.bills = bills
        p.overhead = overhead
        p.decl_load = decl_load
        p.set_capacity(extra_staff)
        # a cut below the caseload leaves the youths in care; no one is admitted until it is below
        p.cut_used = p.used if p.used > p.capacity else 0.0
        if p.open:
            self.cap_open += p.capacity
            self.staff_open += p.staff
            self.overhead_rate += p.staff * p.overhead / 7.0

    def close(self, p: Provider) -> None:
        """The provider lost its contract: no new youths; its youths finish there (M7)."""
        self._accrue()
        p.open = False
        self.open_mask[p.idx] = False
        self._open_cands.clear()
        self.cap_open -= p.capacity
        self.staff_open -= p.staff
        self.overhead_rate -= p.staff * p.overhead / 7.0
        self.used_open -= p.used

    def baseline_spending(self) -> float:
        """Spending per unit in the year before the switch (the lump-sum basis)."""
        if self.baseline_mark is None:
            span = max(self.t_switch, 1.0)
            return self.acc["billed"] * DAYS_PER_YEAR / span
        return self.acc["billed"] - self.baseline_mark

    def pay_extra(self, eur: float) -> None:
        self.acc["lump"] += eur

    def _transaction(self, hours: float) -> None:
        if hours:
            self.acc["tx_h"] += hours
            self.acc["mun_h"] += self.regime.admin.municipal_hours_per_transaction

    def _marks(self) -> dict:
        """Cumulative quantities at this moment (to difference over the horizon)."""
        now = self.env.now
        for p in self.providers:
            p.accrue(now)
        return dict(acc=dict(self.acc), counts=dict(self.counts),
                    hours=np.array([p.hours for p in self.providers]))

    def _accrue(self) -> None:
        now = self.env.now
        dt = now - self.t_acc
        if dt:
            a = self.acc
            a["billed"] += self.billed_rate * dt
            a["team"] += self.team_rate * dt
            a["lump"] += self.lump_rate * dt
            a["used"] += self.used_open * dt
            a["cap"] += self.cap_open * dt
            a["staff_h"] += self.staff_open / 7.0 * dt
            a["overhead_h"] += self.overhead_rate * dt
            a["decl_h"] += self.decl_load / 7.0 * dt
            a["waiting"] += self.n_waiting * dt
            a["in_care"] += self.n_in_care * dt
            self.t_acc = now

    # ================================================================== helpers for regimes
    def draw(self, dist) -> float:
        """One draw from ``dist`` on the assessment stream (blocks per distribution)."""
        block = self._draws.get(id(dist))
        if block is None:
            block = self._draws[id(dist)] = SpecBlock(dist, self.streams.assessment)
        return block()

    def offers(self, p: Provider, ep: Episode) -> bool:
        return bool(self.world.offers_form[p.idx, ep.care_form] and
                    self.world.proficiency[p.idx, ep.target_domain] > 0)

    def open_candidates(self, domain: int, form: int) -> np.ndarray:
        """Open providers offering this domain and care form; failing that, open
        providers offering the form; failing that, every open provider (a
        contract must cover the need). Cached until a provider closes."""
        key = (domain, form)
        cands = self._open_cands.get(key)
        if cands is None:
            w, is_open = self.world, self.open_mask
            cands = w.candidates.get(key, np.array([], dtype=int))
            cands = cands[is_open[cands]]
            if not len(cands):
                cands = np.flatnonzero(w.offers_form[:, form] & is_open)
            if not len(cands):
                cands = np.flatnonzero(is_open)
            self._open_cands[key] = cands
        return cands

    def backlogs(self, cands: np.ndarray) -> np.ndarray:
        """Backlog in weeks of candidate providers' own lists (vectorised)."""
        return self.backlog[cands]

    def collective(self, c: int) -> Collective:
        if c not in self.collectives:
            self.collectives[c] = Collective(c, self.world.collective_names[c])
        return self.collectives[c]

    def events_processed(self) -> int:
        """Events processed so far: SimPy's (scheduled minus still queued) plus
        the referrals of the merged arrival stream."""
        scheduled = next(self.env._eid)   # ids are handed out in order from 0
        self.env._eid = itertools.count(scheduled + 1)
        return scheduled - len(self.env._queue) + self.arrivals

    def in_care_at(self, p: Provider):
        return self._in_care[p.idx].values()

    # ================================================================== end of run
    def _close_records(self) -> None:
        """Youths still in the system at the end are records too."""
        for ep in list(self.active.values()):
            if ep.in_care:
                p = self.team if ep.provider < 0 else self.providers[ep.provider]
                self._stop(ep, p, transaction=False)
                self.episodes.add(ep, "in_care_at_end", self)
            else:
                self.episodes.add(ep, "waiting_at_end", self)
        self.active.clear()

    def assert_invariants(self) -> None:
        """Capacity, counters and lists agree (used in tests at every event)."""
        for p in self.providers + [self.team]:
            if p.used > max(p.capacity, p.cut_used) + 1e-6:
                raise InvariantError(f"{p.name}: caseload {p.used:.3f} above capacity {p.capacity:.3f}")
            if p.used < -1e-6 or p.in_care < 0:
                raise InvariantError(f"{p.name}: negative caseload")
        waiting = sum(1 for ep in self.active.values() if ep.queue is not None and ep.queue is not self.assess_queue)
        if waiting != self.n_waiting:
            raise InvariantError(f"waiting counter {self.n_waiting} != {waiting} youths on lists")
        in_care = sum(1 for ep in self.active.values() if ep.in_care)
        if in_care != self.n_in_care:
            raise InvariantError(f"in-care counter {self.n_in_care} != {in_care}")
