"""The hotline thread the broker opens when an advisory agreement records a plan conflict.

Under an advisory agreement the broker never refuses a sovereign's notice: it records the
conflict, notifies both sides and opens a hotline thread between them (DOMAIN.md section 6). The
thread's message is a ``request_to_deconflict`` at PRIORITY precedence, composed by the broker on
the submitting party's side (logged with ``origin: broker``), attached to the conflict and
carrying only what the conflict record itself discloses: the conflict handle, the overlap's
altitude band and its time window. Each reader sees the handle of *its own* copy of the conflict
record (:func:`viewer_conflict_ref`). An amendment that conflicts with the same notice again adds a
message to the existing thread instead of opening another.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from deconflict import hotline as hl
from deconflict.broker.hotline.messages import send_resolved
from deconflict.store.hotline_sql.tables import hotline_messages
from deconflict.store.tables import conflicts

SUBJECT = "Advisory conflict (opened by the broker)"
"""Subject of the thread (shared by both sides; names no party and no notice)."""

_MIN_FT, _MAX_FT = -1500.0, 100_000.0


def _ft(value: Any) -> float:
    return min(_MAX_FT, max(_MIN_FT, float(value)))


def conflict_fields(conflict_ref: str, overlap: Mapping[str, Any]) -> dict[str, Any]:
    """The message fields: the handle, the overlap's band and window, nothing else."""
    reference = str(overlap.get("alt_reference", "")).lower()
    return {
        "conflict_ref": conflict_ref,
        "altitude": {
            "lower_ft": _ft(overlap["alt_lower_ft"]),
            "upper_ft": _ft(overlap["alt_upper_ft"]),
            "reference": "fl" if reference == "fl" else "ft_amsl",
        },
        "valid_from": overlap["start"],
        "valid_to": overlap["end"],
    }


def _existing_thread(session: Session, notice_a: str, notice_b: str) -> str | None:
    """The thread already opened for this pair of notices (by any earlier conflict), if any."""
    c1 = conflicts.alias("c1")
    c2 = conflicts.alias("c2")
    query = (
        select(hotline_messages.c.thread_id)
        .select_from(
            hotline_messages.join(c1, c1.c.id == hotline_messages.c.attachment_ref).join(
                c2, and_(c2.c.pair_id == c1.c.pair_id, c2.c.id != c1.c.id)
            )
        )
        .where(
            hotline_messages.c.attachment_kind == hl.AttachmentKind.CONFLICT.value,
            hotline_messages.c.template == hl.Template.REQUEST_TO_DECONFLICT.value,
            or_(
                and_(c1.c.own_notice_id == notice_a, c2.c.own_notice_id == notice_b),
                and_(c1.c.own_notice_id == notice_b, c2.c.own_notice_id == notice_a),
            ),
        )
        .order_by(hotline_messages.c.created_at)
        .limit(1)
    )
    return session.execute(query).scalar()


def open_conflict_thread(
    session: Session,
    *,
    sender: str,
    recipient: str,
    conflict_id: str,
    own_notice_id: str,
    other_notice_id: str,
    overlap: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Open (or reuse) the thread for an advisory conflict, in the caller's transaction.

    ``conflict_id`` is the sender's copy of the conflict record; the recipient reads the id of
    its own copy. Returns the message JSON as the sender sees it.
    """
    thread_id = _existing_thread(session, own_notice_id, other_notice_id)
    return send_resolved(
        session,
        sender=sender,
        recipient_id=recipient,
        template=hl.Template.REQUEST_TO_DECONFLICT.value,
        fields=conflict_fields(conflict_id, overlap),
        precedence=hl.Precedence.PRIORITY.value,
        now=now,
        thread_id=thread_id,
        subject=None if thread_id else SUBJECT,
        attachment={"kind": hl.AttachmentKind.CONFLICT.value, "ref": conflict_id},
        origin="broker",
    )
