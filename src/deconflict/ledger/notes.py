"""Signed notes and Ed25519 keys (C2SP signed-note, tlog-cosignature).

A signed note is a UTF-8 text ending in a newline, a blank line, then one line per signature::

    <text, ending in \\n>
    \\n
    — <key name> base64(key ID (4 bytes) || signature)\\n

Two signature types are used (the type byte also enters the key ID):

* ``0x01`` Ed25519 over the note text: the broker's checkpoint signature;
* ``0x04`` timestamped Ed25519 *cosignature/v1*: a witness (party) signs
  ``"cosignature/v1\\ntime <POSIX s>\\n" + text`` and the signature bytes are
  ``u64 big-endian timestamp || Ed25519 signature``.

``key ID = SHA-256(name || 0x0A || type || 32-byte public key)[:4]``. Keys travel as C2SP
*vkey* strings ``<name>+<key ID hex>+base64(type || public key)`` and private keys as
``PRIVATE+KEY+<name>+<key ID hex>+base64(type || 32-byte seed)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconflict.errors import InvalidInputError
from deconflict.ledger.proofs import ProofError

ED25519: Final = 0x01
"""Signed-note signature type: Ed25519 over the note text."""

COSIGNATURE_V1: Final = 0x04
"""Signed-note signature type: timestamped Ed25519 cosignature (c2sp.org/tlog-cosignature)."""

SIGNATURE_PREFIX: Final = "\u2014 "
"""Em dash and space opening every signature line."""

MAX_SIGNATURES: Final = 64
"""Most signature lines accepted on one note (the spec requires at least 16)."""

_TYPES = {ED25519: "ed25519", COSIGNATURE_V1: "cosignature/v1"}


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise InvalidInputError(field="key_name", reason="must be non-empty, no spaces and no '+'")
    return name


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """``SHA-256(name || 0x0A || type || public key)[:4]``."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()[:4]


def cosignature_message(body: str, timestamp_s: int) -> bytes:
    """The bytes a cosignature/v1 signs: header, time line, then the checkpoint body."""
    return f"cosignature/v1\ntime {timestamp_s}\n".encode() + body.encode()


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a signed note."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The line as it appears in the note, without the newline."""
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}"


@dataclass(frozen=True)
class Verifier:
    """A trusted public key: name, signature type and 32-byte Ed25519 key."""

    name: str
    signature_type: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID derived from name, type and public key."""
        return key_id(self.name, self.signature_type, self.public_key)

    def vkey(self) -> str:
        """C2SP vkey string."""
        blob = base64.b64encode(bytes([self.signature_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def from_vkey(cls, text: str) -> Verifier:
        """Parse a vkey string; raises :class:`InvalidInputError` if malformed."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise InvalidInputError(field="key", reason="expected <name>+<hex key id>+<base64 key>")
        name, hex_id, blob = parts
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise InvalidInputError(field="key", reason="public key is not base64") from exc
        if len(raw) != 33 or raw[0] not in _TYPES:
            raise InvalidInputError(field="key", reason="expected type 0x01 or 0x04 + 32-byte key")
        verifier = cls(name=_check_name(name), signature_type=raw[0], public_key=raw[1:])
        if verifier.key_id.hex() != hex_id.lower():
            raise InvalidInputError(field="key", reason="key id does not match name and key")
        return verifier

    def matches(self, signature: NoteSignature) -> bool:
        """Whether a signature line claims to come from this key (name and key ID)."""
        return signature.name == self.name and signature.key_id == self.key_id

    def verify(self, body: str, signature: NoteSignature) -> int | None:
        """Verify ``signature`` over ``body``; return the cosignature timestamp (s) if any.

        Raises
        ------
        ProofError
            If the signature is malformed or does not verify.
        """
        public = Ed25519PublicKey.from_public_bytes(self.public_key)
        timestamp: int | None = None
        if self.signature_type == ED25519:
            if len(signature.signature) != 64:
                raise ProofError(check="signature", reason=f"{self.name}: bad signature length")
            message = body.encode()
            raw = signature.signature
        else:
            if len(signature.signature) != 72:
                raise ProofError(check="signature", reason=f"{self.name}: bad cosignature length")
            (timestamp,) = struct.unpack(">Q", signature.signature[:8])
            if timestamp >= 1 << 63:
                raise ProofError(check="signature", reason=f"{self.name}: timestamp out of range")
            message = cosignature_message(body, timestamp)
            raw = signature.signature[8:]
        try:
            public.verify(raw, message)
        except InvalidSignature as exc:
            raise ProofError(check="signature", reason=f"{self.name}: signature invalid") from exc
        return timestamp


@dataclass(frozen=True)
class Signer:
    """A private signing key with its name and signature type."""

    name: str
    signature_type: int
    seed: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.signature_type not in _TYPES:
            raise InvalidInputError(field="signature_type", reason="must be 0x01 or 0x04")
        if len(self.seed) != 32:
            raise InvalidInputError(field="seed", reason="must be 32 bytes")

    @classmethod
    def generate(cls, name: str, *, signature_type: int = ED25519) -> Signer:
        """A new random key (from the operating system's CSPRNG via ``cryptography``)."""
        seed = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return cls(name=name, signature_type=signature_type, seed=seed)

    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        """The matching public :class:`Verifier`."""
        public = (
            self._private()
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        return Verifier(name=self.name, signature_type=self.signature_type, public_key=public)

    def skey(self) -> str:
        """Private key string ``PRIVATE+KEY+<name>+<hex id>+base64(type || seed)``."""
        blob = base64.b64encode(bytes([self.signature_type]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{blob}"

    @classmethod
    def from_skey(cls, text: str) -> Signer:
        """Parse :meth:`skey` output; raises :class:`InvalidInputError` if malformed."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise InvalidInputError(field="key", reason="expected PRIVATE+KEY+<name>+<id>+<key>")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except binascii.Error as exc:
            raise InvalidInputError(field="key", reason="private key is not base64") from exc
        if len(raw) != 33:
            raise InvalidInputError(field="key", reason="expected type byte + 32-byte seed")
        signer = cls(name=parts[2], signature_type=raw[0], seed=raw[1:])
        if not hmac.compare_digest(signer.verifier.key_id.hex(), parts[3].lower()):
            raise InvalidInputError(field="key", reason="key id does not match the key")
        return signer

    def sign(self, body: str, *, timestamp_s: int | None = None) -> NoteSignature:
        """Sign a note text; cosignature keys need ``timestamp_s`` (POSIX seconds)."""
        private = self._private()
        if self.signature_type == ED25519:
            raw = private.sign(body.encode())
        else:
            if timestamp_s is None or not 0 <= timestamp_s < 1 << 63:
                raise InvalidInputError(field="timestamp_s", reason="cosignatures need a time")
            raw = struct.pack(">Q", timestamp_s) + private.sign(
                cosignature_message(body, timestamp_s)
            )
        return NoteSignature(name=self.name, key_id=self.verifier.key_id, signature=raw)


def format_note(body: str, signatures: list[NoteSignature]) -> str:
    """Assemble a signed note from its text and signature lines."""
    if not body.endswith("\n"):
        raise InvalidInputError(field="note", reason="text must end with a newline")
    return body + "\n" + "".join(sig.line() + "\n" for sig in signatures)


def parse_note(text: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and signature lines.

    Raises
    ------
    InvalidInputError
        If the note is malformed (control characters, no blank line, bad signature lines).
    """
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise InvalidInputError(field="note", reason="contains control characters")
    if not text.endswith("\n"):
        raise InvalidInputError(field="note", reason="must end with a newline")
    separator = text.rfind("\n\n")
    if separator < 0:
        raise InvalidInputError(field="note", reason="no blank line before the signatures")
    body, sig_block = text[: separator + 1], text[separator + 2 :]
    lines = sig_block.split("\n")[:-1]
    if not lines or len(lines) > MAX_SIGNATURES:
        raise InvalidInputError(field="note", reason=f"needs 1-{MAX_SIGNATURES} signature lines")
    signatures: list[NoteSignature] = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(SIGNATURE_PREFIX):
            raise InvalidInputError(field="note", reason=f"signature line {number} malformed")
        fields = line[len(SIGNATURE_PREFIX) :].split(" ")
        if len(fields) != 2:
            raise InvalidInputError(field="note", reason=f"signature line {number} malformed")
        name, blob = fields
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise InvalidInputError(field="note", reason=f"signature {number} not base64") from exc
        if len(raw) < 5:
            raise InvalidInputError(field="note", reason=f"signature {number} too short")
        signatures.append(NoteSignature(name=_check_name(name), key_id=raw[:4], signature=raw[4:]))
    return body, signatures
