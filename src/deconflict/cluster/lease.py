"""Leader lease among broker replicas on one PostgreSQL database (a session advisory lock).

Exactly one replica should run the live detection cycle. The lease is PostgreSQL's session-level
advisory lock ``pg_try_advisory_lock(key)`` held on a dedicated connection: PostgreSQL grants it
to one session at a time, and releases it the moment that session ends — a clean shutdown, a
crash or ``kill -9`` of the holder (the kernel closes the socket, the backend exits). A follower
polls ``try_acquire`` every ``poll_s`` seconds, so it takes over within ``poll_s`` plus the time
PostgreSQL needs to notice the dead connection (immediate when the process dies on the same or a
reachable host; bounded by TCP keepalives, set here to a few seconds, when the network fails).

``is_leader`` re-checks the connection before each cycle: a leader whose connection broke has
lost the lease (another replica may hold it now) and must stop acting as leader.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import psycopg

DEFAULT_LEASE_NAME = "deconflict/live-cycle"
KEEPALIVE_S = 2
"""TCP keepalive idle/interval, seconds: a holder behind a dead network loses the lock after
about ``KEEPALIVE_S * 3`` seconds."""


def lease_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderLease:
    """At most one holder per ``(database, name)``; see the module docstring.

    Parameters
    ----------
    dsn:
        libpq connection string or ``postgresql://`` URL of the shared database.
    name:
        Lease name (one lock per name).
    """

    def __init__(self, dsn: str, name: str = DEFAULT_LEASE_NAME) -> None:
        self._dsn = dsn.replace("postgresql+psycopg://", "postgresql://", 1)
        self.key = lease_key(name)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._held = False
        self.backend_pid: int | None = None
        """PostgreSQL backend pid of the session holding the lease (``None`` when not held):
        writers check ``pg_locks`` for it inside their transaction (fencing)."""

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._dsn,
                autocommit=True,
                keepalives=1,
                keepalives_idle=KEEPALIVE_S,
                keepalives_interval=KEEPALIVE_S,
                keepalives_count=3,
                connect_timeout=5,
            )
        return self._conn

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; ``True`` if this object holds it now."""
        if self._held:
            # advisory locks are re-entrant per session: never stack a second level
            self._held = self.is_leader()
            return self._held
        try:
            row = (
                self._connection()
                .execute("SELECT pg_try_advisory_lock(%s), pg_backend_pid()", (self.key,))
                .fetchone()
            )
        except psycopg.OperationalError:
            self._drop()
            return False
        self._held = bool(row and row[0])
        self.backend_pid = int(str(row[1])) if row and self._held else None
        return self._held

    def is_leader(self) -> bool:
        """``True`` while this object's session holds the lease (checked on the server)."""
        if self._conn is None or self._conn.closed:
            return False
        try:
            row = self._conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND classid::bigint = %s AND objid::bigint = %s "
                "AND objsubid = 1",
                ((self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF),
            ).fetchone()
        except psycopg.OperationalError:
            self._drop()
            return False
        return bool(row and int(str(row[0])) > 0)

    def wait(
        self,
        timeout_s: float,
        *,
        poll_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> bool:
        """Poll ``try_acquire`` every ``poll_s`` s for at most ``timeout_s`` s (bounded loop)."""
        deadline = clock() + timeout_s
        while True:
            if self.try_acquire():
                return True
            if clock() + poll_s > deadline:
                return False
            sleep(poll_s)

    def release(self) -> None:
        """Give the lease up (closing the session releases it too)."""
        self._drop()

    def _drop(self) -> None:
        self._held = False
        self.backend_pid = None
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
