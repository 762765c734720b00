"""Need-to-know across the hotline and live alerts under a pseudonymous agreement.

Parties A and B share an agreement with pseudonyms; C shares none with anyone. A party must see
and address the other only by the pseudonym (the same label its strategic conflict records
show), never by the real name or party id behind it, in any hotline or alert response or in
the events queued for its stream; and it cannot reach a party it shares no agreement with (the
same 404 as a party that does not exist).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from broker_testkit import BrokerEnv, circle, notice
from sqlalchemy import select

from deconflict.broker import agreements, parties
from deconflict.live.alerts import Alert, Subject
from deconflict.live.engine import alert_record
from deconflict.store import live_sql
from deconflict.store.base import Database
from deconflict.store.tables import outbox
from deconflict.web.routes.hotline import hotline_tick

HOTLINE_EVENT_KINDS = ("message", "channel")


def _add_lonely_party(env: BrokerEnv) -> None:
    """Party C with a duty-officer key and no agreement."""
    db = Database(env.url)
    try:
        with db.write() as s:
            now = datetime.now(UTC)
            env.party_ids["C"] = parties.create_party(s, "Party C", now=now).id
            env.keys["C.duty_officer"] = parties.create_key(
                s, env.party_ids["C"], "duty_officer", now=now
            )[1]
    finally:
        db.dispose()


def _store_alert(env: BrokerEnv) -> str:
    """A conflict alert between an aircraft of A and one of B, as the live engine stores it."""
    now = datetime.now(UTC)
    a, b = env.party_ids["A"], env.party_ids["B"]
    alert = Alert(
        id="LA" + "0" * 12,
        kind="conflict",
        key=("conflict", "a-1", "b-1"),
        parties=(a, b),
        subjects=(Subject("aircraft", a, "a-1"), Subject("aircraft", b, "b-1")),
        severity="warning",
        t_in_s=90.0,
        metrics={"hmd_nm": 0.5, "vmd_ft": 0.0},
        raised_at=now,
        updated_at=now,
        last_seen_at=now,
        acked={},
    )
    db = Database(env.url)
    try:
        with db.write() as s:
            live_sql.save_alerts(s, [(alert_record(alert), alert.parties)])
    finally:
        db.dispose()
    return alert.id


def _outbox(env: BrokerEnv, who: str, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    db = Database(env.url)
    try:
        with db.read() as s:
            rows = s.execute(
                select(outbox.c.kind, outbox.c.payload).where(
                    outbox.c.party_id == env.party_ids[who], outbox.c.kind.in_(kinds)
                )
            ).all()
    finally:
        db.dispose()
    return [{"kind": r.kind, "payload": r.payload} for r in rows]


def _label(env: BrokerEnv, viewer: str, other: str) -> str:
    db = Database(env.url)
    try:
        with db.read() as s:
            return agreements.display_name(s, env.party_ids[viewer], env.party_ids[other])
    finally:
        db.dispose()


def test_hotline_and_alerts_never_show_the_real_name_behind_a_pseudonym(make_env: Any) -> None:
    env: BrokerEnv = make_env(pseudonyms=True)
    c = env.client
    # the label each side knows the other by is the counterpart of its conflict records
    c.post("/v1/notices", json=notice(circle(10.0, 50.0)), headers=env.h("A.duty_officer"))
    b_notice = c.post(
        "/v1/notices", json=notice(circle(10.0, 50.0)), headers=env.h("B.duty_officer")
    )
    b_as_a_knows = _label(env, "A", "B")
    a_as_b_knows = _label(env, "B", "A")
    assert b_as_a_knows.startswith("party-") and a_as_b_knows.startswith("party-")
    assert b_notice.json()["conflicts"][0]["counterpart"] == a_as_b_knows
    (a_conflict,) = c.get("/v1/conflicts", headers=env.h("A.viewer")).json()
    assert a_conflict["counterpart"] == b_as_a_knows
    alert_id = _store_alert(env)

    seen: dict[str, list[str]] = {"A": [], "B": []}

    def call(who: str, method: str, url: str, body: Any = None, status: int = 200) -> Any:
        r = c.request(method, url, headers=env.h(f"{who}.duty_officer"), json=body)
        assert r.status_code == status, (method, url, r.status_code, r.text)
        seen[who].append(r.text)
        return r.json()

    fields = {"subject": "intentions"}
    sent = call(
        "A",
        "POST",
        "/v1/hotline/messages",
        {
            "recipient": b_as_a_knows,
            "template": "query",
            "fields": fields,
            "precedence": "flash",
            "subject": "traffic",
            "attachment": {"kind": "alert", "ref": alert_id},
        },
        201,
    )
    assert sent["recipient"] == {"id": b_as_a_knows, "name": b_as_a_knows}
    assert sent["sender"]["id"] == env.party_ids["A"]  # own identity is the viewer's own
    mid, thread = sent["id"], sent["thread_id"]
    # B also has the thread the broker opened for the advisory conflict: pick A's
    (b_thread,) = [t for t in call("B", "GET", "/v1/hotline/threads") if t["id"] == thread]
    assert b_thread["other_party"] == {"id": a_as_b_knows, "name": a_as_b_knows}
    got = call("B", "GET", f"/v1/hotline/messages/{mid}?lang=ru")
    assert got["sender"]["name"] == a_as_b_knows
    call("B", "POST", f"/v1/hotline/messages/{mid}/ack", {"answer": "will_comply"}, 201)
    reply = call(
        "B",
        "POST",
        "/v1/hotline/messages",
        {
            "recipient": got["sender"]["id"],  # reply to the id the message shows
            "template": "query",
            "fields": fields,
            "thread_id": thread,
        },
        201,
    )
    assert reply["recipient"]["name"] == a_as_b_knows
    for who in ("A", "B"):
        call(who, "GET", "/v1/hotline/threads")
        call(who, "GET", f"/v1/hotline/messages?thread={thread}&lang=en")
        call(who, "GET", "/v1/hotline/messages?lang=ru")
        call(who, "GET", f"/v1/hotline/messages/{mid}")
        call(who, "GET", "/v1/hotline/channels")
        call(who, "GET", "/v1/hotline/ladder")
    call("A", "GET", f"/v1/hotline/channels/{b_as_a_knows}")
    suspended = call(
        "A", "POST", f"/v1/hotline/channels/{b_as_a_knows}/suspend", {"reason": "drill"}
    )
    assert suspended["other_party"]["name"] == b_as_a_knows
    call("B", "GET", f"/v1/hotline/channels/{a_as_b_knows}")
    call(
        "B",
        "POST",
        "/v1/hotline/messages",
        {"recipient": a_as_b_knows, "template": "query", "fields": fields},
        201,
    )  # queued while suspended
    call("A", "POST", f"/v1/hotline/channels/{b_as_a_knows}/restore")
    # the operator (who knows every party) sets communications checks; the tick issues one
    settings = {
        "comm_check": {
            "anchor": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "interval_s": 3600,
            "answer_within_s": 600,
        }
    }
    r = c.put(
        f"/v1/hotline/channels/{env.party_ids['A']}/{env.party_ids['B']}/settings",
        json=settings,
        headers=env.h("operator"),
    )
    assert r.status_code == 200, r.text
    db = Database(env.url)
    try:
        assert hotline_tick(db, datetime.now(UTC))[1]["issued"] == 1
        # a missed check (later) raises an alarm on both sides, naming nobody's real name
        assert hotline_tick(db, datetime.now(UTC) + timedelta(minutes=15))[1]["missed"] == 2
    finally:
        db.dispose()
    call("B", "POST", f"/v1/hotline/channels/{a_as_b_knows}/comm-checks/1/answer")
    # incidents: named by pseudonym, shown by pseudonym
    incident = call(
        "A",
        "POST",
        "/v1/incidents",
        {
            "category": "airprox",
            "other_parties": [b_as_a_knows],
            "time_of_event": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "position": {"lat_deg": 50.0, "lon_deg": 10.0},
            "hmd_nm": 0.5,
            "summary": "close pass",
        },
        201,
    )
    iid = incident["id"]
    call("B", "POST", f"/v1/incidents/{iid}/responses", {"statement": "seen"})
    call("A", "POST", f"/v1/incidents/{iid}/close")
    closed = call("B", "POST", f"/v1/incidents/{iid}/close")
    assert closed["state"] == "closed"
    assert {p["name"] for p in closed["parties"]} == {a_as_b_knows, "Party B"}
    for who in ("A", "B"):
        call(who, "GET", "/v1/incidents")
        call(who, "GET", f"/v1/incidents/{iid}")
    # live alerts: the other party by its pseudonym
    for who, other_label in (("A", b_as_a_knows), ("B", a_as_b_knows)):
        (view,) = call(who, "GET", "/v1/alerts?state=all")
        assert [o["party"] for o in view["others"]] == [other_label]
        assert other_label in view["parties"]
    acked = call("A", "POST", f"/v1/alerts/{alert_id}/ack")
    assert acked["acknowledged"] and acked["others"][0]["party"] == b_as_a_knows

    # nothing any response or hotline event gave A names B (or gives its id), and vice versa
    for who, other in (("A", "B"), ("B", "A")):
        events = json.dumps(_outbox(env, who, HOTLINE_EVENT_KINDS))
        assert '"message"' in events or "message_delivered" in events
        for text in [*seen[who], events]:
            assert f"Party {other}" not in text
            assert env.party_ids[other] not in text
    hotline_alarms = [
        e for e in _outbox(env, "A", ("alert",)) if "alert" not in e["payload"]
    ]  # escalation / comm-check alarms of the hotline (the live engine's are its own)
    assert "Party B" not in json.dumps(hotline_alarms)


def test_messaging_a_party_without_a_shared_agreement_is_not_found(make_env: Any) -> None:
    env: BrokerEnv = make_env(pseudonyms=True)
    _add_lonely_party(env)
    c = env.client
    fields = {"subject": "other"}

    def send(who: str, recipient: str) -> Any:
        body = {"recipient": recipient, "template": "query", "fields": fields}
        return c.post("/v1/hotline/messages", json=body, headers=env.h(f"{who}.duty_officer"))

    missing = send("A", "Party Z")
    assert missing.status_code == 404
    shape = {k: v for k, v in missing.json().items() if k != "detail"}
    refused = [
        send("A", "Party C"),  # exists, no shared agreement
        send("A", env.party_ids["C"]),
        send("C", "Party A"),
        send("C", env.party_ids["A"]),
        send("A", "Party B"),  # shared agreement, but B is known to A only by its pseudonym
        send("A", env.party_ids["B"]),
        send("C", _label(env, "A", "B")),  # someone else's pseudonym
    ]
    for r in refused:
        assert r.status_code == 404, r.text
        assert {k: v for k, v in r.json().items() if k != "detail"} == shape
    for who, ref in (("A", "Party C"), ("C", "Party A"), ("A", "Party B")):
        url = f"/v1/hotline/channels/{ref}"
        assert c.get(url, headers=env.h(f"{who}.duty_officer")).status_code == 404
        r = c.post(f"{url}/suspend", json={"reason": "x"}, headers=env.h(f"{who}.duty_officer"))
        assert r.status_code == 404
    incident = {
        "category": "airprox",
        "other_parties": ["Party C"],
        "time_of_event": datetime.now(UTC).isoformat(),
        "position": {"lat_deg": 50.0, "lon_deg": 10.0},
    }
    r = c.post("/v1/incidents", json=incident, headers=env.h("A.duty_officer"))
    assert r.status_code == 404
    # nothing was stored or pushed, and the real recipient works by pseudonym
    assert _outbox(env, "C", HOTLINE_EVENT_KINDS) == []
    assert c.get("/v1/hotline/threads", headers=env.h("A.viewer")).json() == []
    assert send("A", _label(env, "A", "B")).status_code == 201


def test_without_pseudonyms_parties_are_addressed_and_shown_by_name(make_env: Any) -> None:
    env: BrokerEnv = make_env(pseudonyms=False)
    body = {"recipient": "Party B", "template": "query", "fields": {"subject": "other"}}
    r = env.client.post("/v1/hotline/messages", json=body, headers=env.h("A.duty_officer"))
    assert r.status_code == 201, r.text
    assert r.json()["recipient"] == {"id": env.party_ids["B"], "name": "Party B"}
    by_id = {**body, "recipient": env.party_ids["B"]}
    r = env.client.post("/v1/hotline/messages", json=by_id, headers=env.h("A.duty_officer"))
    assert r.status_code == 201
    (thread,) = env.client.get("/v1/hotline/threads", headers=env.h("B.viewer")).json()[:1]
    assert thread["other_party"]["name"] == "Party A"
