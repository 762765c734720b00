"""Ledger tables: entries, entry parties, subtree nodes, checkpoints, witnesses.

Revision ID: 0002_ledger
Revises: 0001_core
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deconflict.store.types import BigId, UTCDateTime

revision: str = "0002_ledger"
down_revision: str | None = "0001_core"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the ledger tables."""
    op.create_table(
        "ledger_entries",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("salt", sa.LargeBinary(32), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name="pk_ledger_entries"),
    )
    op.create_table(
        "ledger_entry_parties",
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_ledger_entry_parties_party_id_parties"
        ),
        sa.ForeignKeyConstraint(
            ["idx"], ["ledger_entries.idx"], name="fk_ledger_entry_parties_idx_ledger_entries"
        ),
        sa.PrimaryKeyConstraint("party_id", "idx", name="pk_ledger_entry_parties"),
    )
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_ledger_nodes"),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("timestamp_s", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_checkpoints"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ledger_checkpoints_size", "ledger_checkpoints", ["size"])
    op.create_table(
        "ledger_witnesses",
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("vkey", sa.Text(), nullable=False),
        sa.Column("last_size", sa.BigInteger(), nullable=False),
        sa.Column("last_checkpoint_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_ledger_witnesses_party_id_parties"
        ),
        sa.PrimaryKeyConstraint("party_id", name="pk_ledger_witnesses"),
    )


def downgrade() -> None:
    """Drop the ledger tables."""
    op.drop_table("ledger_witnesses")
    op.drop_index("ix_ledger_checkpoints_size", table_name="ledger_checkpoints")
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_nodes")
    op.drop_table("ledger_entry_parties")
    op.drop_table("ledger_entries")
