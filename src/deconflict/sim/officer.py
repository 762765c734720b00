"""A simulated duty officer for the demo: what the other side's watch does, as pure decisions.

The officer is told what happens (a hotline message addressed to its party, a new live alert, the
fate of a message it sent, an incident naming it) and answers with *actions* due at a scenario
time: acknowledge a message with one of the template answers, send a template message, file an
incident report, respond to one, agree to close it, acknowledge an alert. The demo's driver
(:mod:`deconflict.demo.officers`) carries the actions out through the broker's HTTP API.

Pure: no clock, no I/O, no global random state. Times are **scenario seconds**; wall-clock
times that go into message fields come from the ``to_utc`` function the caller passes in.

Behaviour (the numbers are :class:`OfficerProfile` fields):

* **Watch handover.** Once every ``period_s`` (an hour) the console is unattended for
  ``away_s`` (7 min; RED's 10 min) starting ``away_offset_s`` into the hour (RED: at the top of
  the hour, BLUE: at half past). Anything that arrives meanwhile is answered on return, so a
  FLASH message (5 min deadline) sent just before or during a handover is answered late: the
  recipient's escalation ladder runs and the sender files an incident.
* **Answers.** A message is first acknowledged ``received`` after ``receipt_delay_s``; a
  safety-of-flight warning, a request to deconflict or an intent to enter a zone then gets a
  substantive answer (``will_comply``, or ``unable`` with a reason about one time in
  ``1 / unable_share``), a query ``understood``, after a further ``answer_delay_s``.
* **Warnings.** On a predicted conflict (a ``conflict`` alert) between one of its aircraft and
  the other party's, the officer sends a FLASH safety-of-flight warning (hazard collision risk,
  a 10 NM circle around its aircraft, a 4000 ft band, valid 15 min) -- at most one every
  ``warning_gap_s`` and not before ``first_warning_s``. On an incursion alert about the other
  party's aircraft it sends an IMMEDIATE query about intentions (at most one every
  ``query_gap_s``).
* **Coordinated guidance.** When an alert carries coordinated guidance for one of its aircraft
  (``AlertView.guidance``, issue 13), the officer confirms it to the other party once per alert
  with the ``coordinated_guidance`` template (status ``guidance_confirmed``, IMMEDIATE) after
  ``confirm_guidance_delay_s``: its own manoeuvre and target, the alert, its aircraft by the
  alert-scoped handle the other side knows it by, the profile and level -- never a call sign.
  Guidance that comes and goes during a watch handover is not confirmed.
* **Incidents.** When a FLASH warning it sent is still unanswered at its deadline (the
  broker's escalation has started), the officer files an ``airprox`` incident about the
  predicted conflict; named in an incident, it responds with a statement after
  ``incident_response_delay_s`` and agrees to close ``close_after_s`` after responding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import numpy as np

from deconflict.daa.guidance import TEMPLATE_MANOEUVRE, Manoeuvre, guidance_template_fields

DEFAULT_DEADLINES_S: Final[dict[str, float]] = {
    "flash": 300.0,
    "immediate": 900.0,
    "priority": 3600.0,
    "routine": 21600.0,
}
"""Acknowledgement deadlines of the hotline defaults, scenario seconds per precedence."""

DEFAULT_LADDER_S: Final[tuple[tuple[str, float], ...]] = (
    ("duty_officer", 0.0),
    ("senior_duty_officer", 300.0),
    ("alarm_all_clients", 600.0),
)
"""The default escalation ladder: target and delay after the deadline, scenario seconds."""

SUBSTANTIVE: Final = frozenset(
    {"safety_of_flight_warning", "request_to_deconflict", "intent_to_enter_zone"}
)
"""Templates that get a ``will_comply`` / ``unable`` answer after the receipt."""

UNDERSTOOD: Final = frozenset({"query", "laser_ew_notice", "emergency_sar", "amendment"})
"""Templates that get ``understood`` after the receipt."""

UNABLE_REASONS: Final = (
    "Formation committed to the exercise profile until the end of the window",
    "Aircraft already returning to base; no further change possible",
)
"""Free-text reasons of an ``unable`` answer (shown untranslated, as written)."""


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class OfficerProfile:
    """How one simulated duty officer behaves (times in scenario seconds)."""

    party: str
    other: str
    period_s: float = 3600.0
    away_offset_s: float = 0.0
    away_s: float = 420.0
    first_warning_s: float = 0.0
    warning_gap_s: float = 900.0
    query_gap_s: float = 900.0
    receipt_delay_s: tuple[float, float] = (15.0, 60.0)
    answer_delay_s: tuple[float, float] = (60.0, 240.0)
    unable_share: float = 0.2
    ack_alerts: bool = False
    alert_ack_delay_s: tuple[float, float] = (10.0, 45.0)
    incident_response_delay_s: tuple[float, float] = (240.0, 600.0)
    close_after_s: float = 900.0
    confirm_guidance_delay_s: tuple[float, float] = (5.0, 20.0)

    def away(self, t_s: float) -> bool:
        """True while the console is unattended at scenario time ``t_s``."""
        phase = (t_s - self.away_offset_s) % self.period_s
        return phase < self.away_s

    def back_at(self, t_s: float) -> float:
        """The first scenario time at or after ``t_s`` with someone at the console."""
        if not self.away(t_s):
            return t_s
        phase = (t_s - self.away_offset_s) % self.period_s
        return t_s + (self.away_s - phase)


def default_profiles(*, ack_alerts: bool = False) -> dict[str, OfficerProfile]:
    """The demo's two officers: RED's watch changes at the top of the hour and takes 10 min (so a
    FLASH warning sent in the demo's first minutes is answered past its 5 min deadline, and RED's
    warnings start once it is back), BLUE's at half past and takes 7 min."""
    return {
        "BLUE": OfficerProfile("BLUE", "RED", away_offset_s=1800.0, ack_alerts=ack_alerts),
        "RED": OfficerProfile(
            "RED",
            "BLUE",
            away_offset_s=0.0,
            away_s=600.0,
            first_warning_s=660.0,
            ack_alerts=ack_alerts,
        ),
    }


@dataclass(frozen=True)
class Incoming:
    """A hotline message addressed to the officer's party."""

    id: str
    thread_id: str
    template: str
    precedence: str
    sender: str
    answers: tuple[str, ...] = ()


GUIDANCE_TEMPLATE: Final = TEMPLATE_MANOEUVRE
"""(dimension, side) of a guidance view -> the template's manoeuvre and its target field."""


@dataclass(frozen=True)
class GuidanceSeen:
    """Coordinated guidance for one own aircraft (``AlertView.guidance``): fly ``value`` of
    ``dimension`` (deg, kt, fpm or ft; ``hold``: keep going), turning ``side``."""

    aircraft: str
    dimension: str
    side: str
    value: float
    current: float = 0.0


def guidance_fields(
    g: GuidanceSeen,
    *,
    alert_ref: str,
    track_ref: str,
    profile: str,
    alert_level: int,
    counterpart_guided: bool,
    confirmed: bool = True,
) -> dict[str, Any]:
    """Fields of the ``coordinated_guidance`` template for the manoeuvre ``g`` (units of the
    field names: deg, kt, fpm, ft)."""
    return guidance_template_fields(
        Manoeuvre(g.dimension, g.side, float(g.value), float(g.current), 0.0),
        alert_ref=alert_ref,
        track_ref=track_ref,
        profile=profile,
        alert_level=alert_level,
        counterpart_guided=counterpart_guided,
        confirmed=confirmed,
    )


@dataclass(frozen=True)
class AlertSeen:
    """A live alert as the officer's party sees it, with its own aircraft's state if any.

    ``own_aircraft`` is the party's aircraft in the alert (None: a volume or the line);
    ``other_handle`` the alert-scoped handle of the other party's aircraft.
    """

    id: str
    kind: str
    severity: str
    other_party: str | None
    own_aircraft: str | None = None
    own_callsign: str | None = None
    lat_deg: float | None = None
    lon_deg: float | None = None
    alt_ft: float | None = None
    hmd_nm: float | None = None
    vmd_ft: float | None = None
    t_cpa_s: float | None = None
    other_handle: str | None = None
    own_handle: str | None = None
    level: int | None = None
    profile: str | None = None
    guidance: tuple[GuidanceSeen, ...] = ()
    counterpart_guided: bool = False


@dataclass(frozen=True)
class IncidentSeen:
    """An incident naming the officer's party."""

    id: str
    reporter: str
    state: str
    responded: bool = False
    agreed_to_close: bool = False


@dataclass(frozen=True)
class Action:
    """Something to do at scenario time ``at_s``.

    ``kind``: ``ack`` (message ``ref``, ``answer``, ``reason``), ``send`` (``key`` names it for
    :meth:`DutyOfficer.sent`; ``body`` is the ``POST /v1/hotline/messages`` body), ``ack_alert``
    (alert ``ref``), ``file_incident`` (``body`` for ``POST /v1/incidents``), ``respond``
    (incident ``ref``, ``body`` ``{"statement"}``), ``close`` (incident ``ref``).
    """

    at_s: float
    kind: str
    ref: str = ""
    key: str = ""
    answer: str = ""
    reason: str | None = None
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Sent:
    key: str
    at_s: float
    precedence: str
    alert: AlertSeen | None
    message_id: str | None = None
    settled: bool = False


class DutyOfficer:
    """The simulated duty officer of ``profile.party``.

    Parameters
    ----------
    profile:
        Behaviour (:class:`OfficerProfile`).
    seed:
        Random seed (delays, answers): the same seed and the same events give the same actions.
    to_utc:
        Scenario seconds -> UTC time, for the times written into message fields.
    """

    def __init__(
        self, profile: OfficerProfile, *, seed: int, to_utc: Callable[[float], datetime]
    ) -> None:
        self.profile = profile
        self.to_utc = to_utc
        self._rng = np.random.default_rng([seed & 0xFFFFFFFF, sum(map(ord, profile.party))])
        self._queue: list[Action] = []
        self._seen_messages: set[str] = set()
        self._seen_alerts: set[str] = set()
        self._guided_alerts: set[str] = set()
        self._incidents: dict[str, IncidentSeen] = {}
        self._sent: dict[str, _Sent] = {}
        self._last_warning_s = -np.inf
        self._last_query_s = -np.inf
        self._serial = 0

    # ------------------------------------------------------------------ helpers
    def _uniform(self, bounds: tuple[float, float]) -> float:
        return float(self._rng.uniform(*bounds))

    def _at(self, t_s: float) -> float:
        """``t_s`` moved past a watch handover (nobody answers while away)."""
        return self.profile.back_at(t_s)

    def _schedule(self, action: Action) -> None:
        self._queue.append(action)
        self._queue.sort(key=lambda a: a.at_s)

    def _key(self, prefix: str) -> str:
        self._serial += 1
        return f"{self.profile.party}-{prefix}-{self._serial}"

    # ------------------------------------------------------------------ events
    def on_message(self, message: Incoming, t_s: float) -> None:
        """A message to the officer's party was seen at ``t_s``: schedule its answers."""
        if message.id in self._seen_messages:
            return
        self._seen_messages.add(message.id)
        if message.template in ("acknowledgement", "comm_check"):
            return
        receipt = self._at(t_s + self._uniform(self.profile.receipt_delay_s))
        if not message.answers:
            self._schedule(Action(receipt, "ack", ref=message.id, answer="received"))
        final: str | None = None
        reason: str | None = None
        if message.template in SUBSTANTIVE:
            if float(self._rng.random()) < self.profile.unable_share:
                final = "unable"
                reason = UNABLE_REASONS[int(self._rng.integers(len(UNABLE_REASONS)))]
            else:
                final = "will_comply"
        elif message.template in UNDERSTOOD:
            final = "understood"
        if final is not None and final not in message.answers:
            answer_at = self._at(receipt + self._uniform(self.profile.answer_delay_s))
            self._schedule(Action(answer_at, "ack", ref=message.id, answer=final, reason=reason))

    def on_alert(self, alert: AlertSeen, t_s: float) -> None:
        """An alert of the officer's party was seen at ``t_s`` (each step while it is open)."""
        self._confirm_guidance(alert, t_s)
        if alert.id in self._seen_alerts:
            return
        self._seen_alerts.add(alert.id)
        p = self.profile
        if p.ack_alerts:
            self._schedule(
                Action(
                    self._at(t_s + self._uniform(p.alert_ack_delay_s)), "ack_alert", ref=alert.id
                )
            )
        if p.away(t_s) or alert.other_party is None:
            return
        if (
            alert.kind == "conflict"
            and alert.own_aircraft is not None
            and alert.lat_deg is not None
            and alert.lon_deg is not None
            and t_s >= p.first_warning_s
            and t_s - self._last_warning_s >= p.warning_gap_s
        ):
            self._last_warning_s = t_s
            self._schedule(self._warning(alert, t_s))
        elif (
            alert.kind == "incursion"
            and alert.own_aircraft is None
            and alert.other_handle is not None
            and t_s >= p.first_warning_s
            and t_s - self._last_query_s >= p.query_gap_s
        ):
            self._last_query_s = t_s
            key = self._key("query")
            self._sent[key] = _Sent(key, t_s, "immediate", None)
            self._schedule(
                Action(
                    t_s,
                    "send",
                    key=key,
                    body={
                        "recipient": alert.other_party,
                        "template": "query",
                        "precedence": "immediate",
                        "fields": {
                            "subject": "intentions",
                            "track_ref": alert.other_handle,
                            "respond_by": _iso(self.to_utc(t_s + 600.0)),
                        },
                    },
                )
            )

    def _confirm_guidance(self, alert: AlertSeen, t_s: float) -> None:
        """Confirm the alert's guidance for an own aircraft to the other party (once per alert)."""
        if alert.id in self._guided_alerts or not alert.guidance or alert.other_party is None:
            return
        if self.profile.away(t_s):
            return  # nobody at the console: confirmed on return if the alert is still open
        mine = [g for g in alert.guidance if g.aircraft == alert.own_aircraft]
        g = (mine or list(alert.guidance))[0]
        if (g.dimension, g.side) not in GUIDANCE_TEMPLATE:
            return
        self._guided_alerts.add(alert.id)
        fields = guidance_fields(
            g,
            alert_ref=alert.id,
            track_ref=alert.own_handle or alert.id,
            profile=alert.profile or "cylinder",
            alert_level=min(3, max(1, alert.level or 2)),
            counterpart_guided=alert.counterpart_guided,
        )
        key = self._key("guidance")
        self._sent[key] = _Sent(key, t_s, "immediate", None)
        at = self._at(t_s + self._uniform(self.profile.confirm_guidance_delay_s))
        body = {
            "recipient": alert.other_party,
            "template": "coordinated_guidance",
            "precedence": "immediate",
            "fields": fields,
        }
        self._schedule(Action(at, "send", key=key, body=body))

    def _warning(self, alert: AlertSeen, t_s: float) -> Action:
        assert alert.lat_deg is not None and alert.lon_deg is not None
        key = self._key("warning")
        self._sent[key] = _Sent(key, t_s, "flash", alert)
        alt = float(alert.alt_ft or 25000.0)
        lower = max(0.0, round((alt - 2000.0) / 100.0) * 100.0)
        fields: dict[str, Any] = {
            "hazard": "collision_risk",
            "area": {
                "center": {"lat_deg": round(alert.lat_deg, 4), "lon_deg": round(alert.lon_deg, 4)},
                "radius_nm": 10,
            },
            "altitude": {"lower_ft": lower, "upper_ft": lower + 4000.0},
            "valid_from": _iso(self.to_utc(t_s)),
            "valid_to": _iso(self.to_utc(t_s + 900.0)),
            "recommended_action": "turn_right",
        }
        if alert.other_handle:
            fields["affected_track_ref"] = alert.other_handle
        # No subject (free text, shown untranslated): each side's screen titles the thread with
        # the template's name in its own language. The fields name no aircraft of ours: the
        # other side learns what the alert already disclosed (its handle), nothing more.
        return Action(
            t_s,
            "send",
            key=key,
            body={
                "recipient": alert.other_party,
                "template": "safety_of_flight_warning",
                "precedence": "flash",
                "fields": fields,
            },
        )

    def sent(self, key: str, message_id: str) -> None:
        """The driver sent the message ``key``; the broker gave it ``message_id``."""
        if key in self._sent:
            self._sent[key].message_id = message_id

    def sent_ids(self) -> list[str]:
        """Ids of sent messages whose fate the officer still watches."""
        return [s.message_id for s in self._sent.values() if s.message_id and not s.settled]

    def on_sent_status(
        self, message_id: str, *, answered: bool, escalated: bool, t_s: float
    ) -> None:
        """The fate of a message it sent: answered, or escalated (unanswered past its deadline).

        An escalated FLASH warning makes the officer file an ``airprox`` incident (once)."""
        sent = next((s for s in self._sent.values() if s.message_id == message_id), None)
        if sent is None or sent.settled:
            return
        if answered and not escalated:
            sent.settled = True
            return
        if not escalated:
            return
        sent.settled = True
        alert = sent.alert
        if sent.precedence != "flash" or alert is None or alert.other_party is None:
            return
        assert alert.lat_deg is not None and alert.lon_deg is not None
        event_s = sent.at_s + float(alert.t_cpa_s or 0.0)
        body: dict[str, Any] = {
            "category": "airprox",
            "other_parties": [alert.other_party],
            "time_of_event": _iso(self.to_utc(event_s)),
            "position": {"lat_deg": round(alert.lat_deg, 4), "lon_deg": round(alert.lon_deg, 4)},
        }
        if alert.alt_ft is not None:
            body["altitude_ft"] = round(alert.alt_ft)
        if alert.hmd_nm is not None:
            body["hmd_nm"] = round(alert.hmd_nm, 2)
        if alert.vmd_ft is not None:
            body["vmd_ft"] = round(alert.vmd_ft)
        self._schedule(Action(t_s, "file_incident", key=self._key("incident"), body=body))

    def on_incident(self, incident: IncidentSeen, t_s: float) -> None:
        """An incident naming the officer's party, as listed at ``t_s``."""
        if incident.state == "closed":
            self._incidents[incident.id] = incident
            return
        known = self._incidents.get(incident.id)
        self._incidents[incident.id] = incident
        if known is not None:
            return
        p = self.profile
        if incident.reporter != p.party and not incident.responded:
            at = self._at(t_s + self._uniform(p.incident_response_delay_s))
            self._schedule(
                Action(
                    at,
                    "respond",
                    ref=incident.id,
                    body={
                        "statement": (
                            "Our aircraft was under positive control and maintained visual "
                            "contact; the warning arrived during the watch handover."
                        )
                    },
                )
            )
            at = at + p.close_after_s
        else:
            at = t_s + p.close_after_s + self._uniform(p.incident_response_delay_s)
        if not incident.agreed_to_close:
            self._schedule(Action(self._at(at), "close", ref=incident.id))

    # ------------------------------------------------------------------ output
    def due(self, t_s: float) -> list[Action]:
        """Pop every action due at or before ``t_s`` (oldest first)."""
        ready = [a for a in self._queue if a.at_s <= t_s]
        self._queue = [a for a in self._queue if a.at_s > t_s]
        return ready

    def pending(self) -> list[Action]:
        """Actions scheduled but not yet due (for display and tests)."""
        return list(self._queue)
