"""The web scaffold: migrations, start-up refusal, auth, problem+json, health, metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from broker_testkit import BrokerEnv
from fastapi.testclient import TestClient
from sqlalchemy import update

from deconflict.broker import parties
from deconflict.errors import UnauthorizedError
from deconflict.settings import Settings
from deconflict.store import tables
from deconflict.store.base import Database, metadata
from deconflict.store.migrate import NotMigratedError, check_current, upgrade
from deconflict.web.app import create_app


def test_unmigrated_database_is_refused_with_the_command_to_run(db_url: str) -> None:
    with pytest.raises(NotMigratedError) as info:
        check_current(db_url)
    assert "run: deconflict db upgrade --db " in str(info.value)
    app = create_app(Settings(db_url=db_url))
    with pytest.raises(NotMigratedError), TestClient(app):
        pass
    upgrade(db_url)
    check_current(db_url)  # no error once migrated


def test_migrated_schema_matches_the_table_definitions(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    core = {t.name for t in tables.__dict__.values() if getattr(t, "metadata", None) is metadata}
    try:
        with db.write_engine.connect() as conn:
            diffs = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": False}), metadata
            )
    finally:
        db.dispose()

    def table_of(diff: object) -> str | None:
        item = diff[1] if isinstance(diff, tuple) else diff[0][1]  # type: ignore[index]
        name = getattr(item, "name", None)
        table = getattr(item, "table", None)
        return str(table.name) if table is not None else (str(name) if name else None)

    ours = [d for d in diffs if table_of(d) in core]
    assert ours == []


def test_cli_creates_party_key_and_refuses_unmigrated(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from deconflict.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert main(["party", "add", "North", "--db", url]) == 2
    assert "run: deconflict db upgrade --db" in capsys.readouterr().err
    assert main(["db", "upgrade", "--db", url]) == 0
    assert main(["party", "add", "North", "--db", url]) == 0
    assert main(["key", "create", "North", "--role", "duty_officer", "--db", url]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("dk_")
    assert main(["key", "create", "North", "--role", "wizard", "--db", url]) == 2
    assert "field 'role'" in capsys.readouterr().err
    assert main(["party", "add", "South", "--db", url]) == 0
    capsys.readouterr()
    assert main(["agreement", "create", "N-S", "North", "South", "--policy", "f3548",
                 "--pseudonyms", "--db", url]) == 0  # fmt: skip
    agreement_id = capsys.readouterr().out.split()[0]
    assert main(["agreement", "line", agreement_id, "L1", "--coordinates", "20,40;20,60",
                 "--side", "North=left", "--side", "South=right", "--db", url]) == 0  # fmt: skip
    assert main(["agreement", "line", agreement_id, "L2", "--coordinates", "20,40;x",
                 "--side", "North=left", "--db", url]) == 2  # fmt: skip
    assert "field 'coordinates'" in capsys.readouterr().err
    db = Database(url)
    try:
        with db.read() as s:
            p = parties.authenticate(s, key, now=datetime.now(UTC))
            assert p.role == "duty_officer" and p.party_name == "North"
        key_id = key.split("_")[1]
        assert main(["key", "revoke", key_id, "--db", url]) == 0
        with db.read() as s, pytest.raises(UnauthorizedError):
            parties.authenticate(s, key, now=datetime.now(UTC))
    finally:
        db.dispose()


def test_keys_are_stored_only_as_salted_hashes(env: BrokerEnv) -> None:
    db = Database(env.url)
    try:
        with db.read() as s:
            rows = s.execute(tables.api_keys.select()).all()
        secrets_ = {k.split("_", 2)[2] for k in env.keys.values()}
        for row in rows:
            blob = bytes(row.secret_hash) + bytes(row.salt)
            assert all(sec.encode() not in blob for sec in secrets_)
        assert len({bytes(r.salt) for r in rows}) == len(rows)
    finally:
        db.dispose()


def test_authentication_failures_are_401_problems(env: BrokerEnv) -> None:
    c = env.client
    good = env.keys["A.viewer"]
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": f"Bearer {tampered}"}):
        r = c.get("/v1/me", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"]
    assert c.get("/v1/me", headers=env.h("A.viewer")).json()["role"] == "viewer"


def test_expired_and_revoked_keys_are_refused(env: BrokerEnv) -> None:
    db = Database(env.url)
    try:
        with db.write() as s:
            s.execute(
                update(tables.api_keys)
                .where(tables.api_keys.c.key_id == env.key_ids["A.viewer"])
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        db.dispose()
    assert env.client.get("/v1/me", headers=env.h("A.viewer")).status_code == 401
    kid = env.key_ids["B.viewer"]
    r = env.client.post(f"/v1/keys/{kid}/revoke", headers=env.h("A.party_admin"))
    assert r.status_code == 404  # another party's key: not found, not forbidden
    r = env.client.post(f"/v1/keys/{kid}/revoke", headers=env.h("B.party_admin"))
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert env.client.get("/v1/me", headers=env.h("B.viewer")).status_code == 401


def test_bad_input_is_422_naming_the_field(env: BrokerEnv) -> None:
    r = env.client.post("/v1/parties", json={"name": 5}, headers=env.h("operator"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "name"
    r = env.client.post("/v1/parties", json={"name": "X", "colour": 1}, headers=env.h("operator"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "colour"
    r = env.client.post(
        f"/v1/agreements/{env.agreement_id}/lines",
        json={"name": "L", "coordinates": [[0, 0], [0, 95]], "sides": {"Party A": "left"}},
        headers=env.h("operator"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "coordinates[1][1]"


def test_unknown_route_and_method_are_problem_json(env: BrokerEnv) -> None:
    r = env.client.get("/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    r = env.client.delete("/health")
    assert r.status_code == 405 and r.json()["status"] == 405


def test_oversized_body_is_413(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(max_body_bytes=2048)
    r = env.client.post("/v1/parties", content=b"x" * 5000, headers=env.h("operator"))
    assert r.status_code == 413
    assert r.json()["errors"][0]["field"] == "body"


def test_health_metrics_and_docs(env: BrokerEnv) -> None:
    c = env.client
    assert c.get("/health").json()["database"] == "ok"
    assert c.get("/metrics", headers=env.h("A.party_admin")).status_code == 403
    r = c.get("/metrics", headers=env.h("operator"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'deconflict_http_requests_total{method="GET",route="/health",status="200"} 1.0' in r.text
    assert "deconflict_http_request_duration_seconds_bucket" in r.text
    docs = c.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    assert "/v1/stream" in c.get("/openapi.json").json()["paths"]
