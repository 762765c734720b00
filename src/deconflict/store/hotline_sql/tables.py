"""Hotline tables (migration ``0004_hotline``) on :data:`deconflict.store.base.metadata`."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from deconflict.store.base import metadata
from deconflict.store.types import BigId, JsonDoc, UTCDateTime

_P = "parties.id"


hotline_threads = Table(
    "hotline_threads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("party_a", String(32), ForeignKey(_P), nullable=False),
    Column("party_b", String(32), ForeignKey(_P), nullable=False),
    Column("subject", String(200), nullable=False, default=""),
    Column("created_by", String(32), ForeignKey(_P), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_message_at", UTCDateTime(), nullable=False),
    Index("ix_hotline_threads_pair", "party_a", "party_b"),
)


hotline_messages = Table(
    "hotline_messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("thread_id", String(32), ForeignKey("hotline_threads.id"), nullable=False),
    Column("sender", String(32), ForeignKey(_P), nullable=False),
    Column("recipient", String(32), ForeignKey(_P), nullable=False),
    Column("template", String(40), nullable=False),
    Column("fields", JsonDoc, nullable=False),
    Column("precedence", String(10), nullable=False),
    Column("free_text", Text, nullable=True),
    Column("attachment_kind", String(20), nullable=True),
    Column("attachment_ref", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Column("ack_deadline", UTCDateTime(), nullable=True),
    Index("ix_hotline_messages_thread", "thread_id", "created_at"),
    Index("ix_hotline_messages_recipient", "recipient", "delivered_at"),
    Index("ix_hotline_messages_deadline", "ack_deadline"),
)


hotline_acks = Table(
    "hotline_acks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", String(32), ForeignKey("hotline_messages.id"), nullable=False),
    Column("party_id", String(32), ForeignKey(_P), nullable=False),
    Column("answer", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    UniqueConstraint("message_id", "answer", name="uq_hotline_acks_message_answer"),
    sqlite_autoincrement=True,
)


hotline_escalations = Table(
    "hotline_escalations",
    metadata,
    Column("message_id", String(32), ForeignKey("hotline_messages.id"), primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("target", String(40), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)


hotline_channels = Table(
    "hotline_channels",
    metadata,
    Column("party_a", String(32), ForeignKey(_P), primary_key=True),
    Column("party_b", String(32), ForeignKey(_P), primary_key=True),
    Column("suspended_by", JsonDoc, nullable=False),  # [party_id, ...]
    Column("degraded", Boolean, nullable=False, default=False),
    Column("restored", Boolean, nullable=False, default=False),
    Column("ack_deadlines_s", JsonDoc, nullable=True),  # {precedence: seconds} override
    Column("comm_check", JsonDoc, nullable=True),  # {anchor, interval_s, answer_within_s}
    Column("updated_at", UTCDateTime(), nullable=False),
)


hotline_channel_events = Table(
    "hotline_channel_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("party_a", String(32), nullable=False),
    Column("party_b", String(32), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("party_id", String(32), nullable=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("from_state", String(20), nullable=False),
    Column("to_state", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Index("ix_hotline_channel_events_pair", "party_a", "party_b", "id"),
    sqlite_autoincrement=True,
)


hotline_comm_checks = Table(
    "hotline_comm_checks",
    metadata,
    Column("party_a", String(32), primary_key=True),
    Column("party_b", String(32), primary_key=True),
    Column("sequence", Integer, primary_key=True),
    Column("party_id", String(32), ForeignKey(_P), primary_key=True),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("answered_at", UTCDateTime(), nullable=True),
    Column("missed_reported", Boolean, nullable=False, default=False),
)


hotline_ladders = Table(
    "hotline_ladders",
    metadata,
    Column("party_id", String(32), ForeignKey(_P), primary_key=True),
    Column("steps", JsonDoc, nullable=False),  # [{"target", "after_s"}]
    Column("updated_at", UTCDateTime(), nullable=False),
)


hotline_incidents = Table(
    "hotline_incidents",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("reporter", String(32), ForeignKey(_P), nullable=False),
    Column("category", String(30), nullable=False),
    Column("state", String(20), nullable=False),
    Column("report", JsonDoc, nullable=False),
    Column("filed_at", UTCDateTime(), nullable=False),
    Column("response_due", UTCDateTime(), nullable=False),
    Column("closure_agreed_by", JsonDoc, nullable=False),
    Column("closed_at", UTCDateTime(), nullable=True),
    Index("ix_hotline_incidents_filed", "filed_at"),
)


hotline_incident_parties = Table(
    "hotline_incident_parties",
    metadata,
    Column("incident_id", String(32), ForeignKey("hotline_incidents.id"), primary_key=True),
    Column("party_id", String(32), ForeignKey(_P), primary_key=True),
)


hotline_incident_acts = Table(
    "hotline_incident_acts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", String(32), ForeignKey("hotline_incidents.id"), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("party_id", String(32), ForeignKey(_P), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("text", Text, nullable=True),
    Column("evidence", JsonDoc, nullable=False),
    Index("ix_hotline_incident_acts_incident", "incident_id", "id"),
    sqlite_autoincrement=True,
)
