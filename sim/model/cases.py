"""Latent attributes of referred youths, drawn in numpy blocks at arrival.

Everything that describes a youth's need, and every uniform that later decides
its fate (outcome, patience, deterioration, re-referral), is drawn here from
streams that do not depend on the regime. Both regimes therefore see the very
same youths (common random numbers); the regime only changes what is done
with them. First referrals are drawn in yearly blocks, each from its own
stream, so they do not depend on the horizon either (:func:`referrals`).
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
    "u_shift", "u_shift_at", "z_assess_d", "u_funder", "u_collab",
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
    # secondary domain: drawn from the domain mix with the primary left out (renormalised)
    u_sec = rng.random(n)
    if nd > 1:
        mix = np.tile(dom_p, (n, 1))
        mix[np.arange(n), out["domain"]] = 0.0
        cum = np.cumsum(mix, axis=1)
        cum /= cum[:, -1:]
        sec = np.minimum((u_sec[:, None] >= cum).sum(axis=1), nd - 1)
        out["secondary"] = np.where(has_sec, sec, -1)
    else:
        out["secondary"] = np.full(n, -1)
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
    out["u_shift_at"] = rng.uniform(*d.need_shift_at, n)
    out["z_assess_d"] = rng.standard_normal(n)
    out["u_funder"] = rng.random(n)      # decides a move to another funder (lump-sum behaviour)
    out["u_collab"] = rng.random(n)      # decides whether a maturing collective pools / hands over
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


#: length (days) of an arrival block; block k covers [k * BLOCK_DAYS, (k + 1) * BLOCK_DAYS)
BLOCK_DAYS = DAYS_PER_YEAR


def arrival_blocks(cfg: Config) -> range:
    """The block numbers k that the run covers: every block starting before the end."""
    return range(max(int(np.ceil(cfg.timeline.end_day / BLOCK_DAYS)), 1))


def block_rate_bound(cfg: Config, k: int) -> float:
    """An upper bound of ``arrival_rate`` over the whole of block ``k`` (the
    thinning majorant). It depends on the block, never on the horizon."""
    d = cfg.demand
    a, b = k * BLOCK_DAYS, (k + 1) * BLOCK_DAYS
    t0 = cfg.timeline.contract_start_day
    # growth is monotone in t, so its maximum over [a, b] is at an end
    growth = max((1.0 + d.growth_per_year) ** (max(t - t0, 0.0) / DAYS_PER_YEAR) for t in (a, b))
    return d.first_referrals_per_year / DAYS_PER_YEAR * (1.0 + abs(d.seasonality_amplitude)) * growth


def block_arrival_times(cfg: Config, k: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted referral times of youths new to care over the whole of block ``k``
    (not cut at the end of the run), by thinning a homogeneous Poisson process
    at the block's own rate bound. ``rng`` is the block's own generator."""
    a, b = k * BLOCK_DAYS, (k + 1) * BLOCK_DAYS
    lam_max = block_rate_bound(cfg, k)
    n = rng.poisson(lam_max * (b - a))
    t = np.sort(rng.uniform(a, b, n))
    keep = rng.random(n) * lam_max < arrival_rate(cfg, t)
    return t[keep]


def referrals(cfg: Config, cat: Catalogue, streams) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Referral times (days, sorted) of the youths new to care in the run and
    their latent attributes (every field in FIELDS, arrays in the same order).

    A non-homogeneous Poisson process (seasonality, growth after the contract
    start) drawn in yearly blocks from simulation day 0. Block ``k``'s times
    come from ``streams.block("arrivals", k)`` and the attributes of all its
    youths from ``streams.block("cases", k)``; only then is the last block cut
    at the end of the run. So a youth's referral time and attributes depend on
    (seed, block, place in the block) and never on the horizon: a longer run
    has the same youths before the shorter one's end, in the same order.
    ``streams`` is a :class:`~.streams.Streams` (anything with ``block(name, k)``).
    """
    end = cfg.timeline.end_day
    times: list[np.ndarray] = []
    parts: list[dict[str, np.ndarray]] = []
    for k in arrival_blocks(cfg):
        t = block_arrival_times(cfg, k, streams.block("arrivals", k))
        m = int(np.searchsorted(t, end, side="left"))     # the ones before the end
        if m == 0:
            continue
        cols = draw_cases(cfg, cat, streams.block("cases", k), len(t))   # the whole block, then cut
        times.append(t[:m])
        parts.append({f: cols[f][:m] for f in FIELDS})
    if not parts:
        empty = draw_cases(cfg, cat, streams.block("cases", 0), 0)
        return np.empty(0), {f: empty[f] for f in FIELDS}
    return np.concatenate(times), {f: np.concatenate([p[f] for p in parts]) for f in FIELDS}


def arrival_rate(cfg: Config, t: np.ndarray) -> np.ndarray:
    """Referral rate of youths new to care per day at simulation times ``t``."""
    tl, d = cfg.timeline, cfg.demand
    base = d.first_referrals_per_year / DAYS_PER_YEAR
    start_doy = tl.start.timetuple().tm_yday
    season = 1.0 + d.seasonality_amplitude * np.cos(2 * np.pi * ((t + start_doy - d.peak_day_of_year) / DAYS_PER_YEAR))
    after = np.maximum(t - tl.contract_start_day, 0.0) / DAYS_PER_YEAR
    return base * season * (1.0 + d.growth_per_year) ** after
