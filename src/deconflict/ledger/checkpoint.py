"""Signed tree heads as C2SP tlog-checkpoints, and witness cosigning.

Checkpoint text (one field per line, each ending in a newline)::

    <origin>                 e.g. "deconflict.example/ledger"
    <tree size, decimal>
    <root hash, base64>
    time <POSIX seconds>     extension line: the broker's signing time

The broker signs the text with an Ed25519 note key (type 0x01). A party acting as a *witness*
checks the broker's signature and that the new checkpoint is consistent with the last one it
cosigned, then adds a cosignature/v1 line (type 0x04, timestamped). A checkpoint may carry any
number of signatures; two validly signed checkpoints with one size and different roots are
evidence of a split view or a rewrite.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from deconflict.errors import InvalidInputError
from deconflict.ledger.hashing import HASH_SIZE
from deconflict.ledger.notes import (
    ED25519,
    NoteSignature,
    Signer,
    Verifier,
    format_note,
    parse_note,
)
from deconflict.ledger.proofs import ProofError, verify_consistency

MAX_U63: Final = 1 << 63
"""Exclusive bound of tree sizes and timestamps (signed 64-bit columns; C2SP: <= 2**63 - 1)."""


def posix_seconds(moment: datetime) -> int:
    """Whole POSIX seconds of a timezone-aware time."""
    if moment.tzinfo is None:
        raise InvalidInputError(field="now", reason="must be timezone-aware")
    return int(moment.astimezone(UTC).timestamp())


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size, root hash and the broker's time (POSIX seconds)."""

    origin: str
    size: int
    root: bytes
    timestamp_s: int

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or self.origin != self.origin.strip():
            raise InvalidInputError(field="origin", reason="must be one non-empty line")
        if not 0 <= self.size < MAX_U63:
            raise InvalidInputError(field="size", reason="must be between 0 and 2**63 - 1")
        if len(self.root) != HASH_SIZE:
            raise InvalidInputError(field="root", reason="must be 32 bytes")
        if not 0 <= self.timestamp_s < MAX_U63:
            raise InvalidInputError(field="time", reason="must be between 0 and 2**63 - 1")

    def body(self) -> str:
        """The checkpoint text that is signed."""
        root = base64.b64encode(self.root).decode()
        return f"{self.origin}\n{self.size}\n{root}\ntime {self.timestamp_s}\n"

    @classmethod
    def from_body(cls, body: str) -> Checkpoint:
        """Parse checkpoint text; raises :class:`InvalidInputError` naming the bad line."""
        lines = body.split("\n")
        if len(lines) != 5 or lines[4] != "":
            raise InvalidInputError(field="checkpoint", reason="expected 4 lines")
        origin, size_text, root_text, time_line = lines[:4]
        if not size_text.isdigit() or (size_text.startswith("0") and size_text != "0"):
            raise InvalidInputError(field="checkpoint.size", reason="not a decimal integer")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error as exc:
            raise InvalidInputError(field="checkpoint.root", reason="not base64") from exc
        parts = time_line.split(" ")
        if len(parts) != 2 or parts[0] != "time" or not parts[1].isdigit():
            raise InvalidInputError(field="checkpoint.time", reason="expected 'time <seconds>'")
        checkpoint = cls(origin=origin, size=int(size_text), root=root, timestamp_s=int(parts[1]))
        if checkpoint.body() != body:
            raise InvalidInputError(field="checkpoint", reason="not in canonical form")
        return checkpoint


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint with its signature lines (broker signature first, then cosignatures)."""

    checkpoint: Checkpoint
    signatures: tuple[NoteSignature, ...]

    def note(self) -> str:
        """The signed note text."""
        return format_note(self.checkpoint.body(), list(self.signatures))

    @classmethod
    def from_note(cls, text: str) -> SignedCheckpoint:
        """Parse a signed checkpoint note (signatures are *not* verified here)."""
        body, signatures = parse_note(text)
        return cls(checkpoint=Checkpoint.from_body(body), signatures=tuple(signatures))

    def with_signature(self, signature: NoteSignature) -> SignedCheckpoint:
        """A copy with one more signature line (replacing an earlier one by the same key)."""
        kept = tuple(
            s for s in self.signatures if (s.name, s.key_id) != (signature.name, signature.key_id)
        )
        return SignedCheckpoint(checkpoint=self.checkpoint, signatures=(*kept, signature))

    def is_signed_by(self, verifier: Verifier) -> bool:
        """Whether ``verifier`` signed this checkpoint (signature lines with its name and key ID).

        Raises
        ------
        ProofError
            If a signature line claims to be from ``verifier`` but does not verify.
        """
        matching = [s for s in self.signatures if verifier.matches(s)]
        if not matching:
            return False
        for signature in matching:
            verifier.verify(self.checkpoint.body(), signature)
        return True


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> SignedCheckpoint:
    """The broker's signature on a checkpoint (``signer`` must be an Ed25519 note key)."""
    if signer.signature_type != ED25519:
        raise InvalidInputError(field="signer", reason="the log signs with an Ed25519 (0x01) key")
    return SignedCheckpoint(checkpoint=checkpoint, signatures=(signer.sign(checkpoint.body()),))


def require_log_signature(signed: SignedCheckpoint, log_key: Verifier) -> None:
    """Raise :class:`ProofError` unless the log's key validly signed ``signed``."""
    if not signed.is_signed_by(log_key):
        raise ProofError(check="signature", reason=f"not signed by the log key {log_key.name}")


def cosign(
    signed: SignedCheckpoint,
    *,
    witness: Signer,
    log_key: Verifier,
    last_cosigned: Checkpoint | None,
    proof: Sequence[bytes],
    now: datetime,
) -> SignedCheckpoint:
    """Act as a witness: verify, then add a cosignature/v1 to ``signed``.

    Parameters
    ----------
    signed:
        The checkpoint the broker asks the witness to cosign.
    witness:
        The witness's key (signature type 0x04).
    log_key:
        The broker's public key the witness trusts.
    last_cosigned:
        The last checkpoint this witness cosigned (``None`` the first time).
    proof:
        Consistency proof from ``last_cosigned.size`` to ``signed.checkpoint.size``.
    now:
        Cosigning time (timezone-aware); written in the cosignature.

    Raises
    ------
    ProofError
        If the broker's signature is missing or invalid, the origin changed, the log shrank,
        or the consistency proof fails. The witness must then not cosign.
    """
    require_log_signature(signed, log_key)
    head = signed.checkpoint
    if last_cosigned is not None:
        if last_cosigned.origin != head.origin:
            raise ProofError(check="cosign", reason="checkpoint is for another log (origin)")
        if head.timestamp_s < last_cosigned.timestamp_s:
            raise ProofError(check="cosign", reason="checkpoint time went backwards")
        verify_consistency(last_cosigned.size, head.size, proof, last_cosigned.root, head.root)
    return signed.with_signature(witness.sign(head.body(), timestamp_s=posix_seconds(now)))
