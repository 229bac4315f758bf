"""Contract regimes: policy objects plugged into the one care process.

Each regime is one module with a subclass of :class:`sim.model.policy.Regime`;
this registry is the only place that lists them. The model never imports it:
``sim.run`` resolves a regime's name here and passes the class in.
"""
from __future__ import annotations

from ..errors import ConfigError, did_you_mean
from ..model.policy import FollowUp, Regime
from .expertise import ExpertiseRegime
from .product import ProductRegime

#: name -> policy class, in the order regimes are compared (status quo first)
REGIMES: dict[str, type[Regime]] = {
    ProductRegime.name: ProductRegime,
    ExpertiseRegime.name: ExpertiseRegime,
}
#: the regime that runs from day 0 up to the contract start in every run
STATUS_QUO = ProductRegime.name
#: the regime under study by default (compared against the status quo)
REFORM = ExpertiseRegime.name


def regime_class(name: str) -> type[Regime]:
    """The policy class registered as ``name``; ConfigError (one line) if none is."""
    try:
        return REGIMES[name]
    except KeyError:
        raise ConfigError(f"unknown regime {name!r}, expected one of {list(REGIMES)}"
                          f"{did_you_mean(name, REGIMES)}") from None


__all__ = ["REGIMES", "STATUS_QUO", "REFORM", "regime_class", "Regime", "FollowUp", "ProductRegime",
           "ExpertiseRegime"]
