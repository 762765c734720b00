"""Typed errors of the hotline core.

Each subclasses a :mod:`deconflict.errors` type so the web layer maps it to the right HTTP status
once (403 for acting on someone else's message, 409 for a repeated or out-of-order act, 422 for
invalid fields) without knowing about the hotline.
"""

from __future__ import annotations

from collections.abc import Sequence

from deconflict.errors import DeconflictError, ForbiddenError, InvalidInputError


class FieldErrors(InvalidInputError):
    """One or more invalid template fields; ``errors`` lists every ``(field, reason)`` pair.

    ``field`` and ``reason`` (inherited) name the first problem, so a caller that only reads one
    still gets a precise message.
    """

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        if not errors:
            raise ValueError("FieldErrors needs at least one (field, reason) pair")
        self.errors: list[tuple[str, str]] = list(errors)
        first_field, first_reason = self.errors[0]
        super().__init__(field=first_field, reason=first_reason)
        if len(self.errors) > 1:
            rest = "; ".join(f"field '{f}': {r}" for f, r in self.errors[1:])
            self.message = f"{self.message}; {rest}"
            self.args = (self.message,)


class NotRecipientError(ForbiddenError):
    """A party tried to acknowledge (or answer) a message that was not addressed to it."""


class AckConflictError(DeconflictError):
    """An acknowledgement that repeats or contradicts an earlier one (HTTP 409)."""

    status = 409
    title = "Acknowledgement conflict"


class StateTransitionError(DeconflictError):
    """An act not allowed in the current state of a channel or an incident (HTTP 409)."""

    status = 409
    title = "Not allowed in the current state"

    def __init__(self, *, obj: str, state: str, action: str) -> None:
        self.obj = obj
        self.state = state
        self.action = action
        super().__init__(f"cannot {action}: {obj} is {state}")


__all__ = [
    "AckConflictError",
    "FieldErrors",
    "NotRecipientError",
    "StateTransitionError",
]
