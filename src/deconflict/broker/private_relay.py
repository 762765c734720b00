"""Private-mode relay: the broker passes blinded sets and sealed messages between the two
parties of a private agreement, and commits each set to the ledger.

What the broker holds: the agreement's grid, each party's *public* PSI keys, each party's latest
blinded set (random-looking 32-byte values, padded to a size bucket), its digest and the
party's signature, and opaque sealed messages (answers, reveals, verdicts) that only the
counterpart can open. No coordinate, cell id or plan time ever reaches it.

Need-to-know: every call names an agreement; only its two member parties may use it (anyone
else gets the same 404 as for an unknown agreement). Sizes are bounded
(:data:`deconflict.private.psi.MAX_SET`, :data:`MAX_SEALED_BYTES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from deconflict.broker import audit, outbox
from deconflict.broker.agreements import display_name, get_agreement
from deconflict.errors import InvalidInputError, NotFoundError, StaleVersionError
from deconflict.private import psi
from deconflict.private.cells import Grid
from deconflict.private.protocol import IntegrityError, PublicKeys, verify_statement
from deconflict.store import private_sql

SEALED_KINDS: Final = ("answer", "reveal", "verdict")
"""Kinds of sealed messages the relay passes on."""

MAX_SEALED_BYTES: Final = psi.MAX_SET * psi.POINT_BYTES + 4096
"""Largest sealed message (bytes): an answer to the largest set, plus headers."""

MAX_SMALL_SEALED_BYTES: Final = 1_048_576
"""Largest reveal or verdict (bytes)."""

MAX_EPOCH: Final = 2**62
_HEX = frozenset("0123456789abcdef")


class PayloadTooLargeError(InvalidInputError):
    """A body beyond the relay's size limits."""

    status = 413
    title = "Payload too large"


@dataclass(frozen=True)
class PrivateAgreement:
    """A private agreement as one member sees it."""

    id: str
    name: str
    counterpart_id: str
    counterpart: str
    grid: Grid
    own_epoch: int
    counterpart_epoch: int

    def to_json(self) -> dict[str, Any]:
        """Wire form for the member (no party ids)."""
        return {
            "id": self.id,
            "name": self.name,
            "counterpart": self.counterpart,
            "grid": self.grid.to_json(),
            "own_epoch": self.own_epoch,
            "counterpart_epoch": self.counterpart_epoch,
        }


def _hex(value: Any, field: str, size: int) -> str:
    if not isinstance(value, str) or len(value) != 2 * size or not set(value) <= _HEX:
        raise InvalidInputError(field=field, reason=f"must be {size} bytes as lowercase hex")
    return value


def enable_private(
    session: Session, agreement_id: str, grid: Grid, *, now: datetime
) -> PrivateAgreement | None:
    """Put an agreement of exactly two parties in private mode with ``grid`` (operator)."""
    agreement = get_agreement(session, agreement_id)
    if len(agreement.members) != 2:
        raise InvalidInputError(
            field="parties", reason="a private agreement has exactly two parties"
        )
    if private_sql.grid_of(session, agreement_id) is not None:
        raise InvalidInputError(field="mode", reason="the agreement is already private")
    private_sql.insert_private_agreement(
        session, agreement_id, grid.resolution, grid.slot_s, grid.layer_ft, now
    )
    return None


def _member(session: Session, party_id: str, agreement_id: str) -> tuple[str, Grid]:
    """(counterpart id, grid) if ``party_id`` is a member of the private agreement, else 404."""
    grid = private_sql.grid_of(session, agreement_id)
    if grid is None:
        raise NotFoundError(f"no private agreement {agreement_id!r}")
    agreement = get_agreement(session, agreement_id, party_id=party_id)  # 404 for non-members
    others = [p for p in agreement.members if p != party_id]
    if len(others) != 1:
        raise NotFoundError(f"no private agreement {agreement_id!r}")
    return others[0], Grid(*grid)


def list_private(session: Session, party_id: str) -> list[PrivateAgreement]:
    """The private agreements ``party_id`` is a member of."""
    out: list[PrivateAgreement] = []
    for aid in private_sql.private_agreement_ids(session):
        try:
            other, grid = _member(session, party_id, aid)
        except NotFoundError:
            continue
        out.append(
            PrivateAgreement(
                id=aid,
                name=get_agreement(session, aid).name,
                counterpart_id=other,
                counterpart=display_name(session, party_id, other),
                grid=grid,
                own_epoch=private_sql.epoch_of(session, aid, party_id),
                counterpart_epoch=private_sql.epoch_of(session, aid, other),
            )
        )
    return out


def register_keys(
    session: Session, party_id: str, box_public: Any, sign_public: Any, *, now: datetime
) -> str:
    """Register the party's public keys; returns their fingerprint."""
    keys = PublicKeys(
        bytes.fromhex(_hex(box_public, "box_public", 32)),
        bytes.fromhex(_hex(sign_public, "sign_public", 32)),
    )
    private_sql.upsert_keys(session, party_id, keys.box_public.hex(), keys.sign_public.hex(), now)
    return keys.fingerprint


def counterpart_keys(session: Session, party_id: str, agreement_id: str) -> dict[str, str]:
    """The counterpart's public keys (404 until it registers)."""
    other, _ = _member(session, party_id, agreement_id)
    keys = private_sql.keys_of(session, other)
    if keys is None:
        raise NotFoundError("the counterpart has not registered private-mode keys")
    return {"box_public": keys[0], "sign_public": keys[1]}


def put_set(
    session: Session,
    party_id: str,
    agreement_id: str,
    *,
    epoch: int,
    blinded: bytes,
    count: int,
    digest: Any,
    signature: Any,
    now: datetime,
) -> dict[str, Any]:
    """Store the party's blinded set for a new epoch and commit it to the ledger.

    Raises
    ------
    StaleVersionError
        ``epoch`` is not above the party's current epoch (a replay or a race).
    InvalidInputError
        Size, digest or signature do not check out (the keys must be registered first).
    """
    other, _ = _member(session, party_id, agreement_id)
    if not 1 <= epoch <= MAX_EPOCH:
        raise InvalidInputError(field="epoch", reason=f"must be in 1..{MAX_EPOCH}")
    current = private_sql.epoch_of(session, agreement_id, party_id)
    if epoch <= current:
        raise StaleVersionError(expected=epoch, actual=current)
    if len(blinded) % psi.POINT_BYTES or len(blinded) // psi.POINT_BYTES != count:
        raise InvalidInputError(field="count", reason="does not match the blinded bytes")
    if not psi.MIN_BUCKET <= count <= psi.MAX_SET:
        raise InvalidInputError(
            field="count", reason=f"must be in {psi.MIN_BUCKET}..{psi.MAX_SET} (padded)"
        )
    digest = _hex(digest, "digest", 32)
    signature = _hex(signature, "signature", 64)
    keys = private_sql.keys_of(session, party_id)
    if keys is None:
        raise InvalidInputError(field="keys", reason="register private-mode keys first")
    public = PublicKeys(bytes.fromhex(keys[0]), bytes.fromhex(keys[1]))
    if psi.set_digest(agreement_id, keys[1], epoch, blinded) != digest:
        raise InvalidInputError(field="digest", reason="does not match the blinded set")
    statement = {
        "kind": "set",
        "agreement": agreement_id,
        "epoch": epoch,
        "count": count,
        "digest": digest,
    }
    try:
        verify_statement(public, statement, signature)
    except IntegrityError:
        raise InvalidInputError(
            field="signature", reason="does not verify with the registered sign key"
        ) from None
    index = audit.record(
        session,
        "private.set_committed",
        [party_id, other],
        {
            "agreement_id": agreement_id,
            "epoch": epoch,
            "count": count,
            "digest": digest,
            "signature": signature,
        },
        now=now,
    )
    private_sql.replace_set(
        session,
        {
            "agreement_id": agreement_id,
            "party_id": party_id,
            "epoch": epoch,
            "count": count,
            "digest": digest,
            "signature": signature,
            "blinded": blinded,
            "ledger_index": index,
            "updated_at": now,
        },
    )
    outbox.publish(
        session,
        other,
        "private",
        {"agreement_id": agreement_id, "what": "set", "epoch": epoch},
        now=now,
    )
    return {"epoch": epoch, "count": count, "digest": digest, "ledger_index": index}


def counterpart_set(session: Session, party_id: str, agreement_id: str) -> dict[str, Any]:
    """The counterpart's latest set (404 until it pushes): bytes as ``blinded``."""
    other, _ = _member(session, party_id, agreement_id)
    row = private_sql.set_row(session, agreement_id, other)
    if row is None:
        raise NotFoundError("the counterpart has not pushed a set")
    return {
        "epoch": int(row.epoch),
        "count": int(row.count),
        "digest": row.digest,
        "signature": row.signature,
        "blinded": bytes(row.blinded),
        "ledger_index": int(row.ledger_index),
    }


def _kind(kind: str) -> str:
    if kind not in SEALED_KINDS:
        raise NotFoundError(f"no sealed message kind {kind!r}")
    return kind


def put_sealed(
    session: Session,
    party_id: str,
    agreement_id: str,
    kind: str,
    *,
    epoch: int,
    blob: bytes,
    now: datetime,
) -> None:
    """Store a sealed message for the counterpart (replaces the previous one of that kind)."""
    other, _ = _member(session, party_id, agreement_id)
    _kind(kind)
    limit = MAX_SEALED_BYTES if kind == "answer" else MAX_SMALL_SEALED_BYTES
    if len(blob) > limit:
        raise PayloadTooLargeError(field="blob", reason=f"larger than {limit} bytes")
    if not blob:
        raise InvalidInputError(field="blob", reason="is empty")
    if not 0 <= epoch <= MAX_EPOCH:
        raise InvalidInputError(field="epoch", reason=f"must be in 0..{MAX_EPOCH}")
    private_sql.replace_sealed(session, agreement_id, party_id, kind, epoch, blob, now)
    outbox.publish(
        session,
        other,
        "private",
        {"agreement_id": agreement_id, "what": kind, "epoch": epoch},
        now=now,
    )


def counterpart_sealed(
    session: Session, party_id: str, agreement_id: str, kind: str
) -> dict[str, Any]:
    """The counterpart's latest sealed message of ``kind`` for us (404 if none)."""
    other, _ = _member(session, party_id, agreement_id)
    row = private_sql.sealed_row(session, agreement_id, other, _kind(kind))
    if row is None:
        raise NotFoundError(f"no {kind} from the counterpart yet")
    return {"epoch": int(row.epoch), "blob": bytes(row.blob)}


def private_grid(text: str) -> Grid:
    """Parse ``"resolution,slot_s,layer_ft"`` (the admin CLI's ``--grid``)."""
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise InvalidInputError(field="--grid", reason="must be 'resolution,slot_s,layer_ft'")
    try:
        return Grid(*(int(p) for p in parts))
    except InvalidInputError as exc:
        raise InvalidInputError(field="--grid", reason=f"{exc.field}: {exc.reason}") from None
