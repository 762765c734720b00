"""Notice wire model: validation of submissions and the views each party may see.

``NoticeCreate`` / ``NoticeUpdate`` / ``NoticeCancel`` are the submissions (pydantic: the one
validator of their envelope; :func:`parse_draft` then parses each volume with the one volume
parser, :meth:`deconflict.strategic.Volume4D.from_json`, naming the offending field).
``NoticePublic`` is the owner's view of a notice and
:class:`~deconflict.broker.events.ConflictPublic` what a conflict record may show (the overlap
only, never the other side's plan): :func:`notice_public` / :func:`conflict_public` render rows
through them. Pure functions of their arguments.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from deconflict.broker.events import ConflictPublic
from deconflict.errors import ConflictRejectedError, InvalidInputError, invalid_input_from
from deconflict.strategic import ActivityCategory, Volume4D
from deconflict.times import parse_iso, utc_iso


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoticeCreate(_In):
    """A new notice: one or more 4D volumes (volume JSON: docs/strategic.md)."""

    title: str = Field(default="", max_length=200)
    category: ActivityCategory = ActivityCategory.OTHER
    priority: int = Field(default=0, ge=-1000, le=1000, strict=True)
    volumes: list[dict[str, Any]] = Field(min_length=1, max_length=100)


class NoticeUpdate(NoticeCreate):
    """A full replacement of a notice's content, quoting the version last seen."""

    version: int = Field(ge=1, le=2**31)


class NoticeCancel(_In):
    """Cancel, quoting the version last seen."""

    version: int = Field(ge=1, le=2**31)


class NoticePublic(BaseModel):
    """The owner's view of a notice (``conflicts``: those the write just recorded)."""

    id: str
    version: int
    state: str
    title: str
    category: str
    priority: int
    volumes: list[dict[str, Any]]
    late: bool
    signed: bool
    created_at: str
    updated_at: str
    conflicts: list[ConflictPublic] = []


@dataclass(frozen=True)
class NoticeRules:
    """Limits and lead times (from :class:`deconflict.settings.Settings`)."""

    lead_times_h: Mapping[str, float] = field(default_factory=dict)
    probe_window_s: float = 600.0
    probe_max_refusals: int = 30
    planning_horizon_days: float = 30.0
    max_volumes: int = 100


@dataclass(frozen=True)
class Draft:
    """A validated submission."""

    title: str
    category: str
    priority: int
    volumes: list[Volume4D]
    body: dict[str, Any]


@dataclass(frozen=True)
class WriteResult:
    """Outcome of a notice write.

    ``outcome``: accepted (created) | amended | cancelled | rejected; ``notice`` the owner's
    view when the write was accepted; ``refusal`` the typed refusal when it was rejected under
    the F3548 policy (the refusal's probe event and ledger entry are committed);
    ``replayed`` when an ``Idempotency-Key`` retry returned the first result.
    """

    outcome: str
    notice: dict[str, Any] | None = None
    refusal: ConflictRejectedError | None = None
    conflicts_by_policy: dict[str, int] = field(default_factory=dict)
    replayed: bool = False


def validate_submission(model: type[_In], payload: Any) -> Any:
    """``payload`` validated by ``model`` (for callers that did not go through the HTTP layer,
    which validates it already); :class:`InvalidInputError` naming the first bad field."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise invalid_input_from(exc) from None


def parse_draft(submission: NoticeCreate, *, now: datetime, rules: NoticeRules) -> Draft:
    """Parse the volumes of a validated submission (envelope checked by :class:`NoticeCreate`).

    Raises :class:`InvalidInputError` naming the field (``volumes[2].altitude.upper``...).
    """
    title = submission.title
    category = ActivityCategory(submission.category).value
    priority = submission.priority
    raw = submission.volumes
    if len(raw) > rules.max_volumes:
        raise InvalidInputError(field="volumes", reason=f"at most {rules.max_volumes} volumes")
    horizon = now + timedelta(days=rules.planning_horizon_days)
    volumes: list[Volume4D] = []
    for i, item in enumerate(raw):
        vol = Volume4D.from_json(item, where=f"volumes[{i}]")
        if vol.end < now:
            raise InvalidInputError(field=f"volumes[{i}].end", reason="is in the past")
        if vol.start > horizon:
            raise InvalidInputError(
                field=f"volumes[{i}].start",
                reason=f"beyond the {rules.planning_horizon_days:g}-day planning horizon",
            )
        volumes.append(vol)
    body = {
        "title": title,
        "category": category,
        "priority": priority,
        "volumes": [v.to_json() for v in volumes],
    }
    return Draft(title, category, priority, volumes, body)


def request_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON of a request body (idempotency-key reuse check)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def effective_state(state: str, start: datetime, end: datetime, now: datetime) -> str:
    """Stored state refined by the clock: notified -> active (in window) -> expired (after)."""
    if state != "notified":
        return state
    if now > end:
        return "expired"
    if start <= now:
        return "active"
    return "notified"


def notice_public(
    row: Any, *, now: datetime, conflicts_: Sequence[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The owner's view of a notice row (``conflicts`` only when ``conflicts_`` is given)."""
    body = row.body
    start = min(parse_iso(v["start"]) for v in body["volumes"])
    view = NoticePublic.model_construct(
        id=row.id,
        version=row.version,
        state=effective_state(row.state, start, row.end_at, now),
        title=row.title,
        category=row.category,
        priority=row.priority,
        volumes=body["volumes"],
        late=bool(row.late),
        signed=row.signature is not None,
        created_at=utc_iso(row.created_at),
        updated_at=utc_iso(row.updated_at),
    )
    out = view.model_dump(exclude={"conflicts"})
    if conflicts_ is not None:
        out["conflicts"] = list(conflicts_)
    return out


def conflict_public(row: Any) -> dict[str, Any]:
    """A conflict record as its viewer may see it (the row *is* the viewer's copy)."""
    return ConflictPublic.model_construct(
        id=row.id,
        kind=row.kind,
        own_notice_id=row.own_notice_id,
        counterpart=row.counterpart,
        agreement_id=row.agreement_id,
        policy=row.policy,
        outcome=row.outcome,
        late=bool(row.late),
        overlap=row.overlap,
        status=row.status,
        created_at=utc_iso(row.created_at),
    ).model_dump()


def disclosed_overlap(overlap_json: Mapping[str, Any]) -> dict[str, Any]:
    """Only footprint, band and window: drop the margins (they measure the other's volume)."""
    keep = (
        "geometry",
        "alt_lower_ft",
        "alt_upper_ft",
        "alt_reference",
        "approximate",
        "start",
        "end",
    )
    return {k: overlap_json[k] for k in keep if k in overlap_json}
