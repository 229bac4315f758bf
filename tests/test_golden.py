"""Temporary guard for the package restructure (issue 8): every table the
command line writes is the same, value for value, as before the move."""
import json
from pathlib import Path

from _load import load_script

HERE = Path(__file__).resolve().parent / "golden"


def test_every_table_matches_the_golden_set(tmp_path):
    record = load_script("tests/golden/record.py").record
    got = record(tmp_path)
    want = json.loads((HERE / "golden.json").read_text())
    changed = sorted(k for k in want if got.get(k) != want[k])
    assert set(got) == set(want), sorted(set(got) ^ set(want))
    assert not changed, changed
