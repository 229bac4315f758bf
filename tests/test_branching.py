"""One warm-up, many branches (``sim.run.run_branches``): a run paused at the
contract switch, pickled and continued under each regime and each config that
differs only after the switch, gives exactly, table for table and to the
byte, what running each from day 0 gives. Also: which config paths the
warm-up reads (``sim.config.branching``), and that compare and sweeps
simulate the warm-up once per replication."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import sim
from sim.config import config_to_dict
from sim.config.branching import AFTER_SWITCH, READ_BEFORE, same_warm_up, warm_up_key
from sim.model.process import CareModel
from sim.run import build_model, warm_up_file

from conftest import ACHTERHOEK, TINY, small_config

TABLES = ("episodes", "monthly", "yearly")


def assert_same_run(a: sim.RunResult, b: sim.RunResult) -> None:
    """Two results are the same run: every table column to the byte, the
    summary exactly, the events processed."""
    assert (a.regime, a.seed, a.events) == (b.regime, b.seed, b.events)
    for name in TABLES:
        ta, tb = getattr(a, name).columns, getattr(b, name).columns
        assert list(ta) == list(tb), name
        for k in ta:
            x, y = np.asarray(ta[k]), np.asarray(tb[k])
            assert x.dtype == y.dtype and x.shape == y.shape, (name, k)
            if x.dtype == object:
                assert x.tolist() == y.tolist(), (name, k)
            else:
                assert x.tobytes() == y.tobytes(), (name, k)
    assert a.summary.keys() == b.summary.keys()
    for k in a.summary:
        assert np.asarray(a.summary[k]).tobytes() == np.asarray(b.summary[k]).tobytes(), k


@pytest.fixture(scope="module")
def preloaded(tmp_path_factory) -> sim.Config:
    """The tiny world started from a snapshot of its own status quo."""
    from sim.cli import preload_config
    from sim.model.initial import write_snapshot
    m = build_model(preload_config(str(ACHTERHOEK), TINY, 20), "product", 3)
    m.run(close=False)
    path = write_snapshot(tmp_path_factory.mktemp("preload") / "snapshot.csv", m.snapshot_state())
    return sim.load_config(ACHTERHOEK, overrides={**TINY, "timeline.initial_state": "preloaded",
                                                  "timeline.preload": str(path)})


@pytest.mark.parametrize("start", ["empty", "preloaded"])
def test_branches_are_the_runs_from_day_0(start, preloaded):
    cfg = small_config() if start == "empty" else preloaded
    for seed in (1, 7):
        branched = sim.run_branches([("product", cfg), ("expertise", cfg)], seed=seed)
        for res in branched:
            assert_same_run(res, sim.run(cfg, regime=res.regime, seed=seed))
        assert all(r.extra["shared_warm_up"] == 2 for r in branched)


def test_the_paused_model_pickles_and_each_copy_goes_on_alike():
    cfg = small_config()
    m = build_model(cfg, "expertise", 5)
    m.warm_up()
    assert m.at_switch and m.env.now == pytest.approx(m.t_contract_start)
    state = pickle.dumps(m)
    assert pickle.dumps(m) == state        # pickling does not move the model (e.g. its event ids)
    a, b = pickle.loads(state), pickle.loads(state)
    for x in (a, b, m):
        x.go_on()
    assert a.events_processed() == b.events_processed() == m.events_processed()
    assert a.totals == b.totals == m.totals and a.counts == m.counts


# --------------------------------------------------------------------------- configs that differ after the switch
#: values for paths the expertise arm reads only from the switch on
AFTER = {
    "regimes.expertise.contracted_providers": st.sampled_from([12, 20, 35]),
    "regimes.expertise.judgement_error_sigma": st.sampled_from([0.0, 0.2, 0.5]),
    "regimes.expertise.budget.level": st.sampled_from([0.8, 1.0, 1.2]),
    "regimes.expertise.collaboration_ramp.months_to_mature": st.sampled_from([0, 12, 36]),
    "regimes.expertise.collectives.auto_count": st.sampled_from([0, 2, 4]),
    "behaviour.lump_sum.under_provision": st.sampled_from([0.0, 0.15, 0.3]),
    "behaviour.lump_sum.other_funder": st.sampled_from([0.0, 0.25]),
}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=st.fixed_dictionaries(AFTER), b=st.fixed_dictionaries(AFTER), seed=st.integers(1, 10_000))
def test_design_points_that_differ_after_the_switch_branch_from_one_warm_up(a, b, seed):
    base = small_config()
    ca, cb = small_config(a), small_config(b)
    assert warm_up_key(ca) == warm_up_key(cb) == warm_up_key(base)
    branches = [("product", base), ("expertise", ca), ("expertise", cb)]
    for (regime, cfg), res in zip(branches, sim.run_branches(branches, seed=seed)):
        assert_same_run(res, sim.run(cfg, regime=regime, seed=seed))


def _leaves(data, prefix: str):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, f"{prefix}.{k}")
    else:
        yield prefix, data


def _perturbed(cfg: sim.Config, path: str, value):
    """``cfg`` with ``path`` moved to another valid value, or None."""
    if isinstance(value, bool):
        tries = [not value]
    elif isinstance(value, (int, float)):
        tries = [value * 1.5 + 1, value * 0.5, value + 1, value - 1, 1 - value] if isinstance(value, float) \
            else [value + 1, value - 1, value * 2]
    elif isinstance(value, str) and path.endswith(("mode", "grandfathered_billing")):
        tries = ["transfer", "finish", "netted", "on_top"]
    else:
        return None
    for v in tries:
        if v == value:
            continue
        try:
            return sim.with_overrides(cfg, {path: v})
        except sim.ConfigError:
            continue
    return None


def test_the_status_quo_arm_reads_nothing_after_the_switch():
    """Every leaf under AFTER_SWITCH (READ_BEFORE aside) moved to another valid
    value: the status-quo arm is the same run, so one status-quo branch serves
    every design point of a warm-up (sweep), and the warm-up view is complete."""
    cfg = small_config({"regimes.expertise.collectives.auto_count": 2})
    ref = sim.run(cfg, regime="product", seed=2)
    data = config_to_dict(cfg)
    tested = []
    for root in AFTER_SWITCH:
        node = data
        for k in root.split("."):
            node = node[k]
        for path, value in _leaves(node, root):
            if path in READ_BEFORE:
                continue
            moved = _perturbed(cfg, path, value)
            if moved is None:
                continue
            assert same_warm_up(cfg, moved) == ""
            assert_same_run(sim.run(moved, regime="product", seed=2), ref)
            tested.append(path)
    assert len(tested) >= 25, tested


def test_a_config_that_differs_before_the_switch_is_refused():
    base = small_config()
    for path, value in [("waiting.patience_mean_days", 900.0), (READ_BEFORE[0], 0.9),
                        ("regimes.product.reindication_probability", 0.3)]:
        other = small_config({path: value})
        assert same_warm_up(base, other) == path
        assert warm_up_key(base) != warm_up_key(other)
        with pytest.raises(ValueError, match=path.replace(".", r"\.")):
            sim.run_branches([("product", base), ("expertise", other)], seed=1)
        m = build_model(base, "expertise", 1)
        m.warm_up()
        with pytest.raises(ValueError, match="differs before the switch"):
            m.branch(other, m.regime_under_study)


def test_a_failing_branch_is_returned_and_the_others_run(monkeypatch):
    cfg = small_config()
    real = CareModel.go_on

    def go_on(self, close=True):
        if self.regime_under_study.name == "expertise":
            raise RuntimeError("branch blew up")
        return real(self, close)

    monkeypatch.setattr(CareModel, "go_on", go_on)
    got = sim.run_branches([("product", cfg), ("expertise", cfg)], seed=1, errors="return")
    assert isinstance(got[1], RuntimeError) and isinstance(got[0], sim.RunResult)
    with pytest.raises(RuntimeError, match="branch blew up"):
        sim.run_branches([("product", cfg), ("expertise", cfg)], seed=1)


# --------------------------------------------------------------------------- compare and sweeps use it
class _Counting:
    """Counts warm-ups and status-quo continuations (serial executor only)."""

    def __init__(self, monkeypatch):
        self.warm_ups = 0
        self.go_ons: list[str] = []
        real_warm, real_go = CareModel.warm_up, CareModel.go_on
        counter = self

        def warm_up(self):
            counter.warm_ups += 1
            return real_warm(self)

        def go_on(self, close=True):
            counter.go_ons.append(self.regime_under_study.name)
            return real_go(self, close)

        monkeypatch.setattr(CareModel, "warm_up", warm_up)
        monkeypatch.setattr(CareModel, "go_on", go_on)


def test_compare_simulates_one_warm_up_per_replication(monkeypatch):
    cfg = small_config()
    count = _Counting(monkeypatch)
    comp = sim.compare(cfg, replications=2, seed=3)
    assert count.warm_ups == 2 and sorted(count.go_ons) == ["expertise", "expertise", "product", "product"]
    monkeypatch.undo()
    runs = comp.runs.columns
    for i in range(len(comp.runs)):
        res = sim.run(cfg, regime=str(runs["regime"][i]), seed=int(runs["seed"][i]))
        for k, v in res.summary.items():
            assert np.asarray(runs[k][i], float).tobytes() == np.asarray(v, float).tobytes(), k


def test_a_sweep_over_expertise_factors_warms_up_once_per_replication(tmp_path, monkeypatch):
    spec = {"name": "expertise-only", "base": str(ACHTERHOEK), "overrides": TINY, "seed": 11,
            "replications": 2, "regimes": ["product", "expertise"], "outputs": [],
            "factors": {"grid": {"regimes.expertise.budget.level": [0.9, 1.1],
                                 "behaviour.lump_sum.under_provision": [0.0, 0.3]}}}
    count = _Counting(monkeypatch)
    res = sim.run_sweep(spec, tmp_path / "s", executor="serial", progress=False)
    assert count.warm_ups == 2                        # not 4 points x 2 regimes x 2 replications = 16
    assert count.go_ons.count("product") == 2         # the status-quo arm once per replication
    assert count.go_ons.count("expertise") == 8
    monkeypatch.undo()
    runs = res.runs
    assert len(runs) == 16 and (runs["error"] == "").all()
    points = {p.id: p.config for p in sim.experiment.spec.resolve(spec).points}
    for _, row in runs.iterrows():
        ref = sim.run(points[row["point"]], regime=row["regime"], seed=int(row["seed"]))
        for k in sim.model.metrics.METRICS:
            assert np.float64(row[k]).tobytes() == np.float64(ref.summary[k]).tobytes(), (row["point"], k)


# --------------------------------------------------------------------------- the warm-up cache
def test_a_cached_warm_up_is_loaded_not_simulated_and_gives_the_same_runs(tmp_path, monkeypatch):
    cfg = small_config()
    branches = [("product", cfg), ("expertise", cfg)]
    first = sim.run_branches(branches, seed=4, cache=tmp_path)
    files = list(tmp_path.glob("warm-up-*.pickle"))
    assert len(files) == 1 and files[0] == warm_up_file(tmp_path, cfg, 4)
    count = _Counting(monkeypatch)
    again = sim.run_branches(branches, seed=4, cache=tmp_path)
    assert count.warm_ups == 0 and sorted(count.go_ons) == ["expertise", "product"]
    for a, b in zip(first, again):
        assert_same_run(a, b)
    # another seed, another file; a damaged file is simulated again and replaced
    sim.run_branches(branches, seed=5, cache=tmp_path)
    assert len(list(tmp_path.glob("warm-up-*.pickle"))) == 2
    files[0].write_bytes(b"not a pickle")
    count.warm_ups = 0
    for a, b in zip(first, sim.run_branches(branches, seed=4, cache=tmp_path)):
        assert_same_run(a, b)
    assert count.warm_ups == 1 and files[0].read_bytes() != b"not a pickle"


def test_the_cache_key_follows_the_warm_up_and_nothing_else(tmp_path):
    cfg = small_config()
    key = warm_up_file(tmp_path, cfg, 1).name
    assert warm_up_file(tmp_path, small_config({"regimes.expertise.budget.level": 1.2}), 1).name == key
    assert warm_up_file(tmp_path, small_config({"waiting.patience_mean_days": 900.0}), 1).name != key
    assert warm_up_file(tmp_path, cfg, 2).name != key
    assert warm_up_file(tmp_path, cfg, 1, check_invariants=True).name != key


def test_compare_and_sweeps_reuse_the_cache(tmp_path, monkeypatch):
    cfg = small_config()
    cache = tmp_path / "cache"
    ref = sim.compare(cfg, replications=2, seed=3, warm_up_cache=cache)
    count = _Counting(monkeypatch)
    again = sim.compare(cfg, replications=2, seed=3, warm_up_cache=cache)
    assert count.warm_ups == 0
    for k in sim.model.metrics.METRICS:
        assert np.asarray(ref.runs.columns[k], float).tobytes() == np.asarray(again.runs.columns[k], float).tobytes()
    spec = {"name": "cached", "base": str(ACHTERHOEK), "overrides": TINY, "seed": 11, "replications": 1,
            "outputs": [], "factors": {"grid": {"regimes.expertise.budget.level": [0.9, 1.1]}}}
    sim.run_sweep(spec, tmp_path / "a", executor="serial", progress=False, warm_up_cache=cache)
    assert count.warm_ups == 1
    sim.run_sweep(spec, tmp_path / "b", executor="serial", progress=False, warm_up_cache=cache)
    assert count.warm_ups == 1      # the second sweep on the same base starts at the switch


def test_keep_applies_to_each_branch_as_it_ends():
    """``keep``: what is kept of each result (so 129 branches need not hold 129
    episode tables); the kept values are those of the full results."""
    cfg = small_config()
    branches = [("product", cfg), ("expertise", cfg),
                ("expertise", sim.with_overrides(cfg, {"regimes.expertise.features.payment": False}))]
    seen = []
    kept = sim.run_branches(branches, seed=6, keep=lambda r: seen.append(r.regime) or dict(r.summary))
    full = sim.run_branches(branches, seed=6)
    assert seen == ["product", "expertise", "expertise"]
    assert kept == [dict(r.summary) for r in full]
