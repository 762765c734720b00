"""The relay: need-to-know, bounded sizes, epochs; and a malicious broker (substituted or
replayed blinded sets, a wrong ledger entry, swapped keys) is detected by the clients."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from private_kit import PrivateBroker, clone, make_app, seed_private, split_example

from deconflict.broker import agreements, outbox
from deconflict.broker.events import validate_event
from deconflict.errors import InvalidInputError
from deconflict.formats.geojson import read_plan
from deconflict.private import psi
from deconflict.private.cells import Grid
from deconflict.private.client import RelayClient, push, sync
from deconflict.private.protocol import IntegrityError, PartyKeys, sign_statement
from deconflict.private.state import StateDir
from deconflict.store.base import Database

GRID = Grid(resolution=5, slot_s=1800, layer_ft=5000)


@dataclass
class Env:
    broker: PrivateBroker
    http: TestClient
    plans: dict[str, Any]
    tmp: Path

    def relay(self, who: str) -> RelayClient:
        return RelayClient("http://testserver", self.broker.keys[who], http=self.http)

    def state(self, name: str) -> StateDir:
        return StateDir(self.tmp / f"state_{name}")

    def push(self, name: str) -> list[dict[str, Any]]:
        return push(self.plans[name], self.relay(f"{name}.duty_officer"), self.state(name))

    def sync(self, name: str, reveal: bool = False, **options: Any) -> Any:
        return sync(self.relay(f"{name}.duty_officer"), self.state(name), reveal=reveal, **options)

    def sql(self, query: str, *args: Any) -> list[Any]:
        con = sqlite3.connect(self.broker.db_file)
        try:
            rows = list(con.execute(query, args))
            con.commit()
        finally:
            con.close()
        return rows


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> PrivateBroker:
    return seed_private(tmp_path_factory.mktemp("template"), GRID, names=("A", "B", "C"))


@pytest.fixture
def env(tmp_path: Path, template: PrivateBroker) -> Iterator[Env]:
    broker = clone(template, tmp_path)
    plans_a, plans_b, _ = split_example(tmp_path)
    plans = {
        "A": read_plan(plans_a.read_text()).volumes,
        "B": read_plan(plans_b.read_text()).volumes,
    }
    with TestClient(make_app(broker.settings)) as http:
        yield Env(broker, http, plans, tmp_path)


def _h(env: Env, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.broker.keys[who]}"}


def test_round_trip_finds_the_conflict(env: Env) -> None:
    assert env.push("A")[0]["epoch"] == 1
    env.push("B")
    assert env.sync("A").conflicts == []
    b = env.sync("B")
    a = env.sync("A")
    assert {c["own_volume"] for c in a.conflicts} >= {"BLUE-EX-1"}
    assert {c["own_volume"] for c in b.conflicts} >= {"RED-TR-1"}
    # an amendment (new epoch, fresh secrets) that cancels everything: no conflicts any more
    plans_a = env.plans["A"]
    env.plans["A"] = ()
    assert env.push("A")[0]["epoch"] == 2
    env.plans["A"] = plans_a
    env.sync("B")
    assert env.sync("A").conflicts == [] and env.sync("B").conflicts == []


def test_need_to_know_and_roles(env: Env) -> None:
    env.push("A")
    aid = env.broker.agreement_id
    c = _h(env, "C.duty_officer")
    for path in ("keys", "set", "sealed/answer", "sealed/reveal"):
        r = env.http.get(f"/v1/private/agreements/{aid}/{path}", headers=c)
        assert r.status_code == 404, path
    assert env.http.get("/v1/private/agreements", headers=c).json() == {"agreements": []}
    r = env.http.put(
        f"/v1/private/agreements/{aid}/sealed/answer",
        json={"epoch": 1, "blob": "AAAA"},
        headers=c,
    )
    assert r.status_code == 404
    # a viewer may read but not upload
    r = env.http.put(
        f"/v1/private/agreements/{aid}/sealed/answer",
        json={"epoch": 1, "blob": "AAAA"},
        headers=_h(env, "B.viewer"),
    )
    assert r.status_code == 403
    listed = env.http.get("/v1/private/agreements", headers=_h(env, "B.viewer")).json()
    assert listed["agreements"][0]["counterpart_epoch"] == 1
    assert "party_id" not in json.dumps(listed)


def _set_body(keys: PartyKeys, aid: str, epoch: int, n: int = 1024) -> dict[str, Any]:
    blob = psi.random_points(n)
    digest = psi.set_digest(aid, keys.public_json()["sign_public"], epoch, blob)
    statement = {
        "kind": "set",
        "protocol": psi.PROTOCOL,
        "agreement": aid,
        "epoch": epoch,
        "count": n,
        "digest": digest,
    }
    return {
        "protocol": psi.PROTOCOL,
        "epoch": epoch,
        "count": n,
        "blinded": base64.b64encode(blob).decode(),
        "digest": digest,
        "signature": sign_statement(keys, statement),
    }


def test_bad_uploads_are_refused_with_the_field(env: Env) -> None:
    aid = env.broker.agreement_id
    h = _h(env, "A.duty_officer")
    keys = PartyKeys.generate()
    url = f"/v1/private/agreements/{aid}/set"
    r = env.http.put(url, json=_set_body(keys, aid, 1), headers=h)
    assert r.status_code == 422 and "register" in r.text  # keys first
    assert env.http.put("/v1/private/keys", json=keys.public_json(), headers=h).status_code == 200
    assert env.http.put(url, json=_set_body(keys, aid, 1), headers=h).status_code == 200
    r = env.http.put(url, json=_set_body(keys, aid, 1), headers=h)
    assert r.status_code == 409  # replayed epoch
    bad = _set_body(keys, aid, 2)
    bad["digest"] = "0" * 64
    r = env.http.put(url, json=bad, headers=h)
    assert r.status_code == 422 and "digest" in r.text
    bad = _set_body(keys, aid, 2)
    bad["signature"] = sign_statement(PartyKeys.generate(), {"x": 1})
    assert env.http.put(url, json=bad, headers=h).status_code == 422
    bad = _set_body(keys, aid, 2)
    bad["count"] = 1023
    assert env.http.put(url, json=bad, headers=h).status_code == 422
    small = _set_body(keys, aid, 2, n=8)
    r = env.http.put(url, json=small, headers=h)
    assert r.status_code == 422 and "count" in r.text
    bad = _set_body(keys, aid, 2)
    bad["blinded"] = "***"
    r = env.http.put(url, json=bad, headers=h)
    assert r.status_code == 422 and "blinded" in r.text
    r = env.http.put(url, json={**_set_body(keys, aid, 2), "extra": 1}, headers=h)
    assert r.status_code == 422
    r = env.http.put(
        f"/v1/private/agreements/{aid}/sealed/other", json={"epoch": 1, "blob": "AA=="}, headers=h
    )
    assert r.status_code == 422
    big = base64.b64encode(b"x" * 1_100_000).decode()
    r = env.http.put(
        f"/v1/private/agreements/{aid}/sealed/reveal", json={"epoch": 1, "blob": big}, headers=h
    )
    assert r.status_code == 413
    huge = {"epoch": 3, "blob": "A" * 13_000_000}
    r = env.http.put(f"/v1/private/agreements/{aid}/sealed/answer", json=huge, headers=h)
    assert r.status_code == 413
    r = env.http.put(
        "/v1/private/keys", json={"box_public": "zz" * 32, "sign_public": "00" * 32}, headers=h
    )
    assert r.status_code == 422 and "box_public" in r.text


def test_operator_puts_only_two_party_agreements_in_private_mode(env: Env) -> None:
    db = Database(env.broker.url)
    try:
        with db.write() as s:
            three = agreements.create_agreement(
                s,
                "three",
                policy="advisory",
                parties=list(env.broker.party_ids.values()),
                now=datetime.now(UTC),
            )
    finally:
        db.dispose()
    op = _h(env, "operator")
    r = env.http.put(f"/v1/private/agreements/{three.id}/mode", json={}, headers=op)
    assert r.status_code == 422 and "two parties" in r.text
    r = env.http.put(
        f"/v1/private/agreements/{three.id}/mode", json={}, headers=_h(env, "A.duty_officer")
    )
    assert r.status_code == 403
    r = env.http.put(f"/v1/private/agreements/{env.broker.agreement_id}/mode", json={}, headers=op)
    assert r.status_code == 422 and "already" in r.text


# ------------------------------------------------------------------------ malicious broker
def _both_pushed(env: Env) -> None:
    env.push("A")
    env.push("B")


def test_substituted_set_is_detected(env: Env) -> None:
    _both_pushed(env)
    b_id = env.broker.party_ids["B"]
    fake = psi.random_points(1024)
    env.sql("UPDATE private_sets SET blinded = ? WHERE party_id = ?", fake, b_id)
    with pytest.raises(IntegrityError, match="substituted"):
        env.sync("A")
    # substituting the digest too cannot forge B's signature
    keys = PartyKeys.generate()
    digest = psi.set_digest(env.broker.agreement_id, keys.public_json()["sign_public"], 1, fake)
    env.sql("UPDATE private_sets SET digest = ? WHERE party_id = ?", digest, b_id)
    with pytest.raises(IntegrityError, match="signature"):
        env.sync("A")


def test_replayed_old_epoch_is_detected(env: Env) -> None:
    _both_pushed(env)
    b_id = env.broker.party_ids["B"]
    old = env.sql("SELECT * FROM private_sets WHERE party_id = ?", b_id)[0]
    env.push("B")  # epoch 2
    env.sync("B")  # B answers A's set, naming its own epoch 2
    # the broker serves B's epoch 1 again (validly signed, and in the ledger)
    env.sql("DELETE FROM private_sets WHERE party_id = ?", b_id)
    env.sql(f"INSERT INTO private_sets VALUES ({','.join('?' * len(old))})", *old)
    with pytest.raises(IntegrityError, match="replay"):
        env.sync("A")


def test_rollback_after_a_newer_epoch_was_seen_is_detected(env: Env) -> None:
    _both_pushed(env)
    b_id = env.broker.party_ids["B"]
    old = env.sql("SELECT * FROM private_sets WHERE party_id = ?", b_id)[0]
    env.push("B")
    env.sync("A")  # A sees B's epoch 2
    env.sql("DELETE FROM private_sets WHERE party_id = ?", b_id)
    env.sql(f"INSERT INTO private_sets VALUES ({','.join('?' * len(old))})", *old)
    with pytest.raises(IntegrityError, match="replay"):
        env.sync("A")


def test_own_set_replayed_to_the_counterpart_is_detected(env: Env) -> None:
    _both_pushed(env)
    a_id = env.broker.party_ids["A"]
    old = env.sql("SELECT * FROM private_sets WHERE party_id = ?", a_id)[0]
    env.push("A")  # epoch 2
    env.sync("A")  # A answers B's set, naming its epoch 2
    env.sql("DELETE FROM private_sets WHERE party_id = ?", a_id)
    env.sql(f"INSERT INTO private_sets VALUES ({','.join('?' * len(old))})", *old)
    with pytest.raises(IntegrityError, match="replay"):
        env.sync("B")


def test_wrong_ledger_entry_is_detected(env: Env) -> None:
    _both_pushed(env)
    b_id = env.broker.party_ids["B"]
    a_index = env.sql(
        "SELECT ledger_index FROM private_sets WHERE party_id = ?", env.broker.party_ids["A"]
    )[0][0]
    env.sql("UPDATE private_sets SET ledger_index = ? WHERE party_id = ?", a_index, b_id)
    with pytest.raises(IntegrityError, match="ledger"):
        env.sync("A")


def test_swapped_counterpart_keys_are_detected(env: Env) -> None:
    _both_pushed(env)
    env.sync("A")  # pins B's keys
    other = PartyKeys.generate().public_json()
    env.sql(
        "UPDATE private_keys SET box_public = ?, sign_public = ? WHERE party_id = ?",
        other["box_public"],
        other["sign_public"],
        env.broker.party_ids["B"],
    )
    with pytest.raises(IntegrityError, match="new counterpart keys"):
        env.sync("A")


def test_tampered_sealed_answer_is_detected(env: Env) -> None:
    _both_pushed(env)
    env.sync("B")  # B's answer to A is stored
    b_id = env.broker.party_ids["B"]
    blob = env.sql("SELECT blob FROM private_sealed WHERE sender_id = ? AND kind = 'answer'", b_id)[
        0
    ][0]
    flipped = bytes(blob[:-1]) + bytes([blob[-1] ^ 1])
    env.sql("UPDATE private_sealed SET blob = ? WHERE sender_id = ?", flipped, b_id)
    with pytest.raises(IntegrityError, match="decrypt"):
        env.sync("A")


def test_cap_on_cells_is_a_clear_error(env: Env) -> None:
    with pytest.raises(InvalidInputError, match="BLUE-EX-1"):
        push(
            env.plans["A"],
            env.relay("A.duty_officer"),
            env.state("A"),
            max_cells=10,
        )


def test_counterpart_is_told_to_sync_by_a_private_event(env: Env) -> None:
    _both_pushed(env)
    env.sync("A")
    db = Database(env.broker.url)
    try:
        with db.read() as s:
            to_a = outbox.read_after(s, env.broker.party_ids["A"], 0)
            to_b = outbox.read_after(s, env.broker.party_ids["B"], 0)
            to_c = outbox.read_after(s, env.broker.party_ids["C"], 0)
    finally:
        db.dispose()
    mine = [(e.kind, e.payload) for e in to_a if e.kind == "private"]
    theirs = [(e.kind, e.payload) for e in to_b if e.kind == "private"]
    aid = env.broker.agreement_id
    assert mine == [("private", {"agreement_id": aid, "what": "set", "epoch": 1})]
    assert ("private", {"agreement_id": aid, "what": "answer", "epoch": 1}) in theirs
    assert not [e for e in to_c if e.kind == "private"]
    for kind, payload in mine + theirs:
        validate_event(1, kind, payload)


def _v1_digest(aid: str, party: str, epoch: int, blob: bytes) -> str:
    """The retired X25519 protocol's commitment (no protocol field, v1 domain)."""
    h = hashlib.sha256(b"deconflict/private/psi/commit/v1\x00")
    for value in (aid, party):
        h.update(bytes([len(value)]) + value.encode())
    h.update(struct.pack(">QQ", epoch, len(blob) // 32) + blob)
    return h.hexdigest()


def test_old_format_session_is_refused_with_a_clear_error(env: Env) -> None:
    aid = env.broker.agreement_id
    h = _h(env, "B.duty_officer")
    keys = PartyKeys.generate()
    assert env.http.put("/v1/private/keys", json=keys.public_json(), headers=h).status_code == 200
    # an old client (no protocol field) is refused by the relay, naming the field and versions
    old = _set_body(keys, aid, 1)
    del old["protocol"]
    r = env.http.put(f"/v1/private/agreements/{aid}/set", json=old, headers=h)
    assert r.status_code == 409 and "protocol" in r.text and "psi-x25519/1" in r.text
    assert psi.PROTOCOL in r.text
    # a set stored by the old protocol: the counterpart is told to re-push, not "substituted"
    assert env.http.put(
        f"/v1/private/agreements/{aid}/set", json=_set_body(keys, aid, 1), headers=h
    ).is_success
    blob = env.sql("SELECT blinded FROM private_sets WHERE party_id = ?", env.broker.party_ids["B"])
    v1 = _v1_digest(aid, keys.public_json()["sign_public"], 1, bytes(blob[0][0]))
    env.sql("UPDATE private_sets SET digest = ?", v1)
    r = env.http.get(f"/v1/private/agreements/{aid}/set", headers=_h(env, "A.duty_officer"))
    assert r.status_code == 409 and "push again" in r.text
    # a local state directory from the old protocol: the client says what to do
    env.push("A")
    state = env.state("A").agreement_dir(aid) / "state.json"
    meta = json.loads(state.read_text())
    del meta["protocol"]
    state.write_text(json.dumps(meta))
    with pytest.raises(psi.ProtocolVersionError, match=r"--state.*psi-x25519/1.*push again"):
        env.sync("A")


def test_reveals_past_the_disclosure_budget_are_refused(env: Env) -> None:
    """B scans for A's whole plan (it pushes A's own volumes as its set): the intersection is
    everything A has there, but A's reveal is charged to B's disclosure budget of A's plans,
    withheld by A's client and refused by the relay past it (429 naming the budget)."""
    aid = env.broker.agreement_id
    op = _h(env, "operator")
    r = env.http.put(
        f"/v1/agreements/{aid}/settings",
        json={"disclosure": {"fraction": 0.0, "floor_km2h": 1000.0}},
        headers=op,
    )
    assert r.status_code == 200, r.text
    env.push("A")
    env.plans["B"] = env.plans["A"]  # the scan
    env.push("B")
    env.sync("B")
    report = env.sync("A", reveal=True)
    assert report.conflicts and any("WITHHELD" in n for n in report.notes), report.notes
    a_id = env.broker.party_ids["A"]
    assert not env.sql("SELECT 1 FROM private_sealed WHERE sender_id = ? AND kind = 'reveal'", a_id)
    listed = env.http.get("/v1/private/agreements", headers=_h(env, "A.duty_officer")).json()
    info = listed["agreements"][0]
    assert info["reveal_budget_km2h"] == 1000.0 and info["revealed_km2h"] == 0.0
    unit = info["cell_km2h"]
    # a client that skips its own check (or lies low) meets the relay's
    url = f"/v1/private/agreements/{aid}/sealed/reveal"
    h = _h(env, "A.duty_officer")
    blob = base64.b64encode(b"sealed" * 10).decode()
    r = env.http.put(url, json={"epoch": 1, "blob": blob}, headers=h)
    assert r.status_code == 422 and "cell_slots" in r.text  # a reveal must declare its size
    too_many = int(1000.0 / unit) + 1
    r = env.http.put(url, json={"epoch": 1, "blob": blob, "cell_slots": too_many}, headers=h)
    assert r.status_code == 429 and "disclosure budget" in r.text, r.text
    fits = int(600.0 / unit)
    r = env.http.put(url, json={"epoch": 1, "blob": blob, "cell_slots": fits}, headers=h)
    assert r.status_code == 200 and r.json()["charge_km2h"] == pytest.approx(fits * unit)
    r = env.http.put(url, json={"epoch": 1, "blob": blob, "cell_slots": fits}, headers=h)
    assert r.json()["charge_km2h"] == 0.0  # the same reveal again costs nothing
    rest = int((1000.0 - fits * unit) / unit) + 1  # one cell-slot more than what is left
    r = env.http.put(url, json={"epoch": 2, "blob": blob, "cell_slots": rest}, headers=h)
    assert r.status_code == 429
    r = env.http.put(url, json={"epoch": 2, "blob": blob, "cell_slots": rest - 1}, headers=h)
    assert r.status_code == 200
    # A sees what B was charged; the ledger and A's disclosure list record it
    mine = env.http.get("/v1/disclosures", headers=h).json()["disclosures"]
    assert [d["kind"] for d in mine] == ["private_reveal"] * 2
    listed = env.http.get("/v1/private/agreements", headers=h).json()["agreements"][0]
    assert listed["revealed_km2h"] == pytest.approx((fits + rest - 1) * unit, abs=1e-2)
    # the counterpart's budget of B is its own: B may still reveal to A
    r = env.http.put(
        url, json={"epoch": 1, "blob": blob, "cell_slots": 1}, headers=_h(env, "B.duty_officer")
    )
    assert r.status_code == 200


def test_an_intersection_opens_one_hotline_thread_without_window_or_cells(env: Env) -> None:
    _both_pushed(env)
    env.sync("B")
    quiet = env.sync("A", hotline=False)  # --no-hotline: the broker is not even told
    assert quiet.conflicts
    assert env.http.get("/v1/hotline/threads", headers=_h(env, "A.duty_officer")).json() == []
    a = env.sync("A")
    b = env.sync("B")
    assert a.conflicts and b.conflicts
    assert any("hotline thread" in n and "opened" in n for n in a.notes)  # A reported first
    threads = {
        who: env.http.get("/v1/hotline/threads", headers=_h(env, f"{who}.duty_officer")).json()
        for who in ("A", "B", "C")
    }
    assert len(threads["A"]) == len(threads["B"]) == 1 and threads["C"] == []
    assert threads["A"][0]["id"] == threads["B"][0]["id"]
    assert threads["A"][0]["subject"].startswith("Private-mode conflict")
    msgs = env.http.get(
        "/v1/hotline/messages",
        params={"thread": threads["B"][0]["id"]},
        headers=_h(env, "B.duty_officer"),
    ).json()
    assert len(msgs) == 1  # B's report of the same intersection added nothing
    text = json.dumps(msgs)
    assert all(c["cell_count"] == len(c["cells"]) for c in a.conflicts)  # all listed here
    common = {(x["h3"], x["slot"], x["layer"]) for c in a.conflicts for x in c["cells"]}
    assert f"share {len(common)} cells" in text
    for c in a.conflicts + b.conflicts:  # neither the window nor any cell id
        assert c["window"]["start"][:13] not in text and c["window"]["end"][:13] not in text
        assert all(x["h3"] not in text for x in c["cells"])
    aid = env.broker.agreement_id
    url = f"/v1/private/agreements/{aid}/found"
    h = _h(env, "A.duty_officer")
    stale = {"own_epoch": 1, "counterpart_epoch": 2, "cells": 3}
    assert env.http.put(url, json=stale, headers=h).status_code == 409  # invented epoch
    current = {"own_epoch": 1, "counterpart_epoch": 1, "cells": 3}
    assert env.http.put(url, json=current, headers=_h(env, "C.duty_officer")).status_code == 404
    assert env.http.put(url, json=current, headers=h).json()["message_id"] is None
    # an amendment (new epoch pair) that still meets adds a message to the same thread
    env.push("A")
    env.sync("B")
    env.sync("A")
    msgs = env.http.get(
        "/v1/hotline/messages", params={"thread": threads["A"][0]["id"]}, headers=h
    ).json()
    assert len(msgs) == 2
