"""Provenance: what a set of results was made with (code version, git commit
and dirty flag, library versions, platform, time, resolved config): one block,
:func:`provenance`, in the manifest of ``caresim run``/``compare`` folders
(:func:`manifest`) and of sweep stores (``sim.experiment.sweep.build_manifest``)."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import shlex
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Optional, Sequence

from ..config import Config, config_to_dict


def _git(args: list[str], where: Optional[Path]) -> Optional[str]:
    """Output of ``git ARGS`` in the repository holding the package, or None.
    Without optional locks (``GIT_OPTIONAL_LOCKS=0``): ``git status`` then
    never writes ``.git/index.lock``, so reading the commit cannot get in the
    way of a commit being made at the same time."""
    where = Path(where) if where is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_commit(where: Optional[Path] = None) -> Optional[str]:
    """``git rev-parse HEAD`` of the repository holding the package, or None."""
    out = _git(["rev-parse", "HEAD"], where)
    return out.strip() or None if out is not None else None


def git_dirty(where: Optional[Path] = None) -> Optional[bool]:
    """True when the repository has uncommitted changes to tracked files, None if unknown."""
    out = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return bool(out.strip()) if out is not None else None


def versions() -> dict[str, Optional[str]]:
    """Versions of Python and the numerical libraries the results depend on."""
    found: dict[str, Optional[str]] = {"python": platform.python_version()}
    for dist in ("numpy", "simpy", "scipy", "pydantic"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = None
    return found


def package_version() -> str:
    """The caresim version (``sim/_version.py``, which pyproject.toml reads
    too), so an editable install reports the source's version, not the one
    it was installed with."""
    from .._version import __version__

    return __version__


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def provenance(cfg: Optional[Config] = None, created: Optional[str] = None) -> dict[str, Any]:
    """The provenance block of every manifest: caresim version, git commit and
    dirty flag (None outside a checkout), library versions, platform, the time
    the results were ``created`` (default now) and, given ``cfg``, the resolved
    config."""
    git = git_commit()
    block: dict[str, Any] = {
        "caresim_version": package_version(),
        "git_commit": git,
        "git_dirty": git_dirty() if git else None,
        "versions": versions(),
        "platform": platform.platform(),
        "created": created or now(),
    }
    if cfg is not None:
        block["config"] = config_to_dict(cfg)
        preload = preload_file(cfg)
        if preload is not None:
            block["preload"] = preload
    return block


def file_sha256(path: str | Path) -> Optional[str]:
    """The SHA-256 of a file's bytes (hex), or None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def preload_file(cfg: Config) -> Optional[dict[str, Any]]:
    """The preloaded initial state a run of ``cfg`` starts from: the snapshot
    file's path and SHA-256 (None when the run starts empty)."""
    tl = cfg.timeline
    if tl.initial_state != "preloaded" or not tl.preload:
        return None
    return {"path": str(tl.preload), "sha256": file_sha256(tl.preload)}


def manifest(
    cfg: Config,
    argv: Sequence[str],
    seeds: Sequence[int],
    files: Sequence[str],
    **extra: Any,
) -> dict[str, Any]:
    """Everything needed to reproduce a ``caresim run``/``compare`` folder:
    the command, ``extra`` fields, seeds, files and :func:`provenance`."""
    return {
        "command": shlex.join(["caresim", *argv]),
        "argv": list(argv),
        **extra,
        "seeds": [int(s) for s in seeds],
        "files": list(files),
        **provenance(cfg),
    }
