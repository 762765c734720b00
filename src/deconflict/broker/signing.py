"""Signed submissions: a party that registered an Ed25519 key must sign every notice write.

Header: ``Deconflict-Signature: keyid=<key id>,sig=<base64 Ed25519 signature>``. The signed
message is the RFC 8785 canonical JSON of ``{"method": ..., "path": ..., "body": <request body>}``
so a signature cannot be replayed against another notice or verb. The broker keeps the
signature with the notice: it can prove what the party sent and cannot forge a submission.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from deconflict.broker.parties import signing_key
from deconflict.errors import InvalidInputError

HEADER = "Deconflict-Signature"
_FIELD = f"header.{HEADER}"


def signed_message(method: str, path: str, body: Any) -> bytes:
    """The exact bytes a client signs."""
    return bytes(rfc8785.dumps({"method": method.upper(), "path": path, "body": body}))


def parse_header(value: str) -> tuple[str, bytes]:
    """``keyid=...,sig=...`` -> (key id, signature bytes)."""
    parts: dict[str, str] = {}
    for item in value.split(","):
        k, sep, v = item.strip().partition("=")
        if sep:
            parts[k.strip().lower()] = v.strip()
    if "keyid" not in parts or "sig" not in parts:
        raise InvalidInputError(field=_FIELD, reason="expected 'keyid=<id>,sig=<base64>'")
    sig_text = parts["sig"] + "=" * (-len(parts["sig"]) % 4)
    try:
        sig = base64.b64decode(sig_text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError(field=_FIELD, reason="sig is not base64") from None
    return parts["keyid"], sig


def verify_submission(
    session: Session,
    party_id: str,
    header: str | None,
    *,
    method: str,
    path: str,
    body: Mapping[str, Any],
) -> dict[str, str] | None:
    """Verify the signature when the party has a key; returns what to store with the notice.

    Raises :class:`InvalidInputError` (422, field ``header.Deconflict-Signature``) when a
    signature is required and missing, names another key, or does not verify.
    """
    return verify_signature(
        signing_key(session, party_id), header, method=method, path=path, body=body
    )


def verify_signature(
    registered: tuple[str, bytes] | None,
    header: str | None,
    *,
    method: str,
    path: str,
    body: Mapping[str, Any],
) -> dict[str, str] | None:
    """:func:`verify_submission` given the party's registered (key id, public key) or None."""
    if registered is None:
        return None
    key_id, public_raw = registered
    if not header:
        raise InvalidInputError(field=_FIELD, reason="this party signs its submissions: missing")
    given_id, sig = parse_header(header)
    if given_id != key_id:
        raise InvalidInputError(field=_FIELD, reason=f"unknown key id {given_id!r}")
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            sig, signed_message(method, path, dict(body))
        )
    except InvalidSignature:
        raise InvalidInputError(field=_FIELD, reason="signature does not verify") from None
    return {"key_id": key_id, "sig": base64.b64encode(sig).decode()}
