"""Wire models: one family per entity (``...Create`` in, ``...Public`` out).

Input models forbid unknown fields, so a typo is a 422 naming the field rather than being
silently ignored; output models carry only what the caller may see.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RoleName = Literal["viewer", "duty_officer", "party_admin", "operator"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyCreate(_In):
    """A new party."""

    name: str = Field(min_length=1, max_length=100, examples=["Northland Air Force"])


class PartyPublic(BaseModel):
    """A party as the operator (or its own members) see it."""

    id: str
    name: str
    created_at: str
    suspended: bool
    signing_key_id: str | None


class KeyCreate(_In):
    """A new API key."""

    role: RoleName
    expires_days: float | None = Field(default=None, gt=0, le=3650)
    label: str = Field(default="", max_length=200)


class KeyPublic(BaseModel):
    """API key metadata (never the secret)."""

    key_id: str
    party_id: str | None
    role: RoleName
    label: str
    created_at: str | None
    expires_at: str | None
    revoked_at: str | None


class KeyCreated(KeyPublic):
    """A newly created key, with the plaintext key shown this once."""

    key: str


class SigningKeyIn(_In):
    """A party's Ed25519 public key (raw 32 bytes, base64); null clears it."""

    key_id: str | None = Field(default=None, max_length=64)
    public_key: str | None = Field(default=None, max_length=100)


class Me(BaseModel):
    """The authenticated caller."""

    key_id: str
    party_id: str | None
    party_name: str | None
    role: RoleName


class AgreementCreate(_In):
    """A new agreement between two or more parties (ids or names)."""

    name: str = Field(min_length=1, max_length=200)
    policy: Literal["advisory", "f3548"]
    parties: list[str] = Field(min_length=2, max_length=100)
    use_pseudonyms: bool = False
    equal_priority_allowed: bool = False


class AgreementPublic(BaseModel):
    """An agreement (operator: members; member: own pseudonym only)."""

    id: str
    name: str
    policy: str
    equal_priority_allowed: bool
    use_pseudonyms: bool
    created_at: str
    members: list[dict[str, str]] | None = None
    own_pseudonym: str | None = None


class LineCreate(_In):
    """An agreed line: [lon, lat] degrees, and each party's side (left/right of travel)."""

    name: str = Field(min_length=1, max_length=200)
    coordinates: list[list[float]] = Field(min_length=2, max_length=10_000)
    sides: dict[str, Literal["left", "right"]] = Field(min_length=1)


class LinePublic(BaseModel):
    """An agreed line (members see only their own side)."""

    id: str
    agreement_id: str
    name: str
    coordinates: list[list[float]]
    sides: dict[str, str] | None = None
    own_side: str | None = None


class Health(BaseModel):
    """Liveness and database reachability."""

    status: Literal["ok", "degraded"]
    database: Literal["ok", "busy", "unreachable"]
    version: str


class LedgerEntryProof(BaseModel):
    """One of the caller party's ledger entries, opened, with its inclusion proof."""

    index: int
    tree_size: int = Field(description="Size of the signed head the proof is against.")
    leaf: dict[str, Any] = Field(description="The leaf record (JSON form).")
    salt: str = Field(description="Commitment salt, base64.")
    event: dict[str, Any] = Field(description="The committed event (JSON form).")
    proof: list[str] = Field(description="Audit path hashes, base64, RFC 9162 order.")
    checkpoint: str = Field(description="C2SP signed checkpoint note of the head.")


class LedgerBundleConsistency(BaseModel):
    """A consistency proof between two checkpoints of an export bundle."""

    first: int
    second: int
    proof: list[str] = Field(description="Hashes, base64, RFC 9162 PROOF order.")


class LedgerBundleEntry(BaseModel):
    """One of the party's entries in an export bundle, opened, with its inclusion proof."""

    leaf: dict[str, Any] = Field(description="The leaf record (JSON form).")
    salt: str = Field(description="Commitment salt, base64.")
    event: dict[str, Any] = Field(description="The committed event (JSON form).")
    proof: list[str] = Field(description="Audit path hashes in the latest checkpoint, base64.")


class LedgerExportBundle(BaseModel):
    """Export bundle for the caller's party (``deconflict ledger verify`` checks it)."""

    format: str
    origin: str
    party_id: str
    log_key: str = Field(description="The broker's vkey (verify against a copy you trust).")
    checkpoints: list[str] = Field(description="C2SP signed checkpoint notes, oldest first.")
    consistency: list[LedgerBundleConsistency]
    entries: list[LedgerBundleEntry]
    next_index: int | None = Field(description="First index of the next page; null on the last.")


class LiveStats(BaseModel):
    """The live engine's cycle figures in this process (operator; aggregates, no party data)."""

    role: Literal["single", "leader", "follower"] = Field(
        description="``single`` on SQLite; among PostgreSQL replicas the detection ``leader`` "
        "or a ``follower`` (which runs no cycles)."
    )
    detector: Literal["thread", "process"] = Field(
        description="``thread``: cycles run in the serving process; ``process``: in a "
        "dedicated detection process (``deconflict serve --detector process``)."
    )
    cycles: int = Field(ge=0, description="Detection cycles finished.")
    last_cycle_s: float = Field(ge=0, description="Wall seconds of the last cycle (0: none yet).")
    recent_cycle_s: list[float] = Field(
        description="Wall seconds of the most recent cycles, oldest first (at most 256); the "
        "last one is ``last_cycle_s``."
    )
    aircraft: int = Field(ge=0, description="Aircraft states held (live and stale).")
    live_aircraft: int = Field(ge=0, description="Aircraft not stale at the last cycle.")
    conflicts: int = Field(ge=0, description="Conflicting pairs found by the last cycle.")
    open_alerts: int = Field(ge=0, description="Alerts open after the last cycle.")
    open_by_kind: dict[str, int] = Field(description="Open alerts per kind.")
    raised_total: int = Field(ge=0, description="Alerts raised since this process started.")
    takeovers: int = Field(ge=0, description="Times this process became the leader.")
