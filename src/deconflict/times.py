"""The only time formatting and parsing on the wire: ISO 8601 / RFC 3339 UTC with ``Z``.

Every time that leaves the broker (HTTP bodies, stream events, CLI JSON) is written by
:func:`utc_iso`; every wire time read back by :func:`parse_iso`. (The ledger's canonical,
fixed-width form is :func:`deconflict.ledger.entries.format_time`: it is hashed, so it keeps
its own exact layout.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

__all__ = ["parse_iso", "utc_iso"]


@overload
def utc_iso(value: datetime) -> str: ...


@overload
def utc_iso(value: None) -> None: ...


def utc_iso(value: datetime | None) -> str | None:
    """``value`` as ISO 8601 UTC with a ``Z`` suffix (seconds, or microseconds when present).

    ``None`` stays ``None``. An aware time is converted to UTC; a naive one is taken as UTC
    (the store only hands out aware UTC times, see :class:`deconflict.store.types.UTCDateTime`).
    """
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset) as written by :func:`utc_iso`; zone preserved.

    Raises ``ValueError`` on text that is not ISO 8601.
    """
    return datetime.fromisoformat(text)
