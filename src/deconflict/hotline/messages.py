"""Hotline messages and their acknowledgements (pure: the caller passes ids and ``now``).

A message goes from one sender party to one recipient party (a broadcast is one message per
recipient, so each recipient's acknowledgements and escalation stay separate). It is *created*
when the sender submits it and *delivered* when the broker hands it to the recipient; the
acknowledgement deadline runs from delivery, so a message queued on a suspended channel does not
start its clock until the channel is restored.

Acknowledgement rules (each acknowledgement is a distinct, logged act):

* only the recipient party acknowledges; acknowledging one's own message is an error;
* answers progress ``received`` -> ``understood`` -> ``will_comply``; steps may be skipped
  (``will_comply`` at once implies receipt and understanding) but never repeated or reversed;
* ``unable`` (with a mandatory reason) may follow any positive answer, including
  ``will_comply`` (circumstances change and the sender must hear it), and is final: nothing
  may follow it; a new message is needed;
* a message cannot be acknowledged before it is delivered, nor at a time before its delivery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, NewType

from pydantic import BaseModel

from deconflict.errors import InvalidInputError
from deconflict.hotline.errors import AckConflictError, FieldErrors, NotRecipientError
from deconflict.hotline.precedence import AckPolicy, Precedence
from deconflict.hotline.templates import AckAnswer, Template, validate_fields

PartyId = NewType("PartyId", str)
MessageId = NewType("MessageId", str)
ThreadId = NewType("ThreadId", str)

MAX_FREE_TEXT_CHARS: Final = 4000
"""Longest free text (characters) a message or an ``unable`` reason may carry."""

MAX_ID_CHARS: Final = 64
"""Longest identifier (party, message, thread, attachment reference)."""

_ORDER: Final = {AckAnswer.RECEIVED: 1, AckAnswer.UNDERSTOOD: 2, AckAnswer.WILL_COMPLY: 3}


class AttachmentKind(StrEnum):
    """Kinds of objects a message may be attached to."""

    CONFLICT = "conflict"
    ALERT = "alert"
    INCIDENT = "incident"
    NOTICE = "notice"


@dataclass(frozen=True, slots=True)
class Attachment:
    """Reference to the conflict, alert, incident or notice a message is about."""

    kind: AttachmentKind
    ref: str


@dataclass(frozen=True, slots=True)
class Message:
    """A hotline message. ``delivered_at``/``ack_deadline`` are set by :func:`deliver`."""

    id: MessageId
    thread_id: ThreadId
    sender: PartyId
    recipient: PartyId
    template: Template
    fields: BaseModel
    precedence: Precedence
    created_at: datetime
    free_text: str | None = None
    attachment: Attachment | None = None
    delivered_at: datetime | None = None
    ack_deadline: datetime | None = None

    @property
    def is_delivered(self) -> bool:
        """True once the recipient has been handed the message."""
        return self.delivered_at is not None

    def fields_json(self) -> dict[str, Any]:
        """The template fields as JSON-ready data (times as ISO 8601 strings)."""
        return self.fields.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True, slots=True)
class Ack:
    """One acknowledgement act by ``party`` on message ``message_id`` at ``at`` (UTC)."""

    message_id: MessageId
    party: PartyId
    answer: AckAnswer
    at: datetime
    reason: str | None = None


def _check_id(value: str, field: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(field=field, reason="must be a non-empty string")
    if len(value) > MAX_ID_CHARS:
        raise InvalidInputError(field=field, reason=f"must be at most {MAX_ID_CHARS} characters")


def _check_utc(value: datetime, field: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(field=field, reason="must be timezone-aware UTC")


def check_free_text(text: str | None, *, field: str = "free_text") -> str | None:
    """Strip ``text``; ``None`` for empty; raise if longer than :data:`MAX_FREE_TEXT_CHARS`."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidInputError(field=field, reason="must be a string")
    stripped = text.strip()
    if len(stripped) > MAX_FREE_TEXT_CHARS:
        raise InvalidInputError(
            field=field,
            reason=f"is {len(stripped)} characters; the limit is {MAX_FREE_TEXT_CHARS}",
        )
    if any(ord(c) < 32 and c not in "\n\t" for c in stripped):
        raise InvalidInputError(field=field, reason="must not contain control characters")
    return stripped or None


def compose_message(
    *,
    message_id: str,
    thread_id: str,
    sender: str,
    recipient: str,
    template: Template | str,
    fields: Mapping[str, Any] | BaseModel,
    precedence: Precedence,
    now: datetime,
    free_text: str | None = None,
    attachment: Attachment | None = None,
) -> Message:
    """Validate a new message and return it (not yet delivered).

    Raises
    ------
    FieldErrors
        Unknown template, unknown or invalid fields (each named ``fields.<path>``).
    InvalidInputError
        Bad ids, sender == recipient, oversize free text, naive ``now``.
    """
    _check_id(message_id, "id")
    _check_id(thread_id, "thread_id")
    _check_id(sender, "sender")
    _check_id(recipient, "recipient")
    _check_utc(now, "now")
    if sender == recipient:
        raise InvalidInputError(field="recipient", reason="must be another party than the sender")
    if attachment is not None:
        _check_id(attachment.ref, "attachment.ref")
    text = check_free_text(free_text)
    if isinstance(fields, BaseModel):
        model = validate_fields(template, fields.model_dump(mode="python"))
    else:
        model = validate_fields(template, fields)
    return Message(
        id=MessageId(message_id),
        thread_id=ThreadId(thread_id),
        sender=PartyId(sender),
        recipient=PartyId(recipient),
        template=Template(template),
        fields=model,
        precedence=precedence,
        created_at=now,
        free_text=text,
        attachment=attachment,
    )


def deliver(message: Message, *, now: datetime, policy: AckPolicy) -> Message:
    """Mark ``message`` delivered at ``now`` and set its acknowledgement deadline.

    Delivering twice is a no-op (returns the message unchanged): delivery is idempotent.
    """
    _check_utc(now, "now")
    if message.delivered_at is not None:
        return message
    return replace(message, delivered_at=now, ack_deadline=policy.deadline(message.precedence, now))


def latest_answer(acks: Sequence[Ack]) -> AckAnswer | None:
    """The most recent answer in ``acks`` (by time, then order), or ``None``."""
    if not acks:
        return None
    return max(enumerate(acks), key=lambda ia: (ia[1].at, ia[0]))[1].answer


def first_ack_at(acks: Sequence[Ack]) -> datetime | None:
    """Time of the first acknowledgement of any kind, or ``None``."""
    return min((a.at for a in acks), default=None)


def acknowledge(
    message: Message,
    acks: Sequence[Ack],
    *,
    party: str,
    answer: AckAnswer | str,
    now: datetime,
    reason: str | None = None,
) -> Ack:
    """Validate an acknowledgement of ``message`` by ``party`` and return the new :class:`Ack`.

    ``acks`` are the earlier acknowledgements of this message. Nothing is mutated: the caller
    stores the returned act (and logs it).

    Raises
    ------
    NotRecipientError
        ``party`` is the sender or a third party (HTTP 403).
    AckConflictError
        The same answer again, a step backwards, anything after ``unable`` (HTTP 409).
    InvalidInputError
        Unknown answer, ``unable`` without a reason, oversize reason, undelivered message,
        a time before delivery or before the previous acknowledgement.
    """
    _check_utc(now, "now")
    if party == message.sender:
        raise NotRecipientError("a party cannot acknowledge its own message")
    if party != message.recipient:
        raise NotRecipientError("only the recipient party may acknowledge this message")
    try:
        ans = AckAnswer(answer)
    except ValueError:
        allowed = ", ".join(a.value for a in AckAnswer)
        raise InvalidInputError(field="answer", reason=f"must be one of {allowed}") from None
    if message.delivered_at is None:
        raise InvalidInputError(field="message", reason="has not been delivered yet (queued)")
    if now < message.delivered_at:
        raise InvalidInputError(field="now", reason="is before the message was delivered")
    text = check_free_text(reason, field="reason")
    if ans is AckAnswer.UNABLE and not text:
        raise FieldErrors([("reason", "is required when the answer is 'unable'")])
    if ans is not AckAnswer.UNABLE and text is not None:
        raise FieldErrors([("reason", "is only allowed with the answer 'unable'")])
    own = [a for a in acks if a.message_id == message.id]
    if own:
        last_at = max(a.at for a in own)
        if now < last_at:
            raise InvalidInputError(field="now", reason="is before the previous acknowledgement")
    answers = {a.answer for a in own}
    if ans in answers:
        raise AckConflictError(f"message {message.id} was already acknowledged '{ans.value}'")
    if AckAnswer.UNABLE in answers:
        raise AckConflictError(f"message {message.id} was answered 'unable'; send a new message")
    if ans is not AckAnswer.UNABLE:
        highest = max((_ORDER[a] for a in answers if a in _ORDER), default=0)
        if _ORDER[ans] < highest:
            raise AckConflictError(
                f"'{ans.value}' cannot follow a stronger answer already given to {message.id}"
            )
    return Ack(message_id=message.id, party=PartyId(party), answer=ans, at=now, reason=text)
