"""Review-pack data: notices, alerts, messages and incidents of a period as plain rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    or_,
    select,
)
from sqlalchemy.orm import Session

from deconflict import hotline as hl
from deconflict.broker.hotline.common import ViewerNames
from deconflict.broker.hotline.rows import acks_of, escalations_of
from deconflict.store.hotline_sql.tables import (
    hotline_incident_acts,
    hotline_incidents,
    hotline_messages,
)
from deconflict.store.live_sql import live_alert_parties, live_alerts
from deconflict.store.tables import conflicts, notices, parties
from deconflict.times import parse_iso


def _notice_start(body: Any) -> datetime | None:
    starts = []
    for volume in (body or {}).get("volumes", []) if isinstance(body, Mapping) else []:
        try:
            starts.append(parse_iso(str(volume["start"])))
        except (KeyError, TypeError, ValueError):
            continue
    return min(starts, default=None)


def load_review_data(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    lead_times_h: Mapping[str, float] | None = None,
    party: str | None = None,
) -> hl.ReviewData:
    """Gather the review pack's data for ``[start, end)`` (all parties, or those of ``party``).

    A party's pack (``party`` given) names every other party as that party knows it: by the
    pseudonym of their shared agreement when it uses pseudonyms (:class:`ViewerNames`).
    """

    names: dict[str, str] = {
        str(r.id): str(r.name) for r in session.execute(select(parties.c.id, parties.c.name))
    }
    if party is not None:
        view = ViewerNames(session, party)
        names = {pid: view.name(pid) for pid in names}

    def name(pid: str) -> str:
        return names.get(pid, pid)

    notice_rows = []
    for r in session.execute(
        select(notices)
        .where(notices.c.created_at >= start, notices.c.created_at < end)
        .order_by(notices.c.created_at)
    ):
        if party is not None and r.party_id != party:
            continue
        begin = _notice_start(r.body)
        if begin is None:
            continue
        notice_rows.append(
            hl.NoticeRow(
                id=r.id,
                party=name(r.party_id),
                category=r.category,
                submitted_at=r.created_at,
                start=begin,
                end=max(r.end_at, begin + timedelta(seconds=1)),
                required_lead_h=(lead_times_h or {}).get(r.category),
                state=r.state,
            )
        )
    msg_query = select(hotline_messages).where(
        hotline_messages.c.created_at >= start, hotline_messages.c.created_at < end
    )
    if party is not None:
        msg_query = msg_query.where(
            or_(hotline_messages.c.sender == party, hotline_messages.c.recipient == party)
        )
    msgs = session.execute(msg_query.order_by(hotline_messages.c.created_at)).all()
    ids = [m.id for m in msgs]
    acks = acks_of(session, ids)
    escs = escalations_of(session, ids)
    message_rows = [
        hl.MessageRow(
            id=m.id,
            thread_id=m.thread_id,
            sender=name(m.sender),
            recipient=name(m.recipient),
            template=m.template,
            precedence=m.precedence,
            sent_at=m.created_at,
            delivered_at=m.delivered_at,
            ack_deadline=m.ack_deadline,
            acks=tuple(
                hl.AckRow(party=name(a.party), answer=a.answer, at=a.at) for a in acks[m.id]
            ),
            escalations=len(escs[m.id]),
        )
        for m in msgs
    ]
    inc_query = select(hotline_incidents).where(
        hotline_incidents.c.filed_at >= start, hotline_incidents.c.filed_at < end
    )
    incident_rows = []
    for r in session.execute(inc_query.order_by(hotline_incidents.c.filed_at)):
        report = hl.IncidentReport.model_validate(r.report)
        if party is not None and party not in report.parties:
            continue
        first_response = session.execute(
            select(hotline_incident_acts.c.at)
            .where(
                hotline_incident_acts.c.incident_id == r.id,
                hotline_incident_acts.c.kind == hl.IncidentActKind.RESPONDED.value,
                hotline_incident_acts.c.party_id != r.reporter,
            )
            .order_by(hotline_incident_acts.c.id)
            .limit(1)
        ).scalar()
        incident_rows.append(
            hl.IncidentRow(
                id=r.id,
                category=r.category,
                reporter=name(r.reporter),
                other_parties=tuple(name(p) for p in report.other_parties),
                time_of_event=report.time_of_event,
                filed_at=r.filed_at,
                state=r.state,
                response_due=r.response_due,
                first_response_at=first_response,
                closed_at=r.closed_at,
            )
        )
    shown_parties = sorted(names.values()) if party is None else [name(party)]
    return hl.ReviewData(
        period_start=start,
        period_end=end,
        generated_at=now,
        parties=tuple(shown_parties),
        notices=tuple(notice_rows),
        alerts=tuple(_alert_rows(session, start, end, name, party)),
        messages=tuple(message_rows),
        incidents=tuple(incident_rows),
        conflicts=tuple(_conflict_rows(session, start, end, name, party)),
    )


def _alert_rows(
    session: Session, start: datetime, end: datetime, name: Any, party: str | None
) -> list[hl.AlertRow]:
    """Alerts of the live picture raised in the period; acknowledged once every party acked."""

    rows = session.execute(
        select(live_alerts)
        .where(live_alerts.c.raised_at >= start, live_alerts.c.raised_at < end)
        .order_by(live_alerts.c.raised_at, live_alerts.c.id)
    ).all()
    ids = [r.id for r in rows]
    members: dict[str, list[Any]] = {i: [] for i in ids}
    if ids:
        for m in session.execute(
            select(live_alert_parties).where(live_alert_parties.c.alert_id.in_(ids))
        ):
            members[m.alert_id].append(m)
    out = []
    for r in rows:
        who = members[r.id]
        if party is not None and party not in {m.party_id for m in who}:
            continue
        acked = [m.acked_at for m in who]
        out.append(
            hl.AlertRow(
                id=r.id,
                raised_at=r.raised_at,
                kind=r.kind,
                severity=r.severity,
                parties=tuple(sorted(name(m.party_id) for m in who)),
                acknowledged_at=max(acked) if acked and all(a is not None for a in acked) else None,
            )
        )
    return out


def _conflict_rows(
    session: Session, start: datetime, end: datetime, name: Any, party: str | None
) -> list[hl.ConflictRow]:
    """Strategic conflicts recorded in the period: one row per conflicting pair (both sides'
    records share a pair id), or, in a party's pack, that party's own records only."""
    query = select(conflicts).where(conflicts.c.created_at >= start, conflicts.c.created_at < end)
    if party is not None:
        query = query.where(conflicts.c.party_id == party)
    pairs: dict[str, list[Any]] = {}
    for r in session.execute(query.order_by(conflicts.c.created_at, conflicts.c.id)):
        pairs.setdefault(r.pair_id, []).append(r)
    out = []
    for rows in pairs.values():
        first = rows[0]
        shown = (
            (name(party), str(first.counterpart))
            if party is not None
            else tuple(sorted({name(r.party_id) for r in rows}))
        )
        out.append(
            hl.ConflictRow(
                id=first.id,
                created_at=first.created_at,
                parties=shown,
                policy=first.policy,
                outcome=first.outcome,
            )
        )
    return out
