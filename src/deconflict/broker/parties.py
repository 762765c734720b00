"""Parties, API keys, roles and authentication.

Keys have the form ``dk_<key_id>_<secret>``: ``key_id`` (12 hex digits) is public and indexes
the row; ``secret`` (256 random bits) is stored only as ``HMAC-SHA256(salt, secret)`` with a
per-key 16-byte salt and compared in constant time. A slow password hash (scrypt) would add
~50 ms to every request and protects nothing extra here: the secret is 256 bits of randomness,
not a guessable password.

Roles: ``viewer`` (read own party's data), ``duty_officer`` (viewer + submit/amend/cancel notices,
hotline actions), ``party_admin`` (duty_officer + manage own party's keys and signing key) and
``operator`` (broker staff: manages parties, keys and agreements; belongs to no party and can
**not** read any party's plans, tracks or conflicts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from deconflict.errors import InvalidInputError, NotFoundError, UnauthorizedError
from deconflict.store.base import AUTH_CHANGED_INFO
from deconflict.store.tables import api_keys, bump_catalog, parties
from deconflict.times import utc_iso

Role = Literal["viewer", "duty_officer", "party_admin", "operator"]
#: Every role, least privileged first.
ROLES: tuple[Role, ...] = get_args(Role)
#: Roles that belong to a party (everything but the broker operator).
PARTY_ROLES: tuple[Role, ...] = ("viewer", "duty_officer", "party_admin")

_KEY_RE = re.compile(r"^dk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
_NAME_RE = re.compile(r"^[\w .()'-]{1,100}$", re.UNICODE)
_DUMMY_SALT = b"\x00" * 16
#: Built once: the hot path of every request (SQLAlchemy then reuses its compiled form).
_KEY_LOOKUP = (
    select(api_keys, parties.c.name.label("party_name"), parties.c.suspended)
    .select_from(api_keys.outerjoin(parties, api_keys.c.party_id == parties.c.id))
    .where(api_keys.c.key_id == bindparam("key_id"))
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the authenticated key, its party (None for operators) and role."""

    key_id: str
    party_id: str | None
    party_name: str | None
    role: Role


@dataclass(frozen=True)
class Party:
    """A party (a state, a coalition member, a drone operator)."""

    id: str
    name: str
    created_at: datetime
    suspended: bool
    signing_key_id: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": utc_iso(self.created_at),
            "suspended": self.suspended,
            "signing_key_id": self.signing_key_id,
        }


@dataclass(frozen=True)
class KeyInfo:
    """An API key's public metadata (never the secret or its hash)."""

    key_id: str
    party_id: str | None
    role: Role
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""

        return {
            "key_id": self.key_id,
            "party_id": self.party_id,
            "role": self.role,
            "label": self.label,
            "created_at": utc_iso(self.created_at),
            "expires_at": utc_iso(self.expires_at),
            "revoked_at": utc_iso(self.revoked_at),
        }


def new_id() -> str:
    """A random 128-bit identifier as 32 hex digits (unguessable, reveals nothing)."""
    return secrets.token_hex(16)


def _hash(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode("ascii"), hashlib.sha256).digest()


def _party_row_to(row: Any) -> Party:
    return Party(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        suspended=bool(row.suspended),
        signing_key_id=row.signing_key_id,
    )


def create_party(session: Session, name: str, *, now: datetime) -> Party:
    """Create a party called ``name`` (unique, 1-100 printable characters)."""
    name = name.strip()
    if not _NAME_RE.match(name):
        raise InvalidInputError(
            field="name", reason="must be 1-100 letters, digits, spaces or . ( ) ' - _"
        )
    if session.execute(select(parties.c.id).where(parties.c.name == name)).first():
        raise InvalidInputError(field="name", reason=f"a party called {name!r} already exists")
    pid = new_id()
    session.execute(insert(parties).values(id=pid, name=name, created_at=now, suspended=False))
    bump_catalog(session)
    return Party(id=pid, name=name, created_at=now, suspended=False, signing_key_id=None)


def get_party(session: Session, ref: str) -> Party:
    """The party whose id or name is ``ref``."""
    row = session.execute(
        select(parties).where((parties.c.id == ref) | (parties.c.name == ref))
    ).first()
    if row is None:
        raise NotFoundError(f"no party {ref!r}")
    return _party_row_to(row)


def list_parties(session: Session) -> list[Party]:
    """Every party, by name (operator view)."""
    return [_party_row_to(r) for r in session.execute(select(parties).order_by(parties.c.name))]


def create_key(
    session: Session,
    party_id: str | None,
    role: str,
    *,
    now: datetime,
    expires_days: float | None = None,
    label: str = "",
) -> tuple[KeyInfo, str]:
    """Create an API key and return its metadata and the plaintext key (shown once, never stored).

    Parameters
    ----------
    party_id:
        Owning party; must be None exactly when ``role`` is ``operator``.
    role:
        One of :data:`ROLES`.
    now:
        Creation time (UTC).
    expires_days:
        Lifetime in days, or None for no expiry.
    """
    if role not in ROLES:
        raise InvalidInputError(field="role", reason=f"must be one of {', '.join(ROLES)}")
    if role == "operator" and party_id is not None:
        raise InvalidInputError(field="role", reason="operator keys belong to no party")
    if role != "operator" and party_id is None:
        raise InvalidInputError(field="party", reason=f"a {role} key needs a party")
    if expires_days is not None and not (0 < expires_days <= 3650):
        raise InvalidInputError(field="expires_days", reason="must be between 0 and 3650 days")
    if len(label) > 200:
        raise InvalidInputError(field="label", reason="at most 200 characters")
    if party_id is not None:
        get_party(session, party_id)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    expires_at = None if expires_days is None else now + timedelta(days=expires_days)
    session.execute(
        insert(api_keys).values(
            key_id=key_id,
            party_id=party_id,
            role=role,
            label=label,
            salt=salt,
            secret_hash=_hash(salt, secret),
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
    )
    info = KeyInfo(key_id, party_id, role, label, now, expires_at, None)
    return info, f"dk_{key_id}_{secret}"


def _key_row_to(row: Any) -> KeyInfo:
    return KeyInfo(
        key_id=row.key_id,
        party_id=row.party_id,
        role=row.role,
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def list_keys(session: Session, party_id: str | None) -> list[KeyInfo]:
    """Keys of ``party_id`` (None: operator keys), newest first."""
    cond = api_keys.c.party_id.is_(None) if party_id is None else api_keys.c.party_id == party_id
    rows = session.execute(select(api_keys).where(cond).order_by(api_keys.c.created_at.desc()))
    return [_key_row_to(r) for r in rows]


def revoke_key(
    session: Session, key_id: str, *, now: datetime, scope_party_id: str | None = None
) -> KeyInfo:
    """Revoke ``key_id`` (idempotent); with ``scope_party_id`` only that party's keys are found."""
    q = select(api_keys).where(api_keys.c.key_id == key_id)
    if scope_party_id is not None:
        q = q.where(api_keys.c.party_id == scope_party_id)
    row = session.execute(q).first()
    if row is None:
        raise NotFoundError(f"no key {key_id!r}")
    if row.revoked_at is None:
        session.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(revoked_at=now))
        session.info[AUTH_CHANGED_INFO] = True  # drop cached authentications at commit
    return _key_row_to(session.execute(q).one())


def authenticate(session: Session, token: str, *, now: datetime) -> Principal:
    """Resolve a presented key to a :class:`Principal` or raise :class:`UnauthorizedError`.

    Unknown, malformed, revoked and expired keys and keys of suspended parties all get the same
    answer, and an unknown key id still costs one hash so timing does not reveal which ids exist.
    """
    return authenticate_key(session, token, now=now)[0]


def authenticate_key(
    session: Session, token: str, *, now: datetime
) -> tuple[Principal, datetime | None]:
    """:func:`authenticate`, also returning the key's expiry (UTC, None: never)."""
    bad = UnauthorizedError("invalid, revoked or expired API key")
    m = _KEY_RE.match(token.strip())
    if not m:
        raise bad
    key_id, secret = m.group(1), m.group(2)
    row = session.execute(_KEY_LOOKUP, {"key_id": key_id}).first()
    if row is None:
        hmac.compare_digest(_hash(_DUMMY_SALT, secret), _hash(_DUMMY_SALT, "x"))
        raise bad
    if not hmac.compare_digest(_hash(row.salt, secret), row.secret_hash):
        raise bad
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise bad
    if row.party_id is not None and row.suspended:
        raise bad
    principal = Principal(
        key_id=key_id, party_id=row.party_id, party_name=row.party_name, role=row.role
    )
    return principal, row.expires_at


class PrincipalCache:
    """Recently verified keys of one server process, so a busy client is not looked up and
    hashed on every request.

    An entry is used only while all hold: younger than ``ttl_s`` (monotonic clock), the key not
    expired at the request time, and the database's ``auth_epoch`` unchanged since the lookup
    (a revocation committed through this process bumps it: effective at once). A revocation by
    another process (the CLI, another server) takes effect within ``ttl_s``. Failures are never
    cached. Entries are keyed by the SHA-256 of the presented key, never the key itself.
    """

    def __init__(
        self,
        ttl_s: float = 1.0,
        *,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[bytes, tuple[Principal, datetime | None, float, int]] = {}

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.strip().encode("utf-8", "surrogatepass")).digest()

    def get(self, token: str, *, now: datetime, epoch: int) -> Principal | None:
        """The cached principal of ``token``, or None (not cached, stale, expired, revoked)."""
        key = self._key(token)
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            principal, expires_at, stored_at, stored_epoch = hit
            fresh = self._clock() - stored_at < self.ttl_s and stored_epoch == epoch
            if fresh and (expires_at is None or expires_at > now):
                return principal
            del self._entries[key]
            return None

    def put(
        self, token: str, principal: Principal, expires_at: datetime | None, *, epoch: int
    ) -> None:
        """Remember a successful authentication made at ``epoch`` (read before the lookup)."""
        key = self._key(token)
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (principal, expires_at, self._clock(), epoch)


def set_signing_key(
    session: Session, party_id: str, *, key_id: str | None, public_key_b64: str | None
) -> Party:
    """Register (or clear, with None) a party's Ed25519 public key (raw 32 bytes, base64).

    Once registered, every notice submission of the party must carry a valid signature.
    """
    raw: bytes | None = None
    if public_key_b64 is not None:
        try:
            raw = base64.b64decode(public_key_b64, validate=True)
        except ValueError:
            raise InvalidInputError(field="public_key", reason="must be base64") from None
        if len(raw) != 32:
            raise InvalidInputError(
                field="public_key", reason="must be a raw 32-byte Ed25519 public key"
            )
        if not key_id or not re.match(r"^[A-Za-z0-9._-]{1,64}$", key_id):
            raise InvalidInputError(field="key_id", reason="1-64 characters [A-Za-z0-9._-]")
    session.execute(
        update(parties)
        .where(parties.c.id == party_id)
        .values(signing_key_id=key_id if raw else None, signing_public_key=raw)
    )
    bump_catalog(session)
    return get_party(session, party_id)


def signing_key(session: Session, party_id: str) -> tuple[str, bytes] | None:
    """The party's registered (key_id, raw Ed25519 public key), or None."""
    row = session.execute(
        select(parties.c.signing_key_id, parties.c.signing_public_key).where(
            parties.c.id == party_id
        )
    ).first()
    if row is None or row.signing_public_key is None:
        return None
    return str(row.signing_key_id), bytes(row.signing_public_key)
