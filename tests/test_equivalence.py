"""The regimes made equal (configs/sweeps/equivalence.yaml): on the *default*
world, with every feature of the expertise regime off (it acts as the status
quo in every respect; the status-quo arm is the default one), the product and
the expertise runs are identical in every summary metric, care cost included,
every episode record and every monthly and yearly row (the regime's name aside).

Run through the sweep runner, as a researcher would run the spec: one
replication of each regime, two default-horizon runs on two workers."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.config import FEATURES
from sim.experiment.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "configs" / "sweeps" / "equivalence.yaml"

#: nothing differs but the regime's name (payment too is the status quo's with the payment feature off)
PAYMENT_KEYS: set[str] = set()
MONTHLY_PAYMENT = {"regime"}
RUN_COLUMNS = {"regime", "wall_seconds", "events", "status", "error", "finished_at", "seconds"}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("equivalence")
    return run_sweep(SPEC, out, executor="process", workers=2, progress=False)


def _same(x, y) -> bool:
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError):
        return x == y
    return (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12)


def _rows(table, regime):
    reg = np.asarray(table["regime"])
    return reg == regime


def test_the_spec_is_the_default_world():
    spec = yaml.safe_load(SPEC.read_text())
    assert (SPEC.parent / spec["base"]).resolve() == (ROOT / "configs" / "achterhoek.yaml").resolve()
    assert spec["regimes"] == ["product", "expertise"]
    assert not spec.get("factors")
    assert set(spec["overrides"]) == {f"regimes.expertise.features.{f}" for f in FEATURES}
    assert not any(spec["overrides"].values())


def test_summaries_are_identical(results):
    runs = results.runs
    p, e = _rows(runs, "product"), _rows(runs, "expertise")
    assert p.sum() == e.sum() == 1
    metrics = [c for c in runs.columns if c not in RUN_COLUMNS and c not in PAYMENT_KEYS
               and np.asarray(runs[c]).dtype.kind in "fiub"]
    assert len(metrics) > 20
    diff = {c: (np.asarray(runs[c])[p][0], np.asarray(runs[c])[e][0]) for c in metrics
            if not _same(np.asarray(runs[c])[p][0], np.asarray(runs[c])[e][0])}
    assert diff == {}


def test_yearly_rows_are_identical(results):
    y = results.yearly
    p, e = _rows(y, "product"), _rows(y, "expertise")
    assert p.sum() == e.sum() >= 3     # the real contract window: 3 full contract years
    for c in y.columns:
        if c in PAYMENT_KEYS or c in RUN_COLUMNS or c == "regime":
            continue
        a, b = np.asarray(y[c])[p], np.asarray(y[c])[e]
        assert all(_same(u, v) for u, v in zip(a, b)), c


def _table(t, rows):
    return {c: np.asarray(t[c])[rows] for c in t.columns}


def test_episode_records_and_months_are_identical(results):
    ep = results.episodes
    p, e = _rows(ep, "product"), _rows(ep, "expertise")
    assert p.sum() == e.sum() > 10000
    a, b = _table(ep, p), _table(ep, e)
    bad = [c for c in a if c not in ("regime",) and not all(_same(u, v) for u, v in zip(a[c], b[c]))]
    assert bad == []
    mo = results.monthly
    p, e = _rows(mo, "product"), _rows(mo, "expertise")
    a, b = _table(mo, p), _table(mo, e)
    bad = [c for c in a if c not in MONTHLY_PAYMENT and not all(_same(u, v) for u, v in zip(a[c], b[c]))]
    assert bad == []
