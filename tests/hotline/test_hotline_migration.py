"""Migration ``0004_hotline`` creates exactly the tables ``store/hotline_sql.py`` declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from hotline_api_kit import HOTLINE_TABLES
from sqlalchemy import inspect

from deconflict.store.base import Database, metadata
from deconflict.store.migrate import _config, upgrade


def test_migration_is_in_the_chain_and_matches_the_tables(db_url: str) -> None:
    revision = ScriptDirectory.from_config(_config()).get_revision("0004_hotline")
    assert revision is not None and revision.down_revision == "0003_live"
    upgrade(db_url)
    db = Database(db_url)
    try:
        names = set(inspect(db.write_engine).get_table_names())
        assert {t.name for t in HOTLINE_TABLES} <= names
        assert len(HOTLINE_TABLES) == 11
        with db.write_engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = [d for d in compare_metadata(ctx, metadata) if "hotline_" in repr(d)]
        assert diff == []
    finally:
        db.dispose()


def test_downgrade_removes_the_hotline_tables(db_url: str) -> None:
    from alembic import command

    from deconflict.store.base import make_engine

    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.downgrade(_config(conn), "0003_live")
        names = set(inspect(engine).get_table_names())
        assert not {n for n in names if n.startswith("hotline_")}
        with engine.begin() as conn:
            command.upgrade(_config(conn), "heads")
        assert {t.name for t in HOTLINE_TABLES} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
