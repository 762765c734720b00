"""``/v1/ledger``: signed tree heads, inclusion and consistency proofs, cosigning, export.

Heads and consistency proofs are public to every authenticated caller (they reveal only sizes
and hashes). Entries are opened only for the parties of them: any other caller gets the same 404
as for an entry that does not exist. A party opens its own *view* of an entry (its view salt and
the event with every other party shown by the label the rest of the API shows it by); leaves
hold per-party commitments and no party id, so no proof or export carries a counterpart's id
(``docs/security.md``, "Ledger pseudonymity"). A new head is signed on demand when the log has
grown since the last one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from pydantic import BaseModel, Field

from deconflict.broker import audit, ledger
from deconflict.broker.parties import Principal
from deconflict.errors import ForbiddenError, InvalidInputError
from deconflict.ledger import Signer
from deconflict.ledger.entries import b64encode
from deconflict.settings import Settings
from deconflict.web.deps import (
    DatabaseDep,
    PartyAdminDep,
    PartyPrincipalDep,
    PrincipalDep,
    SessionDep,
    WriterPrincipalDep,
)
from deconflict.web.schemas import LedgerEntryProof, LedgerExportBundle

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

MAX_INDEX = (1 << 63) - 1
"""Largest entry index or tree size accepted in a request (signed 64-bit columns)."""


def _load_signer(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    app.state.ledger_signer = audit.load_or_create_signer(settings.data_dir)


#: Run before serving (see :mod:`deconflict.web.app`): load or create the broker's note key.
startup_hooks = (_load_signer,)


def get_signer(request: Request) -> Signer:
    """The broker's ledger signing key (loaded at start-up)."""
    signer: Signer | None = getattr(request.app.state, "ledger_signer", None)
    if signer is None:
        signer = audit.load_or_create_signer(request.app.state.settings.data_dir)
        request.app.state.ledger_signer = signer
    return signer


SignerDep = Annotated[Signer, Depends(get_signer)]


class HeadPublic(BaseModel):
    """The latest signed tree head."""

    origin: str
    size: int
    root: str = Field(description="Root hash, base64.")
    timestamp_s: int = Field(description="Broker signing time, POSIX seconds.")
    checkpoint: str = Field(description="C2SP signed checkpoint note (with cosignatures).")
    log_key: str = Field(description="The broker's vkey (verify against a copy you trust).")


class ConsistencyPublic(BaseModel):
    """A consistency proof between two tree sizes."""

    first: int
    second: int
    proof: list[str] = Field(description="Hashes, base64, RFC 9162 PROOF order.")


class CosignIn(BaseModel):
    """A checkpoint note carrying the caller party's cosignature line."""

    checkpoint: str = Field(max_length=20_000)


class CheckpointPublic(BaseModel):
    """A signed checkpoint note."""

    checkpoint: str


class WitnessKeyIn(BaseModel):
    """The party's cosigning key (C2SP vkey, signature type 0x04)."""

    vkey: str = Field(max_length=500)


class WitnessKeyPublic(BaseModel):
    """The registered cosigning key."""

    vkey: str
    name: str
    key_id: str


def _party(principal: Principal) -> str:
    if principal.party_id is None:
        raise ForbiddenError("only a party's members have ledger entries")
    return principal.party_id


@router.get("/head", summary="Latest signed tree head", response_model=HeadPublic)
def head(principal: PrincipalDep, db: DatabaseDep, signer: SignerDep) -> HeadPublic:
    """The latest signed checkpoint (signed now if the log grew since the last one)."""
    signed = ledger.fresh_head(db, signer, datetime.now(UTC))
    checkpoint = signed.checkpoint
    return HeadPublic(
        origin=checkpoint.origin,
        size=checkpoint.size,
        root=b64encode(checkpoint.root),
        timestamp_s=checkpoint.timestamp_s,
        checkpoint=signed.note(),
        log_key=signer.verifier.vkey(),
    )


@router.get(
    "/entries/{index}/proof",
    summary="Open one of the caller party's entries, with its inclusion proof",
    response_model=LedgerEntryProof,
)
def entry_proof(
    index: Annotated[int, Path(ge=0, le=MAX_INDEX)],
    principal: PartyPrincipalDep,
    db: DatabaseDep,
    signer: SignerDep,
) -> dict[str, Any]:
    """Leaf record, salt, event and audit path in the latest head (404 if not the party's)."""
    return ledger.entry_proof(db, signer, index, _party(principal), datetime.now(UTC))


@router.get(
    "/consistency",
    summary="Consistency proof between two tree sizes",
    response_model=ConsistencyPublic,
)
def consistency(
    principal: PrincipalDep,
    session: SessionDep,
    first: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    second: Annotated[int, Query(ge=0, le=MAX_INDEX)],
) -> ConsistencyPublic:
    """RFC 9162 PROOF(first, second); 422 if ``first > second`` or ``second`` > the log size."""
    if first > second:
        raise InvalidInputError(field="first", reason="must not exceed second")
    proof = audit.consistency(session, first, second)
    return ConsistencyPublic(first=first, second=second, proof=[b64encode(p) for p in proof])


@router.put(
    "/witness",
    summary="Register or rotate the party's cosigning key (party admin)",
    response_model=WitnessKeyPublic,
)
def put_witness(
    body: WitnessKeyIn, principal: PartyAdminDep, session: SessionDep
) -> WitnessKeyPublic:
    """Set the party's witness vkey; the change is recorded in the ledger."""
    verifier = audit.register_witness(session, _party(principal), body.vkey, now=datetime.now(UTC))
    return WitnessKeyPublic(vkey=verifier.vkey(), name=verifier.name, key_id=verifier.key_id.hex())


@router.post(
    "/cosign",
    summary="Add the party's cosignature to a signed head",
    response_model=CheckpointPublic,
)
def post_cosign(
    body: CosignIn, principal: WriterPrincipalDep, session: SessionDep, signer: SignerDep
) -> CheckpointPublic:
    """Check the caller's cosignature line on one of the broker's heads and store it."""
    merged = audit.add_cosignature(
        session, _party(principal), body.checkpoint, log_key=signer.verifier
    )
    return CheckpointPublic(checkpoint=merged.note())


@router.get(
    "/export",
    summary="Export bundle for the caller's party (verify it offline)",
    response_model=LedgerExportBundle,
)
def export(
    principal: PartyPrincipalDep,
    db: DatabaseDep,
    signer: SignerDep,
    since: Annotated[list[int] | None, Query(description="Sizes of heads you hold.")] = None,
    from_index: Annotated[
        int, Query(ge=0, le=MAX_INDEX, description="First entry index of this page.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Most entries per page.")] = 1000,
) -> dict[str, Any]:
    """Signed heads, consistency proofs and a page of the party's own entries (``deconflict
    ledger verify`` checks it); ``next_index`` starts the next page, ``null`` on the last."""
    return ledger.export(
        db,
        signer,
        _party(principal),
        datetime.now(UTC),
        since_sizes=since or [],
        from_index=from_index,
        limit=limit,
    )
