"""Parties, API keys, signing keys, agreements and agreed lines; the live engine's figures.

The operator manages parties, keys and agreements but reads no plans; a party admin manages its
own party's keys and signing key. Lines are visible to the agreement's members (own side only).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status

from deconflict.broker import agreements as agr
from deconflict.broker import disclosure, readiness
from deconflict.broker import parties as pty
from deconflict.errors import InvalidInputError, NotFoundError
from deconflict.web.deps import (
    OperatorDep,
    PartyAdminDep,
    PrincipalDep,
    SessionDep,
    require_role,
)
from deconflict.web.routes.tracks import engine_of
from deconflict.web.schemas import (
    AgreementCreate,
    AgreementPublic,
    KeyCreate,
    KeyCreated,
    KeyPublic,
    LineCreate,
    LinePublic,
    LiveStats,
    Me,
    PartyCreate,
    PartyPublic,
    SigningKeyIn,
)

router = APIRouter(prefix="/v1", tags=["parties and agreements"])

#: The operator (any party) or a party admin (own party only).
KeyManagerDep = Annotated[pty.Principal, Depends(require_role("operator", "party_admin"))]


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/me", summary="The authenticated caller", response_model=Me)
def me(principal: PrincipalDep) -> Me:
    """Key id, party and role of the presented key."""
    return Me(
        key_id=principal.key_id,
        party_id=principal.party_id,
        party_name=principal.party_name,
        role=principal.role,
    )


@router.get("/parties", summary="List parties (operator)", response_model=list[PartyPublic])
def list_parties(principal: OperatorDep, session: SessionDep) -> list[dict[str, Any]]:
    """Every party."""
    return [p.to_json() for p in pty.list_parties(session)]


@router.post(
    "/parties",
    summary="Create a party (operator)",
    status_code=status.HTTP_201_CREATED,
    response_model=PartyPublic,
)
def create_party(body: PartyCreate, principal: OperatorDep, session: SessionDep) -> dict[str, Any]:
    """Create a party; then create its first key with ``POST /v1/parties/{id}/keys``."""
    return pty.create_party(session, body.name, now=_now()).to_json()


def _party_scope(principal: pty.Principal, party_id: str) -> None:
    """Operators may act on any party; a party admin only on its own (others: 404)."""
    if principal.role != "operator" and principal.party_id != party_id:
        raise NotFoundError(f"no party {party_id!r}")


@router.get(
    "/parties/{party_id}/keys",
    summary="List a party's API keys (operator, or that party's admin)",
    response_model=list[KeyPublic],
)
def list_keys(party_id: str, principal: KeyManagerDep, session: SessionDep) -> list[dict[str, Any]]:
    """Key metadata (never secrets)."""
    _party_scope(principal, party_id)
    pid = pty.get_party(session, party_id).id
    return [k.to_json() for k in pty.list_keys(session, pid)]


@router.post(
    "/parties/{party_id}/keys",
    summary="Create an API key (operator, or that party's admin); the key is shown once",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyCreated,
)
def create_key(
    party_id: str, body: KeyCreate, principal: KeyManagerDep, session: SessionDep
) -> dict[str, Any]:
    """Create a key in ``body.role`` for the party."""
    _party_scope(principal, party_id)
    if body.role == "operator":
        raise InvalidInputError(field="role", reason="operator keys belong to no party")
    pid = pty.get_party(session, party_id).id
    info, key = disclosure.issue_key(
        session,
        issuer_role=principal.role,
        issuer_key_id=principal.key_id,
        party_id=pid,
        role=body.role,
        now=_now(),
        expires_days=body.expires_days,
        label=body.label,
    )
    return {**info.to_json(), "key": key}


@router.post(
    "/keys/{key_id}/revoke",
    summary="Revoke an API key (operator: any; party admin: own party's)",
    response_model=KeyPublic,
)
def revoke_key(key_id: str, principal: KeyManagerDep, session: SessionDep) -> dict[str, Any]:
    """Revoke at once; idempotent."""
    if principal.role == "operator":
        return pty.revoke_key(session, key_id, now=_now()).to_json()
    assert principal.party_id is not None
    return pty.revoke_key(session, key_id, now=_now(), scope_party_id=principal.party_id).to_json()


@router.put(
    "/parties/{party_id}/signing-key",
    summary="Register or clear the party's Ed25519 signing key (that party's admin)",
    response_model=PartyPublic,
)
def put_signing_key(
    party_id: str, body: SigningKeyIn, principal: PartyAdminDep, session: SessionDep
) -> dict[str, Any]:
    """After this, every notice submission of the party must be signed with the key."""
    _party_scope(principal, party_id)
    return pty.set_signing_key(
        session, party_id, key_id=body.key_id, public_key_b64=body.public_key
    ).to_json()


@router.post(
    "/agreements",
    summary="Create an agreement between parties (operator)",
    status_code=status.HTTP_201_CREATED,
    response_model=AgreementPublic,
)
def create_agreement(
    body: AgreementCreate, principal: OperatorDep, session: SessionDep
) -> dict[str, Any]:
    """Policy ``advisory`` (record and notify) or ``f3548`` (refuse the losing write)."""
    a = agr.create_agreement(
        session,
        body.name,
        policy=body.policy,
        parties=body.parties,
        now=_now(),
        use_pseudonyms=body.use_pseudonyms,
        equal_priority_allowed=body.equal_priority_allowed,
    )
    return a.to_json()


@router.get(
    "/agreements",
    summary="List agreements (operator: all; party: its own, with its pseudonym)",
    response_model=list[AgreementPublic],
)
def list_agreements(principal: PrincipalDep, session: SessionDep) -> list[dict[str, Any]]:
    """Agreements visible to the caller."""
    if principal.role == "operator":
        return [a.to_json() for a in agr.list_agreements(session)]
    assert principal.party_id is not None
    return [
        a.to_json(viewer_party_id=principal.party_id)
        for a in agr.list_agreements(session, party_id=principal.party_id)
    ]


@router.post(
    "/agreements/{agreement_id}/lines",
    summary="Add an agreed line (operator)",
    status_code=status.HTTP_201_CREATED,
    response_model=LinePublic,
)
def add_line(
    agreement_id: str, body: LineCreate, principal: OperatorDep, session: SessionDep
) -> dict[str, Any]:
    """``sides`` maps party id or name to ``left`` / ``right`` of the line's direction."""
    line = agr.add_line(
        session,
        agreement_id,
        name=body.name,
        coordinates=body.coordinates,
        sides=body.sides,
        now=_now(),
    )
    return line.to_json()


@router.get(
    "/agreements/{agreement_id}/lines",
    summary="Agreed lines (operator; members see their own side)",
    response_model=list[LinePublic],
)
def list_lines(
    agreement_id: str, principal: PrincipalDep, session: SessionDep
) -> list[dict[str, Any]]:
    """Lines of one agreement."""
    if principal.role == "operator":
        agr.get_agreement(session, agreement_id)
        return [ln.to_json() for ln in agr.list_lines(session, agreement_id)]
    assert principal.party_id is not None
    agr.get_agreement(session, agreement_id, party_id=principal.party_id)
    out = []
    for ln in agr.list_lines(session, agreement_id):
        d = ln.to_json()
        d.pop("sides")
        d["own_side"] = ln.sides.get(principal.party_id)
        out.append(d)
    return out


@router.get(
    "/admin/live/stats",
    summary="The live engine's cycle figures in this process (operator)",
    response_model=LiveStats,
    responses={503: {"description": "The live engine is starting"}},
)
def live_stats(request: Request, principal: OperatorDep) -> LiveStats:
    """Role, detector, cycles and the wall seconds of the recent cycles, aircraft, conflicts and
    open alerts (counts only, no party data). Poll it to follow cycle times (a benchmark or a
    dashboard): ``recent_cycle_s`` holds the last 256 cycles, the newest last."""
    report = readiness.live_stats(engine_of(request))
    return LiveStats.model_validate(asdict(report))
