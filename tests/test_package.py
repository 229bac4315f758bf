"""caresim as a package a lab adopts: one version everywhere, a licence and a
citation, the configs inside the wheel and found by name, ``caresim init``,
a build that leaves the source tree clean, and an install that works from any
folder.

The wheel is built with the project's own backend (``tools/build_backend.py``,
no network) and unpacked into a temporary folder that comes first on
``PYTHONPATH``: the installed files are what runs, from a folder that is not
the repository. The full ``pip install .`` into a new virtualenv is slow
(``-m slow``)."""
from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Optional

import pytest
import yaml

import sim
from sim import bundled, cli
from sim.errors import ConfigError, SweepError
from sim.experiment import provenance
from sim.experiment.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
#: a short timeline on the full region, from the preloaded snapshot (the relative preload path is exercised)
SHORT = ["--set", "timeline.start=2021-07-01", "--set", "timeline.contract_start=2022-07-01",
         "--set", "timeline.end=2023-07-01"]


def _tracked(folder: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    if out.returncode != 0:           # not a git checkout (e.g. an unpacked sdist): the folder as it is
        return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*") if p.is_file())
    return sorted(out.stdout.split())


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


def test_the_package_list_names_every_package_of_sim():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sim").rglob("__init__.py")}
    assert listed == found | {"sim._bundled"}


# --------------------------------------------------------------------------- bundled configs by name
def test_bundled_names_resolve_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = bundled.root()
    assert root is not None and (root / "achterhoek.yaml").is_file()
    assert set(bundled.configs()) == {"achterhoek", "verification/mmc"}
    assert set(bundled.specs()) == {p.stem for p in (CONFIGS / "sweeps").glob("*.yaml")}
    for name in ("achterhoek", "achterhoek.yaml"):
        assert bundled.resolve_config(name) == root / "achterhoek.yaml"
    assert bundled.resolve_config("verification/mmc") == root / "verification" / "mmc.yaml"
    for name in ("example", "example.yaml", "sweeps/example"):
        assert bundled.resolve_spec(name) == root / "sweeps" / "example.yaml"
    cfg = sim.load_config("achterhoek")
    assert Path(cfg.timeline.preload) == root / "achterhoek-preload.csv"    # its relative preload, beside it
    assert load_spec("smoke").base == root / "achterhoek.yaml"               # the spec's relative base, beside it
    # a path that does not exist here is refused, not replaced by the bundled file of that name
    with pytest.raises(ConfigError, match="configs/achterhoek.yaml: no such file"):
        bundled.resolve_config("configs/achterhoek.yaml")
    own = tmp_path / "achterhoek"                  # a file that exists wins over the bundled name
    own.write_text("x: 1\n")
    assert bundled.resolve_config("achterhoek") == Path("achterhoek")


def test_an_unknown_name_gets_one_line_listing_the_bundled_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"nosuch: no such file, and not a bundled config \(bundled: "
                                          r"achterhoek, verification/mmc\)"):
        bundled.resolve_config("nosuch")
    with pytest.raises(SweepError, match="not a bundled sweep spec .*example"):
        load_spec("nosuch")
    for args in (["check", "nosuch"], ["compare", "nosuch.yaml"], ["sweep", "nosuch", "--out", "o"]):
        assert cli.main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("caresim: error: nosuch") and "bundled: " in err, err


def test_init_copies_the_bundle_and_refuses_a_non_empty_folder(tmp_path, capsys):
    dest = tmp_path / "mine"
    assert cli.main(["init", str(dest)]) == 0
    assert "copied" in capsys.readouterr().out
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == [p.removeprefix("configs/") for p in _tracked("configs")]
    # the copies refer to each other as the originals do: the preload beside the config, the spec's base
    cfg = sim.load_config(dest / "achterhoek.yaml")
    assert Path(cfg.timeline.preload) == (dest / "achterhoek-preload.csv").resolve()
    assert load_spec(dest / "sweeps" / "smoke.yaml").base == (dest / "achterhoek.yaml").resolve()
    assert cli.main(["check", str(dest / "achterhoek.yaml")]) == 0
    capsys.readouterr()

    (dest / "achterhoek.yaml").write_text("# edited\n")
    assert cli.main(["init", str(dest)]) == 2                      # not empty: refused, nothing overwritten
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty" in err and "--force" in err
    assert (dest / "achterhoek.yaml").read_text() == "# edited\n"
    assert cli.main(["init", str(dest), "--force"]) == 0
    assert (dest / "achterhoek.yaml").read_bytes() == (CONFIGS / "achterhoek.yaml").read_bytes()
    afile = tmp_path / "afile"
    afile.write_text("")
    capsys.readouterr()
    assert cli.main(["init", str(afile)]) == 2
    assert "not a folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- the wheel
def _copy_of_the_tree(dest: Path) -> Path:
    """The repository's files (tracked and new, not the ignored ones) copied to ``dest``."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    names = listed.stdout.split() if listed.returncode == 0 else \
        [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file()]
    for rel in names:
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_bytes((ROOT / rel).read_bytes())
    return dest


def _listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


#: the PEP 517 hooks in the order pip calls them for ``pip install .``
PIP_HOOKS = """
import sys
sys.path.insert(0, "tools")
import build_backend as b
meta_dir, wheel_dir = sys.argv[1:3]          # setuptools rewrites sys.argv
b.get_requires_for_build_wheel()
meta = b.prepare_metadata_for_build_wheel(meta_dir)
print(b.build_wheel(wheel_dir, metadata_directory=meta_dir + "/" + meta))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built by the project's backend from a copy of the source tree,
    through the hooks pip calls (no network, no build isolation); the copy is
    unchanged afterwards: no build/, no egg-info."""
    src = _copy_of_the_tree(tmp_path_factory.mktemp("src"))
    meta, out = tmp_path_factory.mktemp("meta"), tmp_path_factory.mktemp("wheel")
    before = _listing(src)
    proc = subprocess.run([sys.executable, "-c", PIP_HOOKS, str(meta), str(out)], cwd=src, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _listing(src) == before
    return out / proc.stdout.split()[-1]


def test_the_wheel_carries_the_package_the_configs_and_the_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    version = sim.__version__
    assert wheel.name == f"caresim-{version}-py3-none-any.whl"
    for rel in _tracked("configs"):
        assert "sim/_bundled/" + rel.removeprefix("configs/") in names, rel
    for py in (ROOT / "sim").rglob("*.py"):
        assert py.relative_to(ROOT).as_posix() in names, py
    dist = f"caresim-{version}.dist-info"
    assert f"{dist}/licenses/LICENSE" in names
    meta = zipfile.ZipFile(wheel).read(f"{dist}/METADATA").decode()
    assert f"Version: {version}\n" in meta and "License-Expression: BSD-3-Clause" in meta
    assert not [n for n in names if n.startswith(("tests/", "configs/", "experiments/", "tools/"))]


def test_the_installed_wheel_runs_bundled_configs_from_any_folder(wheel, tmp_path):
    """The wheel's files, first on the path, run from a folder that is not the
    repository: a bundled config by name (with its relative preload), a
    bundled sweep spec (with its relative base), and ``caresim init``."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}

    def caresim(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sim", *args], cwd=work, env=env, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=600)

    where = subprocess.run([sys.executable, "-c", "import sim; print(sim.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout
    proc = caresim("compare", "achterhoek", "--reps", "2", "--workers", "1", "--out", "cmp", *SHORT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "expertise - product" in proc.stdout
    manifest = (work / "cmp" / "manifest.json").read_text()
    assert str(site / "sim" / "_bundled" / "achterhoek-preload.csv") in manifest
    proc = caresim("sweep", "smoke", "--out", "smoke", "--reps", "1", "--executor", "serial")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = caresim("init", "mine")
    assert proc.returncode == 0, proc.stderr
    assert (work / "mine" / "achterhoek-preload.csv").is_file() and (work / "mine" / "sweeps" / "smoke.yaml").is_file()
    proc = caresim("check", "nosuch")
    assert proc.returncode == 2 and "bundled: achterhoek, verification/mmc" in proc.stderr


@pytest.mark.slow
def test_pip_install_dot_in_a_new_venv_leaves_the_tree_clean_and_runs_the_main_job(tmp_path):
    """The issue's case as a user meets it: a copy of the source tree, ``pip
    install .`` (not editable) into a new virtualenv, the main job by name
    from another folder, and the copy unchanged afterwards."""
    src = _copy_of_the_tree(tmp_path / "src")
    before = _listing(src)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "."], cwd=src,
                         capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1800)
    assert pip.returncode == 0, pip.stderr[-3000:]
    assert _listing(src) == before                                        # no build/, no egg-info
    work = tmp_path / "work"
    work.mkdir()
    caresim = str(venv / "bin" / "caresim")
    version = subprocess.run([caresim, "--version"], cwd=work, capture_output=True, text=True)
    assert version.stdout.strip() == f"caresim {sim.__version__}"
    proc = subprocess.run([caresim, "compare", "achterhoek", "--reps", "10", "--no-progress"], cwd=work,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "10 paired replications" in proc.stdout
    assert subprocess.run([caresim, "init", "mine"], cwd=work).returncode == 0
    assert (work / "mine" / "achterhoek.yaml").is_file()


# --------------------------------------------------------------------------- the tested versions
def _closure(name: str, extras: frozenset = frozenset(), seen: Optional[dict] = None) -> dict[str, frozenset]:
    """Every installed distribution that ``name[extras]`` needs, directly or
    not (markers evaluated here): canonical name -> the extras asked of it."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen = {} if seen is None else seen
    dist = metadata.distribution(name)
    key = canonicalize_name(dist.metadata["Name"])
    if key in seen and extras <= seen[key]:
        return seen
    extras = extras | seen.get(key, frozenset())
    seen[key] = extras
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
            continue
        _closure(req.name, frozenset(req.extras), seen)
    return seen


def test_constraints_pin_every_dependency_of_the_test_install():
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, eq, version = line.partition("==")
            assert eq and version.strip(), line
            pins[canonicalize_name(name)] = version.strip()
    needed = _closure("caresim", frozenset({"test"}))
    needed.pop("caresim")
    assert "caresim" not in pins
    missing = sorted(set(needed) - set(pins))
    assert not missing, f"not pinned in constraints.txt: {missing}"
    assert {"numpy", "scipy", "simpy", "pydantic", "pandas", "pytest", "setuptools"} <= set(pins)
    readme = (ROOT / "README.md").read_text()
    assert "-c constraints.txt" in readme
