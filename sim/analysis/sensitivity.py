"""Which uncertain parameters drive an output, and how an uncertain difference
is distributed: partial rank correlation (Marino et al. 2008, J Theor Biol),
quantile intervals, the probability of a sign, the empirical CDF."""
from __future__ import annotations

import math

import numpy as np


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks along axis 0 (ties share their mean rank)."""
    out = np.empty_like(x, dtype=float)
    for j in range(x.shape[1]):
        col = x[:, j]
        order = np.argsort(col, kind="mergesort")
        r = np.empty(len(col))
        r[order] = np.arange(1, len(col) + 1)
        _, inv, counts = np.unique(col, return_inverse=True, return_counts=True)
        sums = np.bincount(inv, weights=r)
        out[:, j] = (sums / counts)[inv]
    return out


def prcc(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Partial rank correlation of each column of ``x`` (n sets x d parameters)
    with ``y``: the correlation of the rank residuals of parameter j and of
    the output after a linear fit on the ranks of the other parameters. Returns
    ``(prcc, p_value)``, the p-value from ``t = r sqrt((n - 2 - p) / (1 - r^2))``
    with ``p = d - 1`` parameters held fixed. Needs ``n > d + 1``."""
    from scipy.stats import t as student

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, d = x.shape
    if y.shape != (n,):
        raise ValueError(f"y: got shape {y.shape}; expected ({n},)")
    if n <= d + 2:
        raise ValueError(f"prcc: got {n} sets for {d} parameters; expected more than {d + 2}")
    rx = _ranks(x)
    ry = _ranks(y[:, None])[:, 0]
    rho, pval = np.empty(d), np.empty(d)
    for j in range(d):
        others = np.column_stack([np.ones(n), np.delete(rx, j, axis=1)])
        res_x = rx[:, j] - others @ np.linalg.lstsq(others, rx[:, j], rcond=None)[0]
        res_y = ry - others @ np.linalg.lstsq(others, ry, rcond=None)[0]
        denom = math.sqrt(float(res_x @ res_x) * float(res_y @ res_y))
        r = float(res_x @ res_y) / denom if denom > 0 else 0.0
        r = max(-1.0, min(1.0, r))
        df = n - 2 - (d - 1)
        tt = r * math.sqrt(df / max(1e-300, 1.0 - r * r))
        rho[j], pval[j] = r, float(2 * student.sf(abs(tt), df))
    return rho, pval


def quantile_interval(x, level: float = 0.90) -> tuple[float, float]:
    """The central ``level`` interval of the values (NaNs dropped)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    a = (1.0 - level) / 2.0
    return float(np.quantile(x, a)), float(np.quantile(x, 1.0 - a))


def probability(x, sign: int) -> float:
    """Share of the values with the given sign (+1: above 0, -1: below 0)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    return float(np.mean(x * sign > 0)) if len(x) else math.nan


def ecdf(x) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and their empirical cumulative probabilities."""
    x = np.sort(np.asarray(x, dtype=float)[~np.isnan(np.asarray(x, dtype=float))])
    return x, np.arange(1, len(x) + 1) / len(x)
