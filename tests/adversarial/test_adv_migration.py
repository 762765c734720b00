"""Migration 0005_disclosure creates exactly the tables of ``store.disclosure_sql``."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from deconflict.store import disclosure_sql
from deconflict.store.base import Database, metadata
from deconflict.store.migrate import upgrade

OURS = {
    t.name
    for t in vars(disclosure_sql).values()
    if getattr(t, "metadata", None) is metadata and hasattr(t, "columns")
}


def _table_of(diff: Any) -> str | None:
    item = diff[1] if isinstance(diff, tuple) else diff[0][1]
    table = getattr(item, "table", None)
    name = getattr(item, "name", None)
    return str(table.name) if table is not None else (str(name) if name else None)


def test_disclosure_tables_match_the_migration(db_url: str) -> None:
    assert len(OURS) == 5
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write_engine.connect() as conn:
            diffs = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": False}), metadata
            )
    finally:
        db.dispose()
    assert [d for d in diffs if _table_of(d) in OURS] == []
