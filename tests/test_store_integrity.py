"""The result store checks what it reads: part files with checksums and row
counts (verified on resume, by ``load_results`` and by ``caresim report``),
stores written before check files, the code fingerprint a resume must match,
a killed pool worker, folders that are not sweep stores, git read without
locks, and Ctrl-C / SIGTERM ending a sweep with one line that says how to
resume it.

Every sweep here is one design point of the tiny region (one year of warm-up,
one contract year) x 2 regimes x a few replications; a run takes a fraction
of a second.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import sim
from sim import cli
from sim.errors import StoreError, StoreWarning, SweepWarning
from sim.experiment import provenance
from sim.experiment import sweep as sweep_module
from sim.experiment.store import CHECKS, RUNS, Store
from sim.experiment.sweep import execute as real_execute, run_sweep

from conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
ACHTERHOEK = ROOT / "configs" / "achterhoek.yaml"
REPS = 3


def spec(reps: int = REPS) -> dict:
    """One design point of the tiny region x 2 regimes x ``reps`` replications, with monthly tables."""
    return {"name": "tiny", "base": str(ACHTERHOEK), "overrides": dict(TINY), "replications": reps, "seed": 7,
            "outputs": ["monthly"]}


def spec_file(folder: Path, reps: int = REPS) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec(reps)))
    return path


def run_cli(args, capsys):
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def same_rows(a, b) -> None:
    """Two results hold the same runs (but for their run time) and monthly rows."""
    import pandas.testing as pdt

    pdt.assert_frame_equal(a.runs.drop(columns="wall_seconds"), b.runs.drop(columns="wall_seconds"))
    pdt.assert_frame_equal(a.monthly, b.monthly)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """A finished csv store (run serially, once); tests change copies of it."""
    out = tmp_path_factory.mktemp("made") / "store"
    run_sweep(spec(), out, executor="serial", progress=False)
    return out


@pytest.fixture(scope="module")
def made_parquet(tmp_path_factory) -> Path:
    pytest.importorskip("pyarrow")
    out = tmp_path_factory.mktemp("made_parquet") / "store"
    run_sweep(spec(), out, executor="serial", progress=False, format="parquet")
    return out


@pytest.fixture(scope="module")
def reference(made):
    return sim.load_results(made)


def copy_of(store: Path, tmp_path: Path) -> Path:
    out = tmp_path / "store"
    shutil.copytree(store, out)
    return out


def first(store: Path, table: str, n: int = 0) -> Path:
    return sorted((store / table).iterdir())[n]


# --------------------------------------------------------------------------- damaged part files
def _replace(path: Path) -> str:
    path.write_text("a,b\n1,2\n")          # any other valid CSV
    return "changed since it was written (checksum mismatch)"


def _edit_csv(path: Path) -> str:
    rows = list(csv.reader(io.StringIO(path.read_text(), newline="")))
    i = rows[0].index("referrals")
    rows[1][i] = repr(float(rows[1][i]) + 1)
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    path.write_text(buf.getvalue(), newline="")
    return "changed since it was written (checksum mismatch)"


def _halve_csv(path: Path) -> str:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:13]))      # the header and 12 of 24 months
    return "12 rows, 24 were written"


def _empty(path: Path) -> str:
    path.write_bytes(b"")
    return "empty (0 bytes"


def _not_utf8(path: Path) -> str:
    path.write_bytes(b"\xff\xfe\x00point,regime\n")
    return "checksum mismatch; not UTF-8 text (byte 0)"


def _no_check(path: Path) -> str:
    (path.parents[1] / CHECKS / path.with_suffix(".json").name).unlink()
    return "no check file"


def _edit_parquet(path: Path) -> str:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    i = t.schema.get_field_index("referrals")
    pq.write_table(t.set_column(i, "referrals", pc.add(t.column(i), 1)), path)
    return "changed since it was written (checksum mismatch)"


def _halve_parquet(path: Path) -> str:
    import pyarrow.parquet as pq

    pq.write_table(pq.read_table(path).slice(0, 12), path)
    return "12 rows, 24 were written"


DAMAGE = [  # (table, damage, format)
    (RUNS, _replace, "csv"), (RUNS, _edit_csv, "csv"), ("monthly", _halve_csv, "csv"), (RUNS, _empty, "csv"),
    ("monthly", _not_utf8, "csv"), (RUNS, _no_check, "csv"),
    (RUNS, _edit_parquet, "parquet"), ("monthly", _halve_parquet, "parquet"),
]


@pytest.mark.parametrize("table, damage, fmt", DAMAGE, ids=[f"{t}-{d.__name__[1:]}-{f}" for t, d, f in DAMAGE])
def test_a_damaged_part_is_named_by_load_and_run_again_on_resume(table, damage, fmt, request, tmp_path, reference):
    store = copy_of(request.getfixturevalue("made_parquet" if fmt == "parquet" else "made"), tmp_path)
    part = first(store, table, 1)
    why = damage(part)
    name = f"{table}/{part.name}"
    with pytest.raises(StoreError) as err:
        sim.load_results(store)
    message = str(err.value)
    assert "\n" not in message and f"{name}: {why}" in message and "bad='skip'" in message
    # resume: exactly the damaged run is run again, named in one warning; the store is whole again
    with pytest.warns(StoreWarning, match=f"1 run with part files that fail their check is run again.*{name}"):
        res = run_sweep(spec(), store, executor="serial", progress=False)
    assert res.info["ran"] == 1 and res.info["skipped"] == 2 * REPS - 1 and not res.failures
    if fmt == "csv":
        same_rows(res, reference)
    else:
        assert len(res.runs) == 2 * REPS and len(res.monthly) == 2 * REPS * 24


def test_report_names_a_bad_part_in_one_line_or_leaves_its_run_out(made, tmp_path, capsys, reference):
    store = copy_of(made, tmp_path)
    part = first(store, RUNS, 2)
    why = f"runs/{part.name}: {_replace(part)}"
    code, out, err = run_cli(["report", store], capsys)
    assert code == 2 and err.count("\n") == 1 and why in err
    assert not (store / "report").exists()
    code, out, err = run_cli(["report", store, "--skip-bad"], capsys)
    assert code == 0 and err.count("\n") == 1 and err.startswith("caresim: warning:") and part.name in err
    assert (store / "report" / "index.html").exists()
    with pytest.warns(StoreWarning, match="left out"):
        res = sim.load_results(store, bad="skip")
    assert len(res.runs) == 2 * REPS - 1 and len(res.monthly) == (2 * REPS - 1) * 24
    assert res.bad == [{"point": part.name.split("_")[0], "regime": part.name.split("_")[1],
                        "replication": int(part.stem.rsplit("_", 1)[1]), "error": why}]
    assert why in (store / "report" / "index.html").read_text()        # the report says what it left out
    assert set(res.runs["regime"]) == {"product", "expertise"}       # no junk row (regime nan)
    assert len(reference.runs) == 2 * REPS


# --------------------------------------------------------------------------- stores written before check files
def _as_before_checks(store: Path) -> None:
    """The store as caresim wrote it before check files: no checks/, no store_version or code in the manifest."""
    shutil.rmtree(store / CHECKS, ignore_errors=True)
    manifest = json.loads((store / "manifest.json").read_text())
    for k in ("store_version", "code"):
        manifest.pop(k, None)
    (store / "manifest.json").write_text(json.dumps(manifest))


def test_a_store_from_before_check_files_loads_unverified_and_is_run_again_only_with_force(made, tmp_path, capsys,
                                                                                         reference):
    store = copy_of(made, tmp_path)
    _as_before_checks(store)
    with pytest.warns(StoreWarning, match=f"{REPS * 2} runs loaded unverified") as caught:
        res = sim.load_results(store)
    assert len(caught) == 1
    same_rows(res, reference)
    code, out, err = run_cli(["report", store], capsys)
    assert code == 0 and err.count("\n") == 1 and "unverified" in err
    # a part it cannot read is named, never a traceback
    bad = first(store, "monthly")
    bad.write_bytes(b"")
    with pytest.raises(StoreError, match=f"monthly/{bad.name}: empty"):
        sim.load_results(store)
    # a resume cannot verify its runs: refused in one line, or with --force all run again
    spec_path = spec_file(tmp_path)
    args = ["sweep", spec_path, "--out", store, "--executor", "serial", "--no-progress"]
    code, out, err = run_cli(args, capsys)
    assert code == 2 and err.count("\n") == 1 and "without part checksums" in err and "--force" in err
    code, out, err = run_cli([*args, "--force"], capsys)
    assert code == 0 and f"({2 * REPS} run now, 0 already done)" in out and "cannot be verified" in err
    assert len(list((store / CHECKS).iterdir())) == 2 * REPS
    same_rows(sim.load_results(store), reference)


# --------------------------------------------------------------------------- the code fingerprint
def test_the_manifest_records_the_code_fingerprint(made):
    code = json.loads((made / "manifest.json").read_text())["code"]
    assert set(code) == {"id", "caresim_version", "git_commit", "git_dirty", "source_sha256"}
    assert code["source_sha256"] == provenance.source_sha256()
    assert code["caresim_version"] == provenance.package_version()
    assert code["id"] == f"{code['caresim_version']}+{code['source_sha256'][:12]}"
    checks = [json.loads(p.read_text()) for p in (made / CHECKS).iterdir()]
    assert {c["code"] for c in checks} == {code["id"]}


def test_the_source_hash_follows_the_package_files(tmp_path):
    pkg = tmp_path / "sim"
    (pkg / "model").mkdir(parents=True)
    (pkg / "model" / "a.py").write_text("x = 1\n")
    before = provenance.source_sha256(pkg)
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert provenance.source_sha256(pkg) == before          # byte code is not source
    (pkg / "model" / "a.py").write_text("x = 2\n")
    assert provenance.source_sha256(pkg) != before


def test_resume_by_other_code_is_refused_unless_allowed_and_then_recorded_per_run(made, tmp_path, capsys,
                                                                                  monkeypatch):
    store = copy_of(made, tmp_path)
    old = json.loads((store / "manifest.json").read_text())
    monkeypatch.setattr(provenance, "source_sha256", lambda root=None: "f" * 64, raising=False)  # the code changed
    args = ["sweep", spec_file(tmp_path, REPS + 1), "--out", store, "--executor", "serial", "--no-progress"]
    code, out, err = run_cli(args, capsys)
    assert code == 2 and err.count("\n") == 1 and "holds runs made by other code" in err
    assert "--allow-other-code" in err and old["code"]["source_sha256"][:12] in err
    assert len(list((store / RUNS).iterdir())) == 2 * REPS
    assert json.loads((store / "manifest.json").read_text()) == old                 # untouched
    new_id = provenance.code_fingerprint()["id"]
    assert new_id != old["code"]["id"]
    code, out, err = run_cli([*args, "--allow-other-code"], capsys)
    assert code == 0 and f"(2 run now, {2 * REPS} already done)" in out
    assert "made by 2 versions of the code" in err and err.count("\n") == 1
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["code"] == old["code"] and manifest["git_commit"] == old["git_commit"]
    assert [c["id"] for c in manifest["other_code"]] == [new_id]
    by_code = {}
    for run, made_by in manifest["run_code"].items():
        by_code.setdefault(made_by, []).append(int(run.rsplit("_", 1)[1].split(".")[0]))
    assert {k: sorted(v) for k, v in by_code.items()} == {old["code"]["id"]: sorted(list(range(REPS)) * 2),
                                                           new_id: [REPS, REPS]}


# --------------------------------------------------------------------------- a killed pool worker
def _die_once(marker: str, task):
    """In a worker: the first task of replication 1 kills its own process (as an out-of-memory kill does)."""
    if task.replication == 1:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    return real_execute(task)


def _die_always(task):
    if task.replication == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_execute(task)


def test_a_killed_worker_is_replaced_and_its_runs_are_tried_again(tmp_path, monkeypatch, reference):
    monkeypatch.setattr(sweep_module, "execute", functools.partial(_die_once, str(tmp_path / "died")))
    with pytest.warns(SweepWarning, match="a worker process died"):
        res = run_sweep(spec(), tmp_path / "out", executor="process", workers=2, progress=False)
    assert (tmp_path / "died").exists() and res.info["restarts"] == 1
    assert not res.failures and res.info["ran"] == 2 * REPS
    same_rows(res, reference)


def test_a_run_that_kills_its_worker_every_time_fails_alone_after_a_bounded_number_of_tries(tmp_path, monkeypatch,
                                                                                          reference):
    monkeypatch.setattr(sweep_module, "execute", _die_always)
    with pytest.warns(SweepWarning, match="a worker process died"):
        res = run_sweep(spec(), tmp_path / "out", executor="process", workers=2, progress=False)
    assert res.info["restarts"] == sweep_module.RETRIES + 1
    assert sorted((f["replication"], f["regime"]) for f in res.failures) == [(1, "expertise"), (1, "product")]
    assert all(f"died {sweep_module.RETRIES + 1} times" in f["error"] for f in res.failures)
    import pandas.testing as pdt

    ok = res.runs[res.runs["replication"] != 1].drop(columns="wall_seconds").reset_index(drop=True)
    ref = reference.runs[reference.runs["replication"] != 1].drop(columns="wall_seconds").reset_index(drop=True)
    pdt.assert_frame_equal(ok, ref, check_dtype=False)      # events is float beside the failed runs' NaN


# --------------------------------------------------------------------------- folders that are not sweep stores
def test_load_results_says_what_a_folder_that_is_not_a_sweep_store_is(made, tmp_path, capsys):
    sets = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    compare = tmp_path / "compare"
    assert cli.main(["compare", str(ACHTERHOEK), "--reps", "1", "--workers", "1", "--no-progress",
                     "--episodes-per-run", "0", "--out", str(compare), *sets]) == 0
    one = tmp_path / "one"
    assert cli.main(["run", str(ACHTERHOEK), "--regime", "product", "--out", str(one), *sets]) == 0
    capsys.readouterr()
    experiment = tmp_path / "provider_count"                  # an experiment's folder of sweep stores
    for sub in ("product", "expertise"):
        shutil.copytree(made, experiment / sub)
    (experiment / "conclusion.txt").write_text("...")
    tables = tmp_path / "contract_start"                      # an experiment's folder of tables
    tables.mkdir()
    for name in ("runs.csv", "summary.csv"):
        (tables / name).write_text("a\n1\n")
    cases = [(compare, "is the output of `caresim compare`, not a sweep store: read its comparison.csv and runs.csv"),
             (one, "is the output of `caresim run` (one run), not a sweep store: read its summary.csv"),
             (experiment, "is not a sweep store but holds 2: expertise/, product/; load one of them"),
             (tables, "no manifest.json, so not a sweep store; it holds runs.csv, summary.csv")]
    for folder, what in cases:
        with pytest.raises(StoreError) as err:
            sim.load_results(folder)
        assert what in str(err.value) and "\n" not in str(err.value), folder


# --------------------------------------------------------------------------- git is read, never written
def test_reading_the_git_commit_writes_nothing(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True,
                       env={**os.environ, "GIT_OPTIONAL_LOCKS": "1"})

    git("init", "-q")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "a")
    (tmp_path / "f.txt").write_text("x\n")
    git("add", "f.txt")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "-m", "f")
    later = time.time() + 3600
    os.utime(tmp_path / "f.txt", (later, later))             # the index's stat data is stale now
    index = tmp_path / ".git" / "index"
    before = index.stat()
    assert provenance.git_commit(tmp_path) and provenance.git_dirty(tmp_path) is False
    after = index.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not (tmp_path / ".git" / "index.lock").exists()
    git("status", "--porcelain")                              # the control: with locks, git rewrites it
    assert index.stat().st_ino != before.st_ino or index.stat().st_mtime_ns != before.st_mtime_ns


# --------------------------------------------------------------------------- Ctrl-C and SIGTERM
def _start(spec_path: Path, out: Path, *extra: str) -> tuple[subprocess.Popen, list[str]]:
    argv = ["sweep", str(spec_path), "--out", str(out), "--no-progress", *extra]
    proc = subprocess.Popen([sys.executable, "-m", "sim", *argv], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    return proc, argv


def _signal_after(proc: subprocess.Popen, out: Path, n: int, sig: int, group: bool) -> tuple[str, int]:
    """Send ``sig`` (to the process group, as a terminal does, or to the sweep alone) once ``n`` runs are
    written; the sweep's stderr and the runs kept."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / RUNS).is_dir() and sum(1 for _ in (out / RUNS).glob("*.csv")) >= n:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the sweep ended before it could be interrupted"
    (os.killpg if group else os.kill)(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    return err.decode(), sum(1 for _ in (out / RUNS).glob("*.csv"))


def _resume_line(err: str, what: str, kept: int, argv: list[str]) -> list[str]:
    """The one line an interrupted sweep prints; the command it names."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    head, _, command = lines[0].partition("; resume with: ")
    assert head.startswith(f"caresim: interrupted ({what}); {kept} finished runs kept in ")
    assert shlex.split(command) == ["caresim", *argv]
    return shlex.split(command)


def test_ctrl_c_and_sigterm_end_a_sweep_with_one_line_and_a_resume_completes_it(tmp_path, reference):
    reps = 15
    spec_path, out = spec_file(tmp_path, reps), tmp_path / "out"
    proc, argv = _start(spec_path, out, "--workers", "2")
    err, kept = _signal_after(proc, out, 2, signal.SIGINT, group=True)
    assert proc.returncode == 130
    _resume_line(err, "Ctrl-C", kept, argv)
    proc, argv = _start(spec_path, out, "--workers", "2")
    err, kept = _signal_after(proc, out, kept + 2, signal.SIGTERM, group=False)
    assert proc.returncode == 143
    command = _resume_line(err, "SIGTERM", kept, argv)
    assert 0 < kept < 2 * reps
    done = subprocess.run([sys.executable, "-m", "sim", *command[1:]], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"({2 * reps - kept} run now, {kept} already done)" in done.stdout
    res = sim.load_results(out)
    assert len(res.runs) == 2 * reps and not res.failures
    first = res.runs["replication"] < REPS
    assert res.runs[first].drop(columns="wall_seconds").reset_index(drop=True).equals(
        reference.runs.drop(columns="wall_seconds"))


def test_ctrl_c_under_dask_is_one_line(tmp_path):
    pytest.importorskip("distributed")
    spec_path, out = spec_file(tmp_path, 15), tmp_path / "out"
    proc, argv = _start(spec_path, out, "--scheduler", "local", "--workers", "2")
    err, kept = _signal_after(proc, out, 2, signal.SIGINT, group=True)
    assert proc.returncode == 130
    _resume_line(err, "Ctrl-C", kept, argv)
    assert sim.load_results(out).runs.shape[0] == kept
