"""Where sweep runs execute: in this process, a local process pool, or a Dask
cluster, all behind the ``concurrent.futures.Executor`` interface.

``open_executor(kind, workers, scheduler)`` is a context manager yielding
``(executor, slots)``: ``slots`` is how many runs the executor works on at
once, so the sweep keeps about twice that many in flight (bounded memory,
results written as they finish). ``parallel_map`` is the same path for a
fixed list of jobs (``caresim compare``, the warm-up check): in this process
for one worker, else a process pool whose workers exit when the parent dies.
Results never depend on the executor.

Ctrl-C is the parent's alone: worker processes (of the pool, and of a Dask
``LocalCluster`` started here) ignore SIGINT, and when the parent stops on an
exception (Ctrl-C, SIGTERM) it ends them at once instead of waiting for their
runs, so a sweep stops with one line and no worker tracebacks.
"""
from __future__ import annotations

import logging
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import closing, contextmanager
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from ..errors import SweepError, did_you_mean
from .progress import progress_bar

EXECUTORS = ("serial", "process", "dask")


class SerialExecutor(Executor):
    """Runs each submitted call at once, in this process (for debugging and
    for tests that patch the model)."""

    def __init__(self):
        self._shutdown = False

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            fut.set_exception(exc)
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True


def _watch_parent(parent: int) -> None:
    """Worker initializer: exit when the sweep process dies (even by SIGKILL),
    instead of waiting for work forever as an orphan; ignore Ctrl-C (SIGINT
    reaches every process of the terminal's group: the parent handles it)."""
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="caresim-parent-watch", daemon=True).start()


def check_executor(kind: str, workers: Optional[int] = None) -> None:
    """SweepError (one line) unless ``kind`` is an executor and ``workers``
    (when given) a positive number."""
    if kind not in EXECUTORS:
        raise SweepError(f"executor: unknown executor {kind!r}, expected one of {list(EXECUTORS)}"
                         f"{did_you_mean(kind, EXECUTORS)}")
    if workers is not None and int(workers) < 1:
        raise SweepError(f"workers: got {workers}; expected a positive integer")


def default_workers() -> int:
    return os.cpu_count() or 1


@contextmanager
def open_executor(kind: str = "process", workers: Optional[int] = None,
                  scheduler: Any = None) -> Iterator[tuple[Executor, int]]:
    """An executor of ``kind`` (serial, process or dask) and its number of slots.

    process: ``workers`` processes (default: one per core).
    dask: ``scheduler`` is ``"local"`` (default; starts a ``LocalCluster`` with
    ``workers`` single-threaded worker processes), a scheduler address such as
    ``tcp://host:8786``, or (from Python) a ``distributed.Client``,
    ``LocalCluster`` or other cluster object.
    """
    check_executor(kind, workers)
    if kind == "serial":
        ex = SerialExecutor()
        try:
            yield ex, 1
        finally:
            ex.shutdown()
    elif kind == "process":
        n = int(workers or default_workers())
        pool = ProcessPoolExecutor(max_workers=n, initializer=_watch_parent, initargs=(os.getpid(),))
        try:
            yield pool, n
        except BaseException:
            _stop(pool)
            raise
        else:
            pool.shutdown(wait=True)
    else:
        with _dask(workers, scheduler) as pair:
            yield pair


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what waits and end the worker processes now (their runs are lost,
    the store keeps every finished one): an interrupted sweep does not wait
    for the runs in progress."""
    pool.shutdown(wait=False, cancel_futures=True)
    terminate = getattr(pool, "terminate_workers", None)        # Python 3.14
    if terminate is not None:
        terminate()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.terminate()
        except (OSError, ValueError):  # pragma: no cover - already gone
            pass


@contextmanager
def _ignoring_sigint() -> Iterator[None]:
    """SIGINT ignored while worker processes are started, so they inherit it
    ignored (Python keeps an inherited SIG_IGN); the parent's own handler is
    back afterwards. Only in the main thread (elsewhere signals cannot be set)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextmanager
def _dask(workers: Optional[int], scheduler: Any) -> Iterator[tuple[Executor, int]]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SweepError("executor dask: dask.distributed is not installed "
                         "(pip install 'caresim[dask]' or pip install 'dask[distributed]')") from None
    owned: list = []
    if scheduler is None or scheduler == "local":
        with _ignoring_sigint():      # logs of the cluster's plumbing off: a run's error reaches the sweep anyway
            cluster = LocalCluster(n_workers=int(workers or default_workers()), threads_per_worker=1,
                                   processes=True, dashboard_address=None, silence_logs=logging.CRITICAL)
        owned.append(cluster)
        client = Client(cluster)
        owned.insert(0, client)
    elif isinstance(scheduler, Client):
        client = scheduler
    elif isinstance(scheduler, str):
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"scheduler: cannot reach the Dask scheduler at {scheduler!r} ({exc})") from None
        owned.append(client)
        try:
            client.wait_for_workers(1, timeout=60)
        except (OSError, TimeoutError):
            raise SweepError(f"scheduler: no Dask worker joined {scheduler!r} within 60 s") from None
    else:  # a cluster object (LocalCluster, ...)
        client = Client(scheduler)
        owned.append(client)
    try:
        slots = max(1, sum(client.nthreads().values()))
        ex = client.get_executor(pure=False)
        try:
            yield ex, slots
        except BaseException:
            logging.getLogger("distributed").setLevel(logging.CRITICAL)   # no log of the runs cut short
            ex.shutdown(wait=False)
            raise
        else:
            ex.shutdown(wait=True)
    finally:
        for obj in owned:
            try:
                obj.close()
            except Exception:  # pragma: no cover - best effort at shutdown
                pass



def window(executor: Executor, slots: int) -> int:
    """How many calls to keep in flight: one at a time in this process, else
    twice the executor's slots (busy workers, bounded memory)."""
    return 1 if isinstance(executor, SerialExecutor) else 2 * max(1, int(slots))


def as_finished(executor: Executor, fn: Callable[[Any], Any], calls: Iterable[tuple[Any, Any]],
                in_flight: int) -> Iterator[tuple[Any, Future]]:
    """Submit ``fn(arg)`` for each ``(tag, arg)`` of ``calls`` (read lazily),
    at most ``in_flight`` at a time, and yield ``(tag, future)`` as each
    finishes (in submission order among those finishing together). A submit
    that raises (e.g. a broken pool) yields a future holding its exception.
    Closing the generator early cancels the calls still waiting."""
    calls = iter(calls)
    inflight: dict[Future, Any] = {}
    order: dict[Future, int] = {}
    more = True
    try:
        while more or inflight:
            while more and len(inflight) < in_flight:
                try:
                    tag, arg = next(calls)
                except StopIteration:
                    more = False
                    break
                try:
                    fut = executor.submit(fn, arg)
                except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
                    fut = Future()
                    fut.set_exception(exc)
                inflight[fut] = tag
                order[fut] = len(order)
            if not inflight:
                continue
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=order.__getitem__):
                yield inflight.pop(fut), fut
    finally:
        for fut in inflight:
            fut.cancel()


def parallel_map(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int = 1,
                 progress: Optional[str] = None) -> list:
    """``[fn(job) for job in jobs]``: in this process when ``workers`` is 1,
    else on a pool of ``workers`` processes (:func:`open_executor`, so with
    the orphan guard). Results come in the order of ``jobs``, whatever order
    they finish in; a job's exception is raised as it arrives and the jobs not
    started are cancelled. ``progress``: the description of a progress bar
    counting finished jobs (None: no bar)."""
    jobs = list(jobs)
    results: list = [None] * len(jobs)
    kind = "serial" if int(workers) <= 1 else "process"
    bar = progress_bar(progress is not None, progress or "", total=len(jobs))
    try:
        with open_executor(kind, min(int(workers), max(len(jobs), 1))) as (ex, slots):
            with closing(as_finished(ex, fn, enumerate(jobs), window(ex, slots))) as finished:
                for i, fut in finished:
                    results[i] = fut.result()
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return results
