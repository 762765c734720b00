"""Accountability routes of the trust model (issue 11; see ``docs/security.md``).

- ``GET /v1/disclosures`` (party member): what every counterpart has learned of the caller's
  party's plans: when, the counterpart's label, which own notice, area and window, exact or
  coarse.
- ``GET /v1/key-events`` (party member): who issued each of the party's API keys (the operator
  may issue only a party's first admin key; every such issuance is listed here).
- ``GET /v1/operator/events`` (operator): conflicts between parties that share no agreement.
- ``GET /v1/agreements/{id}/settings`` (operator, members) and ``PUT`` (operator): the
  agreement's volume limits, disclosure budget and priorities.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from deconflict.broker import agreements as agr
from deconflict.broker import disclosure, limits
from deconflict.strategic import ActivityCategory
from deconflict.web.deps import OperatorDep, PartyPrincipalDep, PrincipalDep, SessionDep

router = APIRouter(prefix="/v1", tags=["security"])


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoarseArea(_Out):
    """H3 cells covering a coarse overlap."""

    h3_cells: list[str]
    h3_resolution: int
    outline: dict[str, Any] | None = None


class Disclosure(_Out):
    """One disclosure of the caller's plan to a counterpart."""

    id: int
    at: str
    counterpart: str
    own_notice_id: str
    kind: str
    exact: bool
    area_km2: float
    start: str
    end: str
    coarse_area: CoarseArea | None = None


class DisclosureList(_Out):
    """What counterparts learned of the caller's plans, newest first."""

    disclosures: list[Disclosure]


class KeyEvent(_Out):
    """Who issued one of the party's keys."""

    id: int
    at: str
    key_id: str
    role: str
    issued_by: str
    issuer_key_id: str | None


class KeyEventList(_Out):
    """The party's key issuances, newest first."""

    events: list[KeyEvent]


class OperatorEvent(_Out):
    """An event for the broker operator."""

    id: int
    at: str
    kind: str
    data: dict[str, Any]


class OperatorEventList(_Out):
    """The operator's events, newest first."""

    events: list[OperatorEvent]


class AgreementSettings(BaseModel):
    """Per-agreement overrides (absent or null: the documented defaults)."""

    model_config = ConfigDict(extra="forbid")

    limits: dict[str, float] | None = None
    disclosure: dict[str, float] | None = None
    priorities: dict[str, dict[str, int]] | None = None
    profile: Literal["cylinder", "airprox", "do365b"] | None = None
    """DAA alerting profile of the live picture between the members (docs/alerting.md);
    ``PUT`` without it keeps the current one."""


@router.get(
    "/disclosures", summary="What counterparts learned of own plans", response_model=DisclosureList
)
def list_disclosures(principal: PartyPrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Each party sees what every counterpart learned of its plans (exact or coarse)."""
    assert principal.party_id is not None
    return {"disclosures": disclosure.disclosures_for(session, principal.party_id)}


@router.get("/key-events", summary="Who issued the party's API keys", response_model=KeyEventList)
def list_key_events(principal: PartyPrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Key issuances of the caller's party (operator-issued ones included)."""
    assert principal.party_id is not None
    return {"events": disclosure.key_events(session, principal.party_id)}


@router.get(
    "/operator/events",
    summary="Broker operator events (operator)",
    response_model=OperatorEventList,
)
def list_operator_events(principal: OperatorDep, session: SessionDep) -> dict[str, Any]:
    """Unaffiliated conflicts (window and party ids only; no plans)."""
    return {"events": disclosure.operator_events(session)}


@router.get(
    "/agreements/{agreement_id}/settings",
    summary="An agreement's limits, disclosure budget and priorities",
    response_model=AgreementSettings,
)
def get_settings(agreement_id: str, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    """Operator: any agreement; a party: its own agreements only (others: 404)."""
    if principal.role == "operator":
        agr.get_agreement(session, agreement_id)
    else:
        agr.get_agreement(session, agreement_id, party_id=principal.party_id)
    return {
        **limits.settings_of(session, agreement_id),
        "profile": agr.profile_of(session, agreement_id),
    }


@router.put(
    "/agreements/{agreement_id}/settings",
    summary="Set an agreement's limits, disclosure budget and priorities (operator)",
    response_model=AgreementSettings,
)
def put_settings(
    agreement_id: str, body: AgreementSettings, principal: OperatorDep, session: SessionDep
) -> dict[str, Any]:
    """Replace the agreement's settings (errors name ``limits.<name>`` ...)."""
    agr.get_agreement(session, agreement_id)
    values = limits.validate_settings(
        body.model_dump(exclude_none=True, exclude={"profile"}), [c.value for c in ActivityCategory]
    )
    if body.profile is not None:
        agr.set_profile(session, agreement_id, body.profile)
    out = limits.put_settings_of(session, agreement_id, values, now=datetime.now(UTC))
    return {**out, "profile": agr.profile_of(session, agreement_id)}
