"""The notebook path: ``sim.Table`` renders as HTML, date columns are dates in
the pandas frames users get, and ``docs/quickstart.ipynb`` runs from top to
bottom in a real kernel (nbclient), showing its table and figures (about 10 s).
Without nbclient and ipykernel (the ``test`` extra has them) its code cells
are run in this process instead."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.present import figures

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "quickstart.ipynb"
TINY = {"timeline.initial_state": "empty", "timeline.preload": "null", "timeline.start": "2021-01-01",
        "timeline.contract_start": "2022-01-01", "timeline.end": "2023-01-01",
        "demand.first_referrals_per_year": "300", "providers.count": "30",
        "providers.total_staff_hours_per_week": "4500", "regimes.expertise.contracted_providers": "10"}


def test_a_table_renders_as_html_shortened_and_escaped():
    small = sim.Table({"metric": np.array(["a<b", "c"]), "value": np.array([0.1234567891, 2.0])})
    html = small._repr_html_()
    assert html.startswith('<table class="caresim-table">') and "<th>metric</th><th>value</th>" in html
    assert "a&lt;b" in html and "<td>0.123457</td>" in html and "2 rows x 2 columns" in html
    big = sim.Table({"i": np.arange(1000)})
    html = big._repr_html_()
    assert html.count("<tr>") == 1 + 21 and "<td>...</td>" in html           # header, 10 + dots + 10
    assert "<td>9</td>" in html and "<td>990</td>" in html and "<td>500</td>" not in html
    assert "1,000 rows x 1 columns" in html


@pytest.fixture(scope="module")
def tiny_run():
    return sim.run(sim.load_config(ROOT / "configs" / "achterhoek.yaml", overrides=TINY), regime="product", seed=1)


def test_date_columns_are_dates_in_pandas(tiny_run, tmp_path):
    frame = tiny_run.monthly.to_pandas()
    assert pd.api.types.is_datetime64_any_dtype(frame["date"])
    assert frame["date"].iloc[0] == pd.Timestamp("2021-01-01")
    assert tiny_run.monthly["date"].dtype == object        # the Table itself keeps the CSV's ISO text
    # a sweep's monthly parts, read back by sim.load_results as pandas
    spec = {"base": str(ROOT / "configs" / "achterhoek.yaml"), "overrides": TINY, "regimes": ["product"],
            "replications": 1, "seed": 1, "outputs": ["monthly"]}
    res = sim.run_sweep(spec, tmp_path / "sweep", executor="serial", progress=False)
    assert pd.api.types.is_datetime64_any_dtype(res.monthly["date"])
    # and a figure draws from the pandas frame as from the Table
    assert figures.time_series(res.monthly).axes


def _outputs(nb) -> list[dict]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]


def _has_kernel() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("nbclient", "nbformat", "ipykernel"))


def test_the_quickstart_notebook_runs_and_shows_a_table_and_figures(tmp_path):
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code"), "commit the notebook without outputs"
    if not _has_kernel():
        _run_in_process(cells, tmp_path)
        return
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",     # the kernel imports this checkout's sim
                            resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any('class="caresim-table"' in h and "care_within_14w_share" in h for h in html)
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2           # the two figures
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "expertise - product [95% CI]" in text and "datetime64" in text
    assert "fewer than 5" in text                                               # two replications: warned
    assert list(tmp_path.iterdir()) == []                                       # shown, not written


def _run_in_process(cells: list[dict], where: Path) -> None:
    """The notebook's code cells, magics left out, in one namespace."""
    here = os.getcwd()
    os.chdir(where)
    try:
        ns: dict = {}
        for cell in cells:
            if cell["cell_type"] == "code":
                code = "".join(cell["source"])
                exec("\n".join(line for line in code.splitlines() if not line.startswith("%")), ns)
        assert isinstance(ns["cmp"].table, sim.Table)
    finally:
        os.chdir(here)


def test_without_a_kernel_the_code_cells_run_in_process(tmp_path):
    """The fallback (no nbclient or ipykernel): the same cells, magics left out, in this process."""
    _run_in_process(json.loads(NOTEBOOK.read_text())["cells"], tmp_path)
    assert list(tmp_path.iterdir()) == []
