"""The strategic workflow through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from typing import Any

from broker_testkit import BrokerEnv, circle, notice
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from deconflict.broker.signing import signed_message


def post(env: BrokerEnv, who: str, body: dict[str, Any], **headers: str) -> Any:
    return env.client.post("/v1/notices", json=body, headers=env.h(who, **headers))


def test_advisory_overlap_is_recorded_for_both_sides_only_with_the_overlap(env: BrokerEnv) -> None:
    a = post(env, "A.duty_officer", notice(circle(10.0, 50.0), priority=7))
    assert a.status_code == 201, a.text
    assert a.json()["conflicts"] == [] and a.json()["version"] == 1
    b = post(env, "B.duty_officer", notice(circle(10.1, 50.0), category="air_operations"))
    assert b.status_code == 201, b.text
    (mine,) = b.json()["conflicts"]
    assert mine["counterpart"] == "Party A" and mine["own_notice_id"] == b.json()["id"]
    assert mine["policy"] == "advisory" and mine["outcome"] == "recorded"
    assert set(mine["overlap"]) >= {"geometry", "alt_lower_ft", "alt_upper_ft", "start", "end"}
    assert "margins" not in mine["overlap"]
    (theirs,) = env.client.get("/v1/conflicts", headers=env.h("A.viewer")).json()
    assert theirs["counterpart"] == "Party B" and theirs["own_notice_id"] == a.json()["id"]
    assert theirs["overlap"] == mine["overlap"]
    # A never learns B's notice id, category or priority
    text = str(theirs)
    assert b.json()["id"] not in text and "air_operations" not in text
    # separate in altitude: no conflict
    c = post(env, "B.duty_officer", notice(circle(10.0, 50.0, lower_ft=20_000, upper_ft=30_000)))
    assert c.status_code == 201 and c.json()["conflicts"] == []


def test_pseudonyms_hide_party_names(make_env: Any) -> None:
    env = make_env(pseudonyms=True)
    post(env, "A.duty_officer", notice(circle(10.0, 50.0)))
    b = post(env, "B.duty_officer", notice(circle(10.0, 50.0)))
    label = b.json()["conflicts"][0]["counterpart"]
    assert label.startswith("party-") and "Party A" not in b.text
    own = env.client.get("/v1/agreements", headers=env.h("A.viewer")).json()[0]["own_pseudonym"]
    assert own == label


def test_f3548_refuses_the_losing_write_with_the_overlap_and_stores_nothing(make_env: Any) -> None:
    env = make_env(policy="f3548")
    assert post(env, "A.duty_officer", notice(circle(10.0, 50.0), priority=5)).status_code == 201
    r = post(env, "B.duty_officer", notice(circle(10.05, 50.0), priority=5))
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    (ov,) = r.json()["overlaps"]
    assert ov["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert env.client.get("/v1/notices", headers=env.h("B.viewer")).json() == []
    assert env.client.get("/v1/conflicts", headers=env.h("A.viewer")).json() == []
    # priority comes from the agreement (issue 11), never from the request
    selfish = post(env, "B.duty_officer", notice(circle(10.05, 50.0), priority=1000))
    assert selfish.status_code == 409
    r = env.client.put(
        f"/v1/agreements/{env.agreement_id}/settings",
        json={"priorities": {"parties": {env.party_ids["B"]: 6}}},
        headers=env.h("operator"),
    )
    assert r.status_code == 200, r.text
    high = post(env, "B.duty_officer", notice(circle(10.05, 50.0), priority=0))
    assert high.status_code == 201 and high.json()["conflicts"][0]["policy"] == "f3548"


def test_idempotency_key_returns_the_first_result(env: BrokerEnv) -> None:
    body = notice(circle(20.0, 40.0))
    first = post(env, "A.duty_officer", body, **{"Idempotency-Key": "k-1"})
    again = post(env, "A.duty_officer", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(env.client.get("/v1/notices", headers=env.h("A.viewer")).json()) == 1
    other = post(env, "A.duty_officer", notice(circle(21.0, 40.0)), **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    # the same key used by another party is that party's own key
    assert post(env, "B.duty_officer", body, **{"Idempotency-Key": "k-1"}).status_code == 201


def test_amend_with_stale_version_is_409_and_changes_nothing(env: BrokerEnv) -> None:
    created = post(env, "A.duty_officer", notice(circle(30.0, 10.0))).json()
    nid = created["id"]
    upd = {**notice(circle(30.2, 10.0)), "version": 1}
    r1 = env.client.put(f"/v1/notices/{nid}", json=upd, headers=env.h("A.duty_officer"))
    assert r1.status_code == 200 and r1.json()["version"] == 2
    stale = {**notice(circle(31.0, 10.0)), "version": 1}
    r2 = env.client.put(f"/v1/notices/{nid}", json=stale, headers=env.h("A.duty_officer"))
    assert r2.status_code == 409 and r2.json()["current_version"] == 2
    now = env.client.get(f"/v1/notices/{nid}", headers=env.h("A.viewer")).json()
    assert now["version"] == 2 and now["volumes"][0]["footprint"]["center"] == [30.2, 10.0]


def test_amend_and_cancel_resolve_conflicts_for_both_sides(env: BrokerEnv) -> None:
    a = post(env, "A.duty_officer", notice(circle(5.0, 5.0))).json()
    b = post(env, "B.duty_officer", notice(circle(5.0, 5.0))).json()
    assert len(env.client.get("/v1/conflicts", headers=env.h("A.viewer")).json()) == 1
    moved = {**notice(circle(8.0, 5.0)), "version": 1}
    r = env.client.put(f"/v1/notices/{b['id']}", json=moved, headers=env.h("B.duty_officer"))
    assert r.status_code == 200 and r.json()["conflicts"] == []
    for who in ("A.viewer", "B.viewer"):
        assert env.client.get("/v1/conflicts", headers=env.h(who)).json() == []
        resolved = env.client.get("/v1/conflicts?status=resolved", headers=env.h(who)).json()
        assert len(resolved) == 1
    back = {**notice(circle(5.0, 5.0)), "version": 2}
    env.client.put(f"/v1/notices/{b['id']}", json=back, headers=env.h("B.duty_officer"))
    assert len(env.client.get("/v1/conflicts", headers=env.h("A.viewer")).json()) == 1
    r = env.client.post(
        f"/v1/notices/{a['id']}/cancel", json={"version": 1}, headers=env.h("A.duty_officer")
    )
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert env.client.get("/v1/conflicts", headers=env.h("B.viewer")).json() == []


def test_not_yours_and_not_found_are_the_same_404(env: BrokerEnv) -> None:
    a = post(env, "A.duty_officer", notice(circle(1.0, 1.0))).json()
    mine = env.client.get(f"/v1/notices/{a['id']}", headers=env.h("B.viewer"))
    missing = env.client.get("/v1/notices/" + "0" * 32, headers=env.h("B.viewer"))
    assert mine.status_code == missing.status_code == 404
    assert mine.json()["detail"].replace(a["id"], "X") == missing.json()["detail"].replace(
        "0" * 32, "X"
    )
    r = env.client.post(
        f"/v1/notices/{a['id']}/cancel", json={"version": 1}, headers=env.h("B.duty_officer")
    )
    assert r.status_code == 404
    assert env.client.get("/v1/notices", headers=env.h("operator")).status_code == 403
    assert post(env, "A.viewer", notice(circle(1.0, 1.0))).status_code == 403


def test_late_notice_is_accepted_and_flagged_to_both_sides(env: BrokerEnv) -> None:
    post(env, "A.duty_officer", notice(circle(60.0, 60.0, start_h=5), category="air_operations"))
    late = post(env, "B.duty_officer", notice(circle(60.0, 60.0, start_h=5), category="exercise"))
    assert late.status_code == 201 and late.json()["late"] is True
    assert late.json()["conflicts"][0]["late"] is True
    assert env.client.get("/v1/conflicts", headers=env.h("A.viewer")).json()[0]["late"] is True
    on_time = post(env, "A.duty_officer", notice(circle(0.0, 0.0, start_h=5), category="transit"))
    assert on_time.json()["late"] is False


def test_probing_is_rate_limited_with_retry_after(make_env: Any) -> None:
    env = make_env(policy="f3548", probe_max_refusals=3)
    post(env, "A.duty_officer", notice(circle(10.0, 50.0), priority=9))
    codes = [post(env, "B.duty_officer", notice(circle(10.0, 50.0))).status_code for _ in range(4)]
    assert codes == [409, 409, 409, 429]
    r = post(env, "B.duty_officer", notice(circle(-70.0, -30.0)))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.json()["retry_after_s"] >= 1
    assert post(env, "A.duty_officer", notice(circle(-70.0, -30.0))).status_code == 201


def test_signed_submissions(env: BrokerEnv) -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    pid = env.party_ids["A"]
    r = env.client.put(
        f"/v1/parties/{pid}/signing-key",
        json={"key_id": "a-2026", "public_key": base64.b64encode(raw).decode()},
        headers=env.h("A.party_admin"),
    )
    assert r.status_code == 200 and r.json()["signing_key_id"] == "a-2026"
    body = notice(circle(3.0, 3.0))
    unsigned = post(env, "A.duty_officer", body)
    assert unsigned.status_code == 422
    assert unsigned.json()["errors"][0]["field"] == "header.Deconflict-Signature"
    sig = base64.b64encode(key.sign(signed_message("POST", "/v1/notices", body))).decode()
    ok = post(env, "A.duty_officer", body, **{"Deconflict-Signature": f"keyid=a-2026,sig={sig}"})
    assert ok.status_code == 201 and ok.json()["signed"] is True
    other = notice(circle(4.0, 3.0))
    bad = post(env, "A.duty_officer", other, **{"Deconflict-Signature": f"keyid=a-2026,sig={sig}"})
    assert bad.status_code == 422 and "does not verify" in bad.json()["errors"][0]["reason"]


def test_index_is_rebuilt_from_the_database_at_start(make_env: Any) -> None:
    from fastapi.testclient import TestClient

    from deconflict.web.app import create_app

    env = make_env(policy="f3548")
    assert post(env, "A.duty_officer", notice(circle(10.0, 50.0), priority=3)).status_code == 201
    with TestClient(create_app(env.settings)) as fresh:
        r = fresh.post(
            "/v1/notices",
            json=notice(circle(10.0, 50.0), priority=3),
            headers=env.h("B.duty_officer"),
        )
        assert r.status_code == 409
