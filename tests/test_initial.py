"""A preloaded initial state (``timeline.initial_state: preloaded``): the
snapshot file ``caresim preload`` writes, its checks, and runs that start from
it (``sim.model.initial``). All on the tiny region: a run takes under a second."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli import main, preload_config
from sim.errors import ConfigError
from sim.experiment.provenance import provenance
from sim.files import pandas_options, read_csv, write_csv
from sim.model import initial
from sim.model.initial import read_snapshot, state_counts, write_snapshot
from sim.run import build_model

from conftest import ACHTERHOEK, TINY, col, columns_equal, differing_columns

SNAPSHOT_YEARS = 6
SNAPSHOT_SEED = 3


def _preloaded(path: Path, **extra) -> sim.Config:
    return sim.load_config(ACHTERHOEK, overrides={**TINY, "timeline.initial_state": "preloaded",
                                                  "timeline.preload": str(path), **extra})


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A snapshot of the tiny region's status quo after six years, and the model it came from."""
    cfg = preload_config(str(ACHTERHOEK), TINY, SNAPSHOT_YEARS)
    m = build_model(cfg, "product", SNAPSHOT_SEED)
    m.run(close=False)
    path = write_snapshot(tmp_path_factory.mktemp("preload") / "snapshot.csv", m.snapshot_state())
    return path, m


@pytest.fixture(scope="module")
def pre_cfg(written) -> sim.Config:
    return _preloaded(written[0])


# --------------------------------------------------------------------------- the file
def test_preload_config_runs_the_status_quo_from_empty():
    cfg = preload_config(str(ACHTERHOEK), {**TINY, "timeline.initial_state": "preloaded",
                                           "timeline.preload": "/no/such/file.csv"}, 30)
    tl = cfg.timeline
    assert tl.initial_state == "empty" and tl.preload is None
    assert tl.start.isoformat() == TINY["timeline.start"]
    assert (tl.end.year - tl.start.year, tl.end.month, tl.end.day) == (30, tl.start.month, tl.start.day)
    assert (tl.end - tl.contract_start).days == 1          # no switch, no growth before the snapshot


def test_snapshot_holds_every_youth_in_the_system(written):
    path, m = written
    raw = read_csv(path, text=initial.TEXT)
    assert tuple(raw) == initial.columns()
    counts = state_counts(raw["state"])
    assert counts["in_care"] == m.n_in_care > 0
    assert counts["waiting"] == m.n_waiting > 0
    pending = sum(1 for ep in m.active.values() if ep.end_state is initial.PENDING_DROPOUT)
    assert sum(counts.values()) == len(m.active) - pending
    # times are relative to the snapshot; codes are names
    assert (raw["referral_time"] <= 0).all()
    assert set(raw["municipality"]) <= set(m.catalogue.municipalities)
    in_care = raw["state"] == "in_care"
    assert (raw["seg_units"][in_care] > 0).all() and (raw["seg_days_left"][in_care] >= 0).all()
    assert np.isnan(raw["seg_units"][~in_care]).all()


def test_snapshot_reads_in_pandas(written):
    pd = pytest.importorskip("pandas")
    path, _ = written
    df = pd.read_csv(path, **pandas_options(initial.TEXT))
    raw = read_csv(path, text=initial.TEXT)
    assert list(df.columns) == list(raw) and len(df) == len(raw["state"])
    assert np.array_equal(df["need_intensity"].to_numpy(), raw["need_intensity"])


def test_read_snapshot_codes_the_file(written, pre_cfg):
    snap = read_snapshot(pre_cfg)
    n = len(snap["state"])
    assert snap["municipality"].dtype.kind == "i" and snap["municipality"].max() < len(pre_cfg.region.municipalities)
    assert set(np.unique(snap["state"])) <= set(range(len(initial.STATES)))
    assert ((snap["product"] >= -1) & (snap["secondary"] >= -1)).all()
    assert all(len(v) == n for v in snap.values())


# --------------------------------------------------------------------------- loading
def test_loaded_state_reproduces_the_snapshot_counts(written, pre_cfg):
    path, _ = written
    counts = state_counts(read_csv(path, text=initial.TEXT)["state"])
    total = sum(counts.values())
    for seed in (1, 2):
        m = build_model(pre_cfg, "product", seed)
        m.run()
        loaded = m.preloaded
        assert {k: loaded[k] for k in counts} == counts     # stratified: each state's count exactly
        t, _, waiting, assessing, in_care = m.monthly._snaps[0][:5]
        assert t == 0.0
        assert waiting + assessing + in_care == total      # nobody is lost at day 0
        # youths in care for whom no provider had room wait; free room admits waiting youths
        assert abs(in_care - counts["in_care"]) <= 0.25 * counts["in_care"]
        assert in_care >= counts["in_care"] - loaded["displaced"]


def test_loaded_youths_are_referred_before_day_0(pre_cfg, written):
    res = sim.run(pre_cfg, "product", seed=4)
    ep = res.episodes
    before = col(ep, "referral_time") < 0
    counts = state_counts(read_csv(written[0], text=initial.TEXT)["state"])
    assert before.sum() == sum(counts.values())          # one record each (their re-referrals come after day 0)
    assert len(np.unique(col(ep, "youth_id")[before])) == before.sum()
    started = before & ~np.isnan(col(ep, "care_start"))
    assert (col(ep, "care_start")[started] < res.end_day).all()
    assert np.isfinite(col(ep, "wait_days")[started]).all()
    # the summary over the horizon is computed as usual
    assert res.summary["referrals"] > 0 and np.isfinite(res.summary["mean_waiting_list"])


def test_fresh_identities_and_fates(pre_cfg):
    m = build_model(pre_cfg, "product", 7)
    initial.load_initial_state(m)
    eps = list(m.active.values())
    assert len({e.youth_id for e in eps}) == len(eps) == len({e.uid for e in eps})
    fates = np.array([[getattr(e, f) for f in initial.FATE_FIELDS if f not in ("u_shift", "u_shift_at")]
                      for e in eps])
    assert len(np.unique(fates, axis=0)) == len(eps)       # duplicates of a stored youth do not share fates
    assert all(e.referral_time <= 0 for e in eps)


def test_same_seed_same_run(pre_cfg):
    a, b = sim.run(pre_cfg, "product", seed=5), sim.run(pre_cfg, "product", seed=5)
    assert differing_columns(a.episodes, b.episodes) == []
    assert differing_columns(a.monthly, b.monthly) == []
    assert a.summary.keys() == b.summary.keys()
    assert all(columns_equal(np.array([a.summary[k]]), np.array([b.summary[k]])) for k in a.summary)
    c = sim.run(pre_cfg, "product", seed=6)
    assert differing_columns(a.episodes, c.episodes)


def test_both_regimes_share_the_preloaded_history(pre_cfg):
    from test_crn import assert_common_history

    p, e = sim.run(pre_cfg, "product", seed=2), sim.run(pre_cfg, "expertise", seed=2)
    assert_common_history(p, e)
    loaded = col(p.episodes, "referral_time") < 0
    assert loaded.sum() > 0
    assert columns_equal(np.sort(col(p.episodes, "youth_id")[loaded]),
                         np.sort(col(e.episodes, "youth_id")[col(e.episodes, "referral_time") < 0]))


@pytest.mark.parametrize("regime", ["product", "expertise"])
def test_invariants_hold_from_a_preloaded_state(pre_cfg, regime):
    sim.run(pre_cfg, regime, seed=3, check_invariants=True)


def test_invariants_hold_when_capacity_is_short(written):
    """A snapshot from a larger region into a smaller one: many youths in care find no room."""
    cfg = _preloaded(written[0], **{"providers.total_staff_hours_per_week": 1200})
    m = build_model(cfg, "product", 1, check_invariants=True)
    m.run()
    assert m.preloaded["displaced"] > 0


def test_an_empty_start_draws_nothing_from_the_initial_stream():
    cfg = sim.load_config(ACHTERHOEK, overrides=TINY)
    m = build_model(cfg, "product", 1)
    m.run()
    assert not hasattr(m, "preloaded")
    fresh = build_model(cfg, "product", 1)
    assert m.streams.initial.random() == fresh.streams.initial.random()


def test_warmup_reports_the_waiting_list_settled(written):
    from sim.experiment.warmup import warmup_analysis

    over = {"timeline.end": "2024-01-01"}         # 12 months of warm-up, 36 monthly observations
    a = warmup_analysis(_preloaded(written[0], **over), replications=4, seed=1)
    s = a["series"]["waiting_list"]
    assert s["long_enough"] and not s["at_boundary"]


# --------------------------------------------------------------------------- provenance
def test_manifest_has_the_preload_checksum(written, pre_cfg):
    block = provenance(pre_cfg)
    assert block["preload"] == {"path": str(written[0]),
                                "sha256": hashlib.sha256(written[0].read_bytes()).hexdigest()}
    assert "preload" not in provenance(sim.load_config(ACHTERHOEK, overrides=TINY))


# --------------------------------------------------------------------------- bad configs
def _one_line(err: Exception) -> str:
    text = str(err)
    assert "\n" not in text
    return text


def test_preloaded_needs_a_file():
    with pytest.raises(ConfigError) as exc:
        sim.load_config(ACHTERHOEK, overrides={**TINY, "timeline.initial_state": "preloaded"})
    assert _one_line(exc.value).startswith("timeline.preload: missing")


@pytest.mark.parametrize("key, value", [("timeline.preload", "FILE"),        # empty refuses a file
                                        ("timeline.initial_state", "full")])  # an unknown initial state
def test_bad_initial_state_is_one_line_naming_the_key(written, key, value):
    with pytest.raises(ConfigError) as exc:
        sim.load_config(ACHTERHOEK, overrides={**TINY, key: str(written[0]) if value == "FILE" else value})
    assert _one_line(exc.value).startswith(key + ":")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as exc:
        _preloaded(tmp_path / "nope.csv")
    msg = _one_line(exc.value)
    assert msg.startswith("timeline.preload: cannot read") and "nope.csv" in msg


def test_relative_path_is_read_from_the_config_folder(tmp_path, written):
    folder = tmp_path / "region"
    folder.mkdir()
    text = ACHTERHOEK.read_text().replace("preload: achterhoek-preload.csv", "preload: data/snap.csv")
    assert "preload: data/snap.csv" in text
    (folder / "region.yaml").write_text(text)
    (folder / "data").mkdir()
    (folder / "data" / "snap.csv").write_bytes(written[0].read_bytes())
    small = {k: v for k, v in TINY.items() if not k.startswith(("timeline.initial_state", "timeline.preload"))}
    cfg = sim.load_config(folder / "region.yaml", overrides=small)
    assert cfg.timeline.preload == str((folder / "data" / "snap.csv").resolve())
    assert len(read_snapshot(cfg)["state"]) > 0


def _broken(tmp_path, written, change) -> Path:
    raw = read_csv(written[0], text=initial.TEXT)
    change(raw)
    return write_csv(tmp_path / "broken.csv", raw)


@pytest.mark.parametrize("change, says", [
    (lambda r: r.pop("seg_days_left"), "missing column 'seg_days_left'"),
    (lambda r: r["state"].__setitem__(0, "asleep"), "column 'state': got 'asleep'"),
    (lambda r: r["municipality"].__setitem__(1, "Atlantis"), "column 'municipality': got 'Atlantis'"),
    (lambda r: r["need_intensity"].__setitem__(0, -1.0), "column 'need_intensity'"),
    (lambda r: r.__setitem__("urgent", np.array(["maybe"] * len(r["urgent"]), dtype=object)), "column 'urgent'"),
    (lambda r: r["referral_time"].__setitem__(0, 5.0), "column 'referral_time'"),
    (lambda r: r["product"].__setitem__(0, "no/such/product"), "column 'product'"),
])
def test_bad_file_contents(tmp_path, written, change, says):
    path = _broken(tmp_path, written, change)
    cfg = _preloaded(path)                  # readable: load_config accepts it, the contents are checked on use
    with pytest.raises(ConfigError) as exc:
        read_snapshot(cfg)
    msg = _one_line(exc.value)
    assert msg.startswith(f"timeline.preload: {path}") and says in msg
    with pytest.raises(ConfigError):
        sim.run(cfg, "product", seed=1)


def test_a_rewritten_file_reads(tmp_path, written):
    path = _broken(tmp_path, written, lambda r: None)
    assert len(read_snapshot(_preloaded(path))["state"]) == len(read_snapshot(_preloaded(written[0]))["state"])


def test_an_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text(",".join(initial.columns()) + "\n")
    with pytest.raises(ConfigError) as exc:
        read_snapshot(_preloaded(path))
    assert "no youths" in _one_line(exc.value)


# --------------------------------------------------------------------------- the command line
def _sets(overrides) -> list[str]:
    out = []
    for k, v in overrides.items():
        out += ["--set", f"{k}={v}"]
    return out


def test_cli_preload_writes_the_file(tmp_path, capsys):
    out = tmp_path / "snaps" / "tiny.csv"
    code = main(["preload", str(ACHTERHOEK), *_sets(TINY), "--years", "3", "--seed", "2", "--out", str(out)])
    assert code == 0
    assert out.exists() and Path(f"{out}.json").exists()
    meta = json.loads(Path(f"{out}.json").read_text())
    assert meta["seed"] == 2 and meta["years"] == 3 and meta["regime"] == "product"
    assert meta["file_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert meta["youths"] == sum(meta["states"].values()) == len(read_csv(out)["state"])
    assert "youths in the system" in capsys.readouterr().out
    # and a config can start from it
    assert main(["check", str(ACHTERHOEK), *_sets(TINY), "--set", "timeline.initial_state=preloaded",
                 "--set", f"timeline.preload={out}"]) == 0


def test_cli_preload_user_errors(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["preload", str(ACHTERHOEK), *_sets(TINY), "--years", "1", "--out", str(blocker / "x.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("caresim: error: --out") and "\n" not in err
    assert main(["preload", str(ACHTERHOEK), "--years", "0", "--out", str(tmp_path / "y.csv")]) == 2
    assert main(["preload", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "y.csv")]) == 2


def test_cli_refuses_a_bad_snapshot_before_running(tmp_path, written, capsys):
    path = _broken(tmp_path, written, lambda r: r.pop("state"))
    code = main(["check", str(ACHTERHOEK), *_sets(TINY), "--set", "timeline.initial_state=preloaded",
                 "--set", f"timeline.preload={path}"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("caresim: error: timeline.preload:") and "missing column 'state'" in err


def test_a_sweep_records_the_snapshot_and_its_hash_follows_the_contents(tmp_path, written):
    """A sweep point that starts preloaded names its snapshot (path and sha256) in
    the manifest, and a new snapshot under the same name changes the point's
    config hash (a resume then refuses the old store)."""
    from sim.experiment.spec import config_hash
    from sim.experiment.sweep import build_manifest
    from sim.experiment.spec import resolve
    snap = tmp_path / "snap.csv"
    snap.write_bytes(written[0].read_bytes())
    over = {**TINY, "timeline.initial_state": "preloaded", "timeline.preload": str(snap)}
    sweep = resolve({"base": str(ACHTERHOEK), "overrides": over, "replications": 1})
    manifest = build_manifest(sweep, "csv", None, None)
    pre = manifest["points"][0]["preload"]
    assert pre["path"] == str(snap) and len(pre["sha256"]) == 64
    before = config_hash(sweep.points[0].config)
    snap.write_bytes(snap.read_bytes() + b"\n")
    assert config_hash(sweep.points[0].config) != before
