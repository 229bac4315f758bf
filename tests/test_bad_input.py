"""Bad input gets one line and exit status 2: never a traceback, never a silent
wrong result, never a runaway. One table per class of input (a config value,
a YAML file, a command-line argument, a sweep spec, a results folder), each
case run through the command line in this process (``sim.cli.main``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from sim import cli
from sim.config import yamlfile

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "achterhoek.yaml"
PRELOAD = ROOT / "configs" / "achterhoek-preload.csv"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(code: int, err: str, *fragments: str) -> None:
    assert code == 2, (code, err)
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), f"not one line: {err!r}"
    assert err.startswith("caresim: error: "), err
    for f in fragments:
        assert f in err, (f, err)


def default_data() -> dict:
    data = yamlfile.read(CONFIG)
    data["timeline"]["preload"] = str(PRELOAD)
    return data


def set_path(data: dict, path: str, value: Any) -> dict:
    keys = path.split(".")
    node: Any = data
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    node[keys[-1]] = value
    return data


def write_config(tmp_path: Path, change: Callable[[dict], Any]) -> Path:
    data = default_data()
    change(data)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# --------------------------------------------------------------------------- values accepted silently before
#: (key path, value, words the one line must hold)
BAD_VALUES = [
    ("outcome.intercept", float("nan"), ["outcome.intercept", "finite"]),
    ("outcome.intercept", float("inf"), ["outcome.intercept", "finite"]),
    ("outcome.intercept", 1e308, ["outcome.intercept", "magnitude"]),
    ("waiting.patience_mean_days", float("-inf"), ["waiting.patience_mean_days", "finite"]),
    ("demand.first_referrals_per_year", 1e308, ["demand.first_referrals_per_year"]),
    ("demand.first_referrals_per_year", 1e12, ["demand.first_referrals_per_year", "less than or equal"]),
    ("providers.form_offer_probability.ambulant", 2.0, ["providers.form_offer_probability.ambulant", "1"]),
    ("providers.form_offer_probability.ambulant", -0.1, ["providers.form_offer_probability.ambulant"]),
    ("demand.urgent_share.severe", 5, ["demand.urgent_share.severe"]),
    ("demand.severity", {"mild": 1.5, "moderate": -0.5, "severe": 0}, ["demand.severity.mild"]),
    ("demand.care_form_by_severity.mild", {"team": 0.0, "ambulant": 1.2, "network": -0.2}, ["demand.care_form_by_severity.mild.ambulant", "less than or equal to 1"]),
    ("providers.count", True, ["providers.count", "whole number"]),
    ("providers.count", 60.5, ["providers.count", "integer"]),
    ("providers.count", "221", ["providers.count", "integer"]),
    ("providers.count", 10 ** 9, ["providers.count", "less than or equal"]),
    ("access_team.assessors", True, ["access_team.assessors", "whole number"]),
    ("providers.total_staff_hours_per_week", True, ["providers.total_staff_hours_per_week", "number"]),
    ("providers.total_staff_hours_per_week", "3000", ["providers.total_staff_hours_per_week", "number"]),
    ("timeline.start", 1451606400, ["timeline.start", "YYYY-MM-DD"]),
    ("timeline.start", "2016-07-01T00:00", ["timeline.start", "YYYY-MM-DD"]),
    ("timeline.end", "2029-02-30", ["timeline.end", "real date"]),
    ("regimes.expertise.collaboration_ramp.award", "2022-13-01", ["collaboration_ramp.award", "real date"]),
    ("regimes.expertise.budget.safety_valve.enabled", 1, ["safety_valve.enabled", "boolean"]),
    ("region.municipalities.Winterswijk", 10 ** 12, ["region.municipalities.Winterswijk"]),
    ("region.name", 2022, ["region.name", "string"]),
    ("care_forms.ambulant.need_duration", {"dist": "uniform", "low": -10, "high": 5},
     ["care_forms.ambulant.need_duration.low", "greater than or equal to 0"]),
    ("care_forms.ambulant.need_duration", {"dist": "uniform", "low": 50, "high": 5},
     ["care_forms.ambulant.need_duration.high", "low <= high"]),
    ("care_forms.ambulant.need_duration", {"dist": "fixed", "value": -1},
     ["care_forms.ambulant.need_duration.value"]),
    ("care_forms.ambulant.need_duration", {"dist": "empirical", "bins": [0, -5, 10], "probs": [0.5, 0.5]},
     ["care_forms.ambulant.need_duration.bins"]),
    ("care_forms.ambulant.need_duration", {"dist": "lognormal", "median": float("nan"), "sigma": 1},
     ["care_forms.ambulant.need_duration.median", "finite"]),
    ("demand.need_shift_at", [0.75, 0.25], ["demand.need_shift_at"]),
    ("regimes.expertise.collectives.explicit", [{"name": "a", "members": ["P001", "P002", "P001"]}],
     ["collectives.explicit.0.members", "'P001'"]),
    ("regimes.expertise.collectives.explicit", [{"name": "a", "members": ["P001"]},
                                                 {"name": "a", "members": ["P002"]}],
     ["collectives.explicit.*.name", "'a' twice"]),
    ("regimes.expertise.collectives.explicit", [{"name": "a", "members": ["P001"]},
                                                 {"name": "b", "members": ["P001"]}],
     ["collectives.explicit.1.members", "one collective"]),
    ("regimes.expertise.collectives.explicit", [{"name": "a", "members": []}],
     ["collectives.explicit.0.members"]),
    ("products.care_forms", ["ambulant", "ambulant"], ["products.care_forms", "'ambulant' twice"]),
    ("products.custom", [{"name": "x", "domain": "behavioural", "care_form": "ambulant", "units_per_week": 1,
                          "duration_days": 90, "price_eur": 100}] * 2, ["products.custom.*.name", "'x' twice"]),
]


@pytest.mark.parametrize("key, value, words", BAD_VALUES,
                         ids=[f"{k}={v!r}"[:60] for k, v, _ in BAD_VALUES])
def test_bad_value_in_a_file_is_refused_with_its_key_path(tmp_path, capsys, key, value, words):
    path = write_config(tmp_path, lambda d: set_path(d, key, value))
    assert_one_line(*run_cli(capsys, "check", path)[::2], *words)


@pytest.mark.parametrize("key, value, words", [
    ("timeline.end", "2029-02-30", ["timeline.end", "real date"]),
    ("timeline.start", "1451606400", ["timeline.start", "YYYY-MM-DD"]),
    ("outcome.intercept", ".nan", ["outcome.intercept", "finite"]),
    ("providers.count", "true", ["providers.count", "whole number"]),
    ("demand.first_referrals_per_year", "1e308", ["demand.first_referrals_per_year"]),
])
def test_bad_value_in_set_is_refused_with_its_key_path(capsys, key, value, words):
    assert_one_line(*run_cli(capsys, "check", CONFIG, "--set", f"{key}={value}")[::2], *words)


@pytest.mark.parametrize("command", [["run", "--regime", "product"], ["compare", "--reps", "2"],
                                     ["warmup", "--reps", "1"]])
def test_a_value_the_model_cannot_take_is_refused_before_any_run(capsys, command):
    """``first_referrals_per_year: 1e308`` validated, then failed deep in numpy
    (``lam value too large``) from run, compare and warmup."""
    code, _, err = run_cli(capsys, command[0], CONFIG, *command[1:], "--set",
                           "demand.first_referrals_per_year=1e308")
    assert_one_line(code, err, "demand.first_referrals_per_year")


# --------------------------------------------------------------------------- YAML files
def _default_text() -> str:
    return CONFIG.read_text().replace("achterhoek-preload.csv", str(PRELOAD), 1)


YAML_CASES = [
    ("duplicate-municipality",
     lambda t: t.replace("    Winterswijk:", "    Aalten: 1000\n    Winterswijk:", 1),
     ["region.municipalities.Aalten", "duplicate key", "lines"]),
    ("duplicate-section", lambda t: t + "\ncosts:\n  provider_admin_hour_eur: 1\n  municipal_admin_hour_eur: 1\n",
     ["costs", "duplicate key"]),
    ("impossible-date", lambda t: t.replace("end: 2025-07-01", "end: 2029-02-30", 1),
     ["timeline.end", "2029-02-30", "real date"]),
    ("unix-timestamp-date", lambda t: t.replace("start: 2017-07-01", "start: 1451606400", 1),
     ["timeline.start", "YYYY-MM-DD"]),
    ("nan", lambda t: t.replace("intercept:", "intercept: .nan #", 1), ["outcome.intercept", "finite"]),
    ("recursive-alias", lambda t: t + "\nextra: &loop [*loop]\n", ["recursive alias"]),
    ("alias-bomb", lambda t: t + "\n" + _bomb(), ["expands to more than"]),
    ("undefined-alias", lambda t: t + "\nextra: *nowhere\n", ["not valid YAML"]),
    ("not-a-mapping", lambda t: "- just\n- a list\n", ["(top level)", "mapping"]),
]


def _bomb(depth: int = 9) -> str:
    lines = ['bomb0: &b0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, depth):
        lines.append(f"bomb{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("edit, words", [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES])
def test_bad_yaml_file_is_refused_in_one_line(tmp_path, capsys, edit, words):
    path = tmp_path / "config.yaml"
    path.write_text(edit(_default_text()))
    assert_one_line(*run_cli(capsys, "check", path)[::2], *words)


@pytest.mark.parametrize("edit, words", [c[1:] for c in YAML_CASES if c[0] in ("recursive-alias", "alias-bomb")],
                         ids=["recursive-alias", "alias-bomb"])
def test_aliases_plus_set_do_not_run_away(tmp_path, capsys, edit, words):
    """With ``--set`` the overrides used to round-trip the whole input through JSON (2.5 GB)."""
    path = tmp_path / "config.yaml"
    path.write_text(edit(_default_text()))
    assert_one_line(*run_cli(capsys, "check", path, "--set", "providers.count=100")[::2], *words)


@pytest.mark.parametrize("content, words", [
    (b"\xff\xfe\x00t\x00i\x00m\x00e", ["not UTF-8"]),
    (bytes(range(256)) * 4, ["not UTF-8"]),
    (b"timeline:\n  start: 2017-07-01\x00\n", ["not valid YAML"]),
    ("region:\n  name: Caf\u00e9\n".encode("latin-1"), ["not UTF-8", "0xe9"]),
], ids=["utf-16", "binary", "nul-byte", "latin-1"])
def test_binary_or_non_utf8_file_is_refused(tmp_path, capsys, content, words):
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    assert_one_line(*run_cli(capsys, "check", path)[::2], str(path), *words)


def test_yaml_12_numbers_are_numbers_for_check_and_schema_alike():
    """YAML 1.1 reads 1.0e12 as a string: the schema refused what check accepted."""
    jsonschema = pytest.importorskip("jsonschema")
    from sim.config import json_schema
    assert yamlfile.parse("a: 1.0e12\nb: 1e3\nc: -2.5E-3\nd: .inf\ne: 1_000\nf: '1e3'") == \
        {"a": 1e12, "b": 1e3, "c": -2.5e-3, "d": float("inf"), "e": 1000, "f": "1e3"}
    path = ROOT / "configs" / "verification" / "mmc.yaml"
    data = json.loads(json.dumps(yamlfile.read(path), default=str))
    assert data["waiting"]["patience_mean_days"] == 1e12
    jsonschema.Draft202012Validator(json_schema()).validate(data)


# --------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("argv, words", [
    (["compare", CONFIG, "--reps", "1000000000"], ["--reps", "at most"]),
    (["warmup", CONFIG, "--reps", "1000000000"], ["--reps", "at most"]),
    (["compare", CONFIG, "--workers", "100000000"], ["--workers", "at most"]),
    (["preload", CONFIG, "--out", "x.csv", "--years", "1000000"], ["--years", "at most"]),
    (["sweep", ROOT / "configs" / "sweeps" / "smoke.yaml", "--out", "x", "--scheduler", "tcp//nohost"],
     ["--scheduler", "tcp//nohost"]),
    (["sweep", ROOT / "configs" / "sweeps" / "smoke.yaml", "--out", "x", "--scheduler", "tcp://host:99999"],
     ["--scheduler"]),
    (["sweep", ROOT / "configs" / "sweeps" / "smoke.yaml", "--out", "x", "--reps", "1000000000"],
     ["--reps", "at most"]),
])
def test_absurd_or_malformed_arguments_are_refused(capsys, argv, words):
    assert_one_line(*run_cli(capsys, *argv)[::2], *words)


# --------------------------------------------------------------------------- sweep specs
def _spec(tmp_path: Path, **changes: Any) -> Path:
    spec = {"base": str(CONFIG), "factors": {"grid": {"demand.growth_per_year": [0.0]}}, "replications": 1,
            "regimes": ["product"]}
    spec.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize("changes, words", [
    ({"factors": {"grid": {"timeline.end": ["2029-02-30"]}}}, ["timeline.end", "real date"]),
    ({"overrides": {"timeline.end": "2029-02-30"}}, ["timeline.end", "real date"]),
    ({"replications": 10 ** 9}, ["replications", "100,000"]),
    ({"replications": True}, ["replications"]),
    ({"seed": float("nan")}, ["seed"]),
    ({"factors": {"grid": {"demand.growth_per_year": [0.0] * 1000,
                           "waiting.patience_mean_days": list(range(1, 1001))}}}, ["design points", "at most"]),
    ({"factors": {"sample": {"method": "lhs", "n": 10 ** 9, "bounds": {"demand.growth_per_year": [0, 0.1]}}}},
     ["factors.sample.n"]),
    ({"factors": {"grid": {"demand.growth_per_year": [float("nan")]}}}, ["demand.growth_per_year"]),
])
def test_bad_sweep_spec_is_refused_in_one_line(tmp_path, capsys, changes, words):
    path = _spec(tmp_path, **changes)
    assert_one_line(*run_cli(capsys, "sweep", path, "--out", tmp_path / "out")[::2], *words)
    assert not (tmp_path / "out" / "runs").exists() or not any((tmp_path / "out" / "runs").iterdir())


def test_sweep_spec_that_is_binary_is_refused(tmp_path, capsys):
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert_one_line(*run_cli(capsys, "sweep", path, "--out", tmp_path / "out")[::2], "not UTF-8")


def test_sweep_out_that_is_a_file_or_not_writable(tmp_path, capsys):
    spec = _spec(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_one_line(*run_cli(capsys, "sweep", spec, "--out", blocker)[::2], str(blocker))
    assert_one_line(*run_cli(capsys, "sweep", spec, "--out", blocker / "sub")[::2], str(blocker))


# --------------------------------------------------------------------------- results folders
@pytest.mark.parametrize("make, words", [
    (lambda d: None, ["no results"]),
    (lambda d: (d / "notes.txt").write_text("hello"), ["no results"]),
    (lambda d: (d / "manifest.json").write_text("[1, 2, 3]"), ["manifest.json", "not a JSON object"]),
    (lambda d: (d / "manifest.json").write_text("{not json"), ["manifest.json", "not valid JSON"]),
    (lambda d: (d / "manifest.json").write_bytes(b"\xff\xfe"), ["manifest.json"]),
    (lambda d: ((d / "runs").mkdir(), (d / "manifest.json").write_text("[]")), ["manifest.json"]),
], ids=["empty", "unrelated-file", "manifest-list", "manifest-not-json", "manifest-binary", "store-manifest-list"])
def test_report_on_a_folder_without_results_is_one_line(tmp_path, capsys, make, words):
    folder = tmp_path / "results"
    folder.mkdir()
    make(folder)
    assert_one_line(*run_cli(capsys, "report", folder)[::2], *words)


def test_report_on_runs_that_cannot_be_paired_is_one_line(tmp_path, capsys):
    """An experiment's runs.csv with several rows per regime and replication (as
    contract_start.py wrote before it named its design points)."""
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "runs.csv").write_text("contract_start,regime,replication,wait_mean_weeks\n"
                                     "2021-01-01,product,0,10\n2022-07-01,product,0,10\n"
                                     "2021-01-01,expertise,0,8\n2022-07-01,expertise,0,7\n")
    assert_one_line(*run_cli(capsys, "report", folder)[::2], "runs.csv", "two rows of regime 'product'")


def test_report_on_the_parent_of_result_folders_names_them(tmp_path, capsys):
    folder = tmp_path / "experiment"
    for sub in ("product", "expertise"):
        (folder / sub / "runs").mkdir(parents=True)
    assert_one_line(*run_cli(capsys, "report", folder)[::2], "no results", "expertise, product")


def test_report_of_a_run_folder(tmp_path, capsys):
    """``caresim run --out`` folders gave a traceback; now they get a report of the one run."""
    out = tmp_path / "run"
    tiny = ["--set", "timeline.initial_state=empty", "--set", "timeline.preload=null",
            "--set", "timeline.start=2021-01-01", "--set", "timeline.contract_start=2022-01-01",
            "--set", "timeline.end=2022-07-01", "--set", "demand.first_referrals_per_year=200",
            "--set", "providers.total_staff_hours_per_week=2000"]
    code, _, err = run_cli(capsys, "run", CONFIG, "--regime", "product", *tiny, "--out", out)
    assert code == 0, err
    code, stdout, err = run_cli(capsys, "report", out)
    assert code == 0, err
    page = (out / "report" / "index.html").read_text()
    assert "Results per regime" in page and "product" in page


def test_a_full_disk_during_a_sweep_is_one_line(tmp_path, capsys, monkeypatch):
    import errno

    from sim.experiment import store

    def full(self, key, row, tables, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.root / "runs" / "x.csv"))

    monkeypatch.setattr(store.Store, "write_run", full)
    spec = ROOT / "configs" / "sweeps" / "smoke.yaml"
    code, _, err = run_cli(capsys, "sweep", spec, "--out", tmp_path / "out", "--executor", "serial",
                           "--reps", "1", "--no-progress")
    assert_one_line(code, err, "No space left on device", "x.csv")
