"""Incidents: report, responses, closure by agreement of every party (pure state machine).

States (:class:`IncidentState`)::

    open --respond(other party)--> responded
    open|responded --agree_to_close(any party)--> closure_proposed
    closure_proposed --agree_to_close(every party)--> closed
    closure_proposed --reject_closure(a party)--> open|responded (agreements cleared)

An incident stays open until *every* party named in it agrees to close it; no party can close it
alone. Any party may add statements (the reporter's counter-statements included) until it is
closed; the first statement by a party other than the reporter moves ``open`` to ``responded``.
Evidence is a list of track excerpts supplied by the caller (the broker cuts them from stored
track history). Every act appends an :class:`IncidentAct` to ``history`` for the log.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from deconflict.errors import ForbiddenError, InvalidInputError
from deconflict.hotline.errors import StateTransitionError
from deconflict.hotline.messages import PartyId, check_free_text
from deconflict.hotline.templates import IncidentCategory, Position, UtcTime

DEFAULT_RESPONSE_WITHIN: Final = timedelta(days=2)
"""Default time the other parties have to respond to a report (urgent CBM practice: 2 days)."""

MAX_EVIDENCE_POINTS: Final = 20_000
"""Most track points one report may carry across all excerpts."""


class IncidentState(StrEnum):
    """Life-cycle state of an incident."""

    OPEN = "open"
    RESPONDED = "responded"
    CLOSURE_PROPOSED = "closure_proposed"
    CLOSED = "closed"


class TrackPoint(BaseModel):
    """One track point: time (UTC), WGS84 degrees, altitude in feet (optional)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time: UtcTime
    lat_deg: float = Field(ge=-90.0, le=90.0)
    lon_deg: float = Field(ge=-180.0, le=180.0)
    alt_ft: float | None = Field(default=None, ge=-1500.0, le=100_000.0)


class TrackExcerpt(BaseModel):
    """A slice of one track's history, points in time order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    track_ref: str = Field(min_length=1, max_length=64)
    party: str | None = Field(default=None, max_length=64)
    points: tuple[TrackPoint, ...] = Field(min_length=1, max_length=MAX_EVIDENCE_POINTS)

    @field_validator("points")
    @classmethod
    def _time_ordered(cls, points: tuple[TrackPoint, ...]) -> tuple[TrackPoint, ...]:
        if any(a.time > b.time for a, b in itertools.pairwise(points)):
            raise ValueError("points must be in time order")
        return points


class IncidentReport(BaseModel):
    """What the reporter states: who, when, where, how close, what kind."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    category: IncidentCategory
    reporter: str = Field(min_length=1, max_length=64)
    other_parties: tuple[str, ...] = Field(min_length=1, max_length=20)
    time_of_event: UtcTime
    position: Position
    altitude_ft: float | None = Field(default=None, ge=-1500.0, le=100_000.0)
    hmd_nm: float | None = Field(default=None, ge=0.0, le=1000.0)
    vmd_ft: float | None = Field(default=None, ge=0.0, le=100_000.0)
    summary: str | None = Field(default=None, max_length=4000)
    evidence: tuple[TrackExcerpt, ...] = Field(default=(), max_length=100)

    @model_validator(mode="after")
    def _parties(self) -> IncidentReport:
        if self.reporter in self.other_parties:
            raise ValueError("other_parties must not include the reporter")
        if len(set(self.other_parties)) != len(self.other_parties):
            raise ValueError("other_parties must not repeat a party")
        if sum(len(e.points) for e in self.evidence) > MAX_EVIDENCE_POINTS:
            raise ValueError(f"evidence holds more than {MAX_EVIDENCE_POINTS} points")
        return self

    @property
    def parties(self) -> tuple[str, ...]:
        """Every party to the incident, reporter first."""
        return (self.reporter, *self.other_parties)


class IncidentActKind(StrEnum):
    """Kinds of logged incident acts."""

    FILED = "filed"
    RESPONDED = "responded"
    CLOSURE_AGREED = "closure_agreed"
    CLOSURE_REJECTED = "closure_rejected"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class IncidentAct:
    """One logged act on an incident."""

    kind: IncidentActKind
    party: PartyId
    at: datetime
    text: str | None = None
    evidence: tuple[TrackExcerpt, ...] = ()


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident and its history. Immutable: every act returns a new one."""

    id: str
    report: IncidentReport
    state: IncidentState
    filed_at: datetime
    response_due: datetime
    closure_agreed_by: frozenset[PartyId] = frozenset()
    history: tuple[IncidentAct, ...] = ()

    @property
    def responses(self) -> tuple[IncidentAct, ...]:
        """Statements made after the report (by any party)."""
        return tuple(a for a in self.history if a.kind is IncidentActKind.RESPONDED)


def _aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise InvalidInputError(field="now", reason="must be timezone-aware UTC")


def file_incident(
    incident_id: str,
    report: IncidentReport,
    *,
    now: datetime,
    response_within: timedelta = DEFAULT_RESPONSE_WITHIN,
) -> Incident:
    """Open an incident from ``report`` at ``now``; responses are due ``response_within`` later."""
    _aware(now)
    if not incident_id or len(incident_id) > 64:
        raise InvalidInputError(field="id", reason="must be 1 to 64 characters")
    if report.time_of_event > now:
        raise InvalidInputError(field="time_of_event", reason="must not be in the future")
    if response_within <= timedelta(0):
        raise InvalidInputError(field="response_within", reason="must be positive")
    act = IncidentAct(IncidentActKind.FILED, PartyId(report.reporter), now, report.summary)
    return Incident(
        id=incident_id,
        report=report,
        state=IncidentState.OPEN,
        filed_at=now,
        response_due=now + response_within,
        history=(act,),
    )


def _party(incident: Incident, party: str) -> PartyId:
    if party not in incident.report.parties:
        raise ForbiddenError("only a party to the incident may act on it")
    return PartyId(party)


def _not_closed(incident: Incident, action: str) -> None:
    if incident.state is IncidentState.CLOSED:
        raise StateTransitionError(obj="incident", state="closed", action=action)


def respond(
    incident: Incident,
    *,
    party: str,
    statement: str,
    now: datetime,
    evidence: tuple[TrackExcerpt, ...] = (),
) -> Incident:
    """Add ``party``'s statement (free text, required) with optional track evidence."""
    _aware(now)
    who = _party(incident, party)
    _not_closed(incident, "respond")
    text = check_free_text(statement, field="statement")
    if not text:
        raise InvalidInputError(field="statement", reason="must not be empty")
    act = IncidentAct(IncidentActKind.RESPONDED, who, now, text, tuple(evidence))
    state = incident.state
    if state is IncidentState.OPEN and who != incident.report.reporter:
        state = IncidentState.RESPONDED
    return replace(incident, state=state, history=(*incident.history, act))


def agree_to_close(incident: Incident, *, party: str, now: datetime) -> Incident:
    """``party`` agrees to close; the incident closes when every party has agreed."""
    _aware(now)
    who = _party(incident, party)
    _not_closed(incident, "agree to close")
    if who in incident.closure_agreed_by:
        raise StateTransitionError(
            obj="incident", state=f"already agreed to close by {who}", action="agree again"
        )
    agreed = incident.closure_agreed_by | {who}
    history = (*incident.history, IncidentAct(IncidentActKind.CLOSURE_AGREED, who, now))
    if agreed >= set(incident.report.parties):
        history = (*history, IncidentAct(IncidentActKind.CLOSED, who, now))
        return replace(
            incident, state=IncidentState.CLOSED, closure_agreed_by=agreed, history=history
        )
    return replace(
        incident,
        state=IncidentState.CLOSURE_PROPOSED,
        closure_agreed_by=agreed,
        history=history,
    )


def reject_closure(incident: Incident, *, party: str, reason: str, now: datetime) -> Incident:
    """``party`` refuses a proposed closure (reason required); the agreements are cleared."""
    _aware(now)
    who = _party(incident, party)
    if incident.state is not IncidentState.CLOSURE_PROPOSED:
        raise StateTransitionError(
            obj="incident", state=incident.state.value, action="reject closure"
        )
    if who in incident.closure_agreed_by:
        raise StateTransitionError(
            obj="incident", state=f"agreed to close by {who}", action="reject closure"
        )
    text = check_free_text(reason, field="reason")
    if not text:
        raise InvalidInputError(field="reason", reason="must not be empty")
    answered = any(a.party != incident.report.reporter for a in incident.responses)
    act = IncidentAct(IncidentActKind.CLOSURE_REJECTED, who, now, text)
    return replace(
        incident,
        state=IncidentState.RESPONDED if answered else IncidentState.OPEN,
        closure_agreed_by=frozenset(),
        history=(*incident.history, act),
    )


def response_overdue(incident: Incident, now: datetime) -> bool:
    """True if no other party has responded and ``now`` is past the response deadline."""
    _aware(now)
    answered = any(a.party != incident.report.reporter for a in incident.responses)
    return (
        not answered and incident.state is not IncidentState.CLOSED and now > incident.response_due
    )
