"""The hotline API: templates, messages and acknowledgements, channels, ladders, incidents.

Party members read (``viewer`` and up); duty officers and party admins write. Every write is
persisted, pushed on the parties' event streams (``message``, ``channel``, ``alert`` kinds) and
appended to the tamper-evident log in the same transaction, before the response is sent. The
broker operator configures a channel's acknowledgement deadlines and communications checks
(agreement settings) but reads no message.

A background task (:data:`background_tasks`) takes due escalation steps and issues and checks
communications checks every ``hotline_tick_s`` seconds (setting, default 5 s).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, ParamSpec, TypeVar

import anyio
from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from deconflict import hotline as hl
from deconflict.broker import hotline as service
from deconflict.broker import limits
from deconflict.broker.hotline.views import (
    ChannelSettingsView,
    ChannelView,
    IncidentView,
    LadderView,
    MessageAckNotice,
    MessageView,
    TemplateView,
    ThreadView,
)
from deconflict.broker.parties import Principal
from deconflict.hotline.labels import TEMPLATE_TITLES
from deconflict.web.deps import (
    OperatorDep,
    PartyPrincipalDep,
    SessionDep,
    WriterPrincipalDep,
    require_role,
)
from deconflict.web.problems import problem

router = APIRouter(tags=["hotline"])
log = logging.getLogger("deconflict.hotline")

P = ParamSpec("P")
R = TypeVar("R")

#: Default period of the escalation / communications-check task (s).
DEFAULT_TICK_S = 5.0


def field_errors(func: Callable[P, R]) -> Callable[P, R | JSONResponse]:
    """Answer :class:`~deconflict.hotline.FieldErrors` with *every* bad field (422), not just one.

    Validation happens before anything is written, so the transaction has nothing to commit.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | JSONResponse:
        try:
            return func(*args, **kwargs)
        except hl.FieldErrors as exc:
            return problem(
                exc.status,
                exc.title,
                exc.message,
                errors=[{"field": f, "reason": r} for f, r in exc.errors],
            )

    return wrapper


def _now() -> datetime:
    return datetime.now(UTC)


def _party(principal: Principal) -> str:
    assert principal.party_id is not None  # party roles only (dependency checked)
    return principal.party_id


def _lang(lang: str) -> str:
    return hl.check_language(lang, field="query.lang")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentIn(_In):
    """What a message is about: a conflict, alert, incident or notice id."""

    kind: str = Field(description="conflict | alert | incident | notice")
    ref: str = Field(min_length=1, max_length=64)


class MessageCreate(_In):
    """A new message. ``fields`` follow the template's schema (``GET /v1/hotline/templates``)."""

    recipient: str = Field(
        description="Recipient as the sender knows it: its name, or the pseudonym of the shared "
        "agreement (404 when the parties share no agreement)",
        min_length=1,
        max_length=200,
    )
    template: str
    fields: dict[str, Any]
    precedence: str = Field(default="routine", description="flash | immediate | priority | routine")
    thread_id: str | None = Field(default=None, max_length=64)
    subject: str | None = Field(default=None, description="Subject of a new thread")
    attachment: AttachmentIn | None = None
    free_text: str | None = Field(default=None, description="Shown untranslated (limit 4,000)")


class AckCreate(_In):
    """An acknowledgement: received | understood | will_comply | unable (reason required)."""

    answer: str
    reason: str | None = None


class ReasonIn(_In):
    """A reason (free text, shown untranslated)."""

    reason: str


class CommCheckIn(_In):
    """Communications-check schedule."""

    anchor: datetime
    interval_s: float = Field(ge=60, le=7 * 86400)
    answer_within_s: float = Field(gt=0, le=7 * 86400)


class ChannelSettingsIn(_In):
    """Agreement settings of a channel (operator)."""

    ack_deadlines_s: dict[str, Annotated[float, Field(gt=0, le=7 * 86400)]] | None = None
    comm_check: CommCheckIn | None = None


class LadderStepIn(_In):
    """One step of an escalation ladder."""

    target: str = Field(description=", ".join(t.value for t in hl.EscalationTarget))
    after_s: float = Field(
        ge=0, le=7 * 86400, description="Seconds after the acknowledgement deadline"
    )


class LadderIn(_In):
    """A party's escalation ladder."""

    steps: list[LadderStepIn] = Field(min_length=1, max_length=10)


class IncidentResponseIn(_In):
    """A statement on an incident, optionally with track excerpts as evidence."""

    statement: str
    evidence: list[dict[str, Any]] = Field(default_factory=list, max_length=100)


LangQuery = Annotated[str, Query(description="Reader language: en | ru", max_length=10)]


# --------------------------------------------------------------------------- templates


@router.get(
    "/v1/hotline/templates",
    summary="Standard templates with their field schemas",
    response_model=list[TemplateView],
    response_model_exclude_unset=True,
)
def list_templates(principal: PartyPrincipalDep, lang: LangQuery = "en") -> list[dict[str, Any]]:
    """Every template: name, title in ``lang``, JSON Schema of its fields."""
    fmt = hl.i18n.Formatter(_lang(lang))
    return [
        {
            "name": t.value,
            "title": fmt.gettext(TEMPLATE_TITLES[t.value]),
            "schema": hl.template_schema(t),
        }
        for t in hl.Template
    ]


# --------------------------------------------------------------------------- messages


@router.post(
    "/v1/hotline/messages",
    summary="Send a message (persisted before the 201; queued while the channel is suspended)",
    status_code=201,
    response_model=MessageView,
    response_model_exclude_unset=True,
)
@field_errors
def send_message(
    body: MessageCreate, principal: WriterPrincipalDep, session: SessionDep, request: Request
) -> dict[str, Any]:
    """Validate and store the message, push it to the recipient's stream, log the act.

    Rate-limited per sending party and precedence (FLASH scarcest; 429 with Retry-After,
    ``deconflict.broker.limits.HOTLINE_RATES``)."""
    limiter = getattr(request.app.state, "hotline_limiter", None)
    if limiter is None:
        limiter = request.app.state.hotline_limiter = limits.SlidingWindowLimiter()
    limiter.hit(_party(principal), str(body.precedence).lower(), time.monotonic())
    return service.send_message(
        session,
        sender=_party(principal),
        recipient=body.recipient,
        template=body.template,
        fields=body.fields,
        precedence=body.precedence,
        now=_now(),
        thread_id=body.thread_id,
        subject=body.subject,
        attachment=body.attachment.model_dump() if body.attachment else None,
        free_text=body.free_text,
    )


@router.get(
    "/v1/hotline/threads",
    summary="Own threads, latest first",
    response_model=list[ThreadView],
    response_model_exclude_unset=True,
)
def list_threads(principal: PartyPrincipalDep, session: SessionDep) -> list[dict[str, Any]]:
    """Threads with the other party, message counts and messages awaiting our acknowledgement."""
    return service.list_threads(session, _party(principal))


@router.get(
    "/v1/hotline/messages",
    summary="Messages of a thread (or the latest), rendered",
    response_model=list[MessageView],
    response_model_exclude_unset=True,
)
def list_messages(
    principal: PartyPrincipalDep,
    session: SessionDep,
    thread: Annotated[str | None, Query(max_length=64)] = None,
    lang: LangQuery = "en",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Oldest first, each with its acknowledgements, escalations and rendering in ``lang``."""
    return service.list_messages(
        session, _party(principal), thread_id=thread, lang=_lang(lang), limit=limit
    )


@router.get(
    "/v1/hotline/messages/{message_id}",
    summary="One message, rendered",
    response_model=MessageView,
    response_model_exclude_unset=True,
)
def get_message(
    message_id: str, principal: PartyPrincipalDep, session: SessionDep, lang: LangQuery = "en"
) -> dict[str, Any]:
    """404 for a message of other parties (the same answer as for a missing one)."""
    return service.get_message(session, _party(principal), message_id, lang=_lang(lang))


@router.post(
    "/v1/hotline/messages/{message_id}/ack",
    summary="Acknowledge a message addressed to the caller's party",
    status_code=201,
    response_model=MessageAckNotice,
    response_model_exclude_unset=True,
)
@field_errors
def ack_message(
    message_id: str, body: AckCreate, principal: WriterPrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """403 for the sender or a third party; 409 for the same answer again or a step back."""
    return service.ack_message(
        session,
        _party(principal),
        message_id,
        answer=body.answer,
        reason=body.reason,
        now=_now(),
    )


# --------------------------------------------------------------------------- channels


@router.get(
    "/v1/hotline/channels",
    summary="Own channels and their states",
    response_model=list[ChannelView],
    response_model_exclude_unset=True,
)
def list_channels(principal: PartyPrincipalDep, session: SessionDep) -> list[dict[str, Any]]:
    """State, suspending parties, queued messages, deadlines, recent events."""
    return service.list_channels(session, _party(principal))


def _other(session: Any, principal: Principal, other: str) -> str:
    """The party the caller addresses as ``other`` (404 without a shared agreement)."""
    return service.resolve_counterpart(session, _party(principal), other, field="path.party")


@router.get(
    "/v1/hotline/channels/{party}",
    summary="The channel with another party",
    response_model=ChannelView,
    response_model_exclude_unset=True,
)
@field_errors
def get_channel(party: str, principal: PartyPrincipalDep, session: SessionDep) -> dict[str, Any]:
    """The channel is created (active) on first use."""
    return service.channel_view(session, _party(principal), _other(session, principal, party))


@router.post(
    "/v1/hotline/channels/{party}/suspend",
    summary="Suspend the channel (unilateral; logged and shown to both sides)",
    response_model=ChannelView,
    response_model_exclude_unset=True,
)
@field_errors
def suspend_channel(
    party: str, body: ReasonIn, principal: WriterPrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """Messages sent while suspended are queued and delivered on restoration."""
    other = _other(session, principal, party)
    return service.suspend_channel(
        session, _party(principal), other, reason=body.reason, now=_now()
    )


@router.post(
    "/v1/hotline/channels/{party}/restore",
    summary="Lift the caller's suspension; releases the queue when none remains",
    response_model=ChannelView,
    response_model_exclude_unset=True,
)
@field_errors
def restore_channel(
    party: str, principal: WriterPrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """409 when the caller's party did not suspend the channel."""
    other = _other(session, principal, party)
    return service.restore_channel(session, _party(principal), other, now=_now())


@router.post(
    "/v1/hotline/channels/{party}/comm-checks/{sequence}/answer",
    summary="Answer a communications check",
    response_model=ChannelView,
    response_model_exclude_unset=True,
)
@field_errors
def answer_comm_check(
    party: str,
    sequence: Annotated[int, Path(ge=1, le=2**31 - 1)],
    principal: WriterPrincipalDep,
    session: SessionDep,
) -> dict[str, Any]:
    """When both sides answered in time a degraded or restored channel becomes active."""
    other = _other(session, principal, party)
    return service.answer_comm_check(
        session, _party(principal), other, sequence=sequence, now=_now()
    )


@router.put(
    "/v1/hotline/channels/{party_a}/{party_b}/settings",
    summary="Agreement settings of a channel: deadlines and comm-check schedule (operator)",
    response_model=ChannelSettingsView,
    response_model_exclude_unset=True,
)
@field_errors
def configure_channel(
    party_a: str,
    party_b: str,
    body: ChannelSettingsIn,
    principal: OperatorDep,
    session: SessionDep,
) -> dict[str, Any]:
    """Acknowledgement deadlines per precedence (seconds) and the communications checks."""
    a = service.resolve_party(session, party_a, field="path.party_a")
    b = service.resolve_party(session, party_b, field="path.party_b")
    if a == b:
        raise hl.FieldErrors([("path.party_b", "must be another party")])
    comm = None
    if body.comm_check is not None:
        comm = {
            "anchor": body.comm_check.anchor,
            "interval_s": body.comm_check.interval_s,
            "answer_within_s": body.comm_check.answer_within_s,
        }
    result = service.configure_channel(
        session, a, b, ack_deadlines_s=body.ack_deadlines_s, comm_check=comm, now=_now()
    )
    result.pop("events", None)
    return result


# --------------------------------------------------------------------------- ladder


@router.get(
    "/v1/hotline/ladder",
    summary="Own escalation ladder",
    response_model=LadderView,
    response_model_exclude_unset=True,
)
def get_ladder(principal: PartyPrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Steps with their delay after the acknowledgement deadline (s)."""
    return service.ladder_json(service.get_ladder(session, _party(principal)))


@router.put(
    "/v1/hotline/ladder",
    summary="Replace own escalation ladder (party admin)",
    response_model=LadderView,
    response_model_exclude_unset=True,
)
@field_errors
def put_ladder(
    body: LadderIn,
    principal: Annotated[Principal, Depends(require_role("party_admin"))],
    session: SessionDep,
) -> dict[str, Any]:
    """Delays must not decrease along the ladder."""
    ladder = service.set_ladder(
        session, _party(principal), [s.model_dump() for s in body.steps], now=_now()
    )
    return service.ladder_json(ladder)


# --------------------------------------------------------------------------- incidents


@router.post(
    "/v1/incidents",
    summary="File an incident report",
    status_code=201,
    response_model=IncidentView,
    response_model_exclude_unset=True,
)
@field_errors
def file_incident(
    principal: WriterPrincipalDep,
    session: SessionDep,
    body: Annotated[
        dict[str, Any], Body(description="category, other_parties, time_of_event, ...")
    ],
) -> dict[str, Any]:
    """Fields: ``category``, ``other_parties`` (names or pseudonyms), ``time_of_event``,
    ``position`` ``{lat_deg, lon_deg}``, optional ``altitude_ft``, ``hmd_nm``, ``vmd_ft``,
    ``summary``, ``evidence`` (track excerpts), ``response_within_h``."""
    return service.file_incident(session, _party(principal), body, now=_now())


@router.get(
    "/v1/incidents",
    summary="Incidents naming the caller's party",
    response_model=list[IncidentView],
    response_model_exclude_unset=True,
)
def list_incidents(principal: PartyPrincipalDep, session: SessionDep) -> list[dict[str, Any]]:
    """Newest first."""
    return service.list_incidents(session, _party(principal), now=_now())


@router.get(
    "/v1/incidents/{incident_id}",
    summary="One incident with its history",
    response_model=IncidentView,
    response_model_exclude_unset=True,
)
def get_incident(
    incident_id: str, principal: PartyPrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """404 for an incident that does not name the caller's party."""
    return service.get_incident(session, _party(principal), incident_id, now=_now())


@router.post(
    "/v1/incidents/{incident_id}/responses",
    summary="Add a statement (with evidence)",
    response_model=IncidentView,
    response_model_exclude_unset=True,
)
@field_errors
def respond_incident(
    incident_id: str, body: IncidentResponseIn, principal: WriterPrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """The first statement by another party than the reporter marks the incident responded."""
    return service.act_on_incident(
        session,
        _party(principal),
        incident_id,
        action="respond",
        text=body.statement,
        evidence=body.evidence,
        now=_now(),
    )


@router.post(
    "/v1/incidents/{incident_id}/close",
    summary="Agree to close the incident",
    response_model=IncidentView,
    response_model_exclude_unset=True,
)
@field_errors
def close_incident(
    incident_id: str, principal: WriterPrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """The incident closes when every party named in it has agreed."""
    return service.act_on_incident(
        session, _party(principal), incident_id, action="agree_to_close", now=_now()
    )


@router.post(
    "/v1/incidents/{incident_id}/reject-closure",
    summary="Refuse a proposed closure",
    response_model=IncidentView,
    response_model_exclude_unset=True,
)
@field_errors
def reject_incident_closure(
    incident_id: str, body: ReasonIn, principal: WriterPrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """Clears the agreements collected so far."""
    return service.act_on_incident(
        session,
        _party(principal),
        incident_id,
        action="reject_closure",
        text=body.reason,
        now=_now(),
    )


# --------------------------------------------------------------------------- background


hotline_tick = service.tick
"""One pass of escalations and communications checks (:func:`deconflict.broker.hotline.tick`)."""


async def hotline_ticker(app: FastAPI) -> None:
    """Background task: :func:`hotline_tick` every ``hotline_tick_s`` seconds."""
    period = float(getattr(app.state.settings, "hotline_tick_s", DEFAULT_TICK_S))
    while True:
        db = app.state.db
        if db is not None:
            try:
                await anyio.to_thread.run_sync(hotline_tick, db, _now())
            except Exception:  # keep escalating after a transient database error
                log.exception("hotline tick failed")
        await asyncio.sleep(period)


background_tasks: Sequence[Callable[[FastAPI], Any]] = (hotline_ticker,)
