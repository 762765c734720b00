"""Shared helpers of the hotline service: ids, party lookup and naming, outbox and ledger."""

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

from deconflict.broker import agreements, audit, outbox
from deconflict.errors import InvalidInputError, error_reason, field_path
from deconflict.store.tables import parties


def new_id() -> str:
    """A random 128-bit id as 32 hex digits."""
    return secrets.token_hex(16)


def channel_pair(a: str, b: str) -> tuple[str, str]:
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
    audit.record(session, kind, sorted(set(party_ids)), dict(payload), now=now)


def publish_to(
    session: Session, party_id: str, kind: str, payload: Mapping[str, Any], now: datetime
) -> None:
    """Queue an event for ``party_id`` (``deconflict.broker.outbox.publish``)."""
    outbox.publish(session, party_id, kind, payload, now=now)


def first_reason(exc: Exception) -> str:
    """A one-line reason from a validation error (pydantic's first message, without its URL)."""
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        where = field_path(first["loc"]) if first["loc"] else ""
        msg = error_reason(first)
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


class ViewerNames:
    """How parties are shown to one viewing party (need-to-know).

    The viewer sees itself by id and name; every other party by the label and handle of their
    governing shared agreement (:func:`deconflict.broker.agreements.counterparts`): a pseudonym
    under a pseudonymous agreement, never the name or id behind it.
    """

    def __init__(self, session: Session, viewer: str) -> None:
        self.session = session
        self.viewer = viewer
        own = session.execute(select(parties.c.name).where(parties.c.id == viewer)).scalar()
        self.own_name = str(own) if own is not None else viewer
        self._others = agreements.counterparts(session, viewer)

    def handle(self, party: str) -> str:
        """The identifier shown for ``party`` (own id, other's id or pseudonym)."""
        if party == self.viewer:
            return party
        c = self._others.get(party)
        return c.handle if c is not None else "another party"

    def name(self, party: str) -> str:
        """The name shown for ``party``."""
        if party == self.viewer:
            return self.own_name
        c = self._others.get(party)
        return c.label if c is not None else "another party"

    def ref(self, party: str) -> dict[str, str]:
        """``{"id": handle, "name": name}`` of ``party``."""
        return {"id": self.handle(party), "name": self.name(party)}

    def scrub(self, text: str | None) -> str | None:
        """``text`` with other parties' ids replaced by their handles."""
        if not text:
            return text
        for pid, c in self._others.items():
            if pid in text and c.handle != pid:
                text = text.replace(pid, c.handle)
        return text


def resolve_counterpart(session: Session, viewer: str, ref: str, *, field: str) -> str:
    """The id of the party ``viewer`` addresses as ``ref`` (its label, or id when not a pseudonym).

    The viewer's own id or name gives a 422 naming ``field``; a party that does not exist, shares
    no agreement with the viewer, or is addressed by the real name or id behind a pseudonym gives
    the same 404 (``NotFoundError``).
    """
    own = session.execute(select(parties.c.name).where(parties.c.id == viewer)).scalar()
    if ref in (viewer, own):
        raise InvalidInputError(field=field, reason="must be another party")
    return agreements.resolve_counterpart(session, viewer, ref)
