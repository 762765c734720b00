"""Alert lifecycle for the live picture: raised -> updated -> acknowledged -> resolved.

This module owns the *state machine* that turns what each detection cycle observes (conflicting
pairs of aircraft, incursions, nonconforming tracks) into a small, stable stream of alert events.
It is a pure core: no clock, no I/O; every call takes ``now``.

Hysteresis rule (the contract duty officers rely on)
----------------------------------------------------
* **Raise** on the first cycle in which a subject is observed: the detector already looks
  ``lookahead_s`` ahead, so waiting would only eat warning time.
* **Resolve** only when the subject has been absent for at least ``clear_cycles`` consecutive
  cycles *and* for at least ``clear_s`` seconds since it was last observed.
* **Re-raise within the hold**: a subject observed again within ``reraise_hold_s`` seconds of
  its resolution re-opens the *same* alert id (event ``raised`` with ``reopened=True``) instead
  of minting a new one. After the hold it is a new alert.
* **Updates** are published when the severity changes, or when the figures moved materially
  (time to LoS by >= ``update_t_in_s``, HMD by >= ``update_hmd_nm``, VMD by >= ``update_vmd_ft``)
  and at least ``min_update_interval_s`` passed since the last published update. Such figure
  refreshes are capped at ``max_refreshes_per_cycle`` per cycle, most urgent first (bounded
  work per cycle); the others follow in the next cycles.
* **Acknowledgement** is per party: each party of the alert acknowledges separately; an
  escalation (caution -> warning) clears the acknowledgements, since the situation got worse,
  and so does a re-opening.

Consequences, which the property tests check: an alert can only be raised again after having
been resolved, and resolving takes ``clear_cycles`` absent cycles, so a subject that flickers
every other cycle produces one raise, and *any* on/off sequence of ``n`` cycles produces at most
``1 + n // (clear_cycles + 1)`` raise events and at most ``1 + n * dt / (reraise_hold_s + clear_s)``
distinct alert ids (``dt`` the cycle period).

Severity
--------
``warning`` when the predicted time to loss of separation (or to entry) ``t_in_s`` is at most
``warning_t_in_s`` (default 120 s), which includes a current loss (``t_in_s == 0``); ``caution``
otherwise. Nonconformance is always ``caution``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Literal

from deconflict.errors import InvalidInputError, NotFoundError

AlertKind = Literal["conflict", "incursion", "nonconforming", "dense_cluster"]
Severity = Literal["caution", "warning"]
EventKind = Literal["raised", "updated", "acknowledged", "resolved"]

_NONE, _REFRESH, _URGENT = 0, 1, 2
"""What changed since an alert was last published (:meth:`AlertTracker._change`)."""

WARNING_T_IN_S: Final = 120.0
"""Time to loss of separation (s) at or below which an alert is a ``warning``."""

SEVERITY_RANK: Final[Mapping[str, int]] = {"caution": 1, "warning": 2}
"""Ordering of severities, higher is more severe."""


@dataclass(frozen=True)
class Subject:
    """One participant of an alert: an aircraft, a volume or an agreed line.

    Attributes
    ----------
    role:
        ``"aircraft"``, ``"volume"``, ``"line"`` or ``"cluster"`` (a dense cell, see
        :mod:`deconflict.live.density`).
    party:
        The owning party (for a line: the party whose side is violated; ``""`` if shared).
    ref:
        The owner's identifier (aircraft id, volume key, line id). Never shown to other
        parties: the need-to-know layer replaces it with an alert-scoped handle.
    """

    role: Literal["aircraft", "volume", "line", "cluster"]
    party: str
    ref: str


@dataclass(frozen=True)
class Observation:
    """What one detection cycle saw about one alert subject.

    Attributes
    ----------
    kind:
        ``conflict`` (aircraft-aircraft), ``incursion`` (aircraft into another party's volume or
        across an agreed line), ``nonconforming`` (aircraft outside its own volumes) or
        ``dense_cluster`` (too many aircraft in one cell, :mod:`deconflict.live.density`).
    key:
        Stable identity of the situation (for a conflict: ``("conflict", a, b)`` with ``a < b``).
    parties:
        Parties to inform, sorted, unique.
    subjects:
        The aircraft / volume / line concerned.
    t_in_s:
        Predicted time to loss of separation / entry, seconds (0 = now).
    metrics:
        Further figures with units in their names (``hmd_nm``, ``vmd_ft``, ``t_cpa_s`` ...).
    """

    kind: AlertKind
    key: tuple[str, ...]
    parties: tuple[str, ...]
    subjects: tuple[Subject, ...]
    t_in_s: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    guidance: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Coordinated guidance per aircraft id (``deconflict.live.daa``); each party sees its own."""
    profile: str = ""
    """Alerting profile that produced a conflict (``cylinder``, ``airprox``, ``do365b``)."""


@dataclass(frozen=True)
class Alert:
    """Snapshot of one alert. Immutable: every change produces a new snapshot."""

    id: str
    kind: AlertKind
    key: tuple[str, ...]
    parties: tuple[str, ...]
    subjects: tuple[Subject, ...]
    severity: Severity
    t_in_s: float
    metrics: Mapping[str, float]
    raised_at: datetime
    updated_at: datetime
    last_seen_at: datetime
    acked: Mapping[str, datetime]
    state: Literal["open", "resolved"] = "open"
    resolved_at: datetime | None = None
    guidance: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    profile: str = ""

    @property
    def is_open(self) -> bool:
        """True while the alert is open."""
        return self.state == "open"


@dataclass(frozen=True)
class AlertEvent:
    """One lifecycle event. ``party`` is set for ``acknowledged`` (the acknowledging party)."""

    kind: EventKind
    alert: Alert
    at: datetime
    party: str | None = None
    reopened: bool = False


@dataclass(frozen=True)
class HysteresisPolicy:
    """Parameters of the lifecycle rule (see the module docstring)."""

    clear_cycles: int = 3
    clear_s: float = 3.0
    reraise_hold_s: float = 60.0
    warning_t_in_s: float = WARNING_T_IN_S
    update_t_in_s: float = 15.0
    update_hmd_nm: float = 0.5
    update_vmd_ft: float = 200.0
    min_update_interval_s: float = 5.0
    max_refreshes_per_cycle: int = 100
    """Most ``updated`` events one cycle publishes for figures that merely drifted (time to
    LoS, HMD, VMD); the most urgent (smallest ``t_in_s``) go first, the rest wait for the next
    cycle. Severity, level and guidance changes are never held back. Bounds a cycle's work when
    many alerts drift together (e.g. raised in one cycle: each update costs ~1 ms to persist
    and publish)."""

    def __post_init__(self) -> None:
        if self.clear_cycles < 1:
            raise InvalidInputError(field="clear_cycles", reason="must be at least 1")
        if self.max_refreshes_per_cycle < 1:
            raise InvalidInputError(field="max_refreshes_per_cycle", reason="must be at least 1")
        for name in ("clear_s", "reraise_hold_s", "warning_t_in_s", "min_update_interval_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise InvalidInputError(field=name, reason="must be a finite number >= 0")


def severity_for(
    kind: AlertKind,
    t_in_s: float,
    *,
    warning_t_in_s: float,
    level: float | None = None,
    warning_level: float | None = None,
) -> Severity:
    """Severity: ``warning`` if ``t_in_s <= warning_t_in_s`` (both s), else ``caution``.

    A graded alert (``level`` and ``warning_level`` given, from ``deconflict.live.daa``) is a
    ``warning`` at the profile's warning level (DO-365B level 3; level 1 of one-level profiles
    keeps the time rule) and ``caution`` below it."""
    if kind == "nonconforming":
        return "caution"
    if level is not None and warning_level is not None and warning_level > 1:
        return "warning" if level >= warning_level else "caution"
    return "warning" if t_in_s <= warning_t_in_s else "caution"


@dataclass
class _Entry:
    alert: Alert
    absent_cycles: int = 0
    published: Alert | None = None


def _sequential_ids(prefix: str = "A") -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter)}"


class AlertTracker:
    """Keeps the open (and recently resolved) alerts and applies the hysteresis rule.

    Parameters
    ----------
    policy:
        The hysteresis / severity parameters.
    new_id:
        Factory of fresh alert ids (default ``A1``, ``A2``, ...). The engine passes one that is
        unique across restarts.
    """

    def __init__(
        self, policy: HysteresisPolicy | None = None, *, new_id: Callable[[], str] | None = None
    ) -> None:
        self.policy = policy or HysteresisPolicy()
        self._new_id = new_id or _sequential_ids()
        self._open: dict[tuple[str, ...], _Entry] = {}
        self._resolved: dict[tuple[str, ...], Alert] = {}
        self._by_id: dict[str, tuple[str, ...]] = {}

    # ----------------------------------------------------------------------------- queries
    def open_alerts(self) -> list[Alert]:
        """The open alerts, ordered by id creation order."""
        return [entry.alert for entry in self._open.values()]

    def get(self, alert_id: str) -> Alert:
        """The alert with ``alert_id`` (open or recently resolved); raises NotFoundError."""
        key = self._by_id.get(alert_id)
        if key is not None:
            if key in self._open and self._open[key].alert.id == alert_id:
                return self._open[key].alert
            resolved = self._resolved.get(key)
            if resolved is not None and resolved.id == alert_id:
                return resolved
        raise NotFoundError(f"alert {alert_id!r} not found")

    # ----------------------------------------------------------------------------- update
    def observe(self, observations: Iterable[Observation], now: datetime) -> list[AlertEvent]:
        """Feed one detection cycle's observations; return the lifecycle events it causes.

        Parameters
        ----------
        observations:
            Everything the cycle saw. Duplicate keys: the last one wins.
        now:
            Cycle time (timezone-aware UTC).
        """
        if now.tzinfo is None:
            raise InvalidInputError(field="now", reason="must be timezone-aware UTC")
        policy = self.policy
        seen: dict[tuple[str, ...], Observation] = {obs.key: obs for obs in observations}
        events: list[AlertEvent | None] = []
        refreshes: list[tuple[int, _Entry, Alert]] = []  # (slot in events, entry, alert)
        for key, obs in seen.items():
            severity = severity_for(
                obs.kind,
                obs.t_in_s,
                warning_t_in_s=policy.warning_t_in_s,
                level=obs.metrics.get("level"),
                warning_level=obs.metrics.get("warning_level"),
            )
            entry = self._open.get(key)
            if entry is None:
                events.append(self._raise(key, obs, severity, now))
                continue
            entry.absent_cycles = 0
            old = entry.alert
            acked = old.acked
            escalated = SEVERITY_RANK[severity] > SEVERITY_RANK[old.severity]
            if escalated:
                acked = {}
            # ``replace(old, severity=..., ...)`` built directly (~3x faster per open alert)
            current = Alert(
                old.id,
                old.kind,
                old.key,
                obs.parties,
                obs.subjects,
                severity,
                obs.t_in_s,
                dict(obs.metrics),
                old.raised_at,
                old.updated_at,
                now,
                acked,
                old.state,
                old.resolved_at,
                dict(obs.guidance),
                obs.profile,
            )
            change = self._change(entry.published or old, current, now)
            if change == _URGENT:
                current = replace(current, updated_at=now)
                entry.published = current
                events.append(AlertEvent("updated", current, now))
            elif change == _REFRESH:
                refreshes.append((len(events), entry, current))
                events.append(None)  # filled below unless held back to a later cycle
            entry.alert = current
        if refreshes:
            allowed = {id(e) for _, e, _ in refreshes}
            cap = policy.max_refreshes_per_cycle
            if len(refreshes) > cap:
                urgent_first = sorted(refreshes, key=lambda r: r[2].t_in_s)[:cap]
                allowed = {id(e) for _, e, _ in urgent_first}
            for slot, entry, current in refreshes:
                if id(entry) in allowed:
                    published = replace(current, updated_at=now)
                    entry.alert = entry.published = published
                    events[slot] = AlertEvent("updated", published, now)
        for key in [k for k in self._open if k not in seen]:
            entry = self._open[key]
            entry.absent_cycles += 1
            gone_s = (now - entry.alert.last_seen_at).total_seconds()
            if entry.absent_cycles >= policy.clear_cycles and gone_s >= policy.clear_s:
                resolved = replace(entry.alert, state="resolved", resolved_at=now, updated_at=now)
                del self._open[key]
                self._resolved[key] = resolved
                events.append(AlertEvent("resolved", resolved, now))
        self._forget_old(now)
        return [event for event in events if event is not None]

    def acknowledge(self, alert_id: str, party: str, now: datetime) -> AlertEvent | None:
        """Acknowledge an open alert for ``party`` only.

        Returns the ``acknowledged`` event, or ``None`` if the party had already acknowledged.
        Raises NotFoundError if the alert is unknown, resolved, or ``party`` is not one of its
        parties (the same answer, so that a probe learns nothing).
        """
        key = self._by_id.get(alert_id)
        entry = self._open.get(key) if key is not None else None
        if entry is None or entry.alert.id != alert_id or party not in entry.alert.parties:
            raise NotFoundError(f"alert {alert_id!r} not found")
        if party in entry.alert.acked:
            return None
        acked = dict(entry.alert.acked)
        acked[party] = now
        entry.alert = replace(entry.alert, acked=acked, updated_at=now)
        entry.published = entry.alert
        return AlertEvent("acknowledged", entry.alert, now, party=party)

    # ----------------------------------------------------------------------------- helpers
    def _raise(
        self, key: tuple[str, ...], obs: Observation, severity: Severity, now: datetime
    ) -> AlertEvent:
        previous = self._resolved.pop(key, None)
        reopened = (
            previous is not None
            and previous.resolved_at is not None
            and (now - previous.resolved_at).total_seconds() <= self.policy.reraise_hold_s
        )
        if previous is not None and reopened:
            alert_id = previous.id
            raised_at = previous.raised_at
        else:
            alert_id = self._new_id()
            raised_at = now
            if previous is not None:
                self._by_id.pop(previous.id, None)
        alert = Alert(
            id=alert_id,
            kind=obs.kind,
            key=key,
            parties=obs.parties,
            subjects=obs.subjects,
            severity=severity,
            t_in_s=obs.t_in_s,
            metrics=dict(obs.metrics),
            raised_at=raised_at,
            updated_at=now,
            last_seen_at=now,
            acked={},
            guidance=dict(obs.guidance),
            profile=obs.profile,
        )
        self._open[key] = _Entry(alert=alert, published=alert)
        self._by_id[alert_id] = key
        return AlertEvent("raised", alert, now, reopened=reopened)

    def _change(self, last: Alert, current: Alert, now: datetime) -> int:
        """How ``current`` differs from the ``last`` published alert: :data:`_URGENT` (severity,
        level or guidance changed), :data:`_REFRESH` (figures drifted past their steps, at least
        ``min_update_interval_s`` after the last update) or :data:`_NONE`."""
        policy = self.policy
        if current.severity != last.severity or current.guidance != last.guidance:
            return _URGENT
        if current.metrics.get("level") != last.metrics.get("level"):
            return _URGENT
        if (now - last.updated_at).total_seconds() < policy.min_update_interval_s:
            return _NONE
        if abs(current.t_in_s - last.t_in_s) >= policy.update_t_in_s:
            return _REFRESH
        for name, step in (("hmd_nm", policy.update_hmd_nm), ("vmd_ft", policy.update_vmd_ft)):
            a, b = last.metrics.get(name), current.metrics.get(name)
            if a is not None and b is not None and abs(a - b) >= step:
                return _REFRESH
        return _NONE

    def _forget_old(self, now: datetime) -> None:
        hold = self.policy.reraise_hold_s
        for key in [
            k
            for k, alert in self._resolved.items()
            if alert.resolved_at is not None and (now - alert.resolved_at).total_seconds() > hold
        ]:
            alert = self._resolved.pop(key)
            if self._by_id.get(alert.id) == key and key not in self._open:
                del self._by_id[alert.id]
