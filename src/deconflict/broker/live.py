"""The live picture service: runs :class:`deconflict.live.engine.LiveCore` against the store.

Path of a state to a screen: ``POST /v1/tracks`` -> validated (:func:`parse_batch`), ownership
checked, history appended in the request's transaction, latest state updated in memory, engine
woken -> :meth:`LiveEngine.cycle` in a worker thread (plans reloaded when they changed, the pure
cycle, then **one** write transaction saving the alert changes and publishing ``alert`` events
to the parties of each changed alert and ``picture`` events to each party) -> ``GET /v1/stream``.

Cycles run every ``interval_s`` and, when new states arrive, ``min_gap_s`` after the previous
cycle started, so the time from a state being accepted to its alert is about one gap plus one
cycle, not one interval. Ingest never waits for a cycle: the cycle works on a copy.

Reads for one viewer (:func:`alerts_for`, :meth:`LiveEngine.acknowledge_for`) name other
parties as that viewer knows them (:func:`viewer_labels`: the pseudonym of their shared
agreement when it uses pseudonyms), like strategic conflict records and the hotline.

Replicas (PostgreSQL; docs/deployment.md)
-----------------------------------------
On PostgreSQL any number of processes serve one database. Each replica writes the states it
accepts into the shared ``live_latest`` table (same transaction as the history) and sends
``NOTIFY deconflict_tracks``. Exactly one replica, the holder of the leader lease
(:class:`deconflict.cluster.lease.LeaderLease`, a session advisory lock), runs the detection
cycle on the union of the stored states; the others poll the lease every ``lease_poll_s`` and
take over when it is free (the holder's death frees it at once). A new leader first restores
the stored open and recently resolved alerts, so the same situations keep their alert ids and
acknowledgements; before each cycle it merges acknowledgements recorded by other replicas, and
each write transaction re-checks that this process still holds the lease (fencing). Followers
answer pictures from the stored states and alerts (refreshed at most every ``interval_s``) and
record acknowledgements in the database. On SQLite (one process) everything stays in memory.

Dedicated detection process (SQLite, ``live_detector = "process"``)
------------------------------------------------------------------
:meth:`LiveEngine.serve_only` makes the serving process's engine ingest and serve only (it
hands each committed batch to :mod:`deconflict.broker.live_worker`, answers pictures and
acknowledgements like a follower); the child runs a normal engine that also merges the stored
acknowledgements before each cycle (:meth:`LiveEngine.start_detecting`). Each cycle renders its
views before its write transaction, which then only writes (it blocks every other writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import numpy as np
from sqlalchemy import event as sa_event
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from deconflict.broker import agreements, audit
from deconflict.broker.live_plans import PlanCache
from deconflict.broker.outbox import publish, publish_many
from deconflict.cluster.lease import LeaderLease
from deconflict.cluster.notify import TRACKS_CHANNEL, notify_sql
from deconflict.cluster.ray_detect import detect_cycle
from deconflict.cluster.watchdog import CycleWatchdog, default_watchdog_s
from deconflict.daa.warmup import warm_up as warm_up_daa
from deconflict.errors import ForbiddenError, NotFoundError
from deconflict.live.alerts import SEVERITY_RANK, Alert, AlertEvent
from deconflict.live.batch import TrackBatch
from deconflict.live.engine import LiveConfig, LiveCore, alert_from_row, alert_record
from deconflict.live.latest import LatestStates
from deconflict.live.picture import PartyLabels, alert_view, relabel, visible_picture
from deconflict.live.tracks import TrackStates, known_row_index, party_rows
from deconflict.store import live_sql, live_state_sql
from deconflict.store.base import Database
from deconflict.store.tables import parties
from deconflict.strategic.lines import AgreedLine
from deconflict.tactical import warm_up

log = logging.getLogger("deconflict.live")

LEDGER_EVENTS = frozenset({"raised", "resolved"})
"""Alert events also appended to the tamper-evident ledger (with acknowledgements); updates are
not, they are frequent and derivable."""

PRUNE_EVERY_S = 60.0
"""How often the track history is pruned to the retention, s."""

LEASE_POLL_S = 0.5
"""How often a follower tries to take the leader lease, s (takeover well within 5 s)."""

_NOTIFY_TRACKS = text(notify_sql(TRACKS_CHANNEL))

_HOLDS_LEASE = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = :pid "
    "AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1"
)


_FORWARD_KEY = "deconflict.live_forward"
"""``Session.info`` key: batches to hand to the detection process once the session commits."""


def _forward_committed(session: Session) -> None:
    for forward, party_id, batch in session.info.pop(_FORWARD_KEY, ()):
        forward(party_id, batch)


def _drop_uncommitted(session: Session, _previous: Any) -> None:
    session.info.pop(_FORWARD_KEY, None)


class LeaseLostError(RuntimeError):
    """This replica no longer holds the leader lease: its cycle's writes are rolled back."""


@dataclass
class CycleStats:
    """Figures of the cycles so far (for the demo, the benchmark and the logs)."""

    cycles: int = 0
    last_cycle_s: float = 0.0
    aircraft: int = 0
    live_aircraft: int = 0
    conflicts: int = 0
    open_alerts: int = 0
    open_by_kind: dict[str, int] = field(default_factory=dict)
    raised_total: int = 0
    role: str = "single"
    """``single`` (SQLite, one process), ``leader`` or ``follower`` (PostgreSQL replicas)."""
    takeovers: int = 0
    """Times this process became the leader."""
    recent_cycle_s: deque[float] = field(default_factory=lambda: deque(maxlen=256))
    """Wall seconds of the most recent finished cycles (oldest first, at most 256)."""


class LiveEngine:
    """The live engine of one broker process (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        config: LiveConfig | None = None,
        *,
        lease: LeaderLease | None = None,
        lease_poll_s: float = LEASE_POLL_S,
    ) -> None:
        self.db = db
        self.config = config or LiveConfig()
        self.shared = not db.sqlite
        """Replica mode (PostgreSQL): shared states, leader lease (see the module docstring)."""
        self.lease = lease if lease is not None or not self.shared else LeaderLease(db.url)
        self.lease_poll_s = lease_poll_s
        self.leader = not self.shared
        self.detector: str = "thread"
        """``thread``: cycles run in this process; ``process``: a child process detects
        (SQLite, :mod:`deconflict.broker.live_worker`), this one ingests and serves."""
        self.may_lead: bool = True
        """Replicas: ``False`` never takes the leader lease (ingest-only replica)."""
        self.writer_id = secrets.randbits(62) + 1
        """Replicas: marks the shared states this engine wrote (``live_latest.writer``); its
        incremental reads leave them out (it holds them in memory already)."""
        self.acks_from_db = False
        """Merge acknowledgements stored by another process before each cycle (the dedicated
        detection process: the serving process records them)."""
        self.forward: Callable[[str, TrackBatch], None] | None = None
        """``detector == "process"``: called with each accepted batch after its transaction
        committed (hands it to the detection process; see :meth:`serve_only`)."""
        self.on_cycle: Callable[[CycleStats], None] | None = None
        """Called with :attr:`stats` after each finished cycle (the detection process reports
        them to the serving process)."""
        self._view_alerts: list[Alert] = []
        self._view_at = -float("inf")
        self._view_lock = threading.Lock()
        self._notified_at = -float("inf")
        self.core = LiveCore(
            self.config, new_alert_id=lambda: "LA" + secrets.token_hex(6), detector=detect_cycle
        )
        self.stats = CycleStats(role="follower" if self.shared else "single")
        self._owners: dict[str, str] = {}
        self._plans = PlanCache(self.config)
        self._line_key: tuple[Any, ...] | None = None
        self._line_objs: list[AgreedLine] = []
        self._plans_set = False
        self._names: Mapping[str, str] = {}
        self._last_picture = 0.0
        self._last_prune = 0.0
        self._cycle_mutex = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    # -------------------------------------------------------------------------- start-up
    def recover(self, now: datetime) -> int:
        """Resolve alerts left open by a previous process (their tracker state is gone), then
        load the plans (before serving: the first read of every stored notice is the costly
        one; later cycles read only changed rows). Loads the compiled tactical and DAA kernels
        first, so that no cycle pays for them. ``detector == "process"``: neither kernels nor
        plans are loaded here (the detection process does that), only the names."""
        if self.detector != "process":
            warm_up()
            warm_up_daa()
        if self.shared:
            # other replicas may be serving: the leader takes the open alerts over instead
            with self._cycle_mutex, self.db.read() as session:
                self._reload_plans(session, now)
            return 0
        with self.db.write() as session:
            result = session.execute(
                update(live_sql.live_alerts)
                .where(live_sql.live_alerts.c.state == "open")
                .values(state="resolved", resolved_at=now, updated_at=now)
            )
            resolved = int(getattr(result, "rowcount", 0) or 0)
        if self.detector == "process":
            with self.db.read() as session:
                self._names = party_labels(session)
            return resolved
        with self._cycle_mutex, self.db.read() as session:
            self._reload_plans(session, now)
        return resolved

    # -------------------------------------------------------------------------- detection process
    def serve_only(self, forward: Callable[[str, TrackBatch], None]) -> None:
        """Make this engine the serving side of a dedicated detection process (SQLite,
        :mod:`deconflict.broker.live_worker`): it never cycles (pictures and acknowledgements
        take the follower path: alerts from the database, acknowledgements recorded there),
        and hands every accepted batch to ``forward`` once its transaction has committed (a
        rolled-back batch is never forwarded). Call before :meth:`recover`."""
        self.detector = "process"
        self.leader = False
        self.stats.role = "single"
        self.forward = forward
        sa_event.listen(self.db.writer_sessions, "after_commit", _forward_committed)
        sa_event.listen(self.db.writer_sessions, "after_soft_rollback", _drop_uncommitted)

    def start_detecting(self, now: datetime, *, restore: bool) -> int:
        """Detection-process start-up: load the compiled kernel and the plans; with
        ``restore`` continue the stored open (and recently resolved) alerts with their ids and
        acknowledgements (a restarted detector: no alert is raised twice). Acknowledgements
        recorded by the serving process are merged before each cycle from then on. Returns the
        open alerts continued."""
        warm_up()
        warm_up_daa()
        self.acks_from_db = True
        if restore:
            taken = self.take_over(now)
            self.stats.role = "single"
            return taken
        with self._cycle_mutex, self.db.read() as session:
            self._reload_plans(session, now)
        return 0

    def seed_from_history(self, now: datetime) -> int:
        """Apply the track history received within the stale time (plus the allowed future
        skew) to the latest states (newer states win, so batches applied meanwhile are kept);
        callsigns are not in the history and come with the next report. Returns the rows
        read."""
        cutoff = now.timestamp() - self.config.stale_after_s - self.config.max_future_s
        with self.db.read() as session:
            party, ids, columns = live_sql.recent_history(session, cutoff)
        if not ids:
            return 0
        owner = np.asarray(party, dtype=object)
        names = np.asarray(ids, dtype=object)
        for name in sorted(set(party)):
            rows = np.flatnonzero(owner == name)
            self.core.latest.update(
                name, [str(a) for a in names[rows]], {c: v[rows] for c, v in columns.items()}
            )
        return len(ids)

    # -------------------------------------------------------------------------- ingest
    def ingest(self, session: Session, party_id: str, batch: TrackBatch, now: datetime) -> int:
        """Store a validated batch of ``party_id`` (all or nothing); returns rows accepted.

        Raises ForbiddenError when an id is already reported by another party.
        """
        ids = batch.ids
        unknown = [a for a in dict.fromkeys(ids) if a not in self._owners]
        if unknown:
            self._owners.update(live_sql.owners(session, unknown))
        foreign = sorted({a for a in ids if self._owners.get(a, party_id) != party_id})
        if not foreign:
            new = [a for a in dict.fromkeys(ids) if a not in self._owners]
            # a concurrent batch of another party may claim the same new ids first
            foreign = live_sql.claim(session, party_id, new, now)
            for aircraft in foreign:
                self._owners.pop(aircraft, None)
        if foreign:
            shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            raise ForbiddenError(
                f"{len(foreign)} aircraft id(s) are reported by another party: {shown}"
            )
        live_sql.append_history_rows(session, party_id, ids, batch.columns, now.timestamp())
        if self.shared:
            live_state_sql.upsert_latest(
                session, party_id, ids, batch.columns, batch.callsigns, writer=self.writer_id
            )
            # NOTIFY serialises the commits that send it (PostgreSQL's notification queue
            # lock): at most one tracks wake-up per half gap from this process
            beat = time.monotonic()
            if beat - self._notified_at >= self.config.min_gap_s / 2:
                self._notified_at = beat
                session.execute(_NOTIFY_TRACKS)
        for aircraft in new:
            self._owners[aircraft] = party_id
        self.core.ingest(party_id, batch)
        if self.forward is not None:
            session.info.setdefault(_FORWARD_KEY, []).append((self.forward, party_id, batch))
        self.poke()
        return len(ids)

    def poke(self) -> None:
        """Wake the detection loop (thread-safe)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    # -------------------------------------------------------------------------- cycle
    def _reload_plans(self, session: Session, now: datetime) -> None:
        """Bring the conformance plans up to date with the committed notices, incrementally.

        Only notice rows with a ``change_seq`` not seen yet are read (the same scheme as
        :meth:`StrategicState.catch_up`); per notice only its activity window is kept until the
        window comes within the horizon (look-ahead + :data:`PLAN_PREBUILD_S`) of ``now``, when
        its containment objects are built once and cached; ended plans are dropped from the set
        the core checks. The core sees exactly the volumes that can matter at ``now``.
        """
        # need-to-know names: each party sees the others as its agreements dictate (pseudonyms)
        self._names = party_labels(session)
        changed = self._plans.apply(session)
        changed |= self._plans.advance(session, now.timestamp())
        lines = agreements.list_lines(session)
        line_key = tuple(
            (ln.id, tuple(ln.coordinates), tuple(sorted(ln.sides.items()))) for ln in lines
        )
        if line_key != self._line_key:
            self._line_objs = [ln.agreed_line() for ln in lines]
            self._line_key = line_key
            changed = True
        if changed or not self._plans_set:
            self.core.set_plans(self._plans.volumes(), list(self._line_objs))
            self._plans_set = True
        # issue 13: each agreement's DAA profile; lines and volumes guidance keeps to (H2)
        self.core.daa.set_context(
            agreements.agreement_profiles(session), self.core.volumes, self.core.lines
        )

    def cycle(self, now: datetime | None = None) -> list[AlertEvent]:
        """One detection cycle at ``now`` (default: the clock); returns the alert events.

        Replica mode: only the leader detects; a follower first tries to take the lease (so a
        lone process leads without its background loop) and returns no events if it cannot."""
        if self.shared and not self.leader:
            self.check_lease(now)
        with self._cycle_mutex:
            self._cycle_started = time.monotonic()  # read by the watchdog (see run)
            try:
                return self._cycle(now or datetime.now(UTC))
            finally:
                self._cycle_started = None

    def _cycle(self, now: datetime) -> list[AlertEvent]:
        if not self.leader:
            return []  # followers do not detect (replica mode)
        started = time.perf_counter()
        with self.db.read() as session:
            self._reload_plans(session, now)
            if self.shared:
                cutoff = now.timestamp() - self.config.stale_after_s
                # only the rows other replicas changed since the last read (after take_over:
                # every row); this process's own states are in memory already
                tail = self._state_tail
                stored = live_state_sql.load_latest(
                    session,
                    newer_than_s=cutoff,
                    changed_since=tail,
                    exclude_writer=None if tail is None else self.writer_id,
                )
                acks = live_state_sql.open_alert_acks(session)
        if self.shared:
            merge_states(self.core.latest, stored)
            self._state_tail = stored.xmin
            self.core.merge_acks(acks)
        if self.acks_from_db:  # detection process: the serving process records acknowledgements
            with self.db.read() as session:
                self.core.merge_acks(live_state_sql.open_alert_acks(session))
        before = {a.id: a.severity for a in self.core.open_alerts()}
        result = self.core.cycle(now)
        picture_due = time.monotonic() - self._last_picture >= self.config.picture_interval_s
        prune_due = time.monotonic() - self._last_prune >= PRUNE_EVERY_S
        # Render the views before each write transaction: it blocks every other writer (the
        # request threads; on SQLite also other processes), so it only writes. The alert
        # changes commit first, on their own: their events reach the streams without waiting
        # for the pictures to be rendered and stored.
        if result.events:
            alert_rows = self._alert_rows(result.events)
            with self.db.write() as session:
                if self.shared:
                    self._fence(session)
                self._persist(session, result.events, now, before, rendered=alert_rows)
        if picture_due or prune_due:
            pictures = (
                self._picture_rows(result.states, result.open_alerts, now) if picture_due else []
            )
            with self.db.write() as session:
                if self.shared:
                    self._fence(session)
                if picture_due:
                    publish_many(session, pictures, now=now)
                    self._last_picture = time.monotonic()
                if prune_due:
                    cutoff = now.timestamp() - self.config.history_retention_s
                    live_sql.prune_history(session, cutoff)
                    if self.shared:
                        live_state_sql.prune_latest(session, cutoff)
                    self._last_prune = time.monotonic()
        by_kind: dict[str, int] = {}
        for alert in result.open_alerts:
            by_kind[alert.kind] = by_kind.get(alert.kind, 0) + 1
        stats = self.stats
        stats.cycles += 1
        stats.aircraft = len(self.core.latest)
        stats.live_aircraft = len(result.states)
        stats.conflicts = result.conflicts
        stats.open_alerts = len(result.open_alerts)
        stats.open_by_kind = by_kind
        stats.raised_total += sum(1 for e in result.events if e.kind == "raised")
        stats.last_cycle_s = time.perf_counter() - started
        stats.recent_cycle_s.append(stats.last_cycle_s)
        if self.on_cycle is not None:
            self.on_cycle(stats)
        return result.events

    def _fence(self, session: Session) -> None:
        """Raise :class:`LeaseLostError` unless this process's lease session still holds the
        lease, checked inside the cycle's write transaction (a deposed leader writes nothing)."""
        lease = self.lease
        pid = lease.backend_pid if lease is not None else None
        held = 0
        if lease is not None and pid is not None:
            key = lease.key
            params = {"pid": pid, "hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF}
            held = int(session.execute(_HOLDS_LEASE, params).scalar_one())
        if not held:
            self._demote()
            raise LeaseLostError("the leader lease was lost; this cycle's writes are dropped")

    def _persist(
        self,
        session: Session,
        events: list[AlertEvent],
        now: datetime,
        before: Mapping[str, str] | None = None,
        *,
        rendered: list[tuple[str, dict[str, Any], str | None]] | None = None,
    ) -> None:
        """Save the alert changes of ``events``, publish each party's view and append raises
        and resolutions to the ledger (``rendered``: :meth:`_alert_rows` of ``events``, made
        before the transaction)."""
        latest: dict[str, Alert] = {event.alert.id: event.alert for event in events}
        live_sql.save_alerts(session, [(alert_record(a), a.parties) for a in latest.values()])
        # Escalations and re-openings clear acknowledgements: mirror that in the store (other
        # acknowledgements are written when made, on whichever replica received them).
        old = before or {}
        cleared = {
            e.alert.id
            for e in events
            if e.reopened
            or (
                e.kind == "updated"
                and SEVERITY_RANK[e.alert.severity]
                > SEVERITY_RANK[old.get(e.alert.id, e.alert.severity)]
            )
            or (e.kind == "updated" and before is None)
        }
        for alert_id in cleared:
            live_sql.set_acks(session, alert_id, dict(latest[alert_id].acked))
        rows = self._alert_rows(events) if rendered is None else rendered
        # Evidence: each party's own view, openable by that party only (one batch per cycle).
        audit.record_many(
            session,
            [(ledger, [party], payload) for party, payload, ledger in rows if ledger is not None],
            now=now,
        )
        # one executemany for the cycle's outbox rows (ids in the same order as before)
        publish_many(session, [(party, "alert", payload) for party, payload, _ in rows], now=now)

    def _alert_rows(self, events: list[AlertEvent]) -> list[tuple[str, dict[str, Any], str | None]]:
        """``(party, alert event payload, ledger kind or None)`` per event and party (no I/O)."""
        rows: list[tuple[str, dict[str, Any], str | None]] = []
        for ev in events:
            alert = ev.alert
            ledger = f"alert.{ev.kind}" if ev.kind in LEDGER_EVENTS else None
            for party in alert.parties:
                view = alert_view(alert, party, names=self._names)
                payload = {"event": ev.kind, "reopened": ev.reopened, "alert": view}
                rows.append((party, payload, ledger))
        return rows

    def _publish_pictures(
        self, session: Session, states: TrackStates, open_alerts: list[Alert], now: datetime
    ) -> None:
        publish_many(session, self._picture_rows(states, open_alerts, now), now=now)

    def _picture_rows(
        self, states: TrackStates, open_alerts: list[Alert], now: datetime
    ) -> list[tuple[str, str, Mapping[str, Any]]]:
        """``(party, "picture", picture)`` for each party with aircraft or open alerts (no I/O)."""
        # parties from the per-states cache of live.tracks (visible_picture uses it anyway);
        # the pictures look up only the open alerts' aircraft: the cycle's states carry the
        # latest-state store's index (free); otherwise index just those aircraft (building a
        # full id index of 100,000 states costs ~3x more CPU)
        involved = set(party_rows(states)) | {p for a in open_alerts for p in a.parties}
        index = known_row_index(states)
        if index is None:
            wanted = {s.ref for a in open_alerts for s in a.subjects if s.role == "aircraft"}
            index = {a: k for k, a in enumerate(states.ids.tolist()) if a in wanted}
        # each party's open alerts, in order: one pass instead of one scan per party
        alerts_of: dict[str, list[Alert]] = {}
        for alert in open_alerts:
            for p in alert.parties:
                alerts_of.setdefault(p, []).append(alert)
        rows: list[tuple[str, str, Mapping[str, Any]]] = []
        for party in sorted(involved & set(self._names)):
            picture = visible_picture(
                states,
                alerts_of.get(party, []),
                party,
                now,
                names=self._names,
                max_own=self.config.picture_full_max,
                include_alerts=False,
                index=index,
            )
            rows.append((party, "picture", picture))
        return rows

    # -------------------------------------------------------------------------- queries
    def picture(self, party_id: str, now: datetime) -> dict[str, Any]:
        """``party_id``'s visible picture now (replicas: from the shared states and alerts)."""
        if self.leader:
            return self.core.picture(party_id, now, names=self._names)
        self._refresh_view(now)
        snap = self.core.latest.snapshot(now.timestamp(), self.config.stale_after_s)
        return visible_picture(
            snap.states, self._view_alerts, party_id, now, stale=snap.stale, names=self._names
        )

    def _refresh_view(self, now: datetime) -> None:
        """Follower: merge the shared states into this process's latest states and reload the
        open alerts and the names, when older than ``interval_s`` (the leader's picture)."""
        with self._view_lock:
            if time.monotonic() - self._view_at < self.config.interval_s:
                return
            with self.db.read() as session:
                # SQLite (detection process): this process ingests every state itself
                stored = (
                    live_state_sql.load_latest(
                        session,
                        changed_since=self._view_tail,
                        exclude_writer=None if self._view_tail is None else self.writer_id,
                    )
                    if self.shared
                    else None
                )
                self._names = party_labels(session)
                rows = [r for r in live_state_sql.alerts_since(session, now) if r.state == "open"]
                acks = live_state_sql.acks_of(session, [r.id for r in rows])
            if stored is not None:
                merge_states(self.core.latest, stored)
                self._view_tail = stored.xmin  # next time: only the rows changed since
            self._view_alerts = [alert_from_row(r, acks.get(r.id, {})) for r in rows]
            self._view_at = time.monotonic()

    def acknowledge(
        self, session: Session, alert_id: str, party_id: str, key_id: str, now: datetime
    ) -> dict[str, Any]:
        """Acknowledge ``alert_id`` for ``party_id`` only; returns the party's view.

        A follower replica records it in the database only; the leader merges it into its
        tracker before its next cycle."""
        held = self.leader
        event, alert = self.core.acknowledge(alert_id, party_id, now) if held else (None, None)
        if alert is None:
            rows = [r for r in live_sql.alerts_for(session, party_id) if r.id == alert_id]
            if not rows:
                raise NotFoundError(f"alert {alert_id!r} not found")
            row = rows[0]
            first = row.acked_at is None
            if first:
                live_sql.record_ack(session, alert_id, party_id, now, key_id)
            view = alert_view(
                alert_from_row(row, {party_id: row.acked_at or now}), party_id, names=self._names
            )
            if first:
                payload = {"event": "acknowledged", "alert": view}
                publish(session, party_id, "alert", payload, now=now)
                audit.record(session, "alert.acknowledged", [party_id], payload, now=now)
            return view
        view = alert_view(alert, party_id, names=self._names)
        if event is not None:
            live_sql.save_alerts(session, [(alert_record(alert), alert.parties)])
            live_sql.record_ack(session, alert_id, party_id, now, key_id)
            payload = {"event": "acknowledged", "alert": view}
            publish(session, party_id, "alert", payload, now=now)
            audit.record(session, "alert.acknowledged", [party_id], payload, now=now)
        return view

    def acknowledge_for(
        self, session: Session, alert_id: str, party_id: str, key_id: str, now: datetime
    ) -> dict[str, Any]:
        """:meth:`acknowledge`, the view naming the other parties as ``party_id`` knows them.

        The engine renders with one name table for every party (ids before its first cycle):
        ids and names alike are mapped to what the caller knows each party by.
        """
        view = self.acknowledge(session, alert_id, party_id, key_id, now)
        labels = viewer_labels(session, party_id)
        names = live_sql.party_names(session)
        shown = {**labels, **{names[p]: label for p, label in labels.items() if p in names}}
        return relabel(view, shown)

    # -------------------------------------------------------------------------- loop
    # Replica state (class defaults, set per instance when it changes):
    watchdog_s: float | None = None
    """Replicas: a cycle running longer than this (s) makes the leader give the lease up
    (:class:`deconflict.cluster.watchdog.CycleWatchdog`); ``None``: ``max(30, 30 x interval_s)``."""
    _state_tail: int | None = None
    """Snapshot xmin of the cycle's last ``live_state_sql.load_latest`` (``None``: read all)."""
    _view_tail: int | None = None
    """The same for a follower's picture refresh (:meth:`_refresh_view`)."""
    _cycle_started: float | None = None
    """``time.monotonic()`` at which the cycle in flight started (``None``: none runs)."""

    async def run(self) -> None:
        """The background loop: a cycle every ``interval_s`` or ``min_gap_s`` after new data.

        Replica mode: a follower tries the lease every ``lease_poll_s`` and detects only once it
        leads; the lease is released when the loop stops. A watchdog thread gives the lease up
        when a cycle runs longer than :attr:`watchdog_s` (a hung leader; see
        :meth:`_on_hung_cycle`)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        stop = threading.Event()
        if self.shared and self.lease is not None:
            limit = self.watchdog_s or default_watchdog_s(self.config.interval_s)
            CycleWatchdog(lambda: self._cycle_started, limit, self._on_hung_cycle).start(stop)
        try:
            await self._run()
        finally:
            stop.set()
            if self.lease is not None:
                self.lease.release()

    async def _run(self) -> None:
        assert self._wake is not None
        last_start = 0.0
        while True:
            wait_s = self.config.interval_s if self.leader else self.lease_poll_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)
            if self.shared:
                try:
                    leading = await anyio.to_thread.run_sync(self.check_lease)
                except Exception:
                    log.exception("leader lease check failed")
                    leading = False
                if not leading:
                    self._wake.clear()
                    continue
            gap = self.config.min_gap_s - (time.monotonic() - last_start)
            if gap > 0:
                await asyncio.sleep(gap)
            self._wake.clear()
            last_start = time.monotonic()
            try:
                await anyio.to_thread.run_sync(self.cycle)
            except LeaseLostError:
                log.warning("leader lease lost; now a follower")
            except Exception:  # keep detecting: one bad cycle must not silence alerts
                log.exception("live detection cycle failed")

    # -------------------------------------------------------------------------- replicas
    def check_lease(self, now: datetime | None = None) -> bool:
        """Replica mode: keep or take the leader lease; ``True`` while this process leads.

        Taking it over restores the stored alerts first (:meth:`take_over`). A replica that may
        not lead (:attr:`may_lead`, ``deconflict serve --no-lead``) never tries; nor does one
        whose previous cycle still runs (a hung cycle it was demoted for holds the cycle lock:
        taking the lease now would hang a leader again)."""
        lease = self.lease
        if lease is None:
            return self.leader
        if self.leader:
            if lease.is_leader():
                return True
            self._demote()
            log.warning("leader lease lost; now a follower")
            return False
        if not self.may_lead or self._cycle_started is not None:
            return False
        if not lease.try_acquire():
            return False
        try:
            self.take_over(now or datetime.now(UTC))
        except Exception:
            lease.release()
            raise
        return True

    def take_over(self, now: datetime) -> int:
        """Become the leader: restore the open alerts (and those resolved within the re-raise
        hold) with their acknowledgements from the database; returns the open alerts taken."""
        hold = self.config.hysteresis.reraise_hold_s
        with self._cycle_mutex:
            self._cycle_started = time.monotonic()  # the watchdog watches a take-over too
            try:
                with self.db.read() as session:
                    rows = live_state_sql.alerts_since(session, now - timedelta(seconds=hold))
                    acks = live_state_sql.acks_of(session, [r.id for r in rows])
                    self._reload_plans(session, now)
                alerts = [alert_from_row(r, acks.get(r.id, {})) for r in rows]
                self.core.restore_alerts(alerts)
            finally:
                self._cycle_started = None
            if self.lease is not None and self.lease.backend_pid is None:
                raise LeaseLostError("the leader lease was given up during the take-over")
            self._state_tail = None  # the first cycle reads every shared state
            self.leader = True
            self.stats.role = "leader"
            self.stats.takeovers += 1
        log.info("leader lease taken: %d open alert(s) continued", sum(a.is_open for a in alerts))
        return sum(1 for a in alerts if a.is_open)

    def _demote(self) -> None:
        self.leader = False
        self.stats.role = "follower"
        self._view_at = -float("inf")
        self._view_tail = None  # the next picture refresh reads every shared state

    def _on_hung_cycle(self, running_s: float) -> None:
        """Watchdog (its thread): the cycle in flight has run ``running_s`` s, longer than
        :attr:`watchdog_s`. Close the lease connection, so that PostgreSQL frees the lock and
        another replica takes over, and demote this process; the stuck cycle's write
        transaction then fails its fencing check (:meth:`_fence`). A hung take-over (the
        lease held, not yet leading) gives the lease up the same way."""
        held = self.lease is not None and self.lease.backend_pid is not None
        if not (self.leader or held):
            return
        log.error(
            "detection cycle running for %.1f s (watchdog %.1f s): giving the leader lease up",
            running_s,
            self.watchdog_s or default_watchdog_s(self.config.interval_s),
        )
        if self.lease is not None:
            self.lease.release()
        self._demote()


def merge_states(latest: LatestStates, stored: live_state_sql.StoredStates) -> None:
    """Apply stored states to ``latest`` (a newer or equal state time wins, an older one
    changes nothing: merging the same rows again is a no-op), party by party and new aircraft
    in id order, so that one process's order of aircraft (hence of pictures and events) is the
    same with or without replicas. An aircraft given more than once (not by one read of
    ``live_latest``, keyed by aircraft) keeps its newest row, the last one on equal times.

    One sort of the rows by id (fixed-width strings: C comparisons), one stable sort by party
    code, then one :meth:`LatestStates.update` per party."""
    n = len(stored.ids)
    if not n:
        return
    ids_fixed = np.asarray(stored.ids, dtype=str)
    rows = np.argsort(ids_fixed, kind="stable")
    in_order = ids_fixed[rows]
    if n > 1 and bool(np.any(in_order[1:] == in_order[:-1])):  # an id twice (or "a", "a\0")
        times = np.asarray(stored.columns["time_s"], dtype=np.float64)
        keep = np.asarray(live_state_sql.newest_rows(stored.ids, times), dtype=np.intp)
        rows = keep[np.argsort(ids_fixed[keep], kind="stable")]
    names = sorted(set(stored.party))
    code_of = {name: k for k, name in enumerate(names)}
    code = np.asarray([code_of[p] for p in stored.party], dtype=np.intp)
    rows = rows[np.argsort(code[rows], kind="stable")]
    bounds = np.searchsorted(code[rows], np.arange(len(names) + 1))
    ids = np.asarray(stored.ids, dtype=object)
    callsign = np.asarray(stored.callsign, dtype=object)
    for k, name in enumerate(names):
        part = rows[bounds[k] : bounds[k + 1]]
        if not part.size:
            continue
        latest.update(
            name,
            ids[part].tolist(),
            {c: np.asarray(v)[part] for c, v in stored.columns.items()},
            callsign[part].tolist(),
        )


# ------------------------------------------------------------------------------ need-to-know names
def party_labels(session: Session) -> PartyLabels:
    """Every party's name and what each party calls the others (need-to-know names).

    Pass it as ``names`` to :func:`deconflict.live.picture.alert_view` / ``visible_picture``:
    each view then names other parties as its viewer knows them (the pseudonym of their shared
    agreement when it uses pseudonyms), as strategic conflict records and the hotline do.
    """
    table = agreements.display_table(session)
    return PartyLabels({p: labels[p] for p, labels in table.items()}, table)


def viewer_labels(session: Session, viewer: str) -> dict[str, str]:
    """Party id -> the name ``viewer`` knows it by (itself: its own name)."""
    own = session.execute(select(parties.c.name).where(parties.c.id == viewer)).scalar()
    out = {pid: c.label for pid, c in agreements.counterparts(session, viewer).items()}
    out[viewer] = str(own) if own is not None else viewer
    return out


def alerts_for(session: Session, party_id: str, state: str | None) -> list[dict[str, Any]]:
    """``party_id``'s alerts (``state``: open, resolved or None for all), newest first, each as
    that party may see it."""
    labels = viewer_labels(session, party_id)
    out = []
    for row in live_sql.alerts_for(session, party_id, state=state):
        acked = {party_id: row.acked_at} if row.acked_at is not None else {}
        out.append(alert_view(alert_from_row(row, acked), party_id, names=labels))
    return out
