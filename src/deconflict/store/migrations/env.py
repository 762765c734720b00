"""Alembic environment: runs programmatically from :mod:`deconflict.store.migrate` (no alembic.ini).

The caller passes an open connection in ``config.attributes["connection"]``; for the alembic CLI
(development only) ``sqlalchemy.url`` may be set instead.
"""

from __future__ import annotations

from alembic import context

from deconflict.store.base import make_engine, metadata

config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = config.attributes.get("connection")
if _connection is not None:
    _run(_connection)
else:  # pragma: no cover - developer use of the alembic CLI
    _engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with _engine.connect() as _conn:
        _run(_conn)
