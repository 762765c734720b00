"""The channel between two parties: state machine and the suspension queue (pure).

States (:class:`ChannelState`), in order of precedence when several conditions hold:

* ``suspended`` - at least one party suspended the channel (a unilateral, logged act with a
  reason). Messages submitted meanwhile are queued and released on restoration.
* ``degraded`` - a scheduled communications check was missed; cleared by the next answered check.
* ``restored`` - the channel was suspended and every suspending party lifted its suspension; shown
  until the next answered communications check proves the line, then ``active``.
* ``active`` - normal.

Only a party that suspended the channel can lift its own suspension; if both parties suspended,
both must lift. Every transition returns a :class:`ChannelEvent` for the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Final

from deconflict.errors import ForbiddenError, InvalidInputError
from deconflict.hotline.errors import StateTransitionError
from deconflict.hotline.messages import Message, PartyId, check_free_text

MAX_QUEUED_MESSAGES: Final = 1000
"""Most messages a suspended channel holds before refusing more."""


class ChannelState(StrEnum):
    """Visible state of a channel."""

    ACTIVE = "active"
    DEGRADED = "degraded"
    SUSPENDED = "suspended"
    RESTORED = "restored"


class ChannelEventKind(StrEnum):
    """Kinds of logged channel acts."""

    SUSPENDED = "suspended"
    SUSPENSION_LIFTED = "suspension_lifted"
    RESTORED = "restored"
    DEGRADED = "degraded"
    CHECK_PASSED = "check_passed"


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """A logged channel act: who (``party``, ``None`` for the broker), when, before/after."""

    kind: ChannelEventKind
    party: PartyId | None
    at: datetime
    from_state: ChannelState
    to_state: ChannelState
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Channel:
    """Channel between ``parties`` (two ids, sorted). Immutable: transitions return a new one."""

    parties: tuple[PartyId, PartyId]
    suspended_by: frozenset[PartyId] = frozenset()
    degraded: bool = False
    restored: bool = False
    queue: tuple[Message, ...] = field(default=())

    @property
    def state(self) -> ChannelState:
        """The visible state (see module docstring for the order)."""
        if self.suspended_by:
            return ChannelState.SUSPENDED
        if self.degraded:
            return ChannelState.DEGRADED
        if self.restored:
            return ChannelState.RESTORED
        return ChannelState.ACTIVE


def open_channel(party_a: str, party_b: str) -> Channel:
    """A new active channel between two distinct parties."""
    if not party_a or not party_b or party_a == party_b:
        raise InvalidInputError(field="parties", reason="a channel joins two distinct parties")
    a, b = sorted((party_a, party_b))
    return Channel(parties=(PartyId(a), PartyId(b)))


def _member(channel: Channel, party: str) -> PartyId:
    if party not in channel.parties:
        raise ForbiddenError("only a party to the channel may act on it")
    return PartyId(party)


def suspend(
    channel: Channel, *, party: str, reason: str, now: datetime
) -> tuple[Channel, ChannelEvent]:
    """``party`` suspends the channel (reason required). Suspending twice is an error."""
    who = _member(channel, party)
    text = check_free_text(reason, field="reason")
    if not text:
        raise InvalidInputError(field="reason", reason="a suspension must state a reason")
    if who in channel.suspended_by:
        raise StateTransitionError(
            obj="channel", state=f"already suspended by {who}", action="suspend"
        )
    new = replace(channel, suspended_by=channel.suspended_by | {who}, restored=False)
    return new, ChannelEvent(
        ChannelEventKind.SUSPENDED, who, now, channel.state, new.state, reason=text
    )


def restore(
    channel: Channel, *, party: str, now: datetime
) -> tuple[Channel, ChannelEvent, list[Message]]:
    """``party`` lifts its suspension; when none remains, release the queue.

    Returns the new channel, the event (``restored`` or ``suspension_lifted`` if the other party
    still suspends) and the released messages, most urgent first, then oldest first. The caller
    delivers them (their acknowledgement clocks start at release).
    """
    who = _member(channel, party)
    if who not in channel.suspended_by:
        raise StateTransitionError(
            obj="channel", state=f"not suspended by {who}", action="lift the suspension"
        )
    remaining = channel.suspended_by - {who}
    if remaining:
        new = replace(channel, suspended_by=remaining)
        event = ChannelEvent(ChannelEventKind.SUSPENSION_LIFTED, who, now, channel.state, new.state)
        return new, event, []
    released = release_order(channel.queue)
    new = replace(channel, suspended_by=frozenset(), restored=True, queue=())
    return (
        new,
        ChannelEvent(ChannelEventKind.RESTORED, who, now, channel.state, new.state),
        released,
    )


def release_order(queue: Sequence[Message]) -> list[Message]:
    """Queued messages in release order: precedence (FLASH first), then creation time, then id."""
    return sorted(queue, key=lambda m: (m.precedence.rank, m.created_at, m.id))


def submit(channel: Channel, message: Message) -> tuple[Channel, bool]:
    """Route a new message: ``(channel, True)`` to deliver now, ``(channel', False)`` if queued."""
    if {message.sender, message.recipient} != set(channel.parties):
        raise InvalidInputError(field="recipient", reason="is not the other party of this channel")
    if channel.state is not ChannelState.SUSPENDED:
        return channel, True
    if len(channel.queue) >= MAX_QUEUED_MESSAGES:
        raise StateTransitionError(
            obj="channel", state=f"suspended with {len(channel.queue)} queued", action="queue more"
        )
    if any(m.id == message.id for m in channel.queue):
        return channel, False
    return replace(channel, queue=(*channel.queue, message)), False


def mark_degraded(
    channel: Channel, *, now: datetime, reason: str
) -> tuple[Channel, ChannelEvent | None]:
    """A communications check was missed: degrade (no event if already degraded)."""
    if channel.degraded:
        return channel, None
    new = replace(channel, degraded=True)
    return new, ChannelEvent(
        ChannelEventKind.DEGRADED, None, now, channel.state, new.state, reason=reason
    )


def check_passed(channel: Channel, *, now: datetime) -> tuple[Channel, ChannelEvent | None]:
    """An answered communications check: clear ``degraded`` and ``restored`` (event if changed)."""
    if not channel.degraded and not channel.restored:
        return channel, None
    new = replace(channel, degraded=False, restored=False)
    return new, ChannelEvent(ChannelEventKind.CHECK_PASSED, None, now, channel.state, new.state)
