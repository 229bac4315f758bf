"""The documentation matches the code: the parameter table in docs/model.md is
the one generated from configs/achterhoek.yaml, and every parameter has a source."""
from __future__ import annotations

from pathlib import Path

from sim.config.paramdoc import BEGIN, END, markdown, parameter_rows

ROOT = Path(__file__).resolve().parents[1]


def test_model_doc_parameter_table_is_current():
    doc = (ROOT / "docs" / "model.md").read_text()
    table = doc.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == markdown(parameter_rows(ROOT / "configs" / "achterhoek.yaml")).strip(), \
        "regenerate with sim.config.paramdoc.splice (see docs/model.md section 5)"


def test_every_default_parameter_states_its_source():
    rows = parameter_rows(ROOT / "configs" / "achterhoek.yaml")
    assert len(rows) > 100
    missing = [r["parameter"] for r in rows if not r["source"]]
    assert not missing, missing


def test_docs_linked_from_readme():
    readme = (ROOT / "README.md").read_text()
    assert "docs/model.md" in readme and "docs/experiments.md" in readme
