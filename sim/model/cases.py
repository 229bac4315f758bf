"""Latent attributes of referred youths, drawn in numpy blocks at arrival.

Everything that describes a youth's need, and every uniform that later decides
its fate (outcome, patience, deterioration, re-referral), is drawn here from
streams that do not depend on the regime. Both regimes therefore see the very
same youths (common random numbers); the regime only changes what is done
with them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config.schema import SEVERITIES, Config
from ..units import DAYS_PER_YEAR

FIELDS = (
    "municipality", "source", "domain", "secondary", "severity", "urgent", "care_form",
    "need_intensity", "need_duration", "z_assess", "z_judge_i", "z_judge_d", "u_outcome",
    "e_deteriorate", "e_patience", "u_rereferral", "u_rereferral_delay", "u_escalate",
    "u_shift", "u_shift_at",
)


@dataclass(frozen=True)
class Catalogue:
    """Index maps shared by the model: names <-> integer codes."""

    municipalities: tuple[str, ...]
    sources: tuple[str, ...]
    domains: tuple[str, ...]
    care_forms: tuple[str, ...]

    @classmethod
    def of(cls, cfg: Config) -> "Catalogue":
        return cls(
            tuple(cfg.region.municipalities),
            tuple(cfg.demand.sources),
            tuple(cfg.demand.domains),
            tuple(cfg.care_forms),
        )


def _choice(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(probs)
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(probs) - 1)


def draw_cases(cfg: Config, cat: Catalogue, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Draw ``n`` youths' latent attributes; every field in FIELDS, arrays of length n.

    The number and order of draws depend only on ``n`` and the config, never on
    the regime or on what happened in the simulation.
    """
    d = cfg.demand
    out: dict[str, np.ndarray] = {}
    pop = np.array([cfg.region.municipalities[m] for m in cat.municipalities], dtype=float)
    out["municipality"] = _choice(rng, pop, n)
    out["source"] = _choice(rng, np.array([d.sources[s].share for s in cat.sources]), n)
    dom_p = np.array([d.domains[k].share for k in cat.domains])
    out["domain"] = _choice(rng, dom_p, n)
    has_sec = rng.random(n) < d.secondary_domain_share
    nd = len(cat.domains)
    # secondary domain: drawn from the domain mix excluding the primary
    sec = (out["domain"] + 1 + _choice(rng, np.ones(max(nd - 1, 1)), n)) % nd if nd > 1 else np.zeros(n, int)
    out["secondary"] = np.where(has_sec & (nd > 1), sec, -1)
    out["severity"] = _choice(rng, np.array([d.severity[s] for s in SEVERITIES]), n)
    urgent_p = np.array([d.urgent_share[s] for s in SEVERITIES])[out["severity"]]
    out["urgent"] = rng.random(n) < urgent_p
    forms = np.zeros(n, dtype=int)
    u = rng.random(n)
    for k, sev in enumerate(SEVERITIES):
        mix = d.care_form_by_severity[sev]
        p = np.array([mix.get(f, 0.0) for f in cat.care_forms])
        cum = np.cumsum(p) / p.sum()
        sel = out["severity"] == k
        forms[sel] = np.minimum(np.searchsorted(cum, u[sel], side="right"), len(p) - 1)
    out["care_form"] = forms
    ui, ud = rng.random(n), rng.random(n)
    inten = np.empty(n)
    dur = np.empty(n)
    for f, name in enumerate(cat.care_forms):
        sel = forms == f
        cf = cfg.care_forms[name]
        inten[sel] = cf.need_intensity.ppf(ui[sel])
        dur[sel] = cf.need_duration.ppf(ud[sel])
    out["need_intensity"] = np.maximum(inten, 1e-6)
    out["need_duration"] = np.maximum(dur, 1.0)
    z = rng.standard_normal((3, n))
    out["z_assess"], out["z_judge_i"], out["z_judge_d"] = z
    out["u_outcome"] = rng.random(n)
    out["e_deteriorate"] = rng.exponential(1.0, n)
    out["e_patience"] = rng.exponential(1.0, n)
    out["u_rereferral"] = rng.random(n)
    out["u_rereferral_delay"] = rng.random(n)
    out["u_escalate"] = rng.random(n)
    out["u_shift"] = rng.random(n)
    out["u_shift_at"] = rng.uniform(0.25, 0.75, n)
    return out


class CaseSource:
    """Hands out latent case rows one at a time, drawn in blocks from one stream."""

    def __init__(self, cfg: Config, cat: Catalogue, rng: np.random.Generator, block: int = 1024):
        self._cfg, self._cat, self._rng, self._block = cfg, cat, rng, block
        self._rows: list[tuple] = []
        self._i = 0

    def next(self) -> tuple:
        """One youth's attributes as a tuple in FIELDS order."""
        if self._i >= len(self._rows):
            cols = draw_cases(self._cfg, self._cat, self._rng, self._block)
            self._rows = list(zip(*(cols[f].tolist() for f in FIELDS)))
            self._i = 0
        row = self._rows[self._i]
        self._i += 1
        return row


def arrival_times(cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """Referral times (days) of youths new to care over the whole run.

    A non-homogeneous Poisson process (seasonality, growth after the contract
    start) generated in one block by thinning a homogeneous process.
    """
    tl, d = cfg.timeline, cfg.demand
    T = tl.end_day
    base = d.first_referrals_per_year / DAYS_PER_YEAR
    t0 = tl.contract_start_day
    years_after = max(T - t0, 0.0) / DAYS_PER_YEAR
    growth_max = max(1.0, (1.0 + d.growth_per_year) ** years_after)
    lam_max = base * (1.0 + d.seasonality_amplitude) * growth_max
    n = rng.poisson(lam_max * T)
    t = np.sort(rng.uniform(0.0, T, n))
    keep = rng.random(n) * lam_max < arrival_rate(cfg, t)
    return t[keep]


def arrival_rate(cfg: Config, t: np.ndarray) -> np.ndarray:
    """Referral rate of youths new to care per day at simulation times ``t``."""
    tl, d = cfg.timeline, cfg.demand
    base = d.first_referrals_per_year / DAYS_PER_YEAR
    start_doy = tl.start.timetuple().tm_yday
    season = 1.0 + d.seasonality_amplitude * np.cos(2 * np.pi * ((t + start_doy - d.peak_day_of_year) / DAYS_PER_YEAR))
    after = np.maximum(t - tl.contract_start_day, 0.0) / DAYS_PER_YEAR
    return base * season * (1.0 + d.growth_per_year) ** after
