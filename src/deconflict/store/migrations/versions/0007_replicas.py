"""Replicas: the shared latest state of every live aircraft (``live_latest``).

Every replica upserts the states it accepts into ``live_latest`` (newer state time wins); the
leader's detection cycle reads the union. On PostgreSQL the table is ``UNLOGGED`` (no WAL: the
content is at most ``stale_after_s`` old and is rebuilt by the next reports within seconds after
a database crash; see docs/deployment.md for the measurement).

Revision ID: 0007_replicas
Revises: 0006_private
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_replicas"
down_revision: str | None = "0006_private"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``live_latest`` (unlogged on PostgreSQL)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "live_latest",
        sa.Column("aircraft_id", sa.String(64), nullable=False),
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("callsign", sa.String(16), nullable=True),
        sa.Column("time_s", sa.Float(), nullable=False),
        sa.Column("lat_deg", sa.Float(), nullable=False),
        sa.Column("lon_deg", sa.Float(), nullable=False),
        sa.Column("alt_ft", sa.Float(), nullable=False),
        sa.Column("gs_kt", sa.Float(), nullable=False),
        sa.Column("track_deg", sa.Float(), nullable=False),
        sa.Column("vs_fpm", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("aircraft_id", name="pk_live_latest"),
        prefixes=["UNLOGGED"] if postgres else [],
    )
    op.create_index("ix_live_latest_time_s", "live_latest", ["time_s"])


def downgrade() -> None:
    """Drop ``live_latest``."""
    op.drop_index("ix_live_latest_time_s", table_name="live_latest")
    op.drop_table("live_latest")
