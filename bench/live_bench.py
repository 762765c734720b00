"""Live ingest and alert latency over HTTP on loopback.

    .venv/bin/python bench/live_bench.py [--quick] [--aircraft 10000] [--seconds 20]

1. Ingest capacity: two load-generator processes post pre-encoded columnar batches of 5,000
   rows (each party its whole fleet) of 10,000 aircraft of two parties back to back; prints
   state updates accepted per second.
   Reference, same process: the same batches validated and applied in memory without HTTP
   or database (``parse_batch`` + ``LatestStates.update``).
2. Alert latency: the 10,000 aircraft update once per second (paced) while pairs of new
   aircraft of the two parties are injected on collision courses; for each, the time from the
   ``POST /v1/tracks`` response (state accepted) to the ``raised`` alert arriving on party A's
   connected ``/v1/stream`` client. Prints p50 / p99 / max, and the engine's detection cycle time.

Targets (issue 5): ingest >= 20,000 updates/s; p99 accepted -> alert <= 1 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from deconflict.broker import parties
from deconflict.broker.live import LiveEngine
from deconflict.cli.demo import BackgroundServer
from deconflict.live.batch import parse_batch
from deconflict.live.engine import LiveConfig
from deconflict.live.latest import LatestStates
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.web.routes.alerts import live_app

BATCH = 5000


class Fleet:
    """``n`` aircraft of parties A and B over Europe and the Mediterranean, straight and level
    at semicircular flight levels."""

    def __init__(self, n: int, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.n = n
        self.ids = [f"{'a' if k % 2 == 0 else 'b'}{k:06d}" for k in range(n)]
        self.lat = rng.uniform(32.0, 66.0, n)
        self.lon = rng.uniform(-20.0, 40.0, n)
        self.gs = rng.uniform(400.0, 480.0, n)
        self.track = rng.uniform(0.0, 360.0, n)
        # Semicircular rule: eastbound odd levels FL210-FL410, westbound even FL200-FL400.
        level = rng.integers(0, 11, n) * 20 + 200
        self.alt = np.where(self.track < 180.0, level + 10, level).astype(float) * 100.0

    def batches(self, t_s: float, when: datetime) -> list[tuple[str, bytes]]:
        """Encoded batches (party, body) of the fleet ``t_s`` seconds after the start."""
        dist = self.gs * t_s / 3600.0
        lat = self.lat + dist * np.cos(np.radians(self.track)) / 60.0
        lon = self.lon + dist * np.sin(np.radians(self.track)) / (
            60.0 * np.cos(np.radians(self.lat))
        )
        stamp = when.timestamp()
        out = []
        for party, parity in (("A", 0), ("B", 1)):
            rows = np.arange(parity, self.n, 2)
            for start in range(0, rows.size, BATCH):
                sel = rows[start : start + BATCH]
                body = {
                    "time": stamp,
                    "id": [self.ids[k] for k in sel],
                    "lat": np.round(lat[sel], 6).tolist(),
                    "lon": np.round(lon[sel], 6).tolist(),
                    "alt_ft": self.alt[sel].tolist(),
                    "gs_kt": np.round(self.gs[sel], 1).tolist(),
                    "track_deg": np.round(self.track[sel], 1).tolist(),
                    "vs_fpm": [0.0] * sel.size,
                }
                out.append((party, json.dumps(body).encode()))
        return out


def start(tmp: Path, min_gap_s: float) -> tuple[BackgroundServer, Any, dict[str, str]]:
    url = f"sqlite:///{(tmp / 'bench.sqlite3').as_posix()}"
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    keys: dict[str, str] = {}
    with db.write() as s:
        for name in ("A", "B"):
            pid = parties.create_party(s, f"Party {name}", now=now).id
            _, keys[name] = parties.create_key(s, pid, "duty_officer", now=now)
    db.dispose()
    settings = Settings(db_url=url, data_dir=tmp, sse_heartbeat_s=1.0, sse_poll_s=1.0)
    config = LiveConfig.from_settings(settings, max_batch_rows=BATCH, min_gap_s=min_gap_s)
    app = live_app(settings, config=config)
    server = BackgroundServer(app)
    server.start()
    while getattr(app.state, "live_engine", None) is None:
        time.sleep(0.05)
    return server, app, keys


def _sender(
    url: str,
    keys: dict[str, str],
    bodies: list[tuple[str, bytes]],
    seconds: float,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """One load-generator process: once every sender is ready, post the batches back to back
    for ``seconds``."""
    accepted = 0
    with httpx.Client(base_url=url, timeout=60.0) as client:
        client.get("/health")
        ready.put(True)
        go.wait()
        started = time.time()
        while time.time() < started + seconds:
            for party, body in bodies:
                r = client.post(
                    "/v1/tracks",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {keys[party]}",
                        "Content-Type": "application/json",
                    },
                )
                r.raise_for_status()
                accepted += int(r.json()["accepted"])
        out.put((accepted, started, time.time()))


def ingest_capacity(url: str, keys: dict[str, str], fleet: Fleet, seconds: float) -> float:
    """Updates/s accepted from two load-generator *processes* posting as fast as they can
    (separate processes, so the clients do not share the server's interpreter lock)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    batches = fleet.batches(0.0, datetime.now(UTC))
    ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_sender, args=(url, keys, batches[w::2], seconds, ready, go, out))
        for w in range(2)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=300)
    go.set()
    results = [out.get(timeout=seconds + 300) for _ in procs]
    for proc in procs:
        proc.join()
    total = sum(r[0] for r in results)
    return total / (max(r[2] for r in results) - min(r[1] for r in results))


def reference_capacity(fleet: Fleet, seconds: float) -> float:
    """Updates/s of validation + in-memory update alone (no HTTP, no database)."""
    latest = LatestStates()
    batches = fleet.batches(0.0, datetime.now(UTC))
    done = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        for party, body in batches:
            parsed = parse_batch(
                json.loads(body),
                now_s=time.time(),
                max_rows=BATCH,
                max_future_s=10,
                max_past_s=120,
            )
            latest.update(party, parsed.ids, parsed.columns)
            done += len(parsed)
    return done / (time.monotonic() - t0)


class AlertWatcher:
    """Party A's stream: records when each injected pair's ``raised`` alert arrives."""

    def __init__(self, url: str, key: str) -> None:
        self.arrivals: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, args=(url, key), daemon=True)
        self._thread.start()

    def _run(self, url: str, key: str) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        with (
            httpx.Client(base_url=url, timeout=None) as client,
            client.stream("GET", "/v1/stream", headers=headers) as response,
        ):
            event = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "alert":
                    payload = json.loads(line[5:])
                    if payload.get("event") != "raised":
                        continue
                    for own in payload["alert"]["own"]:
                        ref = own.get("id", "")
                        if ref.startswith("inj-a-") and ref not in self.arrivals:
                            self.arrivals[ref] = time.monotonic()


def alert_latency(
    url: str, keys: dict[str, str], fleet: Fleet, engine: LiveEngine, seconds: int
) -> tuple[list[float], list[float], list[float]]:
    """Paced 1 Hz updates of the fleet plus one injected pair per second."""
    watcher = AlertWatcher(url, keys["A"])
    time.sleep(1.0)
    accepted_at: dict[str, float] = {}
    cycles: list[float] = []
    detects: list[float] = []
    with httpx.Client(base_url=url, timeout=60.0) as client:
        t0 = time.monotonic()
        for second in range(seconds):
            when = datetime.now(UTC)
            for party, body in fleet.batches(float(second), when):
                client.post(
                    "/v1/tracks",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {keys[party]}",
                        "Content-Type": "application/json",
                    },
                ).raise_for_status()
            # A head-on pair 20 NM apart at FL430 (above the fleet), far from each other pair.
            lat = -30.0 + second * 0.5
            for party, dlon, track in (("A", 0.0, 90.0), ("B", 20.0 / 60.0, 270.0)):
                body = {
                    "time": datetime.now(UTC).timestamp(),
                    "id": [f"inj-{party.lower()}-{second}"],
                    "lat": [lat],
                    "lon": [10.0 + dlon],
                    "alt_ft": [43000.0],
                    "gs_kt": [450.0],
                    "track_deg": [track],
                    "vs_fpm": [0.0],
                }
                r = client.post(
                    "/v1/tracks", json=body, headers={"Authorization": f"Bearer {keys[party]}"}
                )
                r.raise_for_status()
            accepted_at[f"inj-a-{second}"] = time.monotonic()
            cycles.append(engine.stats.last_cycle_s)
            detects.append(float(engine.stats.conflicts))
            time.sleep(max(0.0, t0 + second + 1 - time.monotonic()))
    time.sleep(3.0)
    latencies = [watcher.arrivals[k] - t for k, t in accepted_at.items() if k in watcher.arrivals]
    missing = len(accepted_at) - len(latencies)
    if missing:
        print(f"  WARNING: {missing} injected alerts never arrived")
        latencies += [float("inf")] * missing
    return latencies, cycles, detects


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(np.ceil(q * len(ordered))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 aircraft, short runs")
    parser.add_argument("--aircraft", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument(
        "--min-gap",
        type=float,
        default=LiveConfig.min_gap_s,
        help="engine: least time between two cycle starts (s)",
    )
    args = parser.parse_args()
    n = 2000 if args.quick else args.aircraft
    seconds = 8 if args.quick else args.seconds
    fleet = Fleet(n)
    with tempfile.TemporaryDirectory() as tmp:
        server, app, keys = start(Path(tmp), args.min_gap)
        try:
            ref = reference_capacity(fleet, 3.0)
            cap = ingest_capacity(server.url, keys, fleet, min(10.0, seconds))
            engine: LiveEngine = app.state.live_engine
            latencies, cycles, detects = alert_latency(server.url, keys, fleet, engine, seconds)
        finally:
            server.stop()
    print(
        f"live bench: {n} aircraft, 2 parties, batches of {BATCH}, 2-core loopback, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print(f"{'measure':44} {'value':>12} {'target':>10} {'met':>5}")
    print(f"{'ingest over HTTP (updates/s)':44} {cap:12,.0f} {'>= 20000':>10} {cap >= 20000!s:>5}")
    print(f"{'reference: parse + memory only (updates/s)':44} {ref:12,.0f}")
    print(f"{'ratio HTTP+SQLite / reference':44} {cap / ref:12.2f}")
    p50, p99, worst = pct(latencies, 0.5), pct(latencies, 0.99), max(latencies)
    print(f"{'accepted -> alert on stream p50 (s)':44} {p50:12.3f}")
    print(
        f"{'accepted -> alert on stream p99 (s)':44} {p99:12.3f} {'<= 1.0':>10} {p99 <= 1.0!s:>5}"
    )
    print(f"{'accepted -> alert on stream max (s)':44} {worst:12.3f}")
    busy = [c for c in cycles if c > 0]
    if busy:
        print(
            f"{'detection cycle time p50 / max (s)':44} "
            f"{statistics.median(busy):6.3f} / {max(busy):.3f}"
        )
        print(f"{'conflicting pairs per cycle (median)':44} {statistics.median(detects):12.0f}")


if __name__ == "__main__":
    main()
