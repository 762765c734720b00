"""``/health`` (liveness) and ``/ready`` (readiness), both without authentication and without
party data, ``/metrics`` (Prometheus text, operator role); and the background task that turns
PostgreSQL notifications from other replicas into wake-ups (:mod:`deconflict.cluster.notify`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Literal

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from deconflict import __version__
from deconflict.broker import readiness
from deconflict.cluster.notify import OUTBOX_CHANNEL, TRACKS_CHANNEL, PgListener
from deconflict.web.deps import DatabaseDep, MetricsDep, OperatorDep
from deconflict.web.metrics import CONTENT_TYPE
from deconflict.web.schemas import Health

router = APIRouter(tags=["system"])


#: Longest /health waits for its database ping (s); a slower ping answers ``"busy"``.
HEALTH_PING_S = 0.5
#: Without a successful ping for this long (s), /health answers 503.
HEALTH_STALE_S = 30.0


@router.get(
    "/health",
    summary="Liveness and database reachability (no authentication)",
    response_model=Health,
    responses={503: {"model": Health, "description": "Database down or unreachable"}},
)
async def health(db: DatabaseDep, request: Request) -> JSONResponse:
    """``{"status": "ok", "database": "ok" | "busy", "version": ...}`` within a second even
    under overload (``busy``: the ping took longer than ``HEALTH_PING_S`` while an earlier one
    succeeded within ``HEALTH_STALE_S``); 503 when the database is down or unreachable."""

    body: dict[str, Any] = {"status": "ok", "database": "ok", "version": __version__}
    state = request.app.state
    try:
        with anyio.move_on_after(HEALTH_PING_S) as scope:
            await anyio.to_thread.run_sync(db.ping, abandon_on_cancel=True)
            state.health_ok_at = time.monotonic()
    except Exception:
        body.update(status="degraded", database="unreachable")
        return JSONResponse(body, status_code=503)
    if scope.cancelled_caught:
        last = getattr(state, "health_ok_at", None)
        if last is None or time.monotonic() - last > HEALTH_STALE_S:
            body.update(status="degraded", database="unreachable")
            return JSONResponse(body, status_code=503)
        body["database"] = "busy"
    return JSONResponse(body)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text format 0.0.4; operator role)",
    response_class=PlainTextResponse,
)
async def metrics(principal: OperatorDep, registry: MetricsDep) -> PlainTextResponse:
    """Request counts and latency, notice outcomes and conflicts, aggregated over all parties."""
    return PlainTextResponse(registry.render(), media_type=CONTENT_TYPE)


#: Longest /ready waits for its database probe (s); slower counts as unreachable.
READY_PROBE_S = 2.0


class Readiness(BaseModel):
    """Readiness of this process for traffic (a load balancer's check)."""

    ready: bool = Field(description="Database reachable, schema at head, live engine running.")
    database: Literal["ok", "unreachable"]
    migrations: Literal["current", "behind", "unknown"] = Field(
        description="``behind``: run ``deconflict db upgrade --db URL``."
    )
    revision: list[str] = Field(description="Alembic revision(s) of the database.")
    role: Literal["single", "leader", "follower", "starting"] = Field(
        description="``single`` on SQLite; among PostgreSQL replicas the detection ``leader`` "
        "(holds the lease) or a ``follower``."
    )
    listener: Literal["up", "down", "none"] = Field(
        description="Cross-replica LISTEN/NOTIFY connection (``none`` on SQLite)."
    )
    cycles: int = Field(description="Detection cycles this process ran.")
    last_cycle_s: float = Field(
        0.0, ge=0, description="Wall seconds of the last finished detection cycle (0 before one)."
    )
    version: str


@router.get(
    "/ready",
    summary="Readiness: database, migrations at head, leader lease role (no authentication)",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready for traffic"}},
)
async def ready(db: DatabaseDep, request: Request) -> JSONResponse:
    """200 when this replica can serve (any role), else 503 with the reason in the fields."""
    state = request.app.state
    engine = getattr(state, "live_engine", None)
    listener = getattr(state, "replica_listener", None)
    report: readiness.Readiness | None = None
    with anyio.move_on_after(READY_PROBE_S):
        report = await anyio.to_thread.run_sync(
            readiness.check, db, engine, listener, abandon_on_cancel=True
        )
    if report is None:
        report = readiness.Readiness(
            ready=False,
            database="unreachable",
            migrations="unknown",
            revision=[],
            role=engine.stats.role if engine is not None else "starting",
            listener="down" if not db.sqlite else "none",
            cycles=engine.stats.cycles if engine is not None else 0,
            last_cycle_s=engine.stats.last_cycle_s if engine is not None else 0.0,
        )
    body = Readiness.model_validate({**asdict(report), "version": __version__})
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


async def listen_for_wakeups(app: FastAPI) -> None:
    """Background task (PostgreSQL): ``LISTEN`` for other replicas' commits; an outbox
    notification wakes this process's event streams, a tracks notification its detection loop
    (when it leads). SQLite (one process): nothing to do."""
    db = app.state.db
    if db is None or db.sqlite:
        return

    def poke_engine() -> None:
        engine = getattr(app.state, "live_engine", None)
        if engine is not None:
            engine.poke()

    listener = PgListener(
        db.url, {OUTBOX_CHANNEL: app.state.notifier.notify, TRACKS_CHANNEL: poke_engine}
    )
    app.state.replica_listener = listener
    stop = threading.Event()
    try:
        await anyio.to_thread.run_sync(listener.run, stop, abandon_on_cancel=True)
    finally:
        stop.set()


background_tasks: Sequence[Any] = (listen_for_wakeups,)
