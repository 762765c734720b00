"""Two parties claiming the same new aircraft id at the same instant: one owner, no server error.

On PostgreSQL the two ingest transactions really run concurrently; the second party's claim must
come back as "owned by another party" (a 403 for its batch), never as a duplicate-key exception.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from deconflict.broker import parties
from deconflict.store import live_sql
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade


def test_concurrent_claims_of_one_new_id_leave_one_owner(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    now = datetime.now(UTC)
    try:
        with db.write() as s:
            first = parties.create_party(s, "FIRST", now=now).id
            second = parties.create_party(s, "SECOND", now=now).id
        claimed = threading.Event()
        release = threading.Event()
        results: dict[str, list[str]] = {}
        errors: list[BaseException] = []

        def claim_and_hold() -> None:
            try:
                with db.write() as s:
                    results["first"] = live_sql.claim(s, first, ["4ca97b", "own-1"], now)
                    claimed.set()
                    release.wait(10)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                claimed.set()

        def claim_concurrently() -> None:
            try:
                with db.write() as s:
                    results["second"] = live_sql.claim(s, second, ["4ca97b", "own-2"], now)
            except BaseException as exc:
                errors.append(exc)

        holder = threading.Thread(target=claim_and_hold)
        holder.start()
        assert claimed.wait(10)
        contender = threading.Thread(target=claim_concurrently)
        contender.start()
        contender.join(0.5)  # blocked behind the first transaction (lock or single writer)
        release.set()
        holder.join(10)
        contender.join(10)
        assert errors == []
        assert results == {"first": [], "second": ["4ca97b"]}
        with db.read() as s:
            owners = live_sql.owners(s, ["4ca97b", "own-1", "own-2"])
        assert owners == {"4ca97b": first, "own-1": first, "own-2": second}
    finally:
        db.dispose()
