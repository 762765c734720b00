"""``/v1/ledger`` through the in-process ASGI client, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deconflict.broker import audit, parties
from deconflict.cli import main
from deconflict.ledger import (
    Checkpoint,
    SignedCheckpoint,
    Signer,
    Verifier,
    cosign,
    verify_bundle,
    verify_consistency,
    verify_inclusion,
)
from deconflict.ledger.entries import LeafRecord, b64decode
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.web.app import create_app
from deconflict.web.routes import ROUTE_MODULES
from deconflict.web.routes import ledger as ledger_routes

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@dataclass
class Env:
    client: TestClient
    db: Database
    ids: dict[str, str]
    keys: dict[str, str]

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def record(self, party_names: list[str], payload: dict[str, object]) -> int:
        with self.db.write() as s:
            return audit.record(
                s, "notice.submitted", [self.ids[n] for n in party_names], payload, now=T0
            )


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[Env]:
    upgrade(db_url)
    db = Database(db_url)
    ids: dict[str, str] = {}
    keys: dict[str, str] = {}
    with db.write() as s:
        for name in ("A", "B", "C"):
            ids[name] = parties.create_party(s, f"Party {name}", now=T0).id
            for role in ("viewer", "duty_officer", "party_admin"):
                keys[f"{name}.{role}"] = parties.create_key(s, ids[name], role, now=T0)[1]
        keys["operator"] = parties.create_key(s, None, "operator", now=T0)[1]
    app = create_app(Settings(db_url=db_url, data_dir=tmp_path / "data"))
    if "ledger" not in ROUTE_MODULES:  # until the lead registers the router
        app.include_router(ledger_routes.router)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Env(client, db, ids, keys)
    db.dispose()


def test_head_proofs_cosign_export_and_offline_verify(env: Env, tmp_path: Path) -> None:
    env.record(["A", "B"], {"n": 0})
    first = env.client.get("/v1/ledger/head", headers=env.h("A.viewer"))
    assert first.status_code == 200, first.text
    log_key = Verifier.from_vkey(first.json()["log_key"])
    held = SignedCheckpoint.from_note(first.json()["checkpoint"])
    assert held.is_signed_by(log_key) and held.checkpoint.size == 1
    a_only = env.record(["A"], {"n": 1, "secret": "alpha-only"})
    c_only = env.record(["C"], {"n": 2, "secret": "charlie-only"})
    env.record(["B", "C"], {"n": 3})

    # Inclusion proof for A's own entry; C's entry and a missing one look the same to A.
    got = env.client.get(f"/v1/ledger/entries/{a_only}/proof", headers=env.h("A.viewer"))
    assert got.status_code == 200, got.text
    body = got.json()
    head = SignedCheckpoint.from_note(body["checkpoint"])
    assert head.checkpoint.size == 4 and head.is_signed_by(log_key)
    leaf = LeafRecord.from_json(body["leaf"])
    proof = [b64decode(p, field="proof") for p in body["proof"]]
    verify_inclusion(leaf.leaf_hash(), a_only, 4, proof, head.checkpoint.root)
    assert body["event"]["payload"]["secret"] == "alpha-only"
    hidden = env.client.get(f"/v1/ledger/entries/{c_only}/proof", headers=env.h("A.viewer"))
    missing = env.client.get("/v1/ledger/entries/99/proof", headers=env.h("A.viewer"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["title"] == missing.json()["title"]
    huge = env.client.get(f"/v1/ledger/entries/{1 << 70}/proof", headers=env.h("A.viewer"))
    assert huge.status_code == 422
    operator = env.client.get(f"/v1/ledger/entries/{a_only}/proof", headers=env.h("operator"))
    assert operator.status_code == 403

    # Consistency between the head A held and the new one.
    cons = env.client.get(
        "/v1/ledger/consistency", params={"first": 1, "second": 4}, headers=env.h("B.viewer")
    )
    assert cons.status_code == 200, cons.text
    nodes = [b64decode(p, field="proof") for p in cons.json()["proof"]]
    verify_consistency(1, 4, nodes, held.checkpoint.root, head.checkpoint.root)
    for params in ({"first": 3, "second": 2}, {"first": 1, "second": 50}):
        bad = env.client.get("/v1/ledger/consistency", params=params, headers=env.h("B.viewer"))
        assert bad.status_code == 422, bad.text

    # A registers a witness key and cosigns the latest head after checking consistency.
    witness = Signer.generate("deconflict.test/witness-a", signature_type=0x04)
    put = env.client.put(
        "/v1/ledger/witness", json={"vkey": witness.verifier.vkey()}, headers=env.h("A.party_admin")
    )
    assert put.status_code == 200, put.text
    denied = env.client.put(
        "/v1/ledger/witness", json={"vkey": witness.verifier.vkey()}, headers=env.h("A.viewer")
    )
    assert denied.status_code == 403
    latest = SignedCheckpoint.from_note(
        env.client.get("/v1/ledger/head", headers=env.h("A.viewer")).json()["checkpoint"]
    )
    assert latest.checkpoint.size == 5  # the key registration is itself logged
    cons = env.client.get(
        "/v1/ledger/consistency",
        params={"first": 1, "second": 5},
        headers=env.h("A.viewer"),
    ).json()
    cosigned = cosign(
        latest,
        witness=witness,
        log_key=log_key,
        last_cosigned=held.checkpoint,
        proof=[b64decode(p, field="proof") for p in cons["proof"]],
        now=T0 + timedelta(hours=1),
    )
    post = env.client.post(
        "/v1/ledger/cosign", json={"checkpoint": cosigned.note()}, headers=env.h("A.duty_officer")
    )
    assert post.status_code == 200, post.text
    stored = SignedCheckpoint.from_note(post.json()["checkpoint"])
    assert stored.is_signed_by(log_key) and stored.is_signed_by(witness.verifier)
    impostor = Signer.generate("deconflict.test/witness-a", signature_type=0x04)
    forged = latest.with_signature(impostor.sign(latest.checkpoint.body(), timestamp_s=1))
    refused = env.client.post(
        "/v1/ledger/cosign", json={"checkpoint": forged.note()}, headers=env.h("A.duty_officer")
    )
    assert refused.status_code == 422, refused.text
    too_big = Checkpoint(origin=log_key.name, size=(1 << 63) - 1, root=bytes(32), timestamp_s=1)
    unknown = env.client.post(
        "/v1/ledger/cosign",
        json={"checkpoint": too_big.body() + "\n" + cosigned.signatures[-1].line() + "\n"},
        headers=env.h("A.duty_officer"),
    )
    assert unknown.status_code == 404, unknown.text
    garbage = env.client.post(
        "/v1/ledger/cosign", json={"checkpoint": "nonsense"}, headers=env.h("A.duty_officer")
    )
    assert garbage.status_code == 422
    not_registered = env.client.post(
        "/v1/ledger/cosign", json={"checkpoint": cosigned.note()}, headers=env.h("B.duty_officer")
    )
    assert not_registered.status_code == 422

    # Export for A, verified offline with the CLI against the head A held before.
    exported = env.client.get("/v1/ledger/export", params={"since": 1}, headers=env.h("A.viewer"))
    assert exported.status_code == 200, exported.text
    bundle = exported.json()
    text = json.dumps(bundle)
    assert "charlie-only" not in text and "alpha-only" in text
    report = verify_bundle(
        bundle,
        log_keys=[log_key],
        witness_keys=[witness.verifier],
        known_checkpoints=[held.note()],
    )
    assert report.ok, report.failures
    bundle_path = tmp_path / "bundle.json"
    bundle_path.write_text(text)
    held_path = tmp_path / "held.note"
    held_path.write_text(held.note())
    argv = ["ledger", "verify", str(bundle_path), "--broker-key", log_key.vkey()]
    argv += ["--witness-key", witness.verifier.vkey(), "--known-head", str(held_path)]
    assert main(argv) == 0
    b_bundle = env.client.get("/v1/ledger/export", headers=env.h("B.viewer")).json()
    assert "alpha-only" not in json.dumps(b_bundle)
    assert verify_bundle(b_bundle, log_keys=[log_key]).ok
    assert env.client.get("/v1/ledger/export", headers=env.h("operator")).status_code == 403
    assert env.client.get("/v1/ledger/head").status_code == 401
