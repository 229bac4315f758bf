"""Waiting lists: priority by urgency class, first come first served within a class.

A binary heap of :class:`Entry` ordered by (class, time joined, ticket): O(log n)
to join and to leave, no re-sorting (SimPy's PriorityResource re-sorts the
whole queue on each request) and no scanning (as FilterStore does). A family
that leaves the list (reneging, re-routing) is removed lazily: its ticket no
longer matches its entry, which is dropped when it reaches the head.
"""
from __future__ import annotations

import heapq
from typing import Any, NamedTuple, Optional

_tuple_new = tuple.__new__   # builds an Entry without the Python-level NamedTuple __new__

URGENT_HANDOVER = 0  # a youth handed over or transferred mid-care
URGENT = 1
REGULAR = 2


class Tickets:
    """The ticket counter of one run, shared by all its lists: a ticket is
    unique across lists (a stale entry never looks live after its youth moved)
    and orders ties by the time of joining. Part of the run's state (it is
    copied with it), never global."""

    __slots__ = ("last",)

    def __init__(self):
        self.last = 0


class Entry(NamedTuple):
    """One heap entry. Entries order as tuples: by ``priority`` class, then the
    time ``since`` the youth waits, then ``ticket``, which is unique, so the
    episode itself is never compared."""

    priority: int
    since: float
    ticket: int
    episode: Any


class WaitingList:
    """One list that one or more providers (its ``servers``) admit from."""

    __slots__ = ("name", "heap", "size", "work", "servers", "capacity", "mirror", "slot", "tickets")

    def __init__(self, name: str, mirror=None, slot: int = -1, tickets: Optional[Tickets] = None):
        self.name = name
        self.tickets = Tickets() if tickets is None else tickets   # the run's counter (own one when alone)
        self.mirror = mirror   # optional numpy array that mirrors ``backlog`` at ``slot``
        self.slot = slot
        self.heap: list[Entry] = []
        self.size = 0          # live entries
        self.work = 0.0        # staff hours of care the live entries are expected to need (``est_work``)
        self.servers: list = []
        self.capacity = 0.0    # care capacity of its servers (hours per week)

    def set_capacity(self, capacity: float) -> None:
        """Care capacity (hours per week) of the servers, which turns queued work into weeks."""
        self.capacity = capacity
        if self.mirror is not None:
            self.mirror[self.slot] = self.backlog

    @property
    def backlog(self) -> float:
        """Weeks of queued work at the servers' capacity: each youth's expected
        staff hours of care (its own care form's mean duration) over capacity."""
        return self.work / self.capacity if self.capacity > 0 else (1e9 if self.work > 0 else 0.0)

    def push(self, ep, priority: int, since: float) -> None:
        t = self.tickets
        t.last += 1
        ticket = ep.ticket = t.last
        ep.waiting_list = self
        heapq.heappush(self.heap, _tuple_new(Entry, (priority, since, ticket, ep)))
        self.size += 1
        self.work += ep.est_work
        if self.mirror is not None:
            self.mirror[self.slot] = self.backlog

    def head(self) -> Optional[Entry]:
        """The first live entry, or None (stale entries before it are dropped)."""
        heap = self.heap
        while heap:
            e = heap[0]
            if e.episode.ticket == e.ticket:
                return e
            heapq.heappop(heap)
        return None

    def pop_head(self):
        """Take the first live entry off the list and return its episode."""
        e = self.head()
        if e is None:
            raise IndexError(f"pop_head from the empty waiting list {self.name!r}")
        heapq.heappop(self.heap)
        self._forget(e.episode)
        return e.episode

    def remove(self, ep) -> None:
        """Take ``ep`` off the list (lazily: its heap entry becomes stale)."""
        if ep.waiting_list is self:
            self._forget(ep)

    def rework(self, ep, work: float) -> None:
        """The youth's expected work changed while waiting (deterioration)."""
        self.work += work - ep.est_work
        ep.est_work = work
        if self.mirror is not None:
            self.mirror[self.slot] = self.backlog

    def _forget(self, ep) -> None:
        ep.ticket = 0
        ep.waiting_list = None
        self.size -= 1
        self.work -= ep.est_work
        if self.size == 0:
            self.work = 0.0
        if self.mirror is not None:
            self.mirror[self.slot] = self.backlog

    def first(self, k: int) -> list[Entry]:
        """Up to ``k`` live entries from the head, in order (for selection under
        a lump sum): stale entries are skipped, so it returns ``min(k, size)``."""
        self.head()     # drop stale entries at the head first
        n = k
        while True:
            got = [e for e in heapq.nsmallest(n, self.heap) if e.episode.ticket == e.ticket]
            if len(got) >= k or n >= len(self.heap):
                return got[:k]
            n *= 2

    def live(self) -> list[Entry]:
        """All live entries in order (for re-routing at a contract change)."""
        return sorted(e for e in self.heap if e.episode.ticket == e.ticket)
