"""The one CSV codec (sim.files): the cell convention, exact round trips through
read_csv and through pandas.read_csv, atomic writes and JSON."""
from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as hs

from sim.files import (atomic_path, cell, is_temporary, pandas_options, parse_column, read_csv, write_csv,
                       write_json)
from sim.table import Table

#: one column of every kind the writers produce
COLUMNS = {
    "flag": np.array([True, False, True]),
    "count": np.array([0, -7, 4294967295], dtype=np.int64),
    "x": np.array([0.1 + 0.2, math.nan, -0.0]),
    "edge": np.array([math.inf, -math.inf, 5e-324]),
    "big": np.array([1e300, -1.5e-300, 2.0]),
    "name": np.array(["product", "", "a,b \"quoted\"\nnewline"], dtype=object),
    "point": np.array(["0012", "1e5", "True"], dtype=object),     # text that looks typed
}
TEXT = ("point",)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind != b.dtype.kind:
        return False
    if a.dtype.kind == "f":       # every bit but a NaN's sign (-0.0 stays -0.0)
        real = ~np.isnan(a)
        return bool(np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a[real]), np.signbit(b[real])))
    return a.tolist() == b.tolist()


@pytest.mark.parametrize("value, text", [
    (True, "True"), (False, "False"), (np.bool_(True), "True"), (3, "3"), (np.int64(-4), "-4"),
    (0.1, "0.1"), (1 / 3, "0.3333333333333333"), (math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"),
    (np.float32(0.1), repr(float(np.float32(0.1)))), (1e300, "1e+300"), (None, ""), ("", ""), ("abc", "abc"),
    ({"b": 1, "a": [1, 2]}, '{"a": [1, 2], "b": 1}'), ((1, 2), "[1, 2]"), (dt.date(2022, 1, 1), "2022-01-01"),
    (Path("a/b"), "a/b"),
])
def test_the_cell_convention(value, text):
    assert cell(value) == text


def test_typed_columns_read_back_to_the_same_dtype_and_values(tmp_path):
    path = write_csv(tmp_path / "t.csv", COLUMNS)
    back = read_csv(path, TEXT)
    assert list(back) == list(COLUMNS)
    for k, v in COLUMNS.items():
        assert _same(back[k], v), (k, back[k], v)
    # without text=, a text column whose cells all look typed is typed: name it
    assert read_csv(path)["point"].dtype == object        # '0012', '1e5', 'True' are not one type
    assert parse_column(["0012", "3"]).dtype == np.int64
    assert os.listdir(tmp_path) == ["t.csv"]


def test_the_fast_column_path_writes_what_cell_writes(tmp_path):
    """numpy columns go to the csv module whole; the text equals cell() of each value."""
    for k, v in COLUMNS.items():
        a = write_csv(tmp_path / "a.csv", {k: v}).read_text()
        b = write_csv(tmp_path / "b.csv", header=[k], rows=[[x] for x in v.tolist()]).read_text()
        c = write_csv(tmp_path / "c.csv", {k: list(v.tolist())}).read_text()
        assert a == b == c, k
    f32 = write_csv(tmp_path / "f.csv", {"v": np.array([0.1], dtype=np.float32)}).read_text()
    assert f32.splitlines()[1] == cell(np.float32(0.1))


def test_missing_values_and_mixed_columns(tmp_path):
    path = write_csv(tmp_path / "m.csv", header=["n", "i", "s", "e", "mix"],
                     rows=[[None, 1, "x", "", 1], [2.5, 2, None, "", 2.5]])
    back = read_csv(path)
    assert math.isnan(back["n"][0]) and back["n"][1] == 2.5          # empty in a numeric column: NaN
    assert back["i"].dtype == np.int64
    assert back["s"].tolist() == ["x", ""]                             # empty in a text column: ""
    assert back["e"].dtype == object and back["e"].tolist() == ["", ""]
    assert back["mix"].dtype == float and back["mix"].tolist() == [1.0, 2.5]
    assert parse_column(["99999999999999999999"]).dtype == float      # beyond int64
    assert parse_column(["--1", "2"]).dtype == object


@settings(max_examples=60, deadline=None)
@given(hs.lists(hs.tuples(hs.floats(allow_nan=True, allow_infinity=True), hs.integers(-2 ** 63, 2 ** 63 - 1),
                          hs.text(alphabet=hs.characters(blacklist_categories=("Cs",)), max_size=8)),
                min_size=1, max_size=20))
def test_round_trips_are_exact(tmp_path_factory, rows):
    floats, ints, texts = (list(c) for c in zip(*rows))
    path = tmp_path_factory.mktemp("rt") / "r.csv"
    cols = {"f": np.array(floats, dtype=float), "i": np.array(ints, dtype=np.int64),
            "s": np.array(texts, dtype=object)}
    back = read_csv(write_csv(path, cols), text=("s",))
    assert _same(back["f"], cols["f"]) and _same(back["i"], cols["i"])
    assert back["s"].tolist() == texts


def test_pandas_reads_the_files_to_the_same_columns(tmp_path):
    pd = pytest.importorskip("pandas")
    path = write_csv(tmp_path / "p.csv", COLUMNS)
    frame = pd.read_csv(path, **pandas_options(TEXT))
    ours = read_csv(path, TEXT)
    assert list(frame.columns) == list(ours)
    for k in ours:
        got = frame[k].to_numpy()
        if ours[k].dtype == object:
            assert got.tolist() == ours[k].tolist(), k
        else:
            assert _same(got.astype(ours[k].dtype), ours[k]) and got.dtype.kind == ours[k].dtype.kind, k


def test_table_writes_and_reads_through_the_codec(tmp_path):
    t = Table(COLUMNS)
    back = Table.read_csv(t.write_csv(tmp_path / "sub" / "t.csv"), TEXT)
    assert all(_same(back[k], t[k]) for k in t.keys())


def test_write_csv_takes_columns_or_header_and_rows(tmp_path):
    with pytest.raises(TypeError):
        write_csv(tmp_path / "x.csv")
    with pytest.raises(TypeError):
        write_csv(tmp_path / "x.csv", {"a": [1]}, header=["a"], rows=[[1]])
    header_only = read_csv(write_csv(tmp_path / "h.csv", header=["a", "b"], rows=[]))
    assert {k: v.tolist() for k, v in header_only.items()} == {"a": [], "b": []}
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert read_csv(empty) == {}


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "f.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert is_temporary(tmp.name) and tmp.parent == tmp_path
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == ["f.csv"] and target.read_text() == "old"
    assert not is_temporary("f.csv") and not is_temporary(".hidden")


def test_write_json_converts_numpy_dates_and_paths(tmp_path):
    path = write_json(tmp_path / "m.json", {"n": np.int64(3), "x": np.float64(0.5), "a": np.arange(2),
                                           "d": dt.date(2022, 1, 1), "p": Path("x/y"), "nan": math.nan})
    data = json.loads(path.read_text())
    assert data == {"n": 3, "x": 0.5, "a": [0, 1], "d": "2022-01-01", "p": "x/y", "nan": data["nan"]}
    assert math.isnan(data["nan"]) and path.read_text().endswith("\n")
    with pytest.raises(TypeError):
        write_json(tmp_path / "bad.json", {"x": object()})
    assert sorted(os.listdir(tmp_path)) == ["m.json"]
