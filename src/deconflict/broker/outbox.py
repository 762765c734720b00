"""The event outbox: per-party events written in the caller's transaction, delivered over SSE.

``publish(session, party_id, kind, payload)`` inserts a row into ``outbox`` in the *same*
transaction as the change it announces, so an event exists if and only if the change was
committed. Ids increase monotonically and, because publishers are serialised until commit
(SQLite: the single writer connection; PostgreSQL: a transaction-level advisory lock), **commit
order equals id order**: a reader that has seen id N can never later find a committed id < N,
so replaying "everything after Last-Event-ID" loses nothing and repeats nothing.

After commit, an in-process :class:`OutboxNotifier` wakes the open event streams. On PostgreSQL
the publishing transaction also sends ``NOTIFY deconflict_outbox`` (delivered at commit), which
every replica's :class:`deconflict.cluster.notify.PgListener` turns into the same wake-up, so an
event written by another replica is streamed at once; streams also re-read the table every few
seconds (a notification is only a hint, the outbox is the record).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session

from deconflict.broker.events import EVENT_MODELS, validate_event
from deconflict.cluster.notify import OUTBOX_CHANNEL, notify_sql
from deconflict.store.tables import outbox

#: Event kinds a party's stream can carry: one model each in :mod:`deconflict.broker.events`.
KINDS: frozenset[str] = frozenset(EVENT_MODELS)
#: PostgreSQL advisory-lock key that orders outbox inserts by commit.
OUTBOX_LOCK_KEY = 0x0DEC0B0C5
#: ``Session.info`` key set when the transaction published an event.
_DIRTY = "deconflict.outbox_dirty"
#: When set, :func:`publish` validates every payload against its model in
#: :mod:`deconflict.broker.events` and raises on drift (the test suite sets it: the drift test).
_CHECK_EVENTS = {"on": False}
#: Prebuilt (compiled and cache-keyed once) INSERT of one event, returning its id.
_INSERT_EVENT = insert(outbox).returning(outbox.c.id)
#: Cross-replica wake-up, sent once per publishing transaction on PostgreSQL.
_NOTIFY_OUTBOX = text(notify_sql(OUTBOX_CHANNEL))


@dataclass(frozen=True)
class OutboxEvent:
    """One stored event."""

    id: int
    party_id: str
    kind: str
    payload: dict[str, Any]
    created_at: datetime


def publish(
    session: Session,
    party_id: str,
    kind: str,
    payload: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> int:
    """Queue an event for ``party_id`` in the session's transaction and return its id.

    Parameters
    ----------
    session:
        An open write session; the event is committed (or rolled back) with it.
    party_id:
        The only party that will receive the event.
    kind:
        One of :data:`KINDS`.
    payload:
        JSON-serialisable body; must contain only what ``party_id`` may see.
    now:
        Event time (UTC); defaults to the current time.
    """
    _check(kind, payload)
    _serialise(session)
    event_id = session.execute(
        _INSERT_EVENT,
        {
            "party_id": party_id,
            "kind": kind,
            "payload": dict(payload),
            "created_at": now or datetime.now(UTC),
        },
    ).scalar_one()
    session.info[_DIRTY] = True
    return int(event_id)


def publish_many(
    session: Session,
    events: Sequence[tuple[str, str, Mapping[str, Any]]],
    *,
    now: datetime | None = None,
) -> int:
    """Queue many events ``(party_id, kind, payload)`` in the session's transaction with one
    ``executemany`` (ids in list order, as consecutive :func:`publish` calls would give them);
    returns how many were queued. Same rules as :func:`publish` (``now``: event time, UTC)."""
    if not events:
        return 0
    for _, kind, payload in events:
        _check(kind, payload)
    _serialise(session)
    at = now or datetime.now(UTC)
    session.execute(
        insert(outbox),
        [
            {"party_id": party, "kind": kind, "payload": dict(payload), "created_at": at}
            for party, kind, payload in events
        ],
    )
    session.info[_DIRTY] = True
    return len(events)


def _check(kind: str, payload: Mapping[str, Any]) -> None:
    """Refuse an unknown ``kind``; validate ``payload`` against its model when checking is on."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}; expected one of {sorted(KINDS)}")
    if _CHECK_EVENTS["on"]:
        validate_event(1, kind, dict(payload))


def _serialise(session: Session) -> None:
    """PostgreSQL: take the outbox lock (ids in commit order across replicas) and, once per
    transaction, queue ``NOTIFY`` for the other replicas' streams."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": OUTBOX_LOCK_KEY})
        if not session.info.get(_DIRTY):
            session.execute(_NOTIFY_OUTBOX)


def watch_commits(sessions: Any, callback: Callable[[], None]) -> None:
    """Call ``callback()`` after each commit of a session made by ``sessions`` (a
    ``sessionmaker``) that published events: the hook of a process without event streams of
    its own (the dedicated detection process tells the serving process to wake its streams).
    """

    def committed(session: Session) -> None:
        if session.info.pop(_DIRTY, False):
            callback()

    def rolled_back(session: Session, _previous: Any) -> None:
        session.info.pop(_DIRTY, None)

    event.listen(sessions, "after_commit", committed)
    event.listen(sessions, "after_soft_rollback", rolled_back)


def check_events(enabled: bool) -> bool:
    """Validate (``True``) or not every published payload against its event model (raising
    ``pydantic.ValidationError`` on drift); returns the previous setting. Off by default (the
    services build the payloads); the test suite turns it on so any drift fails a test."""
    previous = _CHECK_EVENTS["on"]
    _CHECK_EVENTS["on"] = enabled
    return previous


def read_after(
    session: Session, party_id: str, after_id: int, *, limit: int = 500
) -> list[OutboxEvent]:
    """Events of ``party_id`` with id > ``after_id``, oldest first (filtered in the query)."""
    rows = session.execute(
        select(outbox)
        .where(outbox.c.party_id == party_id, outbox.c.id > after_id)
        .order_by(outbox.c.id)
        .limit(limit)
    )
    return [OutboxEvent(r.id, r.party_id, r.kind, dict(r.payload), r.created_at) for r in rows]


def last_id(session: Session, party_id: str) -> int:
    """The newest event id of ``party_id`` (0 when none)."""
    value = session.execute(
        select(outbox.c.id)
        .where(outbox.c.party_id == party_id)
        .order_by(outbox.c.id.desc())
        .limit(1)
    ).scalar()
    return int(value or 0)


class OutboxNotifier:
    """Wakes event streams (asyncio) after a publishing transaction commits (any thread)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: set[asyncio.Event] = set()
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the server's event loop (called at start-up)."""
        self._loop = loop

    def subscribe(self) -> asyncio.Event:
        """A new wake-up event for one stream (call from the loop)."""
        ev = asyncio.Event()
        with self._lock:
            self._waiters.add(ev)
        return ev

    def unsubscribe(self, ev: asyncio.Event) -> None:
        """Forget a stream's wake-up event."""
        with self._lock:
            self._waiters.discard(ev)

    def _wake(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for ev in waiters:
            ev.set()

    def notify(self) -> None:
        """Wake every stream; safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake()
        else:
            loop.call_soon_threadsafe(self._wake)

    def after_commit(self, session: Session) -> None:
        """SQLAlchemy ``after_commit`` hook: notify when the transaction published."""
        if session.info.pop(_DIRTY, False):
            self.notify()

    def after_rollback(self, session: Session) -> None:
        """SQLAlchemy ``after_rollback`` hook: forget the dirty flag."""
        session.info.pop(_DIRTY, None)
