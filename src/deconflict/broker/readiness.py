"""Readiness of one broker process (``GET /ready``): may a load balancer send it traffic?

Ready when the database answers, its schema is at the code's head revision(s) and the live
engine is running. Reported besides: the replica's role (``single`` on SQLite, ``leader`` or
``follower`` on PostgreSQL, see :mod:`deconflict.broker.live`) and whether its cross-replica
wake-up listener (:mod:`deconflict.cluster.notify`) is connected. A follower is ready: it serves
every request; only the detection cycle is the leader's. A listener that is down does not make
the replica unready (streams fall back to polling) but is reported.

:func:`live_stats` is the operator's view of the live engine's cycles (``GET
/v1/admin/live/stats``): counts and the wall durations of the recent cycles, no party data.
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
    last_cycle_s: float = 0.0
    """Wall seconds of the last finished cycle (0 before the first)."""


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
        last_cycle_s=engine.stats.last_cycle_s if engine is not None else 0.0,
    )


@dataclass(frozen=True)
class LiveStats:
    """Figures of the live engine's cycles so far (the operator's view; aggregates only)."""

    role: str
    """``single``, ``leader`` or ``follower`` (see :class:`Readiness`)."""
    detector: str
    """``thread`` (cycles run in the serving process) or ``process`` (a child process)."""
    cycles: int
    """Detection cycles finished."""
    last_cycle_s: float
    """Wall seconds of the last finished cycle (0 before the first)."""
    recent_cycle_s: list[float]
    """Wall seconds of the most recent finished cycles, oldest first (at most 256)."""
    aircraft: int
    """Aircraft states held (live and stale)."""
    live_aircraft: int
    """Aircraft whose last state is younger than the stale time, at the last cycle."""
    conflicts: int
    """Conflicting pairs found by the last cycle."""
    open_alerts: int
    """Alerts open after the last cycle."""
    open_by_kind: dict[str, int]
    """Open alerts per kind after the last cycle."""
    raised_total: int
    """Alerts raised since this process started."""
    takeovers: int
    """Times this process became the detection leader."""


def live_stats(engine: LiveEngine) -> LiveStats:
    """A copy of ``engine``'s cycle figures (taken without waiting for a running cycle; the
    fields of one report may straddle a cycle that finishes while it is taken)."""
    stats = engine.stats
    return LiveStats(
        role=stats.role,
        detector=engine.detector,
        cycles=stats.cycles,
        last_cycle_s=stats.last_cycle_s,
        recent_cycle_s=list(stats.recent_cycle_s.copy()),
        aircraft=stats.aircraft,
        live_aircraft=stats.live_aircraft,
        conflicts=stats.conflicts,
        open_alerts=stats.open_alerts,
        open_by_kind=dict(stats.open_by_kind),
        raised_total=stats.raised_total,
        takeovers=stats.takeovers,
    )
