"""The create, amend and cancel paths step by step: what each writes, tells and refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from deconflict.broker import agreements, parties
from deconflict.broker.notice_model import NoticeRules
from deconflict.broker.notices import NoticeService
from deconflict.broker.strategic_state import StrategicState
from deconflict.errors import InvalidInputError, NotFoundError, StaleVersionError
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.store.tables import idempotency, notices, outbox, probe_events

NOW = datetime.now(UTC).replace(microsecond=0)


def volume(lon: float, lat: float) -> dict[str, Any]:
    t0 = NOW + timedelta(hours=100)
    return {
        "footprint": {"type": "circle", "center": [lon, lat], "radius_nm": 5},
        "altitude": {"lower": 0, "upper": 10000, "reference": "ft_amsl"},
        "start": t0.isoformat().replace("+00:00", "Z"),
        "end": (t0 + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
    }


def body(lon: float, *, priority: int = 0, title: str = "") -> dict[str, Any]:
    return {
        "category": "exercise",
        "priority": priority,
        "title": title,
        "volumes": [volume(lon, 50)],
    }


@pytest.fixture
def world(db_url: str) -> Any:
    upgrade(db_url)
    db = Database(db_url)
    with db.write() as s:
        a = parties.create_party(s, "Alpha", now=NOW)
        b = parties.create_party(s, "Bravo", now=NOW)
        agreements.create_agreement(s, "AB", policy="f3548", parties=[a.id, b.id], now=NOW)
    svc = NoticeService(db, StrategicState(), NoticeRules())
    svc.load()
    yield svc, a.id, b.id
    db.dispose()


def notice_events(svc: NoticeService, party_id: str) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        q = select(outbox.c.payload).where(outbox.c.party_id == party_id, outbox.c.kind == "notice")
        return [dict(r.payload) for r in s.execute(q.order_by(outbox.c.id))]


def probes(svc: NoticeService, party_id: str) -> list[str]:
    with svc.db.read() as s:
        q = select(probe_events.c.kind).where(probe_events.c.party_id == party_id)
        return [r.kind for r in s.execute(q.order_by(probe_events.c.id))]


def test_each_write_tells_the_owner_the_new_version_and_state(world: Any) -> None:
    svc, a, _ = world
    created = svc.create(a, body(10, title="one"), idempotency_key="k1")
    assert created.outcome == "accepted"
    nid = created.notice["id"]
    amended = svc.amend(a, nid, {**body(11, title="two"), "version": 1})
    assert amended.outcome == "amended"
    assert amended.notice["version"] == 2 and amended.notice["title"] == "two"
    cancelled = svc.cancel(a, nid, {"version": 2})
    assert cancelled.outcome == "cancelled"
    assert cancelled.notice["state"] == "cancelled" and cancelled.notice["version"] == 3
    assert notice_events(svc, a) == [
        {"id": nid, "version": 1, "state": "notified"},
        {"id": nid, "version": 2, "state": "notified"},
        {"id": nid, "version": 3, "state": "cancelled"},
    ]
    assert probes(svc, a) == ["cancelled"]
    with svc.db.read() as s:
        row = s.execute(select(notices).where(notices.c.id == nid)).one()
        stored = s.execute(select(idempotency).where(idempotency.c.party_id == a)).one()
    assert (row.version, row.state, row.title, row.change_seq) == (3, "cancelled", "two", 3)
    assert row.updated_at >= row.created_at
    assert (stored.key, stored.status, stored.response) == ("k1", 201, created.notice)
    replay = svc.create(a, body(10, title="one"), idempotency_key="k1")
    assert replay.replayed and replay.notice == created.notice and len(notice_events(svc, a)) == 3


def test_amend_and_cancel_refuse_in_the_same_order_with_the_same_messages(world: Any) -> None:
    svc, a, b = world
    nid = svc.create(a, body(10)).notice["id"]
    with pytest.raises(NotFoundError, match="no notice"):
        svc.amend(b, nid, {**body(10), "version": 1})
    with pytest.raises(StaleVersionError) as stale:
        svc.cancel(a, nid, {"version": 2})
    assert (stale.value.expected, stale.value.actual) == (2, 1)
    svc.cancel(a, nid, {"version": 1})
    with pytest.raises(StaleVersionError):  # the version is checked before the state
        svc.amend(a, nid, {**body(10), "version": 1})
    with pytest.raises(InvalidInputError) as amend_err:
        svc.amend(a, nid, {**body(10), "version": 2})
    assert (amend_err.value.field, amend_err.value.reason) == (
        "state",
        "a cancelled notice cannot be amended",
    )
    with pytest.raises(InvalidInputError) as cancel_err:
        svc.cancel(a, nid, {"version": 2})
    assert cancel_err.value.reason == "the notice is already cancelled"


def test_a_refused_amend_keeps_the_notice_and_counts_a_probe(world: Any) -> None:
    svc, a, b = world
    assert svc.create(a, body(10, priority=5)).outcome == "accepted"
    nid = svc.create(b, body(20)).notice["id"]
    refused = svc.amend(b, nid, {**body(10), "version": 1})  # onto Alpha's higher priority
    assert refused.outcome == "rejected" and refused.refusal is not None
    assert refused.refusal.overlaps and probes(svc, b) == ["rejected"]
    with svc.db.read() as s:
        assert svc.get_own(s, b, nid)["version"] == 1
    assert notice_events(svc, b) == [{"id": nid, "version": 1, "state": "notified"}]
