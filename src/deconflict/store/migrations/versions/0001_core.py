"""Core broker tables: parties, API keys, agreements, lines, notices, conflicts, outbox.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deconflict.store.types import BigId, JsonDoc, UTCDateTime

revision: str = "0001_core"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the core tables."""
    op.create_table(
        "parties",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("signing_key_id", sa.String(64), nullable=True),
        sa.Column("signing_public_key", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_parties"),
        sa.UniqueConstraint("name", name="uq_parties_name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("party_id", sa.String(32), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"], name="fk_api_keys_party_id_parties"),
        sa.PrimaryKeyConstraint("key_id", name="pk_api_keys"),
    )
    op.create_index("ix_api_keys_party_id", "api_keys", ["party_id"])
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("policy", sa.String(20), nullable=False),
        sa.Column("equal_priority_allowed", sa.Boolean(), nullable=False),
        sa.Column("use_pseudonyms", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agreements"),
        sa.UniqueConstraint("name", name="uq_agreements_name"),
    )
    op.create_table(
        "agreement_members",
        sa.Column("agreement_id", sa.String(32), nullable=False),
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name="fk_agreement_members_agreement_id_agreements",
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_agreement_members_party_id_parties"
        ),
        sa.PrimaryKeyConstraint("agreement_id", "party_id", name="pk_agreement_members"),
        sa.UniqueConstraint("agreement_id", "pseudonym", name="uq_agreement_members_pseudonym"),
    )
    op.create_table(
        "agreed_lines",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("agreement_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("coordinates", JsonDoc, nullable=False),
        sa.Column("sides", JsonDoc, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name="fk_agreed_lines_agreement_id_agreements"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_agreed_lines"),
    )
    op.create_index("ix_agreed_lines_agreement_id", "agreed_lines", ["agreement_id"])
    op.create_table(
        "notices",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", JsonDoc, nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("signature", JsonDoc, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"], name="fk_notices_party_id_parties"),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint("change_seq", name="uq_notices_change_seq"),
    )
    op.create_index("ix_notices_party_state", "notices", ["party_id", "state"])
    op.create_index("ix_notices_state_end", "notices", ["state", "end_at"])
    op.create_table(
        "idempotency",
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", JsonDoc, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_idempotency_party_id_parties"
        ),
        sa.PrimaryKeyConstraint("party_id", "key", name="pk_idempotency"),
    )
    op.create_table(
        "conflicts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("pair_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("own_notice_id", sa.String(32), nullable=True),
        sa.Column("counterpart", sa.String(200), nullable=False),
        sa.Column("agreement_id", sa.String(32), nullable=True),
        sa.Column("policy", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("overlap", JsonDoc, nullable=False),
        sa.Column("alt_lower_ft", sa.Float(), nullable=False),
        sa.Column("alt_upper_ft", sa.Float(), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"], name="fk_conflicts_party_id_parties"),
        sa.ForeignKeyConstraint(
            ["own_notice_id"], ["notices.id"], name="fk_conflicts_own_notice_id_notices"
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name="fk_conflicts_agreement_id_agreements"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_conflicts"),
    )
    op.create_index("ix_conflicts_pair_id", "conflicts", ["pair_id"])
    op.create_index("ix_conflicts_party_status", "conflicts", ["party_id", "status"])
    op.create_table(
        "probe_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_probe_events_party_id_parties"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_probe_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_probe_events_party_at", "probe_events", ["party_id", "at"])
    op.create_table(
        "outbox",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("payload", JsonDoc, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["parties.id"], name="fk_outbox_party_id_parties"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_party_id", "outbox", ["party_id", "id"])
    meta = op.create_table(
        "broker_meta",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_broker_meta"),
    )
    op.bulk_insert(meta, [{"name": "catalog", "value": 0}])


def downgrade() -> None:
    """Drop the core tables."""
    for name in (
        "broker_meta",
        "outbox",
        "probe_events",
        "conflicts",
        "idempotency",
        "notices",
        "agreed_lines",
        "agreement_members",
        "agreements",
        "api_keys",
        "parties",
    ):
        op.drop_table(name)
