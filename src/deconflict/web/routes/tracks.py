"""Live tracks in, the visible picture out: ``POST /v1/tracks``, ``GET /v1/picture``; and the
start-up hook and background task that run the live engine (:mod:`deconflict.broker.live`):
the detection loop in this process (``live_detector = "thread"``) or the supervisor of a
dedicated detection process (``"process"``, SQLite; :mod:`deconflict.broker.live_worker`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, FastAPI, Request

from deconflict.broker.events import PictureView, TracksAccepted
from deconflict.broker.live import LiveEngine
from deconflict.broker.live_worker import DetectionProcess, WorkerSpec
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


class DetectorSettingError(DeconflictError):
    """``live_detector = "process"`` on a store that does not support it."""

    status = 500
    title = "Unsupported live detector"


def start_live_engine(app: FastAPI) -> None:
    """Start-up hook: build the engine (``app.state.live_config`` overrides the settings) and
    resolve alerts a previous process left open. With ``live_detector = "process"`` the engine
    only serves; :func:`run_live_engine` starts the detection process."""
    db = app.state.db
    settings = app.state.settings
    config = getattr(app.state, "live_config", None)
    if config is None:
        config = LiveConfig.from_settings(settings)
    engine = LiveEngine(db, config)
    engine.may_lead = not settings.live_no_lead  # replicas: --no-lead (H5)
    engine.watchdog_s = settings.live_watchdog_s
    if settings.live_detector == "process":
        if not db.sqlite:
            raise DetectorSettingError(
                "live_detector = 'process' (DECONFLICT_LIVE_DETECTOR, serve --detector) needs "
                "the embedded SQLite store; on PostgreSQL run replicas instead (one of them "
                "detects; docs/deployment.md)"
            )
        spec = WorkerSpec(
            db_url=db.url,
            sqlite_synchronous=settings.sqlite_synchronous,
            sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            config=config,
        )
        worker = DetectionProcess(engine, spec, on_publish=app.state.notifier.notify)
        engine.serve_only(worker.forward)
        app.state.live_worker = worker
    engine.recover(datetime.now(UTC))
    app.state.live_engine = engine


async def run_live_engine(app: FastAPI) -> None:
    """Background task: the detection loop, or the detection process's supervisor (builds the
    engine first if no start-up hook did)."""
    if getattr(app.state, "live_engine", None) is None:
        await anyio.to_thread.run_sync(start_live_engine, app)
    engine: LiveEngine = app.state.live_engine
    worker: DetectionProcess | None = getattr(app.state, "live_worker", None)
    if engine.detector == "process" and worker is not None:
        await worker.run()
        return
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
