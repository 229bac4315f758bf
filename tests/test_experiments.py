"""Smoke test: every experiment script's --quick mode runs and prints its conclusion."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: compare_regimes runs in CI; the others (about 20 s each) with ``pytest -m slow``
SCRIPTS = ["compare_regimes"] + [pytest.param(n, marks=pytest.mark.slow) for n in (
    "provider_count", "lump_sum_budget", "contract_start", "mechanisms", "sensitivity", "demand_growth",
    "uncertainty")]


@pytest.mark.parametrize("name", SCRIPTS)
def test_quick_mode_runs(name, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / f"{name}.py"), "--quick", "--workers", "2",
         "--out", str(tmp_path), "--no-progress"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "quick mode" in proc.stdout
    assert "[" in proc.stdout and "]" in proc.stdout   # numbers with confidence intervals
    conclusion = (tmp_path / "conclusion.txt").read_text()
    assert conclusion.strip().splitlines()[-1] in proc.stdout


#: every script of experiments/ (not the shared _common)
ALL_SCRIPTS = sorted(p.stem for p in (ROOT / "experiments").glob("*.py") if not p.stem.startswith("_"))
COMMON_OPTIONS = ("--quick", "--workers", "--out", "--no-progress")

#: each script's --help, in one process (one import of sim for all)
HELP_DRIVER = """
import contextlib, io, json, runpy, sys
out = {}
for path in sys.argv[1:]:
    sys.argv = [path, "--help"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit:
            pass
    out[path] = buf.getvalue()
print(json.dumps(out))
"""


def test_every_script_takes_the_common_options():
    import json

    paths = [str(ROOT / "experiments" / f"{n}.py") for n in ALL_SCRIPTS]
    proc = subprocess.run([sys.executable, "-c", HELP_DRIVER, *paths], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    helps = json.loads(proc.stdout)
    assert len(helps) == len(ALL_SCRIPTS) >= 11
    for path, text in helps.items():
        for option in COMMON_OPTIONS:
            assert option in text, (Path(path).name, option)


def test_output_folders_follow_one_rule(tmp_path, monkeypatch):
    import argparse

    from _load import load_script

    common = load_script("experiments/_common.py")
    monkeypatch.setattr(common, "ROOT", tmp_path)
    ns = argparse.Namespace
    assert common.output_dir("x", ns(out=None, quick=False)) == tmp_path / "results" / "x"
    assert common.output_dir("x", ns(out=None, quick=True)) == tmp_path / "results" / "x-quick"
    assert common.output_dir("x", ns(out=str(tmp_path / "mine"), quick=True)) == tmp_path / "mine"
    assert (tmp_path / "results" / "x-quick").is_dir()


#: the verification scripts' --quick: what each keeps beside conclusion.txt (verify_queueing in CI,
#: the others, 20-60 s each, with -m slow)
VERIFICATION = [pytest.param("verify_queueing", "points.csv"),
                pytest.param("littles_law", "littles_law.csv", marks=pytest.mark.slow),
                pytest.param("calibrate", "targets.csv", marks=pytest.mark.slow)]


@pytest.mark.parametrize("name, table", VERIFICATION)
def test_verification_scripts_quick_mode_writes_under_out(name, table, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / f"{name}.py"), "--quick", "--workers", "2",
         "--out", str(tmp_path), "--no-progress"],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    with open(tmp_path / table, newline="") as fh:
        rows = list(csv.DictReader(fh))
    verdict = "inside" if name == "verify_queueing" else "passed" if name == "littles_law" else "pass"
    counted = [r for r in rows if not (name == "littles_law" and r["window"] == "steady_state")]
    assert rows and proc.returncode == (0 if all(r[verdict] == "True" for r in counted) else 1), proc.stderr
    assert "quick mode" in proc.stdout and proc.stderr == ""
    conclusion = (tmp_path / "conclusion.txt").read_text()
    assert conclusion.strip().splitlines()[-1] in proc.stdout
