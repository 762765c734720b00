"""Attacks 6-9: operator trust, ledger pseudonyms, keys in logs, bad paths, headers, file
modes and hotline floods, against a real broker process."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import httpx
from adv_kit import World, notice, square


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


def test_ledger_routes_show_pseudonyms_not_party_ids(world: World) -> None:
    assert world.post("B.duty_officer", "/v1/notices", notice(square(5.0, 5.0, 0.2))).is_success
    ids = set(world.party_ids.values())
    r = world.get("B.duty_officer", "/v1/ledger/head")
    assert r.status_code == 200, r.text
    size = int(r.json().get("size", r.json().get("tree_size", 1)))
    texts = []
    for i in range(max(0, size - 3), size):
        texts.append(world.get("B.duty_officer", f"/v1/ledger/entries/{i}/proof").text)
    texts.append(world.get("B.duty_officer", "/v1/ledger/export").text)
    for text in texts:
        leaked = [p for p in ids if p in text and p != world.party_ids["B"]]
        assert not leaked, text[:500]


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
