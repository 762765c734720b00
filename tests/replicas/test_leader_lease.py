"""Leader lease on real PostgreSQL: one leader among replica processes; takeover after kill -9.

Three replica processes (plain Python processes running ``LeaderLease``, as each
``deconflict serve`` replica would) contend for the lease on the session's throwaway PostgreSQL
cluster (tests/conftest.py ``pg_dsn``). Each prints ``LEADER <pid> <monotonic time>`` when it
becomes leader and then keeps checking ``is_leader``. The test asserts that exactly one leads,
kills it with SIGKILL, and that exactly one other takes over within 5 s.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from deconflict.cluster.lease import LeaderLease, lease_key

REPLICA = r"""
import sys, time
from deconflict.cluster.lease import LeaderLease
lease = LeaderLease(sys.argv[1], name=sys.argv[2])
print("READY", flush=True)
deadline = time.monotonic() + 60.0  # bounded: the test kills us long before
while time.monotonic() < deadline:
    if lease.wait(1.0, poll_s=0.2):
        print("LEADER", time.monotonic(), flush=True)
        while time.monotonic() < deadline and lease.is_leader():
            time.sleep(0.2)
        print("LOST", time.monotonic(), flush=True)
"""


@pytest.fixture
def replicas(pg_dsn: str) -> Iterator[list[subprocess.Popen[str]]]:
    name = f"test-lease-{os.getpid()}-{time.time_ns()}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA, pg_dsn, name],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)


def read_lines(
    procs: list[subprocess.Popen[str]], seconds: float, grace_s: float = 1.5
) -> list[tuple[int, str]]:
    """Lines printed within ``seconds``, or until ``grace_s`` after the first ``LEADER`` line
    (index of the process, text)."""
    sel = selectors.DefaultSelector()
    for k, p in enumerate(procs):
        if p.poll() is None and p.stdout is not None:
            sel.register(p.stdout, selectors.EVENT_READ, k)
    out: list[tuple[int, str]] = []
    deadline = time.monotonic() + seconds
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
            line = key.fileobj.readline()  # type: ignore[union-attr]
            if not line:
                sel.unregister(key.fileobj)
                continue
            out.append((int(key.data), line.strip()))
            if line.startswith("LEADER"):
                deadline = min(deadline, time.monotonic() + grace_s)
    sel.close()
    return out


def test_one_leader_and_takeover_within_5_s_after_kill_9(
    replicas: list[subprocess.Popen[str]],
) -> None:
    lines = read_lines(replicas, 20.0 if os.environ.get("CI") else 15.0)
    leaders = [k for k, text in lines if text.startswith("LEADER")]
    assert len(leaders) == 1, lines
    leader = leaders[0]
    killed_at = time.monotonic()
    os.kill(replicas[leader].pid, signal.SIGKILL)
    replicas[leader].wait(timeout=10)
    lines = read_lines([p for k, p in enumerate(replicas) if k != leader], 8.0)
    new_leaders = [text for _, text in lines if text.startswith("LEADER")]
    assert len(new_leaders) == 1, lines
    took_over_at = float(new_leaders[0].split()[1])
    assert took_over_at - killed_at < 5.0
    assert not any(text.startswith("LOST") for _, text in lines)


def test_lease_is_exclusive_and_released(pg_dsn: str) -> None:
    name = f"test-lease-inproc-{time.time_ns()}"
    a, b = LeaderLease(pg_dsn, name), LeaderLease(pg_dsn, name)
    try:
        assert a.try_acquire() and a.is_leader()
        assert a.try_acquire()  # re-entrant call keeps one level
        assert not b.try_acquire() and not b.is_leader()
        a.release()
        assert not a.is_leader()
        assert b.wait(2.0, poll_s=0.1) and b.is_leader()
    finally:
        a.release()
        b.release()
    assert lease_key(name) == lease_key(name) and lease_key(name) != lease_key(name + "x")
