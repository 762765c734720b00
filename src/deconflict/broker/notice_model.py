"""Notice wire model: validation of submissions and the views each party may see.

``parse_draft`` validates a body and names the offending field; ``notice_public`` is the owner's
view of a notice; ``conflict_public`` / ``disclosed_overlap`` are what a conflict record may show
(the overlap only, never the other side's plan). Pure functions of their arguments.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deconflict.errors import InvalidInputError
from deconflict.strategic import ActivityCategory, Volume4D, format_utc


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
    """Outcome of a write: HTTP status, JSON body and what the metrics need."""

    status: int
    body: dict[str, Any]
    outcome: str  # accepted | amended | cancelled | rejected | replay
    conflicts_by_policy: dict[str, int] = field(default_factory=dict)
    replayed: bool = False


def parse_draft(payload: Mapping[str, Any], *, now: datetime, rules: NoticeRules) -> Draft:
    """Validate a notice body ``{title?, category, priority?, volumes: [...]}``.

    Raises :class:`InvalidInputError` naming the field (``volumes[2].altitude.upper``...).
    """
    title = payload.get("title", "")
    if not isinstance(title, str) or len(title) > 200:
        raise InvalidInputError(field="title", reason="must be a string of at most 200 characters")
    category = payload.get("category", "other")
    try:
        category = ActivityCategory(category).value
    except ValueError:
        raise InvalidInputError(
            field="category", reason="use one of " + ", ".join(c.value for c in ActivityCategory)
        ) from None
    priority = payload.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or abs(priority) > 1000:
        raise InvalidInputError(field="priority", reason="must be an integer in [-1000, 1000]")
    raw = payload.get("volumes")
    if not isinstance(raw, list) or not raw:
        raise InvalidInputError(field="volumes", reason="must be a non-empty list")
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
    """The owner's view of a notice row."""
    body = row.body
    starts = [v["start"] for v in body["volumes"]]
    start = min(datetime.fromisoformat(s.replace("Z", "+00:00")) for s in starts)
    out = {
        "id": row.id,
        "version": row.version,
        "state": effective_state(row.state, start, row.end_at, now),
        "title": row.title,
        "category": row.category,
        "priority": row.priority,
        "volumes": body["volumes"],
        "late": bool(row.late),
        "signed": row.signature is not None,
        "created_at": format_utc(row.created_at),
        "updated_at": format_utc(row.updated_at),
    }
    if conflicts_ is not None:
        out["conflicts"] = list(conflicts_)
    return out


def conflict_public(row: Any) -> dict[str, Any]:
    """A conflict record as its viewer may see it (the row *is* the viewer's copy)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "own_notice_id": row.own_notice_id,
        "counterpart": row.counterpart,
        "agreement_id": row.agreement_id,
        "policy": row.policy,
        "outcome": row.outcome,
        "late": bool(row.late),
        "overlap": row.overlap,
        "status": row.status,
        "created_at": format_utc(row.created_at),
    }


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
