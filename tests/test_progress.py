"""Progress where nobody watches a terminal: plain lines every few runs
(sim.experiment.progress), as ``caresim compare``, ``sweep`` and ``warmup``
print them into a log. The clock is a fake one: no test here waits."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import tqdm

from sim.experiment.progress import ProgressLines, duration, progress_bar

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--set", "timeline.initial_state=empty", "--set", "timeline.preload=null",
        "--set", "timeline.start=2021-01-01", "--set", "timeline.contract_start=2022-01-01",
        "--set", "timeline.end=2023-01-01", "--set", "demand.first_referrals_per_year=300",
        "--set", "providers.count=30", "--set", "providers.total_staff_hours_per_week=4500",
        "--set", "regimes.expertise.contracted_providers=10"]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_a_line_after_the_first_run_every_tenth_every_30_s_and_at_the_end():
    clock, out = Clock(), io.StringIO()
    p = ProgressLines("sweep", total=240, file=out, clock=clock)
    clock.now = 40.0
    p.update()                                      # the first: a line with an estimate
    assert _lines(out) == ["sweep: 1/240 runs done, 40s elapsed, ~2h39m left"]
    for _ in range(10):                             # quick runs: no line until a tenth (24) is done
        clock.now += 1
        p.update()
    assert len(_lines(out)) == 1
    clock.now += 30                                 # 30 s since the last line: one at the next run
    p.update()
    assert _lines(out)[-1] == "sweep: 12/240 runs done, 1m20s elapsed, ~25m20s left"
    for _ in range(12):
        p.update()
    assert _lines(out)[-1].startswith("sweep: 24/240 runs done")
    p.set_postfix_str("failed=1")
    while p.n < 240:
        p.update()
    assert _lines(out)[-1] == "sweep: 240/240 runs done, 1m20s elapsed (failed=1)"
    n = len(_lines(out))
    p.close()                                       # nothing new since the last line: no repeat
    assert len(_lines(out)) == n


def test_runs_already_done_count_but_do_not_speed_up_the_estimate():
    """The sweep's resume marks finished runs as done (n and initial), as it does on a tqdm bar."""
    clock, out = Clock(), io.StringIO()
    p = ProgressLines("sweep", file=out, clock=clock)
    p.total = 100
    p.n += 50
    p.initial += 50
    p.last_print_n = p.n
    p.refresh()
    clock.now = 60.0
    p.update()
    assert _lines(out) == ["sweep: 51/100 runs done, 1m00s elapsed, ~49m00s left"]
    p.close()
    assert len(_lines(out)) == 1


def test_close_prints_the_count_reached_and_no_total_is_fine():
    out = io.StringIO()
    p = ProgressLines("jobs", file=out, clock=Clock())
    p.update()
    p.update()
    p.close()
    assert _lines(out) == ["jobs: 1 runs done, 0s elapsed", "jobs: 2 runs done, 0s elapsed"]


def test_durations_read_at_a_glance():
    assert [duration(s) for s in (0, 42.4, 190, 3300, 7500)] == ["0s", "42s", "3m10s", "55m00s", "2h05m"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_on_a_terminal_lines_elsewhere_nothing_when_off():
    assert isinstance(progress_bar(True, "x", 3, file=io.StringIO()), ProgressLines)
    bar = progress_bar(True, "x", 3, file=Terminal())
    assert isinstance(bar, tqdm.tqdm)
    bar.close()
    assert progress_bar(False, "x", 3) is None


def _caresim(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)


def test_warmup_compare_and_sweep_log_progress_when_stderr_is_not_a_terminal(tmp_path):
    config = str(ROOT / "configs" / "achterhoek.yaml")
    proc = _caresim("warmup", config, "--reps", "2", *TINY)
    assert proc.returncode == 0, proc.stderr
    assert "warm-up check: 2/2 runs done" in proc.stderr and "MSER-5" in proc.stdout
    assert "\r" not in proc.stderr                                     # lines, not a redrawn bar
    quiet = _caresim("warmup", config, "--reps", "2", "--no-progress", *TINY)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == proc.stdout
    proc = _caresim("compare", config, "--reps", "2", "--workers", "1", *TINY)
    assert proc.returncode == 0, proc.stderr
    assert "replications: 1/2 runs done" in proc.stderr and "replications: 2/2 runs done" in proc.stderr
    proc = _caresim("sweep", "smoke", "--out", str(tmp_path / "s"), "--reps", "1", "--executor", "serial")
    assert proc.returncode == 0, proc.stderr
    assert "sweep: 16/16 runs done" in proc.stderr
