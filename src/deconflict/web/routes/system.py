"""``/health`` (no authentication, no data) and ``/metrics`` (Prometheus text, operator role)."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from deconflict import __version__
from deconflict.web.deps import DatabaseDep, MetricsDep, OperatorDep

router = APIRouter(tags=["system"])


@router.get("/health", summary="Liveness and database reachability (no authentication)")
async def health(db: DatabaseDep) -> JSONResponse:
    """``{"status": "ok", "database": "ok", "version": ...}``; 503 when the database is down."""

    def ping() -> None:
        with db.read() as session:
            session.execute(text("SELECT 1"))

    body: dict[str, Any] = {"status": "ok", "database": "ok", "version": __version__}
    try:
        await anyio.to_thread.run_sync(ping)
    except Exception:
        body.update(status="degraded", database="unreachable")
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text format 0.0.4; operator role)",
    response_class=PlainTextResponse,
)
async def metrics(principal: OperatorDep, registry: MetricsDep) -> PlainTextResponse:
    """Request counts and latency, notice outcomes and conflicts, aggregated over all parties."""
    return PlainTextResponse(
        registry.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
