"""Reads of the notice workflow: a party's own notices and own conflict records (filtered on
the caller's party in the query; another party's record and a missing one get the same 404)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from deconflict.broker.notice_model import conflict_public, notice_public
from deconflict.errors import NotFoundError
from deconflict.store.tables import conflicts, notices


def own_notice_row(session: Session, party_id: str, notice_id: str) -> Any:
    """The party's notice row (:class:`NotFoundError` when missing or another party's)."""
    row = session.execute(
        select(notices).where(notices.c.id == notice_id, notices.c.party_id == party_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no notice {notice_id!r}")
    return row


def list_own(
    session: Session,
    party_id: str,
    now: datetime,
    *,
    state: str = "live",
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The party's notices (``live``: notified and not yet ended), newest first."""
    q = select(notices).where(notices.c.party_id == party_id)
    if state == "live":
        q = q.where(notices.c.state == "notified", notices.c.end_at >= now)
    elif state != "all":
        q = q.where(notices.c.state == state)
    q = q.order_by(notices.c.created_at.desc(), notices.c.id).limit(limit).offset(offset)
    return [notice_public(r, now=now) for r in session.execute(q)]


def get_own(session: Session, party_id: str, notice_id: str, now: datetime) -> dict[str, Any]:
    """One of the party's notices."""
    return notice_public(own_notice_row(session, party_id, notice_id), now=now)


def list_conflicts(
    session: Session,
    party_id: str,
    *,
    status: str = "active",
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The party's own copies of conflict records, newest first."""
    q = select(conflicts).where(conflicts.c.party_id == party_id)
    if status != "all":
        q = q.where(conflicts.c.status == status)
    q = q.order_by(conflicts.c.created_at.desc(), conflicts.c.id).limit(limit).offset(offset)
    return [conflict_public(r) for r in session.execute(q)]


def get_conflict(session: Session, party_id: str, conflict_id: str) -> dict[str, Any]:
    """One conflict record of the party."""
    row = session.execute(
        select(conflicts).where(conflicts.c.id == conflict_id, conflicts.c.party_id == party_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no conflict {conflict_id!r}")
    return conflict_public(row)
