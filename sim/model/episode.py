"""A youth's episode: one referral, from arrival until care ends or the family leaves."""
from __future__ import annotations

from .cases import FIELDS


class Episode:
    """Live state of one referral. Latent attributes come from ``cases.FIELDS``."""

    __slots__ = FIELDS + (
        "uid", "youth_id", "episode", "referral_time", "assessed_time", "allocated_time",
        "care_start", "care_end", "exit_time", "end_type", "first_provider", "provider", "collective",
        "handovers", "segments", "progress", "delivered_hours", "needed_hours", "cost_eur",
        "prof_hours", "deteriorated", "escalated", "unconsulted", "outcome",
        # current state
        "queue", "ticket", "est_load", "product", "seg_token", "seg_start", "seg_units",
        "seg_load", "seg_decl", "seg_rate", "seg_duration", "seg_shift", "shifted", "wait_since",
        "listed_at", "priority", "target_domain", "initial_domain", "initial_severity", "initial_form",
        "in_care", "follow_up",
    )

    def __init__(self, uid: int, youth_id: int, episode: int, t: float, row: tuple):
        # latent attributes, in cases.FIELDS order (tests/test_model.py checks the order)
        (self.municipality, self.source, self.domain, self.secondary, self.severity, self.urgent,
         self.care_form, self.need_intensity, self.need_duration, self.z_assess, self.z_judge_i,
         self.z_judge_d, self.u_outcome, self.e_deteriorate, self.e_patience, self.u_rereferral,
         self.u_rereferral_delay, self.u_escalate, self.u_shift, self.u_shift_at) = row
        self.uid = uid
        self.youth_id = youth_id
        self.episode = episode
        self.referral_time = t
        self.assessed_time = t
        self.allocated_time = float("nan")
        self.care_start = float("nan")
        self.care_end = float("nan")
        self.exit_time = float("nan")
        self.end_type = ""
        self.first_provider = -2    # provider index; -1 the access team, -2 none yet
        self.provider = -2
        self.collective = -1
        self.handovers = 0
        self.segments = 0
        self.progress = 0.0
        self.delivered_hours = 0.0
        self.needed_hours = 0.0
        self.cost_eur = 0.0
        self.prof_hours = 0.0
        self.deteriorated = False
        self.escalated = False
        self.unconsulted = False
        self.outcome = -1
        self.queue = None
        self.ticket = 0
        self.est_load = 0.0
        self.product = -1
        self.seg_token = 0
        self.seg_start = 0.0
        self.seg_units = 0.0
        self.seg_load = 0.0
        self.seg_decl = 0.0
        self.seg_rate = 0.0
        self.seg_duration = 0.0
        self.seg_shift = False
        self.shifted = False
        self.wait_since = t
        self.listed_at = t
        self.priority = 2
        self.target_domain = self.domain
        self.initial_domain = self.domain
        self.initial_severity = self.severity
        self.initial_form = self.care_form
        self.in_care = False
        self.follow_up = False

    @property
    def complex(self) -> bool:
        """Severe or multi-problem: what a budget-tight provider may avoid (M8)."""
        return self.severity >= 2 or self.secondary >= 0
