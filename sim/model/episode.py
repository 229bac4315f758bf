"""A youth's episode: one referral, from arrival until care ends or the family leaves."""
from __future__ import annotations

from enum import Enum

from .cases import FIELDS


class EndState(Enum):
    """Where an episode stands. Distinct from the record types of episodes.csv
    (``records.RECORD_TYPES``): an open episode becomes ``waiting_at_end`` or
    ``in_care_at_end`` when the run ends, and a pending dropout is still in the
    system until its assessment or indication ends."""

    OPEN = "open"
    PENDING_DROPOUT = "pending_dropout"   # left during assessment or indication; leaves when that ends
    COMPLETED = "completed"
    DROPPED_OUT = "dropped_out"
    OTHER_FUNDER = "other_funder"         # moved to another funder (long-term care under the Wlz)


OPEN = EndState.OPEN
PENDING_DROPOUT = EndState.PENDING_DROPOUT


class Episode:
    """Live state of one referral. Latent attributes come from ``cases.FIELDS``."""

    __slots__ = FIELDS + (
        "uid", "youth_id", "episode", "referral_time", "assessed_time", "allocated_time",
        "care_start", "care_end", "exit_time", "end_state", "started", "first_provider", "provider",
        "collective", "handovers", "segments", "progress", "delivered_hours", "cost_eur", "shifted_cost_eur",
        "care_days", "list_days",
        "last_care_end",
        "proficient_hours", "deteriorated", "escalated", "unconsulted", "outcome",
        # current state
        "waiting_list", "ticket", "est_work", "wait_spell", "product", "seg_token", "seg_start", "seg_units",
        "seg_load", "seg_declaration", "seg_rate", "seg_duration", "seg_shift", "seg_target", "shifted", "wait_since",
        "listed_at", "target_domain", "initial_domain", "initial_severity",
        "in_care", "follow_up",
    )

    def __init__(self, uid: int, youth_id: int, episode: int, t: float, row: tuple):
        # latent attributes, in cases.FIELDS order (tests/test_model.py checks the order)
        (self.municipality, self.source, self.domain, self.secondary, self.severity, self.urgent,
         self.care_form, self.need_intensity, self.need_duration, self.z_assess, self.z_judge_i,
         self.z_judge_d, self.u_outcome, self.e_deteriorate, self.e_patience, self.u_rereferral,
         self.u_rereferral_delay, self.u_escalate, self.u_shift, self.u_shift_at, self.z_assess_d,
         self.u_funder, self.u_collab) = row
        self.uid = uid
        self.youth_id = youth_id
        self.episode = episode
        self.referral_time = t
        self.assessed_time = t
        self.allocated_time = float("nan")
        self.care_start = float("nan")   # first care start (NaN until ``started``)
        self.care_end = float("nan")
        self.exit_time = float("nan")
        self.end_state = OPEN
        self.started = False             # care has started (``care_start`` is set)
        self.first_provider = -2    # provider index; -1 the access team, -2 none yet
        self.provider = -2
        self.collective = -1
        self.handovers = 0
        self.segments = 0
        self.progress = 0.0              # share of the need met so far
        self.delivered_hours = 0.0       # staff hours of care delivered
        self.cost_eur = 0.0
        self.shifted_cost_eur = 0.0      # moved to another funder: its care as judged at catalogue prices
        self.care_days = 0.0             # days in care, all segments
        self.list_days = 0.0             # days on providers' waiting lists, all waits (first and follow-up)
        self.last_care_end = float("nan")   # end of the latest care segment
        self.proficient_hours = 0.0      # units of care weighted by the provider's proficiency
        self.deteriorated = False
        self.escalated = False
        self.unconsulted = False
        self.outcome = -1
        self.waiting_list = None         # the WaitingList the youth is on, if any
        self.ticket = 0                  # of its live entry there (0: none)
        self.est_work = 0.0              # staff hours of care it is expected to need (the list's backlog)
        self.wait_spell = 0              # counts the waits of the episode (clocks belong to one wait)
        self.product = -1
        self.seg_token = 0               # current care segment (stale segment ends are ignored)
        self.seg_start = 0.0
        self.seg_units = 0.0
        self.seg_load = 0.0
        self.seg_declaration = 0.0
        self.seg_rate = 0.0
        self.seg_duration = 0.0
        self.seg_shift = False           # the segment ends in a need shift (M4)
        self.seg_target = 1.0            # progress at which the provider planned to stop (behaviour.target)
        self.shifted = False
        self.wait_since = t
        self.listed_at = t
        self.target_domain = self.domain
        self.initial_domain = self.domain
        self.initial_severity = self.severity
        self.in_care = False
        self.follow_up = False

    @property
    def ended(self) -> bool:
        """The episode has ended, or will at the end of its assessment or indication."""
        return self.end_state is not OPEN

    @property
    def complex(self) -> bool:
        """Severe or multi-problem: what a budget-tight provider may avoid (M8)."""
        return self.severity >= 2 or self.secondary >= 0
