"""Ledger entries as salted commitments.

An :class:`Event` (kind, parties, payload, the sender's claimed time and the broker's receive
time) is never put in the tree in clear. The broker draws a fresh 32-byte salt and commits::

    content    = RFC 8785 canonical JSON of Event.to_json()
    commitment = SHA-256(salt || content)                     (salt: exactly 32 bytes)
    leaf       = RFC 8785 canonical JSON of
                 {"v": 1, "index": i, "kind": k, "parties": [...], "commitment": base64}
    leaf hash  = SHA-256(0x00 || leaf)                         (RFC 9162)

The parties named in the leaf may receive ``(salt, event)`` -- an :class:`Opening` -- and check it
against the leaf; everyone else sees only the leaf (who was involved and what kind of event, not
the content) and can still check that the log only ever grew. The salt stops anyone guessing
low-entropy content (for example "acknowledged") from the commitment. The leaf carries its own
index, so an entry cannot be replayed at another position.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import rfc8785

from deconflict.errors import InvalidInputError
from deconflict.ledger.hashing import leaf_hash
from deconflict.ledger.proofs import ProofError

SALT_SIZE: Final = 32
"""Commitment salt length, bytes."""

LEAF_VERSION: Final = 1
"""Version number written in every leaf record (``"v"``)."""

MAX_KIND_LENGTH: Final = 64
"""Longest event kind accepted, characters."""


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) canonical JSON bytes of ``value``."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InvalidInputError(field="payload", reason=f"not canonicalisable JSON: {exc}") from exc


def b64encode(data: bytes) -> str:
    """Standard base64 (RFC 4648 section 4) as text."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object, *, field: str, size: int | None = None) -> bytes:
    """Decode strict standard base64, optionally requiring ``size`` bytes."""
    if not isinstance(text, str):
        raise InvalidInputError(field=field, reason="must be a base64 string")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidInputError(field=field, reason="invalid base64") from exc
    if size is not None and len(data) != size:
        raise InvalidInputError(field=field, reason=f"must decode to {size} bytes")
    return data


def format_time(value: datetime, *, field: str) -> str:
    """RFC 3339 UTC text with microseconds (``2026-11-26T10:00:00.000000Z``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(field=field, reason="must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: object, *, field: str) -> datetime:
    """Parse the output of :func:`format_time` (any RFC 3339 UTC offset is accepted)."""
    if not isinstance(text, str):
        raise InvalidInputError(field=field, reason="must be an RFC 3339 string")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInputError(field=field, reason="not an RFC 3339 time") from exc
    if value.tzinfo is None:
        raise InvalidInputError(field=field, reason="must carry a UTC offset")
    return value.astimezone(UTC)


def new_salt() -> bytes:
    """A fresh random commitment salt (``secrets``; the only randomness in this package)."""
    return secrets.token_bytes(SALT_SIZE)


def _party_ids(values: object, field: str) -> tuple[str, ...]:
    if not isinstance(values, list | tuple) or not values:
        raise InvalidInputError(field=field, reason="must be a non-empty list of party ids")
    if not all(isinstance(v, str) and v for v in values):
        raise InvalidInputError(field=field, reason="party ids must be non-empty strings")
    return tuple(sorted(set(values)))


@dataclass(frozen=True)
class Event:
    """One auditable event, as committed to the ledger.

    Parameters
    ----------
    kind:
        Dotted event kind (``"notice.submitted"``, ``"message.acknowledged"``).
    party_ids:
        Parties who may open the entry (sorted, de-duplicated on construction).
    payload:
        JSON object: the event's content (identifiers, states, hashes of signed envelopes).
    received_at:
        Broker receive time, timezone-aware UTC.
    claimed_at:
        The sender's claimed send time, if any, timezone-aware.
    """

    kind: str
    party_ids: tuple[str, ...]
    payload: Mapping[str, Any]
    received_at: datetime
    claimed_at: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not 0 < len(self.kind) <= MAX_KIND_LENGTH:
            raise InvalidInputError(field="kind", reason=f"must be 1-{MAX_KIND_LENGTH} characters")
        object.__setattr__(self, "party_ids", _party_ids(list(self.party_ids), "party_ids"))
        if not isinstance(self.payload, Mapping):
            raise InvalidInputError(field="payload", reason="must be a JSON object")
        format_time(self.received_at, field="received_at")
        if self.claimed_at is not None:
            format_time(self.claimed_at, field="claimed_at")

    def to_json(self) -> dict[str, Any]:
        """JSON form; its RFC 8785 canonical bytes are what the commitment covers."""
        return {
            "kind": self.kind,
            "parties": list(self.party_ids),
            "payload": dict(self.payload),
            "claimed_at": (
                None
                if self.claimed_at is None
                else format_time(self.claimed_at, field="claimed_at")
            ),
            "received_at": format_time(self.received_at, field="received_at"),
        }

    @classmethod
    def from_json(cls, obj: object, *, where: str = "event") -> Event:
        """Inverse of :meth:`to_json`; raises :class:`InvalidInputError` naming the field."""
        if not isinstance(obj, Mapping):
            raise InvalidInputError(field=where, reason="must be an object")
        expected = {"kind", "parties", "payload", "claimed_at", "received_at"}
        if set(obj) != expected:
            raise InvalidInputError(field=where, reason=f"keys must be {sorted(expected)}")
        claimed = obj["claimed_at"]
        payload = obj["payload"]
        if not isinstance(payload, Mapping):
            raise InvalidInputError(field=f"{where}.payload", reason="must be an object")
        return cls(
            kind=obj["kind"],
            party_ids=_party_ids(obj["parties"], f"{where}.parties"),
            payload=payload,
            received_at=parse_time(obj["received_at"], field=f"{where}.received_at"),
            claimed_at=None
            if claimed is None
            else parse_time(claimed, field=f"{where}.claimed_at"),
        )

    def content(self) -> bytes:
        """Canonical bytes the commitment covers."""
        return canonical_json(self.to_json())


def commitment(salt: bytes, content: bytes) -> bytes:
    """``SHA-256(salt || content)`` with a 32-byte salt."""
    if len(salt) != SALT_SIZE:
        raise InvalidInputError(field="salt", reason=f"must be {SALT_SIZE} bytes")
    return hashlib.sha256(salt + content).digest()


@dataclass(frozen=True)
class LeafRecord:
    """The public record that is hashed into the tree: no content, only a commitment."""

    index: int
    kind: str
    party_ids: tuple[str, ...]
    commitment: bytes

    def to_json(self) -> dict[str, Any]:
        """JSON form (``v``, ``index``, ``kind``, ``parties``, ``commitment`` in base64)."""
        return {
            "v": LEAF_VERSION,
            "index": self.index,
            "kind": self.kind,
            "parties": list(self.party_ids),
            "commitment": b64encode(self.commitment),
        }

    def encode(self) -> bytes:
        """Canonical bytes of the leaf (the RFC 9162 ``entry``)."""
        return canonical_json(self.to_json())

    def leaf_hash(self) -> bytes:
        """``SHA-256(0x00 || encode())``."""
        return leaf_hash(self.encode())

    @classmethod
    def from_json(cls, obj: object, *, where: str = "leaf") -> LeafRecord:
        """Parse a leaf record; raises :class:`InvalidInputError` naming the field."""
        if not isinstance(obj, Mapping):
            raise InvalidInputError(field=where, reason="must be an object")
        if set(obj) != {"v", "index", "kind", "parties", "commitment"}:
            raise InvalidInputError(field=where, reason="unexpected or missing keys")
        if obj["v"] != LEAF_VERSION:
            raise InvalidInputError(field=f"{where}.v", reason=f"must be {LEAF_VERSION}")
        index = obj["index"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise InvalidInputError(field=f"{where}.index", reason="must be a non-negative integer")
        kind = obj["kind"]
        if not isinstance(kind, str):
            raise InvalidInputError(field=f"{where}.kind", reason="must be a string")
        parties = obj["parties"]
        party_ids = _party_ids(parties, f"{where}.parties")
        if list(party_ids) != list(parties):
            raise InvalidInputError(field=f"{where}.parties", reason="must be sorted and unique")
        digest = b64decode(obj["commitment"], field=f"{where}.commitment", size=32)
        return cls(index=index, kind=kind, party_ids=party_ids, commitment=digest)


def commit_event(index: int, event: Event, salt: bytes) -> LeafRecord:
    """Build the leaf record committing to ``event`` at position ``index`` with ``salt``."""
    return LeafRecord(
        index=index,
        kind=event.kind,
        party_ids=event.party_ids,
        commitment=commitment(salt, event.content()),
    )


@dataclass(frozen=True)
class Opening:
    """What a party receives to open its own entry: the salt and the event."""

    salt: bytes
    event: Event

    def check(self, leaf: LeafRecord) -> None:
        """Raise :class:`ProofError` unless this opening matches ``leaf``."""
        if len(self.salt) != SALT_SIZE:
            raise ProofError(check="opening", reason=f"salt must be {SALT_SIZE} bytes")
        if not hmac.compare_digest(commitment(self.salt, self.event.content()), leaf.commitment):
            raise ProofError(check="opening", reason="salt and content do not match the commitment")
        if self.event.kind != leaf.kind:
            raise ProofError(check="opening", reason="event kind differs from the leaf's kind")
        if self.event.party_ids != leaf.party_ids:
            raise ProofError(check="opening", reason="event parties differ from the leaf's parties")


def check_parties(party_ids: Sequence[str]) -> tuple[str, ...]:
    """Validate and normalise a list of party ids (sorted, unique, non-empty)."""
    return _party_ids(list(party_ids), "party_ids")
