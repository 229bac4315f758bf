"""The probabilistic sensitivity analysis: the reviewed file of ranges
(configs/uncertainty/achterhoek.yaml), its refusals, the Latin hypercube, the
partial rank correlation, and the paired differences per parameter set."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import triang

from sim.analysis.sensitivity import ecdf, prcc, probability, quantile_interval
from sim.config import config_to_dict
from sim.errors import ConfigError
from sim.experiment.uncertainty import draw, load_uncertainty

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "configs" / "uncertainty" / "achterhoek.yaml"


def _get(d, key):
    for k in key.split("."):
        d = d[k]
    return d


def test_the_reviewed_file_loads_and_holds_the_defaults():
    spec, base, cfg_path = load_uncertainty(FILE)
    assert cfg_path == (ROOT / "configs" / "achterhoek.yaml").resolve()
    assert len(spec.parameters) >= 20
    flat = config_to_dict(base)
    for key, par in spec.parameters.items():
        assert par.range[0] <= _get(flat, key) <= par.range[1], key
        assert par.reason.strip() and par.label.strip()


def test_no_estimate_is_called_sourced():
    """A reason that says S (sourced) is about a value the config marks S; the
    others say E, as the config does for them (where it marks the key itself)."""
    from sim.config.paramdoc import parameter_rows
    marks = {r["parameter"]: str(r["source"])[:1] for r in parameter_rows(ROOT / "configs" / "achterhoek.yaml")}
    spec, _, _ = load_uncertainty(FILE)
    for key, par in spec.parameters.items():
        if par.reason.startswith("S"):
            assert marks.get(key) == "S", key
        elif marks.get(key) in ("S", "E", "D"):
            assert par.reason[:1] == marks[key] == "E", key


def _write(tmp_path, parameters, config="../configs/achterhoek.yaml"):
    d = tmp_path / "u"
    d.mkdir(exist_ok=True)
    f = d / "u.yaml"
    f.write_text(yaml.safe_dump({"config": str((ROOT / "configs" / "achterhoek.yaml")), "parameters": parameters}))
    return f


GOOD = {"label": "a label", "range": [0.1, 0.3], "reason": "a reason"}


@pytest.mark.parametrize("key, par, expect", [
    ("regimes.expertise.admin.overhead_sharee", GOOD, "not a number"),
    ("regimes.expertise.admin", GOOD, "not a number"),
    ("regimes.expertise.admin.overhead_share", {**GOOD, "range": [0.3, 0.1]}, "low < high"),
    ("regimes.expertise.admin.overhead_share", {**GOOD, "range": [0.25, 0.3]}, "contain the config's value 0.22"),
    ("regimes.expertise.admin.overhead_share", {**GOOD, "range": [float("nan"), 0.3]}, "low < high"),
    ("regimes.expertise.admin.overhead_share", {**GOOD, "distribution": "normal"}, "distribution"),
    ("regimes.expertise.admin.overhead_share", {"label": "x y", "range": [0.1, 0.3]}, "reason"),
    ("regimes.expertise.admin.overhead_share", {**GOOD, "extra": 1}, "extra"),
    ("regimes.expertise.budget.population_share", {**GOOD, "range": [0.0, 0.2], "distribution": "loguniform"},
     "expected > 0 for loguniform"),
    ("regimes.expertise.features.dosing", {**GOOD, "range": [0, 1]}, "not a number"),
])
def test_bad_entries_are_refused_in_one_line(tmp_path, key, par, expect):
    f = _write(tmp_path, {key: par})
    with pytest.raises(ConfigError) as err:
        load_uncertainty(f)
    msg = str(err.value)
    assert "\n" not in msg and expect in msg, msg


def test_the_latin_hypercube_fills_every_stratum_of_each_distribution():
    spec, base, _ = load_uncertainty(FILE)
    n = 50
    values = draw(spec, base, n, seed=3)
    assert values == draw(spec, base, n, seed=3)
    assert values != draw(spec, base, n, seed=4)
    flat = config_to_dict(base)
    for key, par in spec.parameters.items():
        v = np.asarray(values[key], dtype=float)
        lo, hi = par.range
        assert len(v) == n and np.all((v >= lo) & (v <= hi)), key
        if isinstance(_get(flat, key), int):
            continue
        if par.distribution == "uniform":
            u = (v - lo) / (hi - lo)
        elif par.distribution == "loguniform":
            u = (np.log(v) - np.log(lo)) / (np.log(hi) - np.log(lo))
        else:
            mode = _get(flat, key)
            u = triang.cdf(v, (mode - lo) / (hi - lo), loc=lo, scale=hi - lo)
        strata = np.floor(np.clip(u, 0, 1 - 1e-12) * n).astype(int)
        assert sorted(strata) == list(range(n)), key


def test_prcc_finds_the_driver_and_its_sign():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(200, 4))
    y = np.exp(3 * x[:, 0]) - 2 * x[:, 2] + 0.05 * rng.normal(size=200)
    rho, p = prcc(x, y)
    assert rho[0] > 0.95 and rho[2] < -0.8
    assert abs(rho[1]) < 0.2 and abs(rho[3]) < 0.2
    assert p[0] < 1e-6 and p[1] > 0.001
    with pytest.raises(ValueError):
        prcc(x[:5], y[:5])


def test_intervals_probabilities_and_the_ecdf():
    x = np.arange(1, 101, dtype=float)
    lo, hi = quantile_interval(x, 0.9)
    assert 5 <= lo <= 6.5 and 94.5 <= hi <= 96
    assert probability(x - 50.5, +1) == 0.5 and probability(-x, -1) == 1.0
    xs, ps = ecdf([3.0, 1.0, np.nan, 2.0])
    assert list(xs) == [1, 2, 3] and ps[-1] == 1.0


def test_the_scripts_paired_differences_per_set():
    pd = pytest.importorskip("pandas")
    sys.path.insert(0, str(ROOT / "experiments"))
    spec = importlib.util.spec_from_file_location("uncertainty_script", ROOT / "experiments" / "uncertainty.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = []
    for i, a in enumerate([0.1, 0.2, 0.3]):
        for rep in range(3):
            base = 10.0 + rep
            rows.append({"point": f"p{i}", "k": a, "regime": "product", "replication": rep, "m": base})
            rows.append({"point": f"p{i}", "k": a, "regime": "expertise", "replication": rep,
                         "m": base + 100 * a + (rep - 1) * 0.5})
    x, diff, noise = mod.differences(pd.DataFrame(rows), ["k"], ["m"])
    assert np.allclose(x[:, 0], [0.1, 0.2, 0.3])
    assert np.allclose(diff["m"], [10.0, 20.0, 30.0])
    # within-set variance of the mean (0.25 / 3) over the variance across sets (100)
    assert np.isclose(noise["m"], (0.25 / 3) / 100.0)
