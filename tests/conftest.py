"""Shared pytest configuration: shared data, database backends, per-worker isolation.

The suite runs serially (``pytest``) or on several processes with pytest-xdist (``make test`` runs
``pytest -n 2 --dist loadfile``: each test file runs whole on one worker, so module-scoped servers
start once). Everything a test writes goes under the worker's own base temp directory: the session
sets ``DECONFLICT_DATA_DIR`` there, and each worker starts its own PostgreSQL cluster on a free
port (or uses ``$DECONFLICT_PG_DSN``, with per-test databases of unique names).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session: pytest.Session) -> None:
    """With xdist, compile (or load) the numba tactical kernel once in the controller.

    Every broker process a test starts calls ``warm_up()``; on a fresh clone the first call
    compiles for ~20 s of CPU and writes numba's on-disk cache (``__pycache__``). Serially the
    first test pays it once; with two workers both would compile at the same time. The
    controller runs this before it starts the workers, so they all load the cache (~0.2 s). A
    failure here is left to the tests that use the kernel to report.
    """
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    if config.option.collectonly:
        return
    try:
        from deconflict.tactical import warm_up

        warm_up()
    except Exception:  # reported by the kernel's own tests
        pass


#: The slowest test files (a browser, a demo run, a 30-minute replay, many server starts):
#: measured 2026-12-05 on the 2-core machine, serial, slowest first. Under xdist each file runs
#: whole on one worker (``--dist loadfile``) and files are handed out in collection order
#: (``--no-loadscope-reorder``), so these go first: no worker is left with a long file at the
#: end while the other idles. Other files keep their order. Serial runs are not reordered.
SLOW_FILES_FIRST = (
    "tests/tactical/test_swiss_recording.py",
    "tests/private/test_private_relay.py",
    "tests/e2e/test_dashboard_e2e.py",
    "tests/live/test_live_demo_cli.py",
    "tests/live/test_live_replay_paris.py",
    "tests/sim/test_sim_scenario.py",
    "tests/tactical/test_detect_cli.py",
    "tests/strategic/test_strategic_plan_cli.py",
    "tests/tactical/test_ray_sharded.py",
    "tests/formats/test_detect_feeds_cli.py",
    "tests/replicas/test_replicas_serve.py",
    "tests/hotline/test_hotline_conflict_thread.py",
    "tests/e2e/test_dashboard_demo_e2e.py",
    "tests/e2e/test_dashboard_i18n_e2e.py",
    "tests/e2e/test_dashboard_events_e2e.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On xdist workers: the files of :data:`SLOW_FILES_FIRST` first (a stable sort)."""
    if not hasattr(config, "workerinput"):
        return
    rank = {path: i for i, path in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


#: Files whose tests assert response times while they load the machine themselves (100 clients,
#: ``/health`` within 1 s): under xdist each of their tests waits until the other worker is between
#: tests and keeps it from starting its next test (an exclusive lock; every other test holds it
#: shared). Module-scoped set-ups of the other worker are not held.
EXCLUSIVE_FILES = ("tests/adversarial/test_adv_load.py",)


@pytest.fixture(autouse=True)
def _exclusive_under_xdist(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Serialise the :data:`EXCLUSIVE_FILES` tests against all others when run by xdist workers."""
    if not hasattr(request.config, "workerinput"):
        yield
        return
    import fcntl

    exclusive = request.node.nodeid.split("::", 1)[0] in EXCLUSIVE_FILES
    lock = tmp_path_factory.getbasetemp().parent / "deconflict-exclusive.lock"  # shared by workers
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(autouse=True, scope="session")
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``DECONFLICT_DATA_DIR`` = a directory of this session (worker), never the repo's ``./data``.

    Apps and CLI runs built without an explicit ``data_dir`` keep their files there (e.g. the
    ledger signing key), not in the developer's demo directory, and no two workers share it.
    Tests that need their own directory still pass one or set the variable themselves.
    """
    path = tmp_path_factory.mktemp("data_dir")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DECONFLICT_DATA_DIR", str(path))
        yield path


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
