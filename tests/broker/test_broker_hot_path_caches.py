"""Hot-path caches keep the guarantees: verified-key cache (revocation, expiry, TTL) and the
live engine's incremental plan cache (same plans as a full reload)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from deconflict.broker import parties
from deconflict.broker.live_plans import PlanCache
from deconflict.broker.notice_model import NoticeRules
from deconflict.broker.notices import NoticeService
from deconflict.broker.strategic_state import StrategicState
from deconflict.errors import UnauthorizedError
from deconflict.live.engine import LiveConfig
from deconflict.store import tables
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    upgrade(db_url)
    database = Database(db_url)
    yield database
    database.dispose()


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def lookup(db: Database, cache: parties.PrincipalCache, token: str) -> parties.Principal:
    """What the web dependency does: the cache, else the database (then remember it)."""
    epoch = db.auth_epoch
    hit = cache.get(token, now=datetime.now(UTC), epoch=epoch)
    if hit is not None:
        return hit
    with db.read() as s:
        principal, expires_at = parties.authenticate_key(s, token, now=datetime.now(UTC))
    cache.put(token, principal, expires_at, epoch=epoch)
    return principal


def test_revocation_through_this_process_applies_at_once(db: Database) -> None:
    with db.write() as s:
        p = parties.create_party(s, "Alpha", now=NOW)
        other = parties.create_key(s, p.id, "duty_officer", now=NOW)[0]
    with db.write() as s:
        info, token = parties.create_key(s, p.id, "viewer", now=NOW)
    cache = parties.PrincipalCache(ttl_s=3600.0)
    assert lookup(db, cache, token).party_id == p.id
    assert cache.get(token, now=datetime.now(UTC), epoch=db.auth_epoch) is not None
    before = db.auth_epoch
    with db.write() as s:
        parties.revoke_key(s, info.key_id, now=NOW)
    assert db.auth_epoch != before
    assert cache.get(token, now=datetime.now(UTC), epoch=db.auth_epoch) is None
    with pytest.raises(UnauthorizedError):
        lookup(db, cache, token)
    # revoking another key, or a rolled-back revocation, does not disturb the epoch wrongly
    epoch = db.auth_epoch
    with pytest.raises(RuntimeError), db.write() as s:
        parties.revoke_key(s, other.key_id, now=NOW)
        raise RuntimeError("rolled back")
    assert db.auth_epoch == epoch


def test_cached_keys_still_expire_and_age_out(db: Database) -> None:
    with db.write() as s:
        p = parties.create_party(s, "Alpha", now=NOW)
        info, token = parties.create_key(s, p.id, "viewer", now=NOW, expires_days=1)
    clock = FakeClock()
    cache = parties.PrincipalCache(ttl_s=1.0, clock=clock)
    lookup(db, cache, token)
    now = datetime.now(UTC)
    assert cache.get(token, now=now, epoch=db.auth_epoch) is not None
    assert cache.get(token, now=now + timedelta(days=2), epoch=db.auth_epoch) is None  # expired
    lookup(db, cache, token)
    clock.t += 1.5  # older than the TTL: a revocation by another process is seen by now
    assert cache.get(token, now=now, epoch=db.auth_epoch) is None
    assert cache.get("dk_other_secret", now=now, epoch=db.auth_epoch) is None
    # a revocation made elsewhere (no epoch change here) is found once the entry ages out
    lookup(db, cache, token)
    with db.write() as s:
        s.execute(
            update(tables.api_keys)
            .where(tables.api_keys.c.key_id == info.key_id)
            .values(revoked_at=NOW)
        )
    clock.t += 1.5
    with pytest.raises(UnauthorizedError):
        lookup(db, cache, token)


def circle(lon: float, start: datetime, hours: float = 2.0, after_min: float = 0) -> dict[str, Any]:
    return {
        "footprint": {"type": "circle", "center": [lon, 50.0], "radius_nm": 5},
        "altitude": {"lower": 0, "upper": 10000, "reference": "ft_amsl"},
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(hours=hours)).isoformat().replace("+00:00", "Z"),
        "buffers": {"after_min": after_min},
    }


def test_plan_cache_follows_creates_cancels_and_time(db: Database) -> None:
    with db.write() as s:
        a = parties.create_party(s, "Alpha", now=NOW).id
        b = parties.create_party(s, "Bravo", now=NOW).id
    svc = NoticeService(db, StrategicState(), NoticeRules())
    svc.load()
    t0 = NOW + timedelta(hours=5)
    n1 = svc.create(a, {"category": "exercise", "volumes": [circle(0, t0)]}).notice["id"]
    n2 = svc.create(b, {"category": "exercise", "volumes": [circle(5, t0 + timedelta(days=3))]})
    n3 = svc.create(a, {"category": "exercise", "volumes": [circle(9, t0, 1.0, after_min=30)]})
    cache = PlanCache(LiveConfig())

    def keys(now: datetime) -> set[str]:
        with db.read() as s:
            cache.apply(s)
            cache.advance(s, now.timestamp())
        return {v.key.split("/")[0] for v in cache.volumes()}

    assert keys(NOW) == set()  # nothing within the horizon yet: nothing built
    assert len(cache) == 3
    during = t0 + timedelta(minutes=30)
    assert keys(during) == {n1, n3.notice["id"]}
    # the after-buffer keeps n3 until 1 h 30 min after its start
    assert keys(t0 + timedelta(minutes=80)) == {n1, n3.notice["id"]}
    assert keys(t0 + timedelta(minutes=100)) == {n1}
    assert keys(t0 + timedelta(hours=3)) == set()  # all ended
    assert keys(during) == {n1, n3.notice["id"]}  # time went back: reconsidered
    svc.cancel(a, n1, {"version": 1})
    assert keys(during) == {n3.notice["id"]}
    assert keys(t0 + timedelta(days=3, minutes=1)) == {n2.notice["id"]}
