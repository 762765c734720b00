"""What a notice write records and tells, in the write's transaction: conflict records (one
copy per viewer), their resolution, the owner's ``notice`` event, ledger entries, probe events
and the idempotency record.

Each conflict record is written *per viewer*: it holds the viewer's own notice id, the other
side's name or pseudonym, and the overlap (footprint, band, window) only; never the other
side's volumes, category, priority or notice id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from deconflict.broker import audit, disclosure
from deconflict.broker.hotline.conflict_threads import open_conflict_thread
from deconflict.broker.notice_model import Draft, conflict_public, request_hash
from deconflict.broker.notices.checks import Found
from deconflict.broker.outbox import publish
from deconflict.broker.parties import new_id
from deconflict.errors import ConflictRejectedError
from deconflict.store.tables import conflicts, idempotency, notices, probe_events
from deconflict.times import parse_iso

#: Hot-path statements, built once (SQLAlchemy reuses their compiled form); the INSERTs are
#: executed with a parameter dict, so they are compiled and cache-keyed once, not per call.
INSERT_NOTICE = insert(notices)
_INSERT_CONFLICT = insert(conflicts)

#: Code stored with an idempotency record for each remembered outcome (the ``idempotency``
#: table of migration 0001 keeps the original response's code: a replay answers the same).
_STORED_CODE = {"accepted": 201, "rejected": 409}


def record_conflicts(
    session: Session,
    party_id: str,
    notice_id: str,
    found: list[Found],
    late: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    """Write both sides of every conflict, publish them; return the submitter's copies.

    An advisory agreement's plan-plan conflict also opens (or continues) a hotline thread
    between the two parties (DOMAIN.md section 6).
    """
    own_copies: list[dict[str, Any]] = []
    for f in found:
        pair_id = new_id()
        audit.record(
            session,
            "conflict.recorded",
            sorted({party_id, f.other_party_id}),
            {
                "pair_id": pair_id,
                "kind": f.kind,
                "policy": f.pairing.policy_name,
                "late": late,
                "overlap_sha256": request_hash(f.overlap),
            },
            now=now,
        )
        agreement_id = f.pairing.agreement.id if f.pairing.agreement else None
        # (viewer, the viewer's own notice, how the viewer sees the other side)
        sides: list[tuple[str, str | None, str]] = [(party_id, notice_id, f.pairing.label_of_other)]
        if f.other_notice_id is not None:
            sides.append((f.other_party_id, f.other_notice_id, f.pairing.label_of_self))
        elif f.other_party_id != party_id:  # a line: the other side has no notice here
            sides.append((f.other_party_id, None, f.pairing.label_of_self))
        own_cid = ""
        coarse = False
        for viewer, own_notice, counterpart in sides:
            overlap = f.overlap
            if f.kind == "volume" and f.other_notice_id is not None:
                # what this viewer may learn of the other side's plan: exact within the
                # disclosure budget, else coarse; window only without an agreement
                owner_is_other = viewer == party_id
                shown = disclosure.show(
                    session,
                    viewer=viewer,
                    owner=f.other_party_id if owner_is_other else party_id,
                    owner_notice_id=f.other_notice_id if owner_is_other else notice_id,
                    viewer_notice_id=own_notice,
                    agreement_id=agreement_id,
                    overlap=f.overlap,
                    viewer_label=(
                        f.pairing.label_of_self if owner_is_other else f.pairing.label_of_other
                    ),
                    owner_label=counterpart,
                    now=now,
                )
                overlap, counterpart = shown.overlap, shown.counterpart
                coarse = coarse or shown.kind == "coarse"
            cid = new_id()
            values = {
                "id": cid,
                "party_id": viewer,
                "pair_id": pair_id,
                "kind": f.kind,
                "own_notice_id": own_notice,
                "counterpart": counterpart,
                "agreement_id": agreement_id,
                "policy": f.pairing.policy_name,
                "outcome": "recorded",
                "late": late,
                "overlap": overlap,
                "alt_lower_ft": float(overlap.get("alt_lower_ft", 0.0)),
                "alt_upper_ft": float(overlap.get("alt_upper_ft", 0.0)),
                "start_at": parse_iso(overlap["start"]),
                "end_at": parse_iso(overlap["end"]),
                "status": "active",
                "created_at": now,
            }
            session.execute(_INSERT_CONFLICT, values)
            public = conflict_public(SimpleNamespace(**values))
            publish(session, viewer, "conflict", public, now=now)
            if viewer == party_id:
                own_cid = cid
                own_copies.append(public)
        if opens_thread(f, party_id) or (coarse and f.pairing.agreement is not None):
            # past the budget the duty officers agree on details over the hotline
            assert f.other_notice_id is not None
            open_conflict_thread(
                session,
                sender=party_id,
                recipient=f.other_party_id,
                conflict_id=own_cid,
                own_notice_id=notice_id,
                other_notice_id=f.other_notice_id,
                overlap=disclosure.coarse_overlap(f.overlap, disclosure.DisclosurePolicy())
                if coarse
                else f.overlap,
                now=now,
            )
    return own_copies


def opens_thread(f: Found, party_id: str) -> bool:
    """An advisory agreement's plan-plan conflict opens a hotline thread (DOMAIN.md section 6)."""
    return (
        f.kind == "volume"
        and f.pairing.policy_name == "advisory"
        and f.pairing.agreement is not None
        and f.other_notice_id is not None
        and f.other_party_id != party_id
    )


def resolve_conflicts_of(session: Session, notice_id: str, now: datetime) -> None:
    """Mark every active conflict involving ``notice_id`` resolved, telling both sides."""
    pair_ids = select(conflicts.c.pair_id).where(
        conflicts.c.own_notice_id == notice_id, conflicts.c.status == "active"
    )
    rows = list(
        session.execute(
            select(conflicts).where(
                conflicts.c.pair_id.in_(pair_ids), conflicts.c.status == "active"
            )
        )
    )
    if not rows:
        return
    session.execute(
        update(conflicts).where(conflicts.c.id.in_([r.id for r in rows])).values(status="resolved")
    )
    for pair_id in sorted({r.pair_id for r in rows}):
        audit.record(
            session,
            "conflict.resolved",
            sorted({r.party_id for r in rows if r.pair_id == pair_id}),
            {"pair_id": pair_id},
            now=now,
        )
    for r in rows:
        public = conflict_public(r)
        public["status"] = "resolved"
        publish(session, r.party_id, "conflict", public, now=now)


def record_refusal(
    session: Session, party_id: str, found: list[Found], now: datetime
) -> ConflictRejectedError:
    """A probe event and a ledger entry for a write refused under the F3548 policy; returns the
    refusal (the overlaps it may disclose) for the caller to answer with."""
    session.execute(insert(probe_events).values(party_id=party_id, kind="rejected", at=now))
    overlaps = [
        disclosure.show(
            session,
            viewer=party_id,
            owner=f.other_party_id,
            owner_notice_id=f.other_notice_id,
            viewer_notice_id=None,
            agreement_id=f.pairing.agreement.id if f.pairing.agreement else None,
            overlap=f.overlap,
            viewer_label=f.pairing.label_of_self,
            owner_label=f.pairing.label_of_other,
            now=now,
        ).overlap
        if f.kind == "volume" and f.other_notice_id is not None
        else f.overlap
        for f in found
        if f.decision == "reject"
    ]
    audit.record(
        session,
        "notice.refused",
        [party_id],
        {"policy": "f3548", "overlaps_sha256": request_hash(overlaps)},
        now=now,
    )
    return ConflictRejectedError(
        f"refused under the F3548 policy: conflicts with {len(overlaps)} higher-priority or "
        "earlier plan(s) of another party",
        overlaps=overlaps,
    )


def record_cancel_probe(session: Session, party_id: str, now: datetime) -> None:
    """A cancellation counts toward the probing defence."""
    session.execute(insert(probe_events).values(party_id=party_id, kind="cancelled", at=now))


def publish_notice(
    session: Session, party_id: str, notice_id: str, version: int, state: str, now: datetime
) -> None:
    """Tell the owning party (event stream) that its notice moved to ``version``/``state``."""
    publish(
        session, party_id, "notice", {"id": notice_id, "version": version, "state": state}, now=now
    )


def audit_notice(session: Session, kind: str, row: Any, now: datetime) -> None:
    """Ledger entry for a notice write, openable by the owning party only."""
    audit.record(
        session,
        kind,
        [row.party_id],
        {
            "notice_id": row.id,
            "version": row.version,
            "state": row.state,
            "body_sha256": request_hash(row.body),
            "signature": row.signature,
        },
        now=now,
    )


def content(
    draft: Draft, *, late: bool, signature: dict[str, str] | None, now: datetime, seq: int
) -> dict[str, Any]:
    """The ``notices`` columns a create and an amend both (re)write from the draft."""
    return {
        "category": draft.category,
        "priority": draft.priority,
        "title": draft.title,
        "body": draft.body,
        "late": late,
        "signature": signature,
        "updated_at": now,
        "end_at": max(v.end for v in draft.volumes),
        "change_seq": seq,
    }


def update_own(session: Session, party_id: str, notice_id: str, **values: Any) -> None:
    """Set ``values`` on the party's own notice row (the caller checked it exists)."""
    session.execute(
        update(notices)
        .where(notices.c.id == notice_id, notices.c.party_id == party_id)
        .values(**values)
    )


def reread(session: Session, notice_id: str) -> Any:
    """The notice's row as just written in this transaction."""
    return session.execute(select(notices).where(notices.c.id == notice_id)).one()


def remember(
    session: Session,
    party_id: str,
    key: str,
    digest: str,
    outcome: str,
    body: Mapping[str, Any],
    now: datetime,
) -> None:
    """Store a create's result under its ``Idempotency-Key`` so a retry replays it."""
    session.execute(
        insert(idempotency).values(
            party_id=party_id,
            key=key,
            request_hash=digest,
            status=_STORED_CODE[outcome],
            response=dict(body),
            created_at=now,
        )
    )


def refusal_record(refusal: ConflictRejectedError) -> dict[str, Any]:
    """What the idempotency record keeps of a refusal (enough to raise it again)."""
    return {"detail": refusal.message, "overlaps": refusal.overlaps}


def recalled(session: Session, party_id: str, key: str) -> tuple[str, str, dict[str, Any]] | None:
    """The remembered (request hash, outcome, body) under ``key``, or None."""
    row = session.execute(
        select(idempotency).where(idempotency.c.party_id == party_id, idempotency.c.key == key)
    ).first()
    if row is None:
        return None
    outcome = "rejected" if int(row.status) == _STORED_CODE["rejected"] else "accepted"
    return str(row.request_hash), outcome, dict(row.response)
