"""Tamper-evident ledger: RFC 9162 Merkle tree, salted commitments, signed checkpoints.

Pure core: no I/O and no clock (callers pass ``now`` and salts). Public surface:

* hashing and proofs: :func:`leaf_hash`, :func:`node_hash`, :func:`root_hash`,
  :func:`inclusion_proof`, :func:`consistency_proof`, :func:`verify_inclusion`,
  :func:`verify_consistency`, :class:`ProofError`;
* storage: :class:`LogStorage` (protocol), :class:`MemoryLogStorage`;
* entries: :class:`Event`, :class:`LeafRecord`, :class:`Opening`, :func:`commit_event`,
  :func:`open_event`, :func:`render_view` (per-party views: no other party's id);
* checkpoints: :class:`Checkpoint`, :class:`SignedCheckpoint`, :class:`Signer`,
  :class:`Verifier`, :func:`sign_checkpoint`, :func:`cosign`;
* bundles: :func:`build_bundle`, :func:`verify_bundle`, :class:`VerificationReport`;
* :class:`Ledger`, the in-memory log tying them together.
"""

from deconflict.ledger.bundle import (
    BUNDLE_FORMAT,
    Check,
    VerificationReport,
    build_bundle,
    verify_bundle,
)
from deconflict.ledger.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    cosign,
    posix_seconds,
    require_log_signature,
    sign_checkpoint,
)
from deconflict.ledger.entries import (
    Event,
    LeafRecord,
    Opening,
    canonical_json,
    commit_event,
    new_salt,
    open_event,
    render_view,
    view_salt,
)
from deconflict.ledger.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from deconflict.ledger.log import Ledger, StoredEntry
from deconflict.ledger.notes import COSIGNATURE_V1, ED25519, NoteSignature, Signer, Verifier
from deconflict.ledger.proofs import ProofError, verify_consistency, verify_inclusion
from deconflict.ledger.storage import LogStorage, MemoryLogStorage
from deconflict.ledger.tree import SubtreeReader, consistency_proof, inclusion_proof, root_hash

__all__ = [
    "BUNDLE_FORMAT",
    "COSIGNATURE_V1",
    "ED25519",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Check",
    "Checkpoint",
    "Event",
    "LeafRecord",
    "Ledger",
    "LogStorage",
    "MemoryLogStorage",
    "NoteSignature",
    "Opening",
    "ProofError",
    "SignedCheckpoint",
    "Signer",
    "StoredEntry",
    "SubtreeReader",
    "VerificationReport",
    "Verifier",
    "build_bundle",
    "canonical_json",
    "commit_event",
    "consistency_proof",
    "cosign",
    "inclusion_proof",
    "leaf_hash",
    "new_salt",
    "node_hash",
    "open_event",
    "posix_seconds",
    "render_view",
    "require_log_signature",
    "root_hash",
    "sign_checkpoint",
    "verify_bundle",
    "verify_consistency",
    "verify_inclusion",
    "view_salt",
]
