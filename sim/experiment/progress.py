"""Progress of a batch of runs: a tqdm bar on a terminal, plain lines in a log.

A bar redraws one line in place, which a log file (stderr redirected, a batch
job, a notebook's captured output) keeps as nothing useful until the end. So
when stderr is not a terminal, :class:`ProgressLines` prints a plain line now
and then instead: after the first run, every tenth of the total and at least
every :data:`EVERY_SECONDS` as runs finish, and at the end, e.g.

    sweep: 12/240 runs done, 3m10s elapsed, ~55m left

It offers the part of tqdm's interface the sweep loop and ``parallel_map`` use
(``total``, ``n``, ``initial``, ``last_print_n``, ``update``, ``refresh``,
``set_postfix_str``, ``close``), so either can be handed to them.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Any, Callable, Optional, TextIO

#: a line at least this often (seconds) while runs keep finishing
EVERY_SECONDS = 30.0
#: and at every this share of the total
EVERY_FRACTION = 0.1


def duration(seconds: float) -> str:
    """``42s``, ``3m10s``, ``2h05m``: a duration to read at a glance."""
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class ProgressLines:
    """Counts finished runs and prints a plain progress line when one is due."""

    def __init__(self, desc: str, total: Optional[int] = None, file: Optional[TextIO] = None, unit: str = "runs",
                 every_seconds: float = EVERY_SECONDS, every_fraction: float = EVERY_FRACTION,
                 clock: Callable[[], float] = time.monotonic):
        self.desc, self.total, self.unit = desc, total, unit
        self.n = self.initial = self.last_print_n = 0
        self.postfix = ""
        self._file = file
        self._every_seconds, self._every_fraction = every_seconds, every_fraction
        self._clock = clock
        self._start = self._last_time = clock()
        self._lines = 0

    def update(self, k: int = 1) -> None:
        self.n += k
        if self._due():
            self._print()

    def refresh(self) -> None:
        """Nothing to redraw: a line is printed only when one is due."""

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        self.postfix = text

    def close(self) -> None:
        """The last line, unless the count has not moved since the last one."""
        if self.n != self.last_print_n:
            self._print()

    def _due(self) -> bool:
        if self._lines == 0 or (self.total and self.n >= self.total):
            return True
        if self._clock() - self._last_time >= self._every_seconds:
            return True
        if self.total:
            step = max(1, math.ceil(self.total * self._every_fraction))
            return self.n // step > self.last_print_n // step
        return False

    def line(self) -> str:
        """The progress line as it stands."""
        elapsed = self._clock() - self._start
        done = f"{self.n}/{self.total}" if self.total else str(self.n)
        text = f"{self.desc}: {done} {self.unit} done, {duration(elapsed)} elapsed"
        ran = self.n - self.initial           # runs done now (skipped ones finish instantly)
        if self.total and ran > 0 and self.n < self.total:
            text += f", ~{duration(elapsed / ran * (self.total - self.n))} left"
        return text + (f" ({self.postfix})" if self.postfix else "")

    def _print(self) -> None:
        print(self.line(), file=self._file or sys.stderr, flush=True)
        self.last_print_n, self._last_time = self.n, self._clock()
        self._lines += 1


def progress_bar(enabled: bool, desc: str, total: Optional[int] = None, file: Optional[TextIO] = None) -> Any:
    """A tqdm bar counting runs on ``file`` (default stderr) when it is a
    terminal, else :class:`ProgressLines`; None when not ``enabled``."""
    if not enabled:
        return None
    stream = file or sys.stderr
    if _is_terminal(stream):
        from tqdm import tqdm

        return tqdm(total=total, unit="run", desc=desc, file=stream, dynamic_ncols=True, smoothing=0.1)
    return ProgressLines(desc, total, file=stream)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):      # no isatty, or closed
        return False
