"""Hotline tables: threads, messages, acknowledgements, escalations, channels, channel events,
communications checks, escalation ladders, incidents, incident parties and incident acts.

Revision ID: 0004_hotline
Revises: 0003_live
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deconflict.store.types import BigId, JsonDoc, UTCDateTime

revision: str = "0004_hotline"
down_revision: str | None = "0003_live"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the hotline tables."""
    op.create_table(
        "hotline_channel_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("party_a", sa.String(length=32), nullable=False),
        sa.Column("party_b", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("party_id", sa.String(length=32), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=False),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=("pk_hotline_channel_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_hotline_channel_events_pair",
        "hotline_channel_events",
        ["party_a", "party_b", "id"],
        unique=False,
    )
    op.create_table(
        "hotline_channels",
        sa.Column("party_a", sa.String(length=32), nullable=False),
        sa.Column("party_b", sa.String(length=32), nullable=False),
        sa.Column("suspended_by", JsonDoc, nullable=False),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column("restored", sa.Boolean(), nullable=False),
        sa.Column("ack_deadlines_s", JsonDoc, nullable=True),
        sa.Column("comm_check", JsonDoc, nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_a"], ["parties.id"], name=("fk_hotline_channels_party_a_parties")
        ),
        sa.ForeignKeyConstraint(
            ["party_b"], ["parties.id"], name=("fk_hotline_channels_party_b_parties")
        ),
        sa.PrimaryKeyConstraint("party_a", "party_b", name=("pk_hotline_channels")),
    )
    op.create_table(
        "hotline_comm_checks",
        sa.Column("party_a", sa.String(length=32), nullable=False),
        sa.Column("party_b", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.String(length=32), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("missed_reported", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name=("fk_hotline_comm_checks_party_id_parties")
        ),
        sa.PrimaryKeyConstraint(
            "party_a", "party_b", "sequence", "party_id", name=("pk_hotline_comm_checks")
        ),
    )
    op.create_table(
        "hotline_incidents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reporter", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("report", JsonDoc, nullable=False),
        sa.Column("filed_at", UTCDateTime(), nullable=False),
        sa.Column("response_due", UTCDateTime(), nullable=False),
        sa.Column("closure_agreed_by", JsonDoc, nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reporter"], ["parties.id"], name=("fk_hotline_incidents_reporter_parties")
        ),
        sa.PrimaryKeyConstraint("id", name=("pk_hotline_incidents")),
    )
    op.create_index("ix_hotline_incidents_filed", "hotline_incidents", ["filed_at"], unique=False)
    op.create_table(
        "hotline_ladders",
        sa.Column("party_id", sa.String(length=32), nullable=False),
        sa.Column("steps", JsonDoc, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name=("fk_hotline_ladders_party_id_parties")
        ),
        sa.PrimaryKeyConstraint("party_id", name=("pk_hotline_ladders")),
    )
    op.create_table(
        "hotline_threads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("party_a", sa.String(length=32), nullable=False),
        sa.Column("party_b", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_message_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["parties.id"], name=("fk_hotline_threads_created_by_parties")
        ),
        sa.ForeignKeyConstraint(
            ["party_a"], ["parties.id"], name=("fk_hotline_threads_party_a_parties")
        ),
        sa.ForeignKeyConstraint(
            ["party_b"], ["parties.id"], name=("fk_hotline_threads_party_b_parties")
        ),
        sa.PrimaryKeyConstraint("id", name=("pk_hotline_threads")),
    )
    op.create_index(
        "ix_hotline_threads_pair", "hotline_threads", ["party_a", "party_b"], unique=False
    )
    op.create_table(
        "hotline_incident_acts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("party_id", sa.String(length=32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("evidence", JsonDoc, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["hotline_incidents.id"],
            name=("fk_hotline_incident_acts_incident_id_hotline_incidents"),
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name=("fk_hotline_incident_acts_party_id_parties")
        ),
        sa.PrimaryKeyConstraint("id", name=("pk_hotline_incident_acts")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_hotline_incident_acts_incident",
        "hotline_incident_acts",
        ["incident_id", "id"],
        unique=False,
    )
    op.create_table(
        "hotline_incident_parties",
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("party_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["hotline_incidents.id"],
            name=("fk_hotline_incident_parties_incident_id_hotline_incidents"),
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name=("fk_hotline_incident_parties_party_id_parties")
        ),
        sa.PrimaryKeyConstraint("incident_id", "party_id", name=("pk_hotline_incident_parties")),
    )
    op.create_table(
        "hotline_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("thread_id", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("fields", JsonDoc, nullable=False),
        sa.Column("precedence", sa.String(length=10), nullable=False),
        sa.Column("free_text", sa.Text(), nullable=True),
        sa.Column("attachment_kind", sa.String(length=20), nullable=True),
        sa.Column("attachment_ref", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("ack_deadline", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["recipient"], ["parties.id"], name=("fk_hotline_messages_recipient_parties")
        ),
        sa.ForeignKeyConstraint(
            ["sender"], ["parties.id"], name=("fk_hotline_messages_sender_parties")
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["hotline_threads.id"],
            name=("fk_hotline_messages_thread_id_hotline_threads"),
        ),
        sa.PrimaryKeyConstraint("id", name=("pk_hotline_messages")),
    )
    op.create_index(
        "ix_hotline_messages_deadline", "hotline_messages", ["ack_deadline"], unique=False
    )
    op.create_index(
        "ix_hotline_messages_recipient",
        "hotline_messages",
        ["recipient", "delivered_at"],
        unique=False,
    )
    op.create_index(
        "ix_hotline_messages_thread", "hotline_messages", ["thread_id", "created_at"], unique=False
    )
    op.create_table(
        "hotline_acks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("party_id", sa.String(length=32), nullable=False),
        sa.Column("answer", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["hotline_messages.id"],
            name=("fk_hotline_acks_message_id_hotline_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name=("fk_hotline_acks_party_id_parties")
        ),
        sa.PrimaryKeyConstraint("id", name=("pk_hotline_acks")),
        sa.UniqueConstraint("message_id", "answer", name="uq_hotline_acks_message_answer"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "hotline_escalations",
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=40), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["hotline_messages.id"],
            name=("fk_hotline_escalations_message_id_hotline_messages"),
        ),
        sa.PrimaryKeyConstraint("message_id", "level", name=("pk_hotline_escalations")),
    )


def downgrade() -> None:
    """Drop the hotline tables."""
    op.drop_table("hotline_escalations")
    op.drop_table("hotline_acks")
    op.drop_index("ix_hotline_messages_thread", table_name="hotline_messages")
    op.drop_index("ix_hotline_messages_recipient", table_name="hotline_messages")
    op.drop_index("ix_hotline_messages_deadline", table_name="hotline_messages")
    op.drop_table("hotline_messages")
    op.drop_table("hotline_incident_parties")
    op.drop_index("ix_hotline_incident_acts_incident", table_name="hotline_incident_acts")
    op.drop_table("hotline_incident_acts")
    op.drop_index("ix_hotline_threads_pair", table_name="hotline_threads")
    op.drop_table("hotline_threads")
    op.drop_table("hotline_ladders")
    op.drop_index("ix_hotline_incidents_filed", table_name="hotline_incidents")
    op.drop_table("hotline_incidents")
    op.drop_table("hotline_comm_checks")
    op.drop_table("hotline_channels")
    op.drop_index("ix_hotline_channel_events_pair", table_name="hotline_channel_events")
    op.drop_table("hotline_channel_events")
