"""An advisory plan conflict opens one hotline thread between the two parties (SQLite and PG).

DOMAIN.md section 6 (3): in advisory mode the broker records the conflict, notifies both sides
and opens a hotline thread. The thread's message carries only what the conflict record discloses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hotline_api_kit import HotlineEnv, hotline_env
from sqlalchemy import select

from deconflict.broker import agreements
from deconflict.broker.outbox import read_after
from deconflict.store.base import metadata

BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=100)

# blue's plan: a distinctive polygon far outside red's circle, a long window and a wide band
# containing red's, a rare category, a priority value and a title.
A_VERTS = [
    [9.713571, 49.611113],
    [10.391733, 49.627919],
    [10.377791, 50.381157],
    [9.69613, 50.37777],
]
A_LOWER, A_UPPER, A_PRIORITY, A_TITLE = 1234.5, 23456.5, 937, "Operation Zanzibar-7Q"
A_START, A_END = BASE - timedelta(hours=3, minutes=17), BASE + timedelta(hours=6, minutes=41)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _blue_notice() -> dict[str, Any]:
    volume = {
        "footprint": {"type": "polygon", "coordinates": [[*A_VERTS, A_VERTS[0]]]},
        "altitude": {"lower": A_LOWER, "upper": A_UPPER, "reference": "ft_amsl"},
        "start": _iso(A_START),
        "end": _iso(A_END),
    }
    return {"title": A_TITLE, "category": "missile_launch", "priority": A_PRIORITY,
            "volumes": [volume]}  # fmt: skip


def _red_notice(lower: float = 5000, upper: float = 9000, priority: int = 0) -> dict[str, Any]:
    volume = {
        "footprint": {"type": "circle", "center": [10.05, 50.0], "radius_nm": 3},
        "altitude": {"lower": lower, "upper": upper, "reference": "ft_amsl"},
        "start": _iso(BASE),
        "end": _iso(BASE + timedelta(hours=2)),
    }
    return {"title": "t", "category": "exercise", "priority": priority, "volumes": [volume]}


@pytest.fixture(params=[False, True], ids=["names", "pseudonyms"])
def env(db_url: str, request: pytest.FixtureRequest) -> Iterator[HotlineEnv]:
    with hotline_env(db_url, pseudonyms=request.param) as e:
        yield e


def _post(env: HotlineEnv, who: str, body: dict[str, Any]) -> Any:
    return env.client.post("/v1/notices", json=body, headers=env.h(who))


def _threads(env: HotlineEnv, who: str) -> list[dict[str, Any]]:
    r = env.client.get("/v1/hotline/threads", headers=env.h(f"{who}.viewer"))
    assert r.status_code == 200, r.text
    return list(r.json())


def _messages(env: HotlineEnv, who: str, thread_id: str, lang: str) -> list[dict[str, Any]]:
    r = env.client.get(
        f"/v1/hotline/messages?thread_id={thread_id}&lang={lang}", headers=env.h(f"{who}.viewer")
    )
    assert r.status_code == 200, r.text
    return list(r.json())


def _conflicts(env: HotlineEnv, who: str) -> list[dict[str, Any]]:
    r = env.client.get("/v1/conflicts?status=all", headers=env.h(f"{who}.viewer"))
    assert r.status_code == 200, r.text
    return list(r.json())


def _walk(obj: Any) -> list[Any]:
    if isinstance(obj, dict):
        return [x for k, v in obj.items() for x in [k, *_walk(v)]]
    if isinstance(obj, list):
        return [x for v in obj for x in _walk(v)]
    return [obj]


def test_overlap_opens_one_thread_seen_by_both_and_leaking_nothing(env: HotlineEnv) -> None:
    a = _post(env, "blue.duty_officer", _blue_notice())
    assert a.status_code == 201, a.text
    a_id = a.json()["id"]
    b = _post(env, "red.duty_officer", _red_notice())
    assert b.status_code == 201 and len(b.json()["conflicts"]) == 1
    red_conflict = b.json()["conflicts"][0]
    (blue_conflict,) = _conflicts(env, "blue")

    red_threads, blue_threads = _threads(env, "red"), _threads(env, "blue")
    assert len(red_threads) == len(blue_threads) == 1
    assert red_threads[0]["id"] == blue_threads[0]["id"]
    thread_id = red_threads[0]["id"]
    # each side sees the other by the name its agreement dictates (the conflict's counterpart)
    assert red_threads[0]["other_party"]["name"] == red_conflict["counterpart"]
    assert blue_threads[0]["other_party"]["name"] == blue_conflict["counterpart"]
    assert _threads(env, "green") == []

    seen: list[Any] = [red_threads]
    for who, conflict in (("red", red_conflict), ("blue", blue_conflict)):
        texts = {}
        for lang in ("en", "ru"):
            (msg,) = _messages(env, who, thread_id, lang)
            assert msg["template"] == "request_to_deconflict"
            assert msg["precedence"] == "priority"
            assert msg["attachment"] == {"kind": "conflict", "ref": conflict["id"]}
            assert msg["fields"]["conflict_ref"] == conflict["id"]
            overlap = conflict["overlap"]
            assert msg["fields"]["altitude"]["lower_ft"] == overlap["alt_lower_ft"]
            assert msg["fields"]["altitude"]["upper_ft"] == overlap["alt_upper_ft"]
            assert set(msg["fields"]) == {"conflict_ref", "altitude", "valid_from", "valid_to"}
            texts[lang] = msg["rendered"]["text"]
            if who == "red":
                seen.append(msg)
        assert "Request to deconflict" in texts["en"]
        assert "Request to deconflict" not in texts["ru"] and texts["ru"] != texts["en"]
    # the sender is the submitting side (red), the recipient blue, each shown by its label
    (blue_msg,) = _messages(env, "blue", thread_id, "en")
    assert blue_msg["recipient"]["id"] == env.ids["blue"]
    assert blue_msg["sender"]["name"] == blue_conflict["counterpart"]

    # on the streams and in the ledger like any message
    with env.db.read() as s:
        for who in ("red", "blue"):
            events = read_after(s, env.ids[who], 0)
            assert any(e.kind == "message" and e.payload.get("type") in ("message",
                       "message_delivered") for e in events)  # fmt: skip
            seen.extend(e.payload for e in events if who == "red")
        ledger = metadata.tables["ledger_entries"]
        kinds = list(s.execute(select(ledger.c.kind)).scalars())
        assert "conflict.recorded" in kinds and "message.sent" in kinds
        assert kinds.index("conflict.recorded") < kinds.index("message.sent")

    # red learns nothing of blue's notice beyond the overlap
    blob = json.dumps(seen, default=str)
    for secret in (a_id, A_TITLE, "missile_launch", _iso(A_START), _iso(A_END)):
        assert secret not in blob, secret
    scalars = [x for x in _walk(seen) if isinstance(x, int | float) and not isinstance(x, bool)]
    assert A_PRIORITY not in scalars and A_LOWER not in scalars and A_UPPER not in scalars
    for lon, lat in A_VERTS:
        assert str(lon) not in blob and str(lat) not in blob


def test_amendment_reuses_the_thread(env: HotlineEnv) -> None:
    assert _post(env, "blue.duty_officer", _blue_notice()).status_code == 201
    b = _post(env, "red.duty_officer", _red_notice())
    assert b.status_code == 201
    amended = env.client.put(
        f"/v1/notices/{b.json()['id']}",
        json={**_red_notice(lower=6000, upper=8000), "version": b.json()["version"]},
        headers=env.h("red.duty_officer"),
    )
    assert amended.status_code == 200, amended.text
    assert len(amended.json()["conflicts"]) == 1
    new_conflict = amended.json()["conflicts"][0]
    for who in ("red", "blue"):
        threads = _threads(env, who)
        assert len(threads) == 1 and threads[0]["messages"] == 2
    msgs = _messages(env, "red", _threads(env, "red")[0]["id"], "en")
    assert msgs[-1]["attachment"]["ref"] == new_conflict["id"]
    assert msgs[-1]["fields"]["altitude"]["lower_ft"] == 6000
    assert _threads(env, "green") == []


def test_f3548_refusal_opens_nothing(env: HotlineEnv) -> None:
    with env.db.write() as s:
        agreements.create_agreement(
            s,
            "strict",
            policy="f3548",
            parties=[env.ids["blue"], env.ids["red"]],
            now=datetime.now(UTC),
        )
    assert _post(env, "blue.duty_officer", _blue_notice()).status_code == 201
    r = _post(env, "red.duty_officer", _red_notice(priority=0))
    assert r.status_code == 409, r.text
    assert env.count("hotline_threads") == 0 and env.count("hotline_messages") == 0
    for who in ("blue", "red", "green"):
        assert _threads(env, who) == []


def test_third_party_overlap_has_its_own_thread_only(env: HotlineEnv) -> None:
    assert _post(env, "blue.duty_officer", _blue_notice()).status_code == 201
    assert _post(env, "red.duty_officer", _red_notice()).status_code == 201
    assert _threads(env, "green") == []
    r = env.client.get("/v1/hotline/messages", headers=env.h("green.viewer"))
    assert r.status_code == 200 and r.json() == []
    with env.db.read() as s:
        events = read_after(s, env.ids["green"], 0)
    assert not [e for e in events if e.kind == "message"]
