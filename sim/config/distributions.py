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
from pydantic import Field, model_validator
from scipy import special

from .types import Section


class _Spec(Section):
    """Every quantity drawn from a spec is a duration, size, intensity or
    proficiency: none is negative, so no spec may give a negative value."""

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
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _order(self):
        if self.high < self.low:
            raise ValueError(f"high: got {self.high:g} below low {self.low:g}; expected low <= high")
        return self

    def ppf(self, u):
        return self.low + (self.high - self.low) * np.asarray(u, dtype=float)

    def mean(self):
        return 0.5 * (self.low + self.high)


class Fixed(_Spec):
    """A constant."""

    dist: Literal["fixed"]
    value: float = Field(ge=0)

    def ppf(self, u):
        return np.full(np.shape(u), self.value, dtype=float)

    def mean(self):
        return self.value


class Empirical(_Spec):
    """An empirical distribution: either binned (``bins`` edges, uniform within a
    bin) or discrete (``values``); ``probs`` gives the mass of each bin/value."""

    dist: Literal["empirical"]
    bins: Optional[list[Annotated[float, Field(ge=0)]]] = None
    values: Optional[list[Annotated[float, Field(ge=0)]]] = None
    probs: list[Annotated[float, Field(ge=0, le=1)]] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self):
        if (self.bins is None) == (self.values is None):
            raise ValueError("give exactly one of 'bins' (edges) or 'values'")
        if abs(sum(self.probs) - 1.0) > 1e-6:
            raise ValueError(f"probs: got a sum of {sum(self.probs):.6g}; expected a sum of 1")
        if self.bins is not None:
            if len(self.bins) != len(self.probs) + 1:
                raise ValueError(f"bins: got {len(self.bins)} edges for {len(self.probs)} probs; expected one "
                                 "edge more than probs")
            if any(b <= a for a, b in zip(self.bins[:-1], self.bins[1:])):
                raise ValueError(f"bins: got {self.bins}; expected strictly increasing edges")
        elif len(self.values) != len(self.probs):
            raise ValueError(f"values: got {len(self.values)} values for {len(self.probs)} probs; expected "
                             "as many as probs")
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
