"""Waiting lists: priority by urgency class, first come first served within a class.

A binary heap keyed by (class, time joined, ticket): O(log n) to join and to
leave, no re-sorting (SimPy's PriorityResource re-sorts the whole queue on each
request) and no scanning (as FilterStore does). A family that leaves the list
(reneging, re-routing) is removed lazily: its ticket no longer matches.
"""
from __future__ import annotations

import heapq
from itertools import count

_tickets = count(1)

URGENT_HANDOVER = 0  # a youth handed over or transferred mid-care
URGENT = 1
REGULAR = 2


class WaitingList:
    """One list that one or more providers (its ``servers``) admit from."""

    __slots__ = ("name", "heap", "size", "load", "servers", "capacity", "scale", "mirror", "slot")

    def __init__(self, name: str, mirror=None, slot: int = -1):
        self.name = name
        self.mirror = mirror   # optional numpy array that mirrors ``backlog`` at ``slot``
        self.slot = slot
        self.scale = 0.0       # backlog weeks per queued hour per week
        self.heap: list = []
        self.size = 0          # live entries
        self.load = 0.0        # staff hours per week the live entries need
        self.servers: list = []
        self.capacity = 0.0    # care capacity of its servers (hours per week)

    def set_capacity(self, capacity: float, care_weeks: float) -> None:
        """Capacity of the servers; ``care_weeks`` is the mean care duration
        that turns queued load into weeks of backlog."""
        self.capacity = capacity
        self.scale = care_weeks / capacity if capacity > 0 else 1e9
        if self.mirror is not None:
            self.mirror[self.slot] = self.load * self.scale

    @property
    def backlog(self) -> float:
        """Weeks of work queued relative to capacity: queued load / capacity x mean care weeks."""
        return self.load * self.scale

    def push(self, ep, cls: int, since: float) -> None:
        tok = next(_tickets)
        ep.ticket = tok
        ep.queue = self
        heapq.heappush(self.heap, (cls, since, tok, ep))
        self.size += 1
        self.load += ep.est_load
        if self.mirror is not None:
            self.mirror[self.slot] = self.load * self.scale

    def head(self):
        """The first live entry, or None."""
        heap = self.heap
        while heap:
            e = heap[0]
            if e[3].ticket == e[2]:
                return e
            heapq.heappop(heap)
        return None

    def pop_head(self):
        e = heapq.heappop(self.heap)
        self._forget(e[3])
        return e[3]

    def remove(self, ep) -> None:
        """Take ``ep`` off the list (lazily: its heap entry becomes stale)."""
        if ep.queue is self:
            self._forget(ep)

    def reload(self, ep, load: float) -> None:
        """The youth's load changed while waiting (deterioration)."""
        self.load += load - ep.est_load
        ep.est_load = load
        if self.mirror is not None:
            self.mirror[self.slot] = self.load * self.scale

    def _forget(self, ep) -> None:
        ep.ticket = 0
        ep.queue = None
        self.size -= 1
        self.load -= ep.est_load
        if self.size == 0:
            self.load = 0.0
        if self.mirror is not None:
            self.mirror[self.slot] = self.load * self.scale

    def entries(self, k: int):
        """The first ``k`` live entries in order (for selection under a lump sum)."""
        live = [e for e in heapq.nsmallest(k + 8, self.heap) if e[3].ticket == e[2]]
        return live[:k]

    def live(self):
        """All live entries (for re-routing at a contract change)."""
        return sorted(e for e in self.heap if e[3].ticket == e[2])
