"""Which parts of a config the warm-up reads: the status quo up to the contract
switch (``CareModel.warm_up``).

Two configs with the same warm-up view (:func:`warm_up_view`) reach the switch
in the same state for the same seed, so one warm-up serves both, and both
regimes, as branches (``sim.run.run_branches``). What is left out of the view
is read only from the switch on, and only by the expertise regime or under a
lump sum; ``tests/test_branching.py`` checks that changing any of it leaves
the status-quo arm unchanged to the byte.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from .loading import config_to_dict
from .schema import Config

#: read only from the contract switch on, by the expertise regime or under a lump sum
AFTER_SWITCH = ("regimes.expertise", "behaviour.lump_sum")
#: under AFTER_SWITCH but read before the switch too (the outcome model's consultation threshold)
READ_BEFORE = ("regimes.expertise.routing.proficiency_threshold",)
#: under AFTER_SWITCH and shaping the world: its contracts and collectives, drawn last from the
#: world stream (after every provider attribute), so a branch redraws them from its own config
WORLD_CONTRACTS = ("regimes.expertise.contracted_providers", "regimes.expertise.collectives")


def _get(d: dict, path: str) -> Any:
    for k in path.split("."):
        d = d[k]
    return d


def _drop(d: dict, path: str) -> None:
    *head, last = path.split(".")
    for k in head:
        d = d[k]
    del d[last]


def _put(d: dict, path: str, value: Any) -> None:
    *head, last = path.split(".")
    for k in head:
        d = d.setdefault(k, {})
    d[last] = value


def warm_up_view(cfg: Config) -> dict:
    """The config as data without what the warm-up does not read."""
    data = config_to_dict(cfg)
    keep = {p: _get(data, p) for p in READ_BEFORE}
    for p in AFTER_SWITCH:
        _drop(data, p)
    for p, v in keep.items():
        _put(data, p, v)
    return data


def warm_up_key(cfg: Config, extra: Any = None) -> str:
    """A short hash of :func:`warm_up_view` (and of ``extra``, e.g. the preload
    snapshot's contents): equal keys, one warm-up."""
    text = json.dumps([warm_up_view(cfg), extra], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def same_warm_up(a: Config, b: Config) -> str:
    """'' when ``a`` and ``b`` share their warm-up, else the first key path that differs."""
    if a is b:
        return ""
    va, vb = warm_up_view(a), warm_up_view(b)
    return _first_difference(va, vb, "")


def _first_difference(a: Any, b: Any, path: str) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{k}" if path else str(k)
            if k not in a or k not in b:
                return sub
            d = _first_difference(a[k], b[k], sub)
            if d:
                return d
        return ""
    return "" if a == b else (path or "<config>")
