"""The build backend of caresim: setuptools, building wheels and sdists
outside the source tree.

setuptools writes its intermediate files into ``build/`` and
``caresim.egg-info/`` in the source tree, so a plain ``pip install .`` would
leave them behind. Here they go into a temporary folder instead
(``DIST_EXTRA_CONFIG`` names an extra setup.cfg with ``build_base`` and
``egg_base`` there), removed when the build ends. Editable installs are
setuptools' own (``pip install -e .`` keeps ``caresim.egg-info/``, ignored by
git). pyproject.toml names this module (``backend-path = ["tools"]``).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403 - every other hook as setuptools has it


def _outside_the_tree(build: Callable[..., Any], *args: Any) -> Any:
    """Run one setuptools build hook with its build and egg-info folders in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="caresim-build-") as tmp:
        extra = Path(tmp) / "setup.cfg"
        extra.write_text(f"[build]\nbuild_base = {Path(tmp) / 'build'}\n\n[egg_info]\negg_base = {tmp}\n",
                         encoding="utf-8")
        before = os.environ.get("DIST_EXTRA_CONFIG")
        os.environ["DIST_EXTRA_CONFIG"] = str(extra)
        try:
            return build(*args)
        finally:
            if before is None:
                os.environ.pop("DIST_EXTRA_CONFIG", None)
            else:
                os.environ["DIST_EXTRA_CONFIG"] = before


def get_requires_for_build_wheel(config_settings=None) -> list[str]:
    """PEP 517: setuptools runs egg_info to answer, which would write caresim.egg-info here."""
    return _outside_the_tree(_setuptools.get_requires_for_build_wheel, config_settings)


def get_requires_for_build_sdist(config_settings=None) -> list[str]:
    """PEP 517: as for the wheel, with its egg-info kept out of the source tree."""
    return _outside_the_tree(_setuptools.get_requires_for_build_sdist, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None) -> str:
    """PEP 517: build the wheel into ``wheel_directory``; nothing is written to the source tree."""
    return _outside_the_tree(_setuptools.build_wheel, wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None) -> str:
    """PEP 517: build the sdist into ``sdist_directory``; nothing is written to the source tree."""
    return _outside_the_tree(_setuptools.build_sdist, sdist_directory, config_settings)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None) -> str:
    """PEP 517: the wheel's metadata, its egg-info kept out of the source tree."""
    return _outside_the_tree(_setuptools.prepare_metadata_for_build_wheel, metadata_directory, config_settings)
