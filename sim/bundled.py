"""The configs and sweep specs that ship with caresim, found by name.

The repository's ``configs/`` folder is the source of truth; a wheel carries a
copy of it as ``sim/_bundled/`` (``pyproject.toml`` maps the one onto the
other). So ``caresim compare achterhoek`` works after a plain ``pip install``
from any folder, and a bundled file that names another by a relative path (the
config's preload snapshot, a spec's ``base``) finds it beside itself, as in
the repository. ``caresim init DIR`` copies the bundle out for editing.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

from .errors import ConfigError

#: the bundle inside an installed package, and the repository's folder it is copied from
PACKAGED = Path(__file__).resolve().parent / "_bundled"
SOURCE = Path(__file__).resolve().parent.parent / "configs"
#: the folder of the sweep specs inside the bundle
SWEEPS = "sweeps"
#: folders of the bundle that hold neither model configs nor sweep specs
#: (``uncertainty/``: ranges for the PSA, read by the experiment scripts)
NOT_CONFIGS = (SWEEPS, "uncertainty")
#: the files ``caresim init`` copies: every config, snapshot, sidecar and spec
SUFFIXES = (".yaml", ".csv", ".json")


def root() -> Optional[Path]:
    """The bundle's folder: the installed copy, else (a source checkout or an
    editable install) the repository's ``configs/``; None when neither exists."""
    for folder in (PACKAGED, SOURCE):
        if (folder / "achterhoek.yaml").is_file():
            return folder
    return None


def _names(folder: Optional[Path], sub: Optional[str]) -> dict[str, Path]:
    """YAML files of the bundle by name: ``sub``'s files by their stem, or (sub
    None) the model configs by their path without ``.yaml``."""
    if folder is None:
        return {}
    if sub is not None:
        return {p.stem: p for p in sorted((folder / sub).glob("*.yaml"))}
    found = {}
    for p in sorted(folder.rglob("*.yaml")):
        rel = p.relative_to(folder)
        if rel.parts[0] not in NOT_CONFIGS:
            found[rel.with_suffix("").as_posix()] = p
    return found


def configs() -> dict[str, Path]:
    """The bundled model configs: name (e.g. ``achterhoek``, ``verification/mmc``) -> file."""
    return _names(root(), None)


def specs() -> dict[str, Path]:
    """The bundled sweep specs: name (e.g. ``example``) -> file."""
    return _names(root(), SWEEPS)


def _key(text: str) -> str:
    """A name as written, without ``.yaml``. A path that does not exist here
    (``configs/achterhoek.yaml`` in another folder) is no name: it is refused
    rather than quietly replaced by the bundled file of that name."""
    key = text.replace("\\", "/")
    for suffix in (".yaml", ".yml"):
        key = key.removesuffix(suffix)
    return key


def _resolve(text: str | Path, found: dict[str, Path], prefix: str, what: str,
             error: type[Exception]) -> Path:
    path = Path(text).expanduser()
    if path.exists():
        return path
    key = _key(str(text))
    key = key.removeprefix(prefix + "/") if prefix else key
    if key in found:
        return found[key]
    names = ", ".join(found) or "none found"
    raise error(f"{text}: no such file, and not a bundled {what} (bundled: {names})")


def resolve_config(text: str | Path) -> Path:
    """The file of a config argument: an existing path as it is, else the
    bundled config of that name; a ConfigError (one line listing the bundled
    names) when it is neither."""
    return _resolve(text, configs(), "", "config", ConfigError)


def resolve_spec(text: str | Path, error: type[Exception] = ConfigError) -> Path:
    """The file of a sweep spec argument: an existing path as it is, else the
    bundled spec of that name (``example`` or ``sweeps/example``)."""
    return _resolve(text, specs(), SWEEPS, "sweep spec", error)


def copy_to(dest: Path, force: bool = False) -> list[Path]:
    """Copy the bundle into ``dest`` (created if missing), keeping its folders;
    refuse a ``dest`` that is a file, or a non-empty folder unless ``force``
    (then files of the same name are overwritten, others left alone). Returns
    the files written. Raises ConfigError (one line) or OSError."""
    src = root()
    if src is None:
        raise ConfigError("no bundled configs found in this installation of caresim")
    dest = Path(dest).expanduser()
    if dest.exists() and not dest.is_dir():
        raise ConfigError(f"{dest}: exists and is not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise ConfigError(f"{dest}: folder is not empty; choose another or pass --force to overwrite "
                          "the bundled files in it")
    written = []
    for p in sorted(src.rglob("*")):
        if p.is_file() and p.suffix in SUFFIXES:
            target = dest / p.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, target)
            written.append(target)
    return written
