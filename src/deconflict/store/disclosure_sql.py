"""SQL storage of the disclosure budget, agreement settings and trust events (migration 0005).

Tables (migration ``0005_disclosure``)::

    agreement_settings  agreement_id PK | limits (VolumeLimits overrides) | disclosure
                        (DisclosurePolicy overrides) | priorities ({"parties", "categories"})
                        | updated_at
    notice_sizes        notice_id PK | party_id | km2h (area x time of the notice's volumes,
                        latest version) | end_at | created_at
    disclosures         id | created_at | viewer_party_id (who learnt) | owner_party_id (whose
                        plan) | agreement_id | owner_notice_id | viewer_notice_id | conflict_id
                        | kind (exact | coarse | unaffiliated) | charge_km2h | area_km2
                        | start_at | end_at | detail (coarse cells, or nothing)
    operator_events     id | created_at | kind | data
    key_events          id | created_at | party_id | key_id | role | issued_by
                        (operator | party_admin) | issuer_key_id

Query functions only; the policy is :mod:`deconflict.broker.disclosure` and the services in
``deconflict.broker``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    String,
    Table,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from deconflict.store.base import metadata
from deconflict.store.types import BigId, JsonDoc, UTCDateTime

agreement_settings = Table(
    "agreement_settings",
    metadata,
    Column("agreement_id", String(32), primary_key=True),
    Column("limits", JsonDoc, nullable=True),
    Column("disclosure", JsonDoc, nullable=True),
    Column("priorities", JsonDoc, nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)

notice_sizes = Table(
    "notice_sizes",
    metadata,
    Column("notice_id", String(32), primary_key=True),
    Column("party_id", String(32), nullable=False),
    Column("km2h", Float, nullable=False),
    Column("end_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_notice_sizes_party_end", "party_id", "end_at"),
)

disclosures = Table(
    "disclosures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("viewer_party_id", String(32), nullable=False),
    Column("owner_party_id", String(32), nullable=False),
    Column("agreement_id", String(32), nullable=True),
    Column("owner_notice_id", String(32), nullable=False),
    Column("viewer_notice_id", String(32), nullable=True),
    Column("conflict_id", String(32), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("exact", Boolean, nullable=False),
    Column("charge_km2h", Float, nullable=False),
    Column("area_km2", Float, nullable=False),
    Column("start_at", UTCDateTime(), nullable=False),
    Column("end_at", UTCDateTime(), nullable=False),
    Column("detail", JsonDoc, nullable=True),
    Index("ix_disclosures_pair_time", "viewer_party_id", "owner_party_id", "created_at"),
    Index("ix_disclosures_owner_time", "owner_party_id", "created_at"),
    sqlite_autoincrement=True,
)

operator_events = Table(
    "operator_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("data", JsonDoc, nullable=False),
    sqlite_autoincrement=True,
)

key_events = Table(
    "key_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("party_id", String(32), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("role", String(20), nullable=False),
    Column("issued_by", String(20), nullable=False),
    Column("issuer_key_id", String(32), nullable=True),
    Index("ix_key_events_party", "party_id", "created_at"),
    sqlite_autoincrement=True,
)


# ----------------------------------------------------------------------- agreement settings
def get_settings(session: Session, agreement_id: str) -> dict[str, Any]:
    """``{"limits", "disclosure", "priorities"}`` of one agreement (None where unset)."""
    row = session.execute(
        select(agreement_settings).where(agreement_settings.c.agreement_id == agreement_id)
    ).first()
    if row is None:
        return {"limits": None, "disclosure": None, "priorities": None}
    return {"limits": row.limits, "disclosure": row.disclosure, "priorities": row.priorities}


def all_settings(session: Session) -> dict[str, dict[str, Any]]:
    """Settings of every agreement that has any, by agreement id."""
    return {
        r.agreement_id: {"limits": r.limits, "disclosure": r.disclosure, "priorities": r.priorities}
        for r in session.execute(select(agreement_settings))
    }


def put_settings(
    session: Session, agreement_id: str, values: Mapping[str, Any], *, now: datetime
) -> None:
    """Insert or replace one agreement's settings (keys: limits, disclosure, priorities)."""
    row = {k: values.get(k) for k in ("limits", "disclosure", "priorities")}
    exists = session.execute(
        select(agreement_settings.c.agreement_id).where(
            agreement_settings.c.agreement_id == agreement_id
        )
    ).first()
    if exists:
        session.execute(
            update(agreement_settings)
            .where(agreement_settings.c.agreement_id == agreement_id)
            .values(**row, updated_at=now)
        )
    else:
        session.execute(
            insert(agreement_settings).values(agreement_id=agreement_id, **row, updated_at=now)
        )


# --------------------------------------------------------------------------- notice sizes
def put_notice_size(
    session: Session, notice_id: str, party_id: str, km2h: float, end_at: datetime, now: datetime
) -> None:
    """Record (or update, on amendment) a notice's area x time (km^2 x h)."""
    exists = session.execute(
        select(notice_sizes.c.notice_id).where(notice_sizes.c.notice_id == notice_id)
    ).first()
    if exists:
        session.execute(
            update(notice_sizes)
            .where(notice_sizes.c.notice_id == notice_id)
            .values(km2h=km2h, end_at=end_at)
        )
    else:
        session.execute(
            insert(notice_sizes).values(
                notice_id=notice_id, party_id=party_id, km2h=km2h, end_at=end_at, created_at=now
            )
        )


def notified_km2h(session: Session, party_id: str, since: datetime) -> float:
    """Area x time (km^2 x h) of ``party_id``'s notices ending after ``since`` (any state)."""
    value = session.execute(
        select(func.coalesce(func.sum(notice_sizes.c.km2h), 0.0)).where(
            notice_sizes.c.party_id == party_id, notice_sizes.c.end_at >= since
        )
    ).scalar_one()
    return float(value)


# ---------------------------------------------------------------------------- disclosures
def learned_km2h(session: Session, viewer: str, owner: str, since: datetime) -> float:
    """What ``viewer`` has been charged for exact disclosures of ``owner`` since ``since``."""
    value = session.execute(
        select(func.coalesce(func.sum(disclosures.c.charge_km2h), 0.0)).where(
            disclosures.c.viewer_party_id == viewer,
            disclosures.c.owner_party_id == owner,
            disclosures.c.exact.is_(True),
            disclosures.c.created_at >= since,
        )
    ).scalar_one()
    return float(value)


def shown_exact(
    session: Session, viewer: str, owner_notice_id: str, digest: str, since: datetime
) -> bool:
    """Whether ``viewer`` was shown exactly this overlap (``detail.overlap_sha256``) of
    ``owner_notice_id`` since ``since``."""
    rows = session.execute(
        select(disclosures.c.detail).where(
            disclosures.c.viewer_party_id == viewer,
            disclosures.c.owner_notice_id == owner_notice_id,
            disclosures.c.exact.is_(True),
            disclosures.c.created_at >= since,
        )
    )
    return any((r.detail or {}).get("overlap_sha256") == digest for r in rows)


def add_disclosure(session: Session, **values: Any) -> int:
    """Insert one disclosure row; returns its id."""
    result = session.execute(insert(disclosures).values(**values).returning(disclosures.c.id))
    return int(result.scalar_one())


def disclosures_of_owner(session: Session, owner: str, limit: int = 500) -> list[Any]:
    """The latest disclosures of ``owner``'s plans (newest first)."""
    return list(
        session.execute(
            select(disclosures)
            .where(disclosures.c.owner_party_id == owner)
            .order_by(disclosures.c.id.desc())
            .limit(limit)
        )
    )


# -------------------------------------------------------------------------- trust events
def add_operator_event(session: Session, kind: str, data: Mapping[str, Any], now: datetime) -> None:
    """An event for the broker operator (e.g. a conflict between unaffiliated parties)."""
    session.execute(insert(operator_events).values(created_at=now, kind=kind, data=dict(data)))


def list_operator_events(session: Session, limit: int = 500) -> list[Any]:
    """The latest operator events, newest first."""
    return list(
        session.execute(select(operator_events).order_by(operator_events.c.id.desc()).limit(limit))
    )


def add_key_event(session: Session, **values: Any) -> None:
    """Record who issued a key to a party."""
    session.execute(insert(key_events).values(**values))


def list_key_events(session: Session, party_id: str, limit: int = 500) -> list[Any]:
    """The key issuances of one party, newest first."""
    return list(
        session.execute(
            select(key_events)
            .where(key_events.c.party_id == party_id)
            .order_by(key_events.c.id.desc())
            .limit(limit)
        )
    )
