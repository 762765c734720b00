"""Replicas on PostgreSQL: the shared-state table choice and a mixed load on 3 replicas.

1. ``live_latest`` storage (docs/deployment.md): the same upserts and reads on the UNLOGGED
   table (what migration 0007 creates) and on a plain (WAL-logged) copy of it, on a durable
   PostgreSQL (fsync and synchronous_commit on, as in production): 20-aircraft batches, one
   commit each (the request path), 10,000-aircraft batches, and the leader's read of 100,000
   states. The plain table is the reference: ratios < 1 favour UNLOGGED.
2. Load: 1 (the reference) then 3 ``deconflict serve`` replicas on one database (a fresh one
   each), ``--clients`` concurrent clients (asyncio, loopback only, spread round-robin over the
   replicas), each alternating a notice create and a 20-aircraft track post for ``--seconds``.
   Prints the 5xx count (503 excluded), the 503 count (overload, with Retry-After), requests/s
   and p50/p99 per kind, and the 3/1 throughput ratio. On one 2-core machine the replicas share
   the cores with PostgreSQL and the clients, so the ratio shows the cost of coordination, not
   the gain of more hosts.
3. The leader's read of the shared states (``--only tail``; issue 14, session 4): 100,000
   aircraft in ``live_latest``, 20,000 of them changed (four 5,000-row batches, one commit each)
   before each "cycle"; the session-3 full read (every non-stale state, the reference) against
   the read of only the rows changed since the previous read (``changed_since``, the xid
   watermark of migration 0009), each followed by ``merge_states`` into the leader's
   ``LatestStates``; wall and client CPU per read, and a check that both end with the same
   states. Also the cost of the ``xid`` index for the ingest upsert: 5,000-row batches into
   ``live_latest`` against a copy without that index (the reference).

Run: ``.venv/bin/python bench/bench_replicas.py [--quick] [--clients N] [--seconds S]
[--dsn "host=... port=..."]`` (default: a throwaway cluster of Debian's PostgreSQL 15, started
and removed by this script; as root it runs as the ``postgres`` user, like tests/conftest.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg

from deconflict.broker import agreements, audit, parties
from deconflict.broker.live import merge_states
from deconflict.live.latest import LatestStates
from deconflict.store import live_state_sql
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
PARTIES = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def durable_cluster(extra_options: str = "") -> Iterator[str]:
    """A throwaway PostgreSQL with default durability (fsync, synchronous_commit on), unless
    ``extra_options`` (``-c name=value ...``) say otherwise; yields its libpq DSN."""
    root = tempfile.mkdtemp(prefix="deconflict-bench-pg.")
    as_pg: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = f"{root}/data"
    subprocess.run(
        [*as_pg, f"{PGBIN}/initdb", "-D", data, "-U", "postgres", "-A", "trust",
         "-E", "UTF8", "--locale=C.UTF-8"],
        check=True, capture_output=True,
    )  # fmt: skip
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=400"
    opts += f" {extra_options}" if extra_options else ""
    subprocess.run(
        [*as_pg, f"{PGBIN}/pg_ctl", "-D", data, "-l", f"{root}/log", "-w", "-o", opts, "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        subprocess.run(
            [*as_pg, f"{PGBIN}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def new_database(dsn: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = dict(p.split("=", 1) for p in dsn.split())
    return f"postgresql://{parts.get('user', 'postgres')}@{parts['host']}:{parts['port']}/{name}"


# ------------------------------------------------------------------------------------- 1. table
def states(n: int, t: float, offset: int = 0) -> tuple[list[str], dict[str, Any]]:
    rng = np.random.default_rng(offset)
    ids = [f"ac{offset + k:07d}" for k in range(n)]
    cols = {
        "time_s": np.full(n, t),
        "lat_deg": rng.uniform(40, 50, n),
        "lon_deg": rng.uniform(0, 10, n),
        "alt_ft": rng.uniform(0, 40000, n),
        "gs_kt": rng.uniform(100, 500, n),
        "track_deg": rng.uniform(0, 360, n),
        "vs_fpm": np.zeros(n),
    }
    return ids, cols


def table_bench(dsn: str, quick: bool) -> None:
    url = new_database(dsn)
    upgrade(url)
    db = Database(url)
    with db.write() as s:
        s.connection().exec_driver_sql(
            "CREATE TABLE live_latest_plain (LIKE live_latest INCLUDING ALL)"
        )
        persistence = (
            s.connection()
            .exec_driver_sql("SELECT relpersistence FROM pg_class WHERE relname = 'live_latest'")
            .scalar()
        )
    assert persistence == "u", "migration 0007 should create an UNLOGGED table"
    small_n = 300 if quick else 1000
    big_n, read_n = (2_000, 20_000) if quick else (10_000, 100_000)
    original, original_load = live_state_sql._PG_UPSERT, live_state_sql._PG_LOAD
    tables = ("live_latest_plain", "live_latest")
    times: dict[tuple[str, str], list[float]] = {}

    def timed(table: str, op: str, fn: Any) -> None:
        """Run ``fn`` against ``table`` and record its wall time under ``op``."""
        live_state_sql._PG_UPSERT = original.replace("live_latest", table)
        live_state_sql._PG_LOAD = original_load.replace("live_latest", table)
        t0 = time.perf_counter()
        fn()
        times.setdefault((op, table), []).append(time.perf_counter() - t0)

    def upsert(ids: list[str], cols: dict[str, Any]) -> None:
        with db.write() as s:
            live_state_sql.upsert_latest(s, "P", ids, cols, None)

    def load() -> None:
        with db.read() as s:
            assert len(live_state_sql.load_latest(s, newer_than_s=0.0).ids) == read_n

    # the two tables alternate operation by operation (order flipped each time), so that a
    # busy machine slows both alike: the ratio stays meaningful when absolute times are not
    op_small = "20-aircraft batch + commit, p50 ms"
    op_big = f"{big_n}-aircraft batch + commit, median ms"
    op_read = f"load_latest {read_n} states, median ms"
    try:
        for k in range(small_n):
            ids, cols = states(20, 1000.0 + k, offset=(k % 500) * 20)
            for table in tables if k % 2 else tables[::-1]:
                timed(table, op_small, lambda i=ids, c=cols: upsert(i, c))
        for k in range(6):
            ids, cols = states(big_n, 5000.0 + k, offset=100_000 + k * big_n)
            for table in tables if k % 2 else tables[::-1]:
                timed(table, op_big, lambda i=ids, c=cols: upsert(i, c))
        for table in tables:
            with db.write() as s:
                s.connection().exec_driver_sql(f"TRUNCATE {table}")
            live_state_sql._PG_UPSERT = original.replace("live_latest", table)
            for start in range(0, read_n, 10_000):
                upsert(*states(min(10_000, read_n - start), 9000.0, offset=start))
        for k in range(6):
            for table in tables if k % 2 else tables[::-1]:
                timed(table, op_read, load)
    finally:
        live_state_sql._PG_UPSERT, live_state_sql._PG_LOAD = original, original_load
        db.dispose()
    rows = {
        table: {
            op: 1e3 * statistics.median(times[(op, table)]) for op in (op_small, op_big, op_read)
        }
        for table in tables
    }
    print("\n1. live_latest storage on a durable PostgreSQL 15 (fsync on)")
    print(f"{'operation':<44} {'plain':>10} {'UNLOGGED':>10} {'ratio':>7}")
    for op in rows["live_latest"]:
        a, b = rows["live_latest_plain"][op], rows["live_latest"][op]
        print(f"{op:<44} {a:>10.2f} {b:>10.2f} {b / a:>7.2f}")


# -------------------------------------------------------------------------------------- 3. tail
def tail_bench(dsn: str, quick: bool) -> None:
    """Full read vs changed-rows read of the shared states, with merge (see the docstring)."""
    url = new_database(dsn)
    upgrade(url)
    db = Database(url)
    n, changed, batch, cycles = (20_000, 4_000, 1_000, 4) if quick else (100_000, 20_000, 5_000, 8)
    parties_ = [f"P{k}" for k in range(PARTIES)]
    rng = np.random.default_rng(7)
    original = live_state_sql._PG_UPSERT
    with db.write() as s:
        s.connection().exec_driver_sql(
            "CREATE UNLOGGED TABLE live_latest_noxid (LIKE live_latest INCLUDING ALL)"
        )
        s.connection().exec_driver_sql("DROP INDEX live_latest_noxid_xid_idx")

    def upsert(table: str, ids: list[str], cols: dict[str, Any]) -> float:
        live_state_sql._PG_UPSERT = original.replace("live_latest", table)
        t0 = time.perf_counter()
        with db.write() as s:
            live_state_sql.upsert_latest(s, parties_[int(ids[0][2:]) % PARTIES], ids, cols, None)
        live_state_sql._PG_UPSERT = original
        return time.perf_counter() - t0

    def read(latest: LatestStates, since: int | None, cutoff: float) -> tuple[int | None, int]:
        with db.read() as s:
            stored = live_state_sql.load_latest(s, newer_than_s=cutoff, changed_since=since)
        merge_states(latest, stored)
        return stored.xmin, len(stored.ids)

    t0 = 1_000_000.0
    full, tail = LatestStates(), LatestStates()
    wall: dict[str, list[float]] = {"full": [], "tail": []}
    cpu: dict[str, list[float]] = {"full": [], "tail": []}
    rows: dict[str, list[int]] = {"full": [], "tail": []}
    ups: dict[str, list[float]] = {"live_latest": [], "live_latest_noxid": []}
    try:
        for table in ("live_latest", "live_latest_noxid"):
            for start in range(0, n, 10_000):
                ids, cols = states(min(10_000, n - start), t0, offset=start)
                upsert(table, ids, cols)
        with db.write() as s:
            s.connection().exec_driver_sql("ANALYZE live_latest")
        watermark, _ = read(tail, None, t0 - 30.0)  # the new leader's full read
        read(full, None, t0 - 30.0)
        for c in range(1, cycles + 1):
            now = t0 + c
            picked = np.sort(rng.choice(n, changed, replace=False))
            for b in range(0, changed, batch):
                part = picked[b : b + batch]
                ids, cols = states(len(part), now, offset=0)
                ids = [f"ac{int(k):07d}" for k in part]
                tables = ["live_latest", "live_latest_noxid"]
                for table in tables if (c + b) % 2 else tables[::-1]:
                    ups[table].append(upsert(table, ids, cols))
            for kind in ("full", "tail") if c % 2 else ("tail", "full"):
                c0, w0 = time.process_time(), time.perf_counter()
                if kind == "full":
                    _, got = read(full, None, now - 30.0)
                else:
                    watermark, got = read(tail, watermark, now - 30.0)
                wall[kind].append(time.perf_counter() - w0)
                cpu[kind].append(time.process_time() - c0)
                rows[kind].append(got)
        a, b_ = full.snapshot(t0 + cycles, 30.0).states, tail.snapshot(t0 + cycles, 30.0).states
        ia = {x: k for k, x in enumerate(a.ids)}
        same = len(a.ids) == len(b_.ids) and all(
            b_.time_s[k] == a.time_s[ia[x]] and b_.lat_deg[k] == a.lat_deg[ia[x]]
            for k, x in enumerate(b_.ids)
        )
    finally:
        live_state_sql._PG_UPSERT = original
        db.dispose()
    med = statistics.median
    print(f"\n3. leader's read of {n:,} shared states, {changed:,} changed per cycle, "
          f"{cycles} cycles (wall and client CPU per read incl. merge_states)")  # fmt: skip
    print(f"{'read':<34} {'rows (median)':>14} {'wall ms':>9} {'CPU ms':>8}")
    for kind, label in (
        ("full", "full read (session 3, reference)"),
        ("tail", "changed rows (xid)"),
    ):
        print(f"{label:<34} {med(rows[kind]):>14,.0f} {1e3 * med(wall[kind]):>9.1f} "
              f"{1e3 * med(cpu[kind]):>8.1f}")  # fmt: skip
    print(
        f"   ratio changed/full: wall {med(wall['tail']) / med(wall['full']):.2f}, "
        f"CPU {med(cpu['tail']) / med(cpu['full']):.2f}; same states at the end: {same}"
    )
    up_x, up_0 = med(ups["live_latest"]), med(ups["live_latest_noxid"])
    print(
        f"   {batch}-row upsert + commit, median: with xid index {1e3 * up_x:.1f} ms, "
        f"without {1e3 * up_0:.1f} ms (ratio {up_x / up_0:.2f})"
    )


# -------------------------------------------------------------------------------------- 2. load
def seed(url: str, data_dir: Path) -> list[tuple[str, str]]:
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    out = []
    try:
        with db.write() as s:
            ids = []
            for i in range(PARTIES):
                p = parties.create_party(s, f"Load party {i:02d}", now=now)
                ids.append(p.id)
                out.append((p.id, parties.create_key(s, p.id, "duty_officer", now=now)[1]))
            agreements.create_agreement(s, "load", policy="advisory", parties=ids, now=now)
    finally:
        db.dispose()
    audit.load_or_create_signer(data_dir)
    return out


def start_replica(url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "DECONFLICT_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "deconflict"), "serve", "--db", url,
         "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}"


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("replica exited")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} not ready")


def notice_body(rng: random.Random, base: datetime) -> dict[str, Any]:
    start = base + timedelta(hours=80 + rng.uniform(0, 24 * 20))
    lower = rng.choice([0, 5000, 10000, 20000])
    return {
        "category": "exercise",
        "volumes": [
            {
                "footprint": {
                    "type": "circle",
                    "center": [round(rng.uniform(-5, 25), 4), round(rng.uniform(40, 60), 4)],
                    "radius_nm": round(rng.uniform(2, 10), 2),
                },
                "altitude": {"lower": lower, "upper": lower + 5000, "reference": "ft_amsl"},
                "start": start.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
                "end": (start + timedelta(hours=2))
                .replace(microsecond=0)
                .isoformat()
                .replace("+00:00", "Z"),
            }
        ],
    }


def track_body(client: int, rng: random.Random) -> dict[str, Any]:
    n = 20
    return {
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "id": [f"c{client:03d}-{k:02d}" for k in range(n)],
        "lat": [round(rng.uniform(40, 50), 4) for _ in range(n)],
        "lon": [round(rng.uniform(0, 10), 4) for _ in range(n)],
        "alt_ft": [rng.choice([25000, 30000, 35000]) for _ in range(n)],
        "gs_kt": [450] * n,
        "track_deg": [round(rng.uniform(0, 360), 1) for _ in range(n)],
        "vs_fpm": [0] * n,
    }


async def load(bases: list[str], keys: list[tuple[str, str]], clients: int, seconds: float):  # type: ignore[no-untyped-def]
    results: dict[str, list[float]] = {"notice": [], "tracks": []}
    statuses: dict[int, int] = {}
    retry_after_missing = 0
    base_t = datetime.now(UTC)
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(k: int, http: httpx.AsyncClient) -> None:
        nonlocal retry_after_missing
        rng = random.Random(k)
        _, key = keys[k % len(keys)]
        headers = {"Authorization": f"Bearer {key}"}
        base = bases[k % len(bases)]  # a round-robin load balancer
        turn = k % 2
        while time.perf_counter() < deadline:
            kind = "notice" if turn == 0 else "tracks"
            turn ^= 1
            t0 = time.perf_counter()
            try:
                if kind == "notice":
                    r = await http.post(
                        f"{base}/v1/notices", json=notice_body(rng, base_t), headers=headers
                    )
                else:
                    r = await http.post(
                        f"{base}/v1/tracks", json=track_body(k, rng), headers=headers
                    )
                code = r.status_code
                if code == 503 and "retry-after" not in r.headers:
                    retry_after_missing += 1
            except httpx.HTTPError:
                code = -1
            results[kind].append(time.perf_counter() - t0)
            statuses[code] = statuses.get(code, 0) + 1
            if code == 503:
                await asyncio.sleep(0.2)

    async with httpx.AsyncClient(timeout=60.0, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(k, http) for k in range(clients)))
        elapsed = time.perf_counter() - t0
    return results, statuses, elapsed, retry_after_missing


def load_bench(dsn: str, clients: int, seconds: float, replicas: int = 3) -> float:
    """One mixed-load run on a fresh database; prints its figures, returns requests/s."""
    url = new_database(dsn)
    data_dir = Path(tempfile.mkdtemp(prefix="deconflict-bench-replicas."))
    keys = seed(url, data_dir)
    procs = [start_replica(url, data_dir) for _ in range(replicas)]
    try:
        for proc, base in procs:
            wait_ready(base, proc)
        bases = [base for _, base in procs]
        results, statuses, elapsed, no_retry = asyncio.run(load(bases, keys, clients, seconds))
        roles = [httpx.get(f"{b}/ready", timeout=5).json()["role"] for b in bases]
    finally:
        for proc, _ in procs:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)
    total = sum(statuses.values())
    five = sum(n for c, n in statuses.items() if c >= 500 and c != 503)
    print(f"\n2. mixed load: {replicas} replica(s) ({', '.join(roles)}), {clients} clients, "
          f"{seconds:.0f} s")  # fmt: skip
    print(f"   statuses: {dict(sorted(statuses.items()))} (-1: connection error)")
    print(f"   5xx (not 503): {five}   503: {statuses.get(503, 0)}   503 without Retry-After: "
          f"{no_retry}   requests/s: {total / elapsed:.0f}")  # fmt: skip
    for kind, times in results.items():
        if times:
            q = np.percentile(np.asarray(times) * 1e3, [50, 99])
            print(f"   {kind:<7} n={len(times):>6}  p50 {q[0]:>7.1f} ms  p99 {q[1]:>7.1f} ms")
    return float(total / elapsed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dsn", help="libpq DSN of an existing server (superuser)")
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--only", choices=("table", "load", "tail"), default=None)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up the cluster on TERM
    clients = args.clients or (50 if args.quick else 200)
    seconds = args.seconds or (10.0 if args.quick else 30.0)
    print(f"bench_replicas {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())} "
          f"on {os.cpu_count()} CPU(s)")  # fmt: skip

    def run(dsn: str) -> None:
        if args.only in (None, "table"):
            table_bench(dsn, args.quick)
        if args.only in (None, "tail"):
            tail_bench(dsn, args.quick)
        if args.only in (None, "load"):
            one = load_bench(dsn, clients, seconds, replicas=1)  # the reference, same run
            three = load_bench(dsn, clients, seconds, replicas=3)
            print(f"\n   3 replicas / 1 replica, requests/s: {three / one:.2f}")

    if args.dsn:
        run(args.dsn)
    else:
        with durable_cluster() as dsn:
            run(dsn)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
