"""Smoke test: every experiment script's --quick mode runs and prints its conclusion."""
from __future__ import annotations

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
