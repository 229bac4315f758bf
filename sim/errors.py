"""The project's exceptions and warnings, at the bottom of the import graph so
that every floor can raise them, plus the one near-match suggestion used in
every error message that names an unknown key or name."""
from __future__ import annotations

import difflib
from typing import Iterable


class ConfigError(ValueError):
    """A user error in a configuration: ``str(err)`` is the one-line message."""


class SweepError(ConfigError):
    """A user error in a sweep (spec, store, executor): ``str(err)`` is one line."""


class StoreError(SweepError):
    """A problem with a results store on disk (one line)."""


class InvariantError(AssertionError):
    """A model invariant failed (checked only when ``check_invariants`` is on)."""


class SweepWarning(UserWarning):
    """Something in a sweep was adjusted or handled (a Sobol size rounded up,
    a dead worker process replaced and its runs tried again)."""


class StoreWarning(UserWarning):
    """Something in a results store could not be verified, was left out or is
    run again (one line naming the folder and the part files)."""


class Interrupted(KeyboardInterrupt):
    """A sweep was stopped by a signal: Ctrl-C (SIGINT) or SIGTERM. A
    KeyboardInterrupt, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def nearest(value: object, choices: Iterable[object]) -> str | None:
    """The closest of ``choices`` to ``value`` (difflib), or None."""
    near = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return near[0] if near else None


def did_you_mean(value: object, choices: Iterable[object], show=None) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, else ``""``.
    ``show`` maps the match to the text quoted (e.g. a full key path)."""
    near = nearest(value, choices)
    if near is None:
        return ""
    return f"; did you mean {(show(near) if show else near)!r}?"
