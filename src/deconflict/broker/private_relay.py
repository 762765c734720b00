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

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session

from deconflict import hotline as hl
from deconflict.broker import audit, disclosure, outbox
from deconflict.broker.agreements import display_name, get_agreement
from deconflict.broker.hotline.messages import send_resolved
from deconflict.errors import (
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    StaleVersionError,
)
from deconflict.private import psi
from deconflict.private.cells import Grid
from deconflict.private.protocol import IntegrityError, PublicKeys, verify_statement
from deconflict.private.reveal import cell_km2h
from deconflict.store import disclosure_sql, private_sql

SEALED_KINDS: Final = ("answer", "reveal", "verdict")
"""Kinds of sealed messages the relay passes on."""

MAX_SEALED_BYTES: Final = psi.MAX_SET * psi.POINT_BYTES + 4096
"""Largest sealed message (bytes): an answer to the largest set, plus headers."""

MAX_SMALL_SEALED_BYTES: Final = 1_048_576
"""Largest reveal or verdict (bytes)."""

MAX_EPOCH: Final = 2**62

MAX_REVEAL_CELL_SLOTS: Final = psi.MAX_SET * 1024
"""Largest declared reveal size ((H3 cell, slot) units)."""
_HEX = frozenset("0123456789abcdef")


class DisclosureBudgetError(RateLimitedError):
    """A reveal beyond the disclosure budget of the ordered pair (viewer learns of owner)."""

    title = "Disclosure budget exhausted"


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
    reveal_budget_km2h: float = 0.0
    revealed_km2h: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Wire form for the member (no party ids)."""
        return {
            "id": self.id,
            "name": self.name,
            "counterpart": self.counterpart,
            "grid": self.grid.to_json(),
            "own_epoch": self.own_epoch,
            "counterpart_epoch": self.counterpart_epoch,
            "reveal_budget_km2h": round(self.reveal_budget_km2h, 3),
            "revealed_km2h": round(self.revealed_km2h, 3),
            "cell_km2h": round(cell_km2h(self.grid), 6),
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


def reveal_budget(
    session: Session, agreement_id: str, grid: Grid, *, owner: str, viewer: str, now: datetime
) -> tuple[float, float]:
    """(budget, learned) km^2 x h: what ``viewer`` may learn exactly of ``owner`` in the
    agreement's rolling window, and what it has been charged so far (open-mode overlaps and
    private reveals share one budget per ordered pair, issue 11).

    The owner's *notified* size, the base of the budget, is its open-mode notices plus, in
    private mode, its padded set counted in (H3 cell, slot) units: the broker knows no more
    (an upper bound: padding and altitude layers are counted too).
    """
    policy = disclosure.policy_for(session, agreement_id)
    since = now - timedelta(hours=policy.window_h)
    row = private_sql.set_row(session, agreement_id, owner)
    private_km2h = int(row.count) * cell_km2h(grid) if row is not None else 0.0
    notified = disclosure_sql.notified_km2h(session, owner, since) + private_km2h
    learned = disclosure_sql.learned_km2h(session, viewer, owner, since)
    return disclosure.budget_km2h(notified, policy), learned


def list_private(
    session: Session, party_id: str, *, now: datetime | None = None
) -> list[PrivateAgreement]:
    """The private agreements ``party_id`` is a member of, with the caller's reveal budget
    toward each counterpart (what the counterpart may still learn of the caller)."""
    out: list[PrivateAgreement] = []
    for aid in private_sql.private_agreement_ids(session):
        try:
            other, grid = _member(session, party_id, aid)
        except NotFoundError:
            continue
        budget, learned = (
            reveal_budget(session, aid, grid, owner=party_id, viewer=other, now=now)
            if now is not None
            else (0.0, 0.0)
        )
        out.append(
            PrivateAgreement(
                id=aid,
                name=get_agreement(session, aid).name,
                counterpart_id=other,
                counterpart=display_name(session, party_id, other),
                grid=grid,
                own_epoch=private_sql.epoch_of(session, aid, party_id),
                counterpart_epoch=private_sql.epoch_of(session, aid, other),
                reveal_budget_km2h=budget,
                revealed_km2h=learned,
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
    protocol: str | None = psi.PROTOCOL,
) -> dict[str, Any]:
    """Store the party's blinded set for a new epoch and commit it to the ledger.

    Raises
    ------
    ProtocolVersionError
        ``protocol`` is not :data:`deconflict.private.psi.PROTOCOL` (``None``: a client from
        before versioning, X25519).

    StaleVersionError
        ``epoch`` is not above the party's current epoch (a replay or a race).
    InvalidInputError
        Size, digest or signature do not check out (the keys must be registered first).
    """
    other, _ = _member(session, party_id, agreement_id)
    psi.check_protocol(protocol)
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
        "protocol": psi.PROTOCOL,
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
            "protocol": psi.PROTOCOL,
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
    keys = private_sql.keys_of(session, other)
    sign_public = keys[1] if keys is not None else ""
    stored = psi.stored_protocol(
        agreement_id, sign_public, int(row.epoch), bytes(row.blinded), row.digest
    )
    if stored in psi.RETIRED_PROTOCOLS:  # the digest domain tells the version it was made under
        raise psi.ProtocolVersionError(
            field="counterpart set",
            reason=f"the counterpart's stored set predates {psi.PROTOCOL} (X25519, retired): "
            "the counterpart must upgrade its client and push again",
        )
    return {
        "protocol": psi.PROTOCOL,
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
    cell_slots: int | None = None,
) -> float:
    """Store a sealed message for the counterpart (replaces the previous one of that kind).

    A ``reveal`` must declare its size, ``cell_slots`` ((H3 cell, slot) units,
    :func:`deconflict.private.reveal.reveal_cell_slots`): it is charged to the counterpart's
    disclosure budget of the sender (``cell_slots x cell_km2h``), recorded as a disclosure
    the sender can list and as a ledger entry; the same reveal again (same epoch and size)
    costs nothing. Returns the charge (km^2 x h).

    Raises
    ------
    DisclosureBudgetError
        The reveal would take the counterpart past its budget (429).
    """
    other, grid = _member(session, party_id, agreement_id)
    _kind(kind)
    limit = MAX_SEALED_BYTES if kind == "answer" else MAX_SMALL_SEALED_BYTES
    if len(blob) > limit:
        raise PayloadTooLargeError(field="blob", reason=f"larger than {limit} bytes")
    if not blob:
        raise InvalidInputError(field="blob", reason="is empty")
    if not 0 <= epoch <= MAX_EPOCH:
        raise InvalidInputError(field="epoch", reason=f"must be in 0..{MAX_EPOCH}")
    charge = 0.0
    if kind == "reveal":
        charge = _charge_reveal(
            session, agreement_id, grid, owner=party_id, viewer=other, epoch=epoch,
            cell_slots=cell_slots, now=now,
        )  # fmt: skip
    private_sql.replace_sealed(session, agreement_id, party_id, kind, epoch, blob, now)
    outbox.publish(
        session,
        other,
        "private",
        {"agreement_id": agreement_id, "what": kind, "epoch": epoch},
        now=now,
    )
    return charge


def _charge_reveal(
    session: Session,
    agreement_id: str,
    grid: Grid,
    *,
    owner: str,
    viewer: str,
    epoch: int,
    cell_slots: int | None,
    now: datetime,
) -> float:
    """Charge a reveal of ``owner``'s volume parts to ``viewer``'s budget (see put_sealed)."""
    if cell_slots is None:
        raise InvalidInputError(
            field="cell_slots", reason="a reveal must declare its size in (cell, slot) units"
        )
    if not 1 <= cell_slots <= MAX_REVEAL_CELL_SLOTS:
        raise InvalidInputError(field="cell_slots", reason=f"must be in 1..{MAX_REVEAL_CELL_SLOTS}")
    policy = disclosure.policy_for(session, agreement_id)
    since = now - timedelta(hours=policy.window_h)
    digest = hashlib.sha256(f"private-reveal:{epoch}:{cell_slots}".encode()).hexdigest()
    if disclosure_sql.shown_exact(session, viewer, agreement_id, digest, since):
        return 0.0
    charge = cell_slots * cell_km2h(grid)
    budget, learned = reveal_budget(
        session, agreement_id, grid, owner=owner, viewer=viewer, now=now
    )
    if learned + charge > budget + 1e-9:
        raise DisclosureBudgetError(
            f"disclosure budget: this reveal ({cell_slots} cell-slots, {charge:.1f} km^2 x h) "
            f"would take the counterpart to {learned + charge:.1f} of its {budget:.1f} km^2 x h "
            f"budget of this party's plans in {policy.window_h:g} h; reveal fewer cells later",
            retry_after_s=policy.window_h * 3600.0,
        )
    disclosure_sql.add_disclosure(
        session,
        created_at=now,
        viewer_party_id=viewer,
        owner_party_id=owner,
        agreement_id=agreement_id,
        owner_notice_id=agreement_id,
        viewer_notice_id=None,
        conflict_id=None,
        kind="private_reveal",  # exact: counted in the pair's budget (learned_km2h)
        exact=True,
        charge_km2h=charge,
        area_km2=0.0,  # the broker cannot see the revealed area, only its bound
        start_at=now,  # nor its times: the row records when, not what
        end_at=now,
        detail={
            "viewer_label": display_name(session, owner, viewer),
            "overlap_sha256": digest,
            "private_reveal": {"epoch": epoch, "cell_slots": cell_slots},
        },
    )
    audit.record(
        session,
        "disclosure",
        [owner],
        {
            "own_notice_id": agreement_id,
            "counterpart": display_name(session, owner, viewer),
            "kind": "private_reveal",
            "cell_slots": cell_slots,
            "charge_km2h": round(charge, 3),
        },
        now=now,
    )
    return charge


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


FOUND_SUBJECT: Final = "Private-mode conflict (opened by the broker)"
"""Subject of the hotline thread of a private agreement's conflicts (names no party)."""


def report_found(
    session: Session,
    party_id: str,
    agreement_id: str,
    *,
    own_epoch: int,
    counterpart_epoch: int,
    cells: int,
    now: datetime,
) -> dict[str, Any]:
    """A client found an intersection: open (or reuse) the agreement's hotline thread.

    As for an advisory conflict in open mode, the broker composes a PRIORITY message on the
    reporting party's side to the counterpart's officers, attached to the private conflict
    handle ``private:<agreement>:<epoch of the first party>.<epoch of the second>``. It carries
    only what the broker is told and both clients already know: that the two current sets meet,
    in how many cells. Not where, not when: the window and the cells stay in the clients'
    output (the broker would otherwise learn plan times). Both clients report the same
    intersection; the second report of an epoch pair adds nothing. Returns ``{thread_id,
    message_id, opened, conflict_ref}`` (``message_id`` None when nothing was added).

    Raises
    ------
    StaleVersionError
        The epochs are not the two parties' current ones (409): reports of old or invented
        epochs cannot add messages.
    """
    other, _ = _member(session, party_id, agreement_id)
    for epoch, who in ((own_epoch, party_id), (counterpart_epoch, other)):
        current = private_sql.epoch_of(session, agreement_id, who)
        if epoch != current or current == 0:
            raise StaleVersionError(expected=epoch, actual=current)
    if not 1 <= cells <= psi.MAX_SET:
        raise InvalidInputError(field="cells", reason=f"must be in 1..{psi.MAX_SET}")
    first, second = sorted(((party_id, own_epoch), (other, counterpart_epoch)))
    ref = f"private:{agreement_id}:{first[1]}.{second[1]}"
    earlier = private_sql.private_conflict_messages(session, f"private:{agreement_id}:")
    thread_id = earlier[0][1] if earlier else None
    if any(r == ref for r, _ in earlier):
        return {"thread_id": thread_id, "message_id": None, "opened": False, "conflict_ref": ref}
    message = send_resolved(
        session,
        sender=party_id,
        recipient_id=other,
        template=hl.Template.QUERY.value,
        fields={"subject": "activity_details"},
        precedence=hl.Precedence.PRIORITY.value,
        now=now,
        thread_id=thread_id,
        subject=None if thread_id else FOUND_SUBJECT,
        attachment={"kind": hl.AttachmentKind.CONFLICT.value, "ref": ref},
        free_text=(
            f"Private-mode conflict {ref}: our current plans share {cells} cells of the "
            "agreement's grid. Where and when: each side's `deconflict private sync` output "
            "(end-to-end, not through the broker); `--reveal` exchanges the exact overlaps."
        ),
        origin="broker",
    )
    return {
        "thread_id": str(message["thread_id"]),
        "message_id": str(message["id"]),
        "opened": thread_id is None,
        "conflict_ref": ref,
    }
