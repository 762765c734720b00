"""The ledger service: fresh signed heads, a party's entries with proofs, export bundles.

The log itself (append, heads, proofs, cosignatures, witnesses) is :mod:`deconflict.broker.audit`;
this module owns the transactions the read endpoints need (a head is signed on demand when the
log grew since the last one).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from deconflict.broker import audit
from deconflict.ledger import SignedCheckpoint, Signer
from deconflict.store.base import Database


def fresh_head(db: Database, signer: Signer, now: datetime) -> SignedCheckpoint:
    """The latest signed checkpoint, signed at ``now`` if the log grew since the last one."""
    with db.read() as session:
        latest = audit.latest_checkpoint(session)
        if latest is not None and latest.checkpoint.size == audit.size(session):
            return latest
    with db.write() as session:
        return audit.sign_head(session, signer, now=now)


def entry_proof(
    db: Database, signer: Signer, index: int, party_id: str, now: datetime
) -> dict[str, Any]:
    """Leaf record, salt, event and audit path of ``party_id``'s entry ``index`` in a fresh
    head (NotFoundError when the entry is not the party's)."""
    signed = fresh_head(db, signer, now)
    with db.read() as session:
        return audit.entry_proof(session, index, party_id, head=signed)


def export(
    db: Database,
    signer: Signer,
    party_id: str,
    now: datetime,
    *,
    since_sizes: Sequence[int],
    from_index: int,
    limit: int,
) -> dict[str, Any]:
    """Signed heads, consistency proofs and a page of ``party_id``'s own entries."""
    signed = fresh_head(db, signer, now)
    with db.read() as session:
        return audit.export(
            session,
            party_id,
            head=signed,
            log_key=signer.verifier,
            since_sizes=list(since_sizes),
            from_index=from_index,
            limit=limit,
        )
