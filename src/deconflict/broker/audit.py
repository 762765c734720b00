"""The broker's tamper-evident audit log: append events, sign heads, serve proofs and bundles.

``record(session, kind, party_ids, payload, now=...)`` commits an event to the ledger *inside
the caller's transaction*: the entry exists if and only if the change it records is committed.
The leaf commits to one *view* per party (:mod:`deconflict.ledger.entries`): each party sees the
others by the label the rest of the API shows it (:func:`deconflict.broker.agreements.counterparts`:
the pseudonym under a pseudonymous agreement, else the name; "an unaffiliated party" when the two
share no agreement), so no proof or export ever carries another party's id. The labels are
fixed when the entry is written (stored with the event), so later agreement changes do not
alter what an old entry opens to.
Index allocation is serialised: on SQLite the single writer connection (``BEGIN IMMEDIATE``)
already admits one writer at a time; on PostgreSQL the transaction takes the outbox's
transaction-level advisory lock (one lock for both ordered logs, so two writers can never take
them in opposite orders and deadlock). The primary key on the index is the last line of
defence: a duplicate index fails the transaction, it never forks the log.

The broker's Ed25519 note key lives in ``<data_dir>/ledger_signing.key`` (created with mode
0600 on first use); its key name is the log's origin. Heads are signed on demand (when a head,
proof or export is requested and the log has grown since the last signed head).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from deconflict.broker.outbox import OUTBOX_LOCK_KEY
from deconflict.errors import InvalidInputError, NotFoundError
from deconflict.ledger import (
    COSIGNATURE_V1,
    Checkpoint,
    Event,
    LeafRecord,
    Opening,
    SignedCheckpoint,
    Signer,
    Verifier,
    build_bundle,
    commit_event,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    new_salt,
    open_event,
    posix_seconds,
    root_hash,
    sign_checkpoint,
)
from deconflict.ledger.entries import LEGACY_LEAF_VERSION, Labels, b64encode, check_parties
from deconflict.store.ledger_sql import (
    SqlLogStorage,
    ledger_checkpoints,
    ledger_entries,
    ledger_entry_parties,
    ledger_witnesses,
)
from deconflict.store.tables import agreement_members
from deconflict.store.tables import agreements as agreements_table
from deconflict.store.tables import parties as parties_table

DEFAULT_ORIGIN: Final = "deconflict.local/ledger"
"""Key name (and checkpoint origin) of a newly created broker key."""

KEY_FILE_NAME: Final = "ledger_signing.key"
"""File in the data directory holding the broker's private note key."""

UNAFFILIATED_LABEL: Final = "an unaffiliated party"
"""How a party sharing no agreement with the viewer is shown (as disclosures show it)."""


#: ``Session.info`` key: (innermost transaction, ledger size) after this session's last append.
#: Any other transaction object (a new one, or a savepoint begun or ended since) forces a fresh
#: locked read, so a rolled-back savepoint can never leave a stale size behind.
_SIZE_KEY = "deconflict.ledger_size"
_INSERT_ENTRY = insert(ledger_entries)
_INSERT_PARTY = insert(ledger_entry_parties)


def _distinct(label: str, used: set[str]) -> str:
    shown, number = label, 2
    while shown in used:
        shown, number = f"{label} #{number}", number + 1
    used.add(shown)
    return shown


# Every agreement with at least one of the entry's parties as a member (one row per such
# member), by name: the order in which agreements.list_agreements lists them.
_SHARED_AGREEMENTS = (
    select(
        agreements_table.c.id,
        agreements_table.c.policy,
        agreements_table.c.use_pseudonyms,
        agreement_members.c.party_id,
        agreement_members.c.pseudonym,
    )
    .join(agreement_members, agreement_members.c.agreement_id == agreements_table.c.id)
    .where(agreement_members.c.party_id.in_(bindparam("pids", expanding=True)))
    .order_by(agreements_table.c.name)
)
_PARTY_NAMES = select(parties_table.c.id, parties_table.c.name).where(
    parties_table.c.id.in_(bindparam("pids", expanding=True))
)


def view_labels(session: Session, party_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{viewer: {other: label}}`` for the parties of one entry: each other party as the
    viewer sees it everywhere else in the API, i.e. the label of
    :func:`deconflict.broker.agreements.counterparts` (the pseudonym under the governing shared
    agreement when it uses pseudonyms, else the name; the governing agreement is the first F3548
    one by name, else the first by name), or ``UNAFFILIATED_LABEL`` when the two share no
    agreement. Labels are made distinct within one view. Two queries whatever the number of
    parties (``tests/ledger/test_ledger_sql.py`` checks it against ``counterparts``)."""
    pids = sorted(set(party_ids))
    if len(pids) < 2:
        return {}
    order: list[tuple[str, bool, bool]] = []  # (agreement id, f3548, use_pseudonyms) by name
    members: dict[str, dict[str, str]] = {}  # agreement id -> {entry party: pseudonym}
    for r in session.execute(_SHARED_AGREEMENTS, {"pids": pids}):
        if r.id not in members:
            members[r.id] = {}
            order.append((str(r.id), r.policy == "f3548", bool(r.use_pseudonyms)))
        members[r.id][str(r.party_id)] = str(r.pseudonym)
    names = {str(r.id): str(r.name) for r in session.execute(_PARTY_NAMES, {"pids": pids})}
    out: dict[str, dict[str, str]] = {}
    for viewer in pids:
        used = {viewer}
        shown: dict[str, str] = {}
        for other in pids:
            if other == viewer:
                continue
            shared = [a for a in order if viewer in members[a[0]] and other in members[a[0]]]
            governing = next((a for a in shared if a[1]), shared[0] if shared else None)
            if governing is None or other not in names:
                label = UNAFFILIATED_LABEL
            elif governing[2]:
                label = members[governing[0]][other]
            else:
                label = names[other]
            shown[other] = _distinct(label, used)
        out[viewer] = shown
    return out


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": OUTBOX_LOCK_KEY})


def record(
    session: Session,
    kind: str,
    party_ids: Sequence[str],
    payload: Mapping[str, Any],
    *,
    now: datetime,
    claimed_at: datetime | None = None,
) -> int:
    """Append an event to the ledger in the session's transaction and return its index.

    Parameters
    ----------
    session:
        An open *write* session; the entry commits or rolls back with it.
    kind:
        Dotted event kind, e.g. ``"notice.submitted"``, ``"message.acknowledged"``.
    party_ids:
        Parties who may open the entry (each must exist in ``parties``).
    payload:
        JSON object with the event's content (ids, states, hashes of signed envelopes).
    now:
        Broker receive time (timezone-aware UTC).
    claimed_at:
        The sender's claimed time, if the event carries one.
    """
    return record_many(session, [(kind, party_ids, payload)], now=now, claimed_at=claimed_at)[0]


def record_many(
    session: Session,
    entries: Sequence[tuple[str, Sequence[str], Mapping[str, Any]]],
    *,
    now: datetime,
    claimed_at: datetime | None = None,
) -> list[int]:
    """Append ``(kind, party_ids, payload)`` entries, in order, in the session's transaction
    (the parameters of :func:`record`, one receive time for all); returns their indexes.

    Two statements for the whole list (entries, then their parties) instead of two per entry,
    plus the completed-subtree rows (one per 16 entries on average): the live leader appends a
    cycle's alert evidence, one entry per party and alert, with one call. Every entry is
    checked and encoded before anything is written: a bad one leaves the ledger untouched.
    """
    if not entries:
        return []
    labels_of: dict[tuple[str, ...], Labels] = {}
    prepared: list[tuple[Event, Labels, bytes]] = []
    for kind, party_ids, payload in entries:
        event = Event(
            kind=kind,
            party_ids=check_parties(party_ids),
            payload=payload,
            received_at=now,
            claimed_at=claimed_at,
        )
        key = tuple(event.party_ids)
        labels = labels_of.get(key)
        if labels is None:
            labels = labels_of[key] = view_labels(session, event.party_ids)
        # The views are canonicalised for their commitments; the stored inputs need only be JSON.
        try:
            stored = json.dumps(
                {"event": event.to_json(), "labels": labels},
                separators=(",", ":"),
                allow_nan=False,
            ).encode()
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                field="payload", reason=f"not canonicalisable JSON: {exc}"
            ) from exc
        prepared.append((event, labels, stored))
    session.connection()  # begins the transaction if it has not begun yet
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:  # pragma: no cover - connection() always begins one
        raise RuntimeError("audit.record needs a transaction")
    cached = session.info.get(_SIZE_KEY)
    if cached is not None and cached[0] is transaction:
        # Same (innermost) transaction as our last append: we hold the lock, the size is ours.
        storage = SqlLogStorage(session, size=cached[1])
    else:
        _lock(session)
        storage = SqlLogStorage(session)
    first = storage.size()
    rows: list[dict[str, Any]] = []
    party_rows: list[dict[str, Any]] = []
    digests: list[bytes] = []
    for k, (event, labels, stored) in enumerate(prepared):
        index = first + k
        salt = new_salt()
        encoded = commit_event(index, event, salt, labels).encode()
        digest = leaf_hash(encoded)
        digests.append(digest)
        rows.append(
            {
                "idx": index,
                "kind": event.kind,
                "leaf": encoded,
                "leaf_hash": digest,
                "salt": salt,
                "content": stored,
                "created_at": now,
            }
        )
        party_rows.extend({"party_id": p, "idx": index} for p in event.party_ids)
    session.execute(_INSERT_ENTRY, rows)
    session.execute(_INSERT_PARTY, party_rows)
    for digest in digests:
        storage.append(digest)
    session.info[_SIZE_KEY] = (transaction, first + len(prepared))
    return list(range(first, first + len(prepared)))


def load_or_create_signer(data_dir: Path, *, name: str = DEFAULT_ORIGIN) -> Signer:
    """The broker's note key from ``data_dir``, created (mode 0600) if absent.

    Two processes racing to create it agree: creation is ``O_EXCL`` and the loser reads the
    winner's file.
    """
    path = Path(data_dir) / KEY_FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        signer = Signer.generate(name)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(signer.skey() + "\n")
            return signer
    return Signer.from_skey(path.read_text(encoding="utf-8"))


def size(session: Session) -> int:
    """Number of entries in the ledger."""
    return SqlLogStorage(session).size()


def _signed(row: Any) -> SignedCheckpoint:
    return SignedCheckpoint.from_note(str(row.note))


def latest_checkpoint(session: Session) -> SignedCheckpoint | None:
    """The most recent signed head, if any."""
    row = session.execute(
        select(ledger_checkpoints.c.note).order_by(ledger_checkpoints.c.id.desc()).limit(1)
    ).first()
    return None if row is None else _signed(row)


def sign_head(session: Session, signer: Signer, *, now: datetime) -> SignedCheckpoint:
    """The latest signed head, signing a new one first if the log grew (needs a write session)."""
    _lock(session)
    latest = latest_checkpoint(session)
    storage = SqlLogStorage(session)
    current = storage.size()
    if latest is not None and latest.checkpoint.size == current:
        return latest
    checkpoint = Checkpoint(
        origin=signer.name,
        size=current,
        root=root_hash(storage, current),
        timestamp_s=posix_seconds(now),
    )
    signed = sign_checkpoint(checkpoint, signer)
    session.execute(
        insert(ledger_checkpoints).values(
            size=checkpoint.size,
            root=checkpoint.root,
            timestamp_s=checkpoint.timestamp_s,
            note=signed.note(),
            created_at=now,
        )
    )
    return signed


def _checkpoint_at(session: Session, tree_size: int) -> SignedCheckpoint | None:
    row = session.execute(
        select(ledger_checkpoints.c.note)
        .where(ledger_checkpoints.c.size == tree_size)
        .order_by(ledger_checkpoints.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _signed(row)


def _opening(row: Any, party_id: str) -> tuple[LeafRecord, Opening | None]:
    """Entry ``row``'s leaf and ``party_id``'s opening (``None`` when tombstoned).

    Stored content is ``{"event": full event, "labels": {viewer: {other: label}}}`` for
    version 2 leaves, the bare event for legacy version 1 leaves (whose opening is the whole
    event, as it was committed).
    """
    leaf = LeafRecord.from_json(json.loads(bytes(row.leaf)))
    if row.salt is None or row.content is None:
        return leaf, None  # tombstoned: the leaf (and so the tree) stays, the content is gone
    stored = json.loads(bytes(row.content))
    salt = bytes(row.salt)
    if leaf.version == LEGACY_LEAF_VERSION:
        return leaf, Opening(salt=salt, event=Event.from_json(stored))
    event = Event.from_json(stored["event"])
    labels: Labels = stored["labels"]
    return leaf, open_event(event, salt, party_id, labels)


def _own_entry(session: Session, index: int, party_id: str) -> tuple[LeafRecord, Opening]:
    row = session.execute(
        select(ledger_entries)
        .join(ledger_entry_parties, ledger_entry_parties.c.idx == ledger_entries.c.idx)
        .where(ledger_entries.c.idx == index, ledger_entry_parties.c.party_id == party_id)
    ).first()
    if row is None:
        raise NotFoundError(f"ledger entry {index} not found")
    leaf, opening = _opening(row, party_id)
    if opening is None:
        raise NotFoundError(f"ledger entry {index} not found")
    return leaf, opening


def entry_proof(
    session: Session, index: int, party_id: str, *, head: SignedCheckpoint
) -> dict[str, Any]:
    """Entry ``index`` opened for ``party_id`` with its inclusion proof in ``head``.

    Raises
    ------
    NotFoundError
        If the entry does not exist, is not the party's, or is not yet in ``head``.
    """
    leaf, opening = _own_entry(session, index, party_id)
    tree_size = head.checkpoint.size
    if index >= tree_size:
        raise NotFoundError(f"ledger entry {index} not found")
    proof = inclusion_proof(SqlLogStorage(session), index, tree_size)
    return {
        "index": index,
        "tree_size": tree_size,
        "leaf": leaf.to_json(),
        "salt": b64encode(opening.salt),
        "event": opening.event.to_json(),
        "proof": [b64encode(node) for node in proof],
        "checkpoint": head.note(),
    }


def consistency(session: Session, first: int, second: int) -> list[bytes]:
    """Consistency proof between tree sizes ``first <= second <= size``."""
    storage = SqlLogStorage(session)
    return consistency_proof(storage, first, second, stored_size=storage.size())


def register_witness(session: Session, party_id: str, vkey: str, *, now: datetime) -> Verifier:
    """Set (or rotate) ``party_id``'s cosigning key; the change is itself logged."""
    verifier = Verifier.from_vkey(vkey)
    if verifier.signature_type != COSIGNATURE_V1:
        raise InvalidInputError(field="vkey", reason="a witness key has signature type 0x04")
    existing = session.execute(
        select(ledger_witnesses.c.vkey).where(ledger_witnesses.c.party_id == party_id)
    ).first()
    if existing is None:
        session.execute(
            insert(ledger_witnesses).values(
                party_id=party_id, vkey=verifier.vkey(), last_size=0, updated_at=now
            )
        )
    else:
        session.execute(
            update(ledger_witnesses)
            .where(ledger_witnesses.c.party_id == party_id)
            .values(vkey=verifier.vkey(), updated_at=now)
        )
    record(session, "ledger.witness_key", [party_id], {"vkey": verifier.vkey()}, now=now)
    return verifier


def witness_key(session: Session, party_id: str) -> Verifier | None:
    """``party_id``'s registered cosigning key."""
    row = session.execute(
        select(ledger_witnesses.c.vkey).where(ledger_witnesses.c.party_id == party_id)
    ).first()
    return None if row is None else Verifier.from_vkey(str(row.vkey))


def add_cosignature(
    session: Session, party_id: str, note: str, *, log_key: Verifier
) -> SignedCheckpoint:
    """Merge ``party_id``'s cosignature (carried in ``note``) into the stored checkpoint.

    Raises
    ------
    InvalidInputError
        No registered witness key, no valid cosignature by it, or an older head than the
        party last cosigned.
    NotFoundError
        The checkpoint is not one the broker signed.
    """
    witness = witness_key(session, party_id)
    if witness is None:
        raise InvalidInputError(field="witness", reason="register a witness key first")
    offered = SignedCheckpoint.from_note(note)
    body = offered.checkpoint
    if body.size > SqlLogStorage(session).size():
        raise NotFoundError("no such checkpoint")
    rows = session.execute(
        select(ledger_checkpoints.c.id, ledger_checkpoints.c.note).where(
            ledger_checkpoints.c.size == body.size,
            ledger_checkpoints.c.timestamp_s == body.timestamp_s,
        )
    ).all()
    match = next((r for r in rows if _signed(r).checkpoint == body), None)
    if match is None:
        raise NotFoundError("no such checkpoint")
    stored = _signed(match)
    if not stored.is_signed_by(log_key):
        raise NotFoundError("no such checkpoint")
    if not offered.is_signed_by(witness):
        raise InvalidInputError(field="checkpoint", reason=f"no cosignature by {witness.name}")
    last = session.execute(
        select(ledger_witnesses.c.last_size).where(ledger_witnesses.c.party_id == party_id)
    ).scalar_one()
    if body.size < int(last):
        raise InvalidInputError(
            field="checkpoint", reason=f"older than the head of size {last} already cosigned"
        )
    merged = stored
    for signature in offered.signatures:
        if witness.matches(signature):
            merged = merged.with_signature(signature)
    session.execute(
        update(ledger_checkpoints)
        .where(ledger_checkpoints.c.id == match.id)
        .values(note=merged.note())
    )
    session.execute(
        update(ledger_witnesses)
        .where(ledger_witnesses.c.party_id == party_id)
        .values(last_size=body.size, last_checkpoint_id=match.id)
    )
    return merged


def export(
    session: Session,
    party_id: str,
    *,
    head: SignedCheckpoint,
    log_key: Verifier,
    since_sizes: Sequence[int] = (),
    from_index: int = 0,
    limit: int = 1000,
) -> dict[str, Any]:
    """Bundle for ``party_id``: ``head``, the heads witnesses last cosigned, the heads at
    ``since_sizes``, consistency proofs between them, and up to ``limit`` of the party's own
    (not tombstoned) entries from index ``from_index``, with openings and inclusion proofs.
    ``next_index`` in the bundle is where the next page starts (``None`` when complete)."""
    if from_index < 0:
        raise InvalidInputError(field="from_index", reason="must not be negative")
    if not 1 <= limit <= 10_000:
        raise InvalidInputError(field="limit", reason="must be between 1 and 10000")
    storage = SqlLogStorage(session)
    current = storage.size()
    heads: dict[Checkpoint, SignedCheckpoint] = {head.checkpoint: head}

    def keep(signed: SignedCheckpoint) -> None:
        known = heads.get(signed.checkpoint)
        if known is None or len(signed.signatures) > len(known.signatures):
            heads[signed.checkpoint] = signed

    witness_ids = session.execute(select(ledger_witnesses.c.last_checkpoint_id)).scalars().all()
    ids = [i for i in witness_ids if i is not None]
    if ids:
        for row in session.execute(
            select(ledger_checkpoints.c.note).where(ledger_checkpoints.c.id.in_(ids))
        ):
            signed = _signed(row)
            if signed.checkpoint.size <= head.checkpoint.size:
                keep(signed)
    for since in since_sizes:
        if not 0 <= since <= head.checkpoint.size:
            raise InvalidInputError(field="since", reason=f"must be 0..{head.checkpoint.size}")
        held = _checkpoint_at(session, since)
        if held is not None:
            keep(held)
    rows = session.execute(
        select(ledger_entries)
        .join(ledger_entry_parties, ledger_entry_parties.c.idx == ledger_entries.c.idx)
        .where(
            ledger_entry_parties.c.party_id == party_id,
            ledger_entries.c.idx < head.checkpoint.size,
            ledger_entries.c.idx >= from_index,
        )
        .order_by(ledger_entries.c.idx)
        .limit(limit + 1)
    ).all()
    next_index = int(rows[limit].idx) if len(rows) > limit else None
    own = [
        (leaf, opening)
        for leaf, opening in (_opening(row, party_id) for row in rows[:limit])
        if opening is not None
    ]
    bundle = build_bundle(
        origin=head.checkpoint.origin,
        party_id=party_id,
        reader=storage,
        stored_size=current,
        checkpoints=list(heads.values()),
        entries=own,
        since_sizes=since_sizes,
        log_key=log_key.vkey(),
    )
    bundle["next_index"] = next_index
    return bundle
