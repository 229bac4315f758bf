"""Attribution of a difference to features: Shapley values of a cooperative game.

A *game* over ``k`` features is the value ``v(S)`` of every coalition ``S`` (the
features switched on), given as an array of length ``2**k`` indexed by the
coalition's bit mask (bit ``i`` set: feature ``i`` on). For the regime
comparison ``v(S)`` is the expertise arm with the features in ``S`` minus the
status quo, on common random numbers, so ``v(empty)`` is 0 and ``v(all)`` the
regime difference.

- :func:`shapley`: the exact Shapley values; they sum to ``v(all) - v(empty)``
  (efficiency), give equal shares to symmetric features and nothing to a
  feature that never changes the value (Shapley 1953).
- :func:`interactions`: the pairwise Shapley interaction index (Grabisch and
  Roubens 1999); for two features it is the 2 x 2 interaction
  ``v(11) - v(10) - v(01) + v(00)``.
- :func:`one_at_a_time`: ``v(all) - v(all without i)``, the classic ablation,
  which double-counts interactions (its parts need not sum to the total).
- :func:`sampled_shapley`: the permutation estimate with its Monte Carlo
  standard error, for when ``2**k`` evaluations are too many.
"""
from __future__ import annotations

from math import factorial
from typing import Callable, Sequence

import numpy as np


def _game(values: Sequence[float]) -> tuple[np.ndarray, int]:
    v = np.asarray(values, dtype=float)
    k = int(v.size).bit_length() - 1
    if v.ndim != 1 or v.size != 1 << k or k < 1:
        raise ValueError(f"a game over k features has 2**k values (k >= 1); got {v.size}")
    return v, k


def _popcount(k: int) -> np.ndarray:
    masks = np.arange(1 << k)
    return np.array([bin(int(m)).count("1") for m in masks])


def shapley(values: Sequence[float]) -> np.ndarray:
    """Exact Shapley values of the game ``values`` (see the module docstring):
    ``phi_i = sum over S without i of |S|! (k-|S|-1)! / k! (v(S+i) - v(S))``."""
    v, k = _game(values)
    size = _popcount(k)
    weight = np.array([factorial(s) * factorial(k - s - 1) / factorial(k) for s in range(k)])
    masks = np.arange(1 << k)
    phi = np.empty(k)
    for i in range(k):
        without = masks[(masks >> i) & 1 == 0]
        phi[i] = float(np.sum(weight[size[without]] * (v[without | (1 << i)] - v[without])))
    return phi


def interactions(values: Sequence[float]) -> np.ndarray:
    """The pairwise Shapley interaction index, a symmetric ``k x k`` matrix
    (zero diagonal): ``I_ij = sum over S without i, j of |S|! (k-|S|-2)! / (k-1)!
    (v(S+i+j) - v(S+i) - v(S+j) + v(S))``. Positive: the two features do more
    together than apart."""
    v, k = _game(values)
    out = np.zeros((k, k))
    if k < 2:
        return out
    size = _popcount(k)
    weight = np.array([factorial(s) * factorial(k - s - 2) / factorial(k - 1) for s in range(k - 1)])
    masks = np.arange(1 << k)
    for i in range(k):
        for j in range(i + 1, k):
            s = masks[((masks >> i) & 1 == 0) & ((masks >> j) & 1 == 0)]
            bi, bj = 1 << i, 1 << j
            d = v[s | bi | bj] - v[s | bi] - v[s | bj] + v[s]
            out[i, j] = out[j, i] = float(np.sum(weight[size[s]] * d))
    return out


def one_at_a_time(values: Sequence[float]) -> np.ndarray:
    """``v(all) - v(all without i)`` per feature: what switching one feature off
    takes away from the whole."""
    v, k = _game(values)
    full = (1 << k) - 1
    return np.array([v[full] - v[full & ~(1 << i)] for i in range(k)])


def sampled_shapley(value: Callable[[int], float], k: int, permutations: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Permutation estimate of the Shapley values of the game ``value(mask)``
    (Castro, Gomez and Tejada 2009): the mean marginal contribution of each
    feature over ``permutations`` random orders, and its Monte Carlo standard
    error. Each order costs ``k`` evaluations (the empty coalition once);
    every order's contributions sum to ``v(all) - v(empty)``, so the estimate
    is efficient too."""
    if permutations < 2:
        raise ValueError(f"permutations: got {permutations}; expected at least 2 (for an error estimate)")
    contrib = np.empty((permutations, k))
    empty = value(0)
    for r in range(permutations):
        mask, before = 0, empty
        for i in rng.permutation(k):
            mask |= 1 << int(i)
            now = value(mask)
            contrib[r, i] = now - before
            before = now
    return contrib.mean(axis=0), contrib.std(axis=0, ddof=1) / np.sqrt(permutations)
