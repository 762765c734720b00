"""Attacks 6-9: operator trust, ledger pseudonyms, keys in logs, bad paths, headers, file
modes and hotline floods, against a real broker process."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import httpx
from adv_kit import World, notice, square

from deconflict.broker.events import validate_event
from deconflict.ledger import Verifier, verify_bundle


def test_operator_cannot_mint_keys_for_a_party_that_has_an_admin(world: World) -> None:
    """After a party's first admin key, only its own admins issue keys; the operator's first key
    was announced to the party (event and ledger)."""
    pid = world.party_ids["B"]
    r = world.post("operator", f"/v1/parties/{pid}/keys", {"role": "duty_officer"})
    assert r.status_code in (403, 409), r.text
    r = world.post("B.party_admin", f"/v1/parties/{pid}/keys", {"role": "viewer"})
    assert r.status_code == 201, r.text
    r = world.get("B.party_admin", "/v1/key-events")
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert any(e["issued_by"] == "operator" and e["role"] == "party_admin" for e in events)
    assert all("key" not in e for e in events)


def _replay(world: World, who: str) -> list[tuple[int, str, dict[str, Any]]]:
    """Every event of ``who``'s party stream from the start: ``(id, kind, data)``, read until
    the first keepalive comment (sent after ``sse_heartbeat_s`` = 0.5 s of silence: the replay
    is over), bounded at 10 s."""
    frames: list[tuple[int, str, dict[str, Any]]] = []
    frame: dict[str, str] = {}
    deadline = time.monotonic() + 10.0
    timeout = httpx.Timeout(5.0, read=1.0)
    with httpx.Client(base_url=world.server.base_url, timeout=timeout) as c:
        try:
            with c.stream("GET", "/v1/stream?last_event_id=0", headers=world.h(who)) as r:
                assert r.status_code == 200
                for line in r.iter_lines():
                    if line.startswith(":"):
                        break
                    if line.startswith(("id: ", "event: ", "data: ")):
                        name, _, value = line.partition(": ")
                        frame[name] = value
                    elif not line and "data" in frame:
                        frames.append((int(frame["id"]), frame["event"], json.loads(frame["data"])))
                        frame = {}
                    if time.monotonic() > deadline:
                        break
        except httpx.ReadTimeout:
            pass
    return frames


def test_every_key_issued_for_a_party_is_announced_on_its_stream_only(world: World) -> None:
    """Attack 6 (continued): the operator's first key and the party admins' keys each reach
    the party's own stream as ``event: key`` (with the ledger entry that records it); no other
    party's stream hears of them."""
    pid = world.party_ids["B"]
    r = world.post("B.party_admin", f"/v1/parties/{pid}/keys", {"role": "viewer"})
    assert r.status_code == 201, r.text
    new_key_id = r.json()["key_id"]
    b_keys = [e for e in _replay(world, "B.viewer") if e[1] == "key"]
    for event_id, kind, data in b_keys:
        validate_event(event_id, kind, data)
        assert "key" not in data  # the secret never travels on a stream
    by = {(d["issued_by"], d["role"]) for _, _, d in b_keys}
    assert ("operator", "party_admin") in by and ("party_admin", "viewer") in by, by
    (latest,) = [d for _, _, d in b_keys if d["key_id"] == new_key_id]
    proof = world.get("B.viewer", f"/v1/ledger/entries/{latest['ledger_index']}/proof")
    assert proof.status_code == 200, proof.text
    event = proof.json()["event"]
    assert event["kind"] == "key.issued" and event["payload"]["key_id"] == new_key_id
    b_key_ids = {d["key_id"] for _, _, d in b_keys}
    for _, kind, data in _replay(world, "A.viewer"):
        assert kind != "key" or data["key_id"] not in b_key_ids
        assert new_key_id not in json.dumps(data)


def _own_entries(
    world: World, who: str, kinds: tuple[str, ...]
) -> tuple[dict[str, Any], list[int]]:
    """``who``'s export bundle and the indices of its entries of ``kinds``."""
    r = world.get(who, "/v1/ledger/export")
    assert r.status_code == 200, r.text
    bundle = r.json()
    return bundle, [e["leaf"]["index"] for e in bundle["entries"] if e["event"]["kind"] in kinds]


def test_ledger_shows_counterparts_as_the_api_does_never_their_ids(world: World) -> None:
    """Attack 7: a party's proofs and exports of entries it shares with another party carry
    no id of that party (nor, under a pseudonymous agreement, its name), anywhere in the raw
    body; and the party still verifies its own entries offline."""
    ids = world.party_ids
    # A-B (agreement, names shown): a hotline message.
    r = world.post(
        "A.duty_officer",
        "/v1/hotline/messages",
        {
            "recipient": "Party B",
            "template": "cancellation",
            "fields": {"ref_message_id": "m-ledger", "reason": "weather"},
            "precedence": "routine",
            "subject": "ledger",
        },
    )
    assert r.status_code == 201, r.text
    # A-C (no agreement): a conflict.  C-D (pseudonymous agreement): a conflict.
    r = world.post(
        "operator",
        "/v1/agreements",
        {"name": "agreement CD", "policy": "advisory", "parties": [ids["C"], ids["D"]],
         "use_pseudonyms": True},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    for who, lon in (("A", 20.0), ("C", 20.05), ("C", 30.0), ("D", 30.05)):
        r = world.post(f"{who}.duty_officer", "/v1/notices", notice(square(lon, 20.0, 0.2)))
        assert r.status_code == 201, r.text
    head = world.get("A.viewer", "/v1/ledger/head").json()
    log_key = Verifier.from_vkey(head["log_key"])
    cases = (
        ("A", "B", [ids["B"]], ("message.sent",)),
        ("B", "A", [ids["A"]], ("message.sent",)),
        ("A", "C", [ids["C"]], ("conflict.recorded",)),
        ("C", "D", [ids["D"], "Party D"], ("conflict.recorded",)),
        ("D", "C", [ids["C"], "Party C"], ("conflict.recorded",)),
    )
    for viewer, other, secrets, kinds in cases:
        bundle, shared = _own_entries(world, f"{viewer}.viewer", kinds)
        assert shared, (viewer, other, kinds)
        report = verify_bundle(bundle, log_keys=[log_key])
        assert report.ok, report.failures
        bodies = [json.dumps(bundle)]
        for index in shared:
            proof = world.get(f"{viewer}.viewer", f"/v1/ledger/entries/{index}/proof")
            assert proof.status_code == 200, proof.text
            event = proof.json()["event"]
            assert ids[viewer] in event["parties"] and len(event["parties"]) == 2
            bodies.append(proof.text)
        for body in bodies:
            for secret in secrets:
                assert secret not in body, (viewer, other, secret)
    # The pseudonym shown in D's ledger is the one D's other routes show for C.
    _, shared = _own_entries(world, "D.viewer", ("conflict.recorded",))
    event = world.get("D.viewer", f"/v1/ledger/entries/{shared[-1]}/proof").json()["event"]
    conflicts = world.get("D.viewer", "/v1/conflicts").json()
    shown = json.dumps(conflicts)
    (label,) = [p for p in event["parties"] if p != ids["D"]]
    assert label.startswith("party-") and label in shown


def test_api_keys_never_reach_the_log(world: World) -> None:
    key = world.keys["A.viewer"]
    secret = key.rsplit("_", 1)[-1]
    with httpx.Client(base_url=world.server.base_url, timeout=5.0) as c:
        try:
            with c.stream("GET", f"/v1/stream?access_token={key}") as r:
                assert r.status_code in (200, 400, 401), r.status_code
        except httpx.ReadTimeout:
            pass
    time.sleep(0.3)
    assert secret not in world.server.log()


def test_bad_static_paths_are_404(world: World) -> None:
    for path in (
        "/static/js/app.js%00.png",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%2f..%2fsettings.py",
        "/static/js/%ff%fe",
    ):
        r = world.client.get(path)
        assert r.status_code == 404, (path, r.status_code)


def test_security_headers_on_the_dashboard(world: World) -> None:
    r = world.client.get("/")
    assert r.status_code == 200
    assert "default-src" in r.headers.get("content-security-policy", "")
    assert r.headers.get("x-frame-options", "").upper() == "DENY"
    assert r.headers.get("x-content-type-options") == "nosniff"
    r = world.client.get("/health")
    assert r.headers.get("x-content-type-options") == "nosniff"


def test_sqlite_files_are_private(world: World) -> None:
    if not world.server.db_url.startswith("sqlite"):
        return
    path = Path(world.server.db_url.removeprefix("sqlite:///"))
    for p in (path, Path(f"{path}-wal")):
        if p.exists():
            mode = stat.S_IMODE(os.stat(p).st_mode)
            assert mode & 0o077 == 0, (p, oct(mode))


def test_flash_flood_is_rate_limited(world: World) -> None:
    """200 FLASH messages as fast as possible: a bounded number accepted, then 429 problems."""
    body = {
        "recipient": "Party B",
        "template": "cancellation",
        "fields": {"ref_message_id": "m-001", "reason": "weather"},
        "precedence": "flash",
        "subject": "flood",
    }
    statuses = []
    last = None
    for _ in range(200):
        last = world.post("A.duty_officer", "/v1/hotline/messages", body)
        statuses.append(last.status_code)
        if last.status_code == 429:
            break
    assert statuses.count(201) <= 20, statuses.count(201)
    assert last is not None and last.status_code == 429, statuses[-3:]
    assert last.headers.get("content-type", "").startswith("application/problem+json")
    assert "retry-after" in last.headers
    assert not any(s >= 500 for s in statuses)
