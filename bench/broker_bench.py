"""Broker benchmark: notice submission with the conflict check, over HTTP on loopback.

1. Latency: ``deconflict serve`` (a subprocess, SQLite, synchronous=NORMAL) holding N stored live
   volumes (default 100,000; one per notice, spread over a 30 x 20 degree region and 30 days);
   one measured client submits notices one after another while a second, concurrent client
   submits too. Reports p50/p95/p99 of the measured client (target: p95 <= 50 ms).
2. Throughput: 20 parties submit concurrently for a fixed time (target: >= 200 accepted/s).

The reference run is the same measurement against an empty database in the same process; the
ratio shows what the 100,000 stored volumes cost. Run: ``.venv/bin/python bench/broker_bench.py
[--quick] [--db postgresql://...]``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from deconflict.broker import agreements, parties
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.store.tables import notices

PARTIES = 20


def iso(t: datetime) -> str:
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def random_volume(rng: random.Random, base: datetime) -> dict[str, Any]:
    start = base + timedelta(hours=80 + rng.uniform(0, 24 * 26))
    lower = rng.choice([0, 5000, 10000, 20000])
    return {
        "footprint": {
            "type": "circle",
            "center": [round(rng.uniform(-5, 25), 5), round(rng.uniform(40, 60), 5)],
            "radius_nm": round(rng.uniform(2, 10), 2),
        },
        "altitude": {"lower": lower, "upper": lower + rng.choice([5000, 10000]),
                     "reference": "ft_amsl"},
        "start": iso(start),
        "end": iso(start + timedelta(hours=rng.uniform(1, 4))),
    }  # fmt: skip


def seed(url: str, stored: int, rng: random.Random) -> list[str]:
    """Parties, keys, an advisory agreement and ``stored`` notices inserted in bulk."""
    upgrade(url)
    db = Database(url, sqlite_synchronous="NORMAL")
    now = datetime.now(UTC)
    keys: list[str] = []
    try:
        with db.write() as s:
            ids = []
            for i in range(PARTIES):
                p = parties.create_party(s, f"Bench party {i:02d}", now=now)
                ids.append(p.id)
                keys.append(parties.create_key(s, p.id, "duty_officer", now=now)[1])
            agreements.create_agreement(s, "bench", policy="advisory", parties=ids, now=now)
        batch: list[dict[str, Any]] = []
        for n in range(stored):
            vol = random_volume(rng, now)
            batch.append(
                {
                    "id": f"{n:032x}",
                    "party_id": ids[n % PARTIES],
                    "version": 1,
                    "state": "notified",
                    "category": "exercise",
                    "priority": 0,
                    "title": "",
                    "body": {"title": "", "category": "exercise", "priority": 0,
                             "volumes": [vol]},
                    "late": False,
                    "signature": None,
                    "created_at": now,
                    "updated_at": now,
                    "end_at": datetime.fromisoformat(vol["end"].replace("Z", "+00:00")),
                    "change_seq": n + 1,
                }
            )  # fmt: skip
            if len(batch) == 5000:
                with db.write() as s:
                    s.execute(insert(notices), batch)
                batch = []
        if batch:
            with db.write() as s:
                s.execute(insert(notices), batch)
    finally:
        db.dispose()
    return keys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    startup_s: float


#: ``--without-live``: serve every route module except the live picture (tracks, alerts), whose
#: background engine re-reads all plans after each notice change; isolates the broker's cost.
_WITHOUT_LIVE = (
    "import sys, deconflict.web.routes as r; "
    "r.ROUTE_MODULES = tuple(m for m in r.ROUTE_MODULES if m not in ('tracks', 'alerts')); "
    "from deconflict.cli import main; raise SystemExit(main(sys.argv[1:]))"
)


def start_server(db_url: str, data_dir: Path, *, without_live: bool = False) -> Server:
    port = free_port()
    exe = [sys.executable, "-c", _WITHOUT_LIVE] if without_live else [
        str(Path(sys.executable).parent / "deconflict")
    ]  # fmt: skip
    env = {**os.environ, "DECONFLICT_DATA_DIR": str(data_dir)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*exe, "serve", "--db", db_url, "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        time.sleep(0.05)
    return Server(proc, url, time.perf_counter() - t0)


def stop(server: Server) -> None:
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.proc.kill()


def latency(server: Server, keys: list[str], n: int, rng: random.Random) -> list[float]:
    """Measured client (party 0) while a concurrent client (party 1) also submits."""
    base = datetime.now(UTC)
    stop_bg = threading.Event()

    def background() -> None:
        r2 = random.Random(99)
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while not stop_bg.is_set():
                body = {"category": "exercise", "volumes": [random_volume(r2, base)]}
                c.post("/v1/notices", json=body, headers={"Authorization": f"Bearer {keys[1]}"})

    bg = threading.Thread(target=background)
    bg.start()
    times: list[float] = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            for i in range(n + 10):
                body = {"category": "exercise", "volumes": [random_volume(rng, base)]}
                t0 = time.perf_counter()
                r = c.post("/v1/notices", json=body, headers={"Authorization": f"Bearer {keys[0]}"})
                dt = time.perf_counter() - t0
                if r.status_code != 201:
                    raise RuntimeError(r.text)
                if i >= 10:  # warm-up
                    times.append(dt)
    finally:
        stop_bg.set()
        bg.join()
    return times


def throughput(server: Server, keys: list[str], seconds: float) -> tuple[int, float]:
    """20 parties submitting concurrently for ``seconds``: (accepted, accepted per second)."""
    base = datetime.now(UTC)
    accepted = [0] * len(keys)
    barrier = threading.Barrier(len(keys) + 1)
    deadline = [0.0]

    def party(i: int) -> None:
        r = random.Random(1000 + i)
        with httpx.Client(base_url=server.url, timeout=60) as c:
            barrier.wait()
            while time.perf_counter() < deadline[0]:
                body = {"category": "exercise", "volumes": [random_volume(r, base)]}
                resp = c.post(
                    "/v1/notices", json=body, headers={"Authorization": f"Bearer {keys[i]}"}
                )
                if resp.status_code == 201:
                    accepted[i] += 1

    threads = [threading.Thread(target=party, args=(i,)) for i in range(len(keys))]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return sum(accepted), sum(accepted) / elapsed


def in_process(url: str, keys: list[str], n: int, rng: random.Random) -> tuple[list[float], float]:
    """The broker service alone (no HTTP, no client): index load time and per-create times."""
    from deconflict.broker.notice_model import NoticeRules
    from deconflict.broker.notices import NoticeService
    from deconflict.broker.parties import authenticate
    from deconflict.broker.strategic_state import StrategicState

    db = Database(url)
    try:
        with db.read() as s:
            party_id = authenticate(s, keys[2], now=datetime.now(UTC)).party_id
        assert party_id is not None
        svc = NoticeService(db, StrategicState(), NoticeRules(lead_times_h={"exercise": 72}))
        t0 = time.perf_counter()
        svc.load()
        load_s = time.perf_counter() - t0
        base = datetime.now(UTC)
        times = []
        for i in range(n + 10):
            body = {"category": "exercise", "volumes": [random_volume(rng, base)]}
            t0 = time.perf_counter()
            result = svc.create(party_id, body)
            if result.status != 201:
                raise RuntimeError(result.body)
            if i >= 10:
                times.append(time.perf_counter() - t0)
        return times, load_s
    finally:
        db.dispose()


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000.0


def run(
    stored: int, n: int, seconds: float, db_url: str | None, tmp: Path, without_live: bool
) -> dict[str, float]:
    rng = random.Random(7)
    url = db_url or f"sqlite:///{tmp / f'bench_{stored}.sqlite3'}"
    t0 = time.perf_counter()
    keys = seed(url, stored, rng)
    seed_s = time.perf_counter() - t0
    service_times, load_s = in_process(url, keys, n, rng)
    server = start_server(url, tmp / "data", without_live=without_live)
    try:
        times = latency(server, keys, n, rng)
        total, rate = throughput(server, keys, seconds)
    finally:
        stop(server)
    return {
        "stored": stored,
        "seed_s": seed_s,
        "load_s": load_s,
        "svc_p50_ms": pct(service_times, 50),
        "svc_p95_ms": pct(service_times, 95),
        "svc_rate": len(service_times) / sum(service_times),
        "startup_s": server.startup_s,
        "p50_ms": pct(times, 50),
        "p95_ms": pct(times, 95),
        "p99_ms": pct(times, 99),
        "accepted": total,
        "rate": rate,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="10,000 volumes, shorter runs")
    ap.add_argument("--stored", type=int, default=None)
    ap.add_argument("--db", default=None, help="empty PostgreSQL URL (default: SQLite)")
    ap.add_argument(
        "--without-live", action="store_true", help="serve without the live-picture engine"
    )
    args = ap.parse_args()
    stored = args.stored or (10_000 if args.quick else 100_000)
    n, seconds = (100, 5.0) if args.quick else (400, 15.0)
    if args.db:
        raise SystemExit("--db: give an empty database per run; only SQLite is automated here")
    with tempfile.TemporaryDirectory(prefix="deconflict-bench.") as d:
        tmp = Path(d)
        ref = run(0, n, seconds, None, tmp, args.without_live)
        big = run(stored, n, seconds, None, tmp, args.without_live)
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    live = "without the live engine" if args.without_live else "all route modules"
    print(f"machine: {os.cpu_count()} cores; {stamp}; SQLite synchronous=NORMAL; {live}")
    print(f"{'stored volumes':>15} {'startup s':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'20-party accepted/s':>20}")  # fmt: skip
    for r in (ref, big):
        print(f"{r['stored']:>15,.0f} {r['startup_s']:>9.1f} {r['p50_ms']:>7.1f} "
              f"{r['p95_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['rate']:>20.1f}")  # fmt: skip
    print("service alone (no HTTP), one writer:")
    for r in (ref, big):
        print(f"{r['stored']:>15,.0f} index load {r['load_s']:.1f} s; create p50 "
              f"{r['svc_p50_ms']:.1f} ms, p95 {r['svc_p95_ms']:.1f} ms, "
              f"{r['svc_rate']:.0f}/s")  # fmt: skip
    print(f"ratio p95 {stored:,} / empty: {big['p95_ms'] / ref['p95_ms']:.2f}x; "
          f"throughput {big['rate'] / ref['rate']:.2f}x")  # fmt: skip
    print(f"target p95 <= 50 ms: {'met' if big['p95_ms'] <= 50 else 'NOT met'}; "
          f">= 200 accepted/s: {'met' if big['rate'] >= 200 else 'NOT met'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
