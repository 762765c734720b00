"""The event-stream service: what ``GET /v1/stream`` reads (a party's outbox events after an id)
and the periodic re-check of the presented key. Event payloads: :mod:`deconflict.broker.events`."""

from __future__ import annotations

from datetime import datetime

from deconflict.broker import outbox
from deconflict.broker.outbox import OutboxEvent
from deconflict.broker.parties import authenticate
from deconflict.errors import UnauthorizedError
from deconflict.store.base import Database


class EventFeed:
    """One database's outbox, read per party (each call is its own short read transaction)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def newest_id(self, party_id: str) -> int:
        """The newest event id of ``party_id`` (0 when none)."""
        with self.db.read() as session:
            return outbox.last_id(session, party_id)

    def after(self, party_id: str, after_id: int, *, limit: int) -> list[OutboxEvent]:
        """Events of ``party_id`` with id > ``after_id``, oldest first, at most ``limit``."""
        with self.db.read() as session:
            return outbox.read_after(session, party_id, after_id, limit=limit)

    def key_still_valid(self, token: str, now: datetime) -> bool:
        """Whether the API key ``token`` still authenticates at ``now`` (not revoked/expired)."""
        try:
            with self.db.read() as session:
                authenticate(session, token, now=now)
            return True
        except UnauthorizedError:
            return False
