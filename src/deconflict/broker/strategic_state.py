"""The in-memory strategic index of one broker process, kept equal to the committed notices.

Every live notice's volumes sit in a :class:`~deconflict.strategic.VolumeIndex` under keys
``"<notice_id>/<volume_number>"``. The index is rebuilt from the database at start-up and then
changed only *after* a commit, by the writer that holds the strategic lock. Each notice write
gets the next ``change_seq``; before checking, a writer applies every row with a higher
``change_seq`` than it has seen (writes by another process sharing a PostgreSQL database, or a
write whose in-memory update was lost), so the check always runs against the committed state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from deconflict.store.tables import notices
from deconflict.strategic import Volume4D, VolumeIndex

#: Notice rows committed after a given change_seq (built once: runs on every write).
_UNSEEN = (
    select(notices).where(notices.c.change_seq > bindparam("seen")).order_by(notices.c.change_seq)
)
#: Stored notice states that take part in conflict checks.
LIVE_STATES = frozenset({"notified"})


@dataclass(frozen=True)
class LiveNotice:
    """What the check needs to know about a live notice (never sent to another party)."""

    id: str
    party_id: str
    priority: int
    category: str
    created_at: datetime
    start: datetime
    end: datetime
    volume_count: int


def volumes_of(body: dict[str, Any]) -> list[Volume4D]:
    """Parse the stored volumes of a notice body (already validated when accepted)."""
    return [Volume4D.from_json(v, where=f"volumes[{i}]") for i, v in enumerate(body["volumes"])]


class StrategicState:
    """Index + metadata of the live notices; mutate only under ``Database.strategic_lock``."""

    def __init__(self) -> None:
        self.index = VolumeIndex()
        self.notices: dict[str, LiveNotice] = {}
        self.seen_seq = 0
        self.last_time: datetime | None = None

    def __len__(self) -> int:
        return len(self.index)

    def monotonic_now(self, now: datetime) -> datetime:
        """``now``, but strictly after every submission time handed out before (1 µs steps)."""
        if self.last_time is not None and now <= self.last_time:
            now = self.last_time + timedelta(microseconds=1)
        self.last_time = now
        return now

    # ----------------------------------------------------------------------------- loading
    def load(self, session: Session, *, now: datetime) -> int:
        """Rebuild from the database: every live notice not yet ended. Returns volumes loaded."""
        self.index = VolumeIndex()
        self.notices = {}
        rows = session.execute(
            select(notices).where(notices.c.state.in_(LIVE_STATES), notices.c.end_at >= now)
        )
        items: list[tuple[str, str, Volume4D]] = []
        for row in rows:
            vols = volumes_of(row.body)
            self.notices[row.id] = self._meta(row, vols)
            items.extend((f"{row.id}/{i}", row.party_id, v) for i, v in enumerate(vols))
        self.index.add_many(items)
        self.index.rebuild()
        self.seen_seq = int(session.execute(select(func.max(notices.c.change_seq))).scalar() or 0)
        return len(items)

    def catch_up(self, session: Session) -> int:
        """Apply committed notice rows this process has not seen; returns how many."""
        rows = list(session.execute(_UNSEEN, {"seen": self.seen_seq}))
        for row in rows:
            if row.state in LIVE_STATES:
                self.put(row.id, row.party_id, volumes_of(row.body), self._meta_row(row))
            else:
                self.drop(row.id)
            self.seen_seq = max(self.seen_seq, int(row.change_seq))
        return len(rows)

    @staticmethod
    def _meta(row: Any, vols: list[Volume4D]) -> LiveNotice:
        return LiveNotice(
            id=row.id,
            party_id=row.party_id,
            priority=int(row.priority),
            category=row.category,
            created_at=row.created_at,
            start=min(v.start for v in vols),
            end=max(v.end for v in vols),
            volume_count=len(vols),
        )

    def _meta_row(self, row: Any) -> LiveNotice:
        return self._meta(row, volumes_of(row.body))

    # ---------------------------------------------------------------------------- mutation
    def put(
        self, notice_id: str, party_id: str, vols: Iterable[Volume4D], meta: LiveNotice
    ) -> None:
        """Insert or replace a notice's volumes."""
        self.drop(notice_id)
        self.index.add_many((f"{notice_id}/{i}", party_id, v) for i, v in enumerate(vols))
        self.notices[notice_id] = meta

    def drop(self, notice_id: str) -> None:
        """Remove a notice's volumes (no-op when absent)."""
        meta = self.notices.pop(notice_id, None)
        if meta is None:
            return
        for i in range(meta.volume_count):
            key = f"{notice_id}/{i}"
            if key in self.index:
                self.index.remove(key)
