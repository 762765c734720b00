"""Private-mode relay routes (``/v1/private/...``): keys, blinded sets, sealed messages.

Only the two parties of a private agreement may use its routes (others get 404, as for an
unknown agreement). Bodies are JSON with bytes in base64; the relay stores only blinded values,
counts, digests, signatures and ciphertexts (:mod:`deconflict.broker.private_relay`). Bodies are
limited to ``LARGE_BODY_PREFIXES`` of :mod:`deconflict.web.metrics` (413 beyond) and every field
is validated (422 naming the field).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from deconflict.broker import private_relay
from deconflict.errors import InvalidInputError
from deconflict.private.cells import Grid
from deconflict.web.deps import (
    OperatorDep,
    PartyPrincipalDep,
    SessionDep,
    WriterPrincipalDep,
)

router = APIRouter(prefix="/v1/private", tags=["private"])

AgreementId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
SealedKind = Annotated[Literal["answer", "reveal", "verdict"], Path()]
_MAX_B64 = 4 * (private_relay.MAX_SEALED_BYTES // 3 + 1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GridModel(_Strict):
    """The agreement's 4D grid."""

    resolution: int = Field(ge=2, le=12, description="H3 resolution")
    slot_s: int = Field(ge=60, le=86_400, description="time slot (s)")
    layer_ft: int = Field(ge=100, le=50_000, description="altitude layer (ft)")


class PrivateModeIn(_Strict):
    """Operator: put a two-party agreement in private mode."""

    grid: GridModel = Field(default_factory=lambda: GridModel(**Grid().to_json()))


class PrivateModeOut(BaseModel):
    """The agreement now in private mode."""

    agreement_id: str
    grid: GridModel


class KeysIn(_Strict):
    """A party's public keys (hex)."""

    box_public: str = Field(min_length=64, max_length=64, description="X25519 public key")
    sign_public: str = Field(min_length=64, max_length=64, description="Ed25519 public key")


class KeysRegistered(BaseModel):
    """Fingerprint of the registered keys (compare it with the counterpart out of band)."""

    fingerprint: str


class KeysPublic(BaseModel):
    """The counterpart's public keys."""

    box_public: str
    sign_public: str


class PrivateAgreementPublic(BaseModel):
    """A private agreement as a member sees it."""

    id: str
    name: str
    counterpart: str
    grid: GridModel
    own_epoch: int
    counterpart_epoch: int
    reveal_budget_km2h: float = Field(
        description="What the counterpart may learn exactly of the caller's plans in the "
        "rolling window (km^2 x h; open-mode overlaps and private reveals together)"
    )
    revealed_km2h: float = Field(description="What it has been charged so far (km^2 x h)")
    cell_km2h: float = Field(description="Charge of one (H3 cell, slot) of a reveal (km^2 x h)")


class PrivateAgreementList(BaseModel):
    """The caller's private agreements."""

    agreements: list[PrivateAgreementPublic]


class SetIn(_Strict):
    """A padded blinded set for a new epoch."""

    protocol: str | None = Field(
        default=None,
        max_length=40,
        description="PSI protocol version, 'psi-ristretto255/2' (absent: retired X25519 v1)",
    )
    epoch: int = Field(ge=1, le=private_relay.MAX_EPOCH)
    count: int = Field(ge=1)
    blinded: str = Field(max_length=_MAX_B64, description="count x 32 bytes, base64")
    digest: str = Field(min_length=64, max_length=64)
    signature: str = Field(min_length=128, max_length=128)


class SetStored(BaseModel):
    """The stored epoch and its ledger entry."""

    epoch: int
    count: int
    digest: str
    ledger_index: int


class SetPublic(BaseModel):
    """The counterpart's latest blinded set."""

    protocol: str
    epoch: int
    count: int
    digest: str
    signature: str
    blinded: str
    ledger_index: int


class SealedIn(_Strict):
    """A sealed message for the counterpart."""

    epoch: int = Field(ge=0, le=private_relay.MAX_EPOCH)
    blob: str = Field(min_length=1, max_length=_MAX_B64, description="ciphertext, base64")
    cell_slots: int | None = Field(
        default=None,
        ge=1,
        le=private_relay.MAX_REVEAL_CELL_SLOTS,
        description="reveal only (required): its size in (H3 cell, time slot) units, charged "
        "to the counterpart's disclosure budget",
    )


class SealedStored(BaseModel):
    """Acknowledgement of a stored sealed message."""

    kind: str
    epoch: int
    bytes: int
    charge_km2h: float = Field(
        default=0.0, description="What a reveal cost the counterpart's budget (km^2 x h)"
    )


class SealedPublic(BaseModel):
    """The counterpart's latest sealed message of a kind."""

    epoch: int
    blob: str


class FoundIn(_Strict):
    """A client found an intersection of the two current sets."""

    own_epoch: int = Field(ge=1, le=private_relay.MAX_EPOCH)
    counterpart_epoch: int = Field(ge=1, le=private_relay.MAX_EPOCH)
    cells: int = Field(ge=1, description="cells in common (the intersection size)")


class FoundOut(BaseModel):
    """The hotline thread of the agreement's private conflicts."""

    thread_id: str
    message_id: str | None = Field(description="the message added (null: already reported)")
    opened: bool = Field(description="whether this report opened the thread")
    conflict_ref: str


def _bytes(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError(field=field, reason="not base64") from None


def _now() -> datetime:
    return datetime.now(UTC)


@router.put(
    "/agreements/{agreement_id}/mode",
    summary="Operator: put a two-party agreement in private mode with its grid",
    response_model=PrivateModeOut,
)
def put_mode(
    agreement_id: AgreementId, body: PrivateModeIn, principal: OperatorDep, session: SessionDep
) -> PrivateModeOut:
    """Irreversible: the agreement's plans are then checked by the parties' clients only."""
    grid = Grid(**body.grid.model_dump())
    private_relay.enable_private(session, agreement_id, grid, now=_now())
    return PrivateModeOut(agreement_id=agreement_id, grid=body.grid)


@router.put(
    "/keys", summary="Register the caller party's public keys", response_model=KeysRegistered
)
def put_keys(body: KeysIn, principal: WriterPrincipalDep, session: SessionDep) -> KeysRegistered:
    """Replaces earlier keys (the counterpart's client will notice the change)."""
    assert principal.party_id is not None
    fingerprint = private_relay.register_keys(
        session, principal.party_id, body.box_public, body.sign_public, now=_now()
    )
    return KeysRegistered(fingerprint=fingerprint)


@router.get(
    "/agreements",
    summary="The caller's private agreements",
    response_model=PrivateAgreementList,
)
def list_agreements(principal: PartyPrincipalDep, session: SessionDep) -> PrivateAgreementList:
    """Grid, counterpart label and both epochs of each private agreement of the caller."""
    assert principal.party_id is not None
    items = private_relay.list_private(session, principal.party_id, now=_now())
    return PrivateAgreementList(
        agreements=[PrivateAgreementPublic.model_validate(a.to_json()) for a in items]
    )


@router.get(
    "/agreements/{agreement_id}/keys",
    summary="The counterpart's public keys",
    response_model=KeysPublic,
    responses={404: {"description": "Not a member, or the counterpart has no keys yet"}},
)
def get_keys(
    agreement_id: AgreementId, principal: PartyPrincipalDep, session: SessionDep
) -> KeysPublic:
    """Pin them on first use; a later change is reported by the client."""
    assert principal.party_id is not None
    return KeysPublic(**private_relay.counterpart_keys(session, principal.party_id, agreement_id))


@router.put(
    "/agreements/{agreement_id}/set",
    summary="Upload the caller's padded blinded set for a new epoch",
    response_model=SetStored,
    responses={409: {"description": "Epoch not above the current one"}},
)
def put_set(
    agreement_id: AgreementId, body: SetIn, principal: WriterPrincipalDep, session: SessionDep
) -> SetStored:
    """Checks size, digest and the party's signature, then commits the digest to the ledger."""
    assert principal.party_id is not None
    stored = private_relay.put_set(
        session,
        principal.party_id,
        agreement_id,
        epoch=body.epoch,
        blinded=_bytes(body.blinded, "blinded"),
        count=body.count,
        digest=body.digest,
        signature=body.signature,
        now=_now(),
        protocol=body.protocol,
    )
    return SetStored(**stored)


@router.get(
    "/agreements/{agreement_id}/set",
    summary="The counterpart's latest blinded set",
    response_model=SetPublic,
)
def get_set(
    agreement_id: AgreementId, principal: PartyPrincipalDep, session: SessionDep
) -> SetPublic:
    """With its digest, the counterpart's signature and the ledger entry committing to it."""
    assert principal.party_id is not None
    row = private_relay.counterpart_set(session, principal.party_id, agreement_id)
    return SetPublic(
        protocol=row["protocol"],
        epoch=row["epoch"],
        count=row["count"],
        digest=row["digest"],
        signature=row["signature"],
        blinded=base64.b64encode(row["blinded"]).decode("ascii"),
        ledger_index=row["ledger_index"],
    )


@router.put(
    "/agreements/{agreement_id}/sealed/{kind}",
    summary="Store a sealed answer, reveal or verdict for the counterpart",
    response_model=SealedStored,
    responses={429: {"description": "A reveal beyond the counterpart's disclosure budget"}},
)
def put_sealed(
    agreement_id: AgreementId,
    kind: SealedKind,
    body: SealedIn,
    principal: WriterPrincipalDep,
    session: SessionDep,
) -> SealedStored:
    """Opaque to the broker (sealed to the counterpart's key). A reveal declares its size in
    the clear (``cell_slots``) and is refused with 429 past the disclosure budget."""
    assert principal.party_id is not None
    blob = _bytes(body.blob, "blob")
    charge = private_relay.put_sealed(
        session,
        principal.party_id,
        agreement_id,
        kind,
        epoch=body.epoch,
        blob=blob,
        now=_now(),
        cell_slots=body.cell_slots,
    )
    return SealedStored(kind=kind, epoch=body.epoch, bytes=len(blob), charge_km2h=charge)


@router.get(
    "/agreements/{agreement_id}/sealed/{kind}",
    summary="The counterpart's latest sealed message of a kind",
    response_model=SealedPublic,
)
def get_sealed(
    agreement_id: AgreementId, kind: SealedKind, principal: PartyPrincipalDep, session: SessionDep
) -> SealedPublic:
    """404 until the counterpart has sent one."""
    assert principal.party_id is not None
    row = private_relay.counterpart_sealed(session, principal.party_id, agreement_id, kind)
    return SealedPublic(epoch=row["epoch"], blob=base64.b64encode(row["blob"]).decode("ascii"))


@router.put(
    "/agreements/{agreement_id}/found",
    summary="Report an intersection: opens the hotline thread between the two parties",
    response_model=FoundOut,
    responses={409: {"description": "The epochs are not the two parties' current ones"}},
)
def put_found(
    agreement_id: AgreementId, body: FoundIn, principal: WriterPrincipalDep, session: SessionDep
) -> FoundOut:
    """Carries the cell count only (no window, no cells): the broker learns that the plans meet
    and in how many cells, as each client already knows."""
    assert principal.party_id is not None
    out = private_relay.report_found(
        session,
        principal.party_id,
        agreement_id,
        own_epoch=body.own_epoch,
        counterpart_epoch=body.counterpart_epoch,
        cells=body.cells,
        now=_now(),
    )
    return FoundOut(**out)
