"""Where runs execute (sim.experiment.executors): the serial executor behaves as
concurrent.futures executors do, the process pool gives the serial results,
bad requests fail with one line, and pool workers carry the orphan guard."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import Executor, Future
from pathlib import Path

import pytest

from sim.errors import SweepError
from sim.experiment.executors import (SerialExecutor, as_finished, open_executor, parallel_map, progress_bar,
                                      window)

ROOT = Path(__file__).resolve().parents[1]
JOBS = list(range(12))


def square_after(x: int) -> tuple[int, int]:
    """x squared, finishing later for small x (so a pool finishes out of order)."""
    time.sleep(0.01 * (len(JOBS) - x) / len(JOBS))
    return x, x * x


def worker_threads(_) -> list[str]:
    return [t.name for t in threading.enumerate()]


def fail_on_five(x: int) -> int:
    if x == 5:
        raise ValueError("five")
    return x


# --------------------------------------------------------------------------- serial
def test_the_serial_executor_runs_each_call_at_once_in_order():
    seen = []
    ex = SerialExecutor()
    futures = [ex.submit(seen.append, i) for i in range(5)]
    assert seen == [0, 1, 2, 3, 4]
    assert all(isinstance(f, Future) and f.done() for f in futures)
    assert ex.submit(pow, 2, exp=10).result() == 1024


def test_the_serial_executor_hands_exceptions_over_as_futures_do():
    ex = SerialExecutor()
    fut = ex.submit(math.sqrt, -1)
    assert isinstance(fut.exception(), ValueError)
    with pytest.raises(ValueError):
        fut.result()
    with pytest.raises(KeyboardInterrupt):        # never swallowed into a future
        ex.submit(_interrupt)
    ex.shutdown()
    with pytest.raises(RuntimeError, match="shutdown"):
        ex.submit(abs, -1)


def _interrupt():
    raise KeyboardInterrupt


# --------------------------------------------------------------------------- process pool
def test_the_process_pool_gives_the_serial_results():
    with open_executor("serial") as (ex, slots):
        assert slots == 1 and window(ex, slots) == 1
        serial = [ex.submit(square_after, x).result() for x in JOBS]
    with open_executor("process", 2) as (ex, slots):
        assert slots == 2 and window(ex, slots) == 4
        pooled = [f.result() for f in [ex.submit(square_after, x) for x in JOBS]]
    assert pooled == serial == [(x, x * x) for x in JOBS]


def test_parallel_map_keeps_the_order_of_the_jobs():
    assert parallel_map(square_after, JOBS, workers=1) == [(x, x * x) for x in JOBS]
    assert parallel_map(square_after, JOBS, workers=2) == [(x, x * x) for x in JOBS]
    assert parallel_map(square_after, [], workers=2) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_parallel_map_raises_a_jobs_exception(workers):
    with pytest.raises(ValueError, match="five"):
        parallel_map(fail_on_five, JOBS, workers=workers)


def test_parallel_map_counts_on_a_progress_bar(capsys):
    parallel_map(abs, [-1, -2, -3], workers=1, progress="jobs")
    err = capsys.readouterr().err
    assert "jobs" in err and "3/3" in err
    assert progress_bar(False, "x") is None


def test_pool_workers_carry_the_orphan_guard():
    names = parallel_map(worker_threads, [0, 1], workers=2)
    assert all("caresim-parent-watch" in n for n in names)
    assert "caresim-parent-watch" not in worker_threads(0)       # not in this process


def test_the_orphan_guard_exits_a_worker_whose_parent_is_gone():
    """A worker whose parent process is not the one it was started by exits
    (status 1) within a second, instead of waiting for work forever."""
    code = ("import time; from sim.experiment.executors import _watch_parent; "
            "_watch_parent(-1); time.sleep(30)")
    t = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=20, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1 and time.monotonic() - t < 10, proc.stderr


# --------------------------------------------------------------------------- as_finished
class Counting(Executor):
    """Completes nothing until asked: records how many calls are in flight."""

    def __init__(self):
        self.pending: list[Future] = []
        self.most = 0

    def submit(self, fn, /, *args, **kwargs):
        fut = Future()
        self.pending.append((fut, fn, args))
        self.most = max(self.most, sum(1 for f, _, _ in self.pending if not f.done()))
        threading.Timer(0.01, lambda: fut.set_result(fn(*args))).start()
        return fut


def test_as_finished_keeps_at_most_the_window_in_flight_and_yields_every_call():
    ex = Counting()
    got = dict(as_finished(ex, lambda x: x + 1, ((i, i) for i in range(10)), in_flight=3))
    assert sorted(got) == list(range(10)) and all(got[i].result() == i + 1 for i in got)
    assert ex.most <= 3


def test_as_finished_hands_over_a_failing_submit_as_a_future():
    ex = SerialExecutor()
    ex.shutdown()
    [(tag, fut)] = list(as_finished(ex, abs, [("k", -1)], in_flight=1))
    assert tag == "k" and isinstance(fut.exception(), RuntimeError)


# --------------------------------------------------------------------------- bad requests
@pytest.mark.parametrize("kind, workers, fragments", [
    ("threads", None, ["executor", "'threads'", "serial", "process", "dask"]),
    ("proces", None, ["did you mean 'process'"]),
    ("process", 0, ["workers", "0", "positive"]),
    ("serial", -2, ["workers", "-2"]),
])
def test_open_executor_refuses_bad_requests_in_one_line(kind, workers, fragments):
    with pytest.raises(SweepError) as info:
        with open_executor(kind, workers):
            pass
    text = str(info.value)
    assert "\n" not in text
    for f in fragments:
        assert f in text, (f, text)
