"""Live ingest and alert latency over HTTP on loopback, the broker in its own process.

    .venv/bin/python bench/live_bench.py [--quick] [--aircraft 10000] [--seconds 20]
        [--parties 2] [--db URL] [--spread auto] [--report-every auto] [--stages]
        [--detector thread|process] [--senders 2] [--replicas 1]

    # issue 14 load: 100,000 aircraft of 10 parties
    nice -n 5 .venv/bin/python bench/live_bench.py --aircraft 100000 --parties 10 --seconds 20
    # the same on PostgreSQL: one leader that only detects + two --no-lead ingest replicas
    .venv/bin/python bench/live_bench.py --aircraft 100000 --parties 10 --seconds 30 \
        --db pg --replicas 3

Processes, as in a deployment where the clients are other machines: the measured broker is
``deconflict serve`` in its own process (``--detector process``: plus its detection child);
the paced fleet senders are ``--senders`` other processes (bodies pre-encoded ahead of the
pacing by a producer thread; only the ``time`` field is stamped at sending); party A's
``/v1/stream`` watcher is another process; this process injects the pairs and polls the
operator's ``GET /v1/admin/live/stats`` (cycle durations) and ``/proc`` (CPU of the processes).

1. Ingest capacity: two load-generator processes post pre-encoded columnar batches of 5,000
   rows (each party its whole fleet) back to back; prints state updates accepted per second.
   Reference, this process: the same batches validated and applied in memory without HTTP or
   database (``parse_batch`` + ``LatestStates.update``).
2. Alert latency: the fleet updates paced (each aircraft every ``--report-every`` s) while
   pairs of new aircraft of parties A and B are injected on collision courses, one pair per
   second at a random phase; for each, the time from the ``POST /v1/tracks`` response of the
   pair's second aircraft (state accepted) to the ``raised`` alert arriving on party A's
   connected ``/v1/stream`` client (``time.monotonic``, one clock for all processes on Linux).
   Prints p50 / p99 / max, the rows accepted per second, the duration of the paced posts, the
   cycle durations reported by the broker during the run (every cycle, from
   ``recent_cycle_s``), the CPU seconds of the broker, of its descendants (the detection
   process) and of the senders over the run, with the broker's run-queue wait (seconds its
   threads were runnable but got no CPU: the cost of sharing the machine, not of locks), the
   detection process's CPU seconds per cycle, and the load average at the start and end.

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
the database must be empty, e.g. a throwaway cluster as in ``tests/conftest.py``); ``--db pg``
starts a throwaway PostgreSQL 15 cluster with default durability for the run (``pg-fast``:
fsync off, as the tests), which ``make bench`` uses for the three-replica run.
``--replicas N`` (PostgreSQL only) starts N ``deconflict serve`` processes on that database: the
first without ``--no-lead`` (the bench waits until its ``/ready`` role is ``leader``), the other
N - 1 with ``--no-lead``. The capacity and paced senders and the injected pairs post round-robin
to the ``--no-lead`` replicas only, party A's stream is read from the first of them (alerts cross
replicas by ``LISTEN/NOTIFY``), the cycle durations come from the leader's stats. The CPU table
then has one line per replica (with its descendants) and, for a PostgreSQL server on this
machine, its processes: backends grouped by the replica owning the connection (by TCP port).
``--stages`` also times one in-process cycle stage by stage (no HTTP, SQLite) on the same fleet
(``--no-http``: only that).
Everything binds 127.0.0.1; every loop is bounded by ``--seconds`` plus fixed grace periods;
every process started is stopped on exit, also on errors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import queue
import random
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

# The deconflict imports are inside the functions that run in this process: the spawned client
# processes re-import this module (``__mp_main__``) and need none of them (~5 CPU-s each).


BATCH = 5000
THROWAWAY_PG: dict[str, tuple[str, str]] = {
    "pg": ("throwaway cluster, default durability", ""),
    "pg-fast": (
        "throwaway cluster, fsync off",
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
    ),
}
"""``--db`` values that start a PostgreSQL 15 cluster for the run: (label, server options)."""
#: Longest paced run (s).
MAX_SECONDS = 300
#: Seconds of paced bodies a sender encodes ahead of its pacing.
PREFILL_S = 8
#: Extra time a paced run may take beyond ``--seconds`` when the broker falls behind (s).
GRACE_S = 60.0
#: Longest wait for the injected alerts after the paced run (s).
DRAIN_S = 30.0
#: Period of the stats polling (s).
POLL_S = 0.5


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
        self.spread = spread
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

    def tails(
        self, t_s: float, period: int = 1, slot: int = 0, only: frozenset[str] | None = None
    ) -> list[tuple[str, bytes]]:
        """Encoded batches (party, body without its ``time`` field: see :func:`with_time`) of
        the fleet ``t_s`` seconds after the start (only the aircraft ``k`` with
        ``k // parties % period == slot``: one ``period``-th; only the parties in ``only``)."""
        dist = self.gs * t_s / 3600.0
        lat = self.lat + dist * np.cos(np.radians(self.track)) / 60.0
        lon = self.lon + dist * np.sin(np.radians(self.track)) / (
            60.0 * np.cos(np.radians(self.lat))
        )
        lon = (lon + 180.0) % 360.0 - 180.0
        lat = np.clip(lat, -90.0, 90.0)
        out = []
        count = len(self.parties)
        for parity, party in enumerate(self.parties):
            if only is not None and party not in only:
                continue
            rows = np.arange(parity, self.n, count)
            if period > 1:
                rows = rows[(rows // count) % period == slot]
            for start in range(0, rows.size, BATCH):
                sel = rows[start : start + BATCH]
                body = {
                    "id": [self.ids[k] for k in sel],
                    "lat": np.round(lat[sel], 6).tolist(),
                    "lon": np.round(lon[sel], 6).tolist(),
                    "alt_ft": self.alt[sel].tolist(),
                    "gs_kt": np.round(self.gs[sel], 1).tolist(),
                    "track_deg": np.round(self.track[sel], 1).tolist(),
                    "vs_fpm": [0.0] * sel.size,
                }
                out.append((party, json.dumps(body).encode()[1:]))
        return out

    def batches(self, t_s: float, when: datetime) -> list[tuple[str, bytes]]:
        """Whole encoded batches (party, body) of the fleet ``t_s`` s after the start."""
        stamp = when.timestamp()
        return [(party, with_time(stamp, tail)) for party, tail in self.tails(t_s)]


def with_time(stamp_s: float, tail: bytes) -> bytes:
    """A batch body: ``{"time": stamp_s, `` + ``tail`` (a JSON object's members and ``}``)."""
    return b'{"time": ' + repr(stamp_s).encode() + b", " + tail


# ------------------------------------------------------------------------------ processes
def proc_stat(pid: int) -> tuple[float, int, int] | None:
    """(CPU seconds user + system, parent pid, start time in clock ticks) of ``pid`` from
    ``/proc`` (None: gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, int(fields[1]), int(fields[19])


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (one scan of ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[1], []).append(int(entry.name))
    out: list[int] = []
    todo = list(children.get(pid, []))
    while todo and len(out) < 1000:
        child = todo.pop()
        out.append(child)
        todo.extend(children.get(child, []))
    return sorted(out)


def proc_name(pid: int) -> str:
    """A short label of ``pid``'s command line."""
    try:
        argv = [
            a.decode(errors="replace")
            for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if a
        ]
    except OSError:
        return "?"
    text = " ".join(argv)
    if "resource_tracker" in text:
        return "resource tracker"
    if "forkserver" in text:
        return "forkserver"
    if "spawn_main" in text:
        return "spawned child"
    text = " ".join([Path(argv[0]).name, *argv[1:]]) if argv else "?"
    return text if len(text) <= 24 else text[:21] + "..."


_T0 = time.monotonic()


def note(message: str) -> None:
    """A progress line on stderr (seconds since the bench started)."""
    print(f"[{time.monotonic() - _T0:7.1f} s] {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages."""
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed_keys(url: str, names: list[str]) -> tuple[dict[str, str], str]:
    """Migrate ``url``, create parties ``names`` with a duty officer key each and an operator
    key; returns (keys by party, operator key)."""
    from deconflict.broker import parties
    from deconflict.store.base import Database
    from deconflict.store.migrate import upgrade

    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    keys: dict[str, str] = {}
    try:
        with db.write() as s:
            for name in names:
                pid = parties.create_party(s, f"Party {name}", now=now).id
                _, keys[name] = parties.create_key(s, pid, "duty_officer", now=now)
            _, operator = parties.create_key(s, None, "operator", now=now)
    finally:
        db.dispose()
    return keys, operator


class Broker:
    """``deconflict serve`` in its own process on 127.0.0.1 (a free port)."""

    def __init__(
        self, db_url: str, data_dir: Path, detector: str, no_lead: bool = False, index: int = 0
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.no_lead = no_lead
        self.label = f"replica {index + 1} (--no-lead)" if no_lead else "broker"
        self.log_path = data_dir / (f"serve-{index + 1}.log" if index else "serve.log")
        exe = Path(sys.executable).with_name("deconflict")
        cli = [str(exe)] if exe.exists() else [sys.executable, "-c", _CLI]
        self.cmd = [
            *cli, "serve", "--db", db_url, "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "warning",
            *(["--detector", detector] if detector != "thread" else []),
            *(["--no-lead"] if no_lead else []),
        ]  # fmt: skip
        self.env = {
            **os.environ,
            "DECONFLICT_DATA_DIR": str(data_dir),
            "DECONFLICT_SSE_HEARTBEAT_S": "1",
            "DECONFLICT_SSE_POLL_S": "1",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._kids: list[tuple[int, int]] = []

    def start(self, limit_s: float = 600.0, role: str | None = None) -> None:
        """Start the process and wait (at most ``limit_s``: compiling the kernels after a code
        change takes minutes on a loaded machine) until ``/ready`` answers 200 (and, given
        ``role``, reports that role, e.g. ``leader``: the replica holds the lease)."""
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"deconflict serve exited ({self.proc.returncode}):\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError, ValueError):
                r = httpx.get(f"{self.url}/ready", timeout=2.0)
                if r.status_code == 200 and (role is None or r.json().get("role") == role):
                    return
            time.sleep(0.2)
        wanted = f" as {role}" if role else ""
        raise SystemExit(f"deconflict serve not ready{wanted} after {limit_s:.0f} s:\n{self.log()}")

    def log(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the server's output."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def remember_children(self) -> None:
        """Note the server's descendants (pid, start time) so :meth:`stop` can end them."""
        if self.proc is None:
            return
        for pid in descendants(self.proc.pid):
            stat = proc_stat(pid)
            if stat is not None and (pid, stat[2]) not in self._kids:
                self._kids.append((pid, stat[2]))

    def stop(self) -> None:
        """SIGTERM (then SIGKILL after 15 s) the server, then any descendant still alive."""
        if self.proc is None:
            return
        self.remember_children()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            alive = [p for p, t in self._kids if (st := proc_stat(p)) is not None and st[2] == t]
            for pid in alive:
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
            if alive and sig == signal.SIGTERM:
                time.sleep(3.0)
        self.proc = None


_CLI = "import sys; from deconflict.cli import main; sys.exit(main(sys.argv[1:]))"


def _libpq(url: str) -> str:
    """``url`` without a SQLAlchemy driver suffix (``postgresql+psycopg://`` -> libpq's)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.split('+')[0]}://{rest}"


def pg_postmaster(url: str) -> int | None:
    """Pid of the PostgreSQL postmaster serving ``url`` if it runs on this machine (the
    parent of a backend of ours), else None."""
    import psycopg

    with psycopg.connect(_libpq(url), connect_timeout=10) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
    stat = proc_stat(int(row[0])) if row else None
    return stat[1] if stat is not None else None


def local_ports(pid: int) -> set[int]:
    """Local TCP ports of the sockets ``pid`` holds open (``/proc``; IPv4 and IPv6)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def pg_backends(url: str, brokers: list[Broker]) -> dict[int, str]:
    """Owner of each PostgreSQL server process: ``backends of <broker label>`` (matched by
    the client's TCP port), ``other clients`` or the background process type."""
    import psycopg

    owner: dict[int, str] = {}
    for b in brokers:
        if b.proc is not None:
            for pid in [b.proc.pid, *descendants(b.proc.pid)]:
                owner.update(dict.fromkeys(local_ports(pid), b.label))
    with psycopg.connect(_libpq(url), connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT pid, client_port, backend_type FROM pg_stat_activity"
        ).fetchall()
    out = {}
    for pid, port, kind in rows:
        if kind == "client backend":
            name = owner.get(port) if port is not None else None
            out[int(pid)] = f"backends of {name}" if name else "other clients (bench)"
        else:
            out[int(pid)] = str(kind)
    return out


def pg_cpu(
    meter: CpuMeter, postmaster: int, backends: dict[int, str]
) -> list[tuple[str, tuple[float, float] | None]]:
    """CPU lines of the PostgreSQL server over ``meter``'s interval: the total, then by owner
    (see :func:`pg_backends`; processes gone before the end are not counted)."""
    pids = {postmaster, *descendants(postmaster)}
    groups: dict[str, list[float]] = {}
    total = [0.0, 0.0, 0.0]
    for pid in sorted(pids):
        used = meter.used(pid)
        if used is None:
            continue
        label = "postmaster" if pid == postmaster else backends.get(pid, "other processes")
        group = groups.setdefault(label, [0.0, 0.0, 0.0])
        for acc in (group, total):
            acc[0] += used[0]
            acc[1] += used[1]
            acc[2] += 1
    out: list[tuple[str, tuple[float, float] | None]] = [
        (f"PostgreSQL server ({int(total[2])} processes)", (total[0], total[1]))
    ]
    for label, (cpu, wait, count) in sorted(groups.items(), key=lambda kv: -kv[1][0]):
        out.append((f"+ {label} ({int(count)})", (cpu, wait)))
    return out


def stats(url: str, operator: str) -> dict[str, Any]:
    """``GET /v1/admin/live/stats`` of the broker."""
    r = httpx.get(
        f"{url}/v1/admin/live/stats",
        headers={"Authorization": f"Bearer {operator}"},
        timeout=30.0,
    )
    r.raise_for_status()
    body: dict[str, Any] = r.json()
    return body


def wait_cycles(url: str, operator: str, count: int, limit_s: float) -> None:
    """Wait until ``count`` more cycles have finished (at most ``limit_s`` seconds)."""
    target = stats(url, operator)["cycles"] + count
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if stats(url, operator)["cycles"] >= target:
            return
        time.sleep(POLL_S)
    print(f"  WARNING: fewer than {count} cycles within {limit_s:.0f} s")


class StatsPoller:
    """Polls the broker's stats every :data:`POLL_S` and keeps the duration of every cycle
    finished since it started (from ``recent_cycle_s``, by cycle count) and the conflicts of
    the last cycle at each poll that saw a new one."""

    def __init__(self, url: str, operator: str) -> None:
        self.url, self.operator = url, operator
        self.cycles: list[float] = []
        self.conflicts: list[float] = []
        self.missed = 0
        self.errors = 0
        self.detector = ""
        self.timeline: list[tuple[float, int, list[float], int, int]] = []
        """(monotonic time of the poll, cycles finished, durations of the new ones, alerts
        raised so far, live aircraft) at each poll that saw a new cycle."""
        first = stats(url, operator)
        self._seen = int(first["cycles"])
        self.detector = str(first["detector"])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        try:
            body = stats(self.url, self.operator)
        except httpx.HTTPError:
            self.errors += 1
            return
        new = int(body["cycles"]) - self._seen
        if new <= 0:
            return
        recent = [float(v) for v in body["recent_cycle_s"]]
        taken = recent[-new:] if new <= len(recent) else recent
        self.missed += new - len(taken)
        self.cycles.extend(taken)
        self.timeline.append(
            (
                time.monotonic(),
                int(body["cycles"]),
                taken,
                int(body["raised_total"]),
                int(body["live_aircraft"]),
            )
        )
        self.conflicts.append(float(body["conflicts"]))
        self._seen = int(body["cycles"])

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self._poll()

    def stop(self) -> None:
        """Stop polling after one last poll."""
        self._stop.set()
        self._thread.join(timeout=60.0)
        self._poll()


def proc_wait(pid: int) -> float:
    """Seconds the threads of ``pid`` spent runnable but waiting for a CPU (sum over its
    live threads of ``/proc/<pid>/task/<tid>/schedstat`` field 2): time lost to other
    processes on a shared machine, not to locks or I/O."""
    total = 0
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


class CpuMeter:
    """CPU seconds and run-queue waits of some processes between :meth:`start` and
    :meth:`stop` (``/proc``)."""

    def __init__(self) -> None:
        self.t0 = self.t1 = 0.0
        self.before: dict[tuple[int, int], tuple[float, float]] = {}
        self.after: dict[tuple[int, int], tuple[float, float]] = {}
        self.names: dict[tuple[int, int], str] = {}

    def _sample(self, pids: list[int]) -> dict[tuple[int, int], tuple[float, float]]:
        out = {}
        for pid in pids:
            stat = proc_stat(pid)
            if stat is not None:
                out[(pid, stat[2])] = (stat[0], proc_wait(pid))
                self.names.setdefault((pid, stat[2]), proc_name(pid))
        return out

    def start(self, pids: list[int]) -> None:
        self.t0, self.before = time.monotonic(), self._sample(pids)

    def stop(self, pids: list[int]) -> None:
        self.t1, self.after = time.monotonic(), self._sample(pids)

    def used(self, pid: int) -> tuple[float, float] | None:
        """(CPU seconds, run-queue wait seconds) of ``pid`` over the interval (a process
        started within it counts from its start; None: not seen at the end)."""
        for key, (cpu, wait) in self.after.items():
            if key[0] == pid:
                cpu0, wait0 = self.before.get(key, (0.0, 0.0))
                return cpu - cpu0, max(0.0, wait - wait0)
        return None


# ------------------------------------------------------------------------------ clients
def _sender(
    urls: list[str],
    keys: dict[str, str],
    tails: list[tuple[str, bytes]],
    seconds: float,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """One load-generator process: once every sender is ready, post the batches back to back
    for ``seconds`` (round-robin over the brokers ``urls``; each post stamped with the time
    of sending, see :func:`with_time`, so the states are fresh when the phase ends); puts
    (rows accepted, start, end, refused posts) or ``{"error": ...}``."""
    try:
        accepted = refused = turn = 0
        with contextlib.ExitStack() as stack:
            clients = [
                stack.enter_context(httpx.Client(base_url=url, timeout=60.0)) for url in urls
            ]
            for client in clients:
                client.get("/health")
            ready.put(True)
            go.wait(timeout=600)
            started = time.time()
            while time.time() < started + seconds:
                for party, tail in tails:
                    turn += 1
                    r = clients[turn % len(clients)].post(
                        "/v1/tracks",
                        content=with_time(time.time(), tail),
                        headers={
                            "Authorization": f"Bearer {keys[party]}",
                            "Content-Type": "application/json",
                        },
                    )
                    if r.status_code == 200:
                        accepted += int(r.json()["accepted"])
                    else:
                        refused += 1
            out.put((accepted, started, time.time(), refused))
    except Exception as exc:  # reported to the bench, which stops
        ready.put(True)
        out.put({"error": repr(exc)})


def ingest_capacity(urls: list[str], keys: dict[str, str], fleet: Fleet, seconds: float) -> float:
    """Updates/s accepted from two load-generator *processes* posting as fast as they can
    (sender ``w`` starts its round-robin over the brokers ``urls`` at ``urls[w]``)."""
    ctx = multiprocessing.get_context("spawn")
    batches = fleet.tails(0.0)
    ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(
            target=_sender,
            args=(urls[w:] + urls[:w], keys, batches[w::2], seconds, ready, go, out),
        )
        for w in range(2)
    ]
    try:
        for proc in procs:
            proc.start()
        for _ in procs:
            ready.get(timeout=300)
        go.set()
        results = [out.get(timeout=seconds + 300) for _ in procs]
    finally:
        go.set()
        _end(procs)
    failed = [r["error"] for r in results if isinstance(r, dict)]
    if failed:
        raise SystemExit(f"capacity sender failed: {failed[0]}")
    if any(r[3] for r in results):
        print(f"  WARNING: {sum(r[3] for r in results)} capacity posts refused (e.g. 503)")
    total = float(sum(r[0] for r in results))
    return total / float(max(r[2] for r in results) - min(r[1] for r in results))


def _end(procs: list[Any]) -> None:
    """Join the processes (10 s each), terminating and then killing those still running."""
    for proc in procs:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)


def reference_capacity(fleet: Fleet, seconds: float) -> float:
    """Updates/s of validation + in-memory update alone (no HTTP, no database)."""
    from deconflict.live.batch import parse_batch
    from deconflict.live.latest import LatestStates

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


def _paced_sender(
    urls: list[str],
    keys: dict[str, str],
    fleet_args: tuple[int, int, float],
    only: frozenset[str],
    seconds: int,
    period: int,
    ready: Any,
    start_at: Any,
    go: Any,
    out: Any,
) -> None:
    """One paced sender process for the parties ``only``: second ``s`` of the run (from the
    monotonic time ``start_at``) posts that second's share of their fleet, round-robin over
    the brokers ``urls``. A producer thread encodes the bodies up to :data:`PREFILL_S` seconds
    ahead; sending stamps ``time`` only."""
    try:
        n, count, spread = fleet_args
        fleet = Fleet(n, parties=count, spread=spread)
        ahead: queue.Queue[list[tuple[str, bytes]]] = queue.Queue(maxsize=PREFILL_S)
        stop = threading.Event()

        def produce() -> None:
            for second in range(seconds):
                bodies = fleet.tails(float(second), period, second % period, only)
                while not stop.is_set():
                    try:
                        ahead.put(bodies, timeout=0.5)
                        break
                    except queue.Full:
                        continue

        producer = threading.Thread(target=produce, daemon=True)
        producer.start()
        headers = {party: {"Authorization": f"Bearer {keys[party]}"} for party in only}
        for h in headers.values():
            h["Content-Type"] = "application/json"
        rows, errors, took, turn = 0, Counter[int](), [], 0
        with contextlib.ExitStack() as stack:
            clients = [
                stack.enter_context(httpx.Client(base_url=url, timeout=120.0)) for url in urls
            ]
            for client in clients:
                client.get("/health")
            deadline = time.monotonic() + 300.0
            while ahead.qsize() < min(PREFILL_S, seconds) and time.monotonic() < deadline:
                time.sleep(0.05)
            ready.put(os.getpid())
            go.wait(timeout=600)
            t0 = float(start_at.value)
            time.sleep(max(0.0, t0 - time.monotonic()))
            cpu0 = time.process_time()
            for second in range(seconds):
                if time.monotonic() > t0 + seconds + GRACE_S:
                    break
                for party, tail in ahead.get(timeout=120):
                    sent = time.monotonic()
                    turn += 1
                    r = clients[turn % len(clients)].post(
                        "/v1/tracks", content=with_time(time.time(), tail), headers=headers[party]
                    )
                    took.append(time.monotonic() - sent)
                    if r.status_code == 200:
                        rows += int(r.json()["accepted"])
                    else:
                        errors[r.status_code] += 1
                time.sleep(max(0.0, t0 + second + 1 - time.monotonic()))
            end = time.monotonic()
        stop.set()
        cpu = time.process_time() - cpu0
        out.put(
            {"rows": rows, "start": t0, "end": end, "errors": dict(errors), "cpu": cpu,
             "took": took}
        )  # fmt: skip
    except Exception as exc:  # reported to the bench, which stops
        out.put({"error": repr(exc)})
        ready.put(None)


def _watch(url: str, key: str, limit_s: float, ready: Any, stop: Any, out: Any) -> None:
    """Party A's stream client (own process): puts (aircraft id, monotonic arrival time) of
    each injected pair's first ``raised`` alert on ``out`` until ``stop`` or ``limit_s``."""
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + limit_s
        headers = {"Authorization": f"Bearer {key}"}
        timeout = httpx.Timeout(30.0, read=60.0)
        with (
            httpx.Client(base_url=url, timeout=timeout) as client,
            client.stream("GET", "/v1/stream", headers=headers) as response,
        ):
            response.raise_for_status()
            ready.put(True)
            event = ""
            for line in response.iter_lines():
                if stop.is_set() or time.monotonic() > deadline:
                    break
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "alert":
                    payload = json.loads(line[5:])
                    if payload.get("event") != "raised":
                        continue
                    for own in payload["alert"]["own"]:
                        ref = own.get("id", "")
                        if ref.startswith("inj-a-") and ref not in seen:
                            seen.add(ref)
                            out.put((ref, time.monotonic()))
    except Exception as exc:  # reported to the bench
        ready.put(repr(exc))


def _pair_body(party: str, second: int) -> dict[str, Any]:
    """Party ``party``'s half of the head-on pair of ``second``: 20 NM apart at FL430 (above
    the fleet), 30 NM north of the previous pair (160 latitudes, then again from -30)."""
    lat = -30.0 + (second % 160) * 0.5
    dlon, track = (0.0, 90.0) if party == "A" else (20.0 / 60.0, 270.0)
    return {
        "time": time.time(),
        "id": [f"inj-{party.lower()}-{second}"],
        "lat": [lat],
        "lon": [10.0 + dlon],
        "alt_ft": [43000.0],
        "gs_kt": [450.0],
        "track_deg": [track],
        "vs_fpm": [0.0],
    }


class PacedRun:
    """Results of :func:`alert_latency`."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.cycles: list[float] = []
        self.conflicts: list[float] = []
        self.rate = 0.0
        self.post_s: list[float] = []
        """Duration of each paced ``POST /v1/tracks`` (request sent to response read), s."""
        self.elapsed = 0.0
        self.errors: dict[int, int] = {}
        self.inject_errors = 0
        self.missed_cycles = 0
        self.cpu: list[tuple[str, tuple[float, float] | None]] = []
        """(process, (CPU seconds, run-queue wait seconds) during the paced run)."""
        self.cpu_wall = 0.0
        self.window_cycles = 0
        """Cycles seen finished within the CPU window."""
        self.load = ("", "")
        self.detector = ""
        self.timeline: list[str] = []
        """One line per stats poll that saw a new cycle (``--timeline``)."""


def alert_latency(
    brokers: list[Broker],
    keys: dict[str, str],
    operator: str,
    fleet: Fleet,
    seconds: int,
    period: int,
    senders: int,
    pg_url: str | None = None,
) -> PacedRun:
    """Paced updates of the fleet from ``senders`` processes (each aircraft every ``period``
    s, a ``period``-th of the fleet every second) plus one injected pair per second (this
    process) while party A's stream is read by another process. ``brokers[0]`` reports the
    cycles; the traffic and the stream go to the ``--no-lead`` replicas among ``brokers``
    (round-robin; none: to ``brokers[0]``). ``pg_url``: also meter the PostgreSQL server."""
    broker = brokers[0]
    assert all(b.proc is not None for b in brokers)
    ingest = [b.url for b in brokers if b.no_lead] or [broker.url]
    ctx = multiprocessing.get_context("spawn")
    run = PacedRun()
    ready, go, out, start_at = ctx.Queue(), ctx.Event(), ctx.Queue(), ctx.Value("d", 0.0)
    wready, wstop, arrived = ctx.Queue(), ctx.Event(), ctx.Queue()
    groups = [frozenset(fleet.parties[w::senders]) for w in range(senders)]
    fleet_args = (fleet.n, len(fleet.parties), fleet.spread)
    shared = (ready, start_at, go, out)
    procs = [
        ctx.Process(
            target=_paced_sender,
            args=(
                ingest[w % len(ingest) :] + ingest[: w % len(ingest)],
                {p: keys[p] for p in g},
                fleet_args,
                g,
                seconds,
                period,
                *shared,
            ),
        )
        for w, g in enumerate(groups)
        if g
    ]
    limit_s = seconds + GRACE_S + DRAIN_S + 300.0
    watcher = ctx.Process(
        target=_watch, args=(ingest[0], keys["A"], limit_s, wready, wstop, arrived)
    )
    poller: StatsPoller | None = None
    meter = CpuMeter()
    try:
        watcher.start()
        for proc in procs:
            proc.start()
        status = wready.get(timeout=300)
        if status is not True:
            raise SystemExit(f"stream watcher failed: {status}")
        for _ in procs:
            if ready.get(timeout=600) is None:
                raise SystemExit(f"paced sender failed: {out.get(timeout=10)}")
        time.sleep(1.0)  # the stream is live
        note(f"paced run ({seconds} s)")
        postmaster = pg_postmaster(pg_url) if pg_url else None
        roots = [b.proc.pid for b in brokers if b.proc is not None]
        roots += [postmaster] if postmaster is not None else []
        for b in brokers:
            b.remember_children()
        server = [*roots, *(kid for pid in roots for kid in descendants(pid))]
        poller = StatsPoller(broker.url, operator)
        run.detector = poller.detector
        load_start = loadavg()
        t0 = time.monotonic() + 0.5
        start_at.value = t0
        go.set()
        time.sleep(max(0.0, t0 - time.monotonic()))
        meter.start(server)
        accepted_at: dict[str, float] = {}
        rng = random.Random(7)
        with contextlib.ExitStack() as stack:
            clients = [
                stack.enter_context(httpx.Client(base_url=url, timeout=120.0)) for url in ingest
            ]
            turn = 0
            for second in range(seconds):
                time.sleep(max(0.0, t0 + second + rng.uniform(0.0, 0.9) - time.monotonic()))
                if time.monotonic() > t0 + seconds + GRACE_S:
                    break
                picked = []
                for _party in ("A", "B"):
                    turn += 1
                    picked.append(clients[turn % len(clients)])
                codes = [
                    client.post(
                        "/v1/tracks",
                        json=_pair_body(party, second),
                        headers={"Authorization": f"Bearer {keys[party]}"},
                    ).status_code
                    for client, party in zip(picked, ("A", "B"), strict=True)
                ]
                if codes == [200, 200]:
                    accepted_at[f"inj-a-{second}"] = time.monotonic()
                else:
                    run.inject_errors += 1
        results = [out.get(timeout=GRACE_S + 300.0) for _ in procs]
        meter.stop([*roots, *(kid for pid in roots for kid in descendants(pid))])
        backends = pg_backends(pg_url, brokers) if pg_url else {}
        run.window_cycles = len(poller.cycles)  # seen by the last poll (<= 0.5 s old)
        run.load = (load_start, loadavg())
        failed = [r["error"] for r in results if "error" in r]
        if failed:
            raise SystemExit(f"paced sender failed: {failed[0]}")
        note("waiting for the injected alerts")
        arrivals: dict[str, float] = {}
        deadline = time.monotonic() + DRAIN_S
        while len(arrivals) < len(accepted_at) and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                ref, at = arrived.get(timeout=0.5)
                arrivals[ref] = at
        time.sleep(1.0)
        poller.stop()
        elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
        run.rate = sum(r["rows"] for r in results) / elapsed
        run.elapsed = elapsed
        run.post_s = [t for r in results for t in r["took"]]
        for r in results:
            for code, times in r["errors"].items():
                run.errors[code] = run.errors.get(code, 0) + times
        arrived_at = sorted(arrivals.values())
        for at, count, durations, raised, live in poller.timeline:
            shown = " ".join(f"{d:.2f}" for d in durations)
            run.timeline.append(
                f"{at - t0:8.1f} {count:7d} {raised:8d} {live:8d} "
                f"{sum(1 for a in arrived_at if a <= at):8d} "
                f"{sum(1 for a in accepted_at.values() if a <= at):8d}  {shown}"
            )
        run.cycles, run.conflicts, run.missed_cycles = (
            poller.cycles,
            poller.conflicts,
            poller.missed + poller.errors,
        )
        run.cpu_wall = meter.t1 - meter.t0
        for b in brokers:
            assert b.proc is not None
            run.cpu.append((b.label, meter.used(b.proc.pid)))
            for pid in descendants(b.proc.pid):
                if pid not in {p for p, _ in meter.after}:
                    continue
                name = meter.names.get(next(k for k in meter.after if k[0] == pid), "?")
                stat = proc_stat(pid)
                if stat is not None and stat[1] != b.proc.pid:
                    name = f"forked by {stat[1]}"  # e.g. the detection process of a forkserver
                run.cpu.append((f"- {pid} {name}", meter.used(pid)))
        if postmaster is not None:
            run.cpu.extend(pg_cpu(meter, postmaster, backends))
        senders_cpu = sum(r["cpu"] for r in results)
        run.cpu.append((f"{len(procs)} paced senders", (senders_cpu, float("nan"))))
        run.latencies = [arrivals[k] - t for k, t in accepted_at.items() if k in arrivals]
        missing = len(accepted_at) - len(run.latencies)
        if missing:
            print(f"  WARNING: {missing} injected alerts never arrived")
            run.latencies += [float("inf")] * missing
        if not run.latencies:
            raise SystemExit("no pair was injected (every injection failed)")
    finally:
        wstop.set()
        go.set()
        if poller is not None:
            poller._stop.set()
        _end([*procs, watcher])
    return run


def stage_profile(
    fleet: Fleet, tmp: Path, repeats: int = 3
) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and CPU seconds per stage of a steady-state cycle, in process (no HTTP;
    SQLite): the same calls as ``LiveEngine.cycle`` / ``LiveCore.cycle``, timed one by one,
    after two warm-up cycles (the first raises every alert); ``total`` = a whole
    ``LiveEngine.cycle``. CPU seconds (``time.process_time``, this process only, no other
    thread running) are the figure that holds on a loaded machine."""
    from deconflict.broker import parties
    from deconflict.broker.live import LiveEngine
    from deconflict.live.batch import TrackBatch
    from deconflict.live.conformance import find_incursions
    from deconflict.live.density import cluster_observations, thin
    from deconflict.live.engine import LiveConfig
    from deconflict.live.observations import (
        conflict_observations,
        incursion_observations,
        nonconformance_observations,
    )
    from deconflict.store.base import Database
    from deconflict.store.migrate import upgrade

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
    parser.add_argument(
        "--db",
        default=None,
        help="database URL (default: a new SQLite file); 'pg': a throwaway PostgreSQL cluster "
        "with default durability, 'pg-fast': the same with fsync off (as the tests)",
    )
    parser.add_argument("--spread", default="auto", help="airspace area / the 10,000 box")
    parser.add_argument("--report-every", default="auto", help="each aircraft's update period")
    parser.add_argument("--stages", action="store_true", help="in-process stage timing too")
    parser.add_argument("--no-http", action="store_true", help="only the --stages timing")
    parser.add_argument(
        "--detector",
        choices=("thread", "process"),
        default="thread",
        help="deconflict serve --detector: cycles in the serving process or a child process",
    )
    parser.add_argument("--senders", type=int, default=2, help="paced sender processes (1..8)")
    parser.add_argument(
        "--timeline", action="store_true", help="print the leader's cycles poll by poll"
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="PostgreSQL only: deconflict serve processes (1..8); the first leads and gets no "
        "traffic, the others run with --no-lead and take the posts and the stream",
    )
    args = parser.parse_args()
    n = 2000 if args.quick else args.aircraft
    if not 1 <= n <= 100_000:
        raise SystemExit("--aircraft must be 1..100000")
    if not 1 <= args.senders <= 8:
        raise SystemExit("--senders must be 1..8")
    if not 1 <= args.replicas <= 8:
        raise SystemExit("--replicas must be 1..8")
    pg_here = args.db in THROWAWAY_PG
    if args.replicas > 1 and not (pg_here or (args.db or "").startswith("postgresql")):
        raise SystemExit(
            "--replicas > 1 needs --db pg or postgresql://... (replicas share a database)"
        )
    if args.replicas > 1 and args.detector != "thread":
        raise SystemExit("--replicas: the leader detects in its own process (--detector thread)")
    if args.parties < 2:
        raise SystemExit("--parties must be at least 2 (the injected pairs are of A and B)")
    seconds = min(8 if args.quick else args.seconds, MAX_SECONDS)
    spread = max(1.0, n / 10_000) if args.spread == "auto" else float(args.spread)
    period = math.ceil(n / 20_000) if args.report_every == "auto" else int(args.report_every)
    fleet = Fleet(n, parties=args.parties, spread=spread)
    kind = args.db.split(":")[0] if args.db else "sqlite"
    kind = f"postgresql ({THROWAWAY_PG[args.db][0]})" if pg_here else kind
    print(
        f"live bench: {n} aircraft, {args.parties} parties, spread {spread:g}, each aircraft "
        f"every {period} s, batches of {BATCH}, db {kind}, detector {args.detector}, "
        f"{args.replicas} replica{'s' if args.replicas > 1 else ''}, "
        f"{os.cpu_count()}-core loopback, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"load {loadavg()}",
        flush=True,
    )
    stages: dict[str, float] = {}
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if pg_here:
            from bench_replicas import durable_cluster, new_database

            note(f"starting a throwaway PostgreSQL cluster ({THROWAWAY_PG[args.db][0]})")
            args.db = new_database(stack.enter_context(durable_cluster(THROWAWAY_PG[args.db][1])))
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
        note("reference capacity (in process, 3 s)")
        ref = reference_capacity(fleet, 3.0)
        url = args.db or f"sqlite:///{(Path(tmp) / 'bench.sqlite3').as_posix()}"
        keys, operator = seed_keys(url, fleet.parties)
        brokers = [
            Broker(url, Path(tmp), args.detector, no_lead=k > 0, index=k)
            for k in range(args.replicas)
        ]
        broker = brokers[0]
        if args.replicas > 1:
            broker.label = "replica 1 (leader)"
        ingest = [b.url for b in brokers[1:]] or [broker.url]
        try:
            note(f"starting deconflict serve ({args.replicas} process(es))")
            # The leader first, holding the lease before any --no-lead replica starts.
            broker.start(role="leader" if args.replicas > 1 else None)
            for b in brokers[1:]:
                b.start()
            for b in brokers:
                assert b.proc is not None
                print(f"{b.label}: deconflict serve, pid {b.proc.pid}, {b.url}", flush=True)
            note("ingest capacity (two sender processes)")
            cap = ingest_capacity(ingest, keys, fleet, min(10.0, seconds))
            note("waiting for two cycles on the full fleet")
            wait_cycles(broker.url, operator, 2, 300.0)  # the first full cycle raises every alert
            pg_url = url if kind.startswith("postgresql") else None
            run = alert_latency(
                brokers, keys, operator, fleet, seconds, period, args.senders, pg_url
            )
        except BaseException:
            for b in brokers:
                print(f"{b.label} output (last lines):\n{b.log()}", file=sys.stderr)
            raise
        finally:
            for b in brokers:
                with contextlib.suppress(Exception):
                    b.stop()
    big = n >= 100_000
    p99_target = 1.5 if big else 1.0
    if run.detector != args.detector:
        print(f"  WARNING: the broker reports detector {run.detector!r}, not {args.detector!r}")
    print(f"{'measure':44} {'value':>12} {'target':>10} {'met':>5}")
    print(f"{'ingest over HTTP (updates/s)':44} {cap:12,.0f} {'>= 20000':>10} {cap >= 20000!s:>5}")
    print(f"{'reference: parse + memory only (updates/s)':44} {ref:12,.0f}")
    print(f"{f'ratio HTTP+{kind} / reference':44} {cap / ref:12.2f}")
    offered = n / period
    print(f"{f'paced fleet rows accepted of {offered:,.0f}/s offered':44} {run.rate:12,.0f}")
    print(f"{f'paced run wall s ({seconds} s of sending offered)':44} {run.elapsed:12.1f}")
    if run.post_s:
        took = run.post_s
        print(
            f"{'paced POST /v1/tracks p50 / p99 / max (s)':44} "
            f"{pct(took, 0.5):6.3f} / {pct(took, 0.99):.3f} / {max(took):.3f}"
        )
    if run.errors or run.inject_errors:
        print(f"{'paced posts refused (status: count)':44} {run.errors!s:>12}")
        print(f"{'injected pairs refused':44} {run.inject_errors:12d}")
    lat = run.latencies
    p50, p99, worst = pct(lat, 0.5), pct(lat, 0.99), max(lat)
    print(f"{f'accepted -> alert on stream p50 (s, {len(lat)} pairs)':44} {p50:12.3f}")
    print(
        f"{'accepted -> alert on stream p99 (s)':44} {p99:12.3f} {'<= ' + str(p99_target):>10} "
        f"{p99 <= p99_target!s:>5}"
    )
    print(f"{'accepted -> alert on stream max (s)':44} {worst:12.3f}")
    busy = [c for c in run.cycles if c > 0]
    if busy:
        target = "<= 1.0" if big else ""
        met = str(max(busy) <= 1.0) if big else ""
        print(
            f"{'detection cycle time p50 / max (s, broker)':44} "
            f"{statistics.median(busy):6.3f} / {max(busy):.3f} {target:>10} {met:>5}"
        )
        print(f"{'cycles during the paced run':44} {len(busy):12d}")
        if run.missed_cycles:
            print(f"{'  cycles or polls not seen':44} {run.missed_cycles:12d}")
    if run.conflicts:
        median = statistics.median(run.conflicts)
        print(f"{'conflicting pairs per cycle (median)':44} {median:12.0f}")
    head = f"CPU during the paced run ({run.cpu_wall:.1f} s wall)"
    print(f"{head:44} {'CPU s':>12} {'per wall s':>10} {'run-queue wait s':>17}")
    for name, used in run.cpu:
        if used is None:
            print(f"{'  ' + name:44} {'gone':>12}")
        else:
            share = used[0] / max(run.cpu_wall, 1e-9)
            print(f"{'  ' + name:44} {used[0]:12.2f} {share:10.3f} {used[1]:17.2f}")
    children = sum(u[0] for name, u in run.cpu if name.startswith("- ") and u is not None)
    if children > 0 and run.window_cycles:
        per_cycle = children / run.window_cycles
        print(f"{'detection process CPU s per cycle':44} {per_cycle:12.3f}")
    print(f"{'load average, paced run start / end':44} {run.load[0]} / {run.load[1]}")
    if args.timeline:
        print(
            "timeline (s after the paced start; cycles finished, alerts raised, live aircraft, "
            "injected alerts arrived on the stream / pairs accepted; new cycles' durations s)"
        )
        print(f"{'t s':>8} {'cycles':>7} {'raised':>8} {'live':>8} {'arrived':>8} {'accepted':>8}")
        for line in run.timeline:
            print(line)
    if stages:
        total = stages.get("total: LiveEngine.cycle", float("nan"))
        print(f"{'in-process reference: LiveEngine.cycle (s)':44} {total:12.3f}")


if __name__ == "__main__":
    main()
