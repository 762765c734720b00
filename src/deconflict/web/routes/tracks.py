"""Live tracks in, the visible picture out: ``POST /v1/tracks``, ``GET /v1/picture``; and the
start-up hook and background task that run the live engine (:mod:`deconflict.broker.live`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, FastAPI, Request

from deconflict.broker.events import PictureView, TracksAccepted
from deconflict.broker.live import LiveEngine
from deconflict.errors import DeconflictError
from deconflict.live.batch import parse_batch
from deconflict.live.engine import LiveConfig
from deconflict.times import utc_iso
from deconflict.web.deps import PartyPrincipalDep, SessionDep, WriterPrincipalDep

router = APIRouter(prefix="/v1", tags=["live"])

__all__ = ["LiveEngine", "engine_of", "router", "start_live_engine"]


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
    db = app.state.db
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
    response_model=TracksAccepted,
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
    return {"accepted": accepted, "received_at": utc_iso(now)}


@router.get(
    "/picture",
    summary="The caller's party's visible live picture",
    response_model=PictureView,
    response_model_exclude_unset=True,
)
def get_picture(request: Request, principal: PartyPrincipalDep) -> dict[str, Any]:
    """Own aircraft in full (stale ones flagged); another party's aircraft only while in an
    open alert with the caller's party, by alert-scoped handle, with the fields needed to act."""
    assert principal.party_id is not None
    return engine_of(request).picture(principal.party_id, datetime.now(UTC))
