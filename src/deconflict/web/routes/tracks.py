"""Live tracks in, the visible picture out: ``POST /v1/tracks``, ``GET /v1/picture``; and the
live engine, the adapter that runs :class:`deconflict.live.engine.LiveCore` against the store.

Path of a state to a screen: ``POST /v1/tracks`` -> validated (:func:`parse_batch`), ownership
checked, history appended in the request's transaction, latest state updated in memory, engine
woken -> :meth:`LiveEngine.cycle` in a worker thread (plans reloaded when they changed, the pure
cycle, then **one** write transaction saving the alert changes and publishing ``alert`` events
to the parties of each changed alert and ``picture`` events to each party) -> ``GET /v1/stream``.

Cycles run every ``interval_s`` and, when new states arrive, ``min_gap_s`` after the previous
cycle started, so the time from a state being accepted to its alert is about one gap plus one
cycle, not one interval. Ingest never waits for a cycle: the cycle works on a copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, FastAPI, Request
from sqlalchemy import update
from sqlalchemy.orm import Session

from deconflict.broker import agreements, audit
from deconflict.broker.live_plans import PlanCache
from deconflict.broker.outbox import publish
from deconflict.errors import DeconflictError, ForbiddenError, NotFoundError
from deconflict.live.alerts import Alert, AlertEvent
from deconflict.live.batch import TrackBatch, parse_batch
from deconflict.live.conformance import AgreedLine
from deconflict.live.engine import LiveConfig, LiveCore, alert_from_row, alert_record
from deconflict.live.picture import alert_view, visible_picture
from deconflict.live.tracks import TrackStates
from deconflict.store import live_sql
from deconflict.store.base import Database
from deconflict.web.deps import PartyPrincipalDep, SessionDep, WriterPrincipalDep

log = logging.getLogger("deconflict.live")
router = APIRouter(prefix="/v1", tags=["live"])

LEDGER_EVENTS = frozenset({"raised", "resolved"})
"""Alert events also appended to the tamper-evident ledger (with acknowledgements); updates are
not, they are frequent and derivable."""

PRUNE_EVERY_S = 60.0
"""How often the track history is pruned to the retention, s."""


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


class LiveEngine:
    """The live engine of one broker process (see the module docstring)."""

    def __init__(self, db: Database, config: LiveConfig | None = None) -> None:
        self.db = db
        self.config = config or LiveConfig()
        self.core = LiveCore(self.config, new_alert_id=lambda: "LA" + secrets.token_hex(6))
        self.stats = CycleStats()
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
        one; later cycles read only changed rows)."""
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
        self._names = live_sql.party_labels(session)
        changed = self._plans.apply(session)
        changed |= self._plans.advance(session, now.timestamp())
        lines = agreements.list_lines(session)
        line_key = tuple(
            (ln.id, tuple(ln.coordinates), tuple(sorted(ln.sides.items()))) for ln in lines
        )
        if line_key != self._line_key:
            self._line_objs = [
                AgreedLine.from_json(
                    {"id": ln.id, "coordinates": ln.coordinates, "sides": dict(ln.sides)}
                )
                for ln in lines
            ]
            self._line_key = line_key
            changed = True
        if changed or not self._plans_set:
            self.core.set_plans(self._plans.volumes(), list(self._line_objs))
            self._plans_set = True

    def cycle(self, now: datetime | None = None) -> list[AlertEvent]:
        """One detection cycle at ``now`` (default: the clock); returns the alert events."""
        with self._cycle_mutex:
            return self._cycle(now or datetime.now(UTC))

    def _cycle(self, now: datetime) -> list[AlertEvent]:
        started = time.perf_counter()
        with self.db.read() as session:
            self._reload_plans(session, now)
        result = self.core.cycle(now)
        picture_due = time.monotonic() - self._last_picture >= self.config.picture_interval_s
        prune_due = time.monotonic() - self._last_prune >= PRUNE_EVERY_S
        if result.events or picture_due or prune_due:
            with self.db.write() as session:
                self._persist(session, result.events, now)
                if picture_due:
                    self._publish_pictures(session, result.states, result.open_alerts, now)
                    self._last_picture = time.monotonic()
                if prune_due:
                    cutoff = now.timestamp() - self.config.history_retention_s
                    live_sql.prune_history(session, cutoff)
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

    def _persist(self, session: Session, events: list[AlertEvent], now: datetime) -> None:
        latest: dict[str, Alert] = {event.alert.id: event.alert for event in events}
        live_sql.save_alerts(session, [(alert_record(a), a.parties) for a in latest.values()])
        # Escalations and re-openings clear acknowledgements: mirror that in the store.
        for alert_id in {e.alert.id for e in events if e.kind == "updated" or e.reopened}:
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
        """``party_id``'s visible picture now."""
        return self.core.picture(party_id, now, names=self._names)

    def acknowledge(
        self, session: Session, alert_id: str, party_id: str, key_id: str, now: datetime
    ) -> dict[str, Any]:
        """Acknowledge ``alert_id`` for ``party_id`` only; returns the party's view."""
        event, alert = self.core.acknowledge(alert_id, party_id, now)
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

    def list_alerts(self, session: Session, party_id: str, state: str | None) -> list[Any]:
        """The party's alerts (views), newest first."""
        out = []
        for row in live_sql.alerts_for(session, party_id, state=state):
            acked = {party_id: row.acked_at} if row.acked_at is not None else {}
            out.append(alert_view(alert_from_row(row, acked), party_id, names=self._names))
        return out

    # -------------------------------------------------------------------------- loop
    async def run(self) -> None:
        """The background loop: a cycle every ``interval_s`` or ``min_gap_s`` after new data."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        last_start = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.interval_s)
            gap = self.config.min_gap_s - (time.monotonic() - last_start)
            if gap > 0:
                await asyncio.sleep(gap)
            self._wake.clear()
            last_start = time.monotonic()
            try:
                await anyio.to_thread.run_sync(self.cycle)
            except Exception:  # keep detecting: one bad cycle must not silence alerts
                log.exception("live detection cycle failed")


class LiveNotReadyError(DeconflictError):
    """The live engine is not running yet (server starting)."""

    status = 503
    title = "Live engine starting"


def engine_of(request: Request) -> LiveEngine:
    """The app's live engine (503 while the server is still starting)."""
    engine: LiveEngine | None = getattr(request.app.state, "live_engine", None)
    if engine is None:
        raise LiveNotReadyError("the live engine is starting; retry in a second")
    return engine


def start_live_engine(app: FastAPI) -> None:
    """Start-up hook: build the engine (``app.state.live_config`` overrides the settings) and
    resolve alerts a previous process left open."""
    db: Database = app.state.db
    config = getattr(app.state, "live_config", None)
    if config is None:
        config = LiveConfig.from_settings(app.state.settings)
    engine = LiveEngine(db, config)
    engine.recover(datetime.now(UTC))
    app.state.live_engine = engine


async def run_live_engine(app: FastAPI) -> None:
    """Background task: the detection loop (builds the engine first if no start-up hook did)."""
    if getattr(app.state, "live_engine", None) is None:
        await anyio.to_thread.run_sync(start_live_engine, app)
    engine: LiveEngine = app.state.live_engine
    await engine.run()


startup_hooks: Sequence[Any] = (start_live_engine,)
background_tasks: Sequence[Any] = (run_live_engine,)

_BATCH_EXAMPLE: dict[str, Any] = {
    "time": "2026-11-26T10:00:00Z",
    "id": ["b1", "b2"],
    "lat": [34.9, 35.1],
    "lon": [33.6, 34.0],
    "alt_ft": [25000, 31000],
    "gs_kt": [440, 450],
    "track_deg": [90, 270],
    "vs_fpm": [0, -500],
    "callsign": ["VIPER11", "VIPER12"],
}


@router.post(
    "/tracks",
    summary="Report a batch of own aircraft states (columnar)",
    responses={
        403: {"description": "An aircraft id is reported by another party"},
        413: {"description": "Too many rows in one batch"},
        422: {"description": "Invalid value (names the column and the 1-based row)"},
    },
)
def post_tracks(
    request: Request,
    principal: WriterPrincipalDep,
    session: SessionDep,
    payload: Annotated[dict[str, Any], Body(examples=[_BATCH_EXAMPLE])],
) -> dict[str, Any]:
    """Columns ``id, lat, lon, alt_ft, gs_kt, track_deg, vs_fpm`` (+ ``callsign``) and ``time``
    (one value or one per row; ISO 8601 or Unix seconds). All rows or none are stored."""
    engine = engine_of(request)
    now = datetime.now(UTC)
    config = engine.config
    batch = parse_batch(
        payload,
        now_s=now.timestamp(),
        max_rows=config.max_batch_rows,
        max_future_s=config.max_future_s,
        max_past_s=config.max_past_s,
    )
    assert principal.party_id is not None
    accepted = engine.ingest(session, principal.party_id, batch, now)
    return {"accepted": accepted, "received_at": now.isoformat().replace("+00:00", "Z")}


@router.get("/picture", summary="The caller's party's visible live picture")
def get_picture(request: Request, principal: PartyPrincipalDep) -> dict[str, Any]:
    """Own aircraft in full (stale ones flagged); another party's aircraft only while in an
    open alert with the caller's party, by alert-scoped handle, with the fields needed to act."""
    assert principal.party_id is not None
    return engine_of(request).picture(principal.party_id, datetime.now(UTC))
