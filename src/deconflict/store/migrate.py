"""Schema migrations, run programmatically (``deconflict db upgrade``; no alembic.ini needed).

The chain of fixed revision ids lives in ``store/migrations/versions``: ``0001_core`` <-
``0002_ledger`` <- ``0003_live`` <- ``0004_hotline`` (each area owns its file).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from deconflict.errors import DeconflictError
from deconflict.store.base import make_engine, normalise_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class NotMigratedError(DeconflictError):
    """The database schema is missing or behind the code's head revision."""

    status = 503
    title = "Database not migrated"


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS_DIR.as_posix())
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", (MIGRATIONS_DIR / "versions").as_posix())
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revisions() -> set[str]:
    """The head revision id(s) of the code's migration chain."""
    return set(ScriptDirectory.from_config(_config()).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    """The revision id(s) the database is stamped with (empty when never migrated)."""
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
        conn.rollback()
    return set(heads)


def upgrade(url: str, revision: str = "heads") -> set[str]:
    """Migrate the database at ``url`` to ``revision`` (default: every head) and return its heads.

    Parameters
    ----------
    url:
        Database URL (``sqlite:///...``, ``postgresql://...``).
    revision:
        Target revision id.
    """
    engine = make_engine(normalise_url(url))
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), revision)
        return current_revisions(engine)
    finally:
        engine.dispose()


def check_current(url: str, engine: Engine | None = None) -> None:
    """Raise :class:`NotMigratedError` unless the database is at the code's head revision(s).

    The message tells the operator the exact command to run.
    """
    own = engine is None
    eng = make_engine(normalise_url(url)) if engine is None else engine
    try:
        current = current_revisions(eng)
    finally:
        if own:
            eng.dispose()
    heads = head_revisions()
    if current != heads:
        have = ", ".join(sorted(current)) or "none"
        want = ", ".join(sorted(heads))
        raise NotMigratedError(
            f"database schema is at revision {have}, the code needs {want}; "
            f"run: deconflict db upgrade --db {_display_url(url)}"
        )


def _display_url(url: str) -> str:
    """The URL with any password masked, quoted for a shell if needed."""
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(normalise_url(url)).render_as_string(hide_password=True)
    except Exception:
        shown = url
    if url.startswith("postgresql://") and shown.startswith("postgresql+psycopg://"):
        shown = "postgresql://" + shown[len("postgresql+psycopg://") :]
    return f"'{shown}'" if any(c in shown for c in " ;&|") else shown
