"""Figures (sim.present.figures): each draws from tidy tables, writes the requested
formats when given a path and returns the matplotlib figure (also without a
path, as a notebook calls it); bad requests fail with a clear error."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from sim.present import figures
from sim.analysis.stats import paired_differences

from conftest import simulate

REPS = 3


def _stack(kind: str, points=("p0",), overrides_of=lambda p: {}) -> dict:
    """episodes/monthly/runs of the small world for both regimes, REPS seeds,
    with point, regime and replication columns (as sim.load_results gives)."""
    parts = []
    for p in points:
        for rep in range(REPS):
            for regime in ("product", "expertise"):
                res = simulate(overrides_of(p), regime=regime, seed=rep + 1)
                if kind == "runs":
                    cols = {k: np.array([v]) for k, v in res.summary.items()}
                else:
                    cols = getattr(res, kind).to_dict()
                n = len(next(iter(cols.values())))
                parts.append({"point": np.full(n, p), "regime": np.full(n, regime), "replication": np.full(n, rep),
                              **{k: v for k, v in cols.items() if k != "regime"}})
    return {k: np.concatenate([q[k] for q in parts]) for k in parts[0]}


@pytest.fixture(scope="module")
def tables():
    return {k: _stack(k) for k in ("runs", "episodes", "monthly")}


def _png_ok(fig, path, min_w=400, min_h=250):
    """``fig`` is the returned Figure and ``path`` the PNG written from it, not blank."""
    assert isinstance(fig, Figure)
    assert path.exists() and path.suffix == ".png"
    with Image.open(path) as im:
        w, h = im.size
        assert w >= min_w and h >= min_h
        px = np.asarray(im.convert("L"))
        assert px.std() > 10          # not blank


def test_ecdf(tables, tmp_path):
    start = simulate({}, "product", 1).contract_start_day
    p = figures.ecdf_waiting_times(tables["episodes"], tmp_path / "waits.png", contract_start_day=start)
    _png_ok(p, tmp_path / "waits.png")


def test_time_series_both_bands_and_svg(tables, tmp_path):
    p = figures.time_series(tables["monthly"], tmp_path / "series.png", formats=("png", "svg"))
    _png_ok(p, tmp_path / "series.png")
    svg = (tmp_path / "series.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    _png_ok(figures.time_series(tables["monthly"], tmp_path / "series_t.png", band="t",
                                series=("waiting_list",), contract_start="2022-07-01"), tmp_path / "series_t.png")
    with pytest.raises(ValueError):
        figures.time_series(tables["monthly"], tmp_path / "x.png", band="minmax")


def test_forest_relative_and_panels(tables, tmp_path):
    paired = paired_differences(tables["runs"])
    _png_ok(figures.forest_plot(paired, tmp_path / "forest.png"), tmp_path / "forest.png")
    _png_ok(figures.forest_plot(paired, tmp_path / "panels.png", scale="panels",
                                metrics=["wait_mean_weeks", "care_cost_eur_per_year", "goal_attained_rate"]), tmp_path / "panels.png")


def test_cost_breakdown_with_care_parts(tables, tmp_path):
    _png_ok(figures.cost_breakdown(tables["runs"], tmp_path / "costs.png", monthly=tables["monthly"]),
            tmp_path / "costs.png")
    _png_ok(figures.cost_breakdown(tables["runs"], tmp_path / "costs_plain.png"), tmp_path / "costs_plain.png")


def test_response_curve_numeric_and_categorical(tmp_path):
    key = "regimes.expertise.contracted_providers"
    runs = _stack("runs", points=("a", "b"), overrides_of=lambda p: {} if p == "a" else {key: 30})
    runs[key] = np.where(runs["point"] == "a", 20, 30)      # the small world contracts 20
    _png_ok(figures.response_curve(runs, tmp_path / "resp.png", factor=key,
                                   metrics=["wait_mean_weeks", "care_cost_eur_per_year"]), tmp_path / "resp.png")
    runs["mechanisms.budget_ceiling"] = np.where(runs["point"] == "a", "true", "false")
    _png_ok(figures.response_curve(runs, tmp_path / "resp_cat.png", factor="mechanisms.budget_ceiling",
                                   difference=False), tmp_path / "resp_cat.png")
    # two points in one table: the per-point figures ask which one
    with pytest.raises(ValueError, match="point="):
        figures.cost_breakdown(runs, tmp_path / "x.png")
    _png_ok(figures.cost_breakdown(runs, tmp_path / "costs_b.png", point="b"), tmp_path / "costs_b.png")
    # forest plot of two points side by side
    _png_ok(figures.forest_plot(paired_differences(runs), tmp_path / "forest2.png"), tmp_path / "forest2.png")


def test_morris(tmp_path):
    rng = np.random.default_rng(0)
    names = [f"factor.{i}" for i in range(8)]
    morris = {"factor": np.array(names * 2), "output": np.array(["wait_mean_weeks"] * 8 + ["care_cost_eur_per_year"] * 8),
              "mu_star": rng.uniform(0, 5, 16), "sigma": rng.uniform(0, 4, 16), "mu_star_conf": rng.uniform(0, 1, 16)}
    _png_ok(figures.morris_plot(morris, tmp_path / "morris.png"), tmp_path / "morris.png")
    single = {k: v[:8] for k, v in morris.items() if k != "output"}
    _png_ok(figures.morris_plot(single, tmp_path / "morris1.png", formats=["png"]), tmp_path / "morris1.png")
    with pytest.raises(KeyError):
        figures.morris_plot({"factor": np.array(["a"]), "mu": np.array([1.0])}, tmp_path / "bad.png")


def test_metric_labels_have_units():
    assert figures.metric_label("wait_mean_weeks") == "Mean wait (weeks)"
    assert figures.metric_label("some_new_metric") == "Some new metric"
    from sim.model.metrics import METRICS, SERIES
    for name in list(METRICS) + list(SERIES):
        assert figures.metric_label(name) != name.replace("_", " ").capitalize(), name


def test_waterfall_from_attribution_rows_and_table(tmp_path):
    rows = [{"metric": "care_cost_eur_per_year", "feature": f, "label": f.title(), "shapley": v, "ci_low": v - 1e6,
             "ci_high": v + 1e6, "one_at_a_time": v * 1.2} for f, v in (("payment", -8e6), ("dosing", 2e6))]
    rows.append({"metric": "care_cost_eur_per_year", "feature": "total", "label": "all", "shapley": -6e6,
                 "ci_low": -9e6, "ci_high": -3e6, "one_at_a_time": -7.2e6})
    other = [{**r, "metric": "wait_mean_weeks"} for r in rows]
    fig = figures.waterfall(rows + other, tmp_path / "w.png", "care_cost_eur_per_year")
    _png_ok(fig, tmp_path / "w.png")
    cols = {k: np.array([r[k] for r in rows]) for k in rows[0]}     # a table (dict of columns) works too
    _png_ok(figures.waterfall(cols, tmp_path / "w2.png", "care_cost_eur_per_year"), tmp_path / "w2.png")
    with pytest.raises(ValueError, match="no 'total' row"):
        figures.waterfall(rows[:2], tmp_path / "w3.png", "care_cost_eur_per_year")   # no total row


def test_uncertainty_plot(tmp_path):
    rng = np.random.default_rng(2)
    d = rng.normal(-5, 2, size=200)
    drivers = [(f"parameter {i}", float(r)) for i, r in enumerate(rng.uniform(-1, 1, size=14))]
    _png_ok(figures.uncertainty_plot(d, drivers, tmp_path / "u.png", "wait_total_mean_weeks"),
            tmp_path / "u.png")


def test_yearly_differences(tmp_path):
    rows = {"regime": [], "replication": [], "contract_year": [], "wait_mean_weeks": [], "care_cost_eur_per_year": []}
    for rep in range(4):
        for y in range(3):
            for reg, shift in (("product", 0.0), ("expertise", -2.0 - y)):
                rows["regime"].append(reg)
                rows["replication"].append(rep)
                rows["contract_year"].append(y)
                rows["wait_mean_weeks"].append(10 + rep + shift + 0.1 * rep * y)
                rows["care_cost_eur_per_year"].append(7e7 + 1e6 * shift)
    cols = {k: np.array(v) for k, v in rows.items()}
    _png_ok(figures.yearly_differences(cols, tmp_path / "y.png", ["wait_mean_weeks", "care_cost_eur_per_year"]),
            tmp_path / "y.png")
    with pytest.raises(ValueError, match="none of the metrics"):
        figures.yearly_differences(cols, tmp_path / "z.png", ["goals_per_year"])


def test_without_a_path_a_figure_is_drawn_and_nothing_written(tables, tmp_path, monkeypatch):
    """As a notebook calls them: no path, the Figure back (shown inline), no file anywhere."""
    import io

    monkeypatch.chdir(tmp_path)
    drawn = [figures.time_series(tables["monthly"]), figures.cost_breakdown(tables["runs"]),
             figures.forest_plot(paired_differences(tables["runs"])),
             figures.waterfall([{"metric": "m", "feature": "total", "label": "all", "shapley": -1.0, "ci_low": -2.0,
                                 "ci_high": 0.0, "one_at_a_time": -1.0}], None, "m")]
    for fig in drawn:
        assert isinstance(fig, Figure) and fig.axes
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        with Image.open(buf) as im:
            assert np.asarray(im.convert("L")).std() > 10
    assert list(tmp_path.iterdir()) == []
    assert figures.written(tmp_path / "a.png", ("png", "svg")) == [tmp_path / "a.png", tmp_path / "a.svg"]
