"""A preloaded initial state: the youths in the system at the end of a long
status-quo run, written to a snapshot file and loaded at day 0 of another run
(``timeline.initial_state: preloaded``), so that the warm-up can be short.

The snapshot file (``caresim preload``) is a plain CSV (``sim.files``: one row
per youth in the system, ``True``/``False`` flags, ``nan`` for not applicable,
codes as names, numbers to six decimals). Its columns are the latent
attributes ``cases.FIELDS`` as they stand at the snapshot (need, severity, care
form and domains may have changed by deterioration, escalation or a need
shift) without the fate draws (``u_``, ``e_``, ``z_`` fields, drawn afresh on
loading), then the state (``STATE_COLUMNS``):

* ``state``: ``in_care``, ``waiting`` (on a provider's or the access team's
  list), ``assessment`` (in the access team's assessment or waiting for it) or
  ``indication`` (between two products, in the re-indication delay). Youths
  whose family has already left (a dropout pending at the end of an assessment
  or indication) are not in the file.
* times in days relative to the snapshot (0), so before it they are negative:
  ``referral_time``, ``assessment_time``, ``allocation_time``, ``care_start``,
  ``last_care_end`` (``nan`` when not yet), ``wait_since`` (the current wait's
  place in time on its list, waiting youths only);
* the episode so far: ``episode`` (the youth's episode number), ``target_domain``,
  ``initial_severity``, the flags ``started``, ``follow_up``, ``deteriorated``,
  ``escalated``, ``shifted``, the counts ``segments`` and ``handovers``, and
  ``progress``, ``delivered_hours``, ``proficient_hours``, ``cost_eur``,
  ``care_days``, ``list_days`` up to the snapshot (the current segment or
  listing included);
* ``product``: the indicated catalogue product by name (``""`` for none);
* waiting youths: ``priority`` (``handover``, ``urgent`` or ``regular``) and
  ``same_provider`` (it waits to go on with the provider it was with);
* youths in care: the current segment's ``seg_units`` (units a week),
  ``seg_days_left`` and ``seg_shift`` (it ends in a need shift).

Other columns are ignored. :func:`read_snapshot` checks the file against the
config (names, states, numbers) with one-line errors naming ``timeline.preload``.

Loading (:func:`load_initial_state`, called by ``CareModel.run`` at day 0):
per replication the stored youths are resampled with replacement from the
``initial`` stream, each state separately and as many as the file holds in
that state (a stratified bootstrap: the counts at day 0 are the file's, the
mix varies between replications). Each gets a fresh uid and youth id and fresh
fate draws (the ``u_``, ``e_``, ``z_`` fields, drawn as ``cases.draw_cases``
does) so duplicates do not share their fates; need and state are kept. The
world (providers, their sizes and offers) is the replication's own, so the
youths are placed anew, by the status quo's own decisions (its family choice
and match): a youth in care goes on with the provider the family chooses among
the open candidates for its domain and care form that have room for its load,
with its segment's intensity (capped at the unit maximum) for the days the
segment had left; when none has room it waits at the head of a list as a
handover (a follow-up wait). Waiting youths join the list the status quo
matches them to with their place in time; youths in assessment start it anew;
youths in the re-indication delay are indicated at once. Everything happens
before any other event and uses only the ``initial`` stream and status-quo
decisions, so both regimes start from the identical state.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..config.schema import SEVERITIES, Config
from ..errors import ConfigError, did_you_mean
from ..files import read_csv, write_csv
from ..units import DAYS_PER_WEEK
from .cases import FIELDS, Catalogue, draw_cases
from .episode import PENDING_DROPOUT, Episode
from .waiting_list import REGULAR, URGENT, URGENT_HANDOVER
from .world import product_grid

# The functions below take the care model (``process.CareModel``, which calls
# them) untyped: importing it here, even for type checking, would be a cycle.

KEY = "timeline.preload"

#: the states of a youth in the snapshot, in the order they are loaded
STATES = ("in_care", "waiting", "assessment", "indication")
IN_CARE, WAITING, ASSESSMENT, INDICATION = range(len(STATES))
#: waiting-list priority classes by name
PRIORITIES = {"handover": URGENT_HANDOVER, "urgent": URGENT, "regular": REGULAR}
_PRIORITY_NAMES = {v: k for k, v in PRIORITIES.items()}

#: times relative to the snapshot (days, <= 0; nan when not applicable)
TIMES = ("referral_time", "assessment_time", "allocation_time", "care_start", "last_care_end", "wait_since")
#: flags
FLAGS = ("started", "follow_up", "deteriorated", "escalated", "shifted", "same_provider", "seg_shift")
#: amounts of the episode so far (>= 0)
AMOUNTS = ("progress", "delivered_hours", "proficient_hours", "cost_eur", "care_days", "list_days")
COUNTS = ("episode", "segments", "handovers")

STATE_COLUMNS = (
    "state", "episode", "referral_time", "assessment_time", "allocation_time", "care_start", "last_care_end",
    "target_domain", "initial_severity", "started", "follow_up", "deteriorated", "escalated", "shifted",
    "segments", "handovers", *AMOUNTS, "product",
    "wait_since", "priority", "same_provider",
    "seg_units", "seg_days_left", "seg_shift",
)
#: latent fields stored as names
NAMED_FIELDS = ("municipality", "source", "domain", "secondary", "severity", "care_form")
#: latent fields drawn afresh for every loaded youth (its fate, not its need): not in the file
FATE_FIELDS = tuple(f for f in FIELDS if f.startswith(("u_", "e_", "z_")))
#: latent fields in the file (need and who the youth is)
LATENT = tuple(f for f in FIELDS if f not in FATE_FIELDS)
#: decimals of the file's numbers (a millionth of a day, of a unit, of the need)
DECIMALS = 6
TEXT = NAMED_FIELDS + ("state", "target_domain", "initial_severity", "product", "priority")


def columns() -> tuple[str, ...]:
    """The snapshot file's columns, in order."""
    return LATENT + STATE_COLUMNS


def sidecar(path: str | Path) -> Path:
    """The provenance JSON written beside a snapshot file: ``<file>.json``."""
    return Path(f"{path}.json")


# --------------------------------------------------------------------------- writing
def snapshot(m) -> dict[str, np.ndarray]:
    """The youths in ``m``'s system now, one row each (see the module docstring),
    as columns for :func:`write_snapshot`. Reads the model, changes nothing."""
    now = m.env.now
    cat = m.catalogue
    doms = list(cat.domains)
    priority: dict[int, int] = {}
    lists = {id(ep.waiting_list): ep.waiting_list for ep in m.active.values()
             if ep.waiting_list is not None and ep.waiting_list is not m.assessment_list}
    for wl in lists.values():
        for e in wl.live():
            priority[e.episode.uid] = e.priority
    rows: list[dict[str, Any]] = []
    for ep in sorted(m.active.values(), key=lambda e: e.uid):
        if ep.end_state is PENDING_DROPOUT:
            continue        # its family has left; it goes when its assessment or indication ends
        listed = ep.waiting_list is not None and ep.waiting_list is not m.assessment_list
        if ep.in_care:
            state = IN_CARE
        elif listed:
            state = WAITING
        elif ep.follow_up:
            state = INDICATION
        else:
            state = ASSESSMENT
        r: dict[str, Any] = {f: getattr(ep, f) for f in LATENT}
        r.update(municipality=cat.municipalities[ep.municipality], source=cat.sources[ep.source],
                 domain=doms[ep.domain], secondary=doms[ep.secondary] if ep.secondary >= 0 else "",
                 severity=SEVERITIES[ep.severity], care_form=cat.care_forms[ep.care_form])
        r.update(state=STATES[state], episode=ep.episode, target_domain=doms[ep.target_domain],
                 initial_severity=SEVERITIES[ep.initial_severity], started=ep.started,
                 follow_up=ep.follow_up, deteriorated=ep.deteriorated, escalated=ep.escalated,
                 shifted=ep.shifted, segments=ep.segments, handovers=ep.handovers,
                 product=m.world.products[ep.product].name if ep.product >= 0 else "")
        for name, t in (("referral_time", ep.referral_time), ("assessment_time", ep.assessed_time),
                        ("allocation_time", ep.allocated_time), ("care_start", ep.care_start),
                        ("last_care_end", ep.last_care_end)):
            r[name] = t - now
        amounts = dict(progress=ep.progress, delivered_hours=ep.delivered_hours,
                       proficient_hours=ep.proficient_hours, cost_eur=ep.cost_eur, care_days=ep.care_days,
                       list_days=ep.list_days)
        r.update(wait_since=math.nan, priority="", same_provider=False, seg_units=math.nan,
                 seg_days_left=math.nan, seg_shift=False)
        if state == IN_CARE:
            # the current segment so far, as its end would book it (CareModel._stop)
            dur = now - ep.seg_start
            weeks = dur / DAYS_PER_WEEK
            f = ep.care_form
            team = ep.provider < 0
            prof = 1.0 if team else float(m.world.proficiency[ep.provider, ep.target_domain])
            amounts["delivered_hours"] += ep.seg_units * m.staff_per_unit[f] * weeks
            amounts["proficient_hours"] += prof * ep.seg_units * weeks
            amounts["cost_eur"] += ep.seg_rate * dur
            amounts["care_days"] += dur
            amounts["progress"] += min(1.0, ep.seg_units / ep.need_intensity) * dur / ep.need_duration
            r.update(seg_units=ep.seg_units, seg_days_left=max(ep.seg_start + ep.seg_duration - now, 0.0),
                     seg_shift=bool(ep.seg_shift))
        elif state == WAITING:
            amounts["list_days"] += now - ep.listed_at
            wl = ep.waiting_list
            here = m.access_team if ep.provider == -1 else (m.providers[ep.provider] if ep.provider >= 0 else None)
            r.update(wait_since=ep.wait_since - now,
                     priority=_PRIORITY_NAMES[priority.get(ep.uid, REGULAR)],
                     same_provider=bool(ep.started and here is not None and here in wl.servers))
        r.update(amounts)
        rows.append(r)
    cols = columns()
    out: dict[str, np.ndarray] = {}
    for c in cols:
        values = [r[c] for r in rows]
        if c in TEXT:
            out[c] = np.array(values, dtype=object)
        elif c in FLAGS or c == "urgent":
            out[c] = np.array(values, dtype=bool)
        elif c in COUNTS:
            out[c] = np.array(values, dtype=np.int64)
        else:
            out[c] = np.round(np.array(values, dtype=float), DECIMALS)
    return out


def write_snapshot(path: str | Path, cols: dict[str, np.ndarray]) -> Path:
    """Write a snapshot (:func:`snapshot`) as CSV, atomically."""
    return write_csv(path, {c: cols[c] for c in columns()})


def state_counts(state: np.ndarray) -> dict[str, int]:
    """Youths per state of a snapshot's ``state`` column (names or codes)."""
    names = [STATES[int(s)] if not isinstance(s, str) else s for s in state]
    return {s: names.count(s) for s in STATES}


# --------------------------------------------------------------------------- reading
_RAW: dict[tuple, dict[str, np.ndarray]] = {}


def _raw(path: Path) -> dict[str, np.ndarray]:
    """The file's columns (cached per path, modification time and size)."""
    try:
        st = os.stat(path)
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key not in _RAW:
            raw = read_csv(path, text=TEXT)
            if len(_RAW) > 8:
                _RAW.clear()
            _RAW[key] = raw
        return _RAW[key]
    except OSError as exc:
        raise ConfigError(f"{KEY}: cannot read {path} ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, ValueError) as exc:     # not text, or not CSV
        raise ConfigError(f"{KEY}: {path}: not a snapshot CSV ({exc})") from None


def read_snapshot(cfg: Config, catalogue: Optional[Catalogue] = None) -> dict[str, np.ndarray]:
    """The snapshot file of ``cfg`` (``timeline.preload``) checked against the
    config and coded: names as the catalogue's indices, states and priorities
    as codes. Any problem is a one-line ConfigError naming ``timeline.preload``."""
    if not cfg.timeline.preload:
        raise ConfigError(f"{KEY}: missing; expected the snapshot file when initial_state is preloaded")
    path = Path(cfg.timeline.preload)
    raw = _raw(path)
    where = f"{KEY}: {path}"
    missing = [c for c in columns() if c not in raw]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ConfigError(f"{where}: missing column {missing[0]!r}{more}; expected a snapshot written by "
                          "caresim preload")
    n = len(raw["state"])
    if n == 0:
        raise ConfigError(f"{where}: no youths; expected at least one row")
    cat = catalogue or Catalogue.of(cfg)

    def bad(col: str, i: int, got: Any, expected: str) -> ConfigError:
        return ConfigError(f"{where}: line {i + 2}, column {col!r}: got {got!r}; expected {expected}")

    def names(col: str, allowed: list[str], blank: Optional[int] = None) -> np.ndarray:
        index = {a: k for k, a in enumerate(allowed)}
        out = np.empty(n, dtype=np.int64)
        for i, v in enumerate(raw[col].tolist()):
            v = str(v)
            if v == "" and blank is not None:
                out[i] = blank
            elif v in index:
                out[i] = index[v]
            else:
                raise bad(col, i, v, f"one of {sorted(allowed)}{did_you_mean(v, allowed)}")
        return out

    out: dict[str, np.ndarray] = {}
    domains = list(cat.domains)
    out["municipality"] = names("municipality", list(cat.municipalities))
    out["source"] = names("source", list(cat.sources))
    out["domain"] = names("domain", domains)
    out["secondary"] = names("secondary", domains, blank=-1)
    out["target_domain"] = names("target_domain", domains)
    out["severity"] = names("severity", list(SEVERITIES))
    out["initial_severity"] = names("initial_severity", list(SEVERITIES))
    out["care_form"] = names("care_form", list(cat.care_forms))
    out["state"] = names("state", list(STATES))
    out["product"] = names("product", [p.name for p in product_grid(cfg)], blank=-1)
    state = out["state"]
    waiting = state == WAITING
    prio = np.full(n, REGULAR, dtype=np.int64)
    prio_names = list(PRIORITIES)
    for i in np.flatnonzero(waiting):
        v = str(raw["priority"][i])
        if v not in PRIORITIES:
            raise bad("priority", int(i), v, f"one of {prio_names} for a waiting youth")
        prio[i] = PRIORITIES[v]
    out["priority"] = prio

    for col in FLAGS + ("urgent",):
        v = raw[col]
        if v.dtype != bool:
            i = next(k for k, x in enumerate(v.tolist()) if str(x) not in ("True", "False"))
            raise bad(col, i, v[i], "True or False")
        out[col] = v

    def numbers(col: str) -> np.ndarray:
        v = raw[col]
        if v.dtype.kind not in "iuf":
            i = next(k for k, x in enumerate(v.tolist()) if not _is_number(x))
            raise bad(col, i, v[i], "a number")
        return v.astype(float)

    def check(col: str, v: np.ndarray, ok: np.ndarray, expected: str) -> None:
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise bad(col, i, float(v[i]), expected)

    for col in LATENT:
        if col in NAMED_FIELDS or col == "urgent":
            continue
        v = numbers(col)
        if col in ("need_intensity", "need_duration"):
            check(col, v, np.isfinite(v) & (v > 0), "a positive number")
        else:
            check(col, v, np.isfinite(v), "a finite number")
        out[col] = v
    for col in COUNTS:
        v = numbers(col)
        check(col, v, np.isfinite(v) & (v >= 0) & (v == np.round(v)), "a whole number >= 0")
        out[col] = v.astype(np.int64)
    for col in AMOUNTS:
        v = numbers(col)
        check(col, v, np.isfinite(v) & (v >= 0), "a finite number >= 0")
        out[col] = v
    for col in TIMES:
        v = numbers(col)
        check(col, v, np.isnan(v) | (v <= 1e-9), "days before the snapshot (<= 0) or nan")
        out[col] = np.minimum(v, 0.0)
    started, in_care = out["started"], state == IN_CARE
    check("referral_time", out["referral_time"], np.isfinite(out["referral_time"]), "a finite time <= 0")
    check("assessment_time", out["assessment_time"], np.isfinite(out["assessment_time"]), "a finite time <= 0")
    check("care_start", out["care_start"], ~(started | in_care) | np.isfinite(out["care_start"]),
          "the time care started (<= 0) for a youth whose care has started")
    check("wait_since", out["wait_since"], ~waiting | np.isfinite(out["wait_since"]),
          "the time its wait counts from (<= 0) for a waiting youth")
    units, left = numbers("seg_units"), numbers("seg_days_left")
    check("seg_units", units, ~in_care | (np.isfinite(units) & (units > 0)), "units a week > 0 for a youth in care")
    check("seg_days_left", left, ~in_care | (np.isfinite(left) & (left >= 0)),
          "days >= 0 left of the segment for a youth in care")
    check("segments", out["segments"].astype(float), ~in_care | (out["segments"] >= 1),
          "at least 1 for a youth in care")
    out["seg_units"], out["seg_days_left"] = units, left
    return out


def _is_number(x: Any) -> bool:
    try:
        float(x)
    except (TypeError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- loading
def load_initial_state(m) -> dict[str, int]:
    """Put a resampled copy of the snapshot's youths into ``m`` at day 0 (see
    the module docstring). Returns the youths loaded per state and ``displaced``:
    youths in care for whom no provider had room (they wait as handovers).
    Also kept as ``m.preloaded``."""
    cfg = m.cfg
    snap = read_snapshot(cfg, m.catalogue)
    rng = m.streams.initial
    state = snap["state"]
    # stratified bootstrap: per state as many youths as the file holds in it
    picks = []
    for s in range(len(STATES)):
        rows = np.flatnonzero(state == s)
        picks.append(rows[rng.integers(0, len(rows), len(rows))] if len(rows) else rows)
    idx = np.concatenate(picks)
    n = len(idx)
    fresh = draw_cases(cfg, m.catalogue, rng, n)     # fates: the same distributions as a new youth's
    col = {c: snap[c][idx].tolist() for c in snap}
    col.update({f: fresh[f].tolist() for f in FATE_FIELDS})

    waiting_effects = m.switches.waiting_effects
    follow_up_clocks = waiting_effects and cfg.waiting.follow_up_effects
    eps: list[list] = [[] for _ in STATES]
    for k in range(n):
        ep = Episode(m._new_uid(), m.next_youth, col["episode"][k], col["referral_time"][k],
                     tuple(col[f][k] for f in FIELDS))
        m.next_youth += 1
        ep.assessed_time = col["assessment_time"][k]
        ep.allocated_time = col["allocation_time"][k]
        ep.last_care_end = col["last_care_end"][k]
        ep.target_domain = col["target_domain"][k]
        ep.initial_severity = col["initial_severity"][k]
        for f in ("started", "follow_up", "deteriorated", "escalated", "shifted"):
            setattr(ep, f, bool(col[f][k]))
        for f in ("segments", "handovers"):
            setattr(ep, f, int(col[f][k]))
        for f in AMOUNTS:
            setattr(ep, f, float(col[f][k]))
        ep.product = int(col["product"][k])
        s = int(col["state"][k])
        if s == IN_CARE:
            ep.started = True
        if ep.started:
            ep.care_start = col["care_start"][k]
            if not ep.shifted:
                # a youth's one u_shift decided every segment start so far: no shift
                # yet means none later, unless the current segment ends in one
                ends_in_shift = s == IN_CARE and col["seg_shift"][k]
                ep.u_shift = 0.0 if ends_in_shift else 1.0
                if ends_in_shift:
                    ep.u_shift_at = 1.0     # the segment's days left run to the shift
        ep.need_intensity = min(ep.need_intensity, m.max_units[ep.care_form])
        m.active[ep.uid] = ep
        eps[s].append((k, ep))

    regime = m.regime
    displaced = 0
    subsets: dict[tuple, np.ndarray] = {}   # the same candidate subset is the same array (the choice caches it)
    room_of = _Room(m)
    for k, ep in eps[IN_CARE]:
        f = ep.care_form
        units = min(col["seg_units"][k], m.max_units[f])
        spu = m.staff_per_unit[f]
        if m.team_delivers[f]:
            team = m.access_team
            load = min(units * spu + team.declaration_load, team.capacity)
            p = team if team.used + load <= team.capacity + 1e-9 else None
        else:
            cands = m.open_candidates(ep.target_domain, f)
            room = room_of(cands, units * spu)
            if room.all():
                p = regime.family_choice(ep, cands)
            elif room.any():
                key = (ep.target_domain, f, room.tobytes())
                sub = subsets.get(key)
                if sub is None:
                    sub = subsets[key] = cands[room]
                p = regime.family_choice(ep, sub)
            else:
                p = None
            if p is not None:
                load = min(units * spu + p.declaration_load, p.capacity)
        if p is None:
            # no room for its care here: it waits first in line, as a handover does
            displaced += 1
            ep.follow_up = True
            ep.provider = -2
            m.place(ep, URGENT_HANDOVER, m.now)
            continue
        ep.provider = p.idx                 # it goes on with this provider: no handover
        if ep.handovers == 0:
            ep.first_provider = p.idx
        ep.segments -= 1                    # the segment it is in (CareModel._start counts it)
        ep.seg_target = m.behaviour.target(p)     # as its provider would have planned it
        m._start(ep, p, units, col["seg_days_left"][k], load, transaction=False)
        room_of.update(p)

    # waiting youths, longest waiting first within a priority class, so that
    # day 0's admissions go to the head of each list.
    # The wait clocks (deterioration, patience) start now, as for a new wait:
    # the thresholds (e_deteriorate, e_patience) are exponential and drawn
    # afresh, so given that neither has passed in the wait so far, the time
    # left to each is distributed as a whole new one (memoryless). Starting
    # them at day 0 is therefore right for a youth that has waited for any
    # time; a handover's wait has no clocks, as in CareModel.transfer.
    for k, ep in sorted(eps[WAITING], key=lambda x: (col["priority"][x[0]], col["wait_since"][x[0]], x[0])):
        prio = int(col["priority"][k])
        target = None
        if ep.started:
            ep.provider = -2      # its provider in the snapshot's world is not this one
            if col["same_provider"][k]:
                if m.team_delivers[ep.care_form]:
                    ep.provider = -1
                else:         # it waits to go on with the provider the family chooses now
                    target = regime.match(ep)
                    if len(target.servers) == 1:
                        ep.provider = target.servers[0].idx
        if waiting_effects and (not ep.started or (follow_up_clocks and prio != URGENT_HANDOVER)):
            m._wait_clocks(ep)
        m.place(ep, prio, col["wait_since"][k], target)

    # in assessment (started anew, in order of referral) and in re-indication
    for k, ep in sorted(eps[ASSESSMENT], key=lambda x: (col["referral_time"][x[0]], x[0])):
        if waiting_effects:
            m._wait_clocks(ep)
        if cfg.demand.sources[m.catalogue.sources[ep.source]].via_access_team:
            m._assess(ep)
        else:
            m._allocate(ep)
    for k, ep in eps[INDICATION]:
        if follow_up_clocks:
            m._wait_clocks(ep)
        regime.indicate(ep)
        m.place(ep, REGULAR, m.now)

    loaded = {name: len(eps[s]) for s, name in enumerate(STATES)}
    loaded["displaced"] = displaced
    m.preloaded = loaded
    if m.check_invariants:
        m.assert_invariants()
    return loaded


class _Room:
    """Which of some providers are open and have room for a youth needing
    ``hours`` of care a week: ``used + min(hours + declaration, capacity) <=
    admission limit`` over numpy arrays of every provider, kept up to date
    with :meth:`update` after each placement (a provider's limit depends only
    on its own state)."""

    def __init__(self, m):
        self.m = m
        ps = m.providers
        self.open = np.array([p.open for p in ps], dtype=bool)
        self.used = np.array([p.used for p in ps], dtype=float)
        self.decl = np.array([p.declaration_load for p in ps], dtype=float)
        self.cap = np.array([p.capacity for p in ps], dtype=float)
        self.limit = np.array([m.regime.admission_limit(p) for p in ps], dtype=float)

    def __call__(self, cands: np.ndarray, hours: float) -> np.ndarray:
        load = np.minimum(hours + self.decl[cands], self.cap[cands])
        return self.open[cands] & (self.used[cands] + load <= self.limit[cands] + 1e-9)

    def update(self, p) -> None:
        if p.idx >= 0:
            self.used[p.idx] = p.used
            self.limit[p.idx] = self.m.regime.admission_limit(p)
