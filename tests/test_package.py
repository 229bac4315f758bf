"""caresim as a package a lab adopts: one version everywhere, a licence and a citation."""
from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import pytest
import yaml

import sim
from sim import cli
from sim.experiment import provenance

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- one version
def test_one_version_in_pyproject_cli_manifest_and_citation(capsys):
    version = sim.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+|rc\d+)?", version), version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"] and "version" not in project["project"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "sim._version.__version__"}
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"caresim {version}"
    assert provenance.provenance()["caresim_version"] == version
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == version
    assert f"[Unreleased] - {version}" in (ROOT / "CHANGELOG.md").read_text() or \
        f"[{version}]" in (ROOT / "CHANGELOG.md").read_text()


def test_citation_is_cff_1_2_0_with_the_fields_a_citation_needs():
    text = (ROOT / "CITATION.cff").read_text()
    cff = yaml.safe_load(text)
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "version", "abstract"):
        assert isinstance(cff[key], str) and cff[key].strip(), key
    assert cff["authors"] == [{"name": "The caresim authors"}]          # an entity
    assert isinstance(cff["date-released"], str)                       # quoted: a string, as the schema wants
    dt.date.fromisoformat(cff["date-released"])
    assert cff["license"] == "BSD-3-Clause"
    assert isinstance(cff["keywords"], list) and all(isinstance(k, str) for k in cff["keywords"])
    assert cff["type"] == "software"
    allowed = {"cff-version", "message", "type", "title", "version", "date-released", "authors", "license",
               "abstract", "keywords", "repository-code", "url", "doi", "identifiers", "references",
               "preferred-citation", "commit", "contact", "license-url", "repository", "repository-artifact"}
    assert set(cff) <= allowed, set(cff) - allowed


def test_licence_is_bsd_3_clause_and_declared():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License") and "the caresim authors" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "BSD-3-Clause" and project["license-files"] == ["LICENSE"]
