"""Authorization matrix generated from the route table: every endpoint x every role x own/other.

``ACL`` is the expected access of every (method, path) the app serves. A route missing from it
fails :func:`test_every_route_has_an_acl_entry`, so no endpoint can be added without deciding who
may call it. For each entry and each principal (anonymous; viewer, duty officer, party admin
of party A; the operator) the request must be 401 (anonymous), 403 (role not allowed) or pass
authorization (any other status below 500). For routes addressing a party-scoped resource,
party B's allowed roles get the same 404 as for a missing resource.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from broker_testkit import BrokerEnv, circle, notice
from starlette.routing import Mount, Route

import deconflict.web.app as web_app
from deconflict.broker import parties
from deconflict.store.base import Database

PARTY = frozenset({"viewer", "duty_officer", "party_admin"})
WRITER = frozenset({"duty_officer", "party_admin"})
ADMIN = frozenset({"party_admin"})
OPERATOR = frozenset({"operator"})
EVERYONE = PARTY | OPERATOR
PUBLIC: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Acl:
    """Who may call a route; ``scoped`` names the party-owned resource in the path (if any)."""

    roles: frozenset[str]
    public: bool = False
    scoped: bool = False
    query: str = ""
    body: Any = field(default_factory=dict)  # sent by every caller (may be invalid: 422 is fine)
    other_body: Any = None  # a body that would succeed on an own resource (for the 404 check)


ACL: dict[tuple[str, str], Acl] = {
    ("GET", "/health"): Acl(PUBLIC, public=True),
    ("GET", "/ready"): Acl(PUBLIC, public=True),
    ("GET", "/metrics"): Acl(OPERATOR),
    ("GET", "/openapi.json"): Acl(PUBLIC, public=True),
    ("GET", "/docs"): Acl(PUBLIC, public=True),
    ("GET", "/"): Acl(PUBLIC, public=True),
    ("GET", "/static/{path:path}"): Acl(PUBLIC, public=True),
    ("GET", "/i18n/{lang}.json"): Acl(PUBLIC, public=True),
    ("GET", "/v1/me"): Acl(EVERYONE),
    ("GET", "/v1/parties"): Acl(OPERATOR),
    ("POST", "/v1/parties"): Acl(OPERATOR, body={"name": 1}),
    ("GET", "/v1/parties/{party_id}/keys"): Acl(OPERATOR | ADMIN, scoped=True),
    ("POST", "/v1/parties/{party_id}/keys"): Acl(
        OPERATOR | ADMIN, scoped=True, body={"role": "x"}, other_body={"role": "viewer"}
    ),
    ("POST", "/v1/keys/{key_id}/revoke"): Acl(OPERATOR | ADMIN, scoped=True),
    ("PUT", "/v1/parties/{party_id}/signing-key"): Acl(
        ADMIN, scoped=True, body={"key_id": 5}, other_body={"key_id": None, "public_key": None}
    ),
    ("POST", "/v1/agreements"): Acl(OPERATOR, body={"name": ""}),
    ("GET", "/v1/agreements"): Acl(EVERYONE),
    ("POST", "/v1/agreements/{agreement_id}/lines"): Acl(OPERATOR, body={"name": ""}),
    ("GET", "/v1/agreements/{agreement_id}/lines"): Acl(EVERYONE),
    ("GET", "/v1/stream"): Acl(PARTY, query="last_event_id=-1"),
    ("POST", "/v1/notices"): Acl(WRITER, body={"volumes": []}),
    ("GET", "/v1/notices"): Acl(PARTY),
    ("GET", "/v1/notices/{notice_id}"): Acl(PARTY, scoped=True),
    ("PUT", "/v1/notices/{notice_id}"): Acl(
        WRITER, scoped=True, body={"version": 0}, other_body="amend"
    ),
    ("POST", "/v1/notices/{notice_id}/cancel"): Acl(
        WRITER, scoped=True, body={"version": 0}, other_body={"version": 1}
    ),
    ("GET", "/v1/conflicts"): Acl(PARTY),
    ("GET", "/v1/conflicts/{conflict_id}"): Acl(PARTY, scoped=True),
    # ledger: heads and consistency are public to every key; entries are per party
    ("GET", "/v1/ledger/head"): Acl(EVERYONE),
    ("GET", "/v1/ledger/entries/{index}/proof"): Acl(PARTY, scoped=True),
    ("GET", "/v1/ledger/consistency"): Acl(EVERYONE, query="first=1&second=1"),
    ("PUT", "/v1/ledger/witness"): Acl(ADMIN, body={"vkey": 1}),
    ("POST", "/v1/ledger/cosign"): Acl(WRITER, body={"cosignature": 1}),
    ("GET", "/v1/ledger/export"): Acl(PARTY),
    # hotline: bodies are deliberately invalid, so allowed callers change nothing
    ("GET", "/v1/hotline/templates"): Acl(PARTY),
    ("GET", "/v1/hotline/threads"): Acl(PARTY),
    ("GET", "/v1/hotline/messages"): Acl(PARTY),
    ("POST", "/v1/hotline/messages"): Acl(WRITER, body={"x": 1}),
    ("GET", "/v1/hotline/messages/{message_id}"): Acl(PARTY),
    ("POST", "/v1/hotline/messages/{message_id}/ack"): Acl(WRITER, body={"x": 1}),
    ("GET", "/v1/hotline/channels"): Acl(PARTY),
    ("GET", "/v1/hotline/channels/{party}"): Acl(PARTY),
    ("POST", "/v1/hotline/channels/{party}/suspend"): Acl(WRITER, body={"x": 1}),
    ("POST", "/v1/hotline/channels/{party}/restore"): Acl(WRITER, body={"x": 1}),
    ("POST", "/v1/hotline/channels/{party}/comm-checks/{sequence}/answer"): Acl(
        WRITER, body={"x": 1}
    ),
    ("PUT", "/v1/hotline/channels/{party_a}/{party_b}/settings"): Acl(OPERATOR, body={"x": 1}),
    ("GET", "/v1/hotline/ladder"): Acl(PARTY),
    ("PUT", "/v1/hotline/ladder"): Acl(ADMIN, body={"x": 1}),
    ("POST", "/v1/incidents"): Acl(WRITER, body={"x": 1}),
    ("GET", "/v1/incidents"): Acl(PARTY),
    ("GET", "/v1/incidents/{incident_id}"): Acl(PARTY),
    ("POST", "/v1/incidents/{incident_id}/responses"): Acl(WRITER, body={"x": 1}),
    ("POST", "/v1/incidents/{incident_id}/close"): Acl(WRITER, body={"x": 1}),
    ("POST", "/v1/incidents/{incident_id}/reject-closure"): Acl(WRITER, body={"x": 1}),
    # live picture
    ("POST", "/v1/tracks"): Acl(WRITER, body={"x": 1}),
    ("GET", "/v1/picture"): Acl(PARTY),
    ("GET", "/v1/alerts"): Acl(PARTY),
    ("POST", "/v1/alerts/{alert_id}/ack"): Acl(WRITER, body={"x": 1}),
    ("GET", "/v1/aircraft/{aircraft_id}/bands"): Acl(PARTY),
    # trust model (issue 11): accountability lists and agreement settings
    ("GET", "/v1/disclosures"): Acl(PARTY),
    ("GET", "/v1/key-events"): Acl(PARTY),
    ("GET", "/v1/operator/events"): Acl(OPERATOR),
    ("GET", "/v1/admin/live/stats"): Acl(OPERATOR),
    ("GET", "/v1/agreements/{agreement_id}/settings"): Acl(EVERYONE),
    ("PUT", "/v1/agreements/{agreement_id}/settings"): Acl(OPERATOR, body={"x": 1}),
    # private mode relay (issue 15): only the two members of a private agreement get past 404
    ("PUT", "/v1/private/keys"): Acl(WRITER, body={"x": 1}),
    ("GET", "/v1/private/agreements"): Acl(PARTY),
    ("PUT", "/v1/private/agreements/{agreement_id}/mode"): Acl(OPERATOR, body={"x": 1}),
    ("GET", "/v1/private/agreements/{agreement_id}/keys"): Acl(PARTY),
    ("PUT", "/v1/private/agreements/{agreement_id}/set"): Acl(WRITER, body={"x": 1}),
    ("GET", "/v1/private/agreements/{agreement_id}/set"): Acl(PARTY),
    ("PUT", "/v1/private/agreements/{agreement_id}/sealed/{kind}"): Acl(WRITER, body={"x": 1}),
    ("GET", "/v1/private/agreements/{agreement_id}/sealed/{kind}"): Acl(PARTY),
    ("PUT", "/v1/private/agreements/{agreement_id}/found"): Acl(WRITER, body={"x": 1}),
}

# Swagger UI's assets are mounted only when `make assets` vendored them (see web/app.py).
if (Path(web_app.__file__).resolve().parent / "docs_assets" / "swagger-ui-bundle.js").is_file():
    ACL[("GET", "/docs-assets/{path:path}")] = Acl(PUBLIC, public=True)

PRINCIPALS = ("anonymous", "A.viewer", "A.duty_officer", "A.party_admin", "operator")


def _walk(routes: list[Any], prefix: str, out: set[tuple[str, str]]) -> None:
    for route in routes:
        if isinstance(route, Route):  # APIRoute too
            for method in route.methods or ():
                if method != "HEAD":
                    out.add((method, prefix + route.path))
        elif isinstance(route, Mount):
            out.add(("GET", prefix + route.path + "/{path:path}"))
        elif hasattr(route, "original_router"):  # FastAPI >= 0.160 included router
            context = route.include_context
            _walk(list(route.original_router.routes), prefix + context.prefix, out)
        else:
            raise AssertionError(f"unknown route kind {type(route).__name__}")


def app_routes(env: BrokerEnv) -> set[tuple[str, str]]:
    """Every (method, path template) the app serves, read from its route table."""
    out: set[tuple[str, str]] = set()
    _walk(list(env.client.app.routes), "", out)  # type: ignore[attr-defined]
    return out


@dataclass
class Resources:
    ids: dict[str, str]


@pytest.fixture
def resources(env: BrokerEnv) -> Resources:
    c = env.client
    a = c.post("/v1/notices", json=notice(circle(10, 50)), headers=env.h("A.duty_officer"))
    c.post("/v1/notices", json=notice(circle(10, 50)), headers=env.h("B.duty_officer"))
    conflict = c.get("/v1/conflicts", headers=env.h("A.viewer")).json()[0]
    db = Database(env.url)
    try:
        with db.write() as s:
            from datetime import UTC, datetime

            spare, _ = parties.create_key(s, env.party_ids["A"], "viewer", now=datetime.now(UTC))
    finally:
        db.dispose()
    return Resources(
        {
            "party_id": env.party_ids["A"],
            "key_id": spare.key_id,
            "agreement_id": env.agreement_id,
            "notice_id": a.json()["id"],
            "conflict_id": conflict["id"],
            "index": "0",  # the ledger's first entry: A's notice (A's alone)
            "path:path": "index.html",
            "message_id": "0" * 32,
            "incident_id": "0" * 32,
            "alert_id": "0" * 32,
            "aircraft_id": "NOSUCH1",
            "party": env.party_ids["B"],
            "party_a": env.party_ids["A"],
            "party_b": env.party_ids["B"],
            "sequence": "1",
            "kind": "answer",
            "lang": "en",
        }
    )


def _url(path: str, res: Resources, query: str) -> str:
    for name, value in res.ids.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no test resource for {path}"
    return path + (f"?{query}" if query else "")


def _call(env: BrokerEnv, method: str, url: str, who: str, body: Any) -> Any:
    headers = {} if who == "anonymous" else env.h(who)
    if method in ("GET", "DELETE"):
        return env.client.request(method, url, headers=headers)
    return env.client.request(method, url, headers=headers, json=body)


def test_every_route_has_an_acl_entry(env: BrokerEnv) -> None:
    missing = sorted(app_routes(env) - set(ACL))
    assert missing == [], f"add these routes to ACL in {__file__}: {missing}"
    stale = sorted(set(ACL) - app_routes(env))
    assert stale == [], f"ACL lists routes the app no longer serves: {stale}"


def test_role_matrix(env: BrokerEnv, resources: Resources) -> None:
    failures: list[str] = []
    for (method, path), acl in sorted(ACL.items()):
        url = _url(path, resources, acl.query)
        for who in PRINCIPALS:
            role = who.split(".")[-1]
            r = _call(env, method, url, who, acl.body)
            if acl.public:
                ok = r.status_code < 500
            elif who == "anonymous":
                ok = r.status_code == 401
            elif role in acl.roles:
                ok = r.status_code not in (401, 403) and r.status_code < 500
            else:
                ok = r.status_code == 403
            if not ok:
                failures.append(f"{method} {path} as {who}: {r.status_code} {r.text[:120]}")
            if r.status_code >= 400:
                ctype = r.headers.get("content-type", "")
                if not ctype.startswith("application/problem+json"):
                    failures.append(f"{method} {path} as {who}: {r.status_code} not problem+json")
    assert failures == []


def test_other_partys_resources_are_not_found(env: BrokerEnv, resources: Resources) -> None:
    failures: list[str] = []
    for (method, path), acl in sorted(ACL.items()):
        if not acl.scoped:
            continue
        url = _url(path, resources, acl.query)
        body = acl.other_body
        if body == "amend":
            body = {**notice(circle(10, 50)), "version": 1}
        for role in sorted(acl.roles - OPERATOR):
            r = _call(env, method, url, f"B.{role}", body)
            if r.status_code != 404:
                failures.append(f"{method} {path} as B.{role}: {r.status_code} {r.text[:120]}")
    assert failures == []
    # and A's resources are intact afterwards
    nid = resources.ids["notice_id"]
    mine = env.client.get(f"/v1/notices/{nid}", headers=env.h("A.viewer")).json()
    assert mine["version"] == 1 and mine["state"] == "notified"
