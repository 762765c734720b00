"""Message precedence and the acknowledgement deadline it sets.

Precedence is the sender's statement of urgency. The acknowledgement deadline is agreed per
agreement (:class:`AckPolicy`); the defaults below are hotline figures, much shorter than the
traditional record-traffic speeds of service quoted in DOMAIN.md section 7 (FLASH < 10 min,
IMMEDIATE 30 min, PRIORITY 3 h, ROUTINE 6 h), because a duty officer sits at the console:

=========  ========  ====================================================
precedence  default   use
=========  ========  ====================================================
FLASH       5 min     imminent safety of flight, distress
IMMEDIATE   15 min    short-notice activity, zone entry
PRIORITY    60 min    notices due within hours
ROUTINE     6 h       planning, review, administration
=========  ========  ====================================================
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from deconflict.errors import InvalidInputError


class Precedence(StrEnum):
    """Message precedence, highest first."""

    FLASH = "flash"
    IMMEDIATE = "immediate"
    PRIORITY = "priority"
    ROUTINE = "routine"

    @property
    def rank(self) -> int:
        """0 for FLASH (most urgent) to 3 for ROUTINE; sort ascending to serve urgent first."""
        return _RANK[self]


_RANK: Final = {p: i for i, p in enumerate(Precedence)}

DEFAULT_ACK_DEADLINES: Final[dict[Precedence, timedelta]] = {
    Precedence.FLASH: timedelta(minutes=5),
    Precedence.IMMEDIATE: timedelta(minutes=15),
    Precedence.PRIORITY: timedelta(minutes=60),
    Precedence.ROUTINE: timedelta(hours=6),
}
"""Default time from delivery to the acknowledgement deadline, per precedence (see module doc)."""

MAX_ACK_DEADLINE: Final = timedelta(days=7)
"""Upper bound an agreement may configure (a border CBM text allows 7 days for queries)."""


class AckPolicy(BaseModel):
    """Per-agreement acknowledgement deadlines (time from delivery, per precedence).

    Deadlines must be positive, at most :data:`MAX_ACK_DEADLINE`, and must not grow with urgency
    (FLASH <= IMMEDIATE <= PRIORITY <= ROUTINE).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    deadlines: dict[Precedence, timedelta] = dict(DEFAULT_ACK_DEADLINES)

    @field_validator("deadlines")
    @classmethod
    def _complete_and_bounded(
        cls, value: dict[Precedence, timedelta]
    ) -> dict[Precedence, timedelta]:
        merged = dict(DEFAULT_ACK_DEADLINES)
        merged.update(value)
        for precedence, delay in merged.items():
            if delay <= timedelta(0) or delay > MAX_ACK_DEADLINE:
                raise ValueError(f"{precedence.value}: must be > 0 and <= {MAX_ACK_DEADLINE}")
        return merged

    @model_validator(mode="after")
    def _monotone(self) -> AckPolicy:
        ordered = [self.deadlines[p] for p in Precedence]
        if any(a > b for a, b in itertools.pairwise(ordered)):
            raise ValueError("deadlines must not be longer for a more urgent precedence")
        return self

    def deadline(self, precedence: Precedence, delivered_at: datetime) -> datetime:
        """Acknowledgement deadline (UTC) of a message delivered at ``delivered_at``."""
        if delivered_at.tzinfo is None:
            raise InvalidInputError(field="delivered_at", reason="must be timezone-aware UTC")
        return delivered_at + self.deadlines[precedence]


def parse_precedence(value: str, *, field: str = "precedence") -> Precedence:
    """Parse a precedence name (case-insensitive); :class:`InvalidInputError` names ``field``."""
    try:
        return Precedence(value.strip().lower())
    except ValueError:
        allowed = ", ".join(p.value for p in Precedence)
        raise InvalidInputError(field=field, reason=f"must be one of {allowed}") from None
