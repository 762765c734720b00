"""The checks of a notice write: the probing defence and the exact 4D check against other
parties' live volumes and agreed lines, with each agreement's policy decision."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from deconflict.broker import limits
from deconflict.broker.notice_model import Draft, NoticeRules, disclosed_overlap
from deconflict.broker.notices.catalog import UNKNOWN_PAIRING, CatalogCache, Pairing
from deconflict.broker.strategic_state import StrategicState
from deconflict.errors import RateLimitedError
from deconflict.store.tables import probe_events
from deconflict.strategic import AdvisoryPolicy, find_conflicts, line_conflicts
from deconflict.times import utc_iso

log = logging.getLogger("deconflict.broker")

_PROBE_COUNT = select(func.count(), func.min(probe_events.c.at)).where(
    probe_events.c.party_id == bindparam("party_id"), probe_events.c.at > bindparam("since")
)


@dataclass
class Found:
    """One conflict to record: the other side's notice and party, and the disclosed overlap."""

    kind: str
    other_notice_id: str | None  # None for lines with no counterpart notice
    other_party_id: str
    pairing: Pairing
    overlap: dict[str, Any]
    decision: str


def check_probe_limit(session: Session, rules: NoticeRules, party_id: str, now: datetime) -> None:
    """Raise :class:`RateLimitedError` when the party had too many refused or cancelled notices
    in the probing window (``rules.probe_window_s``)."""
    since = now - timedelta(seconds=rules.probe_window_s)
    count, oldest = session.execute(_PROBE_COUNT, {"party_id": party_id, "since": since}).one()
    if count >= rules.probe_max_refusals:
        retry = (oldest + timedelta(seconds=rules.probe_window_s) - now).total_seconds()
        log.warning("probe limit reached by party %s (%d refusals)", party_id, count)
        raise RateLimitedError(
            f"too many refused or cancelled notices ({count} in "
            f"{rules.probe_window_s:g} s); try again later",
            retry_after_s=max(1.0, retry),
        )


def find_for_draft(
    session: Session,
    catalog: CatalogCache,
    state: StrategicState,
    party_id: str,
    notice_id: str,
    draft: Draft,
    now: datetime,
    *,
    modifying_active: bool,
) -> list[Found]:
    """Every conflict of ``draft`` (as ``notice_id`` of ``party_id``) with other parties' live
    volumes in ``state`` and with the agreed lines of the party's agreements, each with its
    policy's decision (``accept`` or ``reject``)."""
    pairings, lines = catalog.pairings(session, party_id)
    items = [(f"{notice_id}/{i}", party_id, v) for i, v in enumerate(draft.volumes)]
    found: list[Found] = []
    priorities: dict[str, Any] | None = None
    for c in find_conflicts(items, state.index, within_new=False):
        other_notice = c.b.split("/", 1)[0]
        if other_notice == notice_id:
            continue
        meta = state.notices[other_notice]
        pairing = pairings.get(meta.party_id) or UNKNOWN_PAIRING
        # priority from the agreement (per party, else per activity category), never from the
        # request (issue 11): a self-declared priority 1000 beats nothing
        if priorities is None:
            priorities = limits.priorities_of(session)
        rules = priorities.get(pairing.agreement.id) if pairing.agreement else None
        decision = pairing.policy.decide(
            limits.agreement_priority(rules, party_id, draft.category),
            limits.agreement_priority(rules, meta.party_id, meta.category),
            now,
            meta.created_at,
            new_is_active_modification=modifying_active,
        )
        found.append(
            Found(
                "volume",
                other_notice,
                meta.party_id,
                pairing,
                disclosed_overlap(c.overlap.to_json()),
                decision,
            )
        )
    for line, agreement in lines:
        strategic_line = line.agreed_line()
        for i, vol in enumerate(draft.volumes):
            for lc in line_conflicts(vol, party_id, [strategic_line], key=str(i)):
                lo, hi = vol.altitude.native_ft()
                overlap = {
                    "geometry": lc.geometry,
                    "alt_lower_ft": lo,
                    "alt_upper_ft": hi,
                    "alt_reference": vol.altitude.reference.value,
                    "approximate": False,
                    "start": utc_iso(vol.start),
                    "end": utc_iso(vol.end),
                    "line_id": line.id,
                    "line_name": line.name,
                    "depth_nm": round(lc.depth_nm, 3),
                }
                others = [p for p in line.sides if p != party_id]  # told as well
                decision = (
                    "reject" if agreement.policy == "f3548" and not modifying_active else "accept"
                )
                for other in others or [party_id]:
                    known = pairings.get(other)
                    pairing = Pairing(
                        AdvisoryPolicy(),
                        agreement.policy,
                        agreement,
                        known.label_of_other if known else f"line {line.name}",
                        known.label_of_self if known else "another party",
                    )
                    found.append(Found("line", None, other, pairing, overlap, decision))
    return found


def refused(found: list[Found]) -> bool:
    """Whether any conflict is refused under its policy (the write is then rejected whole)."""
    return any(f.decision == "reject" for f in found)


def by_policy(found: list[Found]) -> dict[str, int]:
    """Number of conflicts per policy name (for the metrics)."""
    out: dict[str, int] = {}
    for f in found:
        out[f.pairing.policy_name] = out.get(f.pairing.policy_name, 0) + 1
    return out


__all__ = [
    "Found",
    "by_policy",
    "check_probe_limit",
    "find_for_draft",
    "refused",
]
