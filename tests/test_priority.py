"""Verification of urgency against non-preemptive priority queueing theory.

The verification config (configs/verification/mmc.yaml) with a share p = 0.3 of
urgent youths (``demand.urgent_share.mild``) is a two-class non-preemptive
priority M/M/c queue: urgent youths are admitted before regular ones, first
come first served within a class, one common care-time distribution. Cobham's
formula (sim.analysis.queueing.mmc_priority_mean_waits) gives each class's mean wait.

One point, c = 2 and rho = 0.8 (Wq urgent 14.0 d, regular 70.2 d, a factor
1/(1-rho) = 5 apart), through experiments/verify_queueing.py's own run_point:
10 replications of 20,000 referrals after a warm-up of 13,459 days, about 6 s
on one core. The 95% t-CIs are then about +-2% (urgent) and +-4-5%
(regular) of the theory, tight enough to be a real check: the CIs must
contain Cobham's waits, lie apart in the right order, and the per-replication
mixture p W_urgent + (1-p) W_regular must cover the FIFO Erlang-C wait (the
conservation law for equal care times). The seeds are fixed, so the test is
deterministic.
"""
from __future__ import annotations


import numpy as np
import pytest

from sim.analysis.queueing import mmc_mean_wait, mmc_priority_mean_waits
from sim.analysis.stats import t_interval

from _load import load_script

C, RHO, SHARE = 2, 0.8, 0.3
CUSTOMERS, REPS = 20_000, 10


vq = load_script("experiments/verify_queueing.py")


@pytest.fixture(scope="module")
def per_class():
    """Per replication: the mean wait of each class and their counts (fixed seeds)."""
    cfg, lam, _warm = vq.point_config(C, RHO, vq.CARE_MEAN_DAYS, CUSTOMERS, SHARE)
    urgent_means, regular_means, mixed = [], [], []
    for r in range(REPS):
        ep, warm_end = vq.episodes(cfg, "product", vq.replication_seed(1, vq.point_key(C, RHO) + r))
        start = ep["care_start"].astype(float)
        sel = np.isfinite(start) & (start >= warm_end)
        wait = start - ep["referral_time"].astype(float)
        urgent = ep["urgent"].astype(bool)
        urgent_means.append(wait[sel & urgent].mean())
        regular_means.append(wait[sel & ~urgent].mean())
        mixed.append(wait[sel].mean())
        # the urgent share realised among the measured youths is p
        assert (sel & urgent).sum() / sel.sum() == pytest.approx(SHARE, abs=0.02)
    return lam, np.array(urgent_means), np.array(regular_means), np.array(mixed)


def test_priority_theory_is_cobham_at_this_point():
    lam = RHO * C / vq.CARE_MEAN_DAYS
    w = mmc_priority_mean_waits([SHARE * lam, (1 - SHARE) * lam], 1 / vq.CARE_MEAN_DAYS, C)
    assert w == pytest.approx([14.035, 70.175], abs=1e-3)
    # conservation: the class waits weighted by arrival shares give the FIFO wait
    assert SHARE * w[0] + (1 - SHARE) * w[1] == pytest.approx(mmc_mean_wait(lam, 1 / vq.CARE_MEAN_DAYS, C))


def test_per_class_waits_match_cobham(per_class):
    lam, urgent, regular, _ = per_class
    theory = mmc_priority_mean_waits([SHARE * lam, (1 - SHARE) * lam], 1 / vq.CARE_MEAN_DAYS, C)
    for name, x, th in (("urgent", urgent, theory[0]), ("regular", regular, theory[1])):
        ci = t_interval(x)
        assert ci.low <= th <= ci.high, (
            f"{name}: Cobham mean wait {th:.3f} d outside the 95% CI [{ci.low:.3f}, {ci.high:.3f}] "
            f"(replication means {np.round(x, 2).tolist()})")
        # the check has teeth: the CI is narrow relative to the wait
        assert ci.half_width < 0.08 * th


def test_urgent_youths_wait_less(per_class):
    _, urgent, regular, _ = per_class
    assert t_interval(urgent).high < t_interval(regular).low
    assert np.all(urgent < regular)
    # theory: regular / urgent = 1 / (1 - rho) = 5 with two classes
    assert regular.mean() / urgent.mean() == pytest.approx(1 / (1 - RHO), rel=0.08)


def test_all_youths_wait_as_in_fifo(per_class):
    """Priority reorders the list but does not change the total work: the mean
    wait over both classes equals the FIFO Erlang-C wait."""
    lam, _, _, mixed = per_class
    ci = t_interval(mixed)
    assert ci.low <= mmc_mean_wait(lam, 1 / vq.CARE_MEAN_DAYS, C) <= ci.high
