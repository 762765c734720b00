"""The typed contract of every event the broker pushes to a party (outbox -> ``GET /v1/stream``).

One pydantic model per event kind, each a member of the discriminated union :data:`StreamEvent`
on the field ``kind``. An event is the envelope ``{"id", "kind", "data"}`` of one outbox row and
maps one-to-one onto one Server-Sent Events frame::

    id: <id>          <- the outbox row id (resume with Last-Event-ID)
    event: <kind>     <- the discriminator: "conflict", "notice", "alert", "picture", ...
    data: <data>      <- the JSON payload, validated by the member's ``data`` model

The payload itself carries no envelope (a ``conflict`` payload has its own ``kind`` field: the
conflict kind, ``volume`` or ``line``), so a client switches on the SSE ``event:`` name and reads
``data`` with the model of that member. Field names are exactly what the server sends; every
payload model forbids unknown fields, so a payload that drifts from its model fails the drift
test (``tests/broker/test_broker_events.py``).

Kinds with several payload shapes (``alert``, ``message``, ``channel``) are a union of
payload models told apart by their ``type`` field (hotline payloads) or by the absence of it
(the live alert change, which has ``event``). All times are ISO 8601 UTC with ``Z``
(:func:`deconflict.times.utc_iso`).

Adding an event kind: a payload model, an ``XxxEvent`` envelope with ``kind: Literal["xxx"]``,
its member in :data:`StreamEvent`, the kind in :data:`deconflict.broker.outbox.KINDS`, and a
case in the drift test. The models are published in the OpenAPI document as components named
``*Event`` (:func:`openapi_components`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from deconflict.hotline.channel import ChannelEventKind, ChannelState
from deconflict.hotline.escalation import EscalationTarget
from deconflict.hotline.incidents import IncidentActKind, IncidentState
from deconflict.hotline.precedence import Precedence
from deconflict.hotline.templates import AckAnswer, IncidentCategory

__all__ = [
    "EVENT_MODELS",
    "STREAM_EVENT",
    "AlertChange",
    "AlertEvent",
    "AlertView",
    "ChannelEvent",
    "ChannelStateChange",
    "CommCheckIssued",
    "CommCheckMissed",
    "ConflictEvent",
    "ConflictPublic",
    "EscalationNotice",
    "GuidanceView",
    "IncidentActNotice",
    "KeyIssued",
    "KeyIssuedEvent",
    "MessageAckNotice",
    "MessageDelivery",
    "MessageEvent",
    "MessageView",
    "NoticeChange",
    "NoticeEvent",
    "PictureEvent",
    "PictureView",
    "PrivateChange",
    "PrivateEvent",
    "StreamEvent",
    "TracksAccepted",
    "openapi_components",
    "validate_event",
]


class _Wire(BaseModel):
    """A payload leaving the broker: exactly these fields, nothing else."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------ conflict
class ConflictPublic(_Wire):
    """A conflict record as one side sees it: never the other side's plan.

    ``kind`` is the conflict kind (``volume``: two plans overlap; ``line``: a plan crosses an
    agreed line); ``overlap`` is footprint, altitude band (ft) and window only.
    """

    id: str
    kind: str
    own_notice_id: str | None
    counterpart: str
    agreement_id: str | None
    policy: str
    outcome: str
    late: bool
    overlap: dict[str, Any]
    status: str
    created_at: str


# ------------------------------------------------------------------------------ notice
class NoticeChange(_Wire):
    """The owning party's notice moved to ``version`` / ``state`` (created, amended, cancelled)."""

    id: str
    version: int
    state: str


# ------------------------------------------------------------------------------ live alerts
class OwnSubject(_Wire):
    """A subject of an alert that belongs to the viewer (or an agreed line, shared)."""

    role: Literal["aircraft", "volume", "line", "cluster"]
    id: str | None = None
    key: str | None = None
    line_id: str | None = None


class OtherSubject(_Wire):
    """Another party's subject of an alert: an alert-scoped handle, never its id."""

    role: Literal["aircraft", "volume", "line", "cluster"]
    party: str
    handle: str


class GuidanceView(_Wire):
    """Coordinated guidance for the viewer's own aircraft of a conflict (``deconflict.daa``).

    ``dimension``: ``hold`` or the band dimension (``track_deg``, ``gs_kt``, ``vs_fpm``,
    ``alt_ft``); ``side``: ``hold``, ``right``/``left`` or ``up``/``down``; ``value`` the target
    and ``current`` the present value in that dimension's unit; ``text`` in plain English;
    ``preference_met``: False when no conflict-free manoeuvre keeps the aircraft on its party's
    side of the agreed lines and inside the active volume it is in (docs/alerting.md).
    """

    aircraft: str
    dimension: Literal["hold", "track_deg", "gs_kt", "vs_fpm", "alt_ft"]
    side: Literal["hold", "right", "left", "up", "down"]
    value: float
    current: float
    text: str
    preference_met: bool = True


class AlertView(_Wire):
    """One party's view of a live alert (figures in s, NM and ft as the names say).

    The metric fields are present only when the alert has that figure.
    """

    id: str
    kind: Literal["conflict", "incursion", "nonconforming", "dense_cluster"]
    severity: Literal["caution", "warning"]
    state: Literal["open", "resolved"]
    parties: list[str]
    t_in_s: float | None
    t_out_s: float | None = None
    t_cpa_s: float | None = None
    hmd_nm: float | None = None
    vmd_ft: float | None = None
    range_nm: float | None = None
    vertical_ft: float | None = None
    outside_s: float | None = None
    level: int | None = None
    """Graded alert level (``deconflict.daa``: 1 preventive, 2 corrective, 3 warning)."""
    profile: str | None = None
    """Alerting profile of the agreement (``cylinder``, ``airprox``, ``do365b``)."""
    guidance: list[GuidanceView] = []
    """Coordinated guidance for the viewer's own aircraft only."""
    counterpart_guided: bool = False
    """True when the other side was given a compatible manoeuvre (never which one)."""
    own: list[OwnSubject]
    others: list[OtherSubject]
    acknowledged: bool
    acknowledged_at: str | None
    raised_at: str | None
    updated_at: str | None
    resolved_at: str | None


class AlertChange(_Wire):
    """A live alert was raised, updated, resolved or acknowledged (``reopened``: a raise of an
    alert that had just resolved; absent on acknowledgements)."""

    event: Literal["raised", "updated", "resolved", "acknowledged"]
    reopened: bool = False
    alert: AlertView


class EscalationNotice(_Wire):
    """An unacknowledged hotline message escalated one ladder step.

    Sent as an ``alert`` to the recipient (``role: recipient``) and as a ``message`` to the
    sender (``role: sender``).
    """

    type: Literal["escalation"]
    message_id: str
    thread_id: str
    level: int
    target: EscalationTarget
    due_at: str | None
    at: str | None
    precedence: Precedence
    role: Literal["recipient", "sender"]


class CommCheckMissed(_Wire):
    """A communications check was not answered in time by ``party`` (handle as the viewer
    knows it); the channel is marked degraded."""

    type: Literal["comm_check_missed"]
    sequence: int
    party: str
    at: str | None


# ------------------------------------------------------------------------------ picture
class OwnTrack(_Wire):
    """One own aircraft in full (lat/lon degrees, ft, kt, degrees, fpm)."""

    id: str
    callsign: str
    lat: float | None
    lon: float | None
    alt_ft: float | None
    gs_kt: float | None
    track_deg: float | None
    vs_fpm: float | None
    time: str | None
    stale: bool


class TrafficTrack(_Wire):
    """Another party's aircraft while in an open alert with the viewer: handle and figures."""

    handle: str
    alert_id: str
    party: str
    lat: float | None
    lon: float | None
    alt_ft: float | None
    gs_kt: float | None
    track_deg: float | None
    vs_fpm: float | None
    t_in_s: float | None
    hmd_nm: float | None
    vmd_ft: float | None


class PictureView(_Wire):
    """The live picture a party may see (the event carries ``alert_ids``; the alert views
    travel as ``alert`` events; ``GET /v1/picture`` carries ``alerts``)."""

    party: str
    at: str | None
    own: list[OwnTrack]
    traffic: list[TrafficTrack]
    alert_ids: list[str] | None = None
    alerts: list[AlertView] | None = None


class TracksAccepted(_Wire):
    """The answer to ``POST /v1/tracks``: rows stored and when (UTC)."""

    accepted: int
    received_at: str


# ------------------------------------------------------------------------------ hotline
class PartyRef(_Wire):
    """A party as the viewer knows it (own id and name, or the agreement's label/pseudonym)."""

    id: str
    name: str


class AttachmentRef(_Wire):
    """What a message is about (the viewer's own copy of a conflict)."""

    kind: Literal["conflict", "alert", "incident", "notice"]
    ref: str


class AckView(_Wire):
    """One acknowledgement of a message."""

    party: str
    answer: AckAnswer
    at: str | None
    reason: str | None
    reason_untranslated: bool


class EscalationView(_Wire):
    """One escalation step taken on a message."""

    level: int
    target: str
    due_at: str | None
    at: str | None


class MessageView(_Wire):
    """A hotline message as one party sees it (``rendered`` only when a language was asked)."""

    id: str
    thread_id: str
    sender: PartyRef
    recipient: PartyRef
    template: str
    fields: dict[str, Any]
    precedence: Precedence
    free_text: str | None
    free_text_untranslated: bool
    attachment: AttachmentRef | None
    created_at: str | None
    delivered_at: str | None
    ack_deadline: str | None
    state: str
    acks: list[AckView]
    escalations: list[EscalationView]
    rendered: dict[str, Any] | None = None


class MessageDelivery(_Wire):
    """A message reached its recipient (``message``, to the recipient) or was delivered
    (``message_delivered``, to the sender)."""

    type: Literal["message", "message_delivered"]
    message: MessageView


class MessageAckNotice(_Wire):
    """A message was acknowledged (to sender and recipient)."""

    type: Literal["ack"]
    message_id: str
    thread_id: str
    party: str
    answer: AckAnswer
    reason: str | None
    at: str | None
    late: bool


class IncidentActNotice(_Wire):
    """An act on an incident report (filed, responded, closure agreed/rejected, closed)."""

    type: Literal["incident"]
    incident_id: str
    act: IncidentActKind
    party: str
    state: IncidentState
    category: IncidentCategory
    at: str | None


class ChannelStateChange(_Wire):
    """The hotline channel with ``other_party`` changed state."""

    type: Literal["channel_state"]
    event: ChannelEventKind
    by: str | None
    at: str | None
    from_state: ChannelState
    state: ChannelState
    reason: str | None
    other_party: str


class CommCheckIssued(_Wire):
    """A communications check to answer by ``answer_by``."""

    type: Literal["comm_check"]
    sequence: int
    issued_at: str | None
    answer_by: str | None


# ------------------------------------------------------------------------------ envelopes
AlertData = AlertChange | EscalationNotice | CommCheckMissed
MessageData = Annotated[
    MessageDelivery | MessageAckNotice | EscalationNotice | IncidentActNotice,
    Field(discriminator="type"),
]
ChannelData = Annotated[ChannelStateChange | CommCheckIssued, Field(discriminator="type")]


class PrivateChange(_Wire):
    """A private agreement's counterpart uploaded something for the party: time to sync.

    Carries no cell, coordinate or time of any plan (private mode, issue 15)."""

    agreement_id: str
    what: Literal["set", "answer", "reveal", "verdict"]
    epoch: int = Field(ge=0, description="the counterpart's epoch")


class KeyIssued(_Wire):
    """An API key was issued for the party: by the broker operator (only ever its first
    ``party_admin`` key) or by one of the party's own admins. Never the key itself."""

    key_id: str = Field(description="Public id of the new key (as in GET /v1/keys)")
    role: str = Field(description="Role of the new key (party_admin, duty_officer, ...)")
    issued_by: Literal["operator", "party_admin"]
    issuer_key_id: str | None = Field(description="Key id of the issuing key, if known")
    at: str = Field(description="Issue time, ISO 8601 UTC")
    ledger_index: int = Field(ge=0, description="The `key.issued` ledger entry (party-openable)")


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1, description="Outbox id: the SSE `id:` line (Last-Event-ID)")


class ConflictEvent(_Envelope):
    """``event: conflict`` — a conflict record involving the party was recorded or resolved."""

    kind: Literal["conflict"]
    data: ConflictPublic


class NoticeEvent(_Envelope):
    """``event: notice`` — the party's own notice changed version or state."""

    kind: Literal["notice"]
    data: NoticeChange


class AlertEvent(_Envelope):
    """``event: alert`` — a live alert changed, a hotline message escalated to the party, or a
    communications check was missed."""

    kind: Literal["alert"]
    data: AlertData


class PictureEvent(_Envelope):
    """``event: picture`` — the party's visible live picture (every ``picture_interval_s``)."""

    kind: Literal["picture"]
    data: PictureView


class MessageEvent(_Envelope):
    """``event: message`` — hotline traffic for the party (delivery, ack, escalation, incident)."""

    kind: Literal["message"]
    data: MessageData


class ChannelEvent(_Envelope):
    """``event: channel`` — the party's hotline channel changed state or a check was issued."""

    kind: Literal["channel"]
    data: ChannelData


class PrivateEvent(_Envelope):
    """``event: private`` — the counterpart of a private agreement pushed a set or sent a
    sealed answer, reveal or verdict (``deconflict private sync`` picks it up)."""

    kind: Literal["private"]
    data: PrivateChange


class KeyIssuedEvent(_Envelope):
    """``event: key`` — a key was issued for the party (the operator's issuances included), so
    its admins see every key that can act for it; history: ``GET /v1/key-events``."""

    kind: Literal["key"]
    data: KeyIssued


StreamEvent = Annotated[
    ConflictEvent
    | NoticeEvent
    | AlertEvent
    | PictureEvent
    | MessageEvent
    | ChannelEvent
    | PrivateEvent
    | KeyIssuedEvent,
    Field(discriminator="kind"),
]
"""Any event of ``GET /v1/stream``: the SSE ``event:`` name is the ``kind``."""

STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(StreamEvent)
"""Validator of one :data:`StreamEvent` envelope."""

EVENT_MODELS: dict[str, type[_Envelope]] = {
    "conflict": ConflictEvent,
    "notice": NoticeEvent,
    "alert": AlertEvent,
    "picture": PictureEvent,
    "message": MessageEvent,
    "channel": ChannelEvent,
    "private": PrivateEvent,
    "key": KeyIssuedEvent,
}
"""Event kind (SSE ``event:`` name) -> its envelope model."""


def validate_event(event_id: int, kind: str, data: Any) -> BaseModel:
    """Validate one stream event (an outbox row or an SSE frame) against its model.

    Raises ``pydantic.ValidationError`` when the payload does not match (a drifted field) and
    ``KeyError`` for a kind without a model.
    """
    model = EVENT_MODELS[kind]
    return model.model_validate({"id": event_id, "kind": kind, "data": data})


def openapi_components() -> dict[str, Any]:
    """JSON schemas of the event models, keyed by component name (``ConflictEvent``, ...,
    ``StreamEvent`` and every payload model they use), with ``#/components/schemas`` refs."""
    schema = STREAM_EVENT.json_schema(ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = dict(schema.pop("$defs", {}))
    components["StreamEvent"] = schema
    return components
