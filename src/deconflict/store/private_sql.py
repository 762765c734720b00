"""Tables and queries of the private-mode relay (migration ``0006_private``).

The relay stores only what the PSI needs to pass between the two clients, never a coordinate,
a cell id or a plan time::

    private_agreements  agreement_id PK | resolution | slot_s | layer_ft | created_at
                        (an agreement in private mode, with its grid)
    private_keys        party_id PK | box_public | sign_public | updated_at
    private_sets        (agreement_id, party_id) PK | epoch | count | digest | signature
                        | blinded (count x 32 B) | ledger_index | updated_at   (latest epoch)
    private_sealed      (agreement_id, sender_id, kind) PK | epoch | blob | updated_at
                        (sealed answer / reveal / verdict, opaque ciphertext)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Session

from deconflict.store.base import metadata
from deconflict.store.hotline_sql.tables import hotline_messages
from deconflict.store.tables import agreements, parties
from deconflict.store.types import UTCDateTime

private_agreements = Table(
    "private_agreements",
    metadata,
    Column("agreement_id", String(32), ForeignKey(agreements.c.id), primary_key=True),
    Column("resolution", SmallInteger, nullable=False),
    Column("slot_s", Integer, nullable=False),
    Column("layer_ft", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

private_keys = Table(
    "private_keys",
    metadata,
    Column("party_id", String(32), ForeignKey(parties.c.id), primary_key=True),
    Column("box_public", String(64), nullable=False),
    Column("sign_public", String(64), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

private_sets = Table(
    "private_sets",
    metadata,
    Column("agreement_id", String(32), ForeignKey(agreements.c.id), primary_key=True),
    Column("party_id", String(32), ForeignKey(parties.c.id), primary_key=True),
    Column("epoch", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
    Column("blinded", LargeBinary, nullable=False),
    Column("ledger_index", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

private_sealed = Table(
    "private_sealed",
    metadata,
    Column("agreement_id", String(32), ForeignKey(agreements.c.id), primary_key=True),
    Column("sender_id", String(32), ForeignKey(parties.c.id), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("epoch", BigInteger, nullable=False),
    Column("blob", LargeBinary, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


def grid_of(session: Session, agreement_id: str) -> tuple[int, int, int] | None:
    """(resolution, slot_s, layer_ft) of a private agreement, or None if not private."""
    row = session.execute(
        select(
            private_agreements.c.resolution,
            private_agreements.c.slot_s,
            private_agreements.c.layer_ft,
        ).where(private_agreements.c.agreement_id == agreement_id)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]))


def private_agreement_ids(session: Session) -> list[str]:
    """Ids of every agreement in private mode."""
    return [str(r[0]) for r in session.execute(select(private_agreements.c.agreement_id))]


def insert_private_agreement(
    session: Session, agreement_id: str, resolution: int, slot_s: int, layer_ft: int, now: datetime
) -> None:
    """Mark an agreement private with its grid."""
    session.execute(
        insert(private_agreements).values(
            agreement_id=agreement_id,
            resolution=resolution,
            slot_s=slot_s,
            layer_ft=layer_ft,
            created_at=now,
        )
    )


def keys_of(session: Session, party_id: str) -> tuple[str, str] | None:
    """(box_public, sign_public) hex of a party, or None."""
    row = session.execute(
        select(private_keys.c.box_public, private_keys.c.sign_public).where(
            private_keys.c.party_id == party_id
        )
    ).first()
    return None if row is None else (str(row[0]), str(row[1]))


def upsert_keys(
    session: Session, party_id: str, box_public: str, sign_public: str, now: datetime
) -> None:
    """Register (or replace) a party's public keys."""
    session.execute(delete(private_keys).where(private_keys.c.party_id == party_id))
    session.execute(
        insert(private_keys).values(
            party_id=party_id, box_public=box_public, sign_public=sign_public, updated_at=now
        )
    )


def set_row(session: Session, agreement_id: str, party_id: str) -> Any:
    """The latest set row of a party in an agreement (or None)."""
    return session.execute(
        select(private_sets).where(
            private_sets.c.agreement_id == agreement_id, private_sets.c.party_id == party_id
        )
    ).first()


def epoch_of(session: Session, agreement_id: str, party_id: str) -> int:
    """Latest epoch of a party in an agreement (0 if none)."""
    row = session.execute(
        select(private_sets.c.epoch).where(
            private_sets.c.agreement_id == agreement_id, private_sets.c.party_id == party_id
        )
    ).first()
    return 0 if row is None else int(row[0])


def replace_set(session: Session, values: dict[str, Any]) -> None:
    """Store a party's new epoch, replacing the previous one."""
    session.execute(
        delete(private_sets).where(
            private_sets.c.agreement_id == values["agreement_id"],
            private_sets.c.party_id == values["party_id"],
        )
    )
    session.execute(insert(private_sets).values(**values))


def sealed_row(session: Session, agreement_id: str, sender_id: str, kind: str) -> Any:
    """The latest sealed message of ``kind`` from ``sender_id`` (or None)."""
    return session.execute(
        select(private_sealed).where(
            private_sealed.c.agreement_id == agreement_id,
            private_sealed.c.sender_id == sender_id,
            private_sealed.c.kind == kind,
        )
    ).first()


def replace_sealed(
    session: Session,
    agreement_id: str,
    sender_id: str,
    kind: str,
    epoch: int,
    blob: bytes,
    now: datetime,
) -> None:
    """Store a sealed message, replacing the sender's previous one of that kind."""
    session.execute(
        delete(private_sealed).where(
            private_sealed.c.agreement_id == agreement_id,
            private_sealed.c.sender_id == sender_id,
            private_sealed.c.kind == kind,
        )
    )
    session.execute(
        insert(private_sealed).values(
            agreement_id=agreement_id,
            sender_id=sender_id,
            kind=kind,
            epoch=epoch,
            blob=blob,
            updated_at=now,
        )
    )


# ------------------------------------------------------------------- hotline threads (found)
def private_conflict_messages(session: Session, ref_prefix: str) -> list[tuple[str, str]]:
    """``(attachment_ref, thread_id)`` of the hotline messages attached to a private conflict
    handle starting with ``ref_prefix`` (``private:<agreement>:``), oldest first."""
    rows = session.execute(
        select(hotline_messages.c.attachment_ref, hotline_messages.c.thread_id)
        .where(
            hotline_messages.c.attachment_kind == "conflict",
            hotline_messages.c.attachment_ref.startswith(ref_prefix, autoescape=True),
        )
        .order_by(hotline_messages.c.created_at)
    )
    return [(str(r.attachment_ref), str(r.thread_id)) for r in rows]
