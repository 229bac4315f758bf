"""Random-variable specifications used everywhere a duration or size is random.

Every spec is written the same way in YAML, e.g. ``{dist: lognormal, median: 240,
sigma: 0.9}``, and maps uniforms to values through its quantile function
(``ppf``). Drawing through the quantile function keeps common random numbers
strong: a youth's latent uniform gives a value that moves monotonically when a
parameter changes, instead of a different draw.
"""
from __future__ import annotations

import math
from typing import Annotated, Literal, Optional, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import special


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def ppf(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def mean(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws (inverse transform of ``rng.random``)."""
        return self.ppf(rng.random(n))


class Exponential(_Spec):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean_: float = Field(alias="mean", gt=0)

    def ppf(self, u):
        return -self.mean_ * np.log1p(-np.asarray(u, dtype=float))

    def mean(self):
        return self.mean_


class Lognormal(_Spec):
    """Lognormal by its median and the standard deviation of its log."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)

    def ppf(self, u):
        return self.median * np.exp(self.sigma * special.ndtri(np.asarray(u, dtype=float)))

    def mean(self):
        return self.median * math.exp(self.sigma**2 / 2)


class Gamma(_Spec):
    """Gamma by its mean and coefficient of variation."""

    dist: Literal["gamma"]
    mean_: float = Field(alias="mean", gt=0)
    cv: float = Field(gt=0)

    def ppf(self, u):
        shape = 1.0 / self.cv**2
        return special.gammaincinv(shape, np.asarray(u, dtype=float)) * (self.mean_ / shape)

    def mean(self):
        return self.mean_


class Uniform(_Spec):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self

    def ppf(self, u):
        return self.low + (self.high - self.low) * np.asarray(u, dtype=float)

    def mean(self):
        return 0.5 * (self.low + self.high)


class Fixed(_Spec):
    """A constant."""

    dist: Literal["fixed"]
    value: float

    def ppf(self, u):
        return np.full(np.shape(u), self.value, dtype=float)

    def mean(self):
        return self.value


class Empirical(_Spec):
    """An empirical distribution: either binned (``bins`` edges, uniform within a
    bin) or discrete (``values``); ``probs`` gives the mass of each bin/value."""

    dist: Literal["empirical"]
    bins: Optional[list[float]] = None
    values: Optional[list[float]] = None
    probs: list[float]

    @model_validator(mode="after")
    def _check(self):
        if (self.bins is None) == (self.values is None):
            raise ValueError("give exactly one of 'bins' (edges) or 'values'")
        if any(p < 0 for p in self.probs):
            raise ValueError("probs must be non-negative")
        if abs(sum(self.probs) - 1.0) > 1e-6:
            raise ValueError(f"probs must sum to 1, got {sum(self.probs):.6g}")
        if self.bins is not None:
            if len(self.bins) != len(self.probs) + 1:
                raise ValueError("bins needs one edge more than probs")
            if any(b >= a for a, b in zip(self.bins[1:], self.bins[:-1])):
                raise ValueError("bins must be strictly increasing")
        elif len(self.values) != len(self.probs):
            raise ValueError("values and probs must have the same length")
        return self

    def ppf(self, u):
        u = np.asarray(u, dtype=float)
        cum = np.cumsum(self.probs)
        cum[-1] = 1.0
        if self.values is not None:
            idx = np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
            return np.asarray(self.values, dtype=float)[idx]
        return np.interp(u, np.concatenate(([0.0], cum)), np.asarray(self.bins, dtype=float))

    def mean(self):
        p = np.asarray(self.probs)
        if self.values is not None:
            return float(p @ np.asarray(self.values))
        e = np.asarray(self.bins)
        return float(p @ (0.5 * (e[1:] + e[:-1])))


Dist = Annotated[
    Union[Exponential, Lognormal, Gamma, Uniform, Fixed, Empirical],
    Field(discriminator="dist"),
]
