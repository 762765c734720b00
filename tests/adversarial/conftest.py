"""Fixtures of the adversarial suite: a seeded broker process per module and backend."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from adv_kit import BACKENDS, BrokerProcess, World, operator_key, seed_world


def _pg_url(dsn: str, dbname: str) -> str:
    parts = dict(p.split("=", 1) for p in dsn.split())
    port = f":{parts['port']}" if "port" in parts else ""
    host = parts.get("host", "127.0.0.1")
    return f"postgresql://{parts.get('user', 'postgres')}@{host}{port}/{dbname}"


@pytest.fixture(scope="module")
def new_db(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[pytest.FixtureRequest, str], tuple[str, Path]]]:
    """Factory ``new_db(request, backend) -> (url, data_dir)``: a fresh, empty database."""
    made: list[tuple[str, str]] = []

    def _make(request: pytest.FixtureRequest, backend: str) -> tuple[str, Path]:
        data = tmp_path_factory.mktemp("adv")
        if backend == "sqlite":
            return f"sqlite:///{(data / 'deconflict.sqlite3').as_posix()}", data
        import psycopg

        dsn: str = request.getfixturevalue("pg_dsn")
        name = f"adv_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append((dsn, name))
        return _pg_url(dsn, name), data

    yield _make
    for dsn, name in made:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def start_world(
    new_db: Callable[[pytest.FixtureRequest, str], tuple[str, Path]],
) -> Iterator[Callable[..., World]]:
    """Factory ``start_world(request, backend, **env) -> World`` (stopped with the module)."""
    worlds: list[World] = []

    def _start(request: pytest.FixtureRequest, backend: str, **env: str) -> World:
        url, data = new_db(request, backend)
        key = operator_key(url)
        server = BrokerProcess(url, data, **env).start()
        try:
            world = seed_world(server, key)
        except BaseException:
            server.stop()
            raise
        worlds.append(world)
        return world

    yield _start
    for w in worlds:
        w.close()


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, start_world: Callable[..., World]) -> World:
    """One seeded broker per module and backend, shared by the module's tests."""
    return start_world(request, request.param)
