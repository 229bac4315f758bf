"""Providers and collectives as the model sees them during a run (mutable state)."""
from __future__ import annotations

from ..units import DAYS_PER_WEEK, DAYS_PER_YEAR
from .waiting_list import Tickets, WaitingList


class Provider:
    """Capacity, caseload and money of one provider (or the access team's own care)."""

    __slots__ = (
        "idx", "name", "staff", "home", "capacity", "used", "open", "billed_per_unit", "own_list",
        "lists_served", "collective", "in_care", "rate", "catalogue_spend", "hours_delivered", "t_accrued",
        "overhead_share", "declaration_load", "catalogue_spend_at_year_start", "year_start",
        "valve_used", "budget_tight", "cut_caseload", "budget_rate", "budget_accrued", "budget_at_year_start",
    )

    def __init__(self, idx: int, name: str, staff: float, home: int, backlogs=None, tickets: Tickets | None = None):
        self.idx = idx
        self.name = name
        self.staff = staff              # staff hours per week
        self.home = home
        self.overhead_share = 0.0       # share of staff time on administration (M1)
        self.capacity = staff           # care hours per week available
        self.used = 0.0                 # care (and declaration) hours per week in use
        self.open = True                # takes new youths
        self.billed_per_unit = True     # paid per unit delivered (else lump sum)
        self.own_list = WaitingList(name, backlogs, idx, tickets)
        self.own_list.servers.append(self)
        self.own_list.set_capacity(staff)
        self.lists_served: list[WaitingList] = [self.own_list]   # plus its collective's pooled lists
        self.collective = -1
        self.in_care = 0
        self.rate = 0.0                 # EUR per day at catalogue prices, current caseload
        self.catalogue_spend = 0.0      # EUR accrued at catalogue prices (paid or not)
        self.hours_delivered = 0.0      # care hours delivered (accrued)
        self.t_accrued = 0.0            # time of the last accrual
        self.declaration_load = 0.0     # weekly declaration hours per youth in care
        self.budget_rate = 0.0          # EUR per day of budget (lump sum, population part, or a closing provider's share)
        self.budget_accrued = 0.0       # EUR of budget accrued (plus safety-valve additions)
        self.budget_at_year_start = 0.0
        self.catalogue_spend_at_year_start = 0.0
        self.year_start = 0.0
        self.valve_used = False         # the safety valve added budget this contract year
        self.budget_tight = False       # past its pro-rata lump sum (M5), as last checked
        self.cut_caseload = 0.0         # caseload when a contract change cut capacity below it

    def accrue(self, now: float) -> None:
        dt = now - self.t_accrued
        if dt:
            self.catalogue_spend += self.rate * dt
            self.budget_accrued += self.budget_rate * dt
            self.hours_delivered += self.used * dt / DAYS_PER_WEEK
            self.t_accrued = now

    @property
    def budget_year(self) -> float:
        """Budget a year at the current rate (EUR, M5)."""
        return self.budget_rate * DAYS_PER_YEAR

    def set_capacity(self, staff_extra: float = 0.0) -> None:
        """Staff hours change by ``staff_extra``; care capacity is staff time not
        spent on administration, on its own list and on the pooled lists it serves."""
        old = self.capacity
        self.staff += staff_extra
        self.capacity = self.staff * (1.0 - self.overhead_share)
        self.own_list.set_capacity(self.capacity)
        for wl in self.lists_served[1:]:
            wl.set_capacity(wl.capacity + self.capacity - old)


class Collective:
    """Providers that pool their waiting lists per domain and consult each other (M4)."""

    __slots__ = ("idx", "name", "members", "lists")

    def __init__(self, idx: int, name: str):
        self.idx = idx
        self.name = name
        self.members: list[Provider] = []
        self.lists: dict[tuple[int, int], WaitingList] = {}   # (domain, care form) -> pooled list
