"""Recorders that turn the live model into tidy tables (one row per episode, per month)."""
from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

from ..config.schema import Config
from ..units import DAYS_PER_WEEK, DAYS_PER_YEAR
from ..table import Table
from .cases import Catalogue

if TYPE_CHECKING:  # pragma: no cover
    from .episode import Episode
    from .policy import Regime
    from .waiting_list import WaitingList
    from .world import World

#: the record types of episodes.csv, in the order of their codes
RECORD_TYPES = ("completed", "dropped_out", "waiting_at_end", "in_care_at_end", "other_funder")
COMPLETED, DROPPED_OUT, WAITING_AT_END, IN_CARE_AT_END, OTHER_FUNDER = RECORD_TYPES
_CODE = {kind: i for i, kind in enumerate(RECORD_TYPES)}

_EPISODE_COLUMNS = (
    "youth_id", "episode", "record_type", "municipality", "source", "domain", "secondary",
    "severity", "severity_at_start", "urgent", "care_form", "referral_time", "assessment_time",
    "allocation_time", "care_start", "care_end", "exit_time", "wait_days", "provider",
    "first_provider", "collective", "handovers", "segments", "needed_hours", "delivered_hours",
    "dose", "proficiency", "unconsulted_secondary", "deteriorated", "escalated", "need_shift",
    "outcome", "cost_eur", "care_days", "list_days", "system_days", "last_care_end", "shifted_cost_eur",
)


class EpisodeRecorder:
    """One row per youth episode, whatever its end."""

    CHUNK = 4096

    def __init__(self, judged_share: float = 1.0):
        self._judged = judged_share     # need as judged / need (demand.need_beyond_judged)
        self._rows: list[tuple] = []          # recent rows as Python tuples
        self._chunks: list[np.ndarray] = []   # older rows packed as float64 blocks
        self._n = 0

    def add(self, ep: Episode, record_type: str, staff_per_unit: Sequence[float], now: float) -> None:
        """Record ``ep`` as ``record_type`` (one of RECORD_TYPES) at time ``now``
        (its exit, or the end of the run); ``staff_per_unit`` is per care form."""
        sec0 = ep.target_domain if ep.shifted else ep.secondary
        spu = staff_per_unit[ep.care_form]
        self._rows.append((
            ep.youth_id, ep.episode, _CODE[record_type], ep.municipality, ep.source,
            ep.initial_domain, sec0, ep.initial_severity, ep.severity, ep.urgent, ep.care_form,
            ep.referral_time, ep.assessed_time, ep.allocated_time, ep.care_start,
            ep.care_end, ep.exit_time, ep.care_start - ep.referral_time, ep.provider if ep.started else -2,
            ep.first_provider, ep.collective, ep.handovers, ep.segments,
            ep.need_intensity * spu * ep.need_duration / DAYS_PER_WEEK / self._judged, ep.delivered_hours,
            min(1.0, ep.progress * self._judged),
            ep.proficient_hours * spu / ep.delivered_hours if ep.delivered_hours > 0 else math.nan,
            ep.unconsulted, ep.deteriorated, ep.escalated, ep.shifted,
            float(ep.outcome) if ep.outcome >= 0 else math.nan, ep.cost_eur,
            ep.care_days, ep.list_days, now - ep.referral_time, ep.last_care_end, ep.shifted_cost_eur,
        ))
        self._n += 1
        if len(self._rows) >= self.CHUNK:
            self._pack()

    def _pack(self) -> None:
        """Every field is numeric (codes, flags, times), so rows pack exactly into float64."""
        if self._rows:
            self._chunks.append(np.array(self._rows, dtype=float))
            self._rows = []

    def __len__(self) -> int:
        return self._n

    def table(self, catalogue: Catalogue, world: World) -> Table:
        """All episodes recorded, by youth then episode, codes turned into names."""
        self._pack()
        data = np.concatenate(self._chunks) if self._chunks else np.empty((0, len(_EPISODE_COLUMNS)))
        data = data[np.lexsort((data[:, 1], data[:, 0]))]      # by youth, then episode
        cols = {k: data[:, i] for i, k in enumerate(_EPISODE_COLUMNS)}
        cat = catalogue
        names = np.array(list(world.names) + ["", "access_team"], dtype=object)   # index -1 team, -2 none
        cnames = np.array(list(world.collective_names) + [""], dtype=object)
        cols["record_type"] = np.array(RECORD_TYPES, dtype=object)[cols["record_type"].astype(int)]
        cols["municipality"] = np.array(cat.municipalities, dtype=object)[cols["municipality"].astype(int)]
        cols["source"] = np.array(cat.sources, dtype=object)[cols["source"].astype(int)]
        doms = np.array(list(cat.domains) + [""], dtype=object)
        cols["domain"] = doms[cols["domain"].astype(int)]
        cols["secondary"] = doms[cols["secondary"].astype(int)]
        cols["care_form"] = np.array(cat.care_forms, dtype=object)[cols["care_form"].astype(int)]
        sev = np.array(["mild", "moderate", "severe"], dtype=object)
        cols["severity"] = sev[cols["severity"].astype(int)]
        cols["severity_at_start"] = sev[cols["severity_at_start"].astype(int)]
        cols["provider"] = names[cols["provider"].astype(int)]
        cols["first_provider"] = names[cols["first_provider"].astype(int)]
        cols["collective"] = cnames[cols["collective"].astype(int)]
        for k in ("urgent", "unconsulted_secondary", "deteriorated", "escalated", "need_shift"):
            cols[k] = cols[k].astype(bool)
        for k in ("youth_id", "episode", "handovers", "segments"):
            cols[k] = cols[k].astype(np.int64)
        return Table(cols)


class Observed(Protocol):
    """What a monthly snapshot reads of the care model."""

    regime: Regime
    providers: list
    n_waiting: int
    assessment_list: WaitingList
    in_assessment: int
    n_in_care: int
    capacity_open: float
    used_open: float
    totals: dict[str, float]
    counts: dict[str, int]

    @property
    def now(self) -> float: ...


_TOTALS = ("billed", "team", "lump", "used", "cap", "staff_h", "overhead_h", "decl_h", "tx_h", "mun_h",
        "waiting", "waiting_follow_up", "in_care")
_COUNTS = ("referrals", "starts", "ends", "dropouts", "reindications", "handovers", "other_funder")


class MonthlyRecorder:
    """Snapshots of cumulative accumulators; one row per month between snapshots."""

    def __init__(self):
        self._snaps: list[tuple] = []

    def snapshot(self, m: Observed) -> None:
        self._snaps.append((
            m.now, m.regime.name, m.n_waiting, m.assessment_list.size + m.in_assessment, m.n_in_care,
            m.capacity_open, m.used_open, m.regime.yearly_payment(),
            sum(p.staff for p in m.providers), m.regime.staff_lost, m.regime.staff_in_transit,
            *(m.totals[k] for k in _TOTALS), *(m.counts[k] for k in _COUNTS),
        ))

    def last_time(self) -> float:
        return self._snaps[-1][0] if self._snaps else -1.0

    def table(self, cfg: Config, t_contract_start: float) -> Table:
        """One row per month between consecutive snapshots."""
        if len(self._snaps) < 2:
            return Table({})
        s = list(zip(*self._snaps))
        t = np.array(s[0])
        i = 11
        acc = {k: np.diff(np.array(s[i + j], float)) for j, k in enumerate(_TOTALS)}
        i += len(_TOTALS)
        cnt = {k: np.diff(np.array(s[i + j], float)).astype(np.int64) for j, k in enumerate(_COUNTS)}
        dt_ = np.diff(t)
        start = cfg.timeline.start
        costs = cfg.costs
        cols = {
            "month": np.arange(len(dt_)),
            "start_day": t[:-1],
            "end_day": t[1:],
            "date": np.array([(start + dt.timedelta(days=float(x))).isoformat() for x in t[:-1]], dtype=object),
            "contract_year": np.floor((t[:-1] - t_contract_start) / DAYS_PER_YEAR).astype(np.int64),
            "regime": np.array(s[1][1:], dtype=object),
            "waiting_list": np.array(s[2][1:], dtype=np.int64),
            "in_assessment": np.array(s[3][1:], dtype=np.int64),
            "youths_in_care": np.array(s[4][1:], dtype=np.int64),
            "capacity_hours_per_week": np.array(s[5][1:], float),
            "used_hours_per_week": np.array(s[6][1:], float),
            # every provider's staff (open or not) and, cumulated, the staff that left at the switch (M7)
            "staff_hours_per_week": np.array(s[8][1:], float),
            "staff_left_hours_per_week": np.array(s[9][1:], float),
            "staff_in_transit_hours_per_week": np.array(s[10][1:], float),
            "mean_waiting_list": acc["waiting"] / dt_,
            "mean_waiting_list_follow_up": acc["waiting_follow_up"] / dt_,   # of which care had started
            "mean_youths_in_care": acc["in_care"] / dt_,
            "utilisation": np.divide(acc["used"], acc["cap"], out=np.zeros_like(dt_), where=acc["cap"] > 0),
            **cnt,
            "spending_eur": acc["billed"] + acc["lump"] + acc["team"],
            "billed_eur": acc["billed"],
            "lump_sum_eur": acc["lump"],
            "team_eur": acc["team"],
            "budget_eur": np.array(s[7][1:], float) * dt_ / DAYS_PER_YEAR,
            "admin_hours": acc["overhead_h"] + acc["decl_h"] + acc["tx_h"] + acc["mun_h"],
            "admin_eur": (acc["overhead_h"] + acc["decl_h"] + acc["tx_h"]) * costs.provider_admin_hour_eur
            + acc["mun_h"] * costs.municipal_admin_hour_eur,
        }
        return Table(cols)
