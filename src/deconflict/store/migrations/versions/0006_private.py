"""Private-mode relay tables: private agreements (grid), party PSI keys, blinded sets, sealed
messages. Only blinded values, counts, digests, signatures and ciphertexts are stored.

Revision ID: 0006_private
Revises: 0005_disclosure
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deconflict.store.types import UTCDateTime

revision: str = "0006_private"
down_revision: str | None = "0005_disclosure"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the private-mode tables."""
    op.create_table(
        "private_agreements",
        sa.Column("agreement_id", sa.String(length=32), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("slot_s", sa.Integer(), nullable=False),
        sa.Column("layer_ft", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name="fk_private_agreements_agreement_id_agreements",
        ),
        sa.PrimaryKeyConstraint("agreement_id", name="pk_private_agreements"),
    )
    op.create_table(
        "private_keys",
        sa.Column("party_id", sa.String(length=32), nullable=False),
        sa.Column("box_public", sa.String(length=64), nullable=False),
        sa.Column("sign_public", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_private_keys_party_id_parties"
        ),
        sa.PrimaryKeyConstraint("party_id", name="pk_private_keys"),
    )
    op.create_table(
        "private_sets",
        sa.Column("agreement_id", sa.String(length=32), nullable=False),
        sa.Column("party_id", sa.String(length=32), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("blinded", sa.LargeBinary(), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name="fk_private_sets_agreement_id_agreements"
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_private_sets_party_id_parties"
        ),
        sa.PrimaryKeyConstraint("agreement_id", "party_id", name="pk_private_sets"),
    )
    op.create_table(
        "private_sealed",
        sa.Column("agreement_id", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name="fk_private_sealed_agreement_id_agreements"
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["parties.id"], name="fk_private_sealed_sender_id_parties"
        ),
        sa.PrimaryKeyConstraint("agreement_id", "sender_id", "kind", name="pk_private_sealed"),
    )


def downgrade() -> None:
    """Drop the private-mode tables."""
    for table in ("private_sealed", "private_sets", "private_keys", "private_agreements"):
        op.drop_table(table)
