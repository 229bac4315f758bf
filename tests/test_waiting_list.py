"""sim.model.waiting_list: urgent before regular, first come first served within
a class, lazy deletion that keeps size, queued work and backlog right."""
from __future__ import annotations

import heapq

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.waiting_list import REGULAR, URGENT, URGENT_HANDOVER, Entry, WaitingList


class Youth:
    """The attributes a waiting list reads and writes of an episode (no ordering:
    comparing two youths would raise TypeError)."""

    __slots__ = ("name", "ticket", "waiting_list", "est_work")

    def __init__(self, name, load=1.0):
        self.name = name
        self.ticket = 0
        self.waiting_list = None
        self.est_work = load


def drain(wl: WaitingList) -> list:
    out = []
    while wl.head() is not None:
        out.append(wl.pop_head().name)
    return out


def test_classes_in_order_then_first_come_first_served():
    wl = WaitingList("w")
    wl.set_capacity(10.0)
    for name, cls, since in [("r1", REGULAR, 1.0), ("u2", URGENT, 5.0), ("r0", REGULAR, 0.5),
                             ("h9", URGENT_HANDOVER, 9.0), ("u1", URGENT, 2.0)]:
        wl.push(Youth(name), cls, since)
    assert drain(wl) == ["h9", "u1", "u2", "r0", "r1"]
    assert wl.size == 0 and wl.work == 0.0 and wl.backlog == 0.0


def test_ties_in_class_and_time_go_by_arrival_and_never_compare_youths():
    wl = WaitingList("w")
    for i in range(20):
        wl.push(Youth(i), REGULAR, 3.0)     # same class, same time: Youth has no ordering
    assert drain(wl) == list(range(20))


def test_entries_are_named_tuples_that_order_like_the_heap():
    ep = Youth("a")
    wl = WaitingList("w")
    wl.push(ep, URGENT, 2.5)
    e = wl.head()
    assert isinstance(e, Entry) and isinstance(e, tuple)
    assert (e.priority, e.since, e.episode) == (URGENT, 2.5, ep) and e.ticket == ep.ticket > 0
    assert Entry(URGENT, 9.0, 1, None) < Entry(REGULAR, 0.0, 0, None)
    assert Entry(REGULAR, 1.0, 7, None) < Entry(REGULAR, 2.0, 3, None)


def test_removal_is_lazy_but_size_load_and_backlog_follow_at_once():
    wl = WaitingList("w")
    wl.set_capacity(0.5)                     # 2 backlog weeks per staff hour of work queued
    a, b, c = Youth("a", 1.0), Youth("b", 2.0), Youth("c", 0.5)
    for i, y in enumerate((a, b, c)):
        wl.push(y, REGULAR, float(i))
    assert (wl.size, wl.work, wl.backlog) == (3, 3.5, 7.0)
    wl.remove(a)
    assert (wl.size, wl.work, wl.backlog) == (2, 2.5, 5.0)
    assert len(wl.heap) == 3                 # a's entry is stale, still in the heap
    assert a.waiting_list is None and a.ticket == 0
    assert wl.head().episode is b            # the stale head is dropped on the way
    assert len(wl.heap) == 2
    wl.remove(a)                             # not on the list: nothing happens
    WaitingList("other").remove(b)           # on another list: nothing happens
    assert (wl.size, wl.work) == (2, 2.5) and b.waiting_list is wl


def test_rework_changes_the_work_in_place():
    mirror = np.zeros(3)
    wl = WaitingList("w", mirror, 1)
    wl.set_capacity(0.5)
    y = Youth("y", 1.0)
    wl.push(y, REGULAR, 0.0)
    assert mirror[1] == wl.backlog == 2.0
    wl.rework(y, 3.0)
    assert wl.work == 3.0 and y.est_work == 3.0 and mirror[1] == wl.backlog == 6.0
    assert wl.pop_head() is y
    assert wl.work == 0.0 and mirror[1] == 0.0 and mirror[0] == mirror[2] == 0.0


def test_a_rejoin_gets_a_new_ticket_and_its_old_entry_goes_stale():
    wl = WaitingList("w")
    a, b = Youth("a"), Youth("b")
    wl.push(a, REGULAR, 0.0)
    wl.push(b, REGULAR, 1.0)
    wl.remove(a)
    wl.push(a, REGULAR, 2.0)                 # back at the end of the list
    assert wl.size == 2
    assert [e.episode.name for e in wl.live()] == ["b", "a"]
    assert drain(wl) == ["b", "a"]


def test_pop_head_of_an_empty_list_raises():
    wl = WaitingList("w")
    y = Youth("y")
    wl.push(y, REGULAR, 0.0)
    wl.remove(y)
    with pytest.raises(IndexError):
        wl.pop_head()


def test_first_lists_live_entries_from_the_head():
    wl = WaitingList("w")
    ys = [Youth(i) for i in range(6)]
    for i, y in enumerate(ys):
        wl.push(y, REGULAR, float(i))
    wl.remove(ys[1])
    assert [e.episode.name for e in wl.first(3)] == [0, 2, 3]
    assert [e.episode.name for e in wl.first(10)] == [0, 2, 3, 4, 5]


def test_first_skips_any_number_of_stale_entries():
    """Selection looks at k live youths even when many stale entries sit near the head."""
    wl = WaitingList("w")
    ys = [Youth(i) for i in range(40)]
    for i, y in enumerate(ys):
        wl.push(y, REGULAR, float(i))
    for y in ys[1:30]:
        wl.remove(y)                         # 29 stale entries behind the head
    assert [e.episode.name for e in wl.first(5)] == [0, 30, 31, 32, 33]
    assert len(wl.first(100)) == wl.size == 11


def test_zero_capacity_gives_an_effectively_infinite_backlog():
    wl = WaitingList("w")
    wl.set_capacity(0.0)
    wl.push(Youth("y", 1.0), REGULAR, 0.0)
    assert wl.backlog >= 1e9


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([URGENT_HANDOVER, URGENT, REGULAR]),
                          st.integers(0, 5).map(float),
                          st.floats(0.0, 10.0, allow_nan=False),
                          st.booleans()), min_size=1, max_size=40))
def test_any_pushes_and_removals_serve_the_rest_in_order(items):
    """Reference: a sort of the youths still on the list by (class, since, arrival)."""
    wl = WaitingList("w")
    wl.set_capacity(0.5)
    youths = []
    for i, (cls, since, load, _) in enumerate(items):
        y = Youth(i, load)
        youths.append(y)
        wl.push(y, cls, since)
    for y, (_, _, _, leave) in zip(youths, items):
        if leave:
            wl.remove(y)
    stay = [(cls, since, i) for i, (cls, since, _, leave) in enumerate(items) if not leave]
    assert wl.size == len(stay)
    assert wl.work == pytest.approx(sum(items[i][2] for *_, i in stay), abs=1e-9)
    assert wl.backlog == pytest.approx(wl.work * 2.0)
    assert [e.episode.name for e in wl.live()] == [i for *_, i in sorted(stay)]
    assert drain(wl) == [i for *_, i in sorted(stay)]
    assert wl.size == 0 and wl.work == 0.0


def test_heap_invariant_holds_with_named_tuples():
    wl = WaitingList("w")
    rng = np.random.default_rng(4)
    for i in range(200):
        wl.push(Youth(i), int(rng.integers(0, 3)), float(rng.integers(0, 10)))
    h = wl.heap
    assert all(not (h[k] < h[(k - 1) // 2]) for k in range(1, len(h)))
    assert heapq.nsmallest(1, h)[0] == wl.head()
