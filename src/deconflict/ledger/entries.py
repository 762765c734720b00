"""Ledger entries as salted, per-party commitments.

An :class:`Event` (kind, parties, payload, the sender's claimed time and the broker's receive
time) is never put in the tree in clear, and neither are the parties' ids. Each party named in
an event gets its own *view* of it (:func:`render_view`): the same event with every other party
shown by the label this party knows it by (a pseudonym, a name, "an unaffiliated party"), never
by its id. The broker draws one fresh 32-byte salt per entry and commits to every view::

    view_p       = Event with the other parties' ids replaced by p's labels for them
    salt_p       = HMAC-SHA256(salt, "deconflict-ledger-view/v1" || 0x00 || p)
    commitment_p = SHA-256(salt_p || RFC 8785 canonical JSON of view_p.to_json())
    leaf         = RFC 8785 canonical JSON of
                   {"v": 2, "index": i, "kind": k, "commitments": [base64, ...]}  (sorted)
    leaf hash    = SHA-256(0x00 || leaf)                       (RFC 9162)

Party ``p`` receives ``(salt_p, view_p)`` -- an :class:`Opening` -- and checks that its commitment
is one of the leaf's and that the view names ``p`` itself. The leaf carries no party id (the
commitments are sorted, so even their order says nothing), ``salt_p`` reveals neither the
entry salt nor another party's salt, and a view names the others only as the party already
sees them elsewhere in the API. The salts stop anyone guessing low-entropy content (for example
"acknowledged") from a commitment. The leaf carries its own index, so an entry cannot be
replayed at another position.

Version 1 leaves (``{"v": 1, ..., "parties": [ids], "commitment": base64}``, one commitment of
the whole event) were written before per-party views; they stay in the tree (rewriting them
would break every head signed since) and still verify.
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

LEAF_VERSION: Final = 2
"""Version number written in every new leaf record (``"v"``): per-party view commitments."""

LEGACY_LEAF_VERSION: Final = 1
"""Leaves of this version name the parties in clear and commit to the whole event."""

VIEW_SALT_CONTEXT: Final = b"deconflict-ledger-view/v1\x00"
"""HMAC message prefix deriving a party's view salt from the entry salt."""

MAX_LABEL_LENGTH: Final = 200
"""Longest label a view may show for another party, characters."""

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


def view_salt(salt: bytes, party_id: str) -> bytes:
    """Party ``party_id``'s view salt: ``HMAC-SHA256(salt, VIEW_SALT_CONTEXT || party_id)``.

    Knowing one party's view salt reveals neither the entry salt nor any other party's.
    """
    if len(salt) != SALT_SIZE:
        raise InvalidInputError(field="salt", reason=f"must be {SALT_SIZE} bytes")
    return hmac.new(salt, VIEW_SALT_CONTEXT + party_id.encode("utf-8"), hashlib.sha256).digest()


def _substitute(value: Any, replacements: Mapping[str, str]) -> Any:
    """``value`` (JSON) with every occurrence of a key of ``replacements`` in any string (keys
    of objects included) replaced by its value."""
    if isinstance(value, str):
        for old, new in replacements.items():
            if old in value:
                value = value.replace(old, new)
        return value
    if isinstance(value, Mapping):
        return {
            _substitute(k, replacements): _substitute(v, replacements) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_substitute(v, replacements) for v in value]
    return value


def render_view(event: Event, viewer: str, labels: Mapping[str, str]) -> Event:
    """``event`` as party ``viewer`` sees it: every other party by its label, never its id.

    Parameters
    ----------
    event:
        The full event (real party ids).
    viewer:
        One of ``event.party_ids``.
    labels:
        ``{other party id: label shown to viewer}``. A party without a label gets an opaque one
        (``"another party #k"``). Labels must differ from each other and from ``viewer``.

    Every occurrence of another party's id in the payload (strings and object keys) is replaced
    by its label as well. Pure and deterministic: the broker renders a view once to commit to it
    and again (from the same stored inputs) to open it.
    """
    if viewer not in event.party_ids:
        raise InvalidInputError(field="viewer", reason="must be one of the event's parties")
    others = [p for p in event.party_ids if p != viewer]
    shown: dict[str, str] = {}
    for number, other in enumerate(others, start=1):
        label = labels.get(other) or f"another party #{number}"
        if not 0 < len(label) <= MAX_LABEL_LENGTH:
            raise InvalidInputError(field="labels", reason=f"1-{MAX_LABEL_LENGTH} characters")
        shown[other] = label
    if len(set(shown.values()) | {viewer}) != len(shown) + 1:
        raise InvalidInputError(field="labels", reason="labels must be distinct from each other")
    if not shown:
        return event
    # Longest ids first, so that an id containing another is replaced whole.
    order = dict(sorted(shown.items(), key=lambda kv: -len(kv[0])))
    return Event(
        kind=event.kind,
        party_ids=(viewer, *shown.values()),
        payload=_substitute(dict(event.payload), order),
        received_at=event.received_at,
        claimed_at=event.claimed_at,
    )


Labels = Mapping[str, Mapping[str, str]]
"""``{viewer party id: {other party id: label the viewer sees}}``."""


@dataclass(frozen=True)
class LeafRecord:
    """The public record that is hashed into the tree: no content, no party id.

    ``commitments`` holds one commitment per party view, sorted (version 2). A legacy version 1
    leaf holds a single commitment of the whole event and names the parties in ``party_ids``.
    """

    index: int
    kind: str
    commitments: tuple[bytes, ...]
    party_ids: tuple[str, ...] = ()
    version: int = LEAF_VERSION

    def to_json(self) -> dict[str, Any]:
        """JSON form (v2: ``v``, ``index``, ``kind``, ``commitments`` in base64)."""
        if self.version == LEGACY_LEAF_VERSION:
            return {
                "v": LEGACY_LEAF_VERSION,
                "index": self.index,
                "kind": self.kind,
                "parties": list(self.party_ids),
                "commitment": b64encode(self.commitments[0]),
            }
        return {
            "v": LEAF_VERSION,
            "index": self.index,
            "kind": self.kind,
            "commitments": [b64encode(c) for c in self.commitments],
        }

    def encode(self) -> bytes:
        """Canonical bytes of the leaf (the RFC 9162 ``entry``)."""
        return canonical_json(self.to_json())

    def leaf_hash(self) -> bytes:
        """``SHA-256(0x00 || encode())``."""
        return leaf_hash(self.encode())

    @classmethod
    def from_json(cls, obj: object, *, where: str = "leaf") -> LeafRecord:
        """Parse a leaf record (v2 or legacy v1); raises :class:`InvalidInputError` naming the
        field."""
        if not isinstance(obj, Mapping):
            raise InvalidInputError(field=where, reason="must be an object")
        version = obj.get("v")
        if version == LEGACY_LEAF_VERSION:
            keys = {"v", "index", "kind", "parties", "commitment"}
        elif version == LEAF_VERSION:
            keys = {"v", "index", "kind", "commitments"}
        else:
            raise InvalidInputError(
                field=f"{where}.v", reason=f"must be {LEAF_VERSION} (or {LEGACY_LEAF_VERSION})"
            )
        if set(obj) != keys:
            raise InvalidInputError(field=where, reason="unexpected or missing keys")
        index = obj["index"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise InvalidInputError(field=f"{where}.index", reason="must be a non-negative integer")
        kind = obj["kind"]
        if not isinstance(kind, str):
            raise InvalidInputError(field=f"{where}.kind", reason="must be a string")
        if version == LEGACY_LEAF_VERSION:
            parties = obj["parties"]
            party_ids = _party_ids(parties, f"{where}.parties")
            if list(party_ids) != list(parties):
                raise InvalidInputError(
                    field=f"{where}.parties", reason="must be sorted and unique"
                )
            digest = b64decode(obj["commitment"], field=f"{where}.commitment", size=32)
            return cls(
                index=index,
                kind=kind,
                commitments=(digest,),
                party_ids=party_ids,
                version=LEGACY_LEAF_VERSION,
            )
        values = obj["commitments"]
        if not isinstance(values, list) or not values:
            raise InvalidInputError(field=f"{where}.commitments", reason="must be a non-empty list")
        digests = tuple(
            b64decode(v, field=f"{where}.commitments[{i}]", size=32) for i, v in enumerate(values)
        )
        if list(digests) != sorted(set(digests)):
            raise InvalidInputError(
                field=f"{where}.commitments", reason="must be sorted and unique"
            )
        return cls(index=index, kind=kind, commitments=digests)


def commit_event(index: int, event: Event, salt: bytes, labels: Labels | None = None) -> LeafRecord:
    """Build the (version 2) leaf record committing to every party's view of ``event`` at
    position ``index`` with the entry ``salt``; ``labels`` as in :func:`open_event`."""
    views = [open_event(event, salt, party, labels) for party in event.party_ids]
    return LeafRecord(
        index=index,
        kind=event.kind,
        commitments=tuple(sorted({commitment(v.salt, v.event.content()) for v in views})),
    )


@dataclass(frozen=True)
class Opening:
    """What a party receives to open its own entry: its view salt and its view of the event."""

    salt: bytes
    event: Event

    def names(self, party_id: str, leaf: LeafRecord) -> bool:
        """Whether this opening (of ``leaf``) is ``party_id``'s: its view names the party."""
        if leaf.version == LEGACY_LEAF_VERSION:
            return party_id in leaf.party_ids
        return party_id in self.event.party_ids

    def check(self, leaf: LeafRecord) -> None:
        """Raise :class:`ProofError` unless this opening matches ``leaf``."""
        if len(self.salt) != SALT_SIZE:
            raise ProofError(check="opening", reason=f"salt must be {SALT_SIZE} bytes")
        digest = commitment(self.salt, self.event.content())
        if not any(hmac.compare_digest(digest, c) for c in leaf.commitments):
            raise ProofError(check="opening", reason="salt and content do not match the commitment")
        if self.event.kind != leaf.kind:
            raise ProofError(check="opening", reason="event kind differs from the leaf's kind")
        if leaf.version == LEGACY_LEAF_VERSION and self.event.party_ids != leaf.party_ids:
            raise ProofError(check="opening", reason="event parties differ from the leaf's parties")


def open_event(event: Event, salt: bytes, party_id: str, labels: Labels | None = None) -> Opening:
    """Party ``party_id``'s opening of the entry committing to ``event`` with ``salt``.

    ``labels[party_id]`` maps each other party's id to the label ``party_id`` sees (missing
    parties get an opaque label, see :func:`render_view`).
    """
    own = (labels or {}).get(party_id, {})
    return Opening(salt=view_salt(salt, party_id), event=render_view(event, party_id, own))


def check_parties(party_ids: Sequence[str]) -> tuple[str, ...]:
    """Validate and normalise a list of party ids (sorted, unique, non-empty)."""
    return _party_ids(list(party_ids), "party_ids")
