"""Bands of the caller's own live aircraft: ``GET /v1/aircraft/{aircraft_id}/bands``.

Conflict-free track, ground speed, vertical speed and altitude intervals (``deconflict.daa``)
for the dashboard's arcs and scales; another party's aircraft is "not found".
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request

from deconflict.broker.guidance import BandsView, own_bands
from deconflict.web.deps import PartyPrincipalDep
from deconflict.web.routes.tracks import engine_of

router = APIRouter(prefix="/v1", tags=["live"])


@router.get(
    "/aircraft/{aircraft_id}/bands",
    summary="Guidance bands of one of the caller's live aircraft",
    responses={404: {"description": "No such live aircraft of the caller's party"}},
    response_model=BandsView,
)
def aircraft_bands(request: Request, aircraft_id: str, principal: PartyPrincipalDep) -> BandsView:
    """Bands against every live aircraft, with the live profile (cylinder by default)."""
    assert principal.party_id is not None
    engine = engine_of(request)
    return own_bands(engine.core, principal.party_id, aircraft_id, datetime.now(UTC))
