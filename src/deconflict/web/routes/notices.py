"""Notices (the strategic workflow) and conflict records, always the caller's party's own.

Writes (duty officer, party admin): ``POST /v1/notices`` (``Idempotency-Key`` header),
``PUT /v1/notices/{id}`` (body carries the version last seen; stale -> 409, nothing changes),
``POST /v1/notices/{id}/cancel``. Parties with a registered Ed25519 key sign every write
(``Deconflict-Signature``). Reads (any party role): own notices and own conflict records.
The operator gets 403 on all of them: broker staff cannot read plans.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse

from deconflict.broker.events import ConflictPublic
from deconflict.broker.notice_model import (
    NoticeCancel,
    NoticeCreate,
    NoticePublic,
    NoticeRules,
    NoticeUpdate,
    WriteResult,
)
from deconflict.broker.notices import NoticeService
from deconflict.broker.parties import Principal
from deconflict.broker.strategic_state import StrategicState
from deconflict.web.deps import MetricsDep, PartyPrincipalDep, SessionDep, WriterPrincipalDep
from deconflict.web.metrics import Metrics
from deconflict.web.problems import deconflict_error_response

router = APIRouter(prefix="/v1", tags=["notices"])


def _service(request: Request) -> NoticeService:
    service: NoticeService = request.app.state.notice_service
    return service


def start_notice_service(app: FastAPI) -> None:
    """Start-up hook: build the strategic state from the database."""
    settings = app.state.settings
    db = app.state.db
    rules = NoticeRules(
        lead_times_h=dict(settings.lead_times_h),
        probe_window_s=settings.probe_window_s,
        probe_max_refusals=settings.probe_max_refusals,
        planning_horizon_days=settings.planning_horizon_days,
    )
    service = NoticeService(db, StrategicState(), rules)
    loaded = service.load()
    if loaded >= _FREEZE_ABOVE:
        # A large index is long-lived: keep the cyclic GC from re-scanning it on every full
        # collection (measured: ~7 % more creates/s at 100,000 volumes).
        gc.collect()
        gc.freeze()
    app.state.notice_service = service


#: Index size (volumes) above which start-up freezes the loaded objects out of the cyclic GC.
_FREEZE_ABOVE = 10_000

startup_hooks: Sequence[Any] = (start_notice_service,)

_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "Stale version, or refused under the F3548 policy (with `overlaps`)"},
    429: {"description": "Probing defence: too many refused or cancelled notices"},
}


#: HTTP status of each accepted outcome.
_STATUS = {"accepted": 201, "amended": 200, "cancelled": 200}


def _respond(result: WriteResult, metrics: Metrics, location: str | None = None) -> JSONResponse:
    metrics.inc("deconflict_notices_total", outcome="replay" if result.replayed else result.outcome)
    for policy, n in result.conflicts_by_policy.items():
        metrics.inc("deconflict_conflicts_total", float(n), policy=policy)
    headers: dict[str, str] = {}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    if result.refusal is not None:
        response = deconflict_error_response(result.refusal)
        response.headers.update(headers)
        return response
    assert result.notice is not None
    status = _STATUS[result.outcome]
    if location and status == 201:
        headers["Location"] = location
    return JSONResponse(result.notice, status_code=status, headers=headers)


async def _run_write(
    request: Request,
    principal: Principal,
    metrics: Metrics,
    write: Callable[..., WriteResult],
    body: NoticeCreate | NoticeCancel,
    *,
    with_location: bool = False,
) -> JSONResponse:
    """Run one notice write off the event loop and turn its result into the response.

    The service is synchronous (it holds the strategic lock for the whole check-and-record),
    so it runs in a worker thread. It gets the validated body and, for the signature and the
    idempotency hash, the JSON as received. ``with_location`` adds ``Location`` to a 201.
    """
    signed_body = await request.json()
    assert principal.party_id is not None
    call = functools.partial(write, principal.party_id, submission=body, signed_body=signed_body)
    result = await anyio.to_thread.run_sync(call)
    notice_id = result.notice.get("id") if result.notice else None
    location = f"/v1/notices/{notice_id}" if with_location else None
    return _respond(result, metrics, location)


@router.post(
    "/notices",
    summary="Notify planned activity (checked against other parties' plans and agreed lines)",
    status_code=201,
    response_model=NoticePublic,
    responses=_WRITE_RESPONSES,
)
async def create_notice(
    request: Request,
    body: NoticeCreate,
    principal: WriterPrincipalDep,
    metrics: MetricsDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    deconflict_signature: Annotated[str | None, Header(max_length=400)] = None,
) -> JSONResponse:
    """Create a notice; a retry with the same ``Idempotency-Key`` returns the first result."""
    write = functools.partial(
        _service(request).create,
        idempotency_key=idempotency_key,
        signature_header=deconflict_signature,
        path="/v1/notices",
    )
    return await _run_write(request, principal, metrics, write, body, with_location=True)


@router.get("/notices", summary="List own notices", response_model=list[NoticePublic])
def list_notices(
    request: Request,
    principal: PartyPrincipalDep,
    session: SessionDep,
    state: Literal["live", "all", "notified", "cancelled"] = "live",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[dict[str, Any]]:
    """``live`` (default): notified and not yet ended."""
    assert principal.party_id is not None
    return _service(request).list_own(
        session, principal.party_id, state=state, limit=limit, offset=offset
    )


@router.get("/notices/{notice_id}", summary="One own notice", response_model=NoticePublic)
def get_notice(
    request: Request, notice_id: str, principal: PartyPrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """Another party's notice and a missing one get the same 404."""
    assert principal.party_id is not None
    return _service(request).get_own(session, principal.party_id, notice_id)


@router.put(
    "/notices/{notice_id}",
    summary="Amend an own notice (optimistic concurrency on `version`)",
    response_model=NoticePublic,
    responses=_WRITE_RESPONSES,
)
async def amend_notice(
    request: Request,
    notice_id: str,
    body: NoticeUpdate,
    principal: WriterPrincipalDep,
    metrics: MetricsDep,
    deconflict_signature: Annotated[str | None, Header(max_length=400)] = None,
) -> JSONResponse:
    """Replace the notice's content; re-checked like a new notice."""
    write = functools.partial(
        _service(request).amend,
        notice_id=notice_id,
        signature_header=deconflict_signature,
        path=f"/v1/notices/{notice_id}",
    )
    return await _run_write(request, principal, metrics, write, body)


@router.post(
    "/notices/{notice_id}/cancel",
    summary="Cancel an own notice (resolves its conflicts)",
    response_model=NoticePublic,
    responses=_WRITE_RESPONSES,
)
async def cancel_notice(
    request: Request,
    notice_id: str,
    body: NoticeCancel,
    principal: WriterPrincipalDep,
    metrics: MetricsDep,
    deconflict_signature: Annotated[str | None, Header(max_length=400)] = None,
) -> JSONResponse:
    """Cancel; the other parties' conflict records become ``resolved``."""
    write = functools.partial(
        _service(request).cancel,
        notice_id=notice_id,
        signature_header=deconflict_signature,
        path=f"/v1/notices/{notice_id}/cancel",
    )
    return await _run_write(request, principal, metrics, write, body)


@router.get("/conflicts", summary="Own conflict records", response_model=list[ConflictPublic])
def list_conflicts(
    principal: PartyPrincipalDep,
    session: SessionDep,
    status: Literal["active", "resolved", "all"] = "active",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[dict[str, Any]]:
    """Each record names only the other side's name or pseudonym and the overlap."""
    assert principal.party_id is not None
    return NoticeService.list_conflicts(
        session, principal.party_id, status=status, limit=limit, offset=offset
    )


@router.get(
    "/conflicts/{conflict_id}", summary="One own conflict record", response_model=ConflictPublic
)
def get_conflict(
    conflict_id: str, principal: PartyPrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """404 for another party's record and for a missing one alike."""
    assert principal.party_id is not None
    return NoticeService.get_conflict(session, principal.party_id, conflict_id)
