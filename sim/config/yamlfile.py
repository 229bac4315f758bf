"""Reading YAML the one way the project does, for configs, sweep specs,
uncertainty files and ``--set`` values alike.

PyYAML's safe loader follows YAML 1.1, which is wrong or unsafe for a
config in four ways this loader fixes:

- numbers: YAML 1.1 reads ``1.0e12`` and ``1e12`` as *strings* (its float
  needs a signed exponent and a dot); here every YAML 1.2 core-schema number
  is a number, so ``caresim check``, the JSON Schema and the validator see
  the same values;
- duplicate keys: YAML 1.1 keeps the last one silently; here they are refused
  with their key path and both lines;
- aliases: an alias bomb (a few lines that expand to billions of values) or a
  recursive alias is refused before anything walks the data;
- dates: an impossible date such as ``2029-02-30`` stays the text it is, so
  the schema refuses it with its key path instead of the YAML reader
  raising a ``ValueError`` with none.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import ConfigError

#: the most values (scalars, lists and mappings, counted with aliases expanded)
#: a YAML document may hold; the default config has about 1,200
MAX_VALUES = 200_000

_FLOAT_12 = re.compile(r"""^(?:
     [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)


class Loader(yaml.SafeLoader):
    """Safe loader with YAML 1.2 numbers and dates kept as text when impossible."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def _timestamp(loader: Loader, node: ScalarNode) -> Any:
    """A YAML date, or its text when it is no real date (the schema then says which key)."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return node.value


Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _expanded_size(root: Node, where: str) -> int:
    """Values in the document with aliases expanded (memoised, so a bomb is
    counted, not walked); a node that contains itself is refused."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in _children(node)), MAX_VALUES + 1)
            continue
        if key in size:
            continue
        if key in on_path:
            line = node.start_mark.line + 1
            raise ConfigError(f"{where} line {line}: a recursive alias (a value that contains itself); "
                              "expected plain data")
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                line = child.start_mark.line + 1
                raise ConfigError(f"{where} line {line}: a recursive alias (a value that contains itself); "
                                  "expected plain data")
            if id(child) not in size:
                stack.append((child, False))
    return size[id(root)]


def _duplicates(node: Node, path: list[str], where: str) -> None:
    """Refuse a mapping that repeats a key (YAML would keep the last silently)."""
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for k, v in node.value:
            name = k.value if isinstance(k, ScalarNode) else "?"
            if isinstance(k, ScalarNode) and name in seen:
                at = ".".join(path + [name])
                raise ConfigError(f"{where}: {at}: duplicate key (lines {seen[name]} and "
                                  f"{k.start_mark.line + 1}); expected each key once")
            seen[name] = k.start_mark.line + 1
            _duplicates(v, path + [name], where)
    elif isinstance(node, SequenceNode):
        for i, v in enumerate(node.value):
            _duplicates(v, path + [str(i)], where)


def parse(text: str, where: str = "the input") -> Any:
    """Parse one YAML document with the project's rules; ``where`` names it in errors.
    Raises ConfigError (one line) for bad YAML, duplicate keys, recursive aliases
    and documents that expand beyond :data:`MAX_VALUES` values."""
    try:
        loader = Loader(text)
    except yaml.YAMLError as exc:   # the reader refuses control characters up front
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'reason', None) or exc})") from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}:" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{where}:{line} not valid YAML ({problem})") from None
        if node is None:
            return None
        if _expanded_size(node, where) > MAX_VALUES:
            raise ConfigError(f"{where}: expands to more than {MAX_VALUES:,} values (through aliases); "
                              "expected a config-sized document")
        _duplicates(node, [], where)
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}:" if mark else ""
            raise ConfigError(f"{where}:{line} not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    finally:
        loader.dispose()


def read_text(path: Path, what: str, error: type[ConfigError]) -> str:
    """The file as UTF-8 text, or one line saying why not."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {what} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                    "expected a YAML text file") from None


def read(path: str | Path, what: str = "the file", error: type[ConfigError] = ConfigError) -> Any:
    """Parse a YAML file; every problem with it raises ``error`` with one line."""
    path = Path(path)
    text = read_text(path, what, error)
    try:
        return parse(text, str(path))
    except ConfigError as exc:
        raise error(str(exc)) from None


def scalar(text: str) -> Any:
    """A ``--set`` value read as YAML would read it in a file (numbers,
    booleans, lists, dates...); text that is no YAML stays text."""
    try:
        return parse(text, "the value")
    except ConfigError:
        return text
