"""Provenance: what a set of results was made with (code version, git commit
and dirty flag, library versions, platform, time, resolved config): one block,
:func:`provenance`, in the manifest of ``caresim run``/``compare`` folders
(:func:`manifest`) and of sweep stores (``sim.experiment.sweep.build_manifest``).
A sweep store also records :func:`code_fingerprint`, which a resume must match.

Git is only ever read, with optional locks off, so reading the commit writes
nothing (no ``.git/index.lock``) and nothing outside a command's ``--out``."""
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


#: the package's source folder (``sim/``), whose files :func:`source_sha256` hashes
PACKAGE = Path(__file__).resolve().parents[1]


def _git(args: list[str], where: Optional[Path]) -> Optional[str]:
    """Output of ``git ARGS`` in the repository holding the package, or None.
    Without optional locks (``--no-optional-locks`` and ``GIT_OPTIONAL_LOCKS=0``):
    ``git status`` then never refreshes the index nor writes ``.git/index.lock``,
    so reading the commit writes nothing and cannot get in the way of a commit
    being made at the same time."""
    where = Path(where) if where is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "--no-optional-locks", *args], cwd=where, capture_output=True, text=True,
                             timeout=10, stdin=subprocess.DEVNULL, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
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


def source_sha256(root: Path = PACKAGE) -> str:
    """SHA-256 over the package's source: every file under ``root`` (byte-code
    caches and hidden files left out), by relative path and content, in path
    order. Any edit to the model's code changes it; docs, tests and configs do not."""
    h = hashlib.sha256()
    root = Path(root)
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                   and not p.name.startswith(".") and p.suffix not in (".pyc", ".pyo"))
    for p in files:
        rel = p.relative_to(root).as_posix().encode("utf-8")
        data = p.read_bytes()
        h.update(len(rel).to_bytes(8, "big") + rel + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def code_fingerprint() -> dict[str, Any]:
    """What code makes a store's runs: the caresim version, the git commit and
    dirty flag (None outside a checkout) and :func:`source_sha256`; ``id`` is
    version and source hash, the two that decide whether code is the same (a
    commit that changed only docs or tests leaves the model's code as it was)."""
    version, source = package_version(), source_sha256()
    commit = git_commit()
    return {"id": f"{version}+{source[:12]}", "caresim_version": version, "git_commit": commit,
            "git_dirty": git_dirty() if commit else None, "source_sha256": source}


def describe_code(code: Optional[dict]) -> str:
    """A fingerprint on one line: ``caresim 0.1.0, commit 1a2b3c4d (uncommitted changes), source 9f8e7d6c5b4a``."""
    if not code:
        return "unknown code (no fingerprint)"
    commit = code.get("git_commit")
    text = f"caresim {code.get('caresim_version')}, " + (f"commit {commit[:8]}" if commit else "no git commit")
    if code.get("git_dirty"):
        text += " (uncommitted changes)"
    return text + f", source {str(code.get('source_sha256'))[:12]}"


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
