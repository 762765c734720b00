"""Migration ``0010_ingest_path`` on a database with data, both backends: stored history and
shared states survive the upgrade and the downgrade; afterwards ``live_latest`` has no
secondary index and ``track_history`` no foreign key; on PostgreSQL every ``live_latest``
upsert of a known aircraft is a heap-only update and ``received_s`` has a BRIN index."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from alembic import command
from sqlalchemy import inspect, text

from deconflict.broker import parties
from deconflict.store import live_sql, live_state_sql
from deconflict.store.base import Database, make_engine
from deconflict.store.migrate import _config, upgrade

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _columns(n: int, t: float) -> dict[str, np.ndarray]:
    cols = {c: np.linspace(1.0, 2.0, n) for c in live_state_sql.STATE_COLUMNS}
    cols["time_s"] = np.full(n, t)
    return cols


def _counts(db: Database) -> tuple[int, int]:
    with db.read() as s:
        history = s.execute(text("SELECT count(*) FROM track_history")).scalar_one()
        latest = s.execute(text("SELECT count(*) FROM live_latest")).scalar_one()
    return int(history), int(latest)


def test_ingest_path_migration_keeps_data_and_makes_upserts_heap_only(db_url: str) -> None:
    upgrade(db_url, "0009_live_tail")
    db = Database(db_url)
    ids = [f"ac{k}" for k in range(50)]
    try:
        with db.write() as s:
            party = parties.create_party(s, "P", now=NOW).id
            live_sql.claim(s, party, ids, NOW)
            live_sql.append_history_rows(s, party, ids, _columns(50, 1.0), 1.0)
            live_state_sql.upsert_latest(s, party, ids, _columns(50, 1.0), None, writer=1)
    finally:
        db.dispose()
    upgrade(db_url)
    db = Database(db_url)
    postgres = db_url.startswith("postgresql")
    try:
        assert _counts(db) == (50, 50)
        insp = inspect(db.write_engine)
        assert insp.get_indexes("live_latest") == []
        assert insp.get_foreign_keys("track_history") == []
        with db.write() as s:
            live_sql.append_history_rows(s, party, ids, _columns(50, 2.0), 2.0)
            live_state_sql.upsert_latest(s, party, ids, _columns(50, 2.0), None, writer=1)
            if postgres:
                hot = s.execute(
                    text(
                        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                        "WHERE relname = 'live_latest'"
                    )
                ).one()
                assert tuple(hot) == (50, 50)
                brin = s.execute(
                    text(
                        "SELECT indexdef FROM pg_indexes "
                        "WHERE indexname = 'ix_track_history_received_s'"
                    )
                ).scalar_one()
                assert "USING brin" in brin
                options = s.execute(
                    text("SELECT reloptions FROM pg_class WHERE relname = 'live_latest'")
                ).scalar_one()
                assert options == ["fillfactor=50"]
        assert _counts(db) == (100, 50)
    finally:
        db.dispose()
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.downgrade(_config(conn), "0009_live_tail")
        insp = inspect(engine)
        assert {i["name"] for i in insp.get_indexes("live_latest")} == {
            "ix_live_latest_time_s",
            "ix_live_latest_xid",
        }
        assert [fk["referred_table"] for fk in insp.get_foreign_keys("track_history")] == [
            "parties"
        ]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM track_history")).scalar_one() == 100
    finally:
        engine.dispose()
