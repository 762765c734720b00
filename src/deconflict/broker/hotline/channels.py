"""Channel service: state, suspension and restoration, settings, communications checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    insert,
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
from deconflict.broker.hotline.rows import (
    ack_policy,
    channel_from_row,
    channel_row,
    deliver_message,
    ensure_channel,
    queued_messages,
    record_channel_event,
    save_channel,
    schedule_from_json,
)
from deconflict.errors import InvalidInputError
from deconflict.store.hotline_sql.tables import (
    hotline_channel_events,
    hotline_channels,
    hotline_comm_checks,
    hotline_messages,
)
from deconflict.times import utc_iso


def channel_json(session: Session, row: Any, viewer: str) -> dict[str, Any]:
    """A channel as ``viewer`` sees it."""
    channel = channel_from_row(row)
    other = row.party_b if row.party_a == viewer else row.party_a
    view = ViewerNames(session, viewer)
    queued = session.execute(
        select(hotline_messages.c.id).where(
            hotline_messages.c.delivered_at.is_(None),
            or_(
                and_(
                    hotline_messages.c.sender == row.party_a,
                    hotline_messages.c.recipient == row.party_b,
                ),
                and_(
                    hotline_messages.c.sender == row.party_b,
                    hotline_messages.c.recipient == row.party_a,
                ),
            ),
        )
    ).all()
    events = session.execute(
        select(hotline_channel_events)
        .where(
            hotline_channel_events.c.party_a == row.party_a,
            hotline_channel_events.c.party_b == row.party_b,
        )
        .order_by(hotline_channel_events.c.id.desc())
        .limit(20)
    ).all()
    policy = ack_policy(row)
    return {
        "other_party": view.ref(other),
        "state": channel.state.value,
        "suspended_by": sorted(view.handle(p) for p in channel.suspended_by),
        "queued_messages": len(queued),
        "ack_deadlines_s": {p.value: policy.deadlines[p].total_seconds() for p in hl.Precedence},
        "comm_check": row.comm_check,
        "updated_at": utc_iso(row.updated_at),
        "events": [
            {
                "event": e.kind,
                "by": view.handle(e.party_id) if e.party_id else None,
                "at": utc_iso(e.at),
                "from_state": e.from_state,
                "state": e.to_state,
                "reason": view.scrub(e.reason),
            }
            for e in events
        ],
    }


def list_channels(session: Session, party: str) -> list[dict[str, Any]]:
    """Every channel of ``party``."""
    rows = session.execute(
        select(hotline_channels).where(
            or_(hotline_channels.c.party_a == party, hotline_channels.c.party_b == party)
        )
    ).all()
    return [channel_json(session, r, party) for r in rows]


def get_channel(session: Session, party: str, other: str, *, now: datetime) -> dict[str, Any]:
    """The channel between ``party`` and ``other`` (created active on first use)."""
    return channel_json(session, ensure_channel(session, party, other, now=now), party)


def suspend_channel(
    session: Session, party: str, other: str, *, reason: str, now: datetime
) -> dict[str, Any]:
    """``party`` suspends its channel with ``other`` (unilateral, logged, shown to both)."""
    row = ensure_channel(session, party, other, now=now)
    channel, event = hl.suspend(channel_from_row(row), party=party, reason=reason, now=now)
    save_channel(session, channel, now)
    record_channel_event(session, channel, event)
    return get_channel(session, party, other, now=now)


def restore_channel(session: Session, party: str, other: str, *, now: datetime) -> dict[str, Any]:
    """``party`` lifts its suspension; on restoration the queued messages are delivered."""
    row = ensure_channel(session, party, other, now=now)
    queue = tuple(queued_messages(session, row))
    channel = replace(channel_from_row(row), queue=queue)
    channel, event, released = hl.restore(channel, party=party, now=now)
    save_channel(session, channel, now)
    record_channel_event(session, channel, event)
    policy = ack_policy(row)
    for message in released:
        deliver_message(session, message, policy, now)
    return get_channel(session, party, other, now=now)


def configure_channel(
    session: Session,
    party: str,
    other: str,
    *,
    ack_deadlines_s: Mapping[str, float] | None,
    comm_check: Mapping[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """Set the channel's acknowledgement deadlines and communications-check schedule."""
    ensure_channel(session, party, other, now=now)
    values: dict[str, Any] = {"updated_at": now}
    if ack_deadlines_s is not None:
        try:
            policy = hl.AckPolicy(
                deadlines={
                    hl.Precedence(k): timedelta(seconds=float(v))
                    for k, v in ack_deadlines_s.items()
                }
            )
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidInputError(field="ack_deadlines_s", reason=first_reason(exc)) from None
        values["ack_deadlines_s"] = {
            p.value: d.total_seconds() for p, d in policy.deadlines.items()
        }
    if comm_check is not None:
        schedule = schedule_from_json(comm_check, field="comm_check")
        if abs(schedule.anchor - now) > timedelta(days=366):
            raise InvalidInputError(
                field="comm_check.anchor", reason="must be within a year of now"
            )
        values["comm_check"] = {
            "anchor": utc_iso(schedule.anchor),
            "interval_s": schedule.interval.total_seconds(),
            "answer_within_s": schedule.answer_within.total_seconds(),
        }
    pa, pb = channel_pair(party, other)
    session.execute(
        update(hotline_channels)
        .where(hotline_channels.c.party_a == pa, hotline_channels.c.party_b == pb)
        .values(**values)
    )
    record_audit(
        session,
        "channel.configured",
        [pa, pb],
        {"by": party, **{k: v for k, v in values.items() if k != "updated_at"}},
        now=now,
    )
    return get_channel(session, party, other, now=now)


def run_comm_checks(session: Session, *, now: datetime) -> dict[str, int]:
    """Issue due communications checks and degrade channels whose checks were missed."""
    issued = missed = 0
    for row in session.execute(
        select(hotline_channels).where(hotline_channels.c.comm_check.is_not(None))
    ).all():
        if not row.comm_check:  # JSON null
            continue
        schedule = schedule_from_json(row.comm_check, field="comm_check")
        history_rows = session.execute(
            select(hotline_comm_checks).where(
                hotline_comm_checks.c.party_a == row.party_a,
                hotline_comm_checks.c.party_b == row.party_b,
            )
        ).all()
        history = [
            hl.CommCheckRecord(r.sequence, hl.PartyId(r.party_id), r.issued_at, r.answered_at)
            for r in history_rows
        ]
        reported = {(r.sequence, r.party_id) for r in history_rows if r.missed_reported}
        for record in hl.missed_comm_checks(schedule, history, now, already_reported=reported):
            missed += 1
            session.execute(
                update(hotline_comm_checks)
                .where(
                    hotline_comm_checks.c.party_a == row.party_a,
                    hotline_comm_checks.c.party_b == row.party_b,
                    hotline_comm_checks.c.sequence == record.sequence,
                    hotline_comm_checks.c.party_id == record.party,
                )
                .values(missed_reported=True)
            )
            channel, event = hl.mark_degraded(
                channel_from_row(channel_row(session, row.party_a, row.party_b)),
                now=now,
                reason=f"communications check {record.sequence} not answered by {record.party}",
            )
            save_channel(session, channel, now)
            alarm = {
                "type": "comm_check_missed",
                "sequence": record.sequence,
                "party": record.party,
                "at": utc_iso(now),
            }
            for p in (row.party_a, row.party_b):
                shown = {**alarm, "party": ViewerNames(session, p).handle(record.party)}
                publish_to(session, p, "alert", shown, now)
            record_audit(
                session, "channel.comm_check_missed", [row.party_a, row.party_b], alarm, now=now
            )
            if event is not None:
                record_channel_event(session, channel, event)
        sequence = hl.due_comm_check(schedule, history, now)
        if sequence is not None:
            issued += 1
            for p in (row.party_a, row.party_b):
                session.execute(
                    insert(hotline_comm_checks).values(
                        party_a=row.party_a,
                        party_b=row.party_b,
                        sequence=sequence,
                        party_id=p,
                        issued_at=now,
                        answered_at=None,
                        missed_reported=False,
                    )
                )
                publish_to(
                    session,
                    p,
                    "channel",
                    {
                        "type": "comm_check",
                        "sequence": sequence,
                        "issued_at": utc_iso(now),
                        "answer_by": utc_iso(now + schedule.answer_within),
                    },
                    now,
                )
            record_audit(
                session,
                "channel.comm_check_issued",
                [row.party_a, row.party_b],
                {"sequence": sequence},
                now=now,
            )
    return {"issued": issued, "missed": missed}


def answer_comm_check(
    session: Session, party: str, other: str, *, sequence: int, now: datetime
) -> dict[str, Any]:
    """``party`` answers check ``sequence``; all answered in time proves the line."""
    row = ensure_channel(session, party, other, now=now)
    rows = session.execute(
        select(hotline_comm_checks).where(
            hotline_comm_checks.c.party_a == row.party_a,
            hotline_comm_checks.c.party_b == row.party_b,
            hotline_comm_checks.c.sequence == sequence,
        )
    ).all()
    history = [
        hl.CommCheckRecord(r.sequence, hl.PartyId(r.party_id), r.issued_at, r.answered_at)
        for r in rows
    ]
    answered = hl.answer_comm_check(history, sequence=sequence, party=party, now=now)
    session.execute(
        update(hotline_comm_checks)
        .where(
            hotline_comm_checks.c.party_a == row.party_a,
            hotline_comm_checks.c.party_b == row.party_b,
            hotline_comm_checks.c.sequence == sequence,
            hotline_comm_checks.c.party_id == party,
        )
        .values(answered_at=now)
    )
    record_audit(
        session,
        "channel.comm_check_answered",
        [row.party_a, row.party_b],
        {"sequence": sequence, "party": party, "at": utc_iso(now)},
        now=now,
    )
    schedule = schedule_from_json(row.comm_check, field="comm_check") if row.comm_check else None
    others = [r for r in history if r.party != party]
    in_time = schedule is not None and now <= answered.issued_at + schedule.answer_within
    if (
        in_time
        and schedule is not None
        and all(
            r.answered_at is not None and r.answered_at <= r.issued_at + schedule.answer_within
            for r in others
        )
    ):
        channel, event = hl.check_passed(channel_from_row(row), now=now)
        if event is not None:
            save_channel(session, channel, now)
            record_channel_event(session, channel, event)
    return get_channel(session, party, other, now=now)


def channel_view(session: Session, viewer: str, other: str) -> dict[str, Any]:
    """The channel between ``viewer`` and ``other`` as ``viewer`` sees it (active when it was
    never used: it is created on first use)."""
    row = channel_row(session, viewer, other)
    if row is None:
        return {
            "other_party": ViewerNames(session, viewer).ref(other),
            "state": hl.ChannelState.ACTIVE.value,
            "suspended_by": [],
            "queued_messages": 0,
            "events": [],
        }
    return channel_json(session, row, viewer)
