"""Sweep specs: which design points, regimes and replications to run.

A spec (YAML in ``configs/sweeps/``, or a dict built in code) names a base
config, fixed ``overrides`` and ``factors`` in three blocks:

- ``grid``: key -> list of values; the cartesian product of the lists;
- ``coupled``: a list of groups, each key -> list of equal-length lists; the
  keys of a group vary together (zip), the groups combine as a product;
- ``sample``: a Latin hypercube or Sobol design from ``scipy.stats.qmc`` over
  ``bounds`` (``integer`` keys, and keys whose base value is an integer, are
  drawn as integers from the inclusive range).

The design is the cartesian product of the three blocks (an empty block
contributes one empty point), so its size is
``prod(len(grid lists)) * prod(len(coupled groups)) * sample.n``.
Every design point is checked against the base config before anything runs.
Each point has a stable id: a short hash of its factor values as canonical
JSON (sorted keys). Running the spec is ``sim.experiment.sweep.run_sweep``; the design itself is ``sim.experiment.design``.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..bundled import resolve_spec
from ..config import Config, apply_overrides, config_to_dict, format_error, read_yaml, validate
from ..config.loading import short
from ..config.types import Int
from ..errors import ConfigError, SweepError, did_you_mean
from ..model.metrics import METRICS
from ..regimes import REGIMES
from .design import design
from .provenance import preload_file

POINT_ID_LENGTH = 10
#: the most replications of a design point (a sweep of more would not finish; it
#: would also precompute that many seeds)
MAX_REPLICATIONS = 100_000
#: the most design points of a sweep (every point is validated up front)
MAX_POINTS = 100_000


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- spec types
class Target(_Spec):
    """The precision to reach: half-width of the paired difference of ``metric``."""

    metric: str = Field(description="a summary metric (sim.model.metrics.METRICS)")
    half_width: float = Field(gt=0, description="target half-width of the CI of the paired difference")
    level: float = Field(0.95, gt=0, lt=1, description="confidence level")
    relative: bool = Field(False, description="half_width is a fraction of |mean difference|")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        if v not in METRICS:
            raise ValueError(f"unknown metric {v!r}{did_you_mean(v, METRICS)}")
        return v


class Sequential(_Spec):
    """Replications until every design point reaches the target precision:
    ``pilot`` first; then, for the points that have not, ``batch`` more at a
    time, or (without ``batch``) as many as Law's approximate number of
    replications estimates from the runs so far; never more than ``max``."""

    target: Target
    pilot: Int = Field(10, ge=2, le=MAX_REPLICATIONS, description="replications run first at every point")
    max: Int = Field(100, ge=2, le=MAX_REPLICATIONS, description="most replications at any point")
    batch: Optional[Int] = Field(None, ge=1, le=MAX_REPLICATIONS,
                                 description="replications added per step (default: estimated)")

    @model_validator(mode="after")
    def _order(self):
        if self.max < self.pilot:
            raise ValueError(f"max: got {self.max}; expected at least pilot ({self.pilot})")
        return self


class Sample(_Spec):
    """A space-filling sample of the box ``bounds`` (scaled from [0, 1)^d)."""

    method: Literal["lhs", "sobol"]
    n: Int = Field(ge=1, le=MAX_POINTS, description="points (Sobol: rounded up to a power of 2)")
    seed: Int = Field(0, ge=0)
    bounds: dict[str, tuple[float, float]] = Field(description="key -> [low, high]")
    integer: list[str] = Field(default_factory=list, description="keys drawn as integers in [low, high]")

    @model_validator(mode="after")
    def _check(self):
        if not self.bounds:
            raise ValueError("bounds: got none; expected at least one key -> [low, high]")
        for k, (lo, hi) in self.bounds.items():
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"bounds.{k}: got [{lo:g}, {hi:g}]; expected finite low < high")
        for k in self.integer:
            if k not in self.bounds:
                raise ValueError(_unknown_key("integer", k, self.bounds, "a key of bounds"))
        return self

    @property
    def size(self) -> int:
        return 2 ** math.ceil(math.log2(self.n)) if self.method == "sobol" else self.n


class Factors(_Spec):
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    coupled: list[dict[str, list[Any]]] = Field(default_factory=list)
    sample: Optional[Sample] = None

    @model_validator(mode="after")
    def _check(self):
        for k, values in self.grid.items():
            if not values:
                raise ValueError(f"grid.{k}: got an empty list; expected at least one value")
        for i, group in enumerate(self.coupled):
            if not group:
                raise ValueError(f"coupled.{i}: got an empty group; expected key -> list of values")
            lengths = {k: len(v) for k, v in group.items()}
            if len(set(lengths.values())) > 1:
                shown = ", ".join(f"{k} has {n}" for k, n in lengths.items())
                raise ValueError(f"coupled.{i}: lists of unequal length ({shown}); expected equal lengths")
            if 0 in lengths.values():
                raise ValueError(f"coupled.{i}: got empty lists; expected at least one value")
        if self.size > MAX_POINTS:
            raise ValueError(f"got {self.size:,} design points; expected at most {MAX_POINTS:,}")
        seen: dict[str, str] = {}
        for where, keys in self.blocks():
            for k in keys:
                if k in seen:
                    raise ValueError(f"{where}: key {k!r} is also varied in {seen[k]}")
                seen[k] = where
        return self

    @property
    def size(self) -> int:
        """Design points: grid x coupled x sample (counted, not enumerated)."""
        n = math.prod(len(v) for v in self.grid.values())
        n *= math.prod(len(next(iter(g.values()))) for g in self.coupled)
        return n * (self.sample.size if self.sample is not None else 1)

    def blocks(self) -> list[tuple[str, list[str]]]:
        out = [("grid", list(self.grid))]
        out += [(f"coupled.{i}", list(g)) for i, g in enumerate(self.coupled)]
        if self.sample is not None:
            out.append(("sample", list(self.sample.bounds)))
        return out

    @property
    def keys(self) -> list[str]:
        return [k for _, keys in self.blocks() for k in keys]


class SweepSpec(_Spec):
    """A sweep: design points x regimes x replications over a base config."""

    name: Optional[str] = None
    description: Optional[str] = None
    base: Union[Config, Path] = Field(description="config file (relative to the spec file, else the cwd) or a Config")
    overrides: dict[str, Any] = Field(default_factory=dict, description="fixed dotted-key changes to the base")
    factors: Factors = Factors()
    regimes: list[str] = Field(default_factory=lambda: list(REGIMES))
    replications: Union[Int, Sequential] = Field(10, description="a number, or a target precision")
    seed: Int = Field(1, ge=0, description="root seed; replication r has seed replication_seed(seed, r)")
    outputs: list[Literal["episodes", "monthly", "yearly"]] = Field(default_factory=list)

    @field_validator("regimes")
    @classmethod
    def _regimes(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("got none; expected at least one regime")
        for r in v:
            if r not in REGIMES:
                raise ValueError(f"unknown regime {r!r}, expected some of {list(REGIMES)}{did_you_mean(r, REGIMES)}")
        if len(set(v)) != len(v):
            raise ValueError(f"got {v}; a regime is listed twice")
        return v

    @field_validator("replications")
    @classmethod
    def _reps(cls, v):
        if isinstance(v, int) and not 1 <= v <= MAX_REPLICATIONS:
            raise ValueError(f"got {v}; expected a number from 1 to {MAX_REPLICATIONS:,} or a target")
        return v

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))

    @field_validator("overrides")
    @classmethod
    def _overrides(cls, v: dict) -> dict:
        for k in v:
            if not k or any(not part for part in str(k).split(".")):
                raise ValueError(f"bad key path {k!r}")
        return v


# --------------------------------------------------------------------------- loading
def load_spec(spec: Union[str, Path, Mapping[str, Any], SweepSpec]) -> SweepSpec:
    """A validated :class:`SweepSpec` from a YAML file, a mapping or a spec.

    A relative ``base`` path is resolved against the spec file's folder first,
    then the current directory; in a mapping, against the current directory.
    Raises :class:`SweepError` with a one-line message.
    """
    if isinstance(spec, SweepSpec):
        return spec
    where = Path.cwd()
    if isinstance(spec, (str, Path)):
        path = resolve_spec(spec, SweepError)      # a path, or the name of a bundled spec
        data = read_yaml(path, "the sweep spec", SweepError)
        where = path.resolve().parent
        label = str(path)
    else:
        data, label = spec, "sweep spec"
    if not isinstance(data, Mapping):
        raise SweepError(f"{label}: got {short(data)}; expected a mapping (base, factors, ...)")
    data = dict(data)
    if "base" in data and isinstance(data["base"], (str, Path)):
        data["base"] = _resolve_base(Path(data["base"]), where)
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise SweepError(f"{label}: {_format_error(exc)}") from None


def _resolve_base(base: Path, where: Path) -> Path:
    if base.is_absolute():
        return base
    for root in (where, Path.cwd()):
        if (root / base).exists():
            return (root / base).resolve()
    return base


def canonical_json(values: Mapping[str, Any]) -> str:
    return json.dumps(_plain(dict(values)), sort_keys=True, separators=(",", ":"), default=str)


def point_id(values: Mapping[str, Any]) -> str:
    """A short, stable hash of a design point's factor values."""
    return hashlib.sha1(canonical_json(values).encode()).hexdigest()[:POINT_ID_LENGTH]


def config_hash(cfg: Config) -> str:
    """A short hash of what a run of ``cfg`` depends on: the resolved config and,
    when it starts preloaded, the snapshot file's contents (a new snapshot under
    the same name is a different config)."""
    data = config_to_dict(cfg)
    pre = preload_file(cfg)
    if pre is not None:
        data = {**data, "preload_sha256": pre["sha256"]}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """numpy scalars and tuples to plain JSON-able Python."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)) and getattr(value, "ndim", 1) == 0:
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------- resolved sweep
@dataclass(frozen=True)
class Point:
    """One design point: its id, its factor values and its validated config."""

    id: str
    values: dict[str, Any]
    config: Config
    config_sha: str


@dataclass(frozen=True)
class Sweep:
    """A spec resolved against its base config: every design point validated."""

    spec: SweepSpec
    base: Config
    points: tuple[Point, ...]
    factor_keys: tuple[str, ...]
    replications: Union[int, Sequential]

    @property
    def regimes(self) -> tuple[str, ...]:
        return tuple(self.spec.regimes)

    @property
    def seed(self) -> int:
        return self.spec.seed

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.spec.outputs)

    def with_replications(self, reps: Optional[int]) -> "Sweep":
        """The same sweep with a fixed number of replications (``--reps``)."""
        if reps is None:
            return self
        if not 1 <= int(reps) <= MAX_REPLICATIONS:
            raise SweepError(f"--reps: got {reps}; expected an integer from 1 to {MAX_REPLICATIONS:,}")
        return replace(self, replications=int(reps))

    def point(self, pid: str) -> Point:
        return self._by_id[pid]

    @cached_property
    def _by_id(self) -> dict[str, Point]:
        return {p.id: p for p in self.points}


def resolve(spec: Union[SweepSpec, Mapping[str, Any], str, Path]) -> Sweep:
    """Load the base config and validate every design point up front, so a
    bad key or value fails (one line) before any run."""
    spec = load_spec(spec)
    base = spec.base if isinstance(spec.base, Config) else _load_base(spec.base)
    base_data = config_to_dict(base)
    _check_keys(base_data, "overrides", spec.overrides)
    fixed = dict(spec.overrides)
    factors = spec.factors
    for where, keys in factors.blocks():
        for k in keys:
            if k in fixed:
                raise SweepError(f"factors.{where}: key {k!r} is also fixed in overrides")
            _check_keys(base_data, f"factors.{where}", {k: _first_value(factors, where, k)})
    integer = [k for k in (factors.sample.bounds if factors.sample else {})
               if isinstance(_lookup(base_data, k), int) and not isinstance(_lookup(base_data, k), bool)]
    try:
        base_fixed = apply_overrides(base_data, fixed) if fixed else base_data
    except ConfigError as exc:
        raise SweepError(f"overrides: {exc}") from None
    points: list[Point] = []
    seen: dict[str, dict] = {}
    for values in design(factors, integer):
        values = _plain(values)
        pid = point_id(values)
        if pid in seen:
            raise SweepError(f"factors: design point {_describe(values)} appears twice; expected distinct points")
        seen[pid] = values
        try:
            cfg = validate(apply_overrides(base_fixed, values)) if values else validate(base_fixed)
        except ConfigError as exc:
            where = f"design point {_describe(values)}" if values else "overrides"
            raise SweepError(f"{where}: {exc}") from None
        points.append(Point(pid, values, cfg, config_hash(cfg)))
    return Sweep(spec, base, tuple(points), tuple(factors.keys), spec.replications)


def _load_base(path: Path) -> Config:
    from ..config import load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise SweepError(f"base: {exc}") from None


def _first_value(factors: Factors, where: str, key: str) -> Any:
    if where == "grid":
        return factors.grid[key][0]
    if where.startswith("coupled."):
        return factors.coupled[int(where.split(".")[1])][key][0]
    return factors.sample.bounds[key][0]  # type: ignore[union-attr]


def _check_keys(base_data: dict, where: str, overrides: Mapping[str, Any]) -> None:
    """Each key must exist in the base config (a near match is suggested)."""
    for k, v in overrides.items():
        try:
            apply_overrides(base_data, {k: v})
        except ConfigError as exc:
            raise SweepError(f"{where}: {exc}") from None


def _lookup(data: Any, key: str) -> Any:
    node = data
    for part in key.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def _describe(values: Mapping[str, Any]) -> str:
    if not values:
        return "(no factors)"
    return "{" + ", ".join(f"{k}={short(v)}" for k, v in values.items()) + "}"


# --------------------------------------------------------------------------- errors
_BRANCHES = {"int", "Sequential", "Config", "Path", "path", "lax-or-strict", "json-or-python", "is-instance[Path]",
             "is-instance[Config]", "function-after[_order(), Sequential]"}


def _format_error(exc: ValidationError) -> str:
    """The most useful error as one line: key path, what was wrong."""
    errors = exc.errors()
    # for a union (replications: int or target) prefer the branch that matches the input's kind
    errors.sort(key=lambda e: (e["type"] != "extra_forbidden", e["type"] in ("int_type", "int_parsing", "model_type",
                                                                            "path_type", "is_instance_of")))
    return format_error(errors[0], SweepSpec, _BRANCHES)


def _unknown_key(where: str, key: str, allowed, what: str) -> str:
    return f"{where}: {key!r} is not {what}{did_you_mean(key, allowed)}"
