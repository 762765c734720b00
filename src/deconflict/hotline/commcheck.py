"""Communications-check schedule: which check is due, which were missed (pure).

Checks fall on slots ``anchor + (sequence - 1) * interval``. At each slot the broker issues the
check to *each* party of the channel; each must answer within ``answer_within``. A check not
answered in time by any party is *missed*: the channel turns degraded and both sides are alarmed.
Slots that passed while the broker itself was down are not issued retroactively (that outage is
not a party's fault): :func:`due_comm_check` returns only the latest slot not yet issued.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from deconflict.errors import InvalidInputError
from deconflict.hotline.messages import PartyId


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must be timezone-aware UTC")
    return value


class CommCheckSchedule(BaseModel):
    """Schedule: first slot ``anchor``, then every ``interval``; answer within ``answer_within``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    anchor: Annotated[datetime, AfterValidator(_aware)]
    interval: timedelta = Field(ge=timedelta(minutes=1), le=timedelta(days=7))
    answer_within: timedelta = Field(gt=timedelta(0))

    @model_validator(mode="after")
    def _answer_before_next(self) -> CommCheckSchedule:
        if self.answer_within >= self.interval:
            raise ValueError("answer_within must be shorter than the interval")
        return self

    def slot(self, sequence: int) -> datetime:
        """Time of check number ``sequence`` (1-based)."""
        if sequence < 1:
            raise InvalidInputError(field="sequence", reason="must be >= 1")
        return self.anchor + (sequence - 1) * self.interval


@dataclass(frozen=True, slots=True)
class CommCheckRecord:
    """Check ``sequence`` issued to ``party`` at ``issued_at``; ``answered_at`` once answered."""

    sequence: int
    party: PartyId
    issued_at: datetime
    answered_at: datetime | None = None


def due_comm_check(
    schedule: CommCheckSchedule, history: Sequence[CommCheckRecord], now: datetime
) -> int | None:
    """Sequence number of the check to issue at ``now``, or ``None`` if none is due.

    That is the latest slot at or before ``now`` that is later than every issued check.
    """
    if now.tzinfo is None:
        raise InvalidInputError(field="now", reason="must be timezone-aware UTC")
    if now < schedule.anchor:
        return None
    latest = (now - schedule.anchor) // schedule.interval + 1
    issued = max((r.sequence for r in history), default=0)
    return latest if latest > issued else None


def missed_comm_checks(
    schedule: CommCheckSchedule,
    history: Sequence[CommCheckRecord],
    now: datetime,
    *,
    already_reported: Collection[tuple[int, str]] = (),
) -> list[CommCheckRecord]:
    """Issued checks whose answer window closed unanswered (or answered late), not yet reported.

    ``already_reported`` holds ``(sequence, party)`` pairs the caller has already alarmed on, which
    makes repeated calls idempotent. Sorted by sequence, then party.
    """
    if now.tzinfo is None:
        raise InvalidInputError(field="now", reason="must be timezone-aware UTC")
    missed = []
    for record in history:
        deadline = record.issued_at + schedule.answer_within
        if now < deadline or (record.sequence, record.party) in already_reported:
            continue
        if record.answered_at is None or record.answered_at > deadline:
            missed.append(record)
    return sorted(missed, key=lambda r: (r.sequence, r.party))


def answer_comm_check(
    history: Sequence[CommCheckRecord], *, sequence: int, party: str, now: datetime
) -> CommCheckRecord:
    """Record ``party``'s answer to check ``sequence``; returns the updated record.

    Raises :class:`InvalidInputError` if no such check was issued to ``party`` or it was already
    answered.
    """
    for record in history:
        if record.sequence == sequence and record.party == party:
            if record.answered_at is not None:
                raise InvalidInputError(field="sequence", reason="this check was already answered")
            if now < record.issued_at:
                raise InvalidInputError(field="now", reason="is before the check was issued")
            return CommCheckRecord(record.sequence, record.party, record.issued_at, now)
    raise InvalidInputError(field="sequence", reason=f"no check {sequence} issued to {party}")
