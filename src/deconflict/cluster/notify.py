"""Cross-replica wake-ups with PostgreSQL ``LISTEN/NOTIFY``.

Every replica writes to the same database; a transaction that publishes outbox events also
sends ``NOTIFY deconflict_outbox`` (``deconflict.broker.outbox.publish``) and one that accepts
track states sends ``NOTIFY deconflict_tracks`` (``deconflict.broker.live``). PostgreSQL
delivers a notification only when (and if) the transaction commits, once per distinct
``(channel, payload)`` per transaction, to every listening session of the database.

:class:`PgListener` holds one dedicated connection per replica and turns notifications into
in-process wake-ups (the event streams, the detection loop). The streams still re-read the outbox
every ``sse_poll_s`` seconds, so a lost connection delays delivery by at most that, never loses
an event (the outbox is the record; a notification is only a hint). After every (re)connect the
listener fires each callback once, so nothing committed while it was away waits for a poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

import psycopg

OUTBOX_CHANNEL = "deconflict_outbox"
"""Channel notified when a transaction published outbox events."""
TRACKS_CHANNEL = "deconflict_tracks"
"""Channel notified when a transaction accepted track states (wakes the leader's cycle)."""
CHANNELS = (OUTBOX_CHANNEL, TRACKS_CHANNEL)
RECONNECT_S = 1.0
"""Pause before reconnecting after the listening connection failed, s."""


def libpq_url(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as a libpq URL (other forms unchanged)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class PgListener:
    """Calls ``callbacks[channel]()`` for each notification on the listened channels.

    Parameters
    ----------
    dsn:
        libpq DSN or URL of the shared database.
    callbacks:
        Channel name (one of :data:`CHANNELS`) -> a thread-safe, quick callable.
    """

    def __init__(self, dsn: str, callbacks: Mapping[str, Callable[[], None]]) -> None:
        unknown = set(callbacks) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown channel(s) {sorted(unknown)}; expected {CHANNELS}")
        self._dsn = libpq_url(dsn)
        self._callbacks = dict(callbacks)
        self.connected = False
        """Whether the listening connection is up (reported by ``GET /ready``)."""
        self.received = 0
        """Notifications received so far."""

    def _fire(self, channel: str | None = None) -> None:
        for name, callback in self._callbacks.items():
            if channel is None or name == channel:
                callback()

    def run(self, stop: threading.Event, *, poll_s: float = 0.5) -> None:
        """Listen until ``stop`` is set (blocking; run it in a worker thread). Checks ``stop``
        at least every ``poll_s`` seconds and reconnects after :data:`RECONNECT_S` on errors."""
        while not stop.is_set():
            try:
                with psycopg.connect(
                    self._dsn,
                    autocommit=True,
                    connect_timeout=5,
                    keepalives=1,
                    keepalives_idle=2,
                    keepalives_interval=2,
                    keepalives_count=3,
                ) as conn:
                    for channel in self._callbacks:
                        conn.execute(f"LISTEN {channel}")  # fixed identifiers (CHANNELS)
                    self.connected = True
                    self._fire()
                    while not stop.is_set():
                        for note in conn.notifies(timeout=poll_s):
                            self.received += 1
                            self._fire(note.channel)
            except psycopg.Error:
                pass
            finally:
                self.connected = False
            stop.wait(RECONNECT_S)


def notify_sql(channel: str) -> str:
    """The statement that notifies ``channel`` (one of :data:`CHANNELS`) at commit."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return f"NOTIFY {channel}"
