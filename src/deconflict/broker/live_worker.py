"""The dedicated detection process: ``deconflict serve --detector process`` (SQLite).

One broker process on SQLite used to ingest (HTTP parsing, ownership checks, track history
inserts) and run the live detection cycle under one interpreter lock, so at 100,000 aircraft the
two slowed each other down (docs/benchmarks.md). With ``live_detector = "process"`` the serving
process starts one child process that runs a normal SQLite
:class:`~deconflict.broker.live.LiveEngine` as the only detector. Children come from a
``multiprocessing`` *forkserver* that imported this module once (``spawn`` where there is no
forkserver): the server's own threads and connections are never forked, and a replacement
child starts in well under a second instead of re-importing the package (~5 CPU-s).

- **Serving process** (:class:`DetectionProcess`, the engine in :meth:`LiveEngine.serve_only`
  mode): validates and stores batches exactly as before and keeps its own latest states (for
  pictures); after a batch's transaction commits it hands ``(party_id, TrackBatch)`` to a
  bounded queue, drained by one sender thread into a ``multiprocessing`` pipe (pickle protocol
  5). It never cycles: pictures and acknowledgements take the follower path (alerts read from
  the database, acknowledgements recorded there). It mirrors the child's cycle figures into
  its own ``engine.stats`` and wakes its event streams when the child says it published.
- **Detection process** (:func:`child_main`): loads the compiled kernel and the plans, applies
  forwarded batches from a receiver thread and wakes its loop (the same schedule as the
  in-process loop: ``min_gap_s`` after new data, else every ``interval_s``), merges the
  acknowledgements stored by the serving process before each cycle, and writes alerts, outbox
  events, ledger entries and pictures to the same SQLite file. SQLite serialises the two
  processes' writes (one writer connection each, ``BEGIN IMMEDIATE`` + ``busy_timeout``); the
  ledger reads its size inside that lock, and outbox ids stay in commit order. SQLite's busy
  handler polls (sleeps of up to 100 ms), so a process that writes all the time would starve
  the other one for seconds; a cross-process *writer gate* gives the detector priority: it
  holds the gate while it waits for the lock, and the serving process's write transactions
  pass the gate before they begin (:class:`_WriterPriority`; measured: the detector's wait for
  the lock against back-to-back 5,000-row inserts fell from seconds to under 0.1 s).
- **Supervision**: when the child dies the serving process logs it and starts a new one after
  ``restart_delay_s``. A restarted child continues the stored open (and recently resolved)
  alerts with their ids and acknowledgements (the replica take-over path) and seeds its latest
  states from the track history received within the stale time, so no alert is raised twice
  and none is lost. Start-up never blocks serving; at shutdown the child is asked to stop,
  then terminated after :data:`STOP_WAIT_S`.

Hand-over without loss: batches are forwarded only after their transaction committed and only
once the current child has said it is ready; the child reads the history only after the
serving process acknowledged that (``go``), so every committed batch is either forwarded or in
the history it reads. Memory is bounded: at most ``queue_batches`` accepted batches wait (each
at most ``max_batch_rows`` rows); a full queue blocks the committing request (back-pressure)
for up to :data:`PUT_TIMEOUT_S`, after which the batch is dropped for the detector only (it is
stored; the aircraft's next report replaces it) and counted in :attr:`DetectionProcess.dropped`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import anyio
from sqlalchemy import event as sa_event

from deconflict.broker.live import CycleStats, LiveEngine
from deconflict.broker.outbox import watch_commits
from deconflict.live.batch import TrackBatch
from deconflict.live.engine import LiveConfig
from deconflict.store.base import Database

log = logging.getLogger("deconflict.live.detector")

RESTART_DELAY_S = 1.0
"""Pause before a dead detection process is replaced, s."""
MAX_DELAY_S = 30.0
"""Longest pause between starts of a detection process that keeps failing to start, s."""
STOP_WAIT_S = 5.0
"""How long shutdown waits for the detection process to stop before terminating it, s."""
QUEUE_BATCHES = 64
"""Accepted batches that may wait for the detection process (bounded memory)."""
PUT_TIMEOUT_S = 10.0
"""Longest back-pressure wait of a committing request when the queue is full, s."""
GATE_WAIT_S = 2.0
"""Longest wait of a write transaction at the writer gate (see :class:`_WriterPriority`), s."""
GO_WAIT_S = 60.0
"""How long a new detection process waits for the serving process's ``go``, s."""
POLL_S = 0.2
"""How often the supervisor checks that the detection process lives, s."""
_PROTOCOL = 5


@dataclass(frozen=True)
class WorkerSpec:
    """What the detection process needs to open the store and run the engine (picklable)."""

    db_url: str
    sqlite_synchronous: str
    sqlite_busy_timeout_ms: int
    config: LiveConfig
    restore: bool = False
    """Continue the stored alerts (a restarted detector); the first one starts empty, as a
    new in-process engine does after :meth:`LiveEngine.recover`."""


def _context() -> Any:
    """The forkserver context with this module preloaded (a forked child skips the imports and
    inherits no thread or connection of the server), else ``spawn``."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def _dumps(message: tuple[Any, ...]) -> bytes:
    return pickle.dumps(message, protocol=_PROTOCOL)


class DetectionProcess:
    """Serving side: starts, feeds, supervises and stops the detection process.

    Parameters
    ----------
    engine:
        This process's engine; :meth:`forward` should be passed to its
        :meth:`~deconflict.broker.live.LiveEngine.serve_only`.
    spec:
        Store and engine settings of the child.
    on_publish:
        Called (from a reader thread) when the child committed outbox events: wake the event
        streams (``OutboxNotifier.notify``).
    restart_delay_s, queue_batches:
        See :data:`RESTART_DELAY_S`, :data:`QUEUE_BATCHES`.
    """

    def __init__(
        self,
        engine: LiveEngine,
        spec: WorkerSpec,
        *,
        on_publish: Callable[[], None],
        restart_delay_s: float = RESTART_DELAY_S,
        queue_batches: int = QUEUE_BATCHES,
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.on_publish = on_publish
        self.restart_delay_s = restart_delay_s
        self.starts = 0
        """Detection processes started (the first and every replacement)."""
        self.dropped = 0
        """Accepted batches not handed to a detection process (none ready, or back-pressure
        timed out); all of them are stored, a restarted detector reads them from history."""
        self._queue: queue.Queue[tuple[str, TrackBatch]] = queue.Queue(maxsize=queue_batches)
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._conn: Connection | None = None
        self._ready = False
        self._proc: BaseProcess | None = None
        self._closing = threading.Event()
        self._ctx = _context()
        self._base_cycles = 0
        self._base_raised = 0
        self._gate: Any = None
        self._was_ready = False
        sa_event.listen(engine.db.write_engine, "begin", self._pass_gate, insert=True)

    @property
    def pid(self) -> int | None:
        """Process id of the current detection process (``None`` before the first start)."""
        proc = self._proc
        return None if proc is None else proc.pid

    @property
    def ready(self) -> bool:
        """Whether the current detection process receives batches."""
        with self._lock:
            return self._ready

    def _pass_gate(self, _conn: Any) -> None:
        """Before each write transaction of this process: wait while the detector waits for
        the write lock (bounded by :data:`GATE_WAIT_S`)."""
        gate = self._gate
        if gate is not None and gate.acquire(timeout=GATE_WAIT_S):
            gate.release()

    # ------------------------------------------------------------------ feeding
    def forward(self, party_id: str, batch: TrackBatch) -> None:
        """Queue a committed batch for the detection process (any thread; see the module
        docstring for back-pressure and dropping)."""
        if not self.ready:
            self.dropped += 1  # the next detector reads it from the history
            return
        try:
            self._queue.put((party_id, batch), timeout=PUT_TIMEOUT_S)
        except queue.Full:
            self.dropped += 1
            log.warning("detection process %s s behind: a batch was not forwarded", PUT_TIMEOUT_S)

    def _send_loop(self) -> None:
        while not self._closing.is_set():
            try:
                party_id, batch = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            with self._lock:
                conn = self._conn if self._ready else None
            if conn is None:
                self.dropped += 1
                continue
            data = _dumps(("batch", party_id, batch))
            try:
                with self._send_lock:
                    conn.send_bytes(data)
            except (OSError, ValueError):
                self.dropped += 1  # the child died; its successor reads the history

    def _send(self, conn: Connection, message: tuple[Any, ...], timeout_s: float) -> bool:
        if not self._send_lock.acquire(timeout=timeout_s):
            return False
        try:
            conn.send_bytes(_dumps(message))
            return True
        except (OSError, ValueError):
            return False
        finally:
            self._send_lock.release()

    # ------------------------------------------------------------------ messages from the child
    def _read_loop(self, conn: Connection) -> None:
        while True:
            try:
                message = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError, ValueError):
                break
            kind = message[0]
            if kind == "wake":
                self.on_publish()
            elif kind == "stats":
                self._mirror(message[1])
            elif kind == "ready":
                with self._lock:
                    current = self._conn is conn
                    if current:
                        self._ready = self._was_ready = True
                if current:
                    self._send(conn, ("go",), timeout_s=PUT_TIMEOUT_S)
        with self._lock:
            if self._conn is conn:
                self._ready = False

    def _mirror(self, got: CycleStats) -> None:
        """Copy the child's figures into this engine's stats (counters add up over restarts;
        the role stays ``single``, ``takeovers`` counts replacements of the child)."""
        stats = self.engine.stats
        stats.cycles = self._base_cycles + got.cycles
        stats.raised_total = self._base_raised + got.raised_total
        stats.last_cycle_s = got.last_cycle_s
        stats.recent_cycle_s.append(got.last_cycle_s)
        stats.aircraft = got.aircraft
        stats.live_aircraft = got.live_aircraft
        stats.conflicts = got.conflicts
        stats.open_alerts = got.open_alerts
        stats.open_by_kind = dict(got.open_by_kind)
        stats.takeovers = max(0, self.starts - 1)

    # ------------------------------------------------------------------ supervision
    def _spawn(self, restore: bool) -> BaseProcess:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        spec = replace(self.spec, restore=restore)
        gate = self._ctx.Lock()
        proc: BaseProcess = self._ctx.Process(
            target=child_main,
            args=(child_conn, spec, gate),
            name="deconflict-detector",
            daemon=True,
        )
        proc.start()
        child_conn.close()
        stats = self.engine.stats
        with self._lock:
            self._conn, self._ready, self._proc, self._gate = parent_conn, False, proc, gate
            self._was_ready = False
            self._base_cycles, self._base_raised = stats.cycles, stats.raised_total
        self.starts += 1
        stats.takeovers = max(0, self.starts - 1)
        threading.Thread(
            target=self._read_loop,
            args=(parent_conn,),
            name="deconflict-detector-read",
            daemon=True,
        ).start()
        log.info("detection process %s started (restore=%s)", proc.pid, restore)
        return proc

    async def run(self) -> None:
        """Start the detection process and keep one running until cancelled; then stop it."""
        sender = threading.Thread(
            target=self._send_loop, name="deconflict-detector-send", daemon=True
        )
        sender.start()
        restore = self.spec.restore
        delay = self.restart_delay_s
        try:
            while True:
                proc = await anyio.to_thread.run_sync(self._spawn, restore)
                restore = True
                while proc.is_alive():
                    await asyncio.sleep(POLL_S)
                # one that died before it was ready (a start-up failure) is retried less often
                delay = self.restart_delay_s if self._was_ready else min(MAX_DELAY_S, 2 * delay)
                log.error(
                    "detection process %s exited (code %s); starting a new one in %.1f s",
                    proc.pid,
                    proc.exitcode,
                    delay,
                )
                self._detach()
                await asyncio.sleep(delay)
        finally:
            self.stop()

    def _detach(self) -> None:
        with self._lock:
            conn, self._conn, self._ready = self._conn, None, False
            self._gate = None  # a dead detector may have left it held
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        """Ask the detection process to stop, wait up to :data:`STOP_WAIT_S`, then terminate
        it (blocking; idempotent)."""
        self._closing.set()
        with self._lock:
            conn, proc, self._ready = self._conn, self._proc, False
        if conn is not None:
            self._send(conn, ("stop",), timeout_s=1.0)
        if proc is not None and proc.pid is not None:
            proc.join(STOP_WAIT_S)
            if proc.is_alive():
                log.warning("detection process %s did not stop; terminating it", proc.pid)
                proc.terminate()
                proc.join(2.0)
            if proc.is_alive():
                proc.kill()
                proc.join(2.0)
        self._detach()


# ---------------------------------------------------------------------- the detection process
class _WriterPriority:
    """Detector side of the writer gate: hold ``gate`` from just before a write transaction's
    ``BEGIN IMMEDIATE`` until it has the lock, so that the serving process starts no new write
    transaction meanwhile (see the module docstring)."""

    def __init__(self, gate: Any) -> None:
        self.gate = gate
        self.held = False

    def before(self, _conn: Any) -> None:
        if self.held:  # the previous BEGIN failed (busy timeout): let go first
            self.gate.release()
        self.held = bool(self.gate.acquire(timeout=GATE_WAIT_S))

    def after(self, _conn: Any) -> None:
        if self.held:
            self.held = False
            self.gate.release()


def child_main(conn: Connection, spec: WorkerSpec, gate: Any = None) -> None:
    """Entry point of the detection process (see the module docstring). Exits when the
    serving process says ``stop`` or its end of the pipe closes (it died)."""
    logging.basicConfig(level=logging.WARNING, format="deconflict detector: %(message)s")
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        data = _dumps(message)
        with send_lock, contextlib.suppress(OSError, ValueError):
            conn.send_bytes(data)

    db = Database(
        spec.db_url,
        sqlite_synchronous=spec.sqlite_synchronous,
        sqlite_busy_timeout_ms=spec.sqlite_busy_timeout_ms,
    )
    if gate is not None:
        priority = _WriterPriority(gate)
        sa_event.listen(db.write_engine, "begin", priority.before, insert=True)
        sa_event.listen(db.write_engine, "begin", priority.after)
    engine = LiveEngine(db, spec.config)
    watch_commits(db.writer_sessions, lambda: send(("wake",)))
    engine.on_cycle = lambda stats: send(("stats", stats))
    go = threading.Event()
    stop = threading.Event()
    running: dict[str, Any] = {}

    def receive() -> None:
        try:
            while True:
                message = pickle.loads(conn.recv_bytes())
                kind = message[0]
                if kind == "batch":
                    engine.core.ingest(message[1], message[2])
                    engine.poke()
                elif kind == "go":
                    go.set()
                elif kind == "stop":
                    break
        except (EOFError, OSError, ValueError):
            pass  # the serving process is gone
        stop.set()
        go.set()
        loop, task = running.get("loop"), running.get("task")
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)

    threading.Thread(target=receive, name="deconflict-detector-receive", daemon=True).start()
    try:
        engine.start_detecting(datetime.now(UTC), restore=spec.restore)
        # the modules and the warmed-up kernels stay for the process's life: keep them out of
        # the cyclic collector's full passes (0.14 s -> 0.015 s each at 100,000 aircraft)
        gc.collect()
        gc.freeze()
        send(("ready",))
        if go.wait(GO_WAIT_S) and not stop.is_set():
            engine.seed_from_history(datetime.now(UTC))
            asyncio.run(_detect(engine, stop, running))
    finally:
        db.dispose()
        with contextlib.suppress(OSError):
            conn.close()


async def _detect(engine: LiveEngine, stop: threading.Event, running: dict[str, Any]) -> None:
    running["loop"] = asyncio.get_running_loop()
    running["task"] = asyncio.current_task()
    if stop.is_set():
        return
    with contextlib.suppress(asyncio.CancelledError):
        await engine.run()
