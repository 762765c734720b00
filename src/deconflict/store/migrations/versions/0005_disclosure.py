"""Disclosure budget, agreement settings (limits, disclosure, priorities) and trust events.

Revision ID: 0005_disclosure
Revises: 0004_hotline
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deconflict.store.types import BigId, JsonDoc, UTCDateTime

revision: str = "0005_disclosure"
down_revision: str | None = "0004_hotline"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the tables of ``deconflict.store.disclosure_sql``."""
    op.create_table(
        "agreement_settings",
        sa.Column("agreement_id", sa.String(length=32), nullable=False),
        sa.Column("limits", JsonDoc, nullable=True),
        sa.Column("disclosure", JsonDoc, nullable=True),
        sa.Column("priorities", JsonDoc, nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agreement_id", name="pk_agreement_settings"),
    )
    op.create_table(
        "notice_sizes",
        sa.Column("notice_id", sa.String(length=32), nullable=False),
        sa.Column("party_id", sa.String(length=32), nullable=False),
        sa.Column("km2h", sa.Float(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("notice_id", name="pk_notice_sizes"),
    )
    op.create_index("ix_notice_sizes_party_end", "notice_sizes", ["party_id", "end_at"])
    op.create_table(
        "disclosures",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("viewer_party_id", sa.String(length=32), nullable=False),
        sa.Column("owner_party_id", sa.String(length=32), nullable=False),
        sa.Column("agreement_id", sa.String(length=32), nullable=True),
        sa.Column("owner_notice_id", sa.String(length=32), nullable=False),
        sa.Column("viewer_notice_id", sa.String(length=32), nullable=True),
        sa.Column("conflict_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("exact", sa.Boolean(), nullable=False),
        sa.Column("charge_km2h", sa.Float(), nullable=False),
        sa.Column("area_km2", sa.Float(), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("detail", JsonDoc, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_disclosures"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_disclosures_pair_time",
        "disclosures",
        ["viewer_party_id", "owner_party_id", "created_at"],
    )
    op.create_index("ix_disclosures_owner_time", "disclosures", ["owner_party_id", "created_at"])
    op.create_table(
        "operator_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("data", JsonDoc, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_operator_events"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "key_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("party_id", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("issued_by", sa.String(length=20), nullable=False),
        sa.Column("issuer_key_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_key_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_key_events_party", "key_events", ["party_id", "created_at"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_key_events_party", table_name="key_events")
    op.drop_table("key_events")
    op.drop_table("operator_events")
    op.drop_index("ix_disclosures_owner_time", table_name="disclosures")
    op.drop_index("ix_disclosures_pair_time", table_name="disclosures")
    op.drop_table("disclosures")
    op.drop_index("ix_notice_sizes_party_end", table_name="notice_sizes")
    op.drop_table("notice_sizes")
    op.drop_table("agreement_settings")
