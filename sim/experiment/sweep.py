"""Running a sweep: every (design point, regime, replication) once, results
written to an append-safe store as runs finish, resumable at any moment.

The runs of one replication whose design points share their warm-up (the
status quo up to the contract switch, :func:`sim.config.branching.warm_up_key`)
are one task: the warm-up is simulated once and every (point, regime) branches
from it (``sim.run.run_branches``), and the status-quo arm, which reads nothing
the points may differ in, runs once for all of them. The results are identical
to running every run from day 0.

Run ``(point, regime, r)`` uses seed ``replication_seed(spec.seed, r)``: the
seed depends only on the root seed and the replication, so regimes AND design
points share common random numbers. A run that raises is recorded (a row with
its error, metrics NaN) and the sweep goes on; running the sweep again retries
failed runs and skips finished ones. A worker process that dies (e.g. killed
for lack of memory) takes only its runs with it: the pool is started again and
those runs are tried again, alone, up to :data:`RETRIES` times.

A resume checks the store first: every run's part files against its check
file (a run that fails is run again), and the code against the fingerprint in
the manifest (a store made by other code is refused unless
``allow_other_code``; the manifest then records which code made each run).
"""
from __future__ import annotations

import importlib.util
import math
import time
import warnings
from collections import deque
from concurrent.futures import BrokenExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from ..run import run_branches
from ..config import Config, config_to_dict
from ..config.branching import warm_up_key
from ..regimes import STATUS_QUO
from ..errors import StoreError, StoreWarning, SweepError, SweepWarning
from ..files import cell
from ..model.metrics import METRICS
from ..model.streams import replication_seed
from .executors import as_finished, check_executor, open_executor, progress_bar, window
from .provenance import code_fingerprint, describe_code, now, preload_file, provenance
from .sequential import half_widths, next_counts, point_samples
from .spec import Sequential, Sweep, SweepSpec, resolve
from .store import CHECKS, RUNS, STORE_VERSION, TABLES, FORMATS, Key, Results, Store, listing, load_results

__all__ = ["run_sweep", "load_results", "Results", "next_counts", "half_widths", "point_samples", "execute", "Task",
           "RETRIES", "WorkerDied"]

#: how many times a task lost with a dead worker process is tried again (alone) before its runs fail
RETRIES = 2
#: what the manifest of a resumed store keeps from the old one: it describes the store since it was made
KEPT = ("created", "caresim_version", "git_commit", "git_dirty", "versions", "platform", "code", "other_code")


class WorkerDied(RuntimeError):
    """The worker process running a task died every time it was tried (e.g. killed for lack of memory)."""


# --------------------------------------------------------------------------- one task (in a worker)
@dataclass(frozen=True)
class Task:
    """The runs of one replication that share a warm-up: ``(point, regime,
    config)`` branches, run by :func:`execute` from one simulated warm-up."""

    replication: int
    seed: int
    branches: tuple[tuple[str, str, Config], ...]
    outputs: tuple[str, ...] = ()
    warm_up_cache: Optional[str] = None     # a folder of paused warm-ups (``run_branches(cache=...)``)


def execute(task: Task) -> list[dict[str, Any]]:
    """Run a task's branches from one warm-up, one output per branch; never
    raises for a failing run (its error is returned). Status-quo branches of
    points that share the warm-up are one run: it reads nothing they differ in."""
    t = time.perf_counter()
    unique: dict[tuple, int] = {}
    runs: list[tuple[str, Config]] = []
    slot = []
    for _, regime, cfg in task.branches:
        key = (regime,) if regime == STATUS_QUO else (regime, id(cfg))
        if key not in unique:
            unique[key] = len(runs)
            runs.append((regime, cfg))
        slot.append(unique[key])
    def output(res) -> dict[str, Any]:     # what is kept of a branch, as soon as it ends
        return {
            "summary": {m: _number(v) for m, v in res.summary.items()},
            "wall_seconds": float(res.wall_seconds),
            "events": int(res.events),
            "error": "",
            "tables": {name: dict(getattr(res, name).columns) for name in task.outputs},
        }

    try:
        results = run_branches(runs, seed=task.seed, errors="return", cache=task.warm_up_cache, keep=output)
    except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
        return [failed(exc, time.perf_counter() - t)] * len(task.branches)
    shared = [sum(1 for s_ in slot if s_ == k) for k in range(len(runs))]
    outs = []
    for k in slot:
        res = results[k]
        if isinstance(res, BaseException):
            outs.append(failed(res, math.nan))
            continue
        outs.append({**res, "wall_seconds": res["wall_seconds"] / shared[k]})
    return outs


def failed(exc: BaseException, seconds: float = math.nan) -> dict[str, Any]:
    return {"summary": {}, "wall_seconds": float(seconds), "events": math.nan, "error": error_text(exc),
            "tables": {}}


def error_text(exc: BaseException, limit: int = 500) -> str:
    """The exception's repr on one line (at most ``limit`` characters)."""
    text = " ".join(repr(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return v


# --------------------------------------------------------------------------- manifest
def fingerprint(sweep: Sweep) -> dict[str, Any]:
    """What the stored runs depend on: a resume must match it."""
    return {"seed": sweep.seed, "regimes": sorted(sweep.regimes),
            "points": {p.id: p.config_sha for p in sweep.points}}


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    diffs = []
    if old.get("seed") != new["seed"]:
        diffs.append(f"seed {old.get('seed')} -> {new['seed']}")
    if sorted(old.get("regimes", [])) != new["regimes"]:
        diffs.append(f"regimes {old.get('regimes')} -> {new['regimes']}")
    op, np_ = old.get("points", {}), new["points"]
    added = [p for p in np_ if p not in op]
    removed = [p for p in op if p not in np_]
    changed = [p for p in np_ if p in op and op[p] != np_[p]]
    if added or removed:
        diffs.append(f"design points {len(added)} added, {len(removed)} removed")
    if changed:
        diffs.append(f"config of {len(changed)} design point{'s' if len(changed) > 1 else ''} changed "
                     f"(e.g. {changed[0]}; base config or overrides)")
    return "; ".join(diffs) or "unknown difference"


def build_manifest(sweep: Sweep, fmt: str, command: Optional[Sequence[str]], spec_path: Optional[str],
                   created: Optional[str] = None, code: Optional[Mapping[str, Any]] = None,
                   kept: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """A sweep store's manifest: the spec, its design points with their
    resolved configs, the provenance block and the fingerprint of the code
    (``code``, default this code's). ``kept``: fields of the old manifest a
    resume keeps (its creation, provenance, code; see :data:`KEPT`)."""
    reps = sweep.replications
    block = provenance(created=created)
    manifest = {
        "kind": "caresim sweep",
        "store_version": STORE_VERSION,
        "command": list(command) if command is not None else None,
        "spec_path": spec_path,
        "spec": sweep.spec.model_dump(mode="json"),
        "fingerprint": fingerprint(sweep),
        "format": fmt,
        "regimes": list(sweep.regimes),
        "seed": sweep.seed,
        "replications": reps if isinstance(reps, int) else reps.model_dump(mode="json"),
        "replications_per_point": {p.id: reps for p in sweep.points} if isinstance(reps, int) else None,
        "outputs": list(sweep.outputs),
        "factors": list(sweep.factor_keys),
        "points": [{"id": p.id, "values": p.values, "config_sha": p.config_sha, "config": config_to_dict(p.config),
                    **({"preload": pre} if (pre := preload_file(p.config)) is not None else {})}
                   for p in sweep.points],
        **block,
        "code": dict(code) if code is not None else code_fingerprint(),
        "updated": now(),
        "finished": None,
    }
    manifest.update(kept or {})
    return manifest


def _open_store(store: Store, sweep: Sweep, fmt: Optional[str], force: bool, command, spec_path,
                allow_other_code: bool = False, code: Optional[dict] = None) -> dict:
    """Check a resumed store against the sweep and the code (``code``: this
    code's fingerprint), write the manifest first."""
    old = store.read_manifest()
    new_fp = fingerprint(sweep)
    code = code or code_fingerprint()
    kept: dict[str, Any] = {}
    if old is None:
        stored = any(store.part_files(t) for t in (RUNS, *TABLES)) or _other_format_files(store)
        if stored and not force:
            raise StoreError(f"{store.root}: holds run files but no manifest.json; use another --out, or --force "
                             "to delete them")
        if stored:
            _remove_all(store)
        store.fmt = _format(fmt)
    else:
        if old.get("kind") != "caresim sweep":
            raise StoreError(f"{store.root}: its manifest.json is not a sweep's; use another --out")
        old_fmt = old.get("format", "csv")
        want = _format(fmt) if fmt is not None else old_fmt
        if want != old_fmt and not force:
            raise StoreError(f"{store.root}: holds {old_fmt} files, not {want}; use --format {old_fmt}, another "
                             "--out, or --force to start over")
        store.fmt = old_fmt
        runs = len(store.part_files(RUNS))
        legacy = runs > 0 and int(old.get("store_version") or 0) < STORE_VERSION
        if legacy and not force:
            raise StoreError(f"{store.root}: written by an older caresim ({_old_code(old)}) without part checksums "
                             f"or a code fingerprint, so its {runs} runs cannot be verified; use another --out, or "
                             "--force to run them again here")
        old_fp = old.get("fingerprint", {})
        changed = old_fp != new_fp
        if changed and not force and not legacy:
            raise StoreError(f"{store.root}: holds a different sweep ({_differences(old_fp, new_fp)}); use "
                             "another --out, or --force to keep only the runs that still apply")
        start_over = legacy or want != old_fmt
        old_code = old.get("code") or {}
        other = runs > 0 and not start_over and old_code.get("id") != code["id"]
        if other and not allow_other_code:
            raise StoreError(f"{store.root}: holds runs made by other code ({describe_code(old_code)}; this is "
                             f"{describe_code(code)}); use another --out, or --allow-other-code to add runs by this "
                             "code to them (the manifest then records which code made each run)")
        if start_over:
            if legacy:
                warnings.warn(f"{store.root}: written before part checksums; its {runs} runs cannot be verified "
                              "and are run again (--force)", StoreWarning, stacklevel=3)
            _remove_all(store)
            store.fmt = want
        else:
            if changed:
                _drop_stale(store, old_fp, new_fp)
            if runs:
                kept = {k: old[k] for k in KEPT if k in old}
        if other:
            known = [c.get("id") for c in kept.get("other_code", [])]
            if code["id"] not in known:
                kept["other_code"] = [*kept.get("other_code", []), {**code, "first_used": now()}]
    store.clean_temporaries()
    manifest = build_manifest(sweep, store.fmt, command, spec_path, code=code, kept=kept)
    if manifest.get("other_code"):
        manifest["run_code"] = store.run_codes()
    store.write_manifest(manifest)
    return manifest


def _old_code(old: Mapping[str, Any]) -> str:
    """The code of a manifest written before code fingerprints, as far as it says."""
    commit = old.get("git_commit")
    return f"caresim {old.get('caresim_version')}, " + (f"commit {commit[:8]}" if commit else "no git commit")


def _format(fmt: Optional[str]) -> str:
    if fmt in (None, "csv"):
        return "csv"
    has_pyarrow = importlib.util.find_spec("pyarrow") is not None
    if fmt == "auto":
        return "parquet" if has_pyarrow else "csv"
    if fmt == "parquet":
        if not has_pyarrow:
            raise SweepError("format parquet: pyarrow is not installed (pip install 'caresim[parquet]')")
        return "parquet"
    raise SweepError(f"format: unknown format {fmt!r}, expected one of {['csv', 'parquet', 'auto']}")


def _other_format_files(store: Store) -> bool:
    for fmt in FORMATS:
        if any(Store(store.root, fmt).part_files(t) for t in (RUNS, *TABLES)):
            return True
    return False


def _remove_all(store: Store) -> None:
    for fmt in FORMATS:
        s = Store(store.root, fmt)
        s.remove(k for t in (RUNS, *TABLES) for k in s.part_files(t))
    for check in store.folder(CHECKS).glob("*.json"):
        check.unlink(missing_ok=True)


def _drop_stale(store: Store, old_fp: Mapping[str, Any], new_fp: Mapping[str, Any]) -> None:
    """--force: delete runs the new sweep would not reproduce."""
    same_seed = old_fp.get("seed") == new_fp["seed"]
    old_points = old_fp.get("points", {})
    stale = set()
    for table in (RUNS, *TABLES):
        for key in store.part_files(table):
            point, regime, _ = key
            ok = same_seed and regime in new_fp["regimes"] and point in new_fp["points"] \
                and old_points.get(point) == new_fp["points"][point]
            if not ok:
                stale.add(key)
    store.remove(stale)


# --------------------------------------------------------------------------- the loop
class _Loop:
    """Submits runs, keeps a bounded number in flight, records each as it
    finishes. The executor is opened on first need (a finished sweep that is
    run again starts no workers) and opened again when a worker process dies
    (a broken pool): the runs lost with it are tried again one at a time, so
    a run that kills its worker is found out and fails alone after
    :data:`RETRIES` more tries, while the others go on."""

    def __init__(self, sweep: Sweep, store: Store, stack: ExitStack, open_executor, bar,
                 warm_up_cache: Optional[str] = None, code: Optional[str] = None):
        self.sweep, self.store, self.bar = sweep, store, bar
        self.warm_up_cache = warm_up_cache
        self.code = code
        self._open = open_executor
        self._executor = stack.enter_context(ExitStack())     # closed (and opened again) on its own
        self.executor = None
        self.slots = 0
        self.window = 1
        self.rows, self.bad = store.scan(sweep.outputs)
        self.lost: dict[tuple[Key, ...], int] = {}
        self.ran = 0
        self.failed_now = 0
        self.skipped = 0
        self.restarts = 0
        self.points = {p.id: p for p in sweep.points}
        self.warm_up = {p.id: warm_up_key(p.config, (preload_file(p.config) or {}).get("sha256"))
                        for p in sweep.points}

    def done(self, key: Key) -> bool:
        row = self.rows.get(key)
        return row is not None and not row.get("error")

    def run(self, keys: Sequence[Key]) -> None:
        todo = [k for k in keys if not self.done(k)]
        self.skipped += len(keys) - len(todo)
        self._grow(len(keys), len(keys) - len(todo))
        self._say_bad([k for k in todo if k in self.bad])
        if todo and self.executor is None:
            self._start()
        fresh = deque(self._groups(todo))
        alone: deque = deque()
        while fresh or alone:
            lost = self._drain(alone, 1) if alone else self._drain(fresh, self.window)
            if lost:
                self._restart()
                self._retry(lost, alone)

    def _drain(self, queue: deque, width: int) -> list[tuple[Key, ...]]:
        """Run the groups of ``queue`` (taken as slots free up), ``width`` at a
        time, recording each as it finishes. When the executor breaks (a worker
        process died), take no more: return the groups lost with it (those
        not yet taken stay in ``queue``)."""
        lost: list[tuple[Key, ...]] = []

        def calls():
            while queue and not lost:
                group = queue.popleft()
                yield group, self._task(group)

        with closing(as_finished(self.executor, execute, calls(), width)) as finished:
            for group, fut in finished:
                try:
                    outs = fut.result()
                except BrokenExecutor:
                    lost.append(group)
                    continue
                except Exception as exc:  # noqa: BLE001 - e.g. a task that cannot be sent; recorded
                    outs = [failed(exc)] * len(group)
                for key, out in zip(group, outs):
                    self._record(key, out)
        return lost

    def _retry(self, lost: Sequence[tuple[Key, ...]], alone: deque) -> None:
        """Queue the groups lost with a dead worker to be tried again alone;
        a group lost more than :data:`RETRIES` times fails."""
        again = 0
        for group in lost:
            n = self.lost[group] = self.lost.get(group, 0) + 1
            if n > RETRIES:
                exc = WorkerDied(f"the worker process running it died {n} times (killed, e.g. for lack of memory?)")
                for key in group:
                    self._record(key, failed(exc))
            else:
                alone.append(group)
                again += len(group)
        warnings.warn(f"a worker process died (killed, e.g. for lack of memory?); the pool was started again and "
                      f"{again} of the {sum(len(g) for g in lost)} runs lost with it are tried again", SweepWarning,
                      stacklevel=2)

    def _start(self) -> None:
        self.executor, self.slots = self._executor.enter_context(self._open())
        self.window = window(self.executor, self.slots)

    def _restart(self) -> None:
        """A new executor in place of a broken one."""
        self._executor.close()
        self.restarts += 1
        self._start()

    def _say_bad(self, keys: Sequence[Key]) -> None:
        """One warning naming the runs about to run again because their part files fail their check."""
        if not keys:
            return
        problems = [self.bad.pop(k) for k in keys]
        shown = listing(problems)
        warnings.warn(f"{self.store.root}: {len(keys)} run{'s' if len(keys) != 1 else ''} with part files that fail "
                      f"their check {'are' if len(keys) != 1 else 'is'} run again ({shown})", StoreWarning,
                      stacklevel=3)

    def _groups(self, keys: Sequence[Key]) -> list[tuple[Key, ...]]:
        """The runs to do as tasks: per replication, those whose points share
        a warm-up, in the order of ``keys``; a group is split when there are
        fewer groups than slots, so that every slot has work."""
        groups: dict[tuple, list[Key]] = {}
        for key in keys:
            point, _, rep = key
            groups.setdefault((rep, self.warm_up[point]), []).append(key)
        parts = max(1, math.ceil(self.slots / len(groups))) if groups else 1
        out = []
        for g in groups.values():
            k = min(parts, len(g))
            size = math.ceil(len(g) / k)
            out += [tuple(g[i:i + size]) for i in range(0, len(g), size)]
        return out

    def _task(self, keys: Sequence[Key]) -> Task:
        rep = keys[0][2]
        return Task(rep, replication_seed(self.sweep.seed, rep),
                    tuple((point, regime, self.points[point].config) for point, regime, _ in keys),
                    self.sweep.outputs, self.warm_up_cache)

    def _record(self, key: Key, out: Mapping[str, Any]) -> None:
        row = make_row(self.sweep, key, out)
        tables = out["tables"] if not out["error"] else {}
        self.store.write_run(key, row, tables, code=self.code)
        self.rows[key] = row
        self.ran += 1
        if out["error"]:
            self.failed_now += 1
        if self.bar is not None:
            if out["error"]:
                self.bar.set_postfix_str(f"failed={self.failed_now}", refresh=False)
            self.bar.update(1)

    def _grow(self, total: int, already: int) -> None:
        if self.bar is None:
            return
        self.bar.total = (self.bar.total or 0) + total
        if already:  # counted as done without moving the rate (and so the time left)
            self.bar.n += already
            self.bar.last_print_n = self.bar.n
            self.bar.initial += already
        self.bar.refresh()


def make_row(sweep: Sweep, key: Key, out: Mapping[str, Any]) -> dict[str, Any]:
    """One row of the run table: point, factor values, regime, replication,
    seed, every summary metric, wall_seconds, events, error."""
    point, regime, rep = key
    values = sweep.point(point).values
    row: dict[str, Any] = {"point": point}
    for k in sweep.factor_keys:
        row[k] = column_value(values.get(k))
    row.update({"regime": regime, "replication": int(rep), "seed": replication_seed(sweep.seed, rep)})
    summary = out["summary"]
    for m in METRICS:
        row[m] = summary.get(m, math.nan)
    for m in summary:
        if m not in row:
            row[m] = summary[m]
    row.update({"wall_seconds": out["wall_seconds"], "events": out["events"], "error": out["error"]})
    return row


def column_value(v: Any) -> Any:
    """A factor value for the run table: plain values as they are, others
    (dates, lists, mappings) as their CSV text."""
    return v if v is None or isinstance(v, (bool, int, float, str)) else cell(v)


def plan_keys(sweep: Sweep, counts: Mapping[str, int]) -> list[Key]:
    """Runs in replication-major order (every point gets its first
    replications before any gets later ones)."""
    top = max(counts.values(), default=0)
    return [(p.id, r, k) for k in range(top) for p in sweep.points if k < counts[p.id] for r in sweep.regimes]


# --------------------------------------------------------------------------- entry point
def run_sweep(spec: Union[SweepSpec, Mapping[str, Any], str, Path], out_dir: Union[str, Path],
              executor: str = "process", workers: Optional[int] = None, scheduler: Any = None,
              reps: Optional[int] = None, progress: bool = True, force: bool = False,
              format: Optional[str] = None, command: Optional[Sequence[str]] = None,
              warm_up_cache: Optional[Union[str, Path]] = None, allow_other_code: bool = False) -> Results:
    """Run (or resume) a sweep into ``out_dir`` and return its tables.

    ``spec``: a path to a YAML spec, a mapping (``base`` a path or a Config)
    or a :class:`SweepSpec`. ``executor``: serial, process (``workers``
    processes, default one per core) or dask (``scheduler``: "local", an
    address, or a Client/cluster object). ``reps`` overrides the spec's
    replications. ``format``: csv (default for a new store), parquet or auto
    (parquet when pyarrow is installed). ``force``: reuse a store made by a
    different spec, deleting the runs that no longer apply. ``warm_up_cache``:
    a folder that keeps each replication's paused warm-up and reuses it (a
    second sweep on the same base starts at the switch; results unchanged).
    ``allow_other_code``: resume a store whose runs were made by other code
    (another version, or changed source under ``sim/``), which is refused
    otherwise; the manifest then lists every code (``code``, ``other_code``)
    and which made each run (``run_code``). Runs whose part files fail their
    check are run again. Raises :class:`sim.SweepError` (a user error, one
    line); Ctrl-C (or a SIGTERM turned into :class:`sim.errors.Interrupted`)
    leaves every finished run in the store, and the same call resumes.
    """
    t0 = time.perf_counter()
    spec_path = str(spec) if isinstance(spec, (str, Path)) else None
    sweep = resolve(spec).with_replications(reps)
    if scheduler is not None and executor == "process":
        executor = "dask"
    check_executor(executor, workers)
    store = Store(out_dir)
    with store.lock():
        code = code_fingerprint()
        manifest = _open_store(store, sweep, format, force, command, spec_path, allow_other_code, code)
        bar = progress_bar(progress, "sweep")
        try:
            with ExitStack() as stack:
                loop = _Loop(sweep, store, stack, lambda: open_executor(executor, workers, scheduler), bar,
                             str(Path(warm_up_cache).resolve()) if warm_up_cache is not None else None,
                             code=code["id"])
                reps_ = sweep.replications
                if isinstance(reps_, int):
                    counts = {p.id: reps_ for p in sweep.points}
                    loop.run(plan_keys(sweep, counts))
                else:
                    counts = _sequential(sweep, loop, reps_)
        finally:
            if bar is not None:
                bar.close()
        manifest["replications_per_point"] = counts
        manifest["finished"] = now()
        if manifest.get("other_code"):
            manifest["run_code"] = store.run_codes()
        store.write_manifest(manifest)
    res = load_results(out_dir)
    res.info = {"ran": loop.ran, "skipped": loop.skipped, "failed_now": loop.failed_now,
                "total": sum(counts.values()) * len(sweep.regimes), "points": len(sweep.points),
                "regimes": list(sweep.regimes), "replications": counts, "executor": executor, "slots": loop.slots,
                "restarts": loop.restarts, "seconds": time.perf_counter() - t0}
    return res


def _sequential(sweep: Sweep, loop: _Loop, rule: Sequential) -> dict[str, int]:
    counts = {p.id: rule.pilot for p in sweep.points}
    done: set[Key] = set()
    while True:
        keys = [k for k in plan_keys(sweep, counts) if k not in done]
        loop.run(keys)
        done.update(keys)
        t = rule.target
        samples = point_samples(loop.rows, counts, sweep.regimes, t.metric)
        new = next_counts(counts, samples, t.half_width, rule.max, rule.batch, t.level, t.relative)
        if new == counts:
            return counts
        counts = new
