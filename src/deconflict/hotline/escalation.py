"""Escalation of unacknowledged messages along the receiving party's ladder.

A ladder is the receiving party's ordered list of steps, each with a delay after the
acknowledgement deadline (``after``): e.g. duty officer at the deadline, senior duty officer five
minutes later, an alarm on every connected client of the party ten minutes later.
:func:`escalation_due` is pure and idempotent: given the steps already taken (``done``) it returns
only the steps due now and never taken, so a broker that runs it every few seconds, or twice after
a restart, never escalates the same step twice. Every returned step names the sender, who is told
that the message escalated. Any acknowledgement (even ``unable``) stops further escalation: the
message has been answered.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from deconflict.errors import InvalidInputError
from deconflict.hotline.messages import Ack, Message, MessageId, PartyId


class EscalationTarget(StrEnum):
    """Who or what an escalation step alerts at the receiving party."""

    DUTY_OFFICER = "duty_officer"
    SENIOR_DUTY_OFFICER = "senior_duty_officer"
    FLAG_OFFICER = "flag_officer"
    ALARM_ALL_CLIENTS = "alarm_all_clients"
    ALTERNATE_CHANNEL = "alternate_channel"


class LadderStep(BaseModel):
    """One rung: alert ``target`` ``after`` the acknowledgement deadline (>= 0)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: EscalationTarget
    after: timedelta = Field(ge=timedelta(0), le=timedelta(days=7))  # see store MAX_LADDER_DELAY


class EscalationLadder(BaseModel):
    """A party's escalation ladder: at least one step, delays non-decreasing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    party: str = Field(min_length=1, max_length=64)
    steps: tuple[LadderStep, ...] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _ordered(self) -> EscalationLadder:
        delays = [s.after for s in self.steps]
        if any(a > b for a, b in itertools.pairwise(delays)):
            raise ValueError("step delays must not decrease along the ladder")
        return self


DEFAULT_LADDER_STEPS: Final[tuple[LadderStep, ...]] = (
    LadderStep(target=EscalationTarget.DUTY_OFFICER, after=timedelta(0)),
    LadderStep(target=EscalationTarget.SENIOR_DUTY_OFFICER, after=timedelta(minutes=5)),
    LadderStep(target=EscalationTarget.ALARM_ALL_CLIENTS, after=timedelta(minutes=10)),
)
"""Default ladder: duty officer at the deadline, senior duty officer +5 min, all clients +10 min."""


def default_ladder(party: str) -> EscalationLadder:
    """The default ladder (:data:`DEFAULT_LADDER_STEPS`) for ``party``."""
    return EscalationLadder(party=party, steps=DEFAULT_LADDER_STEPS)


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """A step to take now: alert ``target`` at ``party``; tell ``notify_sender`` it escalated."""

    message_id: MessageId
    level: int
    target: EscalationTarget
    due_at: datetime
    party: PartyId
    notify_sender: PartyId


def escalation_due(
    message: Message,
    acks: Sequence[Ack],
    ladder: EscalationLadder,
    now: datetime,
    *,
    done: Collection[int] = (),
) -> list[EscalationStep]:
    """Steps of ``ladder`` due at ``now`` for ``message`` and not yet taken.

    Parameters
    ----------
    message:
        A delivered message (an undelivered one has no deadline: nothing is due).
    acks:
        Its acknowledgements; any acknowledgement at or before ``now`` stops escalation.
    ladder:
        The *recipient's* ladder.
    now:
        Current time (UTC).
    done:
        Levels (0-based ladder indices) already taken for this message.

    Returns
    -------
    list[EscalationStep]
        In ladder order; empty when nothing is due. Calling again with the returned levels added
        to ``done`` returns an empty list (idempotence).
    """
    if now.tzinfo is None:
        raise InvalidInputError(field="now", reason="must be timezone-aware UTC")
    if ladder.party != message.recipient:
        raise InvalidInputError(field="ladder.party", reason="must be the recipient of the message")
    if message.ack_deadline is None:
        return []
    if any(a.message_id == message.id and a.at <= now for a in acks):
        return []
    due: list[EscalationStep] = []
    for level, step in enumerate(ladder.steps):
        due_at = message.ack_deadline + step.after
        if due_at <= now and level not in done:
            due.append(
                EscalationStep(
                    message_id=message.id,
                    level=level,
                    target=step.target,
                    due_at=due_at,
                    party=message.recipient,
                    notify_sender=message.sender,
                )
            )
    return due


def next_escalation_at(
    message: Message, acks: Sequence[Ack], ladder: EscalationLadder, *, done: Collection[int] = ()
) -> datetime | None:
    """When the next not-yet-taken step falls due (for a scheduler), or ``None``."""
    if message.ack_deadline is None or any(a.message_id == message.id for a in acks):
        return None
    times = [message.ack_deadline + s.after for i, s in enumerate(ladder.steps) if i not in done]
    return min(times, default=None)
