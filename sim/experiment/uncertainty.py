"""Parameter uncertainty for a probabilistic sensitivity analysis: the reviewed
file of ranges (``configs/uncertainty/*.yaml``) and the Latin hypercube drawn
over it.

Each parameter is a dotted key of the config with a range, a distribution
(``uniform``; ``triangular`` with its mode at the config's value;
``loguniform``) a label in words and a one-line reason. The config's own value must lie in the
range, and every key must name a number in the config: a wrong key or value is
refused with one line naming it. :func:`draw` turns a scipy.stats.qmc Latin
hypercube of ``n`` points into parameter values, one list per key, in the
``coupled`` shape the sweep runner takes.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import Config, config_to_dict, load_config, read_yaml
from ..config.loading import format_error
from ..errors import ConfigError


class Parameter(BaseModel):
    """One uncertain parameter: its range, distribution and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=3, description="what it is, in words (figures and conclusions)")
    range: tuple[float, float]
    distribution: Literal["uniform", "triangular", "loguniform"] = "uniform"
    reason: str = Field(min_length=3)

    @field_validator("range")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        lo, hi = v
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise ValueError(f"got [{lo}, {hi}]; expected finite low < high")
        return v


class Uncertainty(BaseModel):
    """The file: the config it is about and its parameters (dotted key -> Parameter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    config: str
    parameters: dict[str, Parameter] = Field(min_length=1)


def load_uncertainty(path: str | Path) -> tuple[Uncertainty, Config, Path]:
    """The uncertainty file, its base config and the config's path (relative to
    the file); ConfigError with one line for anything wrong."""
    path = Path(path)
    data = read_yaml(path, "the uncertainty file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: got {type(data).__name__}; expected a mapping with config and parameters")
    try:
        spec = Uncertainty.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {format_error(exc.errors()[0], data)}") from None
    cfg_path = (path.parent / spec.config).resolve()
    base = load_config(cfg_path)
    flat = config_to_dict(base)
    for key, par in spec.parameters.items():
        value = _lookup(flat, key)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: parameters.{key}: not a number in {spec.config} (got {value!r})")
        lo, hi = par.range
        if not lo <= value <= hi:
            raise ConfigError(f"{path}: parameters.{key}.range: got [{lo:g}, {hi:g}]; expected it to contain "
                              f"the config's value {value:g}")
        if par.distribution == "loguniform" and lo <= 0:
            raise ConfigError(f"{path}: parameters.{key}.range: got low {lo:g}; expected > 0 for loguniform")
    return spec, base, cfg_path


def _lookup(data: dict, key: str) -> Optional[object]:
    node: object = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def draw(spec: Uncertainty, base: Config, n: int, seed: int) -> dict[str, list[float]]:
    """``n`` parameter sets from a Latin hypercube (scipy.stats.qmc, seeded):
    key -> list of ``n`` values, each through its distribution's quantile
    function. Integer fields of the config get integers."""
    from scipy.stats import qmc, triang

    if n < 2:
        raise ConfigError(f"parameter sets: got {n}; expected at least 2")
    keys = list(spec.parameters)
    u = qmc.LatinHypercube(d=len(keys), seed=np.random.default_rng(seed)).random(n)
    flat = config_to_dict(base)
    out: dict[str, list[float]] = {}
    for j, key in enumerate(keys):
        par = spec.parameters[key]
        lo, hi = par.range
        x = u[:, j]
        if par.distribution == "uniform":
            v = lo + x * (hi - lo)
        elif par.distribution == "loguniform":
            v = np.exp(math.log(lo) + x * (math.log(hi) - math.log(lo)))
        else:
            mode = float(_lookup(flat, key))  # type: ignore[arg-type]
            v = triang.ppf(x, (mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
        if isinstance(_lookup(flat, key), int):
            v = np.clip(np.rint(v), math.ceil(lo), math.floor(hi))
            out[key] = [int(a) for a in v]
        else:
            out[key] = [float(a) for a in v]
    return out
