"""The lock-ordering fault behind the SQLite deadlock (attack 4), found by test.

Rule: a thread never waits for a pool connection while it holds a lock another thread may need
first, i.e. while holding the strategic lock or another pooled connection (on SQLite the single
writer connection *is* a lock). Every request kind of the broker is run in-process with the
database instrumented; each connection checkout records what the thread already held.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from adv_kit import BACKENDS, circle, notice, square
from fastapi.testclient import TestClient
from sqlalchemy import event

from deconflict.broker import agreements, parties
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.web.app import create_app


class _TrackedLock:
    """An RLock that knows which threads hold it (the strategic lock's stand-in)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.holders: dict[int, int] = {}

    def __enter__(self) -> _TrackedLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        ok = self._lock.acquire(blocking, timeout)
        if ok:
            me = threading.get_ident()
            self.holders[me] = self.holders.get(me, 0) + 1
        return ok

    def release(self) -> None:
        me = threading.get_ident()
        self.holders[me] -= 1
        if not self.holders[me]:
            del self.holders[me]
        self._lock.release()

    def held(self) -> bool:
        return threading.get_ident() in self.holders


class _Recorder:
    def __init__(self) -> None:
        self.owner: dict[int, int] = {}  # id(connection record) -> thread holding it
        self.violations: list[str] = []
        self.checkouts = 0


def _instrument(db: Database) -> _Recorder:
    rec = _Recorder()
    tracked = _TrackedLock()
    db.strategic_lock = tracked  # type: ignore[assignment]
    engines = {id(db.write_engine): db.write_engine, id(db.read_engine): db.read_engine}
    for engine in engines.values():

        @event.listens_for(engine.pool, "checkout")
        def _checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
            me = threading.get_ident()
            rec.checkouts += 1
            where = threading.current_thread().name
            if tracked.held():
                rec.violations.append(f"{where}: pool checkout while holding the strategic lock")
            if me in rec.owner.values():
                stack = "".join(traceback.format_stack(limit=14)[:-1])
                rec.violations.append(f"{where}: pool checkout while holding a connection\n{stack}")
            rec.owner[id(record)] = me

        @event.listens_for(engine.pool, "checkin")
        def _checkin(_dbapi: Any, record: Any) -> None:
            rec.owner.pop(id(record), None)  # whichever thread returns it

    return rec


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'lock.sqlite3').as_posix()}"
    else:
        yield request.getfixturevalue("fresh_pg_url")


def test_no_lock_held_while_waiting_for_a_pool_connection(url: str, tmp_path: Path) -> None:
    upgrade(url)
    seed = Database(url)
    now = datetime.now(UTC)
    keys: dict[str, str] = {}
    with seed.write() as s:
        a = parties.create_party(s, "A", now=now).id
        b = parties.create_party(s, "B", now=now).id
        for name, pid in (("A", a), ("B", b)):
            _, keys[name] = parties.create_key(s, pid, "duty_officer", now=now)
        agreements.create_agreement(s, "AB", policy="advisory", parties=[a, b], now=now)
    seed.dispose()
    app = create_app(Settings(db_url=url, data_dir=tmp_path / "data"))
    with TestClient(app, raise_server_exceptions=False) as client:
        db = app.state.db
        assert isinstance(db, Database)
        rec = _instrument(db)

        def h(who: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {keys[who]}"}

        r = client.post("/v1/notices", json=notice(square(20.0, 50.0, 1.0)), headers=h("B"))
        assert r.status_code == 201, r.text
        r = client.post("/v1/notices", json=notice(circle(20.5, 50.5, 5.0)), headers=h("A"))
        assert r.status_code == 201, r.text
        nid, version = r.json()["id"], r.json()["version"]
        r = client.put(
            f"/v1/notices/{nid}",
            json={**notice(circle(20.6, 50.5, 5.0)), "version": version},
            headers=h("A"),
        )
        assert r.status_code == 200, r.text
        r = client.post(
            f"/v1/notices/{nid}/cancel", json={"version": r.json()["version"]}, headers=h("A")
        )
        assert r.status_code == 200, r.text
        tracks = {
            "time": datetime.now(UTC).timestamp(),
            "id": ["a1"],
            "lat": [50.5],
            "lon": [20.5],
            "alt_ft": [5000.0],
            "gs_kt": [300.0],
            "track_deg": [90.0],
            "vs_fpm": [0.0],
        }
        assert client.post("/v1/tracks", json=tracks, headers=h("A")).status_code < 300
        for path in ("/v1/conflicts", "/v1/notices", "/v1/picture", "/v1/alerts"):
            assert client.get(path, headers=h("A")).status_code == 200, path
        assert rec.checkouts > 0
        assert not rec.violations, sorted(set(rec.violations))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
