"""Core tables (migration ``0001_core``): parties, keys, agreements, notices, conflicts, outbox.

Every row that belongs to a party carries ``party_id`` and every query that reads such rows
filters on it in SQL (see :mod:`deconflict.store.repo`). Conflict records are stored once *per
side*: each row is what one party may see, so a read never needs to hide columns after the fact.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy.orm import Session

from deconflict.store.base import metadata
from deconflict.store.types import BigId, JsonDoc, UTCDateTime

parties = Table(
    "parties",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("suspended", Boolean, nullable=False, default=False),
    # Optional Ed25519 public key (raw 32 bytes) that must sign this party's submissions.
    Column("signing_key_id", String(64), nullable=True),
    Column("signing_public_key", LargeBinary, nullable=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("party_id", String(32), ForeignKey("parties.id"), nullable=True, index=True),
    Column("role", String(20), nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("salt", LargeBinary, nullable=False),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

agreements = Table(
    "agreements",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("policy", String(20), nullable=False),  # "advisory" | "f3548"
    Column("equal_priority_allowed", Boolean, nullable=False, default=False),
    Column("use_pseudonyms", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # DAA alerting profile of the agreement (migration 0008): cylinder | airprox | do365b
    Column("profile", String(16), nullable=False, default="cylinder", server_default="cylinder"),
)

agreement_members = Table(
    "agreement_members",
    metadata,
    Column("agreement_id", String(32), ForeignKey("agreements.id"), primary_key=True),
    Column("party_id", String(32), ForeignKey("parties.id"), primary_key=True),
    Column("pseudonym", String(64), nullable=False),
    UniqueConstraint("agreement_id", "pseudonym", name="uq_agreement_members_pseudonym"),
)

agreed_lines = Table(
    "agreed_lines",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("agreement_id", String(32), ForeignKey("agreements.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("coordinates", JsonDoc, nullable=False),  # [[lon, lat], ...]
    Column("sides", JsonDoc, nullable=False),  # {party_id: "left" | "right"}
    Column("created_at", UTCDateTime(), nullable=False),
)

notices = Table(
    "notices",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("party_id", String(32), ForeignKey("parties.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", String(20), nullable=False),  # accepted | cancelled
    Column("category", String(40), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("title", String(200), nullable=False, default=""),
    Column("body", JsonDoc, nullable=False),  # the submitted notice as JSON (volumes etc.)
    Column("late", Boolean, nullable=False, default=False),
    Column("signature", JsonDoc, nullable=True),  # {"key_id", "sig"} when the party signs
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("end_at", UTCDateTime(), nullable=False),  # latest volume end (index rebuild filter)
    # Global, gap-free-in-order change counter (assigned under the strategic write lock): lets a
    # process bring its in-memory index up to date with writes made by other processes.
    Column("change_seq", BigInteger, nullable=False, unique=True),
    Index("ix_notices_party_state", "party_id", "state"),
    Index("ix_notices_state_end", "state", "end_at"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("party_id", String(32), ForeignKey("parties.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", JsonDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

conflicts = Table(
    "conflicts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("party_id", String(32), ForeignKey("parties.id"), nullable=False),  # the viewer
    Column("pair_id", String(32), nullable=False, index=True),  # joins both sides; never shown
    Column("kind", String(10), nullable=False),  # "volume" | "line"
    # The viewer's own notice (None: the viewer's side of a line crossed by another party).
    Column("own_notice_id", String(32), ForeignKey("notices.id"), nullable=True),
    Column("counterpart", String(200), nullable=False),  # other party's name or pseudonym
    Column("agreement_id", String(32), ForeignKey("agreements.id"), nullable=True),
    Column("policy", String(20), nullable=False),
    Column("outcome", String(20), nullable=False),  # recorded | rejected
    Column("late", Boolean, nullable=False, default=False),
    Column("overlap", JsonDoc, nullable=False),  # Overlap.to_json(): the disclosed part only
    Column("alt_lower_ft", Float, nullable=False),
    Column("alt_upper_ft", Float, nullable=False),
    Column("start_at", UTCDateTime(), nullable=False),
    Column("end_at", UTCDateTime(), nullable=False),
    Column("status", String(20), nullable=False),  # active | resolved
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_conflicts_party_status", "party_id", "status"),
)

probe_events = Table(
    "probe_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("party_id", String(32), ForeignKey("parties.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # rejected | cancelled
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_probe_events_party_at", "party_id", "at"),
    sqlite_autoincrement=True,
)

broker_meta = Table(
    "broker_meta",
    metadata,
    Column("name", String(40), primary_key=True),
    # "catalog": bumped on every change to parties, signing keys, agreements or lines, so a
    # process can cache them and re-read only when another writer (e.g. the CLI) changed them.
    Column("value", BigInteger, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("party_id", String(32), ForeignKey("parties.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("payload", JsonDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_outbox_party_id", "party_id", "id"),
    sqlite_autoincrement=True,
)

__all__ = [
    "agreed_lines",
    "agreement_members",
    "agreements",
    "api_keys",
    "broker_meta",
    "conflicts",
    "idempotency",
    "notices",
    "outbox",
    "parties",
    "probe_events",
]


_CATALOG_VERSION = select(broker_meta.c.value).where(broker_meta.c.name == "catalog")


def bump_catalog(session: Session) -> None:
    """Record that parties, signing keys, agreements or lines changed (in this transaction)."""
    session.execute(
        update(broker_meta)
        .where(broker_meta.c.name == "catalog")
        .values(value=broker_meta.c.value + 1)
    )


def catalog_version(session: Session) -> int:
    """The current catalog version (see :func:`bump_catalog`)."""
    value = session.execute(_CATALOG_VERSION).scalar()
    return int(value or 0)
