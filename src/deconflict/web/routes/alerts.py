"""Live alerts of the caller's party: ``GET /v1/alerts``, ``POST /v1/alerts/{id}/ack``.

Need-to-know: other parties are named as the caller knows them (the pseudonym of their shared
agreement when it uses pseudonyms; :func:`deconflict.store.live_sql.viewer_labels`), like
strategic conflict records and the hotline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request

from deconflict.live.engine import LiveConfig, alert_from_row
from deconflict.live.picture import alert_view, relabel
from deconflict.settings import Settings
from deconflict.store import live_sql
from deconflict.web.deps import PartyPrincipalDep, SessionDep, WriterPrincipalDep
from deconflict.web.routes import ROUTE_MODULES
from deconflict.web.routes import tracks as tracks_routes
from deconflict.web.routes.tracks import engine_of

router = APIRouter(prefix="/v1", tags=["live"])


@router.get("/alerts", summary="The caller's party's live alerts, newest first")
def list_alerts(
    request: Request,
    principal: PartyPrincipalDep,
    session: SessionDep,
    state: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
) -> list[dict[str, Any]]:
    """Alerts the caller's party is a party to (each as that party may see it)."""
    assert principal.party_id is not None
    party = principal.party_id
    wanted = None if state == "all" else state
    labels = live_sql.viewer_labels(session, party)
    out = []
    for row in live_sql.alerts_for(session, party, state=wanted):
        acked = {party: row.acked_at} if row.acked_at is not None else {}
        out.append(alert_view(alert_from_row(row, acked), party, names=labels))
    return out


@router.post(
    "/alerts/{alert_id}/ack",
    summary="Acknowledge an alert for the caller's party only",
    responses={404: {"description": "No such alert for this party"}},
)
def ack_alert(
    request: Request, alert_id: str, principal: WriterPrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """The other parties' acknowledgement state is unchanged and not disclosed."""
    assert principal.party_id is not None
    view = engine_of(request).acknowledge(
        session, alert_id, principal.party_id, principal.key_id, datetime.now(UTC)
    )
    # The engine renders with one name table for every party (ids before its first cycle):
    # map ids and names alike to what the caller knows each party by.
    labels = live_sql.viewer_labels(session, principal.party_id)
    names = live_sql.party_names(session)
    shown = {**labels, **{names[p]: label for p, label in labels.items() if p in names}}
    return relabel(view, shown)


def live_app(
    settings: Settings,
    *,
    config: LiveConfig | None = None,
    background_tasks: Sequence[Any] = (),
) -> FastAPI:
    """``create_app`` with the live routes and engine, whether or not
    :data:`~deconflict.web.routes.ROUTE_MODULES` lists ``tracks`` and ``alerts`` yet (used by
    ``deconflict demo``, the tests and the benchmark); ``config`` overrides the engine knobs."""
    from deconflict.web.app import create_app

    listed = {"tracks", "alerts"} <= set(ROUTE_MODULES)
    tasks = list(background_tasks)
    if not listed:
        tasks.append(tracks_routes.run_live_engine)
    app = create_app(settings, background_tasks=tasks)
    if not listed:
        app.include_router(tracks_routes.router)
        app.include_router(router)
    app.state.live_config = config
    return app
