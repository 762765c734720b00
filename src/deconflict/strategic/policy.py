"""Priority policies: what happens when a new notice conflicts with an existing one.

Two policies implement one small protocol (``decide``):

* :class:`AdvisoryPolicy`: the military/state case. No party can refuse another state's
  operation: every conflict is accepted, recorded, and both parties are notified.
* :class:`F3548Policy`: ASTM F3548-21 style. A lower priority may not conflict with a higher
  one; at equal priority the first submitted keeps the airspace unless the policy allows
  equal-priority conflicts. An already active operation may always be modified (you cannot
  replan an aircraft in the air).

Pure module: times are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from deconflict.errors import InvalidInputError

Decision = Literal["accept", "reject"]


class PriorityPolicy(Protocol):
    """Decides whether a new conflicting notice is accepted."""

    @property
    def name(self) -> str:
        """Policy name (``"advisory"``, ``"f3548"``)."""
        ...

    def decide(
        self,
        new_priority: int,
        existing_priority: int,
        new_submitted_at: datetime,
        existing_submitted_at: datetime,
        *,
        new_is_active_modification: bool = False,
    ) -> Decision:
        """``"accept"`` or ``"reject"`` the new notice against one existing conflicting one."""
        ...


@dataclass(frozen=True)
class AdvisoryPolicy:
    """Accept everything; conflicts are recorded and both parties notified."""

    name: str = "advisory"

    def decide(
        self,
        new_priority: int,
        existing_priority: int,
        new_submitted_at: datetime,
        existing_submitted_at: datetime,
        *,
        new_is_active_modification: bool = False,
    ) -> Decision:
        """Always ``"accept"``."""
        return "accept"


@dataclass(frozen=True)
class F3548Policy:
    """F3548-style priority rule.

    Parameters
    ----------
    allow_equal_priority_conflicts:
        When True, equal priorities may conflict (accepted, recorded, both notified); when
        False the earlier submission keeps the airspace.
    """

    allow_equal_priority_conflicts: bool = False
    name: str = "f3548"

    def decide(
        self,
        new_priority: int,
        existing_priority: int,
        new_submitted_at: datetime,
        existing_submitted_at: datetime,
        *,
        new_is_active_modification: bool = False,
    ) -> Decision:
        """Reject a lower priority; equal priority: first come, first served unless allowed."""
        if new_is_active_modification:
            return "accept"
        if new_priority < existing_priority:
            return "reject"
        if new_priority > existing_priority:
            return "accept"
        if self.allow_equal_priority_conflicts:
            return "accept"
        return "accept" if new_submitted_at < existing_submitted_at else "reject"


def policy_by_name(name: str) -> PriorityPolicy:
    """``"advisory"`` or ``"f3548"`` (equal priorities not allowed to conflict)."""

    if name == "advisory":
        return AdvisoryPolicy()
    if name == "f3548":
        return F3548Policy()
    raise InvalidInputError(field="policy", reason=f"unknown policy {name!r}; use advisory, f3548")
