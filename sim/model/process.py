"""The care process: referrals, assessment, matching, waiting, care and outcome.

One SimPy environment per run. Referral arrivals, the monthly bookkeeping and
the contract timeline are SimPy processes; a youth's pathway is a chain of
SimPy events whose callbacks move the youth on (event scheduling on SimPy's
calendar). That costs two events per care segment instead of the five or six
of a process per youth, which is what makes thousands of replications
affordable. Every decision that differs between contract regimes is asked of
the active regime object (``sim.regimes``) through the :class:`~.policy.CareHost`
interface; the model never branches on the regime's name and never imports the
experiment layer.
"""
from __future__ import annotations

import dataclasses
import math
from functools import partial
from typing import Iterable, Optional

import numpy as np

from ..config import Config
from ..errors import InvariantError
from ..units import DAYS_PER_MONTH, DAYS_PER_WEEK, DAYS_PER_YEAR
from .cases import CaseSource, Catalogue, FIELDS, referrals
from .environment import CareEnvironment
from .behaviour import PaymentBehaviour
from .episode import PENDING_DROPOUT, EndState, Episode
from .policy import FollowUp, Regime, logistic
from .provider import Collective, Provider
from .records import (COMPLETED, DROPPED_OUT, IN_CARE_AT_END, OTHER_FUNDER, WAITING_AT_END, EpisodeRecorder,
                      MonthlyRecorder)
from .streams import GumbelBlock, SpecBlock, Streams, UniformBlock
from .waiting_list import REGULAR, URGENT, URGENT_HANDOVER, Tickets, WaitingList
from .world import World, build_world


class Arrivals:
    """The pre-drawn referrals of youths new to care, handed out in time order:
    ``time`` is the next one's (inf when none is left), :meth:`take` its latent
    row in FIELDS order. Rows become Python tuples a block at a time (the draws
    were made up front; this only bounds memory). A plain object, so a run
    paused at the contract switch can be copied."""

    __slots__ = ("times", "cols", "i", "n", "time", "_rows", "_block_start", "_block")

    def __init__(self, times: np.ndarray, cols: dict[str, np.ndarray], block: int = 4096):
        self.times = times.tolist()
        self.cols = cols
        self.n = len(self.times)
        self.i = 0
        self.time = self.times[0] if self.n else math.inf
        self._block = block
        self._block_start = 0
        self._rows: list[tuple] = []

    def take(self) -> tuple:
        """The latent row of the referral at :attr:`time`; moves to the next."""
        i = self.i
        k = i - self._block_start
        if k >= len(self._rows):
            self._block_start, k = i, 0
            end = i + self._block
            self._rows = list(zip(*(self.cols[f][i:end].tolist() for f in FIELDS)))
        self.i = i = i + 1
        self.time = self.times[i] if i < self.n else math.inf
        return self._rows[k]


class CareModel:
    """One replication of one regime: build with a config, the regime under
    study and the status quo (policy classes, see ``sim.run``) and a seed, then ``run()``."""

    def __init__(self, cfg: Config, regime: type[Regime], seed: int, status_quo: type[Regime],
                 check_invariants: bool = False):
        self.cfg = cfg
        self.regime_under_study = regime
        self.seed = int(seed)
        self.switches = cfg.mechanism
        self.check_invariants = check_invariants
        self.behaviour = PaymentBehaviour(cfg)       # what providers do because of how they are paid
        self.judged_share = 1.0 / (1.0 + cfg.demand.need_beyond_judged)   # need as judged / need
        self.streams = Streams(seed)
        self.world: World = build_world(cfg, self.streams.world)
        self.catalogue: Catalogue = self.world.catalogue
        self.env = CareEnvironment()
        self.tickets = Tickets()          # waiting-list tickets of this run (shared by all its lists)
        self.arrivals_stream: Optional[Arrivals] = None   # set by ``warm_up``
        tl = cfg.timeline
        self.t_contract_start = tl.contract_start_day
        self.t_end = tl.end_day

        forms = [cfg.care_forms[f] for f in self.catalogue.care_forms]
        self.staff_per_unit = [c.staff_hours_per_unit for c in forms]
        self.team_delivers = [c.delivered_by == "access_team" for c in forms]
        self.heavier_form = [self.catalogue.care_forms.index(c.heavier) if c.heavier else -1 for c in forms]
        # [domain][form] EUR per unit (Python floats: numpy scalars would make every rate one)
        self.unit_price = [[float(c.price_eur * cfg.demand.domains[d].price_factor) for c in forms]
                           for d in self.catalogue.domains]
        self.team_unit_price = [c.price_eur for c in forms]
        self.need_intensity_dists = [c.need_intensity for c in forms]
        self.max_units = [c.unit_max for c in forms]          # physical maximum, units per week
        self.form_mean_weeks = [c.need_duration.mean() / DAYS_PER_WEEK for c in forms]

        w = self.world
        self.backlog = np.zeros(w.n)      # mirrors each provider's own list backlog (weeks)
        self.providers = [Provider(j, w.names[j], float(w.staff_hours[j]), int(w.home[j]), self.backlog,
                                   self.tickets) for j in range(w.n)]
        self.log_size = np.log(w.staff_hours / np.median(w.staff_hours))
        self.open_mask = np.ones(w.n, dtype=bool)
        self._open_candidates: dict = {}
        self.access_team = Provider(-1, "access_team", cfg.access_team.care_hours_per_week, -1, None, self.tickets)
        self.access_team.billed_per_unit = False
        self.collectives: dict[int, Collective] = {}
        self._in_care_at: dict[int, dict[int, Episode]] = {j: {} for j in range(w.n)}

        # access team's assessments
        self.assessment_list = WaitingList("assessment", tickets=self.tickets)
        self.in_assessment = 0
        self.assessors = cfg.access_team.assessors

        # random numbers that are not a youth's latent attributes
        self.decision_uniform = UniformBlock(self.streams.assessment)
        self.gumbel = GumbelBlock(self.streams.choices)
        self._spec_blocks: dict[str, SpecBlock] = {}
        self.rereferral_cases = CaseSource(cfg, self.catalogue, self.streams.rereferrals)

        # state counters and totals (integrated lazily between changes)
        self.active: dict[int, Episode] = {}
        self.next_uid = 0
        self.next_youth = 0
        self.arrivals = 0           # referrals handled by the merged arrival stream
        self.n_waiting = 0          # on providers' waiting lists
        self.n_waiting_follow_up = 0  # of which care had started (follow-up waits)
        self.n_in_care = 0
        self.declaration_load = 0.0   # declaration hours per week of the youths in care
        self.used_open = 0.0          # caseload (hours per week) of providers taking new youths
        self.capacity_open = 0.0
        self.staff_open = 0.0
        self.billed_rate = 0.0      # EUR/day paid per unit
        self.team_rate = 0.0
        self.lump_rate = 0.0        # EUR/day paid regardless of volume
        self.overhead_rate = 0.0    # provider admin hours per day (overhead share)
        self.t_accrued = 0.0
        self.totals = dict(billed=0.0, team=0.0, lump=0.0, used=0.0, cap=0.0, staff_h=0.0, overhead_h=0.0,
                           decl_h=0.0, tx_h=0.0, mun_h=0.0, waiting=0.0, waiting_follow_up=0.0, in_care=0.0,
                           list_time=0.0, care_time=0.0)
        self.counts = dict(referrals=0, starts=0, stops=0, ends=0, dropouts=0, reindications=0,
                           handovers=0, listed=0, unlisted=0, other_funder=0)
        self.billed_a_year_before: Optional[float] = None   # totals["billed"] a year before the contract start
        self.spend_a_year_before: Optional[np.ndarray] = None   # each provider's catalogue spend then
        self.spend_at_contract_start: Optional[np.ndarray] = None

        self.episodes = EpisodeRecorder(self.judged_share)
        self.monthly = MonthlyRecorder()
        self.capacity_open = sum(p.capacity for p in self.providers)
        self.staff_open = sum(p.staff for p in self.providers)
        self.regime: Regime = status_quo(self)
        self.regime.activate()

    @property
    def now(self) -> float:
        return self.env.now

    # ================================================================== run
    def run(self, close: bool = True) -> None:
        """Simulate from day 0 to the end of the horizon (from a preloaded state
        when ``timeline.initial_state`` is preloaded): :meth:`warm_up`, then
        :meth:`go_on`. ``close=False`` leaves the youths still in the system
        open (no end-of-run records), e.g. for :meth:`snapshot_state`."""
        self.warm_up()
        self.go_on(close)

    def warm_up(self) -> None:
        """Simulate the status quo up to the contract switch: every event before
        the contract start and, at it, those before the contract-start event,
        whose marks are taken; the run pauses there, before the regime under
        study takes over (or at the end of the horizon, if that comes first).
        The paused model can be pickled and each copy continued with
        :meth:`branch` and :meth:`go_on`: the same result as running it from
        day 0 (``sim.run.run_branches``)."""
        if self.arrivals_stream is not None:
            raise RuntimeError("warm_up: this model has already run")
        if self.cfg.timeline.initial_state == "preloaded":
            from .initial import load_initial_state
            load_initial_state(self)
        self.monthly.snapshot(self)
        self.env.call_later(DAYS_PER_MONTH, self._month)
        mark = self.t_contract_start - DAYS_PER_YEAR
        if mark > 0:
            self.env.call_later(mark, self._baseline_year)
        else:
            self.env.call_later(self.t_contract_start, self._contract_start)
        times, cols = referrals(self.cfg, self.catalogue, self.streams)
        self.arrivals_stream = Arrivals(times, cols)
        self._loop()

    @property
    def at_switch(self) -> bool:
        """Paused at the contract switch (after :meth:`warm_up`, before :meth:`go_on`)."""
        return self.env.paused

    def branch(self, cfg: Config, regime: type[Regime]) -> None:
        """Make this model, paused at the switch, continue as ``cfg`` under
        ``regime``. ``cfg`` may differ from the model's config only in what
        the status quo never reads before the switch (:func:`sim.config.warm_up_key`):
        the expertise regime's terms, the lump-sum behaviours and its contracts
        (the world's contracted providers and collectives, drawn last from the
        world stream, are redrawn from the new config)."""
        from ..config.branching import same_warm_up
        if not self.at_switch:
            raise RuntimeError("branch: the model is not paused at the contract switch")
        why = same_warm_up(self.cfg, cfg)
        if why:
            raise ValueError(f"branch: the config differs before the switch ({why})")
        if cfg is not self.cfg:
            contracts = build_world(cfg, Streams(self.seed).world)
            self.world = dataclasses.replace(self.world, contracted=contracts.contracted,
                                             collective=contracts.collective,
                                             collective_names=contracts.collective_names)
            self.cfg = cfg
            self.behaviour = PaymentBehaviour(cfg)
        self.regime_under_study = regime

    def go_on(self, close: bool = True) -> None:
        """From the switch (or wherever :meth:`warm_up` stopped) to the end of
        the horizon, then the end-of-run records (unless ``close`` is False)."""
        if self.arrivals_stream is None:
            raise RuntimeError("go_on: call warm_up first")
        if self.at_switch:
            self.env.paused = False
            self._switch()
            self._loop()
        self._accrue()
        if self.monthly.last_time() < self.env.now:
            self.monthly.snapshot(self)
        self.at_end = self._marks()
        if close:
            self._close_records()

    def _loop(self) -> None:
        """The event loop: SimPy's calendar merged with the pre-drawn arrival stream.

        Referrals of youths new to care are exogenous: their times and latent
        attributes are drawn up front in numpy blocks. Instead of a SimPy process
        resuming once per referral, the loop hands each referral to the care
        process when its time comes (before any SimPy event at the same time),
        then lets SimPy process its own events. SimPy's clock is advanced to the
        referral time, which is exactly what a Timeout would do. It returns at
        the end of the horizon, or when an event paused the environment (the
        contract switch); called again, it goes on where it stopped.
        """
        env, end, arr = self.env, self.t_end, self.arrivals_stream
        step_before, advance_to = env.step_before, env.advance_to
        check = self.assert_invariants if self.check_invariants else None
        while True:
            t_arr = arr.time    # the next referral of a youth new to care
            step_before(t_arr if t_arr < end else end, check)   # SimPy's events before it (or the end)
            if env.paused:
                return
            if t_arr >= end:
                advance_to(end)
                return
            advance_to(t_arr)
            youth = self.next_youth
            self.next_youth += 1
            self.arrivals += 1
            self.refer(Episode(self._new_uid(), youth, 0, t_arr, arr.take()))
            if check:
                check()

    def _month(self, _event=None) -> None:
        """Monthly bookkeeping: one row per month (then again a month later)."""
        self._accrue()
        self.monthly.snapshot(self)
        self.regime.on_month()
        self._dispatch_all()
        self.env.call_later(DAYS_PER_MONTH, self._month)

    # the contract timeline: the baseline year, the contract start (the switch), contract years
    def _baseline_year(self, _event=None) -> None:
        self._accrue()
        self.billed_a_year_before = self.totals["billed"]
        self.spend_a_year_before = self._spend()
        self.env.call_later(self.t_contract_start - self.env.now, self._contract_start)

    def _contract_start(self, _event=None) -> None:
        """The contract start: its marks, then a pause (the switch, :meth:`_switch`,
        comes in :meth:`go_on`, so that a run can be branched here)."""
        self._accrue()
        self.spend_at_contract_start = self._spend()
        self.at_contract_start = self._marks()
        self.env.paused = True

    def _switch(self) -> None:
        """The regime under study takes over (nothing changes for the status quo)."""
        if self.regime_under_study is not type(self.regime):
            self.regime = self.regime_under_study(self)
            self.regime.activate()
        self.year_marks = [self.at_contract_start]
        self.contract_year = 0
        self.env.call_later(DAYS_PER_YEAR, self._contract_year)

    def _contract_year(self, _event=None) -> None:
        self._accrue()
        self.year_marks.append(self._marks())
        self.contract_year += 1
        self.regime.on_contract_year(self.contract_year)
        self._dispatch_all()
        self.env.call_later(DAYS_PER_YEAR, self._contract_year)

    # ================================================================== pathway
    def _new_uid(self) -> int:
        self.next_uid += 1
        return self.next_uid

    def refer(self, ep: Episode, _event=None) -> None:
        """A referral arrives."""
        self.counts["referrals"] += 1
        self.active[ep.uid] = ep
        ep.need_intensity = min(ep.need_intensity, self.max_units[ep.care_form])
        if self.switches.waiting_effects:
            self._wait_clocks(ep)
        if self.cfg.demand.sources[self.catalogue.sources[ep.source]].via_access_team:
            self._assess(ep)
        else:
            self._allocate(ep)

    def _wait_clocks(self, ep: Episode) -> None:
        """Start the clocks of a new wait (M6): deterioration after the youth's
        own threshold ``e_deteriorate x deterioration_mean_days`` of waiting, and
        leaving after ``e_patience x patience_mean_days``. One clock at a time:
        most youths start care before either. The clocks name the episode by
        its uid, so an episode that has ended is not kept alive (nor copied
        with the run) by a clock that can no longer fire."""
        ep.wait_spell += 1
        spell = ep.wait_spell
        w = self.cfg.waiting
        patience = ep.e_patience * w.patience_mean_days
        worse = ep.e_deteriorate * w.deterioration_mean_days
        if worse < patience and not ep.deteriorated:
            self.env.call_later(worse, partial(self._deterioration_due, ep.uid, patience - worse, spell))
        else:
            self.env.call_later(patience, partial(self._renege, ep.uid, spell))

    def _assess(self, ep: Episode) -> None:
        if self.in_assessment < self.assessors:
            self.in_assessment += 1
            d = self.draw(self.cfg.access_team.assessment_days, "assessment_days")
            self.env.call_later(d, partial(self._assessed, ep))
        else:
            ep.est_work = 0.0
            self.assessment_list.push(ep, URGENT if ep.urgent else REGULAR, self.env.now)

    def _assessed(self, ep: Episode, _event=None) -> None:
        self.in_assessment -= 1
        ep.assessed_time = self.env.now
        if self.assessment_list.head() is not None:
            self._assess(self.assessment_list.pop_head())
        self._allocate(ep)

    def _allocate(self, ep: Episode) -> None:
        """Indication and allocation by the regime, then a place on a waiting list
        (once per episode: after the referral, or after the assessment)."""
        if ep.end_state is PENDING_DROPOUT:
            self._finish(ep, EndState.DROPPED_OUT)
            return
        self.regime.indicate(ep)
        self._transaction(self.regime.admin.hours_per_allocation)
        ep.allocated_time = self.env.now
        self.place(ep, URGENT if ep.urgent else REGULAR, self.env.now)

    def place(self, ep: Episode, priority: int, since: float, target: Optional[WaitingList] = None) -> None:
        """Put ``ep`` on a waiting list (the regime's match unless ``target``) and
        let that list's providers admit."""
        if self.team_delivers[ep.care_form]:
            wl = self.access_team.own_list
        else:
            wl = target if target is not None else self.regime.match(ep)
        ep.est_work = self.expected_work(ep)
        ep.wait_since = since
        self._accrue()
        wl.push(ep, priority, since)
        ep.listed_at = self.env.now
        self.n_waiting += 1
        if ep.started:
            self.n_waiting_follow_up += 1
        self.counts["listed"] += 1
        for p in wl.servers:
            if ep.waiting_list is not wl:
                break
            if p.open and p.used < p.capacity:
                self.dispatch(p)

    def expected_work(self, ep: Episode) -> float:
        """Staff hours of care a waiting youth is expected to need: its weekly
        need over the mean duration of its care form (what the list's backlog
        in weeks is made of; the youth's own duration is not known yet)."""
        f = ep.care_form
        return ep.need_intensity * self.staff_per_unit[f] * self.form_mean_weeks[f] * max(1.0 - ep.progress, 0.0)

    def requeue(self, ep: Episode, priority: int, since: float) -> None:
        """Re-route a waiting youth (its provider lost its contract), keeping its place in time."""
        self._leave(ep)
        self.place(ep, priority, since)

    def _leave(self, ep: Episode) -> None:
        """Take ``ep`` off its list other than by admission, then let that list's
        providers admit: the next youth may fit now (work-conserving)."""
        wl = ep.waiting_list
        self.unlist(ep)
        self._admit(wl.servers)

    def _dispatch_all(self) -> None:
        """Every open provider with room admits (after time-driven changes:
        a budget that accrued, a contract year)."""
        self._admit(self.providers)

    def _admit(self, providers) -> None:
        for p in providers:
            if p.open and p.used < p.capacity:
                self.dispatch(p)

    def unlist(self, ep: Episode) -> None:
        """Take ``ep`` off the list it waits on (for assessment or for care)."""
        wl = ep.waiting_list
        self._accrue()
        wl.remove(ep)
        if wl is not self.assessment_list:
            self.n_waiting -= 1
            if ep.started:
                self.n_waiting_follow_up -= 1
            self.counts["unlisted"] += 1
            listed = self.env.now - ep.listed_at
            self.totals["list_time"] += listed
            ep.list_days += listed

    def _deterioration_due(self, uid: int, until_renege: float, spell: int, _event=None) -> None:
        """The youth's deterioration time passed; its patience runs out later."""
        ep = self.active.get(uid)     # None: the episode has ended
        if ep is None or ep.ended or ep.in_care or ep.wait_spell != spell:
            return
        self._deteriorate(ep)
        if not ep.ended:
            self.env.call_later(until_renege, partial(self._renege, uid, spell))

    def _renege(self, uid: int, spell: int, _event=None) -> None:
        """The family's patience ran out: it leaves if this wait has not ended in care (M6)."""
        ep = self.active.get(uid)     # None: the episode has ended
        if ep is None or ep.ended or ep.in_care or ep.wait_spell != spell:
            return
        if ep.waiting_list is None:
            ep.end_state = PENDING_DROPOUT   # in assessment, indication or a re-indication: leaves when that ends
            return
        self._leave(ep)
        self._finish(ep, EndState.DROPPED_OUT)

    def dispatch(self, p: Provider) -> None:
        """``p`` admits youths from the lists it serves while capacity allows."""
        regime = self.regime
        may_skip_head = regime.may_skip_head
        team = p is self.access_team
        while p.open:
            best = None
            for wl in p.lists_served:
                if not wl.size:
                    continue
                e = regime.pick(wl, p) if may_skip_head else wl.head()
                # entries order by (priority, since, ticket); tickets are unique
                if e is not None and (best is None or e < best):
                    best = e
            if best is None:
                return
            ep = best.episode
            if ep.end_state is PENDING_DROPOUT:
                self.unlist(ep)
                self._finish(ep, EndState.DROPPED_OUT)
                continue
            limit = regime.admission_limit(p)      # first: it updates whether p is budget-tight
            plan = self.behaviour.plan(p)          # p's target and intensity factor now
            if ep.started and self.need_met(ep, plan[0]):
                self.unlist(ep)         # waiting for care it no longer needs (its target moved): done
                self._finish(ep, EndState.COMPLETED)
                continue
            # the intensity first: most attempts end here, for want of room
            units = ep.need_intensity if team else regime.intensity(ep, p, plan)
            f = ep.care_form
            if units > self.max_units[f]:
                units = self.max_units[f]
            load = units * self.staff_per_unit[f] + p.declaration_load
            if load > p.capacity:
                load = p.capacity
            if p.used + load > limit + 1e-9:
                return
            self.unlist(ep)
            if self.behaviour.moves_to_other_funder(ep, p):    # p would admit it, and moves it instead
                self._finish(ep, EndState.OTHER_FUNDER)
                continue
            days = self._team_days(ep) if team else regime.duration(ep, p, units, plan)
            self._start(ep, p, units, days, load)

    def _deteriorate(self, ep: Episode) -> None:
        """Deterioration while waiting (M6), at the moment the youth's own
        threshold ``e_deteriorate * deterioration_mean_days`` of waiting passes:
        severity +1, need grows, and an urgent case may escalate to a heavier
        care form (a new indication and a place on another list)."""
        if ep.ended or ep.in_care or ep.deteriorated:
            return
        w = self.cfg.waiting
        ep.deteriorated = True
        ep.severity = min(ep.severity + 1, 2)
        ep.need_intensity *= w.deterioration_intensity_factor
        ep.need_duration *= w.deterioration_duration_factor
        ep.progress /= w.deterioration_duration_factor     # care already given is a smaller share of the need
        heavier = self.heavier_form[ep.care_form]
        escalate = ep.urgent and heavier >= 0 and ep.u_escalate < w.escalation_probability
        if escalate:
            ep.escalated = True
            ep.care_form = heavier
            q = np.array([w.escalated_need_quantile])
            ep.need_intensity = float(self.need_intensity_dists[heavier].ppf(q)[0]) * w.deterioration_intensity_factor
        ep.need_intensity = min(ep.need_intensity, self.max_units[ep.care_form])   # more need shows in duration
        wl = ep.waiting_list
        if wl is None or wl is self.assessment_list:
            return      # still in assessment: the allocation sees the new need
        self._accrue()
        if escalate:
            self._leave(ep)
            self.regime.indicate(ep)
            self.place(ep, URGENT, ep.wait_since)
        else:
            wl.rework(ep, self.expected_work(ep))

    def _team_days(self, ep: Episode) -> float:
        """The access team's own care: the need at its intensity, no payment incentive."""
        ep.seg_target = 1.0
        return self.remaining_need_days(ep)

    def remaining_need_days(self, ep: Episode, target: float = 1.0) -> float:
        """Days of care at full intensity until the youth's progress reaches
        ``target`` (1: the need as judged is met; see ``behaviour.target``)."""
        return max(ep.need_duration * (target - ep.progress), 1.0)

    def need_met(self, ep: Episode, target: float = 1.0) -> bool:
        """Less than a day of care is left to ``target`` (no segment is worth it)."""
        return ep.need_duration * (target - ep.progress) < 1.0

    def _start(self, ep: Episode, p: Provider, units: float, days: float, load: float,
               transaction: bool = True) -> None:
        now = self.env.now
        self._accrue()
        p.accrue(now)
        if not ep.started:
            ep.started = True
            ep.care_start = now
            ep.first_provider = p.idx
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
        team = p is self.access_team
        rate = units / DAYS_PER_WEEK * (self.team_unit_price[ep.care_form] if team
                                        else self.unit_price[ep.target_domain][ep.care_form])
        ep.seg_rate = rate
        p.used += load
        p.cut_caseload = 0.0
        p.rate += rate
        p.in_care += 1
        self.n_in_care += 1
        self.counts["starts"] += 1
        if team:
            self.team_rate += rate
        else:
            self._in_care_at[p.idx][ep.uid] = ep
            if p.billed_per_unit:
                self.billed_rate += rate
            ep.seg_declaration = p.declaration_load
            self.declaration_load += ep.seg_declaration
            if p.open:
                self.used_open += load
            if transaction:
                self._transaction(self.regime.admin.hours_per_start)
        # a need shift (M4) interrupts the first segment part-way
        shift = (not ep.shifted and ep.secondary >= 0 and not team
                 and ep.u_shift < self.cfg.demand.need_shift_share)
        ep.seg_shift = shift
        ep.seg_duration = days * ep.u_shift_at if shift else days
        self.env.call_later(ep.seg_duration, partial(self._segment_end, ep, ep.seg_token))

    def _stop(self, ep: Episode, p: Provider, transaction: bool = True) -> None:
        """Close the current care segment at the current time (bookkeeping only)."""
        now = self.env.now
        self._accrue()
        p.accrue(now)
        dur = now - ep.seg_start
        weeks = dur / DAYS_PER_WEEK
        f = ep.care_form
        team = p is self.access_team
        ep.delivered_hours += ep.seg_units * self.staff_per_unit[f] * weeks
        ep.cost_eur += ep.seg_rate * dur
        ep.care_days += dur
        ep.last_care_end = now
        ep.progress += min(1.0, ep.seg_units / ep.need_intensity) * dur / ep.need_duration
        proficiency = 1.0 if team else float(self.world.proficiency[p.idx, ep.target_domain])
        ep.proficient_hours += proficiency * ep.seg_units * weeks
        ep.in_care = False
        self.counts["stops"] += 1
        self.totals["care_time"] += dur
        p.used -= ep.seg_load
        if p.used < 1e-9:
            p.used = 0.0
        p.rate -= ep.seg_rate
        p.in_care -= 1
        self.n_in_care -= 1
        if team:
            self.team_rate -= ep.seg_rate
        else:
            self._in_care_at[p.idx].pop(ep.uid, None)
            if p.billed_per_unit:
                self.billed_rate -= ep.seg_rate
            self.declaration_load -= ep.seg_declaration
            if p.open:
                self.used_open -= ep.seg_load
            if transaction:
                self._transaction(self.regime.admin.hours_per_stop)

    def _provider_of(self, ep: Episode) -> Provider:
        return self.access_team if ep.provider < 0 else self.providers[ep.provider]

    def _segment_end(self, ep: Episode, token: int, _event=None) -> None:
        if ep.seg_token != token or not ep.in_care:
            return  # transferred meanwhile
        p = self._provider_of(ep)
        team = p is self.access_team
        self._stop(ep, p, transaction=False)
        if ep.seg_shift:
            ep.shifted = True
            ep.target_domain, ep.secondary = ep.secondary, ep.target_domain
            follow_up = self.regime.on_need_shift(ep, p)
        elif team:
            follow_up = None
        else:
            follow_up = self.regime.after_segment(ep, p)
        if follow_up is not None and follow_up.stay:
            self._continue(ep, p)       # the same provider goes on: no list, no new wait
            return
        if not team:
            self._transaction(self.regime.admin.hours_per_stop)
        if follow_up is None:
            self._finish(ep, EndState.COMPLETED)
        else:
            self._follow_up(ep, follow_up)
        self.dispatch(p)

    def _continue(self, ep: Episode, p: Provider) -> None:
        """A new segment at the provider the youth is with, at once (care
        adjusted without a new indication): it keeps its place in the caseload."""
        units = self.regime.dose(ep, p)[0]     # the intensity the provider judges right; no planned end:
        spu = self.staff_per_unit[ep.care_form]
        room = p.capacity - p.used          # at least the load the youth just gave up
        units = min(units, self.max_units[ep.care_form], max(room - p.declaration_load, 0.0) / spu)
        if units <= 1e-9:    # no room at all (capacity was cut): it waits first in line instead
            self.place(ep, URGENT_HANDOVER, self.env.now, p.own_list if p.open else None)
            return
        # care goes on until the target the provider planned with (``dose`` set it) is met
        days = self.remaining_need_days(ep, ep.seg_target) / min(1.0, units / ep.need_intensity)
        self._start(ep, p, units, days, min(units * spu + p.declaration_load, p.capacity), transaction=False)

    def _follow_up(self, ep: Episode, fu: FollowUp) -> None:
        ep.follow_up = True
        if fu.reindicate:
            self.counts["reindications"] += 1
        if self.switches.waiting_effects and self.cfg.waiting.follow_up_effects:
            self._wait_clocks(ep)
        if fu.delay > 0:
            self.env.call_later(fu.delay, partial(self._after_follow_up_delay, ep, fu))
        else:
            self._after_follow_up_delay(ep, fu)

    def _after_follow_up_delay(self, ep: Episode, fu: FollowUp, _event=None) -> None:
        """The follow-up's delay (a re-indication) is over: on to a list."""
        if ep.end_state is PENDING_DROPOUT:     # left during the re-indication
            self._finish(ep, EndState.DROPPED_OUT)
            return
        if fu.reindicate:
            self.regime.indicate(ep)
            self._transaction(self.regime.admin.hours_per_allocation)
        self.place(ep, fu.priority, self.env.now, fu.target)

    def transfer(self, ep: Episode) -> None:
        """Move a youth in care to another provider (M7 transfer): a handover."""
        p = self.providers[ep.provider]
        self._stop(ep, p)
        ep.seg_token += 1
        ep.follow_up = True
        self.place(ep, URGENT_HANDOVER, self.env.now)

    def _finish(self, ep: Episode, state: EndState) -> None:
        """The episode ends (completed or dropped out): outcome, record, and
        perhaps a later re-referral."""
        now = self.env.now
        ep.end_state = state
        ep.exit_time = now
        self.active.pop(ep.uid, None)
        rr = self.cfg.rereferral
        if state is EndState.COMPLETED:
            ep.care_end = now
            self.counts["ends"] += 1
            ep.outcome = int(ep.u_outcome < self.goal_probability(ep))
            p_rr = rr.after_goal if ep.outcome else rr.after_no_goal
            self.episodes.add(ep, COMPLETED, self.staff_per_unit, now)
        elif state is EndState.OTHER_FUNDER:     # its care goes on elsewhere: no re-referral here
            self.counts["other_funder"] += 1
            # the cost shifted: its care as judged, at the catalogue price of its need
            ep.shifted_cost_eur = (ep.need_intensity * self.remaining_need_days(ep) / DAYS_PER_WEEK
                                   * self.unit_price[ep.target_domain][ep.care_form])
            self.episodes.add(ep, OTHER_FUNDER, self.staff_per_unit, now)
            return
        else:
            self.counts["dropouts"] += 1
            p_rr = rr.after_dropout
            self.episodes.add(ep, DROPPED_OUT, self.staff_per_unit, now)
        if ep.u_rereferral < p_rr:
            t = now + float(rr.delay.ppf(np.array([ep.u_rereferral_delay]))[0])
            row = list(self.rereferral_cases.next())   # drawn either way: the horizon shifts no youth
            if t < self.t_end:
                row[0] = ep.municipality
                nxt = Episode(self._new_uid(), ep.youth_id, ep.episode + 1, t, tuple(row))
                self.env.call_later(t - now, partial(self.refer, nxt))

    def goal_probability(self, ep: Episode) -> float:
        """Logistic outcome model (docs/model.md)."""
        o = self.cfg.outcome
        x = o.intercept + o.severity * ep.severity + o.handover * ep.handovers
        dose = min(1.0, ep.progress * self.judged_share)    # of the need, not of the need as judged
        x += o.dose * math.log(max(dose, o.dose_floor))
        if ep.deteriorated:
            x += o.deterioration
        if self.switches.expertise_match and ep.delivered_hours > 0:
            proficiency = ep.proficient_hours / (ep.delivered_hours / self.staff_per_unit[ep.care_form])
            x += o.proficiency * (proficiency - o.proficiency_reference)
        if ep.secondary >= 0 and ep.provider >= 0:
            p = self.providers[ep.provider]
            sec = self.regime.secondary_proficiency(ep, p)
            ep.unconsulted = sec < self.cfg.regimes.expertise.routing.proficiency_threshold
            if ep.unconsulted:
                x += o.unconsulted_secondary
        return logistic(x)

    # ================================================================== contracts and money
    def set_terms(self, p: Provider, overhead_share: float, billed_per_unit: bool, declaration_load: float,
                  extra_staff: float = 0.0) -> None:
        """Apply a regime's contract terms to a provider (capacity, payment,
        declarations). Terms equal to the provider's own and no extra staff
        change nothing, and touch nothing (no re-summed rates)."""
        if not extra_staff and (p.overhead_share, p.billed_per_unit, p.declaration_load) == \
                (overhead_share, billed_per_unit, declaration_load):
            return
        self._accrue()
        p.accrue(self.env.now)
        if p.open:
            self.capacity_open -= p.capacity
            self.staff_open -= p.staff
            self.overhead_rate -= p.staff * p.overhead_share / DAYS_PER_WEEK
        if p.billed_per_unit and not billed_per_unit:
            self.billed_rate -= p.rate
            self.lump_rate += p.budget_rate
        elif billed_per_unit and not p.billed_per_unit:
            self.billed_rate += p.rate
            self.lump_rate -= p.budget_rate
        p.billed_per_unit = billed_per_unit
        p.overhead_share = overhead_share
        p.declaration_load = declaration_load
        p.set_capacity(extra_staff)
        # a cut below the caseload leaves the youths in care; no one is admitted until it is below
        p.cut_caseload = p.used if p.used > p.capacity else 0.0
        if p.open:
            self.capacity_open += p.capacity
            self.staff_open += p.staff
            self.overhead_rate += p.staff * p.overhead_share / DAYS_PER_WEEK

    def close(self, p: Provider) -> None:
        """The provider lost its contract: no new youths; its youths finish there (M7)."""
        self._accrue()
        p.open = False
        self.open_mask[p.idx] = False
        self._open_candidates.clear()
        self.capacity_open -= p.capacity
        self.staff_open -= p.staff
        self.overhead_rate -= p.staff * p.overhead_share / DAYS_PER_WEEK
        self.used_open -= p.used

    def baseline_by_provider(self) -> np.ndarray:
        """Each provider's own volume x price in the year before the contract
        start (per year of the warm-up when that is shorter), EUR."""
        end = self.spend_at_contract_start if self.spend_at_contract_start is not None else self._spend()
        if self.spend_a_year_before is None:
            return end * DAYS_PER_YEAR / max(self.t_contract_start, 1.0)
        return end - self.spend_a_year_before

    def _spend(self) -> np.ndarray:
        now = self.env.now
        for p in self.providers:
            p.accrue(now)
        return np.array([p.catalogue_spend for p in self.providers])

    def set_budget_rate(self, p: Provider, eur_per_year: float) -> None:
        """``p``'s budget from now on (EUR a year, accrued daily): paid to it as a
        lump sum unless it is paid per unit (then it only bounds the budget)."""
        self._accrue()
        p.accrue(self.env.now)
        rate = float(eur_per_year) / DAYS_PER_YEAR     # a Python float (not a numpy scalar)
        if not p.billed_per_unit:
            self.lump_rate += rate - p.budget_rate
        p.budget_rate = rate

    def release_staff(self, p: Provider) -> float:
        """Staff hours a week of ``p`` (a provider without a contract) that its
        remaining caseload no longer needs: they leave it (the caller decides
        where they go). Returns the hours released."""
        need = p.used / (1.0 - p.overhead_share) if p.overhead_share < 1 else p.used
        free = p.staff - need
        if free <= 1e-9:
            return 0.0
        self._accrue()
        p.accrue(self.env.now)
        p.set_capacity(-free)
        return free

    def pay_extra(self, eur: float) -> None:
        self.totals["lump"] += eur

    def _transaction(self, hours: float) -> None:
        if hours:
            self.totals["tx_h"] += hours
            self.totals["mun_h"] += self.regime.admin.municipal_hours_per_transaction

    def _marks(self) -> dict:
        """Cumulative quantities at this moment (to difference over the horizon)."""
        now = self.env.now
        for p in self.providers:
            p.accrue(now)
        return dict(totals=dict(self.totals), counts=dict(self.counts),
                    hours=np.array([p.hours_delivered for p in self.providers]))

    def _accrue(self) -> None:
        now = self.env.now
        dt = now - self.t_accrued
        if dt:
            a = self.totals
            a["billed"] += self.billed_rate * dt
            a["team"] += self.team_rate * dt
            a["lump"] += self.lump_rate * dt
            a["used"] += self.used_open * dt
            a["cap"] += self.capacity_open * dt
            a["staff_h"] += self.staff_open / DAYS_PER_WEEK * dt
            a["overhead_h"] += self.overhead_rate * dt
            a["decl_h"] += self.declaration_load / DAYS_PER_WEEK * dt
            a["waiting"] += self.n_waiting * dt
            a["waiting_follow_up"] += self.n_waiting_follow_up * dt
            a["in_care"] += self.n_in_care * dt
            self.t_accrued = now

    # ================================================================== helpers for regimes
    def draw(self, dist, name: str) -> float:
        """One draw from ``dist`` on the assessment stream, in blocks per ``name``
        (one name per config field drawn from, so a block survives a copy of
        the run and a new config object)."""
        block = self._spec_blocks.get(name)
        if block is None:
            block = self._spec_blocks[name] = SpecBlock(dist, self.streams.assessment)
        return block()

    def offers(self, p: Provider, ep: Episode) -> bool:
        return bool(self.world.offers_form[p.idx, ep.care_form] and
                    self.world.proficiency[p.idx, ep.target_domain] > 0)

    def open_candidates(self, domain: int, form: int) -> np.ndarray:
        """Open providers offering this domain and care form; failing that, open
        providers offering the form; failing that, every open provider (a
        contract must cover the need). Cached until a provider closes."""
        key = (domain, form)
        cands = self._open_candidates.get(key)
        if cands is None:
            w, is_open = self.world, self.open_mask
            cands = w.candidates.get(key, np.array([], dtype=int))
            cands = cands[is_open[cands]]
            if not len(cands):
                cands = np.flatnonzero(w.offers_form[:, form] & is_open)
            if not len(cands):
                cands = np.flatnonzero(is_open)
            self._open_candidates[key] = cands
        return cands

    def collective(self, c: int) -> Collective:
        """Collective ``c`` (created empty on first use)."""
        if c not in self.collectives:
            self.collectives[c] = Collective(c, self.world.collective_names[c])
        return self.collectives[c]

    def in_care_at(self, p: Provider) -> Iterable[Episode]:
        """The youths in care at ``p`` (a live view)."""
        return self._in_care_at[p.idx].values()

    def events_processed(self) -> int:
        """Events processed so far: SimPy's plus the referrals of the merged arrival stream."""
        return self.env.processed + self.arrivals

    # ================================================================== end of run
    def snapshot_state(self) -> dict:
        """The youths in the system now, one row each, as the columns of a
        preload snapshot file (``sim.model.initial``; ``caresim preload``
        writes it after ``run(close=False)``). Changes nothing."""
        from .initial import snapshot
        return snapshot(self)

    def _close_records(self) -> None:
        """Youths still in the system at the end are records too."""
        now = self.env.now
        for ep in list(self.active.values()):
            if ep.in_care:
                self._stop(ep, self._provider_of(ep), transaction=False)
                self.episodes.add(ep, IN_CARE_AT_END, self.staff_per_unit, now)
            else:
                if ep.waiting_list is not None and ep.waiting_list is not self.assessment_list:
                    ep.list_days += now - ep.listed_at     # censored: on a list at the end
                self.episodes.add(ep, WAITING_AT_END, self.staff_per_unit, now)
        self.active.clear()

    def assert_invariants(self) -> None:
        """Capacity, counters and lists agree (used in tests at every event)."""
        for p in self.providers + [self.access_team]:
            if p.used > max(p.capacity, p.cut_caseload) + 1e-6:
                raise InvariantError(f"{p.name}: caseload {p.used:.3f} above capacity {p.capacity:.3f}")
            if p.used < -1e-6 or p.in_care < 0:
                raise InvariantError(f"{p.name}: negative caseload")
        waiting = sum(1 for ep in self.active.values()
                      if ep.waiting_list is not None and ep.waiting_list is not self.assessment_list)
        if waiting != self.n_waiting:
            raise InvariantError(f"waiting counter {self.n_waiting} != {waiting} youths on lists")
        for ep in self.active.values():
            if ep.in_care and ep.seg_units > self.max_units[ep.care_form] + 1e-9:
                raise InvariantError(f"youth {ep.youth_id}: {ep.seg_units:.3f} units a week of "
                                     f"{self.catalogue.care_forms[ep.care_form]}, above the unit's maximum "
                                     f"{self.max_units[ep.care_form]:g}")
            if ep.need_intensity > self.max_units[ep.care_form] + 1e-9:
                raise InvariantError(f"youth {ep.youth_id}: need {ep.need_intensity:.3f} above the unit's maximum")
        in_care = sum(1 for ep in self.active.values() if ep.in_care)
        if in_care != self.n_in_care:
            raise InvariantError(f"in-care counter {self.n_in_care} != {in_care}")
