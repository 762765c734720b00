"""The hotline API end to end over a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hotline_api_kit import HotlineEnv, hotline_env
from hotline_examples import EXAMPLES

from deconflict.broker import audit
from deconflict.broker.outbox import read_after
from deconflict.ledger import Signer
from deconflict.ledger.bundle import verify_bundle
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


def _send(env: HotlineEnv, sender: str = "blue", recipient: str = "red", **over: Any) -> Any:
    body: dict[str, Any] = {
        "recipient": env.ids[recipient],
        "template": "safety_of_flight_warning",
        "fields": EXAMPLES["safety_of_flight_warning"],
        "precedence": "flash",
        "subject": "Collision risk over the Euphrates",
        "free_text": "Two aircraft at FL240 heading east",
    }
    body.update(over)
    return env.client.post("/v1/hotline/messages", json=body, headers=env.h(sender))


def _events(env: HotlineEnv, party: str) -> list[Any]:
    with env.db.read() as s:
        return read_after(s, env.ids[party], 0)


def test_templates_listed_with_schema_and_title(lite_env: HotlineEnv) -> None:
    r = lite_env.client.get("/v1/hotline/templates?lang=ru", headers=lite_env.h("red.viewer"))
    assert r.status_code == 200
    by_name = {t["name"]: t for t in r.json()}
    assert len(by_name) == 13  # 12 standard templates + coordinated_guidance (issue 13)
    assert by_name["comm_check"]["title"] == "Проверка связи"
    assert by_name["query"]["schema"]["additionalProperties"] is False
    bad = lite_env.client.get("/v1/hotline/templates?lang=fr", headers=lite_env.h("red.viewer"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.lang"


def test_send_persists_pushes_and_renders_both_languages(lite_env: HotlineEnv) -> None:
    r = _send(lite_env)
    assert r.status_code == 201, r.text
    msg = r.json()
    assert msg["state"] == "delivered" and msg["precedence"] == "flash"
    sent = datetime.fromisoformat(msg["delivered_at"])
    assert datetime.fromisoformat(msg["ack_deadline"]) == sent + 5 * MIN
    assert msg["free_text_untranslated"] is True
    # pushed to the recipient's stream (and a delivery notice to the sender)
    red_events = [e for e in _events(lite_env, "red") if e.kind == "message"]
    assert [e.payload["message"]["id"] for e in red_events] == [msg["id"]]
    assert all(e.payload["type"] != "message" for e in _events(lite_env, "green"))
    # both views in their own language
    en = lite_env.client.get(
        f"/v1/hotline/messages/{msg['id']}?lang=en", headers=lite_env.h("blue.viewer")
    )
    ru = lite_env.client.get(
        f"/v1/hotline/messages/{msg['id']}?lang=ru", headers=lite_env.h("red.viewer")
    )
    assert en.json()["rendered"]["title"] == "Safety-of-flight warning"
    assert ru.json()["rendered"]["title"] == "Предупреждение о безопасности полётов"
    assert "От: blue" in ru.json()["rendered"]["text"]
    assert ru.json()["rendered"]["untranslated"] is True
    # a third party cannot see it
    g = lite_env.client.get(f"/v1/hotline/messages/{msg['id']}", headers=lite_env.h("green"))
    assert g.status_code == 404
    threads = lite_env.client.get("/v1/hotline/threads", headers=lite_env.h("red")).json()
    assert threads[0]["subject"] == "Collision risk over the Euphrates"
    assert threads[0]["awaiting_my_ack"] == 1
    listed = lite_env.client.get(
        f"/v1/hotline/messages?thread={msg['thread_id']}&lang=ru", headers=lite_env.h("red")
    ).json()
    assert [m["id"] for m in listed] == [msg["id"]]


def test_bad_input_is_a_clear_4xx_and_changes_nothing(lite_env: HotlineEnv) -> None:
    before = (
        lite_env.count("hotline_messages"),
        lite_env.count("outbox"),
        lite_env.count("ledger_entries"),
    )
    fields = {**EXAMPLES["safety_of_flight_warning"], "colour": "red", "hazard": "ufo"}
    r = _send(lite_env, fields=fields)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = {e["field"]: e["reason"] for e in r.json()["errors"]}
    assert errors["fields.colour"] == "unknown field"
    assert "fields.hazard" in errors
    r = _send(lite_env, free_text="x" * 4001)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "free_text"
    r = _send(lite_env, template="greeting")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "template"
    r = _send(lite_env, precedence="urgent")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "precedence"
    r = _send(lite_env, recipient="blue")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "recipient"
    r = _send(lite_env, unknown_key=1)
    assert r.status_code == 422
    viewer = lite_env.client.post(
        "/v1/hotline/messages",
        json={"recipient": "red", "template": "comm_check", "fields": EXAMPLES["comm_check"]},
        headers=lite_env.h("blue.viewer"),
    )
    assert viewer.status_code == 403
    after = (
        lite_env.count("hotline_messages"),
        lite_env.count("outbox"),
        lite_env.count("ledger_entries"),
    )
    assert after == before


def test_ack_rules_over_http(env: HotlineEnv) -> None:
    msg = _send(env).json()
    url = f"/v1/hotline/messages/{msg['id']}/ack"
    before = (env.count("hotline_acks"), env.count("ledger_entries"))
    own = env.client.post(url, json={"answer": "received"}, headers=env.h("blue"))
    assert own.status_code == 403
    third = env.client.post(url, json={"answer": "received"}, headers=env.h("green"))
    assert third.status_code == 404  # not even visible to a third party
    unable = env.client.post(url, json={"answer": "unable"}, headers=env.h("red"))
    assert unable.status_code == 422 and unable.json()["errors"][0]["field"] == "reason"
    assert (env.count("hotline_acks"), env.count("ledger_entries")) == before
    ok = env.client.post(url, json={"answer": "received"}, headers=env.h("red"))
    assert ok.status_code == 201 and ok.json()["answer"] == "received"
    again = env.client.post(url, json={"answer": "received"}, headers=env.h("red"))
    assert again.status_code == 409
    assert env.count("hotline_acks") == before[0] + 1
    wilco = env.client.post(url, json={"answer": "will_comply"}, headers=env.h("red"))
    assert wilco.status_code == 201
    back = env.client.post(url, json={"answer": "understood"}, headers=env.h("red"))
    assert back.status_code == 409
    view = env.client.get(f"/v1/hotline/messages/{msg['id']}?lang=ru", headers=env.h("blue"))
    assert view.json()["state"] == "will_comply"
    assert [a["answer"] for a in view.json()["acks"]] == ["received", "will_comply"]
    assert "«Будет выполнено»" in view.json()["rendered"]["acks"][1]


def test_flash_escalates_then_will_comply_and_the_log_agrees(env: HotlineEnv) -> None:
    msg = _send(env).json()
    deadline = datetime.fromisoformat(msg["ack_deadline"])
    assert hotline_tick(env.db, deadline - timedelta(seconds=1))[0] == 0
    assert hotline_tick(env.db, deadline)[0] == 1
    assert hotline_tick(env.db, deadline + MIN)[0] == 0  # idempotent
    assert hotline_tick(env.db, deadline + 5 * MIN)[0] == 1  # senior duty officer
    red_alerts = [e.payload for e in _events(env, "red") if e.kind == "alert"]
    assert [a["target"] for a in red_alerts] == ["duty_officer", "senior_duty_officer"]
    sender_told = [e.payload for e in _events(env, "blue") if e.payload.get("type") == "escalation"]
    assert [a["level"] for a in sender_told] == [0, 1]
    url = f"/v1/hotline/messages/{msg['id']}/ack"
    assert (
        env.client.post(url, json={"answer": "will_comply"}, headers=env.h("red")).status_code
        == 201
    )
    assert hotline_tick(env.db, deadline + 60 * MIN)[0] == 0  # answered: no further step
    blue_view = env.client.get(f"/v1/hotline/messages/{msg['id']}", headers=env.h("blue")).json()
    red_view = env.client.get(f"/v1/hotline/messages/{msg['id']}", headers=env.h("red")).json()
    for view in (blue_view, red_view):
        assert [e["target"] for e in view["escalations"]] == ["duty_officer", "senior_duty_officer"]
        assert [a["answer"] for a in view["acks"]] == ["will_comply"]
    # both parties export their view of the ledger; each verifies and sees the same sequence
    signer = Signer.generate("test.invalid/ledger")
    with env.db.write() as s:
        head = audit.sign_head(s, signer, now=datetime.now(UTC))
    sequences = {}
    for party in ("blue", "red"):
        with env.db.read() as s:
            bundle = audit.export(s, env.ids[party], head=head, log_key=signer.verifier)
        report = verify_bundle(bundle, log_keys=[signer.verifier])
        assert report.ok, report.failures
        events = [
            e["event"] for e in bundle["entries"] if e["event"]["kind"].startswith("message.")
        ]
        sequences[party] = [(e["kind"], e["payload"].get("level")) for e in events]
        assert all(e["payload"]["message_id"] == msg["id"] for e in events)
    assert (
        sequences["blue"]
        == sequences["red"]
        == [
            ("message.sent", None),
            ("message.delivered", None),
            ("message.escalated", 0),
            ("message.escalated", 1),
            ("message.acknowledged", None),
        ]
    )
    with env.db.read() as s:
        bundle = audit.export(s, env.ids["green"], head=head, log_key=signer.verifier)
    assert not [e for e in bundle["entries"] if e["event"]["kind"].startswith("message.")]
