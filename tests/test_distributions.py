"""sim.config.distributions: quantile functions that are monotone and stay in
their support, means that match the quantile function, and validation that
refuses bad parameters with the key named."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from sim.config.distributions import Dist, Empirical, Exponential, Fixed, Gamma, Lognormal, Uniform

DIST = TypeAdapter(Dist)
#: midpoints of N equal-probability slices: the mean of ppf over them is the mean
#: of the distribution up to a discretisation error far below the tolerances used
N = 200_000
U_MID = (np.arange(N) + 0.5) / N

pos = st.floats(0.01, 1e4, allow_nan=False, allow_infinity=False)
specs = st.one_of(
    st.builds(lambda m: Exponential(dist="exponential", mean=m), pos),
    st.builds(lambda m, s: Lognormal(dist="lognormal", median=m, sigma=s), pos, st.floats(0.0, 2.0)),
    st.builds(lambda m, c: Gamma(dist="gamma", mean=m, cv=c), pos, st.floats(0.05, 3.0)),
    st.builds(lambda a, w: Uniform(dist="uniform", low=a, high=a + w), st.floats(0.0, 1e3), st.floats(0.0, 1e3)),
    st.builds(lambda v: Fixed(dist="fixed", value=v), st.floats(0.0, 1e3)),
    st.builds(lambda e: Empirical(dist="empirical", bins=[0.0] + list(np.cumsum(e)), probs=[1 / len(e)] * len(e)),
              st.lists(st.floats(0.1, 50.0), min_size=1, max_size=6)),
    # discrete values map in the order given: ppf is monotone only when they are sorted
    st.builds(lambda v: Empirical(dist="empirical", values=sorted(v), probs=[1 / len(v)] * len(v)),
              st.lists(st.floats(0.0, 50.0), min_size=1, max_size=6)),
)


def support(d) -> tuple[float, float]:
    if isinstance(d, (Exponential, Gamma)):
        return 0.0, math.inf
    if isinstance(d, Lognormal):
        return 0.0, math.inf
    if isinstance(d, Uniform):
        return d.low, d.high
    if isinstance(d, Fixed):
        return d.value, d.value
    if d.values is not None:
        return min(d.values), max(d.values)
    return d.bins[0], d.bins[-1]


@settings(max_examples=150, deadline=None)
@given(specs, st.lists(st.floats(0.0, 1.0, exclude_min=True, exclude_max=True), min_size=2, max_size=50))
def test_ppf_is_monotone_and_in_the_support(d, us):
    """On (0, 1); u = 0 exactly (which ``rng.random`` can return) is below."""
    u = np.sort(np.asarray(us))
    x = d.ppf(u)
    assert x.shape == u.shape and np.all(np.isfinite(x))
    assert np.all(np.diff(x) >= -1e-9 * np.maximum(1.0, np.abs(x[1:])))
    lo, hi = support(d)
    assert np.all(x >= lo - 1e-9 * max(1.0, abs(lo))) and np.all(x <= hi + 1e-9 * max(1.0, abs(hi)))
    if isinstance(d, Empirical) and d.values is not None:
        assert set(x.tolist()) <= set(d.values)


@pytest.mark.parametrize("d", [
    Exponential(dist="exponential", mean=12.0),
    Lognormal(dist="lognormal", median=240.0, sigma=0.9),
    Gamma(dist="gamma", mean=3.0, cv=0.7),
    Gamma(dist="gamma", mean=3.0, cv=2.0),
    Uniform(dist="uniform", low=2.0, high=6.0),
    Fixed(dist="fixed", value=4.5),
    Empirical(dist="empirical", bins=[0.0, 1.0, 5.0, 20.0], probs=[0.5, 0.3, 0.2]),
    Empirical(dist="empirical", values=[1.0, 2.0, 10.0], probs=[0.2, 0.5, 0.3]),
], ids=lambda d: d.dist)
def test_mean_is_the_mean_of_the_quantile_function(d):
    assert float(d.ppf(U_MID).mean()) == pytest.approx(d.mean(), rel=2e-3)


@pytest.mark.parametrize("d", [
    Exponential(dist="exponential", mean=12.0),
    Lognormal(dist="lognormal", median=20.0, sigma=0.5),
    Gamma(dist="gamma", mean=3.0, cv=0.7),
], ids=lambda d: d.dist)
def test_sample_mean_converges_to_the_mean(d):
    x = d.sample(np.random.default_rng(1), 100_000)
    assert x.mean() == pytest.approx(d.mean(), rel=0.02)


def test_closed_forms():
    assert Exponential(dist="exponential", mean=3.0).ppf(np.array([1 - math.exp(-1)]))[0] == pytest.approx(3.0)
    ln = Lognormal(dist="lognormal", median=240.0, sigma=0.9)
    assert ln.ppf(np.array([0.5]))[0] == pytest.approx(240.0)
    assert ln.mean() == pytest.approx(240.0 * math.exp(0.81 / 2))
    assert Lognormal(dist="lognormal", median=5.0, sigma=0.0).ppf(np.array([0.1, 0.9])).tolist() == [5.0, 5.0]
    # a gamma with cv 1 is an exponential
    u = np.linspace(0.01, 0.99, 25)
    assert np.allclose(Gamma(dist="gamma", mean=4.0, cv=1.0).ppf(u), Exponential(dist="exponential", mean=4.0).ppf(u))
    assert Uniform(dist="uniform", low=2.0, high=4.0).ppf(np.array([0.0, 0.25, 1.0])).tolist() == [2.0, 2.5, 4.0]
    assert Fixed(dist="fixed", value=7.0).ppf(np.zeros((2, 3))).tolist() == [[7.0] * 3] * 2
    binned = Empirical(dist="empirical", bins=[0.0, 10.0, 30.0], probs=[0.5, 0.5])
    assert binned.ppf(np.array([0.25, 0.5, 0.75])).tolist() == [5.0, 10.0, 20.0]
    assert binned.mean() == pytest.approx(0.5 * 5 + 0.5 * 20)
    discrete = Empirical(dist="empirical", values=[3.0, 8.0], probs=[0.25, 0.75])
    assert discrete.ppf(np.array([0.0, 0.2, 0.25, 0.9])).tolist() == [3.0, 3.0, 8.0, 8.0]


def test_the_lowest_uniform_maps_to_the_bottom_of_the_support():
    zero = np.array([0.0])
    assert Exponential(dist="exponential", mean=3.0).ppf(zero)[0] == 0.0
    assert Lognormal(dist="lognormal", median=3.0, sigma=0.5).ppf(zero)[0] == 0.0
    assert Gamma(dist="gamma", mean=3.0, cv=0.5).ppf(zero)[0] == 0.0
    assert Empirical(dist="empirical", bins=[2.0, 3.0], probs=[1.0]).ppf(zero)[0] == 2.0


def test_sample_is_the_quantile_of_the_generators_uniforms():
    d = Lognormal(dist="lognormal", median=2.0, sigma=0.4)
    assert np.array_equal(d.sample(np.random.default_rng(5), 100), d.ppf(np.random.default_rng(5).random(100)))


def test_yaml_form_picks_the_type_by_its_tag():
    d = DIST.validate_python({"dist": "lognormal", "median": 240, "sigma": 0.9})
    assert isinstance(d, Lognormal) and d.median == 240.0
    assert DIST.validate_python({"dist": "exponential", "mean": 10}).mean() == 10.0
    assert DIST.validate_python({"dist": "gamma", "mean": 2, "cv": 0.5}).mean() == 2.0


@pytest.mark.parametrize("spec, words", [
    ({"dist": "exponential", "mean": 0}, "greater than 0"),
    ({"dist": "exponential", "mean": -1}, "greater than 0"),
    ({"dist": "lognormal", "median": 0, "sigma": 1}, "greater than 0"),
    ({"dist": "lognormal", "median": 1, "sigma": -0.1}, "greater than or equal to 0"),
    ({"dist": "gamma", "mean": 1, "cv": 0}, "greater than 0"),
    ({"dist": "uniform", "low": 3, "high": 1}, "expected low <= high"),
    ({"dist": "uniform", "low": -1, "high": 1}, "greater than or equal to 0"),
    ({"dist": "fixed", "value": -0.5}, "greater than or equal to 0"),
    ({"dist": "fixed", "value": float("nan")}, "finite number"),
    ({"dist": "exponential", "mean": float("inf")}, "finite number"),
    ({"dist": "exponential", "mean": 1e308}, "magnitude at most"),
    ({"dist": "exponential", "mean": True}, "valid number"),
    ({"dist": "exponential", "mean": "3"}, "valid number"),
    ({"dist": "empirical", "values": [1, 2], "probs": [0.5, 0.6]}, "expected a sum of 1"),
    ({"dist": "empirical", "values": [1, 2], "probs": [1.5, -0.5]}, "greater than or equal to 0"),
    ({"dist": "empirical", "values": [-1, 2], "probs": [0.5, 0.5]}, "greater than or equal to 0"),
    ({"dist": "empirical", "values": [1, 2], "bins": [0, 1, 2], "probs": [0.5, 0.5]}, "exactly one"),
    ({"dist": "empirical", "probs": [1.0]}, "exactly one"),
    ({"dist": "empirical", "bins": [0, 1], "probs": [0.5, 0.5]}, "one edge more"),
    ({"dist": "empirical", "bins": [0, 2, 1], "probs": [0.5, 0.5]}, "strictly increasing"),
    ({"dist": "empirical", "values": [1, 2, 3], "probs": [0.5, 0.5]}, "as many as probs"),
    ({"dist": "weibull", "shape": 2}, "weibull"),
    ({"dist": "exponential", "mean": 1, "scale": 2}, "Extra inputs"),
    ({"dist": "fixed"}, "Field required"),
])
def test_validation_refuses_bad_parameters(spec, words):
    with pytest.raises(ValidationError) as err:
        DIST.validate_python(spec)
    assert words in str(err.value)


def test_specs_are_frozen():
    d = Exponential(dist="exponential", mean=2.0)
    with pytest.raises(ValidationError):
        d.mean_ = 3.0
