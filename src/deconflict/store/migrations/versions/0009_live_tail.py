"""Replicas: the leader reads only the shared states changed since its last read.

``live_latest.xid``: on PostgreSQL the ``xid8`` of the transaction that last wrote the row
(``pg_current_xact_id()``, set on insert and on every applied upsert), indexed. A reader
records ``pg_snapshot_xmin`` of its statement's snapshot and next time reads only the rows
with ``xid >= `` that value: every transaction that was not yet visible to the previous read
(in flight or not yet started) has an id at least that great, whatever order the commits
came in (see :func:`deconflict.store.live_state_sql.load_latest`). On SQLite (one process,
``live_latest`` unused) the column is a plain integer, always 0.

``live_latest.writer``: the id of the engine (one per broker process) that last applied the
row's state; a replica already holds its own states in memory, so its incremental reads leave
those rows out. 0: unknown (rows written before this migration).

Revision ID: 0009_live_tail
Revises: 0008_guidance
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_live_tail"
down_revision: str | None = "0008_guidance"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``live_latest.xid`` (xid8, default the writing transaction's id) with its index,
    and ``live_latest.writer``."""
    if op.get_bind().dialect.name == "postgresql":
        # existing rows get the migration's transaction id: the first read after it sees them
        op.execute(
            "ALTER TABLE live_latest ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id()"
        )
    else:
        with op.batch_alter_table("live_latest") as batch:
            batch.add_column(sa.Column("xid", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_index("ix_live_latest_xid", "live_latest", ["xid"])
    with op.batch_alter_table("live_latest") as batch:
        batch.add_column(sa.Column("writer", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop ``live_latest.writer``, ``live_latest.xid`` and its index."""
    op.drop_index("ix_live_latest_xid", table_name="live_latest")
    with op.batch_alter_table("live_latest") as batch:
        batch.drop_column("writer")
        batch.drop_column("xid")
