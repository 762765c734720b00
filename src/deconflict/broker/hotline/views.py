"""The hotline's HTTP bodies as typed models (published in the OpenAPI document).

Messages and acknowledgements reuse the stream-event payload models of
:mod:`deconflict.broker.events` (:class:`MessageView`, :class:`MessageAckNotice`): a message reads
the same in a response and on the stream. Fields that a view does not always carry are optional;
routes serialise with ``response_model_exclude_unset`` so an absent field stays absent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from deconflict.broker.events import MessageAckNotice, MessageView, PartyRef

__all__ = [
    "ChannelSettingsView",
    "ChannelView",
    "IncidentView",
    "LadderStepView",
    "LadderView",
    "MessageAckNotice",
    "MessageView",
    "TemplateView",
    "ThreadView",
]


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ThreadView(_View):
    """A thread with another party: counts and messages awaiting the caller's acknowledgement."""

    id: str
    subject: str | None
    other_party: PartyRef
    created_at: str | None
    last_message_at: str | None
    messages: int
    awaiting_my_ack: int


class ChannelSettingsView(_View):
    """The channel with another party after its settings changed (deadlines in s)."""

    other_party: PartyRef
    state: str
    suspended_by: list[str]
    queued_messages: int
    ack_deadlines_s: dict[str, float] | None = None
    comm_check: dict[str, Any] | None = None
    updated_at: str | None = None


class ChannelView(ChannelSettingsView):
    """The channel with another party (deadlines in s; recent state changes in ``events``)."""

    events: list[dict[str, Any]]


class LadderStepView(_View):
    """One escalation step: whom to alert, ``after_s`` seconds after the deadline."""

    target: str
    after_s: float


class LadderView(_View):
    """A party's escalation ladder."""

    party: str
    steps: list[LadderStepView]


class IncidentView(_View):
    """An incident as one of its parties sees it (others by handle or pseudonym)."""

    id: str
    state: str
    category: str
    reporter: PartyRef
    parties: list[PartyRef]
    report: dict[str, Any]
    filed_at: str | None
    response_due: str | None
    response_overdue: bool
    closure_agreed_by: list[str]
    history: list[dict[str, Any]]


class TemplateView(_View):
    """A message template: its name, title in the reader's language and the JSON Schema of its
    fields."""

    name: str
    title: str
    fields_schema: dict[str, Any] = Field(alias="schema")
