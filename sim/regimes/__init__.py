"""Contract regimes: policy objects plugged into the one care process."""
from .base import FollowUp, Regime
from .expertise import ExpertiseRegime
from .product import ProductRegime

REGIMES: dict[str, type[Regime]] = {
    ProductRegime.name: ProductRegime,
    ExpertiseRegime.name: ExpertiseRegime,
}

__all__ = ["REGIMES", "Regime", "FollowUp", "ProductRegime", "ExpertiseRegime"]
