"""Notices: a party's plan (one or more volumes) with category, priority, lifecycle, version.

Lifecycle (a state machine; every transition returns a new Notice with ``version + 1``)::

    draft --> notified --> active --> completed
      |          |  \\        |  \
      |          |   \\       |   +--> expired   (now after the last volume's end)
      +----------+----+------+------> cancelled
                       +-> expired

Only *live* notices (notified, active) take part in conflict checks against other parties;
a draft is checked for its owner only. Pure module: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from deconflict.errors import InvalidInputError
from deconflict.strategic.volume import Volume4D


class NoticeState(StrEnum):
    """Lifecycle state of a notice."""

    DRAFT = "draft"
    NOTIFIED = "notified"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class ActivityCategory(StrEnum):
    """What the notified activity is."""

    AIR_OPERATIONS = "air_operations"
    EXERCISE = "exercise"
    LIVE_FIRE = "live_fire"
    UAS = "uas"
    MISSILE_LAUNCH = "missile_launch"
    EW_LASER = "ew_laser"
    TRANSIT = "transit"
    OTHER = "other"


ALLOWED_TRANSITIONS: Final[Mapping[NoticeState, frozenset[NoticeState]]] = {
    NoticeState.DRAFT: frozenset({NoticeState.NOTIFIED, NoticeState.CANCELLED}),
    NoticeState.NOTIFIED: frozenset(
        {NoticeState.ACTIVE, NoticeState.CANCELLED, NoticeState.EXPIRED}
    ),
    NoticeState.ACTIVE: frozenset(
        {NoticeState.COMPLETED, NoticeState.CANCELLED, NoticeState.EXPIRED}
    ),
    NoticeState.COMPLETED: frozenset(),
    NoticeState.CANCELLED: frozenset(),
    NoticeState.EXPIRED: frozenset(),
}
"""Allowed lifecycle transitions (terminal states have none)."""

LIVE_STATES: Final = frozenset({NoticeState.NOTIFIED, NoticeState.ACTIVE})
"""States whose volumes conflict with other parties' plans."""

CLOCK_TOLERANCE: Final = timedelta(seconds=5)
"""Clock tolerance when activating (F3548: 5 s)."""


@dataclass(frozen=True)
class Notice:
    """A party's plan.

    Parameters
    ----------
    id, party:
        Identifiers.
    volumes:
        One or more volumes, checked one by one (never by their bounding box).
    category:
        Activity category.
    priority:
        Integer priority (higher wins under :class:`~deconflict.strategic.policy.F3548Policy`).
    state, version:
        Lifecycle state and a version incremented on every change.
    """

    id: str
    party: str
    volumes: tuple[Volume4D, ...]
    category: ActivityCategory = ActivityCategory.OTHER
    priority: int = 0
    state: NoticeState = NoticeState.DRAFT
    version: int = 1

    def __post_init__(self) -> None:
        if not self.volumes:
            raise InvalidInputError(field="volumes", reason="a notice needs at least one volume")
        if self.version < 1:
            raise InvalidInputError(field="version", reason="must be >= 1")

    @property
    def start(self) -> datetime:
        """Earliest volume start (UTC)."""
        return min(v.start for v in self.volumes)

    @property
    def end(self) -> datetime:
        """Latest volume end (UTC)."""
        return max(v.end for v in self.volumes)

    @property
    def is_live(self) -> bool:
        """Notified or active: conflicts with other parties."""
        return self.state in LIVE_STATES

    def can_transition(self, to: NoticeState) -> bool:
        """Whether ``to`` is an allowed next state."""
        return to in ALLOWED_TRANSITIONS[self.state]

    def transition(self, to: NoticeState, *, now: datetime) -> Notice:
        """A new Notice in state ``to`` (version + 1).

        Raises
        ------
        InvalidInputError
            ``field="state"`` when the transition is not allowed, when activating outside the
            notice's time span, or when expiring before its end.
        """
        if not self.can_transition(to):
            raise InvalidInputError(
                field="state", reason=f"cannot go from {self.state.value} to {to.value}"
            )
        if to is NoticeState.ACTIVE and not (
            self.start - CLOCK_TOLERANCE <= now <= self.end + CLOCK_TOLERANCE
        ):
            raise InvalidInputError(field="state", reason="can only activate within its window")
        if to is NoticeState.EXPIRED and now <= self.end:
            raise InvalidInputError(field="state", reason="cannot expire before its end")
        return replace(self, state=to, version=self.version + 1)

    def with_volumes(self, volumes: tuple[Volume4D, ...]) -> Notice:
        """A new version with other volumes (allowed in draft, notified and active states)."""
        if not ALLOWED_TRANSITIONS[self.state]:
            raise InvalidInputError(
                field="state", reason=f"a {self.state.value} notice cannot be modified"
            )
        return replace(self, volumes=volumes, version=self.version + 1)

    def to_json(self) -> dict[str, Any]:
        """Wire form."""
        return {
            "id": self.id,
            "party": self.party,
            "category": self.category.value,
            "priority": self.priority,
            "state": self.state.value,
            "version": self.version,
            "volumes": [v.to_json() for v in self.volumes],
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], *, where: str = "notice") -> Notice:
        """Parse the wire form; errors name ``where.<field>``."""
        if not isinstance(obj, Mapping):
            raise InvalidInputError(field=where, reason="must be an object")
        for key in ("id", "party"):
            if not isinstance(obj.get(key), str) or not obj.get(key):
                raise InvalidInputError(field=f"{where}.{key}", reason="must be a non-empty string")
        raw = obj.get("volumes")
        if not isinstance(raw, list) or not raw:
            raise InvalidInputError(field=f"{where}.volumes", reason="must be a non-empty list")
        volumes = tuple(
            Volume4D.from_json(v, where=f"{where}.volumes[{k}]") for k, v in enumerate(raw)
        )
        try:
            category = ActivityCategory(obj.get("category", "other"))
        except ValueError:
            raise InvalidInputError(
                field=f"{where}.category",
                reason="use one of " + ", ".join(c.value for c in ActivityCategory),
            ) from None
        try:
            state = NoticeState(obj.get("state", "draft"))
        except ValueError:
            raise InvalidInputError(field=f"{where}.state", reason="unknown state") from None
        priority = obj.get("priority", 0)
        version = obj.get("version", 1)
        for name, value in (("priority", priority), ("version", version)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidInputError(field=f"{where}.{name}", reason="must be an integer")
        return cls(str(obj["id"]), str(obj["party"]), volumes, category, priority, state, version)
