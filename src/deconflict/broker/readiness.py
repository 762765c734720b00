"""Readiness of one broker process (``GET /ready``): may a load balancer send it traffic?

Ready when the database answers, its schema is at the code's head revision(s) and the live
engine is running. Reported besides: the replica's role (``single`` on SQLite, ``leader`` or
``follower`` on PostgreSQL, see :mod:`deconflict.broker.live`) and whether its cross-replica
wake-up listener (:mod:`deconflict.cluster.notify`) is connected. A follower is ready: it serves
every request; only the detection cycle is the leader's. A listener that is down does not make
the replica unready (streams fall back to polling) but is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from deconflict.broker.live import LiveEngine
from deconflict.cluster.notify import PgListener
from deconflict.store.base import Database
from deconflict.store.migrate import current_revisions, head_revisions


@dataclass(frozen=True)
class Readiness:
    """One readiness report (see the module docstring)."""

    ready: bool
    database: str
    """``ok`` or ``unreachable``."""
    migrations: str
    """``current``, ``behind`` (run ``deconflict db upgrade``) or ``unknown`` (no database)."""
    revision: list[str]
    role: str
    """``single``, ``leader``, ``follower`` or ``starting`` (no live engine yet)."""
    listener: str
    """``up``, ``down`` or ``none`` (SQLite: one process, nothing to listen to)."""
    cycles: int
    """Detection cycles this process ran."""


def check(db: Database, engine: LiveEngine | None, listener: PgListener | None) -> Readiness:
    """Probe the database (one ``SELECT 1`` and the Alembic version table) and report."""
    try:
        with db.read() as session:
            session.execute(text("SELECT 1"))
        revision = sorted(current_revisions(db.read_engine))
        database = "ok"
    except Exception:
        database, revision = "unreachable", []
    if database != "ok":
        migrations = "unknown"
    else:
        migrations = "current" if set(revision) == head_revisions() else "behind"
    role = engine.stats.role if engine is not None else "starting"
    connected = listener is not None and listener.connected
    heard = "none" if db.sqlite else ("up" if connected else "down")
    return Readiness(
        ready=database == "ok" and migrations == "current" and engine is not None,
        database=database,
        migrations=migrations,
        revision=revision,
        role=role,
        listener=heard,
        cycles=engine.stats.cycles if engine is not None else 0,
    )
