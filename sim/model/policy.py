"""What a contract regime decides, as a policy object the care process asks.

The care process in ``sim.model`` never branches on the regime's name: it asks
the active regime how to indicate, match, dose, follow up and pay. A new regime
is one new module with a subclass of :class:`Regime` registered in
``sim.regimes.REGIMES``. A regime sees the model only through
:class:`CareHost`, the part of ``sim.model.process.CareModel`` it may use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Optional, Protocol

import numpy as np

from ..config.schema import AdminTerms, Config, Switches
from ..units import MONTHS_PER_YEAR, WHOLE_WEEKS_PER_YEAR
from .waiting_list import Entry, Tickets, WaitingList

if TYPE_CHECKING:  # pragma: no cover
    from .behaviour import PaymentBehaviour
    from .episode import Episode
    from .provider import Collective, Provider
    from .world import World


class CareHost(Protocol):
    """What a regime may use of the care model (``CareModel`` provides it)."""

    cfg: Config
    switches: Switches                  # mechanism switches M1-M8
    world: World
    providers: list[Provider]
    collectives: dict[int, Collective]
    backlog: np.ndarray                 # weeks of backlog of each provider's own list
    log_size: np.ndarray                # log of each provider's staff relative to the median
    max_units: list[float]              # per care form: physical maximum of units per week
    behaviour: PaymentBehaviour         # what providers do because of how they are paid
    decision_uniform: Callable[[], float]         # the next uniform for a decision (assessment stream)
    gumbel: Callable[[int], np.ndarray]           # standard Gumbel noise (choices stream)
    tickets: Tickets                    # the run's waiting-list tickets (for a regime's own lists)

    @property
    def now(self) -> float: ...

    def draw(self, dist, name: str) -> float: ...

    def remaining_need_days(self, ep: Episode, target: float = 1.0) -> float: ...

    def need_met(self, ep: Episode, target: float = 1.0) -> bool: ...

    def offers(self, p: Provider, ep: Episode) -> bool: ...

    def open_candidates(self, domain: int, form: int) -> np.ndarray: ...

    def set_terms(self, p: Provider, overhead_share: float, billed_per_unit: bool, declaration_load: float,
                  extra_staff: float = 0.0) -> None: ...

    def close(self, p: Provider) -> None: ...

    def baseline_by_provider(self) -> np.ndarray: ...

    def set_budget_rate(self, p: Provider, eur_per_year: float) -> None: ...

    def release_staff(self, p: Provider) -> float: ...

    def pay_extra(self, eur: float) -> None: ...

    def collective(self, c: int) -> Collective: ...

    def in_care_at(self, p: Provider) -> Iterable[Episode]: ...

    def requeue(self, ep: Episode, priority: int, since: float) -> None: ...

    def transfer(self, ep: Episode) -> None: ...

    def dispatch(self, p: Provider) -> None: ...


@dataclass(frozen=True)
class FollowUp:
    """Care continues after a segment: after ``delay`` days the youth joins a
    waiting list again; ``reindicate`` means a new indication (administration)."""

    delay: float
    priority: int
    reindicate: bool
    target: Optional[WaitingList] = None
    stay: bool = False      # the same provider continues at once (no list, no wait)


#: care goes on at the same provider without a new wait
CONTINUE = FollowUp(0.0, 0, False, None, True)


NO_ADMIN = AdminTerms(overhead_share=0.0, hours_per_allocation=0.0, hours_per_start=0.0, hours_per_stop=0.0,
                      hours_per_declaration=0.0, municipal_hours_per_transaction=0.0)


def weekly_declaration_hours(per_month: float) -> float:
    """Declaration hours per youth per month as hours per week (12 months over 52 weeks)."""
    return per_month * MONTHS_PER_YEAR / WHOLE_WEEKS_PER_YEAR


class Regime:
    """Base policy: the defaults are the neutral choices both regimes share."""

    name = "base"
    bills_per_unit = True
    may_skip_head = False   # True when ``pick`` may pass over the head of a list
    staff_lost = 0.0        # staff hours a week that left the region's care under this regime
    staff_in_transit = 0.0  # staff hours a week between a closing and a contracted provider

    def __init__(self, model: CareHost, admin: AdminTerms):
        self.model = model
        self.cfg = model.cfg
        self._choice_static: dict = {}   # (candidates, municipality) -> fixed part of the choice utility
        self._wait_weight = model.cfg.regimes.product.choice.wait / 10.0   # utility per 10 weeks of backlog
        self.admin = admin if model.switches.admin_burden else NO_ADMIN

    # -- contract ---------------------------------------------------------------
    def activate(self) -> None:
        """Called when the regime takes over (day 0 for the status quo, the
        contract start for the regime under study)."""
        declaration = weekly_declaration_hours(self.admin.hours_per_declaration)
        for p in self.model.providers:
            self.model.set_terms(p, overhead_share=self.admin.overhead_share, billed_per_unit=self.bills_per_unit,
                                 declaration_load=declaration)

    def on_contract_year(self, year: int) -> None:
        """Start of a contract year (after the contract start)."""

    def on_month(self) -> None:
        """Monthly bookkeeping (after the month's snapshot)."""

    def yearly_payment(self) -> float:
        """Volume-independent payment per year (EUR), paid continuously."""
        return 0.0

    # -- the care process asks ----------------------------------------------------
    def indicate(self, ep: Episode) -> None:
        """Set what the youth is entitled to (a product, or a domain and goal)."""

    def match(self, ep: Episode) -> WaitingList:
        raise NotImplementedError

    def dose(self, ep: Episode, p: Provider) -> tuple[float, float]:
        """Units per week and duration (days) of the next care segment at ``p``
        (:meth:`intensity`, then :meth:`duration`)."""
        plan = self.model.behaviour.plan(p)
        units = self.intensity(ep, p, plan)
        return units, self.duration(ep, p, units, plan)

    def intensity(self, ep: Episode, p: Provider, plan: tuple[float, float]) -> float:
        """Units per week ``p`` would give ``ep`` now, under the provider's
        ``plan`` (``behaviour.plan(p)``: target and intensity factor). No side
        effects: the care process asks it before it knows there is room."""
        raise NotImplementedError

    def duration(self, ep: Episode, p: Provider, units: float, plan: tuple[float, float]) -> float:
        """Planned days of the segment ``ep`` starts at ``p`` with ``units`` a
        week; sets ``ep.seg_target``, the progress at which care stops."""
        raise NotImplementedError

    def after_segment(self, ep: Episode, p: Provider) -> Optional[FollowUp]:
        """None when the episode ends, else how care continues."""
        return None

    def on_need_shift(self, ep: Episode, p: Provider) -> FollowUp:
        """The youth's need moved to its secondary domain mid-care."""
        raise NotImplementedError

    def admission_limit(self, p: Provider) -> float:
        """Caseload (hours per week) up to which ``p`` admits new youths."""
        return p.capacity

    def pick(self, wl: WaitingList, p: Provider) -> Optional[Entry]:
        """The entry ``p`` would admit next from ``wl`` (default: its head)."""
        return wl.head()

    def secondary_proficiency(self, ep: Episode, p: Provider) -> float:
        """Proficiency applied to the youth's secondary domain (M4 consultation)."""
        return float(self.model.world.proficiency[p.idx, ep.secondary]) if ep.secondary >= 0 else 1.0

    # -- shared helpers -------------------------------------------------------------
    def family_choice(self, ep: Episode, cands: np.ndarray) -> Provider:
        """Multinomial-logit choice among candidate providers: home municipality,
        size (reputation), and the backlog families see (utility per 10 weeks)."""
        m = self.model
        if len(cands) == 1:
            return m.providers[int(cands[0])]
        key = (id(cands), ep.municipality)
        static = self._choice_static.get(key)
        if static is None or static[0] is not cands:
            ch = self.cfg.regimes.product.choice
            static = (cands, ch.home * (m.world.home[cands] == ep.municipality) + ch.size * m.log_size[cands])
            self._choice_static[key] = static
        u = static[1] - self._wait_weight * m.backlog[cands] + m.gumbel(len(cands))
        return m.providers[int(cands[int(u.argmax())])]

    def open_candidates(self, ep: Episode, domain: int) -> np.ndarray:
        return self.model.open_candidates(domain, ep.care_form)


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
