"""Adapters between hotline rows and the pure core (channels, messages, acks) and delivery."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from deconflict import hotline as hl
from deconflict.broker.hotline.common import (
    ViewerNames,
    channel_pair,
    first_reason,
    publish_to,
    record_audit,
)
from deconflict.errors import InvalidInputError
from deconflict.store.hotline_sql.tables import (
    hotline_acks,
    hotline_channel_events,
    hotline_channels,
    hotline_escalations,
    hotline_messages,
)
from deconflict.store.tables import conflicts
from deconflict.times import utc_iso


def channel_row(session: Session, a: str, b: str) -> Any:
    pa, pb = channel_pair(a, b)
    return session.execute(
        select(hotline_channels).where(
            hotline_channels.c.party_a == pa, hotline_channels.c.party_b == pb
        )
    ).first()


def ensure_channel(session: Session, a: str, b: str, *, now: datetime) -> Any:
    """The channel row between ``a`` and ``b``, created active on first use."""
    row = channel_row(session, a, b)
    if row is None:
        pa, pb = channel_pair(a, b)
        session.execute(
            insert(hotline_channels).values(
                party_a=pa,
                party_b=pb,
                suspended_by=[],
                degraded=False,
                restored=False,
                ack_deadlines_s=null(),
                comm_check=null(),
                updated_at=now,
            )
        )
        row = channel_row(session, a, b)
    return row


def channel_from_row(row: Any) -> hl.Channel:
    """The pure-core channel (without its queue) of a channel row."""
    return hl.Channel(
        parties=(hl.PartyId(row.party_a), hl.PartyId(row.party_b)),
        suspended_by=frozenset(hl.PartyId(p) for p in row.suspended_by),
        degraded=bool(row.degraded),
        restored=bool(row.restored),
    )


def ack_policy(row: Any) -> hl.AckPolicy:
    """The channel's acknowledgement policy (agreement override or the defaults)."""
    if not row.ack_deadlines_s:
        return hl.AckPolicy()
    return hl.AckPolicy(
        deadlines={
            hl.Precedence(k): timedelta(seconds=float(v)) for k, v in row.ack_deadlines_s.items()
        }
    )


def save_channel(session: Session, channel: hl.Channel, now: datetime) -> None:
    session.execute(
        update(hotline_channels)
        .where(
            hotline_channels.c.party_a == channel.parties[0],
            hotline_channels.c.party_b == channel.parties[1],
        )
        .values(
            suspended_by=sorted(channel.suspended_by),
            degraded=channel.degraded,
            restored=channel.restored,
            updated_at=now,
        )
    )


def record_channel_event(
    session: Session, channel: hl.Channel, event: hl.ChannelEvent
) -> dict[str, Any]:
    session.execute(
        insert(hotline_channel_events).values(
            party_a=channel.parties[0],
            party_b=channel.parties[1],
            kind=event.kind.value,
            party_id=event.party,
            at=event.at,
            from_state=event.from_state.value,
            to_state=event.to_state.value,
            reason=event.reason,
        )
    )
    payload = {
        "type": "channel_state",
        "event": event.kind.value,
        "by": event.party,
        "at": utc_iso(event.at),
        "from_state": event.from_state.value,
        "state": event.to_state.value,
        "reason": event.reason,
    }
    for party in channel.parties:
        other = channel.parties[1] if party == channel.parties[0] else channel.parties[0]
        view = ViewerNames(session, party)
        shown = {
            **payload,
            "by": view.handle(event.party) if event.party else None,
            "reason": view.scrub(event.reason),
            "other_party": view.handle(other),
        }
        publish_to(session, party, "channel", shown, event.at)
    record_audit(
        session, f"channel.{event.kind.value}", list(channel.parties), payload, now=event.at
    )
    return payload


def schedule_from_json(data: Mapping[str, Any], *, field: str) -> hl.CommCheckSchedule:
    try:
        return hl.CommCheckSchedule(
            anchor=data["anchor"],
            interval=timedelta(seconds=float(data["interval_s"])),
            answer_within=timedelta(seconds=float(data["answer_within_s"])),
        )
    except KeyError as exc:
        raise InvalidInputError(field=f"{field}.{exc.args[0]}", reason="is required") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInputError(field=field, reason=first_reason(exc)) from None


def message_from_row(row: Any) -> hl.Message:
    attachment = (
        hl.Attachment(hl.AttachmentKind(row.attachment_kind), row.attachment_ref)
        if row.attachment_kind
        else None
    )
    return hl.Message(
        id=hl.MessageId(row.id),
        thread_id=hl.ThreadId(row.thread_id),
        sender=hl.PartyId(row.sender),
        recipient=hl.PartyId(row.recipient),
        template=hl.Template(row.template),
        fields=hl.validate_fields(row.template, row.fields),
        precedence=hl.Precedence(row.precedence),
        created_at=row.created_at,
        free_text=row.free_text,
        attachment=attachment,
        delivered_at=row.delivered_at,
        ack_deadline=row.ack_deadline,
    )


def queued_messages(session: Session, channel_row: Any) -> list[hl.Message]:
    a, b = channel_row.party_a, channel_row.party_b
    rows = session.execute(
        select(hotline_messages).where(
            hotline_messages.c.delivered_at.is_(None),
            or_(
                and_(hotline_messages.c.sender == a, hotline_messages.c.recipient == b),
                and_(hotline_messages.c.sender == b, hotline_messages.c.recipient == a),
            ),
        )
    ).all()
    return [message_from_row(r) for r in rows]


def acks_of(session: Session, message_ids: Sequence[str]) -> dict[str, list[hl.Ack]]:
    out: dict[str, list[hl.Ack]] = {m: [] for m in message_ids}
    if not message_ids:
        return out
    rows = session.execute(
        select(hotline_acks)
        .where(hotline_acks.c.message_id.in_(list(message_ids)))
        .order_by(hotline_acks.c.id)
    )
    for r in rows:
        out[r.message_id].append(
            hl.Ack(
                hl.MessageId(r.message_id),
                hl.PartyId(r.party_id),
                hl.AckAnswer(r.answer),
                r.at,
                r.reason,
            )
        )
    return out


def escalations_of(session: Session, message_ids: Sequence[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {m: [] for m in message_ids}
    if not message_ids:
        return out
    rows = session.execute(
        select(hotline_escalations)
        .where(hotline_escalations.c.message_id.in_(list(message_ids)))
        .order_by(hotline_escalations.c.message_id, hotline_escalations.c.level)
    )
    for r in rows:
        out[r.message_id].append(r)
    return out


def viewer_conflict_ref(session: Session, viewer: str, ref: str) -> str:
    """The id of ``viewer``'s own copy of the conflict record ``ref`` (``ref`` if it has none)."""
    row = session.execute(
        select(conflicts.c.party_id, conflicts.c.pair_id).where(conflicts.c.id == ref)
    ).first()
    if row is None or row.party_id == viewer:
        return ref
    own = session.execute(
        select(conflicts.c.id).where(
            conflicts.c.pair_id == row.pair_id, conflicts.c.party_id == viewer
        )
    ).scalar()
    return str(own) if own is not None else ref


def _own_conflict_view(message: hl.Message, view: ViewerNames) -> hl.Message:
    """``message`` with a conflict reference shown as the viewer's own copy of that conflict.

    Each side holds its own copy of a conflict record (its own id); a message attached to the
    sender's copy reads, for the recipient, as attached to the recipient's copy.
    """
    att = message.attachment
    if att is None or att.kind is not hl.AttachmentKind.CONFLICT:
        return message
    mine = viewer_conflict_ref(view.session, view.viewer, att.ref)
    if mine == att.ref:
        return message
    fields = message.fields
    if getattr(fields, "conflict_ref", None) == att.ref:
        fields = fields.model_copy(update={"conflict_ref": mine})
    return replace(message, attachment=replace(att, ref=mine), fields=fields)


def message_json(
    message: hl.Message,
    acks: Sequence[hl.Ack],
    escalations: Sequence[Any],
    view: ViewerNames,
    *,
    lang: str | None,
) -> dict[str, Any]:
    """A message as ``view.viewer`` sees it; ``lang`` adds the rendering in that language."""
    message = _own_conflict_view(message, view)
    out: dict[str, Any] = {
        "id": message.id,
        "thread_id": message.thread_id,
        "sender": view.ref(message.sender),
        "recipient": view.ref(message.recipient),
        "template": message.template.value,
        "fields": message.fields_json(),
        "precedence": message.precedence.value,
        "free_text": message.free_text,
        "free_text_untranslated": message.free_text is not None,
        "attachment": (
            {"kind": message.attachment.kind.value, "ref": message.attachment.ref}
            if message.attachment
            else None
        ),
        "created_at": utc_iso(message.created_at),
        "delivered_at": utc_iso(message.delivered_at),
        "ack_deadline": utc_iso(message.ack_deadline),
        "state": _message_state(message, acks),
        "acks": [
            {
                "party": view.handle(a.party),
                "answer": a.answer.value,
                "at": utc_iso(a.at),
                "reason": a.reason,
                "reason_untranslated": a.reason is not None,
            }
            for a in acks
        ],
        "escalations": [
            {"level": e.level, "target": e.target, "due_at": utc_iso(e.due_at), "at": utc_iso(e.at)}
            for e in escalations
        ],
    }
    if lang is not None:
        shown = replace(
            message,
            sender=hl.PartyId(view.name(message.sender)),
            recipient=hl.PartyId(view.name(message.recipient)),
        )
        rendered = hl.render_message(shown, lang=lang)
        out["rendered"] = {
            "lang": rendered.lang,
            "title": rendered.title,
            "precedence": rendered.precedence,
            "header": [{"label": x.label, "value": x.value} for x in rendered.header],
            "lines": [{"label": x.label, "value": x.value} for x in rendered.lines],
            "free_text_label": rendered.free_text_label,
            "untranslated": rendered.untranslated,
            "text": rendered.as_text(),
            "acks": [
                hl.render_ack(replace(a, party=hl.PartyId(view.name(a.party))), lang=lang)
                for a in acks
            ],
        }
    return out


def _message_state(message: hl.Message, acks: Sequence[hl.Ack]) -> str:
    if message.delivered_at is None:
        return "queued"
    latest = hl.latest_answer(acks)
    return latest.value if latest is not None else "delivered"


def deliver_message(
    session: Session, message: hl.Message, policy: hl.AckPolicy, now: datetime
) -> hl.Message:
    delivered = hl.deliver(message, now=now, policy=policy)
    session.execute(
        update(hotline_messages)
        .where(hotline_messages.c.id == message.id)
        .values(delivered_at=delivered.delivered_at, ack_deadline=delivered.ack_deadline)
    )
    for party, kind in ((message.recipient, "message"), (message.sender, "message_delivered")):
        shown = message_json(delivered, [], [], ViewerNames(session, party), lang=None)
        publish_to(session, party, "message", {"type": kind, "message": shown}, now)
    record_audit(
        session,
        "message.delivered",
        [message.sender, message.recipient],
        {
            "message_id": message.id,
            "delivered_at": utc_iso(now),
            "ack_deadline": utc_iso(delivered.ack_deadline),
        },
        now=now,
    )
    return delivered
