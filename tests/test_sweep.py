"""Sweeps: spec validation, design expansion, the runner on every executor,
kill-and-resume, failing runs, and the ``caresim sweep`` command.

Every sweep here runs a tiny region (one year of warm-up, one contract year,
300 first referrals a year): one run takes well under a tenth of a second.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import sim
from sim import cli
from sim.experiment.store import RUNS, Store
from sim.errors import SweepError, SweepWarning
from sim.experiment.design import coupled_points, design, grid_points, sample_points
from sim.experiment.spec import Factors, Sample, load_spec, point_id, resolve
from sim.experiment.sweep import half_widths, next_counts, run_sweep

from conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
ACHTERHOEK = ROOT / "configs" / "achterhoek.yaml"

PROVIDERS = "regimes.expertise.contracted_providers"
BUDGET = "regimes.expertise.budget.level"


def tiny_spec(reps=3, outputs=("monthly",), **extra) -> dict:
    """2 design points x 2 regimes x ``reps`` replications of the tiny region."""
    overrides = {k: v for k, v in TINY.items() if k != PROVIDERS}
    spec = {"name": "tiny", "base": str(ACHTERHOEK), "overrides": overrides,
            "factors": {"grid": {PROVIDERS: [8, 12]}}, "replications": reps, "seed": 7,
            "outputs": list(outputs)}
    spec.update(extra)
    return spec


def comparable(res):
    """The run table without the one column that may differ (run time)."""
    return res.runs.drop(columns=["wall_seconds"])


def assert_same_results(a, b):
    import pandas.testing as pdt

    pdt.assert_frame_equal(comparable(a), comparable(b))
    if a.monthly is not None or b.monthly is not None:
        pdt.assert_frame_equal(a.monthly, b.monthly)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny sweep run serially, uninterrupted (6 reps)."""
    out = tmp_path_factory.mktemp("reference")
    return run_sweep(tiny_spec(reps=6), out, executor="serial", progress=False)


def run_cli(args, capsys):
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------- expansion
values = st.lists(st.integers(-5, 5), min_size=1, max_size=4, unique=True)
keys = st.text("abcdefgh", min_size=1, max_size=5).map(lambda s: "k." + s)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(keys, values, max_size=4))
def test_grid_is_the_cartesian_product(grid):
    points = grid_points(grid)
    assert len(points) == math.prod(len(v) for v in grid.values())
    combos = {tuple(p[k] for k in grid) for p in points}
    assert combos == set(itertools.product(*grid.values()))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4).flatmap(lambda n: st.dictionaries(
    keys, st.lists(st.integers(-9, 9), min_size=n, max_size=n), min_size=1, max_size=3)), max_size=3))
def test_coupled_groups_vary_together(groups):
    # distinct keys across groups (the spec refuses a key in two places)
    seen: set = set()
    groups = [{k: v for k, v in g.items() if k not in seen and not seen.add(k)} for g in groups]
    groups = [g for g in groups if g]
    points = coupled_points(groups)
    assert len(points) == math.prod(len(next(iter(g.values()))) for g in groups)
    for g in groups:
        rows = {tuple(g[k][i] for k in g) for i in range(len(next(iter(g.values()))))}
        assert {tuple(p[k] for k in g) for p in points} <= rows


bounds = st.tuples(st.floats(-1e3, 1e3), st.floats(1e-3, 1e3)).map(lambda t: (t[0], t[0] + t[1]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, bounds, min_size=1, max_size=4), st.integers(1, 40), st.integers(0, 2**16))
def test_lhs_covers_every_stratum_once(box, n, seed):
    sample = Sample(method="lhs", n=n, seed=seed, bounds=box)
    points = sample_points(sample)
    assert len(points) == n
    for k, (lo, hi) in box.items():
        x = np.array([p[k] for p in points])
        assert np.all((x >= lo) & (x <= hi))
        strata = np.floor((x - lo) / (hi - lo) * n).astype(int)
        assert sorted(np.clip(strata, 0, n - 1)) == list(range(n))


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(keys, bounds, min_size=1, max_size=3), st.integers(1, 40), st.integers(0, 2**16))
def test_sobol_points_lie_within_the_bounds(box, n, seed):
    sample = Sample(method="sobol", n=n, seed=seed, bounds=box)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        points = sample_points(sample)
    m = 2 ** math.ceil(math.log2(n))
    assert len(points) == m == sample.size
    assert any(issubclass(w.category, SweepWarning) for w in caught) == (m != n)
    for k, (lo, hi) in box.items():
        assert all(lo <= p[k] <= hi for p in points)


@settings(max_examples=30, deadline=None)
@given(st.integers(-20, 20), st.integers(0, 30), st.integers(1, 30), st.sampled_from(["lhs", "sobol"]))
@example(lo=0, width=2, n=4, method="lhs")
@example(lo=-3, width=0, n=6, method="lhs")
def test_integer_factors_cover_their_range(lo, width, n, method):
    hi = lo + width + 1
    sample = Sample(method=method, n=n, seed=1, bounds={"a.b": (lo, hi), "a.c": (0.0, 1.0)}, integer=["a.b"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SweepWarning)
        points = sample_points(sample)
    got = [p["a.b"] for p in points]
    assert all(isinstance(v, int) and lo <= v <= hi for v in got)
    if method == "lhs" and n % (hi - lo + 1) == 0:   # each value then holds n/m whole strata
        assert sorted(got) == sorted(list(range(lo, hi + 1)) * (n // (hi - lo + 1)))


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(keys, values, max_size=2), st.integers(1, 3), st.integers(1, 5))
def test_design_is_grid_x_coupled_x_sample(grid, glen, n):
    grid = {k: v for k, v in grid.items() if k != "c.x"}
    factors = Factors(grid=grid, coupled=[{"c.x": list(range(glen)), "c.y": list(range(glen))}],
                      sample=Sample(method="lhs", n=n, bounds={"s.z": (0, 1)}))
    points = design(factors)
    assert len(points) == math.prod(len(v) for v in grid.values()) * glen * n
    assert len({json.dumps(p, sort_keys=True) for p in points}) == len(points)
    assert all(p["c.x"] == p["c.y"] for p in points)


def test_point_ids_are_stable_hashes_of_the_values():
    a = point_id({"x.a": 1, "x.b": 0.5})
    assert a == point_id({"x.b": 0.5, "x.a": 1})
    assert a != point_id({"x.a": 2, "x.b": 0.5})
    assert len(a) == 10 and int(a, 16) >= 0


def test_example_spec_is_the_issue_sweep():
    sweep = resolve(ROOT / "configs" / "sweeps" / "example.yaml")
    assert len(sweep.points) == 9 and sweep.replications == 30 and sweep.regimes == tuple(sim.REGIMES)
    assert set(sweep.factor_keys) == {PROVIDERS, BUDGET}
    smoke = resolve(ROOT / "configs" / "sweeps" / "smoke.yaml")
    assert len(smoke.points) == 8


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("change, message", [
    ({"replication": 3}, "replication: unknown key 'replication'; did you mean 'replications'?"),
    ({"factors": {"gird": {PROVIDERS: [8]}}}, "factors.gird: unknown key 'gird'; did you mean 'grid'?"),
    ({"factors": {"grid": {"regimes.expertise.contracted_provider": [8]}}},
     "factors.grid: regimes.expertise.contracted_provider: unknown key 'contracted_provider'; "
     "did you mean 'regimes.expertise.contracted_providers'?"),
    ({"overrides": {"demand.first_referals_per_year": 10}},
     "overrides: demand.first_referals_per_year: unknown key 'first_referals_per_year'; "
     "did you mean 'demand.first_referrals_per_year'?"),
    ({"factors": {"sample": {"method": "lhs", "n": 4, "bounds": {"waiting.patience_mean_dys": [1, 2]}}}},
     "factors.sample: waiting.patience_mean_dys: unknown key"),
    ({"factors": {"grid": {PROVIDERS: [8, 40]}}}, "regimes.expertise.contracted_providers: 40 exceeds"),
    ({"regimes": ["product", "expertize"]}, "did you mean 'expertise'?"),
    ({"replications": {"target": {"metric": "wait_mean_weks", "half_width": 1}}},
     "replications.target.metric: unknown metric 'wait_mean_weks'; did you mean 'wait_mean_weeks'?"),
    ({"replications": 0}, "replications: got 0"),
    ({"factors": {"coupled": [{PROVIDERS: [8, 9], BUDGET: [1.0]}]}}, "factors.coupled.0: lists of unequal"),
    ({"factors": {"grid": {PROVIDERS: [8]}, "coupled": [{PROVIDERS: [9]}]}}, "is also varied in grid"),
])
def test_bad_specs_are_refused_with_one_line(change, message):
    spec = tiny_spec()
    spec.update(change)
    with pytest.raises(SweepError) as err:
        resolve(spec)
    text = str(err.value)
    assert message in text and "\n" not in text


@pytest.mark.parametrize("text, message", [
    ("base: {base}\nfactors: {{grid: {{providers.countt: [1]}}}}\n", "providers.countt: unknown key 'countt'"),
    ("base: {base}\nseeds: 3\n", "seeds: unknown key 'seeds'; did you mean 'seed'?"),
])
def test_cli_refuses_a_bad_spec_with_status_2(tmp_path, capsys, text, message):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text.format(base=ACHTERHOEK))
    code, out, err = run_cli(["sweep", spec, "--out", tmp_path / "out", "--no-progress"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("caresim: error: ") and message in err
    assert not (tmp_path / "out" / "runs").exists()


def test_spec_base_is_relative_to_the_spec_file(tmp_path, monkeypatch):
    (tmp_path / "sweeps").mkdir()
    (tmp_path / "region.yaml").write_text(ACHTERHOEK.read_text())
    snapshot = ACHTERHOEK.parent / "achterhoek-preload.csv"      # the config's preload, relative to it
    (tmp_path / snapshot.name).write_bytes(snapshot.read_bytes())
    (tmp_path / "sweeps" / "s.yaml").write_text(yaml.safe_dump({"base": "../region.yaml", "replications": 2}))
    monkeypatch.chdir(ROOT)
    spec = load_spec(tmp_path / "sweeps" / "s.yaml")
    assert Path(spec.base) == (tmp_path / "region.yaml").resolve()
    assert resolve(spec).points[0].config.providers.count == 221


def test_spec_base_may_be_a_loaded_config(tmp_path):
    cfg = sim.load_config(ACHTERHOEK, overrides=TINY)
    res = run_sweep({"base": cfg, "factors": {"grid": {BUDGET: [0.9, 1.1]}}, "replications": 1,
                     "regimes": ["expertise"]}, tmp_path, executor="serial", progress=False)
    assert len(res.runs) == 2 and set(res.runs["regime"]) == {"expertise"}
    assert sorted(res.runs[BUDGET]) == [0.9, 1.1]


# --------------------------------------------------------------------------- the sequential rule
def test_next_counts_adds_a_batch_where_the_target_is_not_reached():
    rng = np.random.default_rng(3)
    samples = {"a": rng.normal(0, 0.1, 10), "b": rng.normal(0, 5.0, 10), "c": np.full(10, np.nan),
               "d": rng.normal(0, 9.0, 98)}
    counts = {"a": 10, "b": 10, "c": 10, "d": 98}
    assert next_counts(counts, samples, 1.0, 100, step=5) == {"a": 10, "b": 15, "c": 15, "d": 100}
    assert next_counts({"a": 100}, {"a": rng.normal(0, 50, 100)}, 1.0, 100, step=5) == {"a": 100}


def test_next_counts_without_a_batch_jumps_to_the_estimated_need():
    x = np.random.default_rng(4).normal(1.0, 2.0, 10)
    s = x.std(ddof=1)
    need = next_counts({"p": 10}, {"p": x}, 0.5, 1000)["p"]
    from scipy import stats

    half = lambda n: stats.t.ppf(0.975, n - 1) * s / math.sqrt(n)   # noqa: E731
    assert half(need) <= 0.5 < half(need - 1)
    assert next_counts({"p": 10}, {"p": x}, 0.5, 40)["p"] == 40
    assert next_counts({"p": 10}, {"p": np.full(10, np.nan)}, 0.5, 1000)["p"] == 20   # no estimate: double
    # a failed run is not a replication towards the target
    y = x.copy()
    y[2] = np.nan
    lost_one = next_counts({"p": 10}, {"p": y}, 0.5, 1000)["p"]
    s = np.nanstd(y, ddof=1)
    assert half(lost_one - 1) <= 0.5 < half(lost_one - 2)


def test_half_widths_are_paired_t_over_the_first_n_replications():
    rng = np.random.default_rng(1)
    base = rng.normal(size=12)
    diff = rng.normal(1.0, 0.3, size=12)
    rows = {}
    for r in range(12):
        rows[("p", "product", r)] = {"m": base[r], "error": ""}
        rows[("p", "expertise", r)] = {"m": base[r] + diff[r], "error": ""}
    rows[("p", "expertise", 3)] = {"m": math.nan, "error": "RuntimeError('x')"}
    w = half_widths(rows, {"p": 10}, ["product", "expertise"], "m")["p"]
    d = np.delete(diff[:10], 3)
    from scipy import stats

    expect = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    assert w == pytest.approx(expect, rel=1e-9)
    assert math.isnan(half_widths(rows, {"p": 1}, ["product", "expertise"], "m")["p"])


def test_sequential_replications_stop_at_the_target_or_the_maximum(tmp_path):
    spec = tiny_spec(outputs=(), replications={"target": {"metric": "wait_mean_weeks", "half_width": 1e-9},
                                               "pilot": 2, "max": 4, "batch": 1})
    res = run_sweep(spec, tmp_path / "tight", executor="serial", progress=False)
    assert len(res.runs) == 2 * 2 * 4
    assert set(res.manifest["replications_per_point"].values()) == {4}
    spec["replications"]["target"]["half_width"] = 1e9
    loose = run_sweep(spec, tmp_path / "loose", executor="serial", progress=False)
    assert len(loose.runs) == 2 * 2 * 2
    # relative precision without a batch: the estimate of the need, up to max
    spec["replications"] = {"target": {"metric": "wait_mean_weeks", "half_width": 0.01, "relative": True},
                            "pilot": 2, "max": 3}
    rel = run_sweep(spec, tmp_path / "relative", executor="serial", progress=False)
    assert set(rel.manifest["replications_per_point"].values()) == {3} and len(rel.runs) == 12
    # --reps turns a target into a fixed number
    fixed = run_sweep(spec, tmp_path / "loose", executor="serial", progress=False, reps=3)
    assert len(fixed.runs) == 2 * 2 * 3 and fixed.info["ran"] == 4


# --------------------------------------------------------------------------- the runner
def test_runs_are_keyed_and_seeded_by_replication_only(reference):
    runs = reference.runs
    assert len(runs) == 2 * 2 * 6 and (runs["error"] == "").all()
    assert list(runs.columns[:4]) == ["point", PROVIDERS, "regime", "replication"]
    assert list(runs.columns[-3:]) == ["wall_seconds", "events", "error"]
    assert set(sim.model.metrics.METRICS) <= set(runs.columns)
    expect = [sim.model.streams.replication_seed(7, r) for r in runs["replication"]]
    assert list(runs["seed"]) == expect
    keys = list(zip(runs["point"], runs["regime"], runs["replication"]))
    assert len(set(keys)) == len(keys)
    points = [p["id"] for p in reference.manifest["points"]]
    order = sorted(keys, key=lambda k: (points.index(k[0]), ["product", "expertise"].index(k[1]), k[2]))
    assert keys == order
    # common random numbers: under the status quo the number of contracted
    # providers does not matter, so both design points give the same runs
    prod = runs[runs["regime"] == "product"]
    a, b = (prod[prod["point"] == p].drop(columns=["point", PROVIDERS, "wall_seconds"]).reset_index(drop=True)
            for p in points)
    assert a.equals(b)
    monthly = reference.monthly
    assert list(monthly.columns[:3]) == ["point", "regime", "replication"] and len(monthly) == 24 * 24


def test_process_pool_gives_the_same_rows(reference, tmp_path):
    res = run_sweep(tiny_spec(reps=6), tmp_path, executor="process", workers=2, progress=False)
    assert res.info["ran"] == 24
    assert_same_results(reference, res)


def test_dask_local_cluster_gives_the_same_rows(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        res = run_sweep(tiny_spec(reps=2), tmp_path, executor="dask", scheduler=cluster, progress=False)
    runs = reference.runs
    ref = comparable(reference)[runs["replication"] < 2].reset_index(drop=True)
    assert comparable(res).equals(ref)
    assert res.monthly.equals(reference.monthly[reference.monthly["replication"] < 2].reset_index(drop=True))


def test_dask_local_worker_processes_give_the_same_rows(reference, tmp_path):
    pytest.importorskip("distributed")
    res = run_sweep(tiny_spec(reps=1), tmp_path, executor="dask", scheduler="local", workers=2, progress=False)
    assert res.info["slots"] == 2
    ref = comparable(reference)[reference.runs["replication"] < 1].reset_index(drop=True)
    assert comparable(res).equals(ref)


def test_parquet_store_reads_back_the_same_rows(reference, tmp_path):
    pytest.importorskip("pyarrow")
    res = run_sweep(tiny_spec(reps=2), tmp_path, executor="serial", progress=False, format="parquet")
    assert {p.suffix for p in (tmp_path / "runs").iterdir()} == {".parquet"}
    ref = comparable(reference)[reference.runs["replication"] < 2].reset_index(drop=True)
    assert np.allclose(comparable(res).select_dtypes("number"), ref.select_dtypes("number"), equal_nan=True,
                       rtol=0, atol=0)
    assert list(res.runs["point"]) == list(ref["point"])


def test_a_finished_sweep_run_again_runs_nothing(reference, tmp_path):
    spec = tiny_spec(reps=2)
    first = run_sweep(spec, tmp_path, executor="serial", progress=False)
    again = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert again.info["ran"] == 0 and again.info["skipped"] == 8
    assert_same_results(first, again)
    # more replications later: only the new ones run, the old ones are kept
    more = run_sweep(spec, tmp_path, executor="serial", progress=False, reps=3)
    assert more.info["ran"] == 4 and len(more.runs) == 12
    ref = reference.runs[reference.runs["replication"] < 3].drop(columns="wall_seconds").reset_index(drop=True)
    assert comparable(more).equals(ref)


def test_a_changed_spec_is_refused_unless_forced(tmp_path, capsys):
    run_sweep(tiny_spec(reps=1), tmp_path, executor="serial", progress=False)
    with pytest.raises(SweepError, match="holds a different sweep .*seed 7 -> 8"):
        run_sweep(tiny_spec(reps=1, seed=8), tmp_path, executor="serial", progress=False)
    changed = tiny_spec(reps=1)
    changed["factors"]["grid"][PROVIDERS] = [8, 9]
    spec_file = tmp_path / "changed.yaml"
    spec_file.write_text(yaml.safe_dump(changed))
    code, out, err = run_cli(["sweep", spec_file, "--out", tmp_path, "--executor", "serial", "--no-progress"], capsys)
    assert code == 2 and err.count("\n") == 1 and "1 added, 1 removed" in err and "--force" in err
    code, out, err = run_cli(["sweep", spec_file, "--out", tmp_path, "--executor", "serial", "--no-progress",
                              "--force"], capsys)
    assert code == 0 and "(2 run now, 2 already done)" in out
    res = sim.load_results(tmp_path)
    assert sorted(set(res.runs[PROVIDERS])) == [8, 9] and len(list((tmp_path / "runs").iterdir())) == 4


def test_another_sweep_writing_to_the_folder_is_refused(tmp_path):
    with Store(tmp_path).lock():
        with pytest.raises(SweepError, match="another sweep is writing"):
            run_sweep(tiny_spec(reps=1), tmp_path, executor="serial", progress=False)


def test_dask_missing_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.split(".")[0] in ("distributed", "dask"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec(reps=1)))
    code, out, err = run_cli(["sweep", spec, "--out", tmp_path / "o", "--scheduler", "local", "--no-progress"],
                             capsys)
    assert code == 2 and err.count("\n") == 1 and "dask.distributed is not installed" in err


# --------------------------------------------------------------------------- failures
def _fail_on(monkeypatch, bad_regime: str, bad_seed: int):
    """One run of the sweep raises (at 12 contracted providers): its branch of
    ``run_branches`` gives the exception, as a branch that raises does."""
    import sim.experiment.sweep as sweep_module

    real = sweep_module.run_branches

    def run_branches(branches, seed=1, errors="raise", **kw):
        out = real(branches, seed=seed, errors=errors, **kw)
        bad = [regime == bad_regime and seed == bad_seed and cfg.regimes.expertise.contracted_providers == 12
               for regime, cfg in branches]
        if any(bad) and errors == "raise":
            raise RuntimeError("model blew up\non two lines")
        return [RuntimeError("model blew up\non two lines") if b else r for b, r in zip(bad, out)]

    monkeypatch.setattr(sweep_module, "run_branches", run_branches)


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(reference, tmp_path, capsys, monkeypatch):
    seed = sim.model.streams.replication_seed(7, 1)
    _fail_on(monkeypatch, "expertise", seed)
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec(reps=3)))
    out_dir = tmp_path / "out"
    code, out, err = run_cli(["sweep", spec, "--out", out_dir, "--executor", "serial", "--no-progress"], capsys)
    assert code == 1
    res = sim.load_results(out_dir)
    bad = res.runs[res.runs["error"] != ""]
    assert len(res.runs) == 12 and len(bad) == 1
    row = bad.iloc[0]
    assert (row["regime"], row["replication"], row[PROVIDERS]) == ("expertise", 1, 12)
    assert row["error"] == "RuntimeError('model blew up\\non two lines')"
    assert all(math.isnan(row[m]) for m in sim.model.metrics.METRICS)
    assert res.failures == [{"point": row["point"], "regime": "expertise", "replication": 1, "error": row["error"]}]
    lines = err.strip().splitlines()
    assert lines[0] == (f"caresim: failed: point {row['point']} ({PROVIDERS}=12) regime expertise replication 1: "
                        "RuntimeError('model blew up\\non two lines')")
    assert lines[-1].startswith("caresim: error: 1 of 12 runs failed")
    # the failed run's tables are not loaded; the others' are
    assert len(res.monthly) == 11 * 24
    # resume without the fault: only the failed run runs again, and the rows equal an unfailed sweep
    monkeypatch.undo()
    code, out, err = run_cli(["sweep", spec, "--out", out_dir, "--executor", "serial", "--no-progress"], capsys)
    assert code == 0 and "(1 run now, 11 already done)" in out and err == ""
    res = sim.load_results(out_dir)
    ref_rows = reference.runs["replication"] < 3
    ref = comparable(reference)[ref_rows].reset_index(drop=True)
    assert comparable(res).equals(ref)
    assert res.monthly.equals(reference.monthly[reference.monthly["replication"] < 3].reset_index(drop=True))


def test_an_error_outside_the_model_is_recorded_too(tmp_path, monkeypatch):
    import sim.experiment.sweep as sr

    def crash(task):
        raise MemoryError("worker gone")

    monkeypatch.setattr(sr, "execute", crash)
    res = run_sweep(tiny_spec(reps=1, outputs=()), tmp_path, executor="serial", progress=False)
    assert len(res.failures) == 4 and all("MemoryError('worker gone')" == f["error"] for f in res.failures)


# --------------------------------------------------------------------------- kill and resume
def _cli_process(spec: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(spec), "--out", str(out), "--no-progress",
                             *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _kill_after(proc: subprocess.Popen, runs: Path, n: int, timeout: float = 60) -> int:
    """SIGKILL the sweep's whole process group once ``n`` run files exist."""
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline and proc.poll() is None:
        count = sum(1 for p in runs.glob("*.csv")) if runs.is_dir() else 0
        if count >= n:
            break
        time.sleep(0.005)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=30)
    return count


def test_a_killed_sweep_resumes_to_exactly_the_uninterrupted_rows(reference, tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec(reps=6)))
    out = tmp_path / "out"
    runs = out / RUNS
    # killed twice, at different moments, in the process pool
    for n in (3, 11):
        proc = _cli_process(spec, out, "--workers", "2")
        _kill_after(proc, runs, n)
        assert proc.returncode == -signal.SIGKILL
    done = {p.name for p in runs.glob("*.csv")}
    assert 3 <= len(done) < 24, "the sweep was not killed mid-way"
    # a kill between a temp write and its rename leaves stray temporaries:
    # one for a finished run, one (a truncated row) for a run not yet written
    some = sorted(done)[0]
    (runs / f".{some}.999-deadbeef.tmp").write_text((runs / some).read_text())
    (runs / ".ffffffffff_product_0.csv.999-0badf00d.tmp").write_text("point,regime\nfff")
    partial = sim.load_results(out)
    assert len(partial.runs) == len(done) and not partial.failures
    proc = _cli_process(spec, out, "--workers", "2")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr.decode()
    assert f"({24 - len(done)} run now, {len(done)} already done)" in stdout.decode()
    assert sorted(p.name for p in runs.iterdir() if p.name.startswith(".")) == []
    assert len(list(runs.iterdir())) == 24
    res = sim.load_results(out)
    assert_same_results(reference, res)
    assert len(list((out / "monthly").iterdir())) == 24
