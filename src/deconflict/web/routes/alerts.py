"""Live alerts of the caller's party: ``GET /v1/alerts``, ``POST /v1/alerts/{id}/ack``.

Need-to-know: other parties are named as the caller knows them (the pseudonym of their shared
agreement when it uses pseudonyms; :func:`deconflict.broker.live.viewer_labels`), like
strategic conflict records and the hotline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request

from deconflict.broker.events import AlertView
from deconflict.broker.live import alerts_for
from deconflict.live.engine import LiveConfig
from deconflict.settings import Settings
from deconflict.web.app import create_app
from deconflict.web.deps import PartyPrincipalDep, SessionDep, WriterPrincipalDep
from deconflict.web.routes.tracks import engine_of

router = APIRouter(prefix="/v1", tags=["live"])


@router.get(
    "/alerts",
    summary="The caller's party's live alerts, newest first",
    response_model=list[AlertView],
    response_model_exclude_unset=True,
)
def list_alerts(
    request: Request,
    principal: PartyPrincipalDep,
    session: SessionDep,
    state: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
) -> list[dict[str, Any]]:
    """Alerts the caller's party is a party to (each as that party may see it)."""
    assert principal.party_id is not None
    return alerts_for(session, principal.party_id, None if state == "all" else state)


@router.post(
    "/alerts/{alert_id}/ack",
    summary="Acknowledge an alert for the caller's party only",
    responses={404: {"description": "No such alert for this party"}},
    response_model=AlertView,
    response_model_exclude_unset=True,
)
def ack_alert(
    request: Request, alert_id: str, principal: WriterPrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """The other parties' acknowledgement state is unchanged and not disclosed."""
    assert principal.party_id is not None
    return engine_of(request).acknowledge_for(
        session, alert_id, principal.party_id, principal.key_id, datetime.now(UTC)
    )


def live_app(
    settings: Settings,
    *,
    config: LiveConfig | None = None,
    background_tasks: Sequence[Any] = (),
) -> FastAPI:
    """``create_app`` whose live engine uses ``config`` instead of the settings' knobs (used by
    ``deconflict demo``, the tests and the benchmark)."""
    app = create_app(settings, background_tasks=background_tasks)
    app.state.live_config = config
    return app
