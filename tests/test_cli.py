"""The command line, run as a user runs it: ``python -m sim ...`` in a subprocess."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from sim import cli
from sim.present import tables
from sim.config import load_config, yamlfile

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "configs" / "achterhoek.yaml")

# a small, short world: ~2.5 years of which 1 is evaluated
TINY = [
    "--set", "timeline.initial_state=empty", "--set", "timeline.preload=null",   # the snapshot is full-size
    "--set", "timeline.start=2021-01-01",
    "--set", "timeline.end=2023-07-01",
    "--set", "demand.first_referrals_per_year=300",
    "--set", "providers.total_staff_hours_per_week=3000",
]

RECORD_TYPES = {"completed", "dropped_out", "waiting_at_end", "in_care_at_end", "other_funder"}
SUMMARY_KEYS = {
    "wait_mean_weeks", "wait_median_weeks", "wait_p90_weeks", "share_over_norm", "referrals",
    "youths_in_care_year", "goal_attained_rate", "rereferral_12m_rate", "dropout_rate",
    "care_cost_eur_per_year", "admin_cost_eur_per_year", "admin_share", "cost_per_goal_eur",
    "utilisation", "handovers_per_youth", "contracts", "hhi",
}
COMPARISON_COLUMNS = [
    "metric",
    "product_mean", "product_ci_low", "product_ci_high",
    "expertise_mean", "expertise_ci_low", "expertise_ci_high",
    "diff_mean", "diff_ci_low", "diff_ci_high",
    "n_pairs", "warning",
]


def caresim(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err)
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert err.startswith("caresim: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


# --------------------------------------------------------------------------- user errors
@pytest.mark.parametrize(
    "args, fragments",
    [
        pytest.param(["--set", "timeline.strat=2020-01-01"], ["timeline.strat", "did you mean", "timeline.start"],
                     id="unknown-key-suggestion"),
        pytest.param(["--set", "providers.count=-3"], ["providers.count", "-3"], id="negative-value"),
        pytest.param(["--set", "access_team.assessors=-1"], ["access_team.assessors", "-1"], id="negative-int"),
        pytest.param(["--set", "demand.sources.gp.share=0.5"], ["sources", "sum of 1"], id="shares-not-one"),
        pytest.param(["--set", "demand.severity.mild=0.9"], ["severity", "sum of 1"], id="severity-not-one"),
        pytest.param(["--set", "timeline.contract_start=2035-01-01"], ["contract_start", "2035-01-01"],
                     id="contract-start-after-end"),
        pytest.param(["--set", "timeline.contract_start=2010-01-01"], ["contract_start", "2010-01-01"],
                     id="contract-start-before-start"),
        pytest.param(["--set", "products.exclude=[foo/ambulant]"], ["products.exclude", "'foo'", "domain"],
                     id="product-unknown-domain"),
        pytest.param(["--set", "regimes.expertise.collectives.explicit=[{name: c, members: [P999]}]"],
                     ["collectives", "P999"], id="collective-unknown-provider"),
        pytest.param(["--set", "providers.size.dist=weird"], ["providers.size", "weird"], id="unknown-dist"),
        pytest.param(["--set", "foo"], ["--set", "KEY=VALUE", "'foo'"], id="set-without-equals"),
        pytest.param(["--set", "=3"], ["--set", "KEY=VALUE"], id="set-without-key"),
    ],
)
def test_bad_config_is_one_line_and_status_2(args, fragments):
    assert_user_error(caresim("check", CONFIG, *args), *fragments)


def test_missing_file():
    assert_user_error(caresim("check", "configs/no-such-file.yaml"), "no-such-file.yaml")


def test_bad_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("timeline: [unclosed\n")
    assert_user_error(caresim("check", str(bad)), "bad.yaml", "YAML")


def test_bad_config_for_run_and_compare_too(tmp_path):
    assert_user_error(caresim("run", CONFIG, "--regime", "product", "--set", "providers.countt=2"),
                      "did you mean", "providers.count")
    assert_user_error(caresim("compare", CONFIG, "--reps", "2", "--set", "demand.growth_per_year=-3"),
                      "demand.growth_per_year")


@pytest.mark.parametrize(
    "args, fragments",
    [
        pytest.param(["run", CONFIG, "--regime", "expertize"], ["expertize", "did you mean 'expertise'"],
                     id="bad-regime"),
        pytest.param(["run", CONFIG], ["--regime"], id="missing-regime"),
        pytest.param(["run", CONFIG, "--regime", "product", "--seed", "-1"], ["--seed"], id="negative-seed"),
        pytest.param(["compare", CONFIG, "--reps", "0"], ["--reps", "positive"], id="zero-reps"),
        pytest.param(["compare", CONFIG, "--reps", "-2"], ["--reps", "positive"], id="negative-reps"),
        pytest.param(["compare", CONFIG, "--reps", "many"], ["--reps"], id="text-reps"),
        pytest.param(["compare", CONFIG, "--workers", "0"], ["--workers", "positive"], id="zero-workers"),
        pytest.param(["frobnicate"], ["frobnicate"], id="unknown-command"),
        pytest.param([], ["COMMAND"], id="no-command"),
    ],
)
def test_bad_arguments_are_one_line_and_status_2(args, fragments):
    assert_user_error(caresim(*args), *fragments)


def test_unwritable_out_fails_before_running(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = caresim("compare", CONFIG, "--reps", "50", "--out", str(blocker / "sub"))
    assert_user_error(proc, "--out")


# --------------------------------------------------------------------------- schema, check
def test_schema_is_json_schema_that_accepts_the_default_config():
    proc = caresim("schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads(json.dumps(yamlfile.read(CONFIG), default=str))   # the grammar check uses
    jsonschema.Draft202012Validator(schema).validate(data)
    # and it does check: an unknown key and a wrong type are rejected
    bad = json.loads(json.dumps(data))
    bad["timeline"]["strat"] = "2020-01-01"
    assert not jsonschema.Draft202012Validator(schema).is_valid(bad)
    bad = json.loads(json.dumps(data))
    bad["providers"]["count"] = "many"
    assert not jsonschema.Draft202012Validator(schema).is_valid(bad)


def test_check_summarises_region_and_regimes():
    proc = caresim("check", CONFIG)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "valid" in out
    assert "8 municipalities" in out
    assert "221 providers" in out
    assert "72 products" in out  # 6 domains x 4 care forms x 3 levels
    assert "60 contracted providers" in out
    assert "M1 admin_burden on" in out and "M8 selection on" in out
    assert "preloaded from achterhoek-preload.csv" in out
    assert "extension 0.1" in out and "under-provision 0.15" in out and "maturing over 12 months" in out
    assert proc.stderr == ""


def test_check_applies_overrides():
    # the default's snapshot holds youths with products of the full catalogue: start empty
    proc = caresim("check", CONFIG, "--set", "timeline.initial_state=empty", "--set", "timeline.preload=null",
                   "--set", "products.exclude=[parenting/with_stay]",
                   "--set", "mechanisms.selection=false", "--set", "providers.count=100")
    assert proc.returncode == 0, proc.stderr
    assert "69 products" in proc.stdout
    assert "100 providers" in proc.stdout
    assert "M8 selection off" in proc.stdout


def product_count_from_config(cfg) -> int:
    """The catalogue's size by formula: levels x care forms x domains, less the
    excluded domain/care-form pairs, plus custom products."""
    p = cfg.products
    forms = set(p.care_forms)
    excluded = {(d, f) for d, _, f in (pair.partition("/") for pair in p.exclude)
                if d in cfg.demand.domains and f in forms}
    return len(p.levels) * (len(cfg.demand.domains) * len(forms) - len(excluded)) + len(p.custom)


def test_product_count_matches_formula():
    cfg = load_config(CONFIG, overrides={"products.exclude": "[parenting/with_stay, out_of_home/day_care]"})
    assert product_count_from_config(cfg) == 72 - 2 * 3
    assert cli.product_count(cfg) == 72 - 2 * 3


def test_main_in_process(capsys):
    assert cli.main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "caresim configuration"
    assert cli.main(["check", CONFIG, "--set", "providers.count=0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("caresim: error: providers.count") and err.count("\n") == 1
    assert cli.main(["--version"]) == 0


# --------------------------------------------------------------------------- tables
def test_number_formatting():
    assert tables.fmt(1234567.891, 0) == "1,234,568"
    assert tables.fmt(-0.0001, 3) == "0.000"
    assert tables.fmt(0.25, 3, sign=True) == "+0.250"
    assert tables.fmt(float("nan"), 3) == "n/a"
    assert tables.decimals_for("care_cost_eur_per_year", [4.2e7]) == 0
    assert tables.decimals_for("goal_attained_rate", [0.6]) == 3
    assert tables.decimals_for("admin_share", [0.2]) == 3
    assert tables.decimals_for("wait_mean_weeks", [12.0]) == 2


def test_comparison_table_layout():
    cols = {c: [] for c in COMPARISON_COLUMNS}
    for metric, vals in [
        ("wait_mean_weeks", [12.0, 11.5, 12.5, 9.0, 8.5, 9.5, -3.0, -3.4, -2.6]),
        ("care_cost_eur_per_year", [4.1e7, 4.0e7, 4.2e7, 4.0e7, 3.9e7, 4.1e7, -1.0e6, -1.5e6, -0.5e6]),
        ("goal_attained_rate", [0.6, 0.58, 0.62, 0.65, 0.63, 0.67, 0.05, 0.03, 0.07]),
    ]:
        cols["metric"].append(metric)
        for c, v in zip(COMPARISON_COLUMNS[1:], vals):
            cols[c].append(v)
    text = tables.format_comparison(cols)
    lines = text.splitlines()
    assert len(lines) == 2 + 3
    assert "expertise - product" in lines[0]
    assert "41,000,000 [40,000,000, 42,000,000]" in text
    assert "-1,000,000 [-1,500,000, -500,000]" in text
    assert "0.600 [0.580, 0.620]" in text and "+0.050 [+0.030, +0.070]" in text
    assert "-3.00 [-3.40, -2.60]" in text
    # columns are aligned: every row has the same length up to the last column's start
    assert len({line.index("[") for line in lines[2:]}) == 1


# --------------------------------------------------------------------------- the model, end to end
def test_run_prints_summary_and_writes_outputs(tmp_path):
    out = tmp_path / "run"
    proc = caresim("run", CONFIG, "--regime", "expertise", "--seed", "3", "--out", str(out), *TINY)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for key in ("wait_mean_weeks", "goal_attained_rate", "care_cost_eur_per_year"):
        assert key in proc.stdout

    summary = read_csv(out / "summary.csv")
    assert len(summary) == 1
    assert SUMMARY_KEYS <= set(summary[0])
    assert summary[0]["regime"] == "expertise" and summary[0]["seed"] == "3"

    episodes = read_csv(out / "episodes.csv")
    assert episodes, "no episodes"
    assert {"youth_id", "episode", "record_type", "referral_time", "care_start", "provider"} <= set(episodes[0])
    assert {e["record_type"] for e in episodes} <= RECORD_TYPES

    monthly = read_csv(out / "monthly.csv")
    assert len(monthly) >= 12

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == [3]
    assert manifest["regime"] == "expertise"
    assert manifest["config"]["timeline"]["start"] == "2021-01-01"
    assert manifest["config"]["demand"]["first_referrals_per_year"] == 300
    assert manifest["overrides"]["demand.first_referrals_per_year"] == "300"
    assert manifest["caresim_version"]
    assert set(manifest["versions"]) >= {"python", "numpy", "simpy", "scipy"}
    assert manifest["git_commit"] is None or len(manifest["git_commit"]) == 40
    assert "caresim run" in manifest["command"] and manifest["created"]


def test_compare_prints_one_table_and_writes_outputs(tmp_path):
    out = tmp_path / "cmp"
    proc = caresim("compare", CONFIG, "--reps", "2", "--seed", "5", "--out", str(out), *TINY)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("metric")]
    assert len(headers) == 1, proc.stdout  # one table
    assert "expertise - product" in lines[headers[0]]
    for key in SUMMARY_KEYS:
        assert any(line.split()[:1] == [key] for line in lines), key

    comparison = read_csv(out / "comparison.csv")
    assert list(comparison[0]) == COMPARISON_COLUMNS
    assert SUMMARY_KEYS <= {row["metric"] for row in comparison}

    runs = read_csv(out / "runs.csv")
    assert len(runs) == 2 * 2
    assert {r["regime"] for r in runs} == {"product", "expertise"}
    assert {"replication", "seed", "wall_seconds", "events"} <= set(runs[0])

    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["seeds"]) == 2 and manifest["seed"] == 5 and manifest["replications"] == 2
    assert {r["seed"] for r in runs} == {str(s) for s in manifest["seeds"]}
    assert manifest["config"]["providers"]["total_staff_hours_per_week"] == 3000


def test_compare_results_do_not_depend_on_workers(tmp_path):
    got = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        proc = caresim("compare", CONFIG, "--reps", "2", "--seed", "9", "--workers", workers,
                       "--out", str(out), *TINY)
        assert proc.returncode == 0, proc.stderr
        got.append((out / "comparison.csv").read_text())
    assert got[0] == got[1]
