"""Verification against queueing theory: the degenerate configuration
(configs/verification/mmc.yaml) is an M/M/c queue, so its simulated mean wait
must agree with the Erlang-C mean wait (sim.analysis.queueing.mmc_mean_wait).

A small, fast case for CI: per regime, 10 replications of a 200-year horizon
(about 9,700 referrals each; CI half-width about 1.8 days, 11% of Wq). Few long
runs rather than many short ones: a run's mean wait is right-skewed and the
start from empty biases short runs, and with 20 runs of 100 years the t-CI
covered Erlang C only 92% of the time in a plain M/M/c, against 96% here. The
seeds are fixed, so the test is deterministic. The wider grid over
utilisation and c belongs to a later issue.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pytest
from scipy import stats

import sim
from sim.config import MECHANISMS, load_config
from sim.units import DAYS_PER_YEAR
from sim.analysis.queueing import erlang_c, mmc_mean_wait, mmc_utilisation

from _load import load_script

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "verification" / "mmc.yaml"
REGIMES = ("product", "expertise")
REPLICATIONS = 10
SEEDS = range(1, REPLICATIONS + 1)
HORIZON = {"timeline.end": "2201-01-01"}  # 1-year warm-up + 200-year horizon


def column(table, name: str) -> np.ndarray:
    """A column of a result table (an object with ``.columns``, a mapping, or ``.to_dict()``)."""
    cols = getattr(table, "columns", None)
    if isinstance(cols, Mapping):
        return np.asarray(cols[name])
    if isinstance(table, Mapping):
        return np.asarray(table[name])
    return np.asarray(table.to_dict()[name])


def queue_parameters(cfg) -> tuple[float, float, int]:
    """(lam per day, mu per day, c places) that the config describes."""
    form = cfg.care_forms["service"]
    lam = cfg.demand.first_referrals_per_year / DAYS_PER_YEAR
    mu = 1.0 / form.need_duration.mean()
    places = cfg.providers.total_staff_hours_per_week / (form.need_intensity.mean() * form.staff_hours_per_unit)
    assert float(places).is_integer(), f"c must be a whole number of places, got {places}"
    return lam, mu, int(places)


def waits_after_warmup(res) -> np.ndarray:
    """Waits (referral to care start, days) of episodes whose care started after the warm-up."""
    start = column(res.episodes, "care_start").astype(float)
    referral = column(res.episodes, "referral_time").astype(float)
    started = np.isfinite(start) & (start >= res.contract_start_day)
    return start[started] - referral[started]


def t_interval(x, level: float = 0.95) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return x.mean() - half, x.mean() + half


# --------------------------------------------------------------------------- the config itself (no model needed)
def test_verification_config_describes_mm5_at_rho_08():
    cfg = load_config(CONFIG)
    lam, mu, c = queue_parameters(cfg)
    assert c == 5
    assert 1.0 / mu == 30.0
    assert mmc_utilisation(lam, mu, c) == pytest.approx(0.8, abs=1e-3)
    assert erlang_c(c, lam / mu) == pytest.approx(0.554, abs=1e-3)
    assert mmc_mean_wait(lam, mu, c) == pytest.approx(16.62, abs=0.05)
    # the degenerate case: one of everything, nothing but the queue
    assert cfg.providers.count == 1 and cfg.regimes.expertise.contracted_providers == 1
    assert [s.via_access_team for s in cfg.demand.sources.values()] == [False]
    assert set(cfg.mechanisms) == set(MECHANISMS) and not any(cfg.mechanisms.values())
    assert cfg.care_forms["service"].need_duration.dist == "exponential"
    assert cfg.care_forms["service"].need_intensity.dist == "fixed"
    assert cfg.demand.seasonality_amplitude == 0 and cfg.demand.growth_per_year == 0
    assert cfg.regimes.product.admin.overhead_share == 0 and cfg.regimes.expertise.admin.overhead_share == 0
    assert cfg.rereferral.after_goal == cfg.rereferral.after_no_goal == cfg.rereferral.after_dropout == 0


def test_documented_overrides_set_the_queue():
    cfg = load_config(
        CONFIG,
        overrides={
            "demand.first_referrals_per_year": 97.4,
            "care_forms.service.need_duration.mean": 15,
            "providers.total_staff_hours_per_week": 3,
        },
    )
    lam, mu, c = queue_parameters(cfg)
    assert (lam * DAYS_PER_YEAR, 1 / mu, c) == (pytest.approx(97.4), 15.0, 3)


# --------------------------------------------------------------------------- the model against Erlang C
@pytest.mark.parametrize("regime", REGIMES)
def test_mean_wait_matches_erlang_c(regime):
    cfg = load_config(CONFIG, overrides=HORIZON)
    lam, mu, c = queue_parameters(cfg)
    theory = mmc_mean_wait(lam, mu, c)
    means = []
    for seed in SEEDS:
        res = sim.run(cfg, regime=regime, seed=seed)
        waits = waits_after_warmup(res)
        assert waits.size > 0.8 * lam * (cfg.timeline.end_day - cfg.timeline.contract_start_day)
        assert np.all(waits >= 0)
        means.append(waits.mean())
    low, high = t_interval(means)
    assert low <= theory <= high, (
        f"{regime}: Erlang-C mean wait {theory:.3f} d outside the simulated 95% CI "
        f"[{low:.3f}, {high:.3f}] (replication means {np.round(means, 2).tolist()})"
    )


@pytest.mark.parametrize("regime", REGIMES)
def test_ample_capacity_gives_zero_waits(regime):
    cfg = load_config(CONFIG, overrides={"timeline.end": "2021-01-01", "providers.total_staff_hours_per_week": 200})
    res = sim.run(cfg, regime=regime, seed=1)
    start = column(res.episodes, "care_start").astype(float)
    referral = column(res.episodes, "referral_time").astype(float)
    assert len(res.episodes) > 0.8 * queue_parameters(cfg)[0] * cfg.timeline.end_day
    assert np.all(np.isfinite(start)), "with 200 places for an offered load of 4 nobody should still be waiting"
    assert not np.any(column(res.episodes, "record_type") == "waiting_at_end")
    np.testing.assert_allclose(start - referral, 0.0, atol=1e-9)


# --------------------------------------------------------------------------- experiments/verify_queueing.py
def _verify_script():
    return load_script("experiments/verify_queueing.py")


@pytest.mark.parametrize("c, rho", [(1, 0.9), (10, 0.7), (20, 0.5)])
def test_verify_script_sets_the_queue(c, rho):
    """The grid script's config is the M/M/c queue it claims: c places, care mean
    30 d, lam = rho c / 30, a warm-up by the stated rule, and a horizon that
    holds the requested number of referrals."""
    vq = _verify_script()
    cfg, lam, warm = vq.point_config(c, rho, 30.0, 10_000)
    lam_cfg, mu, places = queue_parameters(cfg)
    assert places == c and 1 / mu == pytest.approx(30.0)
    assert lam_cfg == pytest.approx(lam) and mmc_utilisation(lam_cfg, mu, c) == pytest.approx(rho)
    tl = cfg.timeline
    assert tl.contract_start_day == warm >= 30.0 * max(20 / (1 - rho), 10 / (c * (1 - rho ** 0.5) ** 2))
    assert lam * (tl.end_day - tl.contract_start_day) == pytest.approx(10_000, abs=lam)
    assert not any(cfg.mechanisms.values()) and cfg.demand.urgent_share["mild"] == 0.0
    assert vq.point_config(c, rho, 30.0, 10_000, urgent_share=0.3)[0].demand.urgent_share["mild"] == 0.3


def test_verify_script_json_line(capsys, tmp_path):
    """One point through the command line: a JSON line with the documented keys
    whose verdict agrees with its own interval (fixed seeds, ~1 s)."""
    import json

    vq = _verify_script()
    code = vq.main(["--servers", "2", "--utilisation", "0.5", "--customers", "5000", "--reps", "5", "--json",
                    "--out", str(tmp_path), "--no-progress"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    for key in ("servers", "utilisation", "mean_care_days", "theory_wait_days", "mean_wait_days",
                "ci_low", "ci_high", "inside"):
        assert key in row
    assert (row["servers"], row["utilisation"], row["mean_care_days"]) == (2, 0.5, 30.0)
    assert row["theory_wait_days"] == pytest.approx(10.0)     # M/M/2 at rho 0.5: C = 1/3, Wq = 10 d
    assert row["ci_low"] < row["mean_wait_days"] < row["ci_high"]
    assert row["inside"] == (row["ci_low"] <= row["theory_wait_days"] <= row["ci_high"])
    assert code == (0 if row["inside"] else 1)
