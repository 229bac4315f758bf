"""Waiting lists: priority by urgency class, first come first served within a class.

A binary heap of :class:`Entry` ordered by (class, time joined, ticket): O(log n)
to join and to leave, no re-sorting (SimPy's PriorityResource re-sorts the
whole queue on each request) and no scanning (as FilterStore does). A family
that leaves the list (reneging, re-routing) is removed lazily: its ticket no
longer matches its entry, which is dropped when it reaches the head.
"""
from __future__ import annotations

import heapq
from itertools import count
from typing import Any, NamedTuple, Optional

_tickets = count(1)
_tuple_new = tuple.__new__   # builds an Entry without the Python-level NamedTuple __new__

URGENT_HANDOVER = 0  # a youth handed over or transferred mid-care
URGENT = 1
REGULAR = 2


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

    __slots__ = ("name", "heap", "size", "load", "servers", "capacity", "weeks_per_load", "mirror", "slot")

    def __init__(self, name: str, mirror=None, slot: int = -1):
        self.name = name
        self.mirror = mirror   # optional numpy array that mirrors ``backlog`` at ``slot``
        self.slot = slot
        self.weeks_per_load = 0.0   # backlog weeks per queued hour per week
        self.heap: list[Entry] = []
        self.size = 0          # live entries
        self.load = 0.0        # staff hours per week the live entries need
        self.servers: list = []
        self.capacity = 0.0    # care capacity of its servers (hours per week)

    def set_capacity(self, capacity: float, care_weeks: float) -> None:
        """Capacity of the servers; ``care_weeks`` is the mean care duration
        that turns queued load into weeks of backlog."""
        self.capacity = capacity
        self.weeks_per_load = care_weeks / capacity if capacity > 0 else 1e9
        if self.mirror is not None:
            self.mirror[self.slot] = self.load * self.weeks_per_load

    @property
    def backlog(self) -> float:
        """Weeks of work queued relative to capacity: queued load / capacity x mean care weeks."""
        return self.load * self.weeks_per_load

    def push(self, ep, priority: int, since: float) -> None:
        ticket = next(_tickets)
        ep.ticket = ticket
        ep.waiting_list = self
        heapq.heappush(self.heap, _tuple_new(Entry, (priority, since, ticket, ep)))
        self.size += 1
        self.load += ep.est_load
        if self.mirror is not None:
            self.mirror[self.slot] = self.load * self.weeks_per_load

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

    def reload(self, ep, load: float) -> None:
        """The youth's load changed while waiting (deterioration)."""
        self.load += load - ep.est_load
        ep.est_load = load
        if self.mirror is not None:
            self.mirror[self.slot] = self.load * self.weeks_per_load

    def _forget(self, ep) -> None:
        ep.ticket = 0
        ep.waiting_list = None
        self.size -= 1
        self.load -= ep.est_load
        if self.size == 0:
            self.load = 0.0
        if self.mirror is not None:
            self.mirror[self.slot] = self.load * self.weeks_per_load

    def first(self, k: int) -> list[Entry]:
        """Up to ``k`` live entries from the head, in order (for selection under
        a lump sum). Looks at the first ``k + 8`` heap entries only, so with many
        stale entries near the head it may return fewer than ``k``."""
        live = [e for e in heapq.nsmallest(k + 8, self.heap) if e.episode.ticket == e.ticket]
        return live[:k]

    def live(self) -> list[Entry]:
        """All live entries in order (for re-routing at a contract change)."""
        return sorted(e for e in self.heap if e.episode.ticket == e.ticket)
