"""Time to care with competing risks: the Aalen-Johansen cumulative incidence.

Every referral in a horizon is followed from its referral: it starts care
(cause 1), drops out of the waiting list (cause 2, a competing event that
makes care impossible), or is still waiting when last observed (0, censored).
``1 - Kaplan-Meier`` with dropout treated as censoring overstates the share
that reaches care; the cumulative incidence function (CIF)

    F_k(t) = P(T <= t, cause = k)

is the honest figure, estimated by Aalen-Johansen (Kalbfleisch & Prentice 1980,
Aalen & Johansen 1978). At the distinct event times ``t_j`` with ``n_j`` at risk
(time >= t_j), ``d_kj`` events of cause k and ``d_j`` events of any cause,

    S(t)   = prod_{t_j <= t} (1 - d_j / n_j)           (overall Kaplan-Meier)
    F_k(t) = sum_{t_j <= t} S(t_{j-1}) d_kj / n_j.

Ties follow the standard convention: at a tied time, events (of every cause)
happen before censorings, so a record censored at ``t_j`` is still at risk at
``t_j``. An event at time 0 counts at t = 0.

Numbers in, numbers out: numpy (and scipy's normal quantile) only, one sort
(in ``np.unique``) and cumulative sums, so 100,000 records take milliseconds.
The module sits on the package's bottom floor (beside ``sim.table``), so the
model's summary metrics (``sim.model.metrics``: ``care_within_*_share``) and
the analysis and presentation layers all use this one estimator.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from scipy import special as _special   # not scipy.stats: importing it costs ~45 MiB of RSS

__all__ = ["CIF", "cumulative_incidence", "incidence_at", "competing_risks_table"]


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class CIF:
    """An estimated cumulative incidence function of one cause, a right-continuous step function.

    ``time``: the grid, sorted: 0 and the distinct event times of any cause (or
    the ``at`` grid passed to :func:`cumulative_incidence`); ``cif``: F_k at each
    grid time; ``se``: its delta-method standard error; ``survival``: the overall
    Kaplan-Meier S (no event of any cause yet) at each grid time; ``n``: the
    number of records; ``cause``: the cause estimated. Arrays are read-only.
    """

    time: np.ndarray
    cif: np.ndarray
    se: np.ndarray
    survival: np.ndarray
    n: int
    cause: int

    def _step(self, values: np.ndarray, t: Any, before: float) -> np.ndarray | float:
        t_arr = np.asarray(t, dtype=float)
        idx = np.searchsorted(self.time, t_arr, side="right") - 1
        out = np.where(idx >= 0, values[np.clip(idx, 0, None)] if len(values) else before, before)
        out = np.where(np.isnan(t_arr), np.nan, out)
        return float(out) if out.ndim == 0 else out

    def value_at(self, t: Any) -> np.ndarray | float:
        """F_k at ``t`` (scalar or array): the step function, 0 before the grid, NaN for NaN."""
        return self._step(self.cif, t, 0.0)

    def se_at(self, t: Any) -> np.ndarray | float:
        """The standard error of F_k at ``t``, stepped like :meth:`value_at` (0 before the grid)."""
        return self._step(self.se, t, 0.0)

    def ci(self, level: float = 0.95, transform: str = "log-log") -> tuple[np.ndarray, np.ndarray]:
        """Pointwise confidence limits ``(low, high)`` on the grid, clipped to [0, 1].

        ``"log-log"`` (default; Choudhury 2002, Pintilie 2006 sec. 4.2.2): a normal
        interval for log(-log F), back-transformed to F^exp(+-z se / |F log F|),
        which stays inside (0, 1); where F is 0 or 1 the interval is the point.
        ``"plain"``: F +- z se, clipped.
        """
        if not (isinstance(level, (int, float)) and 0 < level < 1):
            raise ValueError(f"level must be a number in (0, 1), got {level!r}")
        z = float(_special.ndtri(0.5 + level / 2))    # the normal quantile (scipy.stats.norm.ppf)
        f, se = self.cif, self.se
        if transform == "plain":
            low, high = f - z * se, f + z * se
        elif transform == "log-log":
            low, high = f.copy(), f.copy()
            inner = (f > 0) & (f < 1)
            fi = f[inner]
            sigma = se[inner] / np.abs(fi * np.log(fi))
            low[inner] = fi ** np.exp(z * sigma)
            high[inner] = fi ** np.exp(-z * sigma)
        else:
            raise ValueError(f"transform must be 'log-log' or 'plain', got {transform!r}")
        return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)


def _validate(times: Any, events: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(times)
    e = np.asarray(events)
    if t.ndim != 1 or e.ndim != 1:
        raise ValueError(f"times and events must be 1-D, got shapes {t.shape} and {e.shape}")
    if len(t) != len(e):
        raise ValueError(f"times and events have unequal lengths: {len(t)} and {len(e)}")
    if t.dtype.kind not in "biuf":
        raise ValueError(f"times must be numbers, got dtype {t.dtype}")
    t = t.astype(float)
    if not np.all(np.isfinite(t)):
        raise ValueError("times must be finite (no NaN or infinity)")
    if np.any(t < 0):
        raise ValueError(f"times must be >= 0, got a minimum of {t.min()!r}")
    if e.dtype.kind not in "biuf":
        raise ValueError(f"event codes must be integers >= 0, got dtype {e.dtype}")
    if e.dtype.kind == "f" and not (np.all(np.isfinite(e)) and np.all(e == np.round(e))):
        raise ValueError("event codes must be integers >= 0 (0 censored, 1..K causes), got non-integers")
    if np.any(e < 0):
        raise ValueError(f"event codes must be integers >= 0 (0 censored, 1..K causes), got {e.min()!r}")
    return t, e.astype(np.int64)


def _cause(cause: Any) -> int:
    if isinstance(cause, (bool, np.bool_)) or not isinstance(cause, (int, np.integer)) or cause < 1:
        raise ValueError(f"cause must be an integer >= 1, got {cause!r}")
    return int(cause)


def cumulative_incidence(times: Any, events: Any, cause: int = 1, at: Any = None) -> CIF:
    """The Aalen-Johansen estimate of the CIF of ``cause`` (see the module docstring).

    ``times``: durations from entry (>= 0); ``events``: 0 censored, 1..K causes
    (every cause other than ``cause`` competes). ``at``: an optional grid; the
    result then holds the step function at the sorted distinct ``at`` times
    instead of at the event times (a common grid across groups for a table).

    Variance: the delta-method (Greenwood-type) estimator of Marubini &
    Valsecchi (1995, *Analysing Survival Data from Clinical Trials and
    Observational Studies*, Wiley, ch. 10), as given in Pintilie (2006,
    *Competing Risks: A Practical Perspective*, sec. 4.2.2):

        Var F_k(t) = sum_{t_j<=t} (F_k(t) - F_k(t_j))^2 d_j / (n_j (n_j - d_j))
                   + sum_{t_j<=t} S(t_{j-1})^2 d_kj (n_j - d_kj) / n_j^3
                   - 2 sum_{t_j<=t} (F_k(t) - F_k(t_j)) S(t_{j-1}) d_kj / n_j^2,

    the first term taken as 0 where n_j = d_j (nobody is left after t_j). With a
    single cause it is Greenwood's variance of 1 - KM; without censoring it is
    the binomial variance F(1 - F)/n.
    """
    t, e = _validate(times, events)
    k = _cause(cause)
    n = len(t)

    if n:
        uniq, inverse, counts = np.unique(t, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        at_risk_all = n - (np.cumsum(counts) - counts)          # time >= t_j: censorings at t_j included
        d_all = np.bincount(inverse, weights=(e > 0), minlength=len(uniq))
        dk_all = np.bincount(inverse, weights=(e == k), minlength=len(uniq))
        keep = d_all > 0
        ev_t, nj = uniq[keep], at_risk_all[keep].astype(float)
        dj, dkj = d_all[keep], dk_all[keep]
    else:
        ev_t = nj = dj = dkj = np.zeros(0)

    surv = np.cumprod(1.0 - dj / nj) if len(nj) else np.zeros(0)
    s_prev = np.concatenate(([1.0], surv[:-1]))
    f = np.cumsum(s_prev * dkj / nj) if len(nj) else np.zeros(0)

    # Var(t_m) with the squares expanded so every sum is a cumulative sum over j <= m
    left = nj - dj
    a = np.divide(dj, nj * left, out=np.zeros_like(nj), where=left > 0)
    b = s_prev * dkj / nj ** 2 if len(nj) else np.zeros(0)
    var = (f ** 2 * np.cumsum(a) - 2 * f * np.cumsum(a * f) + np.cumsum(a * f ** 2)
           + np.cumsum(s_prev ** 2 * dkj * (nj - dkj) / nj ** 3)
           - 2 * f * np.cumsum(b) + 2 * np.cumsum(b * f))
    se = np.sqrt(np.clip(var, 0.0, None))
    f = np.minimum(f, 1.0)                                       # rounding: a sum of shares may reach 1 + 2e-16

    # the grid: 0 and the event times (an event at 0 already is one)
    if len(ev_t) and ev_t[0] == 0:
        grid, cif, ses, sv = ev_t, f, se, surv
    else:
        grid = np.concatenate(([0.0], ev_t))
        cif, ses, sv = (np.concatenate(([v0], x)) for v0, x in ((0.0, f), (0.0, se), (1.0, surv)))
    est = CIF(time=_readonly(grid), cif=_readonly(cif), se=_readonly(ses), survival=_readonly(sv), n=n, cause=k)
    if at is None:
        return est

    grid_at = np.asarray(at, dtype=float).ravel()
    if not np.all(np.isfinite(grid_at)):
        raise ValueError("the at grid must be finite (no NaN or infinity)")
    grid_at = np.unique(grid_at)
    idx = np.searchsorted(est.time, grid_at, side="right") - 1
    inside = idx >= 0
    pick = np.clip(idx, 0, None)
    return CIF(time=_readonly(grid_at),
               cif=_readonly(np.where(inside, est.cif[pick], 0.0)),
               se=_readonly(np.where(inside, est.se[pick], 0.0)),
               survival=_readonly(np.where(inside, est.survival[pick], 1.0)), n=n, cause=k)


def incidence_at(times: Any, events: Any, horizons: Any, cause: int = 1) -> dict[float, float]:
    """The CIF of ``cause`` at each horizon (e.g. 28, 98, 364 days): ``{horizon: F_k(horizon)}``."""
    h = np.atleast_1d(np.asarray(horizons, dtype=float))
    if h.ndim != 1 or not np.all(np.isfinite(h)):
        raise ValueError("horizons must be finite numbers")
    est = cumulative_incidence(times, events, cause=cause)
    return {float(x): float(v) for x, v in zip(h, np.atleast_1d(est.value_at(h)))}


def competing_risks_table(cif_by_group: Mapping[str, CIF], level: float = 0.95,
                          transform: str = "log-log") -> dict[str, np.ndarray]:
    """The CIFs of several groups in tidy long format, one row per (group, grid time):
    columns ``group, time, cif, se, ci_low, ci_high`` (limits from :meth:`CIF.ci`),
    ready for :func:`sim.files.write_csv` or ``sim.table.Table``."""
    groups, cols = [], {k: [] for k in ("time", "cif", "se", "ci_low", "ci_high")}
    for name, est in cif_by_group.items():
        if not isinstance(est, CIF):
            raise ValueError(f"group {name!r}: expected a CIF, got {type(est).__name__}")
        low, high = est.ci(level, transform)
        groups.append(np.full(len(est.time), str(name), dtype=object))
        for key, vals in (("time", est.time), ("cif", est.cif), ("se", est.se), ("ci_low", low), ("ci_high", high)):
            cols[key].append(np.asarray(vals, dtype=float))
    out = {"group": np.concatenate(groups) if groups else np.zeros(0, dtype=object)}
    out.update({k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()})
    return out
