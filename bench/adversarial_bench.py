"""Adversarial benchmark (issue 11): throughput under concurrency, memory, geometry validation.

1. Notices/s and p95 latency with 20 and 100 concurrent clients (each alternating notice
   creates and track posts; ``tests/adversarial/load_client.py`` in a separate process) against
   the broker served by uvicorn on loopback, on SQLite, and on PostgreSQL with ``--pg DSN``;
   503s (the overload answer) are counted, any other 5xx is a failure. Reference: 1 client.
2. Server RSS while 10,000 co-located aircraft of one party are in the live picture.
3. Validation time of 1k / 10k / 20k / 50k-vertex polygons (50k is over the cap: refused);
   reference: the former O(n^2) distinct-vertex count on the 1k polygon.

Run: ``.venv/bin/python bench/adversarial_bench.py [--quick] [--pg "host=... port=..."]``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "adversarial"))

from adv_kit import BrokerProcess, operator_key, seed_world

from deconflict.geo import footprints


def _tracks(prefix: str, k: int, n: int = 5) -> dict[str, Any]:
    return {
        "time": datetime.now(UTC).timestamp(),
        "id": [f"{prefix}{k}-{j}" for j in range(n)],
        "lat": [10.0 + 0.01 * j for j in range(n)],
        "lon": [20.0 + 0.05 * k] * n,
        "alt_ft": [10_000.0] * n,
        "gs_kt": [300.0] * n,
        "track_deg": [90.0] * n,
        "vs_fpm": [0.0] * n,
    }


LOAD_CLIENT = Path(__file__).resolve().parent.parent / "tests" / "adversarial" / "load_client.py"


def load(base_url: str, keys: list[str], clients: int, seconds: float) -> dict[str, float]:
    """``clients`` asyncio clients in a separate process (``load_client.py``) for ``seconds``:
    they alternate notice creates and track posts; 503s back off by Retry-After / 4."""
    out = subprocess.run(
        [sys.executable, str(LOAD_CLIENT), base_url, keys[0], keys[1], str(clients),
         str(seconds), "30"],
        capture_output=True, check=True, timeout=seconds + 120,
    ).stdout  # fmt: skip
    r = json.loads(out)
    codes = {int(k): v for k, v in r["statuses"].items()}
    return {
        "notices_s": float(r["notices_per_s"]),
        "p95_ms": float(r["p95_s"] or float("nan")) * 1000,
        "n503": codes.get(503, 0),
        "bad5xx": sum(v for c, v in codes.items() if c >= 500 and c != 503),
        "requests": sum(codes.values()),
    }


def throughput(url: str, data: Path, seconds: float, label: str) -> None:
    key = operator_key(url)
    server = BrokerProcess(url, data).start()
    try:
        world = seed_world(server, key)
        keys = [world.keys["A.duty_officer"], world.keys["B.duty_officer"]]
        ref = load(server.base_url, keys, 1, seconds / 2)
        print(
            f"{label:10s}   1 client : {ref['notices_s']:7.1f} notices/s  "
            f"p95 {ref['p95_ms']:7.1f} ms"
        )
        for clients in (20, 100):
            r = load(server.base_url, keys, clients, seconds)
            ratio = r["notices_s"] / ref["notices_s"] if ref["notices_s"] else float("nan")
            print(
                f"{label:10s} {clients:3d} clients: {r['notices_s']:7.1f} notices/s "
                f"(x{ratio:.2f} of 1 client)  p95 {r['p95_ms']:7.1f} ms  "
                f"503: {r['n503']:.0f}  other 5xx: {r['bad5xx']:.0f}  requests: {r['requests']:.0f}"
            )
        world.client.close()
    finally:
        server.stop()


def colocated_memory(data: Path) -> None:
    url = f"sqlite:///{(data / 'mem.sqlite3').as_posix()}"
    key = operator_key(url)
    server = BrokerProcess(url, data).start()
    try:
        world = seed_world(server, key)
        base = server.rss_mb()
        n = 10_000
        body = {**_tracks("X", 0, n), "lat": [35.0] * n, "lon": [30.0] * n}
        r = world.post("A.duty_officer", "/v1/tracks", body)
        peak = base
        t_end = time.monotonic() + 8
        while time.monotonic() < t_end:
            peak = max(peak, server.rss_mb())
            time.sleep(0.2)
        print(
            f"co-located 10,000 aircraft: HTTP {r.status_code}, server RSS {base:.0f} MB before, "
            f"peak {peak:.0f} MB over 8 s (limit 1,500 MB)"
        )
        world.client.close()
    finally:
        server.stop()


def _ring(n: int) -> list[list[float]]:
    pts = []
    for k in range(n):
        a = 2 * math.pi * k / n
        r = 1.0 + 0.05 * math.sin(7 * a)
        pts.append([20 + 1.5 * r * math.cos(a), 50 + r * math.sin(a)])
    return [*pts, pts[0]]


def _distinct_quadratic(points: list[tuple[float, float]]) -> int:
    seen: list[tuple[float, float]] = []
    for p in points:
        if not any(footprints._same(p, q) for q in seen):
            seen.append(p)
    return len(seen)


def validation() -> None:
    ring1k = _ring(1000)
    t0 = time.perf_counter()
    _distinct_quadratic([(p[0], p[1]) for p in ring1k[:-1]])
    ref = time.perf_counter() - t0
    print(f"reference: O(n^2) distinct count, 1k vertices: {ref * 1000:.0f} ms")
    for n in (1000, 10_000, 20_000, 50_000):
        ring = _ring(n)
        times = []
        outcome = "valid"
        for _ in range(3):
            t0 = time.perf_counter()
            try:
                fp = footprints.footprint_from_json({"type": "polygon", "coordinates": [ring]})
                _ = fp.core
            except Exception as exc:  # the cap: a 422 over HTTP
                outcome = f"refused ({type(exc).__name__})"
            times.append(time.perf_counter() - t0)
        best = statistics.median(times)
        print(
            f"polygon {n:6d} vertices: {best * 1000:8.2f} ms  {outcome}  (x{best / ref:.2f} of ref)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pg", default="", help="libpq DSN of a PostgreSQL server (superuser)")
    args = parser.parse_args()
    seconds = 4.0 if args.quick else 10.0
    print(f"machine: 2-core VM; {time.strftime('%Y-%m-%d %H:%MZ', time.gmtime())}")
    validation()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        colocated_memory(data)
        throughput(f"sqlite:///{(data / 'tp.sqlite3').as_posix()}", data, seconds, "sqlite")
        if args.pg:
            import psycopg

            name = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            parts = dict(p.split("=", 1) for p in args.pg.split())
            url = (
                f"postgresql://{parts.get('user', 'postgres')}@{parts.get('host', '127.0.0.1')}"
                f":{parts.get('port', '5432')}/{name}"
            )
            try:
                throughput(url, data, seconds, "postgresql")
            finally:
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
