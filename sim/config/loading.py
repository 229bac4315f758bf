"""Reading a config: YAML in, ``--set`` overrides applied, validated into a
:class:`~sim.config.schema.Config`, every error one line naming the key path."""
from __future__ import annotations

import datetime as dt
import json
import reprlib
from pathlib import Path
from typing import Any, Mapping, Optional

from pydantic import ValidationError

from ..bundled import resolve_config
from ..errors import ConfigError, did_you_mean
from . import yamlfile
from .schema import Config


# --------------------------------------------------------------------------- loading
def apply_overrides(data: dict, overrides: Mapping[str, Any]) -> dict:
    """Return a copy of ``data`` with dotted-path overrides applied. Paths must
    exist (a typo would otherwise be silently ignored), except the last key
    of a mapping whose keys are names (e.g. a new municipality) or an optional
    key of the schema the file leaves out (e.g. ``timeline.preload``)."""
    data = json.loads(json.dumps(data, default=str))
    for path, value in overrides.items():
        if isinstance(value, str):
            value = yamlfile.scalar(value)
        keys = path.split(".")
        node: Any = data
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            here = ".".join(keys[: depth + 1])
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise ConfigError(f"{here}: no list item {key!r} (the list has {len(node)} items)")
                key = int(key)
            elif isinstance(node, dict):
                if key not in node and not (last and (_open_mapping(keys[:depth])
                                                      or key in _fields_at(keys[:depth]))):
                    hint = did_you_mean(key, list(node), show=lambda k: ".".join(keys[:depth] + [k]))
                    raise ConfigError(f"{here}: unknown key {key!r}{hint}")
            else:
                raise ConfigError(f"{here}: cannot set a key inside the value {node!r}")
            if last:
                node[key] = value
            else:
                node = node[key]
    return data


_OPEN_MAPPINGS = {("region", "municipalities"), ("mechanisms",)}


def _open_mapping(prefix: list[str]) -> bool:
    return tuple(prefix) in _OPEN_MAPPINGS


_DIST_TAGS = ("exponential", "lognormal", "gamma", "uniform", "fixed", "empirical")


def format_error(err: dict, root: Any = None, skip: Any = ()) -> str:
    """One line for a pydantic error: key path, the bad value, what was expected.
    ``root`` is the model the path starts from (for near-match suggestions);
    ``skip`` names union branches pydantic puts in the path."""
    parts = [str(p) for p in err["loc"] if str(p) not in _DIST_TAGS and str(p) not in skip
             and not str(p).startswith(("function-", "is-instance"))]
    loc = ".".join(parts) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{loc}: unknown key{_suggest(parts[:-1], parts[-1], root or Config)}"
    if kind == "missing":
        return f"{loc}: missing required key"
    msg = err["msg"]
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        head, sep, rest = msg.partition(":")
        if sep and " " not in head:   # the validator named the key (relative to its model)
            return f"{'.'.join(parts + [head])}:{rest}"
        return f"{loc}: {msg}"
    if kind == "union_tag_invalid":
        return f"{loc}: got dist {err['input'].get('dist')!r}; expected one of {list(_DIST_TAGS)}"
    expected = msg.removeprefix("Input should be ").removeprefix("input should be ")
    if expected and expected[0].isdigit() is False and expected.split(" ")[0] in ("greater", "less"):
        expected = "a value " + expected
    return f"{loc}: got {short(err.get('input'))}; expected {expected[:1].lower() + expected[1:]}"


def _suggest(parent: list[str], key: str, root: Any = None) -> str:
    fields = _fields_at(parent, root or Config)
    return f" {key!r}{did_you_mean(key, fields)}"


def _fields_at(path: list[str], root: Any = None) -> list[str]:
    """Field names of the model at ``path`` below ``root`` (best effort, for suggestions)."""
    model: Any = root or Config
    for p in path:
        ann = getattr(model, "model_fields", {}).get(p)
        if ann is None:
            # a mapping of named items (dict[str, Model]) or a list index
            args = getattr(model, "__args__", None)
            if args:
                model = args[-1]
                continue
            return []
        model = ann.annotation
        args = getattr(model, "__args__", None)
        if args and not hasattr(model, "model_fields"):
            model = next((a for a in reversed(args) if hasattr(a, "model_fields") or getattr(a, "__args__", None)), model)
    return list(getattr(model, "model_fields", {}))


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 40, 40


def short(value: Any) -> str:
    """A bounded repr for messages (dates and paths as text): never walks more
    than a few items of a big input."""
    if isinstance(value, (dt.date, Path)):
        value = str(value)
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate(data: Mapping[str, Any]) -> Config:
    """Validate a plain mapping into a :class:`Config`; raise ConfigError."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"(top level): got {short(data)}; expected a mapping of sections")
    try:
        return Config.model_validate(dict(data))
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise ConfigError(format_error(errors[0])) from None


def read_yaml(path: str | Path, what: str = "the file", error: type[ConfigError] = ConfigError) -> Any:
    """Parse a YAML file with the project's rules (:mod:`sim.config.yamlfile`);
    a missing, binary or malformed file raises ``error`` with one line."""
    return yamlfile.read(path, what, error)


def load_config(path: str | Path, overrides: Optional[Mapping[str, Any]] = None) -> Config:
    """Load a YAML config (a path, or the name of a bundled config such as
    ``achterhoek``), apply ``--set`` style dotted overrides, validate.
    A relative ``timeline.preload`` is read from the config file's folder
    (the resolved config holds the absolute path); the file must be readable
    (its contents are checked by ``sim.model.initial.read_snapshot``)."""
    path = resolve_config(path)         # a path, or the name of a bundled config
    data = read_yaml(path)
    if overrides:
        data = apply_overrides(data or {}, overrides)
    _resolve_preload(data, Path(path).resolve().parent)
    cfg = validate(data or {})
    if cfg.timeline.initial_state == "preloaded":
        check_readable(Path(cfg.timeline.preload), "timeline.preload")
    return cfg


def _resolve_preload(data: Any, folder: Path) -> None:
    """Make ``timeline.preload`` absolute, relative to ``folder`` (in place)."""
    tl = data.get("timeline") if isinstance(data, dict) else None
    preload = tl.get("preload") if isinstance(tl, dict) else None
    if isinstance(preload, (str, Path)) and str(preload):
        p = Path(preload).expanduser()
        tl["preload"] = str(p if p.is_absolute() else (folder / p).resolve())


def check_readable(path: Path, key: str) -> None:
    """``path`` is a readable file, else a one-line ConfigError naming ``key``."""
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path} ({exc.strerror or exc})") from None


def config_to_dict(cfg: Config) -> dict:
    """The resolved config as plain JSON-able data (for manifests)."""
    return cfg.model_dump(mode="json", by_alias=True)


def with_overrides(cfg: Config, overrides: Mapping[str, Any]) -> Config:
    """A new Config with dotted-path overrides applied."""
    return validate(apply_overrides(config_to_dict(cfg), overrides))


def json_schema() -> dict:
    """JSON Schema of the config, generated from the types above."""
    schema = Config.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "caresim configuration"
    return schema
