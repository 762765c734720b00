"""An in-memory transparency log of salted event commitments.

:class:`Ledger` ties the pieces together the way the broker does with its SQL store: append an
:class:`~deconflict.ledger.entries.Event` (commit, hash, append), sign checkpoints, hand out
proofs and export a party's bundle. It keeps everything in memory and reads no clock: callers
pass ``now`` and the salt. The SQL-backed log in ``deconflict.store.ledger_sql`` reuses the same
functions over database tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deconflict.errors import InvalidInputError, NotFoundError
from deconflict.ledger.bundle import build_bundle
from deconflict.ledger.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    posix_seconds,
    sign_checkpoint,
)
from deconflict.ledger.entries import Event, LeafRecord, Opening, commit_event, open_event
from deconflict.ledger.notes import Signer
from deconflict.ledger.storage import LogStorage, MemoryLogStorage
from deconflict.ledger.tree import consistency_proof, inclusion_proof, root_hash


@dataclass(frozen=True)
class StoredEntry:
    """An entry as the broker keeps it: the public leaf and what opens it (the full event, the
    entry salt and the labels each party sees the others by)."""

    leaf: LeafRecord
    event: Event
    salt: bytes
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def party_ids(self) -> tuple[str, ...]:
        """Parties who may open the entry (real ids; never in the leaf)."""
        return self.event.party_ids

    def opening(self, party_id: str) -> Opening:
        """``party_id``'s opening: its view salt and its view of the event."""
        return open_event(self.event, self.salt, party_id, self.labels)


class Ledger:
    """Append-only log of committed events with signed checkpoints.

    Parameters
    ----------
    origin:
        The log's name, the first line of every checkpoint.
    signer:
        The broker's Ed25519 note key.
    storage:
        Tree store (default: :class:`MemoryLogStorage`).
    """

    def __init__(self, origin: str, signer: Signer, storage: LogStorage | None = None) -> None:
        self.origin = origin
        self.signer = signer
        self.storage: LogStorage = storage if storage is not None else MemoryLogStorage()
        self.entries: list[StoredEntry] = []
        self.checkpoints: list[SignedCheckpoint] = []

    @property
    def size(self) -> int:
        """Number of entries."""
        return self.storage.size()

    def append(
        self,
        event: Event,
        *,
        salt: bytes,
        labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> LeafRecord:
        """Commit every party's view of ``event`` with ``salt`` and append it; returns its leaf.

        ``labels``: ``{viewer: {other party id: label the viewer sees}}`` (missing: opaque labels).
        """
        index = self.storage.size()
        labels = {} if labels is None else labels
        leaf = commit_event(index, event, salt, labels)
        self.storage.append(leaf.leaf_hash())
        self.entries.append(StoredEntry(leaf=leaf, event=event, salt=salt, labels=labels))
        return leaf

    def root(self, size: int | None = None) -> bytes:
        """Root hash of the first ``size`` entries (default: all)."""
        return root_hash(self.storage, self.size if size is None else size)

    def sign_head(self, *, now: datetime) -> SignedCheckpoint:
        """Sign a checkpoint of the current tree and remember it."""
        checkpoint = Checkpoint(
            origin=self.origin,
            size=self.size,
            root=self.root(),
            timestamp_s=posix_seconds(now),
        )
        signed = sign_checkpoint(checkpoint, self.signer)
        self.checkpoints.append(signed)
        return signed

    def add_cosignature(self, cosigned: SignedCheckpoint) -> SignedCheckpoint:
        """Merge a witness's cosigned copy into the stored checkpoint it cosigns."""
        for position, stored in enumerate(self.checkpoints):
            if stored.checkpoint == cosigned.checkpoint:
                merged = stored
                for signature in cosigned.signatures:
                    if signature not in merged.signatures:
                        merged = merged.with_signature(signature)
                self.checkpoints[position] = merged
                return merged
        raise NotFoundError("no such checkpoint")

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """Audit path for entry ``index`` in the tree of ``size`` entries."""
        return inclusion_proof(self.storage, index, size, stored_size=self.size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """Consistency proof between tree sizes ``first <= second``."""
        return consistency_proof(self.storage, first, second, stored_size=self.size)

    def opening(self, index: int, party_id: str) -> Opening:
        """``party_id``'s opening of entry ``index`` (same error for "absent" and "not yours")."""
        if not 0 <= index < len(self.entries) or party_id not in self.entries[index].party_ids:
            raise NotFoundError(f"entry {index} not found")
        return self.entries[index].opening(party_id)

    def export(self, party_id: str, *, since_sizes: Sequence[int] = ()) -> dict[str, Any]:
        """Bundle for ``party_id``: all checkpoints, proofs, and the party's own entries."""
        if not self.checkpoints:
            raise InvalidInputError(field="checkpoints", reason="no signed checkpoint yet")
        own = [(e.leaf, e.opening(party_id)) for e in self.entries if party_id in e.party_ids]
        return build_bundle(
            origin=self.origin,
            party_id=party_id,
            reader=self.storage,
            stored_size=self.size,
            checkpoints=self.checkpoints,
            entries=own,
            since_sizes=since_sizes,
            log_key=self.signer.verifier.vkey(),
        )
