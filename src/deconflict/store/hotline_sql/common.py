"""Shared helpers of the hotline store: ids, times, party lookup, outbox and ledger hooks."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from deconflict.errors import InvalidInputError
from deconflict.store.tables import parties


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with ``Z`` (``None`` stays ``None``)."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def new_id() -> str:
    """A random 128-bit id as 32 hex digits."""
    return secrets.token_hex(16)


def _pair(a: str, b: str) -> tuple[str, str]:
    x, y = sorted((a, b))
    return x, y


def record_audit(
    session: Session,
    kind: str,
    party_ids: Sequence[str],
    payload: Mapping[str, Any],
    *,
    now: datetime,
) -> None:
    """Append an act to the tamper-evident log (``deconflict.broker.audit.record``)."""
    from deconflict.broker.audit import record

    record(session, kind, sorted(set(party_ids)), dict(payload), now=now)


def _publish(
    session: Session, party_id: str, kind: str, payload: Mapping[str, Any], now: datetime
) -> None:
    from deconflict.broker.outbox import publish

    publish(session, party_id, kind, payload, now=now)


def _reason(exc: Exception) -> str:
    """A one-line reason from a validation error (pydantic's first message, without its URL)."""
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = str(first["msg"]).removeprefix("Value error, ")
        return f"{where}: {msg}" if where else msg
    return str(exc)


def party_names(session: Session, ids: Sequence[str]) -> dict[str, str]:
    """Map party ids to names (unknown ids are left out)."""
    if not ids:
        return {}
    rows = session.execute(select(parties.c.id, parties.c.name).where(parties.c.id.in_(set(ids))))
    return {r.id: r.name for r in rows}


def resolve_party(session: Session, ref: str, *, field: str) -> str:
    """The id of the party whose id or name is ``ref``; ``InvalidInputError`` naming ``field``."""
    row = session.execute(
        select(parties.c.id).where((parties.c.id == ref) | (parties.c.name == ref))
    ).first()
    if row is None:
        raise InvalidInputError(field=field, reason=f"no party {ref!r}")
    return str(row.id)
