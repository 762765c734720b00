"""Message service: send, read, acknowledge, escalation ladders and the escalation tick."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deconflict import hotline as hl
from deconflict.broker.hotline.common import (
    ViewerNames,
    channel_pair,
    first_reason,
    new_id,
    publish_to,
    record_audit,
    resolve_counterpart,
)
from deconflict.broker.hotline.rows import (
    ack_policy,
    acks_of,
    channel_from_row,
    deliver_message,
    ensure_channel,
    escalations_of,
    message_from_row,
    message_json,
)
from deconflict.errors import InvalidInputError, NotFoundError
from deconflict.store.hotline_sql.tables import (
    hotline_acks,
    hotline_escalations,
    hotline_ladders,
    hotline_messages,
    hotline_threads,
)
from deconflict.times import utc_iso

MAX_LADDER_DELAY = timedelta(days=7)
"""Latest a ladder step may fall after the acknowledgement deadline (bounds the tick's scan)."""


def send_message(
    session: Session,
    *,
    sender: str,
    recipient: str,
    template: str,
    fields: Mapping[str, Any],
    precedence: str,
    now: datetime,
    thread_id: str | None = None,
    subject: str | None = None,
    attachment: Mapping[str, Any] | None = None,
    free_text: str | None = None,
) -> dict[str, Any]:
    """Validate, persist and deliver (or queue, on a suspended channel) a message from ``sender``.

    Returns the message JSON (``state`` is ``delivered`` or ``queued``). Nothing is written when
    validation fails. ``recipient`` is the name (or pseudonym) the sender knows the recipient
    by; a party that shares no agreement with the sender is "not found" (404).
    """
    recipient_id = resolve_counterpart(session, sender, recipient, field="recipient")
    return send_resolved(
        session,
        sender=sender,
        recipient_id=recipient_id,
        template=template,
        fields=fields,
        precedence=precedence,
        now=now,
        thread_id=thread_id,
        subject=subject,
        attachment=attachment,
        free_text=free_text,
    )


def send_resolved(
    session: Session,
    *,
    sender: str,
    recipient_id: str,
    template: str,
    fields: Mapping[str, Any],
    precedence: str,
    now: datetime,
    thread_id: str | None = None,
    subject: str | None = None,
    attachment: Mapping[str, Any] | None = None,
    free_text: str | None = None,
    origin: str | None = None,
) -> dict[str, Any]:
    """:func:`send_message` to an already resolved ``recipient_id``.

    ``origin="broker"`` marks a message the broker composed on the sender's side (logged).
    """
    prec = hl.parse_precedence(precedence)
    att = None
    if attachment is not None:
        try:
            att = hl.Attachment(
                hl.AttachmentKind(str(attachment.get("kind"))), str(attachment.get("ref", ""))
            )
        except ValueError:
            kinds = ", ".join(k.value for k in hl.AttachmentKind)
            raise InvalidInputError(
                field="attachment.kind", reason=f"must be one of {kinds}"
            ) from None
    if subject is not None and len(subject) > 200:
        raise InvalidInputError(field="subject", reason="must be at most 200 characters")
    if thread_id is not None:
        thread = session.execute(
            select(hotline_threads).where(hotline_threads.c.id == thread_id)
        ).first()
        if thread is None or {thread.party_a, thread.party_b} != {sender, recipient_id}:
            raise InvalidInputError(
                field="thread_id", reason="no such thread between these parties"
            )
    message = hl.compose_message(
        message_id=new_id(),
        thread_id=thread_id or new_id(),
        sender=sender,
        recipient=recipient_id,
        template=template,
        fields=fields,
        precedence=prec,
        now=now,
        free_text=free_text,
        attachment=att,
    )
    channel_row = ensure_channel(session, sender, recipient_id, now=now)
    _, deliver_now = hl.submit(channel_from_row(channel_row), message)
    if thread_id is None:
        pa, pb = channel_pair(sender, recipient_id)
        session.execute(
            insert(hotline_threads).values(
                id=message.thread_id,
                party_a=pa,
                party_b=pb,
                subject=(subject or "").strip(),
                created_by=sender,
                created_at=now,
                last_message_at=now,
            )
        )
    else:
        session.execute(
            update(hotline_threads)
            .where(hotline_threads.c.id == thread_id)
            .values(last_message_at=now)
        )
    session.execute(
        insert(hotline_messages).values(
            id=message.id,
            thread_id=message.thread_id,
            sender=sender,
            recipient=recipient_id,
            template=message.template.value,
            fields=message.fields_json(),
            precedence=prec.value,
            free_text=message.free_text,
            attachment_kind=att.kind.value if att else None,
            attachment_ref=att.ref if att else None,
            created_at=now,
            delivered_at=None,
            ack_deadline=None,
        )
    )
    record_audit(
        session,
        "message.sent",
        [sender, recipient_id],
        {
            "message_id": message.id,
            "thread_id": message.thread_id,
            "template": template,
            "precedence": prec.value,
            "queued": not deliver_now,
            **({"origin": origin} if origin else {}),
        },
        now=now,
    )
    if deliver_now:
        message = deliver_message(session, message, ack_policy(channel_row), now)
    return message_json(message, [], [], ViewerNames(session, sender), lang=None)


def _visible_message_row(session: Session, message_id: str, party: str) -> Any:
    row = session.execute(
        select(hotline_messages).where(
            hotline_messages.c.id == message_id,
            or_(hotline_messages.c.sender == party, hotline_messages.c.recipient == party),
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no message {message_id!r}")
    return row


def get_message(
    session: Session, party: str, message_id: str, *, lang: str | None
) -> dict[str, Any]:
    """One message visible to ``party``."""
    row = _visible_message_row(session, message_id, party)
    message = message_from_row(row)
    acks = acks_of(session, [row.id])[row.id]
    escalations = escalations_of(session, [row.id])[row.id]
    return message_json(message, acks, escalations, ViewerNames(session, party), lang=lang)


def list_messages(
    session: Session, party: str, *, thread_id: str | None, lang: str | None, limit: int = 200
) -> list[dict[str, Any]]:
    """Messages visible to ``party`` (a thread's, or the latest), oldest first.

    Queued messages are shown to their sender only (the recipient has not received them).
    """
    visible = or_(
        hotline_messages.c.sender == party,
        and_(hotline_messages.c.recipient == party, hotline_messages.c.delivered_at.is_not(None)),
    )
    query = select(hotline_messages).where(visible)
    if thread_id is not None:
        query = query.where(hotline_messages.c.thread_id == thread_id)
    rows = session.execute(query.order_by(hotline_messages.c.created_at.desc()).limit(limit)).all()
    rows = list(reversed(rows))
    ids = [r.id for r in rows]
    acks = acks_of(session, ids)
    escalations = escalations_of(session, ids)
    view = ViewerNames(session, party)
    return [
        message_json(message_from_row(r), acks[r.id], escalations[r.id], view, lang=lang)
        for r in rows
    ]


def list_threads(session: Session, party: str) -> list[dict[str, Any]]:
    """Threads of ``party``, most recent first, with counts of unanswered messages to it."""
    rows = session.execute(
        select(hotline_threads)
        .where(or_(hotline_threads.c.party_a == party, hotline_threads.c.party_b == party))
        .order_by(hotline_threads.c.last_message_at.desc())
    ).all()
    others = [r.party_b if r.party_a == party else r.party_a for r in rows]
    view = ViewerNames(session, party)
    out = []
    for r, other in zip(rows, others, strict=True):
        msgs = session.execute(
            select(
                hotline_messages.c.id, hotline_messages.c.recipient, hotline_messages.c.delivered_at
            ).where(hotline_messages.c.thread_id == r.id)
        ).all()
        acked = set(
            session.execute(
                select(hotline_acks.c.message_id).where(
                    hotline_acks.c.message_id.in_([m.id for m in msgs])
                )
            ).scalars()
        )
        out.append(
            {
                "id": r.id,
                "subject": r.subject,
                "other_party": view.ref(other),
                "created_at": utc_iso(r.created_at),
                "last_message_at": utc_iso(r.last_message_at),
                "messages": len(msgs),
                "awaiting_my_ack": sum(
                    1 for m in msgs if m.recipient == party and m.delivered_at and m.id not in acked
                ),
            }
        )
    return out


def ack_message(
    session: Session, party: str, message_id: str, *, answer: str, reason: str | None, now: datetime
) -> dict[str, Any]:
    """Record ``party``'s acknowledgement of a message (rules in :func:`hotline.acknowledge`)."""
    row = _visible_message_row(session, message_id, party)
    message = message_from_row(row)
    acks = acks_of(session, [row.id])[row.id]
    ack = hl.acknowledge(message, acks, party=party, answer=answer, reason=reason, now=now)
    try:
        with session.begin_nested():
            session.execute(
                insert(hotline_acks).values(
                    message_id=ack.message_id,
                    party_id=ack.party,
                    answer=ack.answer.value,
                    reason=ack.reason,
                    at=ack.at,
                )
            )
    except IntegrityError:
        raise hl.AckConflictError(
            f"message {message_id} was already acknowledged '{ack.answer.value}'"
        ) from None
    payload = {
        "type": "ack",
        "message_id": message.id,
        "thread_id": message.thread_id,
        "party": ack.party,
        "answer": ack.answer.value,
        "reason": ack.reason,
        "at": utc_iso(ack.at),
        "late": message.ack_deadline is not None and not acks and now > message.ack_deadline,
    }
    for p in (message.sender, message.recipient):
        shown = {**payload, "party": ViewerNames(session, p).handle(ack.party)}
        publish_to(session, p, "message", shown, now)
    record_audit(
        session, "message.acknowledged", [message.sender, message.recipient], payload, now=now
    )
    return payload


def get_ladder(session: Session, party: str) -> hl.EscalationLadder:
    """``party``'s escalation ladder (the default ladder when none is configured)."""
    row = session.execute(
        select(hotline_ladders).where(hotline_ladders.c.party_id == party)
    ).first()
    if row is None:
        return hl.default_ladder(party)
    return hl.EscalationLadder(
        party=party,
        steps=tuple(
            hl.LadderStep(
                target=hl.EscalationTarget(s["target"]), after=timedelta(seconds=s["after_s"])
            )
            for s in row.steps
        ),
    )


def set_ladder(
    session: Session, party: str, steps: Sequence[Mapping[str, Any]], *, now: datetime
) -> hl.EscalationLadder:
    """Replace ``party``'s ladder (validated: known targets, delays >= 0 and non-decreasing)."""
    try:
        ladder = hl.EscalationLadder(
            party=party,
            steps=tuple(
                hl.LadderStep(target=s["target"], after=timedelta(seconds=float(s["after_s"])))
                for s in steps
            ),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(field="steps", reason=first_reason(exc)) from None
    data = [{"target": s.target.value, "after_s": s.after.total_seconds()} for s in ladder.steps]
    if session.execute(
        select(hotline_ladders.c.party_id).where(hotline_ladders.c.party_id == party)
    ).first():
        session.execute(
            update(hotline_ladders)
            .where(hotline_ladders.c.party_id == party)
            .values(steps=data, updated_at=now)
        )
    else:
        session.execute(insert(hotline_ladders).values(party_id=party, steps=data, updated_at=now))
    record_audit(session, "hotline.ladder_set", [party], {"steps": data}, now=now)
    return ladder


def ladder_json(ladder: hl.EscalationLadder) -> dict[str, Any]:
    """JSON of a ladder."""
    return {
        "party": ladder.party,
        "steps": [
            {"target": s.target.value, "after_s": s.after.total_seconds()} for s in ladder.steps
        ],
    }


def run_escalations(session: Session, *, now: datetime) -> list[hl.EscalationStep]:
    """Take every escalation step due at ``now`` (idempotent; call it periodically).

    Each step is stored (primary key ``(message_id, level)``), pushed to the recipient (``alert``
    targets their consoles) and to the sender ("your message escalated"), and logged.
    """
    rows = session.execute(
        select(hotline_messages).where(
            hotline_messages.c.ack_deadline.is_not(None),
            hotline_messages.c.ack_deadline <= now,
            # no ladder step comes later than 7 days after the deadline (LadderStep bound)
            hotline_messages.c.ack_deadline >= now - MAX_LADDER_DELAY,
            ~select(hotline_acks.c.id)
            .where(hotline_acks.c.message_id == hotline_messages.c.id)
            .exists(),
        )
    ).all()
    taken: list[hl.EscalationStep] = []
    ladders: dict[str, hl.EscalationLadder] = {}
    for row in rows:
        message = message_from_row(row)
        ladder = ladders.setdefault(row.recipient, get_ladder(session, row.recipient))
        done = {e.level for e in escalations_of(session, [row.id])[row.id]}
        for step in hl.escalation_due(message, [], ladder, now, done=done):
            try:
                with session.begin_nested():
                    session.execute(
                        insert(hotline_escalations).values(
                            message_id=step.message_id,
                            level=step.level,
                            target=step.target.value,
                            due_at=step.due_at,
                            at=now,
                        )
                    )
            except IntegrityError:  # another broker process took this step first
                continue
            payload = {
                "type": "escalation",
                "message_id": step.message_id,
                "thread_id": message.thread_id,
                "level": step.level,
                "target": step.target.value,
                "due_at": utc_iso(step.due_at),
                "at": utc_iso(now),
                "precedence": message.precedence.value,
            }
            publish_to(session, step.party, "alert", {**payload, "role": "recipient"}, now)
            publish_to(session, step.notify_sender, "message", {**payload, "role": "sender"}, now)
            record_audit(
                session, "message.escalated", [step.party, step.notify_sender], payload, now=now
            )
            taken.append(step)
    return taken
