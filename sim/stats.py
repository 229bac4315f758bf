"""Statistics over replications: t confidence intervals and paired differences."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    sd: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0


def t_interval(x, level: float = 0.95) -> Interval:
    """Student-t confidence interval of the mean of ``x`` (NaNs dropped)."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, math.nan, 1)
    sd = float(x.std(ddof=1))
    h = float(special.stdtrit(n - 1, 0.5 + level / 2.0)) * sd / math.sqrt(n)
    return Interval(mean, mean - h, mean + h, sd, n)


def paired_interval(a, b, level: float = 0.95) -> Interval:
    """Paired-t interval of mean(b - a) over replications where both are defined."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = ~(np.isnan(a) | np.isnan(b))
    return t_interval(b[ok] - a[ok], level)
