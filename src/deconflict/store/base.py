"""Engines, sessions and the shared SQLAlchemy ``metadata`` (SQLite default, PostgreSQL option).

Transactions and the single writer
----------------------------------
SQLite allows one writer at a time. Rather than letting concurrent writers collide and spin in
SQLite's busy handler, a :class:`Database` on SQLite keeps **one writer connection** (a pool of
size 1 whose transactions start with ``BEGIN IMMEDIATE``) and a separate pool of reader
connections (WAL: readers never block the writer or each other). Threads queue fairly for the
writer connection; another process (the CLI) waits up to ``busy_timeout``.

On PostgreSQL both factories share one pool; writers that must be serialised (the strategic
check-then-insert) take a transaction-level advisory lock (see :meth:`Database.lock_writes`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

#: Constraint naming convention: migrations get stable, predictable names on both databases.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Every table of every area is declared on this metadata (store/tables.py, ledger_sql.py, ...).
metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: Advisory-lock key (PostgreSQL) serialising strategic check-then-insert across processes.
STRATEGIC_LOCK_KEY = 0x0DEC0F11C7

#: ``Session.info`` flag: the transaction changed credentials (a key revoked); when it commits,
#: :attr:`Database.auth_epoch` moves on so cached authentications are dropped.
AUTH_CHANGED_INFO = "deconflict.auth_changed"


def normalise_url(url: str) -> str:
    """Map ``postgresql://`` / ``postgres://`` and bare psycopg DSNs to ``postgresql+psycopg://``.

    Parameters
    ----------
    url:
        SQLAlchemy URL, ``postgresql://...`` or a libpq key/value DSN (``host=... dbname=...``).
    """
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url and "=" in url:  # libpq key=value DSN
        parts = dict(p.split("=", 1) for p in url.split())
        user = parts.get("user", "postgres")
        password = f":{parts['password']}" if "password" in parts else ""
        host = parts.get("host", "127.0.0.1")
        port = f":{parts['port']}" if "port" in parts else ""
        return (
            f"postgresql+psycopg://{user}{password}@{host}{port}/{parts.get('dbname', 'postgres')}"
        )
    return url


def is_sqlite(url: str) -> bool:
    """True when ``url`` names an SQLite database."""
    return make_url(normalise_url(url)).get_backend_name() == "sqlite"


#: Longest wait for a pooled connection (s): past it the request gets 503 + Retry-After
#: (``web/hardening.py``), never a 60 s hang.
POOL_TIMEOUT_S = 10.0


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600; SQLite gives its -wal and -shm
    files the same mode), or restrict an existing one."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _sqlite_engine(url: str, *, writer: bool, synchronous: str, busy_timeout_ms: int) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        _private_file(Path(parsed.database))
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=1 if writer else 8,
        max_overflow=0 if writer else 8,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000.0},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (pysqlite's is broken)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.close()

    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


def make_engine(
    url: str,
    *,
    writer: bool = True,
    sqlite_synchronous: str = "NORMAL",
    sqlite_busy_timeout_ms: int = 10_000,
) -> Engine:
    """Create an engine for ``url``.

    Parameters
    ----------
    url:
        ``sqlite:///path``, ``postgresql://...`` (mapped to psycopg 3) or a libpq DSN.
    writer:
        SQLite only: the single-writer engine (pool of 1, ``BEGIN IMMEDIATE``) when true, a
        reader pool (deferred ``BEGIN``) when false.
    sqlite_synchronous:
        ``FULL`` or ``NORMAL`` (SQLite ``PRAGMA synchronous`` in WAL mode).
    sqlite_busy_timeout_ms:
        Wait for another process's write lock (ms).
    """
    url = normalise_url(url)
    if is_sqlite(url):
        if sqlite_synchronous not in ("FULL", "NORMAL"):
            raise ValueError("sqlite_synchronous must be FULL or NORMAL")
        return _sqlite_engine(
            url,
            writer=writer,
            synchronous=sqlite_synchronous,
            busy_timeout_ms=sqlite_busy_timeout_ms,
        )
    return create_engine(
        url, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_timeout=POOL_TIMEOUT_S
    )


class Database:
    """The engines and session factories of one store (one per app or CLI command, no global).

    Parameters
    ----------
    url:
        Database URL (see :func:`make_engine`).
    sqlite_synchronous, sqlite_busy_timeout_ms:
        SQLite tuning (ignored on PostgreSQL).
    """

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "NORMAL",
        sqlite_busy_timeout_ms: int = 10_000,
    ) -> None:
        self.url = normalise_url(url)
        self.sqlite = is_sqlite(self.url)
        kw: dict[str, Any] = {
            "sqlite_synchronous": sqlite_synchronous,
            "sqlite_busy_timeout_ms": sqlite_busy_timeout_ms,
        }
        self.write_engine = make_engine(self.url, writer=True, **kw)
        self.read_engine = (
            make_engine(self.url, writer=False, **kw) if self.sqlite else self.write_engine
        )
        self.writer_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self.reader_sessions = sessionmaker(self.read_engine, expire_on_commit=False)
        #: In-process lock for check-then-insert sequences that must not interleave.
        self.strategic_lock = threading.RLock()
        #: Bumped after each commit that changed credentials (see :data:`AUTH_CHANGED_INFO`).
        self.auth_epoch = 0
        event.listen(self.writer_sessions, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(AUTH_CHANGED_INFO, False):
            self.auth_epoch += 1

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on any exception."""
        with self.writer_sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (on SQLite a reader connection; never commits)."""
        with self.reader_sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def lock_writes(self, session: Session) -> None:
        """Serialise this transaction against every other strategic writer, on any backend.

        SQLite already has one writer connection; PostgreSQL takes a transaction-level advisory
        lock released at commit or rollback.
        """
        if not self.sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": STRATEGIC_LOCK_KEY})

    def ping(self) -> None:
        """Run ``SELECT 1`` on a read connection (raises when the database is unreachable)."""
        with self.read() as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
