"""The HTML report (sim.present.report): from a sweep store and from a `caresim
compare --out` folder; every image it references exists, every table is
there, nothing is fetched from outside; and it renders in headless chromium
(when /usr/bin/chromium is installed)."""
from __future__ import annotations

import html as html_lib
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import sim
from sim import cli
from sim.errors import StoreError
from sim.files import read_csv
from sim.present.report import load_any, write_report

from _load import load_script
from conftest import ACHTERHOEK, SMALL

FACTOR = "regimes.expertise.contracted_providers"


class Page(HTMLParser):
    """Images, links, table ids, headings and any external references of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.images, self.links, self.tables, self.headings, self.external = [], [], [], [], []
        self.tags = set()
        self._h = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "table":
            self.tables.append(a.get("id"))
        if tag in ("h1", "h2"):
            self._h = ""
        for k in ("src", "href"):
            v = a.get(k) or ""
            if "://" in v or v.startswith("//"):
                self.external.append(v)

    def handle_data(self, data):
        if self._h is not None:
            self._h += data

    def handle_endtag(self, tag):
        if tag in ("h1", "h2") and self._h is not None:
            self.headings.append(self._h.strip())
            self._h = None


def check_page(html: Path) -> Page:
    text = html.read_text(encoding="utf-8")
    page = Page(text)
    assert page.images, "no figures"
    for src in page.images:
        assert not src.startswith("data:") or src.startswith("data:image/")
        if not src.startswith("data:"):
            f = html.parent / src
            assert f.is_file() and f.stat().st_size > 5000, src
    for href in page.links:
        if not href.startswith("#"):
            assert (html.parent / href).is_file(), href
        else:
            assert f'id="{href[1:]}"' in text, href
    assert not page.external, page.external
    assert not page.tags & {"script", "link", "iframe"}
    assert "not drawn" not in text
    assert "meta" in page.tables
    return page


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    """A sweep store: 2 design points x 2 regimes x 2 replications, with episodes and monthly."""
    out = tmp_path_factory.mktemp("sweep")
    overrides = {k: v for k, v in SMALL.items() if k != FACTOR}
    spec = {"name": "report-test", "base": str(ACHTERHOEK), "overrides": overrides,
            "factors": {"grid": {FACTOR: [15, 25]}}, "replications": 2, "seed": 1,
            "outputs": ["episodes", "monthly"]}
    sim.run_sweep(spec, out, executor="serial", progress=False)
    return out


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "cmp"
    sets = [x for k, v in SMALL.items() for x in ("--set", f"{k}={v}")]
    assert cli.main(["compare", str(ACHTERHOEK), "--reps", "3", "--seed", "2", "--out", str(out), *sets]) == 0
    return out


def test_report_of_a_sweep(sweep_dir):
    html = write_report(sweep_dir, formats=("png", "svg"))
    assert html == sweep_dir / "report" / "index.html"
    page = check_page(html)
    res = sim.load_results(sweep_dir)
    points = list(dict.fromkeys(res.runs["point"]))
    assert len(points) == 2
    assert "cross-point-table" in page.tables and "summary-all" in page.tables
    for p in points:
        assert f"comparison-table-{p}" in page.tables
        for kind in ("forest", "costs", "waits", "series", "cost_series"):
            assert f"figures/{kind}_{p}.png" in page.images
            assert (html.parent / "figures" / f"{kind}_{p}.svg").is_file()
    assert f"figures/response_{FACTOR.replace('.', '_')}.png" in page.images
    text = html.read_text()
    assert "report-test" in text and str(res.manifest["git_commit"] or "") in text
    assert "4256348120" in text                                  # replication seeds in the header
    # the tables shown are also written as CSV, one row per point and metric
    paired = read_csv(html.parent / "paired.csv")
    assert set(paired["point"].tolist()) == set(points)
    assert set(paired["n"].tolist()) == {2}
    summary = read_csv(html.parent / "summary.csv")
    assert len(summary["metric"]) == 2 * 2 * len(set(paired["metric"].tolist()))


def test_report_of_a_compare_folder(compare_dir):
    html = write_report(compare_dir)
    page = check_page(html)
    assert "comparison-table" in page.tables and "summary-all" in page.tables
    # time_to_care.csv of caresim compare gives the time-to-care figure
    # and its monthly.csv and (thinned) episodes.csv the waiting list over time and the ECDF of waits
    assert set(page.images) == {"figures/forest_all.png", "figures/costs_all.png",
                                "figures/time_to_care_all.png", "figures/waits_all.png", "figures/series_all.png",
                                "figures/yearly_all.png",      # and yearly.csv the differences per contract year
                                "figures/cost_series_all.png"}
    text = html.read_text()
    assert "caresim compare" in text
    # the comparison agrees with caresim's own comparison.csv
    paired = read_csv(html.parent / "paired.csv")
    own = read_csv(compare_dir / "comparison.csv")
    for m in ("wait_mean_weeks", "care_cost_eur_per_year"):
        i = list(paired["metric"]).index(m)
        j = list(own["metric"]).index(m)
        assert paired["diff_ci_low"][i] == pytest.approx(own["diff_ci_low"][j])
        assert paired["diff_mean"][i] == pytest.approx(own["diff_mean"][j])


def test_report_from_comparison_csv_only_and_failures_and_morris(compare_dir, tmp_path):
    """A folder with only comparison.csv still gives a report (its table); a
    folder whose runs.csv records a failed run lists it and leaves it out; a
    morris.csv adds the Morris plot; out_html puts the report elsewhere."""
    only = tmp_path / "only"
    only.mkdir()
    shutil.copy(compare_dir / "comparison.csv", only)
    shutil.copy(compare_dir / "manifest.json", only)
    page = Page(write_report(only).read_text())
    assert "comparison" in page.tables and not page.images

    failed = tmp_path / "failed"
    failed.mkdir()
    runs = (compare_dir / "runs.csv").read_text().splitlines()
    header = runs[0] + ",error"
    rows = [r + "," for r in runs[1:]]
    bad = runs[1].split(",")
    bad[0] = "7"                                                    # replication 7 of the first regime
    rows.append(",".join(bad) + ',"ValueError: boom, at day 3"')
    (failed / "runs.csv").write_text("\n".join([header, *rows]) + "\n")
    rng = np.random.default_rng(0)
    (failed / "morris.csv").write_text("factor,mu_star,sigma,mu_star_conf\n" + "\n".join(
        f"demand.x{i},{rng.uniform(0, 3):.3f},{rng.uniform(0, 2):.3f},0.2" for i in range(6)) + "\n")
    html = write_report(failed, out_html=tmp_path / "elsewhere" / "r.html")
    page = check_page(html)
    assert "failures-table" in page.tables and "morris-table" in page.tables
    assert "figures/morris.png" in page.images
    assert "ValueError: boom, at day 3" in html.read_text()
    paired = read_csv(html.parent / "paired.csv")
    assert set(paired["n"].tolist()) == {3}                          # the failed run is not paired


def test_load_any_refuses_other_folders(tmp_path):
    with pytest.raises(StoreError, match="no results here"):
        load_any(tmp_path)
    with pytest.raises(StoreError, match="no such results folder"):
        load_any(tmp_path / "nope")


def _render_module():
    return load_script("benchmarks/render_report.py")


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(),
                    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium); "
                           "benchmarks/render_report.py runs the same check by hand")
def test_report_renders_in_headless_chromium(sweep_dir, tmp_path):
    html = sweep_dir / "report" / "index.html"
    if not html.exists():
        write_report(sweep_dir)
    mod = _render_module()
    png = mod.screenshot(html, tmp_path / "shot.png", width=1200, height=4000, chromium="/usr/bin/chromium")
    ok, detail = mod.looks_rendered(png, 1200, 4000)
    assert ok, detail


def test_tables_say_which_youths_count_and_warn_on_few_pairs(compare_dir, sweep_dir):
    """Every metric row carries its definition (which youths it counts); a table
    whose intervals rest on fewer than 5 pairs is preceded by a warning."""
    from sim.model.metrics import METRICS
    text = write_report(compare_dir).read_text()      # 3 pairs
    assert text.count('class="warn"') >= 2 and "Only 3 pairs" in text
    for m in ("care_within_14w_share", "wait_total_mean_weeks"):
        assert html_lib.escape(METRICS[m].description) in text
    text = write_report(sweep_dir).read_text()        # 2 pairs per point
    assert "Only 2 pairs" in text


def test_no_warning_with_enough_pairs():
    from sim.present.report import MIN_PAIRS, _few
    assert _few([MIN_PAIRS, 10], "pairs", "x") == ""
    assert "Only 4 pairs" in _few([4, 10], "pairs", "x")


def test_compare_writes_months_and_thinned_episodes(compare_dir):
    """monthly.csv holds every run's months; episodes.csv at most the default
    2000 evenly spaced records of each run (the manifest says so)."""
    import json
    mo = read_csv(compare_dir / "monthly.csv", ("regime",))
    ep = read_csv(compare_dir / "episodes.csv", ("regime", "record_type"))
    runs = read_csv(compare_dir / "runs.csv", ("regime",))
    assert len(runs["regime"]) == 6
    for reg in ("product", "expertise"):
        for rep in range(3):
            sel = (mo["regime"] == reg) & (mo["replication"] == rep)
            assert sel.sum() == 42                      # 3.5 years of months, every run
            assert 0 < ((ep["regime"] == reg) & (ep["replication"] == rep)).sum() <= 2000
    assert json.loads((compare_dir / "manifest.json").read_text())["episodes_per_run"] == 2000


def test_thin_keeps_evenly_spaced_rows():
    from sim.experiment.compare import thin
    cols = {"a": np.arange(10_001), "b": np.arange(10_001) * 2}
    t = thin(cols, 100)
    assert len(t["a"]) == 100 and t["a"][0] == 0 and t["a"][-1] == 10_000
    assert np.all(np.diff(t["a"]) >= 100) and np.array_equal(t["b"], t["a"] * 2)
    assert len(thin(cols, None)["a"]) == 10_001 and len(thin(cols, 0)["a"]) == 0
    assert len(thin({"a": np.arange(5)}, 100)["a"]) == 5


def test_report_draws_the_attribution_and_the_psa(sweep_dir, tmp_path):
    """A folder with experiments/mechanisms.py's and experiments/uncertainty.py's
    tables gets their sections: a waterfall per metric and the attribution and
    interaction tables; the PSA table and an ECDF-with-tornado figure per metric."""
    from sim.files import write_csv
    d = tmp_path / "exp"
    shutil.copytree(sweep_dir, d, ignore=shutil.ignore_patterns("report"))
    rows = []
    for m in ("wait_mean_weeks", "care_cost_eur_per_year"):
        for f, v in (("administration", -3.0), ("routing", -1.0)):
            rows.append({"metric": m, "feature": f, "label": f.title(), "shapley": v, "ci_low": v - 1, "ci_high": v + 1,
                         "one_at_a_time": v * 1.5, "oat_ci_low": v - 2, "oat_ci_high": v + 2, "n": 10})
        rows.append({"metric": m, "feature": "total", "label": "All", "shapley": -4.0, "ci_low": -5.0, "ci_high": -3.0,
                     "one_at_a_time": -6.0, "oat_ci_low": float("nan"), "oat_ci_high": float("nan"), "n": 10})
    write_csv(d / "attribution.csv", {k: [r[k] for r in rows] for k in rows[0]})
    write_csv(d / "interactions.csv", {"metric": ["wait_mean_weeks"], "feature_a": ["administration"],
                                       "feature_b": ["routing"], "interaction": [0.5], "ci_low": [0.1],
                                       "ci_high": [0.9], "n": [10]})
    rng = np.random.default_rng(0)
    write_csv(d / "psa_summary.csv", {"metric": ["wait_mean_weeks"], "mean": [-5.0], "p05": [-8.0], "p95": [-2.0],
                                      "prob_expertise_better": [1.0], "sets": [50]})
    write_csv(d / "psa_sets.csv", {"set": list(range(50)), "wait_mean_weeks": list(rng.normal(-5, 2, 50))})
    write_csv(d / "prcc.csv", {"metric": ["wait_mean_weeks"] * 2, "parameter": ["a.b", "c.d"],
                               "label": ["first", "second"], "prcc": [0.8, -0.3], "p_value": [0.001, 0.2]})
    html = write_report(d)
    page = check_page(html)
    assert {"attribution-table", "interactions-table", "psa-table"} <= set(page.tables)
    for name in ("waterfall_wait_mean_weeks", "waterfall_care_cost_eur_per_year", "psa_wait_mean_weeks"):
        assert f"figures/{name}.png" in page.images


def test_attribution_on_few_replications_is_flagged(tmp_path):
    """Two paired replications behind a Shapley table: the section says so."""
    from sim.files import write_csv
    d = tmp_path / "exp"
    d.mkdir()
    rows = [{"metric": "wait_total_mean_weeks", "feature": f, "label": f, "shapley": v, "ci_low": v - 9,
             "ci_high": v + 9, "one_at_a_time": v, "oat_ci_low": v - 9, "oat_ci_high": v + 9, "n": n}
            for f, v, n in (("administration", -3.0, 2), ("total", -3.0, 2))]
    write_csv(d / "attribution.csv", {k: [r[k] for r in rows] for k in rows[0]})
    write_csv(d / "comparison.csv", {"metric": ["wait_total_mean_weeks"], "diff_mean": [-3.0]})
    text = write_report(d).read_text()
    i = text.index('id="attribution"')
    assert "Only 2 paired replications behind the intervals of the attribution" in text[i:]
    assert '<div class="wrap"><table id="attribution-table">' in text
