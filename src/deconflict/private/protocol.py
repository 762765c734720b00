"""Party keys, signed statements and sealed messages of the private protocol (pure).

Each party's client holds two key pairs, generated locally and never sent anywhere but their
public halves: an X25519 *box* key (sealed boxes addressed to the party) and an Ed25519 *sign*
key (statements the party makes). The public keys are registered through the relay; a client
pins the counterpart's keys on first use (its fingerprint can be compared out of band) and
refuses a later change.

Messages between the clients are ``SealedBox(recipient, Ed25519-signed(header || payload))``:
the broker relays ciphertext it cannot read; the recipient checks the sender's signature, so a
broker can neither read, forge nor alter them (it can only drop or replay them, which the
headers' epochs and set digests expose).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import nacl.exceptions
import nacl.public
import nacl.signing

from deconflict.errors import DeconflictError

_STATEMENT_DOMAIN: Final = b"deconflict/private/statement/v1\x00"
MAX_HEADER_BYTES: Final = 65_536


class IntegrityError(DeconflictError):
    """Evidence that the relay (or someone on the path) altered, replayed or forged data."""

    status = 409
    title = "Integrity check failed"


@dataclass(frozen=True)
class PartyKeys:
    """A party's private key pair set (box + sign)."""

    box: nacl.public.PrivateKey
    sign: nacl.signing.SigningKey

    @classmethod
    def generate(cls) -> PartyKeys:
        """Fresh random keys."""
        return cls(nacl.public.PrivateKey.generate(), nacl.signing.SigningKey.generate())

    def public_json(self) -> dict[str, str]:
        """``{"box_public", "sign_public"}`` (hex)."""
        return {
            "box_public": bytes(self.box.public_key).hex(),
            "sign_public": bytes(self.sign.verify_key).hex(),
        }

    def secret_json(self) -> dict[str, str]:
        """Secret halves (hex) for the local state file."""
        return {"box_secret": bytes(self.box).hex(), "sign_secret": bytes(self.sign).hex()}

    @classmethod
    def from_secret_json(cls, obj: Mapping[str, Any]) -> PartyKeys:
        """Inverse of :meth:`secret_json`."""
        return cls(
            nacl.public.PrivateKey(bytes.fromhex(str(obj["box_secret"]))),
            nacl.signing.SigningKey(bytes.fromhex(str(obj["sign_secret"]))),
        )


@dataclass(frozen=True)
class PublicKeys:
    """A party's public keys as registered through the relay."""

    box_public: bytes
    sign_public: bytes

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> PublicKeys:
        """Parse ``{"box_public", "sign_public"}`` (hex, 32 bytes each)."""
        try:
            box = bytes.fromhex(str(obj["box_public"]))
            sign = bytes.fromhex(str(obj["sign_public"]))
        except (KeyError, ValueError):
            raise IntegrityError("counterpart keys are malformed") from None
        if len(box) != 32 or len(sign) != 32:
            raise IntegrityError("counterpart keys are malformed")
        return cls(box, sign)

    def to_json(self) -> dict[str, str]:
        """Hex form."""
        return {"box_public": self.box_public.hex(), "sign_public": self.sign_public.hex()}

    @property
    def fingerprint(self) -> str:
        """Short SHA-256 fingerprint of both keys (compare out of band)."""
        return hashlib.sha256(self.box_public + self.sign_public).hexdigest()[:32]


def _canonical(header: Mapping[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign_statement(keys: PartyKeys, statement: Mapping[str, Any]) -> str:
    """Detached Ed25519 signature (hex) over a canonical JSON statement."""
    sig = keys.sign.sign(_STATEMENT_DOMAIN + _canonical(statement)).signature
    return bytes(sig).hex()


def verify_statement(public: PublicKeys, statement: Mapping[str, Any], signature: str) -> None:
    """Check a detached statement signature.

    Raises
    ------
    IntegrityError
        The signature does not verify with the pinned key.
    """
    try:
        nacl.signing.VerifyKey(public.sign_public).verify(
            _STATEMENT_DOMAIN + _canonical(statement), bytes.fromhex(signature)
        )
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        raise IntegrityError(
            f"the signature of {statement.get('kind', 'a statement')} from the counterpart does "
            "not verify: the relay altered or substituted it"
        ) from None


def seal(
    sender: PartyKeys, recipient: PublicKeys, header: Mapping[str, Any], payload: bytes = b""
) -> bytes:
    """Sign ``header || payload`` with the sender's key and seal it to the recipient."""
    head = _canonical(header)
    body = struct.pack(">I", len(head)) + head + payload
    signed = sender.sign.sign(_STATEMENT_DOMAIN + body)
    box = nacl.public.SealedBox(nacl.public.PublicKey(recipient.box_public))
    return bytes(box.encrypt(bytes(signed)))


def unseal(recipient: PartyKeys, sender: PublicKeys, blob: bytes) -> tuple[dict[str, Any], bytes]:
    """Open a sealed message and check the sender's signature; returns (header, payload).

    Raises
    ------
    IntegrityError
        Not decryptable with our key, or not signed by the pinned sender key.
    """
    try:
        signed = nacl.public.SealedBox(recipient.box).decrypt(blob)
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise IntegrityError("a sealed message from the relay does not decrypt") from None
    try:
        body = nacl.signing.VerifyKey(sender.sign_public).verify(signed)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        raise IntegrityError(
            "a sealed message is not signed by the counterpart's pinned key"
        ) from None
    if not body.startswith(_STATEMENT_DOMAIN):
        raise IntegrityError("a sealed message has the wrong domain")
    body = body[len(_STATEMENT_DOMAIN) :]
    if len(body) < 4:
        raise IntegrityError("a sealed message is truncated")
    (n,) = struct.unpack(">I", body[:4])
    if n > MAX_HEADER_BYTES or len(body) < 4 + n:
        raise IntegrityError("a sealed message is truncated")
    try:
        header = json.loads(body[4 : 4 + n])
    except json.JSONDecodeError:
        raise IntegrityError("a sealed message has a malformed header") from None
    if not isinstance(header, dict):
        raise IntegrityError("a sealed message has a malformed header")
    return header, body[4 + n :]
