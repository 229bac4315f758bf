"""The SimPy environment of one run, with the two things the care process needs
beyond SimPy's public interface: moving the clock to a referral of the
pre-drawn arrival stream, and counting the events processed.

This class is the only place that touches SimPy's internals (its clock
``_now``); the model itself uses only the public interface.
"""
from __future__ import annotations

from typing import Callable, Optional

import simpy


class CareEnvironment(simpy.Environment):
    """``simpy.Environment`` that counts the events it processes and lets the
    merged arrival loop (``CareModel._loop``) advance its clock."""

    def __init__(self, initial_time: float = 0):
        super().__init__(initial_time)
        self.processed = 0      # events taken off SimPy's calendar by ``step_before``

    def step_before(self, t: float, after_each: Optional[Callable[[], None]] = None) -> None:
        """Process, in order, every event scheduled before time ``t`` (not those
        at ``t``), calling ``after_each`` after each one; counts them."""
        step, peek = self.step, self.peek
        n = 0
        try:
            if after_each is None:
                while peek() < t:
                    step()
                    n += 1
            else:
                while peek() < t:
                    step()
                    n += 1
                    after_each()
        finally:
            self.processed += n

    def advance_to(self, t: float) -> None:
        """Move the clock to ``t`` without processing an event: what a Timeout
        ending at ``t`` would do, for a time no later than the next event."""
        assert self._now <= t <= self.peek(), (self._now, t, self.peek())
        self._now = t
