"""The SimPy environment of one run, with what the care process needs beyond
SimPy's public interface: a light scheduled callback, moving the clock to a
referral of the pre-drawn arrival stream, counting the events processed, a
pause after the current event, and a state that can be pickled (so that a run
can be copied at the contract switch and branched, ``sim.run.run_branches``).

This class is the only place that touches SimPy's internals (its calendar
``_queue``, clock ``_now`` and event ids ``_eid``); the model itself uses only
:meth:`CareEnvironment.call_later` and SimPy's public interface.
"""
from __future__ import annotations

from functools import partial
from heapq import heappop, heappush
from itertools import count
from types import MethodType
from typing import Callable, Optional

import simpy
from simpy.events import NORMAL


class Call:
    """A callback on SimPy's calendar: the smallest object ``Environment.step``
    processes (an event that has ``callbacks`` and has succeeded). It costs a
    third of a ``Timeout`` and is ordered exactly as one would be (time,
    ``NORMAL`` priority, event id)."""

    __slots__ = ("callbacks", "_ok", "_value")

    def __init__(self, fn: Callable):
        self.callbacks = [fn]
        self._ok = True
        self._value = None


class CareEnvironment(simpy.Environment):
    """``simpy.Environment`` that counts the events it processes, lets the
    merged arrival loop (``CareModel._loop``) advance its clock, can pause
    after the event being processed, and pickles (bound methods and partials
    as callbacks, no generators)."""

    def __init__(self, initial_time: float = 0):
        super().__init__(initial_time)
        self.processed = 0      # events taken off SimPy's calendar by ``step_before``
        self.paused = False     # set by a callback: ``step_before`` returns after the current event

    def call_later(self, delay: float, fn: Callable) -> None:
        """Call ``fn(event)`` ``delay`` days from now: what
        ``env.timeout(delay).callbacks.append(fn)`` does, more cheaply."""
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        heappush(self._queue, (self._now + delay, NORMAL, next(self._eid), Call(fn)))

    def step_before(self, t: float, after_each: Optional[Callable[[], None]] = None) -> None:
        """Process, in order, every event scheduled before time ``t`` (not those
        at ``t``), calling ``after_each`` after each one; counts them. Returns
        early, after the event that set :attr:`paused`.

        Without ``after_each`` this is ``Environment.step`` inlined (the same
        order, the same failure check); with it, SimPy's own ``step``."""
        n = 0
        try:
            if after_each is not None:
                step, peek = self.step, self.peek
                while peek() < t:
                    step()
                    n += 1
                    after_each()
                    if self.paused:
                        return
                return
            queue = self._queue
            while queue and queue[0][0] < t:
                self._now, _, _, event = heappop(queue)
                callbacks, event.callbacks = event.callbacks, None
                for callback in callbacks:
                    callback(event)
                n += 1
                if not event._ok and not hasattr(event, "_defused"):
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
                if self.paused:
                    return
        finally:
            self.processed += n

    def advance_to(self, t: float) -> None:
        """Move the clock to ``t`` without processing an event: what a Timeout
        ending at ``t`` would do, for a time no later than the next event."""
        assert self._now <= t <= self.peek(), (self._now, t, self.peek())
        self._now = t

    # -- pickling: SimPy binds its event classes to the instance and counts event ids with itertools.count
    # A calendar entry ``Call(partial(obj.method, *args))`` is pickled flat, as
    # ``(time, priority, id, obj, name, args)``: half the objects, twice as fast to load.
    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in _BOUND}
        state["_eid"] = _peek_count(self._eid)
        state["_queue"] = [_flat(entry) for entry in self._queue]
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        state["_eid"] = count(state["_eid"])
        state["_queue"] = [_entry(flat) for flat in state["_queue"]]
        self.__dict__.update(state)


def _flat(entry: tuple) -> tuple:
    t, priority, eid, event = entry
    if type(event) is Call and len(event.callbacks) == 1:
        fn = event.callbacks[0]
        if type(fn) is partial and not fn.keywords and type(fn.func) is MethodType:
            return t, priority, eid, fn.func.__self__, fn.func.__name__, fn.args
        if type(fn) is MethodType:
            return t, priority, eid, fn.__self__, fn.__name__, None
    return entry


def _entry(flat: tuple) -> tuple:
    if len(flat) == 4:
        return flat
    t, priority, eid, owner, name, args = flat
    method = getattr(owner, name)
    return t, priority, eid, Call(method if args is None else partial(method, *args))


#: attributes ``simpy.Environment`` binds to each instance (class attributes again after unpickling)
_BOUND = ("process", "timeout", "event", "all_of", "any_of")


def _peek_count(c: count) -> int:
    """The next value of ``c`` without consuming it (``repr`` is ``count(n)``)."""
    text = repr(c)
    return int(text[text.index("(") + 1:text.rindex(")")])
