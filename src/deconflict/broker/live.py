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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import numpy as np
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from deconflict.broker import agreements, audit
from deconflict.broker.live_plans import PlanCache
from deconflict.broker.outbox import publish
from deconflict.cluster.lease import LeaderLease
from deconflict.cluster.notify import TRACKS_CHANNEL, notify_sql
from deconflict.cluster.ray_detect import detect_cycle
from deconflict.errors import ForbiddenError, NotFoundError
from deconflict.live.alerts import SEVERITY_RANK, Alert, AlertEvent
from deconflict.live.batch import TrackBatch
from deconflict.live.engine import LiveConfig, LiveCore, alert_from_row, alert_record
from deconflict.live.latest import LatestStates
from deconflict.live.picture import PartyLabels, alert_view, relabel, visible_picture
from deconflict.live.tracks import TrackStates
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
        one; later cycles read only changed rows). Loads the compiled tactical kernel first, so
        that no cycle pays for it."""
        warm_up()
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
        with self._cycle_mutex, self.db.read() as session:
            self._reload_plans(session, now)
        return resolved

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
            live_state_sql.upsert_latest(session, party_id, ids, batch.columns, batch.callsigns)
            # NOTIFY serialises the commits that send it (PostgreSQL's notification queue
            # lock): at most one tracks wake-up per half gap from this process
            beat = time.monotonic()
            if beat - self._notified_at >= self.config.min_gap_s / 2:
                self._notified_at = beat
                session.execute(_NOTIFY_TRACKS)
        for aircraft in new:
            self._owners[aircraft] = party_id
        self.core.ingest(party_id, batch)
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
            return self._cycle(now or datetime.now(UTC))

    def _cycle(self, now: datetime) -> list[AlertEvent]:
        if not self.leader:
            return []  # followers do not detect (replica mode)
        started = time.perf_counter()
        with self.db.read() as session:
            self._reload_plans(session, now)
            if self.shared:
                cutoff = now.timestamp() - self.config.stale_after_s
                stored = live_state_sql.load_latest(session, newer_than_s=cutoff)
                acks = live_state_sql.open_alert_acks(session)
        if self.shared:
            merge_states(self.core.latest, stored)
            self.core.merge_acks(acks)
        before = {a.id: a.severity for a in self.core.open_alerts()}
        result = self.core.cycle(now)
        picture_due = time.monotonic() - self._last_picture >= self.config.picture_interval_s
        prune_due = time.monotonic() - self._last_prune >= PRUNE_EVERY_S
        if result.events or picture_due or prune_due:
            with self.db.write() as session:
                if self.shared:
                    self._fence(session)
                self._persist(session, result.events, now, before)
                if picture_due:
                    self._publish_pictures(session, result.states, result.open_alerts, now)
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
    ) -> None:
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
        for event in events:
            alert = event.alert
            for party in alert.parties:
                view = alert_view(alert, party, names=self._names)
                payload = {"event": event.kind, "reopened": event.reopened, "alert": view}
                publish(session, party, "alert", payload, now=now)
                if event.kind in LEDGER_EVENTS:
                    # Evidence: each party's own view, openable by that party only.
                    audit.record(session, f"alert.{event.kind}", [party], payload, now=now)

    def _publish_pictures(
        self, session: Session, states: TrackStates, open_alerts: list[Alert], now: datetime
    ) -> None:
        involved = {str(p) for p in states.party} | {p for a in open_alerts for p in a.parties}
        index = {str(a): k for k, a in enumerate(states.ids)}
        for party in sorted(involved & set(self._names)):
            picture = visible_picture(
                states,
                open_alerts,
                party,
                now,
                names=self._names,
                max_own=self.config.picture_full_max,
                include_alerts=False,
                index=index,
            )
            publish(session, party, "picture", picture, now=now)

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
                stored = live_state_sql.load_latest(session)
                self._names = party_labels(session)
                rows = [r for r in live_state_sql.alerts_since(session, now) if r.state == "open"]
                acks = live_state_sql.acks_of(session, [r.id for r in rows])
            merge_states(self.core.latest, stored)
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
    async def run(self) -> None:
        """The background loop: a cycle every ``interval_s`` or ``min_gap_s`` after new data.

        Replica mode: a follower tries the lease every ``lease_poll_s`` and detects only once it
        leads; the lease is released when the loop stops."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            await self._run()
        finally:
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

        Taking it over restores the stored alerts first (:meth:`take_over`)."""
        lease = self.lease
        if lease is None:
            return self.leader
        if self.leader:
            if lease.is_leader():
                return True
            self._demote()
            log.warning("leader lease lost; now a follower")
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
            with self.db.read() as session:
                rows = live_state_sql.alerts_since(session, now - timedelta(seconds=hold))
                acks = live_state_sql.acks_of(session, [r.id for r in rows])
                self._reload_plans(session, now)
            alerts = [alert_from_row(r, acks.get(r.id, {})) for r in rows]
            self.core.restore_alerts(alerts)
            self.leader = True
            self.stats.role = "leader"
            self.stats.takeovers += 1
        log.info("leader lease taken: %d open alert(s) continued", sum(a.is_open for a in alerts))
        return sum(1 for a in alerts if a.is_open)

    def _demote(self) -> None:
        self.leader = False
        self.stats.role = "follower"
        self._view_at = -float("inf")


def merge_states(latest: LatestStates, stored: live_state_sql.StoredStates) -> None:
    """Apply stored states to ``latest`` (a newer state wins; equal or older ones change
    nothing), party by party and new aircraft in id order, so that one process's order of
    aircraft (hence of pictures and events) is the same with or without replicas."""
    if not stored.ids:
        return
    party = np.asarray(stored.party, dtype=object)
    ids = np.asarray(stored.ids, dtype=object)
    callsign = np.asarray(stored.callsign, dtype=object)
    for name in sorted(set(stored.party)):
        rows = np.flatnonzero(party == name)
        rows = rows[np.argsort(ids[rows], kind="stable")]
        latest.update(
            name,
            [str(a) for a in ids[rows]],
            {c: v[rows] for c, v in stored.columns.items()},
            [str(c) for c in callsign[rows]],
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
