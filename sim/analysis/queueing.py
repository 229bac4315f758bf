"""Closed-form queueing theory used to verify the simulator.

The verification configuration (``configs/verification/mmc.yaml``) reduces the
model to an M/M/c queue: Poisson referrals at rate ``lam``, exponential care
with rate ``mu`` and ``c`` parallel places, served first come, first served.
These functions give that queue's exact steady-state figures, so a simulated
confidence interval can be checked against them.

Conventions: ``lam`` and ``mu`` are rates per unit of time (days in caresim),
``c`` is a positive integer number of servers, and ``a = lam / mu`` is the
offered load in Erlangs. Every function raises ``ValueError`` for an unstable
system (utilisation ``rho = a / c >= 1``), where no steady state exists.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = [
    "erlang_b",
    "erlang_c",
    "mmc_utilisation",
    "mmc_mean_wait",
    "mmc_mean_queue_length",
    "mmc_mean_sojourn",
    "mmc_wait_cdf",
    "mmc_wait_quantile",
    "mmc_priority_mean_waits",
]


def _servers(c) -> int:
    if isinstance(c, bool) or not float(c).is_integer() or c < 1:
        raise ValueError(f"the number of servers c must be a positive integer, got {c!r}")
    return int(c)


def _load(a) -> float:
    a = float(a)
    if not math.isfinite(a) or a < 0:
        raise ValueError(f"the offered load a must be finite and non-negative, got {a!r}")
    return a


def _rates(lam, mu) -> tuple[float, float]:
    lam, mu = float(lam), float(mu)
    if not math.isfinite(lam) or lam < 0:
        raise ValueError(f"the arrival rate lam must be finite and non-negative, got {lam!r}")
    if not math.isfinite(mu) or mu <= 0:
        raise ValueError(f"the service rate mu must be finite and positive, got {mu!r}")
    return lam, mu


def _stable(a: float, c: int) -> None:
    if a >= c:
        raise ValueError(
            f"unstable system: utilisation rho = a/c = {a:.6g}/{c} = {a / c:.6g} >= 1 has no steady state"
        )


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of an M/M/c/c loss system (Erlang B).

    Computed by the recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``,
    which never forms ``a**c`` or ``c!`` and so stays accurate for thousands of
    servers. Defined for any load (a loss system is always stable).
    """
    c, a = _servers(c), _load(a)
    b = 1.0
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival has to wait in an M/M/c queue (Erlang C).

    ``a = lam / mu`` is the offered load. Obtained from Erlang B as
    ``C = B / (1 - rho (1 - B))`` with ``rho = a / c``, which is numerically
    stable. Raises ``ValueError`` when ``a >= c`` (unstable).
    """
    c, a = _servers(c), _load(a)
    _stable(a, c)
    b = erlang_b(c, a)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def mmc_utilisation(lam: float, mu: float, c: int) -> float:
    """Server utilisation ``rho = lam / (c mu)``; ValueError if ``rho >= 1``."""
    lam, mu = _rates(lam, mu)
    c = _servers(c)
    _stable(lam / mu, c)
    return lam / (c * mu)


def mmc_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean time in queue (before service starts), ``Wq = C(c, a) / (c mu - lam)``."""
    lam, mu = _rates(lam, mu)
    c = _servers(c)
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_mean_queue_length(lam: float, mu: float, c: int) -> float:
    """Mean number waiting (not in service), ``Lq = lam Wq`` (Little's law)."""
    return float(lam) * mmc_mean_wait(lam, mu, c)


def mmc_mean_sojourn(lam: float, mu: float, c: int) -> float:
    """Mean time in the system, wait plus service: ``W = Wq + 1 / mu``."""
    return mmc_mean_wait(lam, mu, c) + 1.0 / float(mu)


def mmc_wait_cdf(t, lam: float, mu: float, c: int):
    """``P(W <= t)`` for the FCFS queueing delay ``W`` of an M/M/c queue.

    ``W`` is zero with probability ``1 - C`` and otherwise exponential with
    rate ``c mu - lam``: ``P(W <= t) = 1 - C exp(-(c mu - lam) t)`` for
    ``t >= 0`` and 0 for ``t < 0``. Accepts a scalar or an array ``t``.
    """
    lam, mu = _rates(lam, mu)
    c = _servers(c)
    pw = erlang_c(c, lam / mu)
    tt = np.asarray(t, dtype=float)
    cdf = np.where(tt < 0, 0.0, 1.0 - pw * np.exp(-(c * mu - lam) * np.maximum(tt, 0.0)))
    return float(cdf) if cdf.ndim == 0 else cdf


def mmc_wait_quantile(p: float, lam: float, mu: float, c: int) -> float:
    """The ``p``-quantile of the FCFS queueing delay (inverse of :func:`mmc_wait_cdf`);
    zero when ``p <= 1 - C``, i.e. when at least a share ``p`` need not wait."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p must lie in [0, 1), got {p!r}")
    lam, mu = _rates(lam, mu)
    c = _servers(c)
    pw = erlang_c(c, lam / mu)
    if p <= 1.0 - pw:
        return 0.0
    return math.log(pw / (1.0 - p)) / (c * mu - lam)


def mmc_priority_mean_waits(lams: Sequence[float], mu: float, c: int) -> np.ndarray:
    """Mean queueing delay per class of a non-preemptive priority M/M/c queue.

    Classes are listed from highest to lowest priority, with arrival rates
    ``lams`` and one common service rate ``mu``; within a class service is
    FCFS. Cobham's formula gives

        E[W_k] = C(c, a) / (c mu (1 - s_{k-1}) (1 - s_k)),

    with ``a = sum(lams) / mu``, ``s_k = sum_{i <= k} lams[i] / (c mu)`` and
    ``s_0 = 0``. ``C(c, a) / (c mu)`` is the mean time until the next place
    frees up, seen by an arrival. The waits averaged with weights
    ``lams[k] / sum(lams)`` equal the FCFS :func:`mmc_mean_wait` (the
    conservation law for equal service rates).
    """
    lams = np.asarray(lams, dtype=float)
    if lams.ndim != 1 or lams.size == 0:
        raise ValueError("lams must be a non-empty sequence of arrival rates")
    if np.any(~np.isfinite(lams)) or np.any(lams < 0):
        raise ValueError(f"arrival rates must be finite and non-negative, got {lams.tolist()}")
    lam, mu = _rates(lams.sum(), mu)
    c = _servers(c)
    w0 = erlang_c(c, lam / mu) / (c * mu)
    sigma = np.cumsum(lams) / (c * mu)
    sigma_before = np.concatenate(([0.0], sigma[:-1]))
    return w0 / ((1.0 - sigma_before) * (1.0 - sigma))
