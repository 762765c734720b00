"""Channels, communications checks, ladders and incidents over the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hotline_api_kit import HotlineEnv, hotline_env
from hotline_examples import EXAMPLES

from deconflict.broker.outbox import read_after
from deconflict.web.routes.hotline import hotline_tick

MIN = timedelta(minutes=1)


@pytest.fixture
def env(db_url: str) -> Iterator[HotlineEnv]:
    """On SQLite and PostgreSQL."""
    with hotline_env(db_url) as e:
        yield e


@pytest.fixture
def lite_env(tmp_path: Path) -> Iterator[HotlineEnv]:
    """SQLite only, for behaviour that does not depend on the database backend."""
    with hotline_env(f"sqlite:///{(tmp_path / 'db.sqlite3').as_posix()}") as e:
        yield e


def _send(env: HotlineEnv, precedence: str = "routine", template: str = "comm_check") -> Any:
    return env.client.post(
        "/v1/hotline/messages",
        json={
            "recipient": "red",
            "template": template,
            "fields": EXAMPLES[template],
            "precedence": precedence,
        },
        headers=env.h("blue"),
    )


def test_suspension_queues_and_restoration_releases(env: HotlineEnv) -> None:
    red = env.ids["red"]
    r = env.client.post(
        f"/v1/hotline/channels/{env.ids['blue']}/suspend",
        json={"reason": "consultations with capital"},
        headers=env.h("red"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "suspended"
    seen_by_blue = env.client.get(f"/v1/hotline/channels/{red}", headers=env.h("blue.viewer"))
    assert seen_by_blue.json()["state"] == "suspended"
    assert seen_by_blue.json()["events"][0]["reason"] == "consultations with capital"
    routine = _send(env).json()
    flash = _send(env, "flash", "safety_of_flight_warning").json()
    assert routine["state"] == flash["state"] == "queued"
    assert routine["ack_deadline"] is None
    # the recipient neither sees nor can acknowledge queued messages
    assert env.client.get("/v1/hotline/messages", headers=env.h("red")).json() == []
    ack = env.client.post(
        f"/v1/hotline/messages/{flash['id']}/ack", json={"answer": "received"}, headers=env.h("red")
    )
    assert ack.status_code == 422
    # blue cannot lift red's suspension
    wrong = env.client.post(f"/v1/hotline/channels/{red}/restore", headers=env.h("blue"))
    assert wrong.status_code == 409
    ok = env.client.post(f"/v1/hotline/channels/{env.ids['blue']}/restore", headers=env.h("red"))
    assert ok.json()["state"] == "restored" and ok.json()["queued_messages"] == 0
    delivered = [
        e.payload["message"]["id"]
        for e in read_after_all(env, "red")
        if e.payload.get("type") == "message"
    ]
    assert delivered == [flash["id"], routine["id"]]  # FLASH released first
    listed = env.client.get("/v1/hotline/messages", headers=env.h("red")).json()
    assert {m["state"] for m in listed} == {"delivered"}
    assert all(m["ack_deadline"] for m in listed)
    channel_events = [
        e.payload["event"] for e in read_after_all(env, "blue") if e.kind == "channel"
    ]
    assert channel_events == ["suspended", "restored"]


def read_after_all(env: HotlineEnv, party: str) -> list[Any]:
    with env.db.read() as s:
        return read_after(s, env.ids[party], 0)


def test_comm_checks_missed_degrade_and_answers_restore(env: HotlineEnv) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    anchor = now - 10 * MIN
    pair = f"/v1/hotline/channels/{env.ids['blue']}/{env.ids['red']}/settings"
    settings = env.client.put(
        pair,
        json={
            "ack_deadlines_s": {"flash": 120},
            "comm_check": {"anchor": anchor.isoformat(), "interval_s": 60, "answer_within_s": 30},
        },
        headers=env.h("operator"),
    )
    assert settings.status_code == 200, settings.text
    assert settings.json()["ack_deadlines_s"]["flash"] == 120
    member = env.client.put(
        pair, json={"ack_deadlines_s": {"flash": 60}}, headers=env.h("blue.party_admin")
    )
    assert member.status_code == 403
    bad = env.client.put(
        pair, json={"ack_deadlines_s": {"flash": 9000, "immediate": 600}}, headers=env.h("operator")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ack_deadlines_s"
    # check 1 is issued at the anchor and nobody answers it
    assert hotline_tick(env.db, anchor)[1] == {"issued": 1, "missed": 0}
    assert hotline_tick(env.db, anchor + 10 * timedelta(seconds=1))[1] == {"issued": 0, "missed": 0}
    assert hotline_tick(env.db, anchor + 40 * timedelta(seconds=1))[1] == {"issued": 0, "missed": 2}
    assert hotline_tick(env.db, anchor + 50 * timedelta(seconds=1))[1] == {"issued": 0, "missed": 0}
    for party in ("blue", "red"):
        alarms = [e.payload for e in read_after_all(env, party) if e.kind == "alert"]
        assert {a["party"] for a in alarms} == {env.ids["blue"], env.ids["red"]}
        assert {a["type"] for a in alarms} == {"comm_check_missed"}
    state = env.client.get(f"/v1/hotline/channels/{env.ids['red']}", headers=env.h("blue"))
    assert state.json()["state"] == "degraded"
    # now (real clock) the latest slot is issued; both answer in time: the line is proven
    assert hotline_tick(env.db, datetime.now(UTC))[1] == {"issued": 1, "missed": 0}
    sequence = [
        e.payload for e in read_after_all(env, "red") if e.payload.get("type") == "comm_check"
    ][-1]["sequence"]
    assert sequence >= 11
    first = env.client.post(
        f"/v1/hotline/channels/{env.ids['red']}/comm-checks/{sequence}/answer",
        headers=env.h("blue"),
    )
    assert first.status_code == 200 and first.json()["state"] == "degraded"
    again = env.client.post(
        f"/v1/hotline/channels/{env.ids['red']}/comm-checks/{sequence}/answer",
        headers=env.h("blue"),
    )
    assert again.status_code == 422
    second = env.client.post(
        f"/v1/hotline/channels/{env.ids['blue']}/comm-checks/{sequence}/answer",
        headers=env.h("red"),
    )
    assert second.json()["state"] == "active"
    assert [e["event"] for e in second.json()["events"]] == ["check_passed", "degraded"]


def test_flash_deadline_from_channel_settings_and_ladder(lite_env: HotlineEnv) -> None:
    lite_env.client.put(
        f"/v1/hotline/channels/{lite_env.ids['blue']}/{lite_env.ids['red']}/settings",
        json={"ack_deadlines_s": {"flash": 60}},
        headers=lite_env.h("operator"),
    )
    ladder = lite_env.client.put(
        "/v1/hotline/ladder",
        json={"steps": [{"target": "senior_duty_officer", "after_s": 0},
                        {"target": "alarm_all_clients", "after_s": 30}]},
        headers=lite_env.h("red.party_admin"),
    )  # fmt: skip
    assert ladder.status_code == 200, ladder.text
    assert lite_env.client.put(
        "/v1/hotline/ladder", json={"steps": [{"target": "duty_officer", "after_s": 0}]},
        headers=lite_env.h("red"),
    ).status_code == 403  # fmt: skip
    bad = lite_env.client.put(
        "/v1/hotline/ladder",
        json={"steps": [{"target": "duty_officer", "after_s": 60},
                        {"target": "flag_officer", "after_s": 0}]},
        headers=lite_env.h("red.party_admin"),
    )  # fmt: skip
    assert bad.status_code == 422 and "must not decrease" in bad.json()["detail"]
    msg = _send(lite_env, "flash", "safety_of_flight_warning").json()
    deadline = datetime.fromisoformat(msg["ack_deadline"])
    assert deadline == datetime.fromisoformat(msg["delivered_at"]) + MIN
    assert hotline_tick(lite_env.db, deadline + 30 * timedelta(seconds=1))[0] == 2
    view = lite_env.client.get(
        f"/v1/hotline/messages/{msg['id']}", headers=lite_env.h("red")
    ).json()
    assert [e["target"] for e in view["escalations"]] == [
        "senior_duty_officer",
        "alarm_all_clients",
    ]


def test_background_ticker_escalates_on_its_own(tmp_path: Path) -> None:
    # the real-clock task, once (SQLite); every other test drives hotline_tick explicitly
    with hotline_env(f"sqlite:///{(tmp_path / 'db.sqlite3').as_posix()}", tick_s=0.05) as env:
        env.client.put(
            f"/v1/hotline/channels/{env.ids['blue']}/{env.ids['red']}/settings",
            json={"ack_deadlines_s": {"flash": 1}},
            headers=env.h("operator"),
        )
        msg = _send(env, "flash", "safety_of_flight_warning").json()
        view: dict[str, Any] = {}
        for _ in range(200):  # up to ~10 s; normally about one second
            view = env.client.get(f"/v1/hotline/messages/{msg['id']}", headers=env.h("blue")).json()
            if view["escalations"]:
                break
            time.sleep(0.05)
        assert view["escalations"][0]["target"] == "duty_officer"


def _incident(env: HotlineEnv) -> dict[str, Any]:
    return {
        "category": "unsafe_intercept",
        "other_parties": ["red"],
        "time_of_event": "2026-01-02T08:14:00Z",
        "position": {"lat_deg": 35.4, "lon_deg": 35.9},
        "hmd_nm": 0.05,
        "vmd_ft": 100,
        "summary": "Intercept within 300 ft",
        "evidence": [
            {"track_ref": "T-12", "points": [
                {"time": "2026-01-02T08:13:00Z", "lat_deg": 35.4, "lon_deg": 35.9, "alt_ft": 21000},
            ]},
        ],
    }  # fmt: skip


def test_incident_life_cycle_over_http(env: HotlineEnv) -> None:
    r = env.client.post("/v1/incidents", json=_incident(env), headers=env.h("blue"))
    assert r.status_code == 201, r.text
    inc = r.json()
    assert inc["state"] == "open" and inc["report"]["evidence"][0]["track_ref"] == "T-12"
    assert env.client.get(f"/v1/incidents/{inc['id']}", headers=env.h("green")).status_code == 404
    url = f"/v1/incidents/{inc['id']}"
    resp = env.client.post(
        f"{url}/responses", json={"statement": "We kept 1 NM"}, headers=env.h("red")
    )
    assert resp.json()["state"] == "responded"
    assert (
        env.client.post(f"{url}/close", headers=env.h("blue")).json()["state"] == "closure_proposed"
    )
    rej = env.client.post(f"{url}/reject-closure", json={"reason": "facts"}, headers=env.h("red"))
    assert rej.json()["state"] == "responded"
    env.client.post(f"{url}/close", headers=env.h("blue"))
    closed = env.client.post(f"{url}/close", headers=env.h("red")).json()
    assert closed["state"] == "closed"
    assert [h["act"] for h in closed["history"]] == [
        "filed", "responded", "closure_agreed", "closure_rejected", "closure_agreed",
        "closure_agreed", "closed",
    ]  # fmt: skip
    late = env.client.post(f"{url}/responses", json={"statement": "x"}, headers=env.h("red"))
    assert late.status_code == 409
    listed = env.client.get("/v1/incidents", headers=env.h("red.viewer")).json()
    assert [i["id"] for i in listed] == [inc["id"]]


def test_bad_incident_names_every_field(lite_env: HotlineEnv) -> None:
    body = {**_incident(lite_env), "category": "rudeness", "hmd_nm": -1, "colour": "x"}
    r = lite_env.client.post("/v1/incidents", json=body, headers=lite_env.h("blue"))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"category", "hmd_nm", "colour"}
    unknown = lite_env.client.post(
        "/v1/incidents",
        json={**_incident(lite_env), "other_parties": ["nobody"]},
        headers=lite_env.h("blue"),
    )
    # an unknown party is "not found", like a party without a shared agreement (NTK)
    assert unknown.status_code == 404
    assert lite_env.count("hotline_incidents") == 0


def test_incident_attaches_only_the_reporters_own_track_history(lite_env: HotlineEnv) -> None:
    from deconflict.store.live_sql import track_history

    event = datetime(2026, 1, 2, 8, 14, tzinfo=UTC)
    rows = []
    for party, aircraft, dlat in (("blue", "BLUE-1", 0.0), ("red", "RED-7", 0.01)):
        for k in range(-3, 4):
            rows.append(
                {
                    "party_id": lite_env.ids[party], "aircraft_id": aircraft,
                    "time_s": event.timestamp() + 30 * k, "lat_deg": 35.4 + dlat,
                    "lon_deg": 35.9 + 0.001 * k, "alt_ft": 21000.0, "gs_kt": 400.0,
                    "track_deg": 90.0, "vs_fpm": 0.0, "received_s": event.timestamp() + 30 * k,
                }
            )  # fmt: skip
    rows.append({**rows[0], "time_s": event.timestamp() - 3600, "received_s": 0.0})  # too early
    rows.append({**rows[0], "lat_deg": 36.4})  # 60 NM away
    with lite_env.db.write() as s:
        s.execute(track_history.insert(), rows)
    body = {**_incident(lite_env), "evidence_window_s": 60, "evidence_radius_nm": 5}
    r = lite_env.client.post("/v1/incidents", json=body, headers=lite_env.h("blue"))
    assert r.status_code == 201, r.text
    evidence = r.json()["report"]["evidence"]
    assert [e["track_ref"] for e in evidence] == ["T-12", "BLUE-1"]
    auto = evidence[1]
    assert auto["party"] == lite_env.ids["blue"]
    assert len(auto["points"]) == 5  # -60 s .. +60 s
    bad = lite_env.client.post(
        "/v1/incidents", json={**body, "evidence_window_s": 99999}, headers=lite_env.h("blue")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "evidence_window_s"
