"""``/health`` (no authentication, no data) and ``/metrics`` (Prometheus text, operator role)."""

from __future__ import annotations

import time
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from deconflict import __version__
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
