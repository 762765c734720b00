"""Broker services without HTTP: two processes sharing a database, catalog caching, outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deconflict.broker import agreements, limits, outbox, parties
from deconflict.broker.notice_model import NoticeRules
from deconflict.broker.notices import NoticeService
from deconflict.broker.strategic_state import StrategicState
from deconflict.errors import InvalidInputError, NotFoundError
from deconflict.settings import Settings
from deconflict.store.base import Database, normalise_url
from deconflict.store.migrate import upgrade

NOW = datetime.now(UTC).replace(microsecond=0)


def volume(lon: float, lat: float, start_h: float = 100.0) -> dict[str, Any]:
    t0 = NOW + timedelta(hours=start_h)
    return {
        "footprint": {"type": "circle", "center": [lon, lat], "radius_nm": 5},
        "altitude": {"lower": 0, "upper": 10000, "reference": "ft_amsl"},
        "start": t0.isoformat().replace("+00:00", "Z"),
        "end": (t0 + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
    }


def body(*vols: dict[str, Any], priority: int = 0) -> dict[str, Any]:
    return {"category": "exercise", "priority": priority, "volumes": list(vols)}


@pytest.fixture
def world(db_url: str) -> Any:
    upgrade(db_url)
    db = Database(db_url)
    with db.write() as s:
        a = parties.create_party(s, "Alpha", now=NOW)
        b = parties.create_party(s, "Bravo", now=NOW)
        parties.create_party(s, "Charlie", now=NOW)
    yield db, a.id, b.id
    db.dispose()


def service(db: Database) -> NoticeService:
    svc = NoticeService(Database(db.url), StrategicState(), NoticeRules())
    svc.load()
    return svc


def test_a_second_process_sees_the_first_ones_writes(world: Any) -> None:
    db, a, b = world
    with db.write() as s:
        ab = agreements.create_agreement(s, "AB", policy="f3548", parties=[a, b], now=NOW)
    one, two = service(db), service(db)  # two server processes on one database
    try:
        assert one.create(a, body(volume(10, 50))).outcome == "accepted"
        # `two` never saw that write in memory: catch-up from change_seq finds it
        assert two.create(b, body(volume(10, 50))).outcome == "rejected"
        # priority comes from the agreement (issue 11), not from the request
        assert two.create(b, body(volume(10, 50), priority=1)).outcome == "rejected"
        with db.write() as s:
            limits.put_settings_of(s, ab.id, {"priorities": {"parties": {b: 1}}}, now=NOW)
        assert two.create(b, body(volume(10, 50))).outcome == "accepted"
        assert len(two.state) == 2  # caught up with one's notice, plus its own
    finally:
        one.db.dispose()
        two.db.dispose()


def test_agreement_created_elsewhere_changes_the_policy_at_once(world: Any) -> None:
    db, a, b = world
    svc = service(db)
    try:
        assert svc.create(a, body(volume(0, 0))).outcome == "accepted"
        advisory = svc.create(b, body(volume(0, 0)))
        assert (
            advisory.outcome == "accepted"
            and advisory.notice["conflicts"][0]["policy"] == "advisory"
        )
        with db.write() as s:  # e.g. the CLI, another process
            agreements.create_agreement(s, "AB", policy="f3548", parties=[a, b], now=NOW)
        assert svc.create(b, body(volume(0, 0))).outcome == "rejected"
    finally:
        svc.db.dispose()


def test_pseudonym_and_unknown_party_labels(world: Any) -> None:
    db, a, b = world
    with db.write() as s:
        ag = agreements.create_agreement(
            s, "AB", policy="advisory", parties=["Alpha", "Bravo"], now=NOW, use_pseudonyms=True
        )
        with pytest.raises(InvalidInputError) as info:
            agreements.create_agreement(s, "X", policy="advisory", parties=["Alpha"], now=NOW)
        assert info.value.field == "parties"
    svc = service(db)
    try:
        svc.create(a, body(volume(5, 5)))
        rec = svc.create(b, body(volume(5, 5))).notice["conflicts"][0]
        assert rec["counterpart"] == ag.members[a] and "Alpha" not in str(rec)
    finally:
        svc.db.dispose()


def test_agreed_line_crossing_is_recorded_for_both_sides(world: Any) -> None:
    db, a, b = world
    with db.write() as s:
        ag = agreements.create_agreement(s, "AB", policy="advisory", parties=[a, b], now=NOW)
        # a north-south line at lon 20; A keeps west (left of a northbound line), B east
        agreements.add_line(
            s, ag.id, name="L1", coordinates=[[20, 40], [20, 60]],
            sides={a: "left", b: "right"}, now=NOW,
        )  # fmt: skip
        with pytest.raises(InvalidInputError):
            agreements.add_line(
                s, ag.id, name="L2", coordinates=[[20, 40]], sides={a: "left"}, now=NOW
            )
    svc = service(db)
    try:
        west = svc.create(a, body(volume(19.5, 50)))
        assert west.outcome == "accepted" and west.notice["conflicts"] == []
        across = svc.create(a, body(volume(20.0, 50)))
        (rec,) = across.notice["conflicts"]
        assert rec["kind"] == "line" and rec["overlap"]["line_name"] == "L1"
        with db.read() as s:
            theirs = NoticeService.list_conflicts(s, b)
        assert len(theirs) == 1 and theirs[0]["own_notice_id"] is None
        assert theirs[0]["counterpart"] == "Alpha"
    finally:
        svc.db.dispose()


def notice_change(notice_id: str) -> dict[str, Any]:
    """A valid ``notice`` event payload (deconflict.broker.events.NoticeChange)."""
    return {"id": notice_id, "version": 1, "state": "notified"}


def test_outbox_ids_increase_and_reads_are_per_party(world: Any) -> None:
    db, a, b = world
    with db.write() as s:
        ids = [outbox.publish(s, a, "notice", notice_change(f"n{i}")) for i in range(3)]
        outbox.publish(s, b, "notice", notice_change("n99"))
    assert ids == sorted(ids)
    with db.read() as s:
        got = outbox.read_after(s, a, ids[0])
        assert [e.payload["id"] for e in got] == ["n1", "n2"]
        assert outbox.last_id(s, a) == ids[-1]
        assert all(e.party_id == a for e in outbox.read_after(s, a, 0))
    with pytest.raises(ValueError), db.write() as s:
        outbox.publish(s, a, "gossip", {})


def test_rolled_back_events_are_never_delivered(world: Any) -> None:
    db, a, _ = world
    with pytest.raises(RuntimeError), db.write() as s:
        outbox.publish(s, a, "notice", notice_change("lost"))
        raise RuntimeError("the change failed")
    with db.read() as s:
        assert outbox.read_after(s, a, 0) == []


def test_notifier_wakes_waiters_from_another_thread() -> None:
    async def scenario() -> bool:
        notifier = outbox.OutboxNotifier()
        notifier.bind(asyncio.get_running_loop())
        ev = notifier.subscribe()
        await asyncio.to_thread(notifier.notify)
        await asyncio.wait_for(ev.wait(), timeout=5)
        notifier.unsubscribe(ev)
        return ev.is_set()

    assert asyncio.run(scenario())


def test_party_and_key_rules(world: Any) -> None:
    db, a, _ = world
    with db.write() as s:
        with pytest.raises(InvalidInputError):
            parties.create_party(s, "Alpha", now=NOW)  # duplicate
        with pytest.raises(InvalidInputError):
            parties.create_key(s, None, "viewer", now=NOW)  # party role needs a party
        with pytest.raises(InvalidInputError):
            parties.create_key(s, a, "operator", now=NOW)  # operators belong to no party
        info, key = parties.create_key(s, a, "viewer", now=NOW, expires_days=1)
    with db.read() as s:
        assert parties.authenticate(s, key, now=NOW).party_id == a
        with pytest.raises(Exception, match="invalid"):
            parties.authenticate(s, key, now=NOW + timedelta(days=2))
    with db.write() as s, pytest.raises(NotFoundError):
        parties.revoke_key(s, info.key_id, now=NOW, scope_party_id="someone-else")


def test_settings_and_urls(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECONFLICT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DECONFLICT_PORT", "9999")
    s = Settings()
    assert s.db_url == f"sqlite:///{tmp_path.as_posix()}/deconflict.sqlite3" and s.port == 9999
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_url("host=h port=5 user=u dbname=d") == "postgresql+psycopg://u@h:5/d"
    monkeypatch.setenv("DECONFLICT_PORT", "70000")
    with pytest.raises(ValueError):
        Settings()
