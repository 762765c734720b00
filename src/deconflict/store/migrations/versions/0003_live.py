"""Live picture tables: aircraft ownership, bounded track history, alerts and per-party acks.

Revision ID: 0003_live
Revises: 0002_ledger
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from deconflict.store.types import BigId, JsonDoc, UTCDateTime

revision: str = "0003_live"
down_revision: str | None = "0002_ledger"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the live tables."""
    op.create_table(
        "live_aircraft",
        sa.Column("aircraft_id", sa.String(64), nullable=False),
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_live_aircraft_party_id_parties"
        ),
        sa.PrimaryKeyConstraint("aircraft_id", name="pk_live_aircraft"),
    )
    op.create_index("ix_live_aircraft_party_id", "live_aircraft", ["party_id"])
    op.create_table(
        "track_history",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("aircraft_id", sa.String(64), nullable=False),
        sa.Column("time_s", sa.Float(), nullable=False),
        sa.Column("lat_deg", sa.Float(), nullable=False),
        sa.Column("lon_deg", sa.Float(), nullable=False),
        sa.Column("alt_ft", sa.Float(), nullable=False),
        sa.Column("gs_kt", sa.Float(), nullable=False),
        sa.Column("track_deg", sa.Float(), nullable=False),
        sa.Column("vs_fpm", sa.Float(), nullable=False),
        sa.Column("received_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_track_history_party_id_parties"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_track_history"),
    )
    op.create_index("ix_track_history_aircraft_time", "track_history", ["aircraft_id", "time_s"])
    op.create_index("ix_track_history_received_s", "track_history", ["received_s"])
    op.create_table(
        "live_alerts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("t_in_s", sa.Float(), nullable=False),
        sa.Column("data", JsonDoc, nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_live_alerts"),
    )
    op.create_index("ix_live_alerts_state", "live_alerts", ["state"])
    op.create_table(
        "live_alert_parties",
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("party_id", sa.String(32), nullable=False),
        sa.Column("acked_at", UTCDateTime(), nullable=True),
        sa.Column("acked_by", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["live_alerts.id"], name="fk_live_alert_parties_alert_id_live_alerts"
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name="fk_live_alert_parties_party_id_parties"
        ),
        sa.PrimaryKeyConstraint("alert_id", "party_id", name="pk_live_alert_parties"),
    )


def downgrade() -> None:
    """Drop the live tables."""
    op.drop_table("live_alert_parties")
    op.drop_index("ix_live_alerts_state", table_name="live_alerts")
    op.drop_table("live_alerts")
    op.drop_index("ix_track_history_received_s", table_name="track_history")
    op.drop_index("ix_track_history_aircraft_time", table_name="track_history")
    op.drop_table("track_history")
    op.drop_index("ix_live_aircraft_party_id", table_name="live_aircraft")
    op.drop_table("live_aircraft")
