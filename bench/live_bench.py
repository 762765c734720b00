"""Live ingest and alert latency over HTTP on loopback.

    .venv/bin/python bench/live_bench.py [--quick] [--aircraft 10000] [--seconds 20]
        [--parties 2] [--db URL] [--spread auto] [--report-every auto] [--stages]

    # issue 14 load: 100,000 aircraft of 10 parties
    nice -n 10 .venv/bin/python bench/live_bench.py --aircraft 100000 --parties 10 --seconds 40

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
Targets (issue 14, 100,000 aircraft of 10 parties): cycle <= 1 s end to end; p99 accepted ->
alert <= 1.5 s.

Scaling knobs: ``--parties N`` splits the fleet round-robin into parties A, B, C ... (each
posts its own aircraft, batches of at most 5,000 rows); ``--spread`` is the airspace area as a
multiple of the 10,000-aircraft box (``auto`` = aircraft / 10,000, i.e. the traffic density and
conflicts per aircraft of the 10,000 run; ``1`` packs every aircraft into Europe, conflicts
growing with N^2); ``--report-every`` is each aircraft's update period in seconds (``auto`` =
aircraft / 20,000 rounded up, the issue-5 ingest rate; stale time 30 s); ``--db`` a database URL
(default a fresh SQLite file; a PostgreSQL URL runs the replica code path with one replica;
the database must be empty, e.g. a throwaway cluster as in ``tests/conftest.py``).
``--stages`` also times one in-process cycle stage by stage (no HTTP, SQLite) on the same fleet.
Everything binds 127.0.0.1; every loop is bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import string
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from deconflict.broker import parties
from deconflict.broker.live import LiveEngine
from deconflict.cli.demo import BackgroundServer
from deconflict.live.batch import TrackBatch, parse_batch
from deconflict.live.conformance import find_incursions
from deconflict.live.density import cluster_observations, thin
from deconflict.live.engine import LiveConfig
from deconflict.live.latest import LatestStates
from deconflict.live.observations import (
    conflict_observations,
    incursion_observations,
    nonconformance_observations,
)
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.web.routes.alerts import live_app

BATCH = 5000


class Fleet:
    """``n`` aircraft of ``parties`` parties (A, B, ...; aircraft ``k`` belongs to party
    ``k % parties``) over Europe and the Mediterranean (``spread`` > 1: a box ``spread`` times
    as large, widened east-west to the whole globe, then southward), straight and level at
    semicircular flight levels."""

    def __init__(self, n: int, seed: int = 1, parties: int = 2, spread: float = 1.0) -> None:
        if not 1 <= parties <= 26:
            raise SystemExit("--parties must be 1..26")
        rng = np.random.default_rng(seed)
        self.n = n
        self.parties = [string.ascii_uppercase[k] for k in range(parties)]
        self.party_of = np.arange(n) % parties
        self.ids = [f"{string.ascii_lowercase[k % parties]}{k:06d}" for k in range(n)]
        lon_span = 60.0 * min(max(spread, 1.0), 6.0)
        lat_span = 34.0 * max(spread, 1.0) * 60.0 / lon_span
        self.lat = rng.uniform(max(-80.0, 66.0 - lat_span), 66.0, n)
        self.lon = rng.uniform(10.0 - lon_span / 2, 10.0 + lon_span / 2, n)
        self.gs = rng.uniform(400.0, 480.0, n)
        self.track = rng.uniform(0.0, 360.0, n)
        # Semicircular rule: eastbound odd levels FL210-FL410, westbound even FL200-FL400.
        level = rng.integers(0, 11, n) * 20 + 200
        self.alt = np.where(self.track < 180.0, level + 10, level).astype(float) * 100.0

    def batches(
        self, t_s: float, when: datetime, period: int = 1, slot: int = 0
    ) -> list[tuple[str, bytes]]:
        """Encoded batches (party, body) of the fleet ``t_s`` seconds after the start (only
        the aircraft ``k`` with ``k // parties % period == slot``: one ``period``-th)."""
        dist = self.gs * t_s / 3600.0
        lat = self.lat + dist * np.cos(np.radians(self.track)) / 60.0
        lon = self.lon + dist * np.sin(np.radians(self.track)) / (
            60.0 * np.cos(np.radians(self.lat))
        )
        lon = (lon + 180.0) % 360.0 - 180.0
        lat = np.clip(lat, -90.0, 90.0)
        stamp = when.timestamp()
        out = []
        count = len(self.parties)
        for parity, party in enumerate(self.parties):
            rows = np.arange(parity, self.n, count)
            if period > 1:
                rows = rows[(rows // count) % period == slot]
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


def start(
    tmp: Path, min_gap_s: float, names: list[str], db_url: str | None = None
) -> tuple[BackgroundServer, Any, dict[str, str]]:
    url = db_url or f"sqlite:///{(tmp / 'bench.sqlite3').as_posix()}"
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    keys: dict[str, str] = {}
    with db.write() as s:
        for name in names:
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
    total = float(sum(r[0] for r in results))
    return total / float(max(r[2] for r in results) - min(r[1] for r in results))


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


class CycleWatcher:
    """Records every engine cycle's duration and conflicts (polls the engine's figures)."""

    def __init__(self, engine: LiveEngine) -> None:
        self.engine = engine
        self.cycles: list[float] = []
        self.conflicts: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        seen = self.engine.stats.cycles
        while not self._stop.wait(0.01):
            stats = self.engine.stats
            if stats.cycles != seen:
                seen = stats.cycles
                self.cycles.append(stats.last_cycle_s)
                self.conflicts.append(float(stats.conflicts))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_cycles(engine: LiveEngine, count: int, limit_s: float) -> None:
    """Wait until ``count`` more cycles have finished (at most ``limit_s`` seconds)."""
    target = engine.stats.cycles + count
    deadline = time.monotonic() + limit_s
    while engine.stats.cycles < target and time.monotonic() < deadline:
        time.sleep(0.05)


def alert_latency(
    url: str,
    keys: dict[str, str],
    fleet: Fleet,
    engine: LiveEngine,
    seconds: int,
    period: int = 1,
) -> tuple[list[float], list[float], list[float], float]:
    """Paced updates of the fleet (each aircraft every ``period`` s, a ``period``-th of the
    fleet every second) plus one injected pair per second; also returns the fleet rows
    accepted per second."""
    watcher = AlertWatcher(url, keys["A"])
    time.sleep(1.0)
    accepted_at: dict[str, float] = {}
    rows = 0
    cycle_watch = CycleWatcher(engine)
    with httpx.Client(base_url=url, timeout=120.0) as client:
        t0 = time.monotonic()
        for second in range(seconds):
            when = datetime.now(UTC)
            for party, body in fleet.batches(float(second), when, period, second % period):
                posted = client.post(
                    "/v1/tracks",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {keys[party]}",
                        "Content-Type": "application/json",
                    },
                )
                posted.raise_for_status()
                rows += int(posted.json()["accepted"])
            # A head-on pair 20 NM apart at FL430 (above the fleet), far from each other pair.
            lat = -30.0 + second * 0.5
            for party, dlon, track in (("A", 0.0, 90.0), ("B", 20.0 / 60.0, 270.0)):
                pair = {
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
                    "/v1/tracks", json=pair, headers={"Authorization": f"Bearer {keys[party]}"}
                )
                r.raise_for_status()
            accepted_at[f"inj-a-{second}"] = time.monotonic()
            time.sleep(max(0.0, t0 + second + 1 - time.monotonic()))
        elapsed = time.monotonic() - t0
    deadline = time.monotonic() + 30.0
    while len(watcher.arrivals) < len(accepted_at) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    cycle_watch.stop()
    latencies = [watcher.arrivals[k] - t for k, t in accepted_at.items() if k in watcher.arrivals]
    missing = len(accepted_at) - len(latencies)
    if missing:
        print(f"  WARNING: {missing} injected alerts never arrived")
        latencies += [float("inf")] * missing
    return latencies, cycle_watch.cycles, cycle_watch.conflicts, rows / elapsed


def stage_profile(
    fleet: Fleet, tmp: Path, repeats: int = 3
) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and CPU seconds per stage of a steady-state cycle, in process (no HTTP;
    SQLite): the same calls as ``LiveEngine.cycle`` / ``LiveCore.cycle``, timed one by one,
    after two warm-up cycles (the first raises every alert); ``total`` = a whole
    ``LiveEngine.cycle``. CPU seconds (``time.process_time``, this process only, no other
    thread running) are the figure that holds on a loaded machine."""
    url = f"sqlite:///{(tmp / 'stages.sqlite3').as_posix()}"
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    with db.write() as s:
        pids = [parties.create_party(s, f"Party {p}", now=now).id for p in fleet.parties]
    engine = LiveEngine(db, LiveConfig(max_batch_rows=BATCH))
    engine.recover(now)
    stamp = now.timestamp()
    for k, pid in enumerate(pids):
        rows = np.flatnonzero(fleet.party_of == k)
        for start_row in range(0, rows.size, BATCH):
            sel = rows[start_row : start_row + BATCH]
            cols = {
                "lat_deg": fleet.lat[sel], "lon_deg": fleet.lon[sel], "alt_ft": fleet.alt[sel],
                "gs_kt": fleet.gs[sel], "track_deg": fleet.track[sel],
                "vs_fpm": np.zeros(sel.size), "time_s": np.full(sel.size, stamp),
            }  # fmt: skip
            batch = TrackBatch([fleet.ids[r] for r in sel], None, cols)
            with db.write() as s:
                engine.ingest(s, pid, batch, now)
    for step in (1, 2):
        engine.cycle(now + timedelta(seconds=step))
    core, cfg = engine.core, engine.config
    samples: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    clock = [time.process_time()]

    def lap(name: str, t0: float) -> float:
        t1, c1 = time.perf_counter(), time.process_time()
        samples.setdefault(name, []).append(t1 - t0)
        cpu.setdefault(name, []).append(c1 - clock[0])
        clock[0] = c1
        return t1

    for rep in range(repeats):
        at = now + timedelta(seconds=3 + 2 * rep)
        t, clock[0] = time.perf_counter(), time.process_time()
        with db.read() as s:
            engine._reload_plans(s, at)
        before = {a.id: a.severity for a in core.open_alerts()}
        t = lap("plans reload (db read)", t)
        states, _stale = core.current_states(at)
        t = lap("snapshot + dead reckoning", t)
        dense = thin(states.lat_deg, states.lon_deg, states.alt_ft, states.party, cfg.density)
        near = states if dense.keep.all() else states.select(dense.keep)
        t = lap("density guard (thin)", t)
        found = core.detector(
            near.lat_deg, near.lon_deg, near.alt_ft, near.gs_kt, near.track_deg, near.vs_fpm,
            horizontal_nm=cfg.horizontal_nm, vertical_ft=cfg.vertical_ft,
            lookahead_s=cfg.lookahead_s, vertical_mode=cfg.vertical_mode,
        )  # fmt: skip
        t = lap("detection (tactical kernel)", t)
        obs = conflict_observations(found, near, same_party_opt_in=cfg.same_party_opt_in)
        t = lap("conflict observations", t)
        obs = core.daa.annotate(obs, near, at.timestamp())
        t = lap("DAA annotate + guidance", t)
        obs += cluster_observations(dense.clusters)
        obs += incursion_observations(
            find_incursions(states, core.volumes, core.lines, at, cfg.conformance)
        )
        obs += nonconformance_observations(core.monitor.update(states, core.volumes, at))
        t = lap("conformance (incursions, monitor)", t)
        events = core.tracker.observe(obs, at)
        open_alerts = core.tracker.open_alerts()
        t = lap("alert state machine", t)
        with db.write() as s:
            engine._persist(s, events, at, before)
            t = lap("persist alerts + outbox + ledger", t)
            engine._publish_pictures(s, states, open_alerts, at)
            t = lap("picture events (10 parties)" if len(pids) == 10 else "picture events", t)
        t = lap("commit", t)
        samples.setdefault("conflicts", []).append(float(len(found)))
        samples.setdefault("events", []).append(float(len(events)))
        samples.setdefault("open alerts", []).append(float(len(open_alerts)))
    for rep in range(repeats):
        engine._last_picture = 0.0  # a picture every cycle, as at 1 Hz
        t, clock[0] = time.perf_counter(), time.process_time()
        engine.cycle(now + timedelta(seconds=4 + 2 * repeats + rep))
        lap("total: LiveEngine.cycle", t)
    db.dispose()
    wall = {name: statistics.median(values) for name, values in samples.items()}
    return wall, {name: statistics.median(values) for name, values in cpu.items()}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(np.ceil(q * len(ordered))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 aircraft, short runs")
    parser.add_argument("--aircraft", type=int, default=10_000, help="at most 100,000")
    parser.add_argument("--parties", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--db", default=None, help="database URL (default: a new SQLite file)")
    parser.add_argument("--spread", default="auto", help="airspace area / the 10,000 box")
    parser.add_argument("--report-every", default="auto", help="each aircraft's update period")
    parser.add_argument("--stages", action="store_true", help="in-process stage timing too")
    parser.add_argument("--no-http", action="store_true", help="only the --stages timing")
    parser.add_argument(
        "--min-gap",
        type=float,
        default=LiveConfig.min_gap_s,
        help="engine: least time between two cycle starts (s)",
    )
    args = parser.parse_args()
    n = 2000 if args.quick else args.aircraft
    if not 1 <= n <= 100_000:
        raise SystemExit("--aircraft must be 1..100000")
    seconds = min(8 if args.quick else args.seconds, 300)
    spread = max(1.0, n / 10_000) if args.spread == "auto" else float(args.spread)
    period = math.ceil(n / 20_000) if args.report_every == "auto" else int(args.report_every)
    fleet = Fleet(n, parties=args.parties, spread=spread)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    kind = args.db.split(":")[0] if args.db else "sqlite"
    print(
        f"live bench: {n} aircraft, {args.parties} parties, spread {spread:g}, each aircraft "
        f"every {period} s, batches of {BATCH}, db {kind}, "
        f"2-core loopback, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {' '.join(load)}",
        flush=True,
    )
    stages: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.stages or args.no_http:
            stages, cpu = stage_profile(fleet, Path(tmp))
            print(f"{'in-process stage (median of 3 cycles)':44} {'wall s':>12} {'CPU s':>10}")
            for name, value in stages.items():
                if name in ("conflicts", "events", "open alerts"):
                    print(f"{name:44} {value:12.0f}", flush=True)
                else:
                    print(f"{name:44} {value:12.3f} {cpu[name]:10.3f}", flush=True)
        if args.no_http:
            return
        server, app, keys = start(Path(tmp), args.min_gap, fleet.parties, args.db)
        try:
            ref = reference_capacity(fleet, 3.0)
            cap = ingest_capacity(server.url, keys, fleet, min(10.0, seconds))
            engine: LiveEngine = app.state.live_engine
            wait_cycles(engine, 2, 120.0)  # the first cycle on the full fleet raises every alert
            latencies, cycles, detects, rate = alert_latency(
                server.url, keys, fleet, engine, seconds, period
            )
        finally:
            server.stop()
    big = n >= 100_000
    p99_target = 1.5 if big else 1.0
    print(f"{'measure':44} {'value':>12} {'target':>10} {'met':>5}")
    print(f"{'ingest over HTTP (updates/s)':44} {cap:12,.0f} {'>= 20000':>10} {cap >= 20000!s:>5}")
    print(f"{'reference: parse + memory only (updates/s)':44} {ref:12,.0f}")
    print(f"{f'ratio HTTP+{kind} / reference':44} {cap / ref:12.2f}")
    print(f"{'paced fleet updates accepted (rows/s)':44} {rate:12,.0f}")
    p50, p99, worst = pct(latencies, 0.5), pct(latencies, 0.99), max(latencies)
    print(f"{'accepted -> alert on stream p50 (s)':44} {p50:12.3f}")
    print(
        f"{'accepted -> alert on stream p99 (s)':44} {p99:12.3f} {'<= ' + str(p99_target):>10} "
        f"{p99 <= p99_target!s:>5}"
    )
    print(f"{'accepted -> alert on stream max (s)':44} {worst:12.3f}")
    busy = [c for c in cycles if c > 0]
    if busy:
        target = "<= 1.0" if big else ""
        met = str(max(busy) <= 1.0) if big else ""
        print(
            f"{'detection cycle time p50 / max (s)':44} "
            f"{statistics.median(busy):6.3f} / {max(busy):.3f} {target:>10} {met:>5}"
        )
        print(f"{'cycles during the paced run':44} {len(busy):12d}")
        print(f"{'conflicting pairs per cycle (median)':44} {statistics.median(detects):12.0f}")
    if stages:
        total = stages.get("total: LiveEngine.cycle", float("nan"))
        print(f"{'in-process reference: LiveEngine.cycle (s)':44} {total:12.3f}")


if __name__ == "__main__":
    main()
