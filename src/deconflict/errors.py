"""The error hierarchy shared by every layer.

Cores raise these; adapters translate them once (the web layer to RFC 9457 problem JSON, the
CLI to a one-line message and exit code 2). Every error carries structured, keyword-only fields
so that the message can name the offending field and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DeconflictError(Exception):
    """Base class of every error deconflict raises on purpose."""

    status: int = 400
    title: str = "Bad request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(DeconflictError, ValueError):
    """Input that cannot be used: names the field (and the row or feature, if any) and why.

    Parameters
    ----------
    field:
        The offending field or column name (``"lat"``, ``"volumes[0].alt_lower_ft"``).
    reason:
        Human-readable reason (``"must be between -90 and 90 degrees"``).
    row:
        Optional locator: a row number (1-based, as a spreadsheet shows it) or a feature id.
    """

    status = 422
    title = "Invalid input"

    def __init__(self, *, field: str, reason: str, row: int | str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.row = row
        where = f"row {row}, " if isinstance(row, int) else (f"{row}, " if row is not None else "")
        super().__init__(f"{where}field '{field}': {reason}")


class NotFoundError(DeconflictError):
    """The object does not exist *or is not visible to the caller* (the same answer for both)."""

    status = 404
    title = "Not found"


class ForbiddenError(DeconflictError):
    """The caller is authenticated but its role does not allow this action."""

    status = 403
    title = "Forbidden"


class UnauthorizedError(DeconflictError):
    """No credentials, or credentials that are unknown, revoked or expired."""

    status = 401
    title = "Unauthorized"


class StaleVersionError(DeconflictError):
    """Optimistic concurrency failure: the client quoted an out-of-date version."""

    status = 409
    title = "Stale version"

    def __init__(self, *, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"version {expected} is stale: the current version is {actual}")


class ConflictRejectedError(DeconflictError):
    """A write refused by the priority policy because it conflicts with another party's plan."""

    status = 409
    title = "Conflict with another party's plan"

    def __init__(self, message: str, *, overlaps: list[dict[str, object]] | None = None) -> None:
        self.overlaps = overlaps or []
        super().__init__(message)


class RateLimitedError(DeconflictError):
    """Too many requests of a kind in a short time (probing defence)."""

    status = 429
    title = "Too many requests"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


def field_path(loc: Sequence[str | int]) -> str:
    """A pydantic error location as a field pointer (the one translator): ``("body",
    "volumes", 0, "start")`` -> ``volumes[0].start``; ``("query", "limit")`` -> ``query.limit``;
    an empty location -> ``body``."""
    parts = list(loc)
    prefix = ""
    if parts and parts[0] == "body":
        parts = parts[1:]
    elif parts and parts[0] in ("query", "path", "header", "cookie"):
        prefix = f"{parts[0]}."
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return prefix + (out or "body")


def error_reason(error: Any) -> str:
    """The reason of one pydantic error dict (its message without the "Value error, " prefix)."""
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


def invalid_input_from(exc: Any) -> InvalidInputError:
    """The :class:`InvalidInputError` of a ``pydantic.ValidationError``'s first error."""
    first = exc.errors(include_url=False)[0]
    return InvalidInputError(field=field_path(first.get("loc", ())), reason=error_reason(first))
