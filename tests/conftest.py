"""Shared pytest configuration: paths to the shared real-traffic data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_data_dir() -> Path:
    env = os.environ.get("DECONFLICT_SHARED_DATA")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real air-traffic recordings (``../shared/data`` beside the repository)."""
    path = _shared_data_dir()
    if not path.is_dir():
        pytest.fail(f"shared data not found at {path}; set DECONFLICT_SHARED_DATA")
    return path


# --- database backends --------------------------------------------------------------
# `pg_dsn`: a throwaway PostgreSQL 15 cluster for the session (recipe: ../shared/ENVIRONMENT.md §1),
# or the server in $DECONFLICT_PG_DSN. `db_url`: a fresh, *un-migrated* database per test,
# parametrised over SQLite and PostgreSQL, so every test using it runs on both backends.

from collections.abc import Iterator  # noqa: E402

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """libpq DSN of a running PostgreSQL (superuser ``postgres``)."""
    import shutil
    import socket
    import subprocess
    import tempfile

    if os.environ.get("DECONFLICT_PG_DSN"):
        yield os.environ["DECONFLICT_PG_DSN"]
        return
    if not os.path.exists(f"{PGBIN}/postgres"):
        pytest.fail(f"PostgreSQL missing in {PGBIN}: run `make deps` (never skipped)")
    root = tempfile.mkdtemp(prefix="deconflict-pg.")
    as_pg: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = f"{root}/data"
    subprocess.run(
        [*as_pg, f"{PGBIN}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync",
         "-E", "UTF8", "--locale=C.UTF-8"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    opts = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        [*as_pg, f"{PGBIN}/pg_ctl", "-D", data, "-l", f"{root}/log", "-w", "-o", opts, "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        subprocess.run(
            [*as_pg, f"{PGBIN}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _pg_url(dsn: str, dbname: str) -> str:
    parts = dict(p.split("=", 1) for p in dsn.split())
    user = parts.get("user", "postgres")
    password = f":{parts['password']}" if "password" in parts else ""
    port = f":{parts['port']}" if "port" in parts else ""
    return f"postgresql://{user}{password}@{parts.get('host', '127.0.0.1')}{port}/{dbname}"


@pytest.fixture
def fresh_pg_url(pg_dsn: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards) as a ``postgresql://`` URL."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _pg_url(pg_dsn, name)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, un-migrated database URL, once per backend (SQLite file and PostgreSQL)."""
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'deconflict.sqlite3').as_posix()}"
    url: str = request.getfixturevalue("fresh_pg_url")
    return url


# --- event contract (issue 10) -------------------------------------------------------
@pytest.fixture(autouse=True, scope="session")
def _validate_published_events() -> Iterator[None]:
    """Every event any test makes the broker publish is validated against its model in
    ``deconflict.broker.events`` (a drifted payload fails that test)."""
    from deconflict.broker import outbox

    previous = outbox.check_events(True)
    yield
    outbox.check_events(previous)
