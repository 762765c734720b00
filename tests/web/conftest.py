"""Fixtures for the broker API tests: a migrated database with two parties and keys per role."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from broker_testkit import BrokerEnv, seed
from fastapi.testclient import TestClient

from deconflict.settings import Settings
from deconflict.store.migrate import upgrade
from deconflict.web.app import create_app


@pytest.fixture(scope="session")
def _migrated_templates() -> dict[str, str]:
    """Cache: "sqlite" -> a migrated template file; "pg" -> URL of the shared migrated database."""
    return {}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def migrated_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    _migrated_templates: dict[str, str],
) -> str:
    """A migrated, empty database per test, on SQLite and on PostgreSQL.

    SQLite: a copy of a template file migrated once per session. PostgreSQL: one database
    migrated once per session and emptied (TRUNCATE) before each test: creating a database
    costs ~1 s on a busy 2-core machine, a TRUNCATE ~50 ms.
    """
    if request.param == "sqlite":
        if "sqlite" not in _migrated_templates:
            path = tmp_path_factory.mktemp("template") / "template.sqlite3"
            upgrade(f"sqlite:///{path}")
            _migrated_templates["sqlite"] = str(path)
        target = tmp_path / "deconflict.sqlite3"
        shutil.copyfile(_migrated_templates["sqlite"], target)
        return f"sqlite:///{target}"
    import psycopg

    dsn: str = request.getfixturevalue("pg_dsn")
    if "pg" not in _migrated_templates:
        name = f"shared_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = _pg_url(dsn, name)
        upgrade(url)
        _migrated_templates["pg"] = url
    url = _migrated_templates["pg"]
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            conn.execute(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
            )
    return url


def _pg_url(dsn: str, dbname: str) -> str:
    parts = dict(p.split("=", 1) for p in dsn.split())
    port = f":{parts['port']}" if "port" in parts else ""
    host = parts.get("host", "127.0.0.1")
    return f"postgresql://{parts.get('user', 'postgres')}@{host}{port}/{dbname}"


@pytest.fixture
def make_env(migrated_url: str, tmp_path: Path) -> Iterator[Any]:
    """Factory ``make_env(policy=..., pseudonyms=..., **settings)`` -> :class:`BrokerEnv`."""
    clients: list[TestClient] = []

    def _make(policy: str = "advisory", pseudonyms: bool = False, **overrides: Any) -> BrokerEnv:
        party_ids, keys, key_ids, agreement_id = seed(
            migrated_url, policy=policy, pseudonyms=pseudonyms
        )
        settings = Settings(db_url=migrated_url, data_dir=tmp_path / "data", **overrides)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return BrokerEnv(client, migrated_url, party_ids, keys, key_ids, agreement_id, settings)

    yield _make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def env(make_env: Any) -> BrokerEnv:
    """Advisory agreement between parties A and B."""
    result: BrokerEnv = make_env()
    return result
