"""The public API and the "one of each" rules: real signatures behind the lazy
names, regime names from the registry, one paired comparison behind both
comparison tables, one provenance block in every manifest."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import sim
from sim.analysis import stats
from sim.experiment import provenance
from sim.experiment.compare import comparison_table
from sim.present.report import regime_pair
from sim.present.tables import comparison_regimes, format_comparison
from sim.regimes import REFORM, REGIMES, STATUS_QUO


def test_the_lazy_names_have_their_real_signatures():
    params = inspect.signature(sim.compare).parameters
    assert list(params)[:1] == ["cfg"] and "regimes" in params and params["regimes"].default is None
    assert "as_pandas" in inspect.signature(sim.load_results).parameters
    assert "executor" in inspect.signature(sim.run_sweep).parameters
    assert "formats" in inspect.signature(sim.write_report).parameters
    assert {"compare", "run_sweep", "load_results", "write_report", "STATUS_QUO", "REFORM"} <= set(dir(sim))
    with pytest.raises(AttributeError):
        sim.no_such_name


def test_regime_defaults_come_from_the_registry():
    assert list(REGIMES)[0] == STATUS_QUO and REFORM in REGIMES and sim.STATUS_QUO == STATUS_QUO
    # analysis may not import the registry: its default pair is spelled out and must agree
    assert stats.DEFAULT_PAIR == (STATUS_QUO, REFORM)
    sig = inspect.signature(stats.paired_differences).parameters
    assert (sig["a"].default, sig["b"].default) == (STATUS_QUO, REFORM)
    assert regime_pair(list(REGIMES)) == (STATUS_QUO, REFORM)
    assert regime_pair([REFORM]) is None and regime_pair([STATUS_QUO]) is None


def test_compare_refuses_an_unknown_regime_with_a_suggestion(small_cfg):
    with pytest.raises(sim.ConfigError, match=f"did you mean '{REFORM}'"):
        sim.compare(small_cfg, replications=1, regimes=[STATUS_QUO, REFORM + "x"])


def _runs(reps: int = 6, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    a = rng.normal(10, 2, reps)
    cols = {"replication": np.tile(np.arange(reps), 2), "regime": np.array([STATUS_QUO] * reps + [REFORM] * reps),
            "wait_mean_weeks": np.concatenate([a, a - 1 + rng.normal(0, 0.5, reps)]),
            "referrals": np.concatenate([rng.normal(600, 20, reps), rng.normal(600, 20, reps)])}
    cols["wait_mean_weeks"][3] = math.nan           # a pair with a missing value is left out
    return cols


def test_the_comparison_table_is_a_view_of_the_paired_differences():
    runs = _runs()
    table = comparison_table(runs, list(REGIMES))
    paired = stats.paired_differences(runs, a=STATUS_QUO, b=REFORM, by=())
    summary = stats.summarise_runs(runs, by=("regime",))
    assert list(table.keys()) == ["metric", *(f"{r}_{c}" for r in REGIMES for c in ("mean", "ci_low", "ci_high")),
                                  "diff_mean", "diff_ci_low", "diff_ci_high", "n_pairs", "warning"]
    assert list(table["metric"]) == list(paired["metric"]) == ["wait_mean_weeks", "referrals"]
    for c in ("diff_mean", "diff_ci_low", "diff_ci_high"):
        assert table[c].tolist() == paired[c].tolist()                     # the same numbers, not close ones
    for i, metric in enumerate(table["metric"]):
        for r in REGIMES:
            j = [k for k in range(len(summary)) if summary["regime"][k] == r and summary["metric"][k] == metric][0]
            assert table[f"{r}_mean"][i] == summary["mean"][j] and table[f"{r}_ci_low"][i] == summary["ci_low"][j]
    # the difference is the paired-t interval of b - a over complete pairs
    d = runs["wait_mean_weeks"][6:] - runs["wait_mean_weeks"][:6]
    ci = stats.t_interval(d[~np.isnan(d)])
    assert (table["diff_mean"][0], table["diff_ci_low"][0]) == (ci.mean, ci.low)
    assert comparison_regimes(table) == list(REGIMES)
    assert f"{REFORM} - {STATUS_QUO}" in format_comparison(table).splitlines()[0]


def test_one_regime_gives_means_only():
    runs = _runs()
    sel = runs["regime"] == STATUS_QUO
    table = comparison_table({k: v[sel] for k, v in runs.items()}, [STATUS_QUO])
    assert "diff_mean" not in table and f"{STATUS_QUO}_mean" in table
    assert "-" not in format_comparison(table).splitlines()[0].replace("[95% CI]", "")


def test_git_is_read_without_optional_locks(monkeypatch):
    calls = []

    class Done:
        returncode, stdout = 0, "abc\n"

    def fake_run(args, **kw):
        calls.append((args, kw))
        return Done()

    monkeypatch.setattr(provenance.subprocess, "run", fake_run)
    assert provenance.git_commit() == "abc" and provenance.git_dirty() is True
    assert len(calls) == 2 and all(kw["env"]["GIT_OPTIONAL_LOCKS"] == "0" for _, kw in calls)


def test_every_manifest_carries_the_one_provenance_block(small_cfg):
    block = provenance.provenance(small_cfg)
    assert set(block) == {"caresim_version", "git_commit", "git_dirty", "versions", "platform", "created", "config"}
    run_manifest = provenance.manifest(small_cfg, ["run", "x.yaml"], [1], ["summary.csv"], subcommand="run")
    assert set(block) <= set(run_manifest) and run_manifest["command"] == "caresim run x.yaml"
    from sim.experiment.spec import resolve
    from sim.experiment.sweep import build_manifest

    sweep = resolve({"base": small_cfg, "replications": 1})
    sweep_manifest = build_manifest(sweep, "csv", None, None, created="2020-01-01T00:00:00+00:00")
    assert set(block) - {"config"} <= set(sweep_manifest)
    assert sweep_manifest["created"] == "2020-01-01T00:00:00+00:00" and sweep_manifest["kind"] == "caresim sweep"
    for k in ("caresim_version", "git_commit", "versions", "platform"):
        assert sweep_manifest[k] == run_manifest[k] == block[k]
