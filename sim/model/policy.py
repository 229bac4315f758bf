"""What a contract regime decides, as a policy object the care process asks.

The care process in ``sim.model`` never branches on the regime's name: it asks
the active regime how to indicate, match, dose, follow up and pay. A new regime
is one new module with a subclass of :class:`Regime` registered in
``sim.regimes.REGIMES``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..config.schema import Admin
from .waiting_list import REGULAR, URGENT, WaitingList

if TYPE_CHECKING:  # pragma: no cover
    from .episode import Episode
    from .process import CareModel
    from .provider import Provider


@dataclass(frozen=True)
class FollowUp:
    """Care continues after a segment: after ``delay`` days the youth joins a
    waiting list again; ``reindicate`` means a new indication (administration)."""

    delay: float
    priority: int
    reindicate: bool
    target: Optional[WaitingList] = None


class Regime:
    """Base policy: the defaults are the neutral choices both regimes share."""

    name = "base"
    bills_per_unit = True
    picks = False   # True when ``pick`` may pass over the head of a list

    def __init__(self, model: "CareModel", admin: Admin):
        self.m = model
        self.cfg = model.cfg
        self._static: dict = {}     # (candidates, municipality) -> fixed part of the choice utility
        self._wait_weight = model.cfg.regimes.product.choice.wait / 10.0
        self.admin = admin if model.switch.admin_burden else Admin(
            overhead_share=0.0, hours_per_allocation=0.0, hours_per_start=0.0, hours_per_stop=0.0,
            hours_per_declaration=0.0, municipal_hours_per_transaction=0.0)

    # -- contract ---------------------------------------------------------------
    def activate(self) -> None:
        """Called when the regime takes over (day 0 for the status quo, the
        contract start for the regime under study)."""
        decl = self.admin.hours_per_declaration * 12.0 / 52.0
        for p in self.m.providers:
            self.m.set_terms(p, overhead=self.admin.overhead_share, bills=self.bills_per_unit, decl_load=decl)

    def on_contract_year(self, year: int) -> None:
        """Start of a contract year (after the contract start)."""

    def yearly_payment(self) -> float:
        """Volume-independent payment per year (EUR), paid continuously."""
        return 0.0

    # -- the care process asks ----------------------------------------------------
    def indicate(self, ep: "Episode") -> None:
        """Set what the youth is entitled to (a product, or a domain and goal)."""

    def match(self, ep: "Episode") -> WaitingList:
        raise NotImplementedError

    def dose(self, ep: "Episode", p: "Provider") -> tuple[float, float]:
        """Units per week and duration (days) of the next care segment."""
        raise NotImplementedError

    def after_segment(self, ep: "Episode", p: "Provider") -> Optional[FollowUp]:
        """None when the episode ends, else how care continues."""
        return None

    def on_need_shift(self, ep: "Episode", p: "Provider") -> FollowUp:
        """The youth's need moved to its secondary domain mid-care."""
        raise NotImplementedError

    def admission_limit(self, p: "Provider") -> float:
        """Caseload (hours per week) up to which ``p`` admits new youths."""
        return p.capacity

    def pick(self, wl: WaitingList, p: "Provider"):
        """The entry ``p`` would admit next from ``wl`` (default: its head)."""
        return wl.head()

    def secondary_proficiency(self, ep: "Episode", p: "Provider") -> float:
        """Proficiency applied to the youth's secondary domain (M4 consultation)."""
        return float(self.m.world.proficiency[p.idx, ep.secondary]) if ep.secondary >= 0 else 1.0

    # -- shared helpers -------------------------------------------------------------
    def priority(self, ep: "Episode") -> int:
        return URGENT if ep.urgent else REGULAR

    def family_choice(self, ep: "Episode", cands: np.ndarray) -> "Provider":
        """Multinomial-logit choice among candidate providers: home municipality,
        size (reputation), and the backlog families see (utility per 10 weeks)."""
        m = self.m
        if len(cands) == 1:
            return m.providers[int(cands[0])]
        key = (id(cands), ep.municipality)
        static = self._static.get(key)
        if static is None or static[0] is not cands:
            ch = self.cfg.regimes.product.choice
            static = (cands, ch.home * (m.world.home[cands] == ep.municipality) + ch.size * m.log_size[cands])
            self._static[key] = static
        u = static[1] - self._wait_weight * m.backlog[cands] + m.gumbel(len(cands))
        return m.providers[int(cands[int(u.argmax())])]

    def open_candidates(self, ep: "Episode", domain: int) -> np.ndarray:
        return self.m.open_candidates(domain, ep.care_form)


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
