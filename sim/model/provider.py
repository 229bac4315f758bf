"""Providers and collectives as the model sees them during a run (mutable state)."""
from __future__ import annotations

from .waiting_list import WaitingList


class Provider:
    """Capacity, caseload and money of one provider (or the access team's own care)."""

    __slots__ = (
        "idx", "name", "staff", "home", "capacity", "used", "open", "bills", "queue",
        "pulls", "collective", "in_care", "rate", "shadow", "hours", "t", "overhead",
        "decl_load", "budget_year", "shadow_year_start", "year_start", "valve_used", "tight", "care_weeks", "cut_used",
    )

    def __init__(self, idx: int, name: str, staff: float, home: int, care_weeks: float, backlogs=None):
        self.idx = idx
        self.name = name
        self.staff = staff              # staff hours per week
        self.home = home
        self.overhead = 0.0             # share of staff time on administration (M1)
        self.capacity = staff           # care hours per week available
        self.used = 0.0                 # care (and declaration) hours per week in use
        self.open = True                # takes new youths
        self.bills = True               # paid per unit delivered (else lump sum)
        self.queue = WaitingList(name, backlogs, idx)
        self.care_weeks = care_weeks
        self.queue.servers.append(self)
        self.queue.set_capacity(staff, care_weeks)
        self.pulls: list[WaitingList] = [self.queue]
        self.collective = -1
        self.in_care = 0
        self.rate = 0.0                 # EUR per day at catalogue prices, current caseload
        self.shadow = 0.0               # EUR accrued at catalogue prices
        self.hours = 0.0                # care hours delivered (accrued)
        self.t = 0.0                    # time of the last accrual
        self.decl_load = 0.0            # weekly declaration hours per youth in care
        self.budget_year = 0.0          # lump sum for the current contract year (M5)
        self.shadow_year_start = 0.0
        self.year_start = 0.0
        self.valve_used = False
        self.tight = False
        self.cut_used = 0.0             # caseload when a contract change cut capacity below it

    def accrue(self, now: float) -> None:
        dt = now - self.t
        if dt:
            self.shadow += self.rate * dt
            self.hours += self.used * dt / 7.0
            self.t = now

    def set_capacity(self, staff_extra: float = 0.0) -> None:
        self.staff += staff_extra
        self.capacity = self.staff * (1.0 - self.overhead)
        self.queue.set_capacity(self.capacity, self.care_weeks)


class Collective:
    """Providers that pool their waiting lists per domain and consult each other (M4)."""

    __slots__ = ("idx", "name", "members", "lists")

    def __init__(self, idx: int, name: str):
        self.idx = idx
        self.name = name
        self.members: list[Provider] = []
        self.lists: dict[int, WaitingList] = {}
