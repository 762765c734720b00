"""20 parties submitting at the same instant, through a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
from broker_testkit import LiveServer, circle, notice, seed
from sqlalchemy import func, select

from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.tables import conflicts, notices, probe_events

NAMES = tuple(f"P{i:02d}" for i in range(20))


def _burst(base_url: str, keys: list[str], bodies: list[dict[str, Any]]) -> list[int]:
    barrier = threading.Barrier(len(keys))
    codes: list[int] = [0] * len(keys)

    def one(i: int) -> None:
        with httpx.Client(base_url=base_url, timeout=60) as c:
            barrier.wait()
            r = c.post(
                "/v1/notices",
                json=bodies[i],
                headers={"Authorization": f"Bearer {keys[i]}", "Idempotency-Key": f"burst-{i}"},
            )
            codes[i] = r.status_code

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(keys))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return codes


def _count(url: str, table: Any) -> int:
    db = Database(url)
    try:
        with db.read() as s:
            return int(s.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        db.dispose()


def test_twenty_parties_overlapping_under_f3548_leave_exactly_one(
    migrated_url: str, tmp_path: Path
) -> None:
    _, keys, _, _ = seed(migrated_url, policy="f3548", names=NAMES)
    settings = Settings(db_url=migrated_url, data_dir=tmp_path / "data")
    bodies = [notice(circle(10.0 + i * 0.001, 50.0), priority=1) for i in range(20)]
    with LiveServer(settings) as srv:
        codes = _burst(srv.base_url, [keys[f"{n}.duty_officer"] for n in NAMES], bodies)
        # retries of the same requests change nothing (idempotency keys)
        again = _burst(srv.base_url, [keys[f"{n}.duty_officer"] for n in NAMES], bodies)
    assert sorted(codes) == [201] + [409] * 19
    assert again == codes
    assert _count(migrated_url, notices) == 1
    assert _count(migrated_url, conflicts) == 0
    assert _count(migrated_url, probe_events) == 19


def test_twenty_parties_disjoint_notices_are_all_stored_once(
    migrated_url: str, tmp_path: Path
) -> None:
    _, keys, _, _ = seed(migrated_url, policy="f3548", names=NAMES)
    settings = Settings(db_url=migrated_url, data_dir=tmp_path / "data")
    bodies = [notice(circle(-100.0 + 2 * i, 10.0), priority=1) for i in range(20)]
    with LiveServer(settings) as srv:
        codes = _burst(srv.base_url, [keys[f"{n}.duty_officer"] for n in NAMES], bodies)
    assert codes == [201] * 20
    assert _count(migrated_url, notices) == 20
