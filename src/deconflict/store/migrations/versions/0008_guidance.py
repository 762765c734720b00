"""Guidance: the DAA alerting profile of each agreement (``agreements.profile``).

``cylinder`` (the default: today's 5 NM / 1000 ft / 300 s tactical cylinder), ``airprox`` or
``do365b``; the live picture grades the conflicts of two parties that share the agreement with
it (see docs/alerting.md).

Revision ID: 0008_guidance
Revises: 0007_replicas
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_guidance"
down_revision: str | None = "0007_replicas"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``agreements.profile`` (existing agreements: ``cylinder``)."""
    with op.batch_alter_table("agreements") as batch:
        batch.add_column(
            sa.Column("profile", sa.String(length=16), nullable=False, server_default="cylinder")
        )


def downgrade() -> None:
    """Drop ``agreements.profile``."""
    with op.batch_alter_table("agreements") as batch:
        batch.drop_column("profile")
