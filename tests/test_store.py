"""The append-safe result store: atomic part files, typed round trips, stray
temporaries, and ``load_results`` (sorted, filtered to the sweep's plan)."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from sim.files import atomic_path, parse_column
from sim.table import Table
from sim.experiment.store import (TEXT_COLUMNS, Store, StoreError, load_results, parse_name, part_name, read_part,
                                  write_part)

ROW = {"point": "0123456789", "a.b": 3, "c": 0.1 + 0.2, "flag": True, "regime": "product", "replication": 2,
       "seed": 4294967295, "m": math.nan, "big": 1e300, "tiny": -5e-324, "when": "2022-01-01", "error": ""}


def _manifest(store: Store, points=("p1", "p2"), regimes=("product", "expertise"), reps=None, outputs=()):
    store.write_manifest({
        "kind": "caresim sweep", "format": store.fmt, "regimes": list(regimes), "outputs": list(outputs),
        "points": [{"id": p, "values": {"x.y": i}} for i, p in enumerate(points)],
        "replications_per_point": {p: reps for p in points} if reps else None,
    })


def _row(point, regime, rep, error=""):
    return {"point": point, "x.y": 1, "regime": regime, "replication": rep, "seed": 10 + rep, "m": rep / 3,
            "wall_seconds": 0.1, "events": 5 if not error else math.nan, "error": error}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_part_file_reads_back_to_the_same_typed_values(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    path = tmp_path / f"x.{fmt}"
    write_part(path, {k: [v] for k, v in ROW.items()}, fmt)
    back = next(read_part(path).rows())
    assert set(back) == set(ROW)
    for k, v in ROW.items():
        if isinstance(v, float) and math.isnan(v):
            assert math.isnan(back[k])
        else:
            assert back[k] == v and type(back[k]) is type(v), k
    assert os.listdir(tmp_path) == [path.name]


def test_column_types_are_inferred_like_a_table():
    assert parse_column(["1", "-2"]).dtype == np.int64
    assert parse_column(["1", "nan", "2.5"]).dtype == float
    assert parse_column(["True", "False"]).dtype == bool
    assert parse_column(["", ""]).dtype == object
    assert "point" in TEXT_COLUMNS and "error" in TEXT_COLUMNS
    assert list(parse_column(["0012", "3"], text=True)) == ["0012", "3"]
    assert list(parse_column(["", "ValueError('x')"], text=True)) == ["", "ValueError('x')"]


def test_part_names_round_trip_and_temporaries_are_not_parts():
    key = ("ab12cd34ef", "expertise", 17)
    assert parse_name(part_name(key)) == key
    assert parse_name(part_name(key, "parquet")) == key
    assert parse_name(".ab12cd34ef_expertise_17.csv.123-abcd.tmp") is None
    assert parse_name("notes.txt") is None


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "f.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == ["f.csv"] and target.read_text() == "old"


def test_stray_temporaries_are_ignored_then_cleaned(tmp_path):
    store = Store(tmp_path)
    _manifest(store)
    store.write_run(("p1", "product", 0), _row("p1", "product", 0), {})
    runs = tmp_path / "runs"
    (runs / ".p1_product_1.csv.77-deadbeef.tmp").write_text("point,regime\np1")
    (runs / ".p1_product_0.csv.77-deadbeef.tmp").write_text((runs / "p1_product_0.csv").read_text())
    assert list(store.part_files()) == [("p1", "product", 0)]
    assert len(load_results(tmp_path).runs) == 1
    assert store.clean_temporaries() == 2
    assert os.listdir(runs) == ["p1_product_0.csv"]


def test_tables_are_written_before_the_row_that_marks_a_run_done(tmp_path, monkeypatch):
    import sim.experiment.store as st

    store = Store(tmp_path)
    written = []
    real = st.write_bytes
    monkeypatch.setattr(st, "write_bytes", lambda path, data: written.append(path.parent.name) or real(path, data))
    store.write_run(("p1", "product", 0), _row("p1", "product", 0),
                    {"monthly": {"month": [0, 1], "x": [1.5, 2.5]}, "episodes": {"id": [1]}})
    assert written == ["monthly", "episodes", "checks", "runs"]   # the check file covers the row about to be written
    monthly = read_part(tmp_path / "monthly" / "p1_product_0.csv")
    assert list(monthly.columns) == ["point", "regime", "replication", "month", "x"]
    assert list(monthly["x"]) == [1.5, 2.5] and list(monthly["replication"]) == [0, 0]


def test_load_results_sorts_by_point_regime_replication_and_keeps_to_the_plan(tmp_path):
    store = Store(tmp_path)
    _manifest(store, reps=2, outputs=("monthly",))
    keys = [("p2", "expertise", 1), ("p1", "expertise", 0), ("p2", "product", 0), ("p1", "product", 1),
            ("p1", "product", 0), ("p2", "product", 1), ("p1", "expertise", 1), ("p2", "expertise", 0),
            ("p1", "product", 2), ("gone", "product", 0)]          # outside the plan
    for k in keys:
        err = "RuntimeError('x')" if k == ("p2", "product", 1) else ""
        store.write_run(k, _row(*k, error=err), {} if err else {"monthly": {"month": [0, 1]}})
    res = load_results(tmp_path)
    got = list(zip(res.runs["point"], res.runs["regime"], res.runs["replication"]))
    assert got == [("p1", "product", 0), ("p1", "product", 1), ("p1", "expertise", 0), ("p1", "expertise", 1),
                   ("p2", "product", 0), ("p2", "product", 1), ("p2", "expertise", 0), ("p2", "expertise", 1)]
    assert res.failures == [{"point": "p2", "regime": "product", "replication": 1, "error": "RuntimeError('x')"}]
    assert len(res.monthly) == 2 * 7 and res.episodes is None
    assert list(res.runs["error"]).count("") == 7
    table = load_results(tmp_path, as_pandas=False)
    assert isinstance(table.runs, Table) and len(table.runs) == 8 and isinstance(table.monthly, Table)
    assert list(table.runs["point"]) == list(res.runs["point"])


def test_load_results_needs_a_manifest(tmp_path):
    with pytest.raises(StoreError, match="no manifest.json"):
        load_results(tmp_path)


def test_the_manifest_is_written_atomically(tmp_path):
    store = Store(tmp_path)
    _manifest(store)
    assert json.loads((tmp_path / "manifest.json").read_text())["kind"] == "caresim sweep"
    assert sorted(os.listdir(tmp_path)) == ["manifest.json"]


def test_one_writer_at_a_time(tmp_path):
    with Store(tmp_path).lock():
        with pytest.raises(StoreError, match="another sweep"):
            with Store(tmp_path).lock():
                pass
    with Store(tmp_path).lock():   # released
        pass
