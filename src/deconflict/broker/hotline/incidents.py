"""Incident service: file, respond, close by agreement; own-track evidence from history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from deconflict import hotline as hl
from deconflict.broker.hotline.common import (
    ViewerNames,
    first_reason,
    new_id,
    publish_to,
    record_audit,
    resolve_counterpart,
)
from deconflict.errors import InvalidInputError, NotFoundError, error_reason, field_path
from deconflict.store.hotline_sql.tables import (
    hotline_incident_acts,
    hotline_incident_parties,
    hotline_incidents,
)
from deconflict.store.live_sql import track_history
from deconflict.times import utc_iso


def _incident_from_rows(row: Any, acts: Sequence[Any]) -> hl.Incident:
    report = hl.IncidentReport.model_validate(row.report)
    history = tuple(
        hl.IncidentAct(
            hl.IncidentActKind(a.kind),
            hl.PartyId(a.party_id),
            a.at,
            a.text,
            tuple(hl.TrackExcerpt.model_validate(e) for e in a.evidence),
        )
        for a in acts
    )
    return hl.Incident(
        id=row.id,
        report=report,
        state=hl.IncidentState(row.state),
        filed_at=row.filed_at,
        response_due=row.response_due,
        closure_agreed_by=frozenset(hl.PartyId(p) for p in row.closure_agreed_by),
        history=history,
    )


def _load_incident(session: Session, party: str, incident_id: str) -> hl.Incident:
    row = session.execute(
        select(hotline_incidents).where(
            hotline_incidents.c.id == incident_id,
            select(hotline_incident_parties.c.party_id)
            .where(
                hotline_incident_parties.c.incident_id == hotline_incidents.c.id,
                hotline_incident_parties.c.party_id == party,
            )
            .exists(),
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no incident {incident_id!r}")
    acts = session.execute(
        select(hotline_incident_acts)
        .where(hotline_incident_acts.c.incident_id == incident_id)
        .order_by(hotline_incident_acts.c.id)
    ).all()
    return _incident_from_rows(row, acts)


def incident_json(
    session: Session, incident: hl.Incident, viewer: str, *, now: datetime
) -> dict[str, Any]:
    """An incident as ``viewer`` sees it (other parties by the names their agreements dictate)."""
    view = ViewerNames(session, viewer)
    report = incident.report.model_dump(mode="json", exclude_none=True)
    report["reporter"] = view.handle(incident.report.reporter)
    report["other_parties"] = [view.handle(p) for p in incident.report.other_parties]

    def excerpts(items: Sequence[hl.TrackExcerpt]) -> list[dict[str, Any]]:
        out = []
        for e in items:
            data = e.model_dump(mode="json", exclude_none=True)
            if e.party is not None and e.party in incident.report.parties:
                data["party"] = view.handle(e.party)
            out.append(data)
        return out

    report["evidence"] = excerpts(incident.report.evidence)
    return {
        "id": incident.id,
        "state": incident.state.value,
        "category": incident.report.category.value,
        "reporter": view.ref(incident.report.reporter),
        "parties": [view.ref(p) for p in incident.report.parties],
        "report": report,
        "filed_at": utc_iso(incident.filed_at),
        "response_due": utc_iso(incident.response_due),
        "response_overdue": hl.response_overdue(incident, now),
        "closure_agreed_by": sorted(view.handle(p) for p in incident.closure_agreed_by),
        "history": [
            {
                "act": a.kind.value,
                "party": view.handle(a.party),
                "at": utc_iso(a.at),
                "text": a.text,
                "text_untranslated": a.text is not None,
                "evidence": excerpts(a.evidence),
            }
            for a in incident.history
        ],
    }


def _save_incident(
    session: Session, before: hl.Incident | None, after: hl.Incident
) -> list[hl.IncidentAct]:
    new_acts = list(after.history[len(before.history) :] if before else after.history)
    closed_at = next((a.at for a in new_acts if a.kind is hl.IncidentActKind.CLOSED), None)
    values: dict[str, Any] = {
        "state": after.state.value,
        "closure_agreed_by": sorted(after.closure_agreed_by),
    }
    if closed_at is not None:
        values["closed_at"] = closed_at
    if before is None:
        session.execute(
            insert(hotline_incidents).values(
                id=after.id,
                reporter=after.report.reporter,
                category=after.report.category.value,
                report=after.report.model_dump(mode="json"),
                filed_at=after.filed_at,
                response_due=after.response_due,
                closed_at=None,
                **values,
            )
        )
        for p in after.report.parties:
            session.execute(
                insert(hotline_incident_parties).values(incident_id=after.id, party_id=p)
            )
    else:
        session.execute(
            update(hotline_incidents).where(hotline_incidents.c.id == after.id).values(**values)
        )
    for act in new_acts:
        session.execute(
            insert(hotline_incident_acts).values(
                incident_id=after.id,
                kind=act.kind.value,
                party_id=act.party,
                at=act.at,
                text=act.text,
                evidence=[e.model_dump(mode="json") for e in act.evidence],
            )
        )
    return new_acts


def _announce_incident(
    session: Session, incident: hl.Incident, acts: Sequence[hl.IncidentAct], now: datetime
) -> None:
    for act in acts:
        payload = {
            "type": "incident",
            "incident_id": incident.id,
            "act": act.kind.value,
            "party": act.party,
            "state": incident.state.value,
            "category": incident.report.category.value,
            "at": utc_iso(act.at),
        }
        for p in incident.report.parties:
            shown = {**payload, "party": ViewerNames(session, p).handle(act.party)}
            publish_to(session, p, "message", shown, now)
        record_audit(
            session, f"incident.{act.kind.value}", list(incident.report.parties), payload, now=now
        )


def file_incident(
    session: Session, reporter: str, body: Mapping[str, Any], *, now: datetime
) -> dict[str, Any]:
    """File an incident report by ``reporter``.

    Other parties are named as the reporter knows them (name or pseudonym); a party that shares
    no agreement with the reporter is "not found" (404), as if it did not exist.
    """
    if not isinstance(body, Mapping):
        raise InvalidInputError(field="body", reason="must be an object")
    data = dict(body)
    others = data.get("other_parties")
    if isinstance(others, list):
        data["other_parties"] = [
            resolve_counterpart(session, reporter, str(o), field=f"other_parties[{i}]")
            for i, o in enumerate(others)
        ]
    data["reporter"] = reporter
    response_within_h = data.pop("response_within_h", None)
    window_s = data.pop("evidence_window_s", None)
    radius_nm = data.pop("evidence_radius_nm", 10.0)
    try:
        report = hl.IncidentReport.model_validate(data)
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            errs = exc.errors(include_url=False)
            raise hl.FieldErrors(
                [
                    (
                        field_path(e["loc"]),
                        "unknown field" if e["type"] == "extra_forbidden" else error_reason(e),
                    )
                    for e in errs
                ]
            ) from None
        raise
    within = hl.incidents.DEFAULT_RESPONSE_WITHIN
    if response_within_h is not None:
        try:
            hours = float(response_within_h)
        except (TypeError, ValueError):
            hours = -1.0
        if not 1.0 <= hours <= 24.0 * 90:
            raise InvalidInputError(field="response_within_h", reason="must be 1 to 2160 hours")
        within = timedelta(hours=hours)
    if window_s is not None:
        try:
            window, radius = float(window_s), float(radius_nm)
        except (TypeError, ValueError):
            raise InvalidInputError(
                field="evidence_window_s", reason="window and radius must be numbers"
            ) from None
        auto = own_track_evidence(
            session,
            reporter,
            at=report.time_of_event,
            lat_deg=report.position.lat_deg,
            lon_deg=report.position.lon_deg,
            window_s=window,
            radius_nm=radius,
        )
        report = report.model_copy(update={"evidence": (*report.evidence, *auto)})
    incident = hl.file_incident(new_id(), report, now=now, response_within=within)
    acts = _save_incident(session, None, incident)
    _announce_incident(session, incident, acts, now)
    return incident_json(session, incident, reporter, now=now)


def act_on_incident(
    session: Session,
    party: str,
    incident_id: str,
    *,
    action: str,
    now: datetime,
    text: str | None = None,
    evidence: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """``respond`` (statement + evidence), ``agree_to_close`` or ``reject_closure`` (reason)."""
    before = _load_incident(session, party, incident_id)
    if action == "respond":
        try:
            excerpts = tuple(hl.TrackExcerpt.model_validate(e) for e in evidence)
        except ValueError as exc:
            raise InvalidInputError(field="evidence", reason=first_reason(exc)) from None
        after = hl.respond(before, party=party, statement=text or "", now=now, evidence=excerpts)
    elif action == "agree_to_close":
        after = hl.agree_to_close(before, party=party, now=now)
    elif action == "reject_closure":
        after = hl.reject_closure(before, party=party, reason=text or "", now=now)
    else:
        raise InvalidInputError(
            field="action", reason="must be respond, agree_to_close or reject_closure"
        )
    acts = _save_incident(session, before, after)
    _announce_incident(session, after, acts, now)
    return incident_json(session, after, party, now=now)


def get_incident(
    session: Session, party: str, incident_id: str, *, now: datetime
) -> dict[str, Any]:
    """One incident visible to ``party``."""
    return incident_json(session, _load_incident(session, party, incident_id), party, now=now)


def list_incidents(session: Session, party: str, *, now: datetime) -> list[dict[str, Any]]:
    """Incidents naming ``party``, newest first."""
    ids = session.execute(
        select(hotline_incidents.c.id)
        .join(
            hotline_incident_parties,
            hotline_incident_parties.c.incident_id == hotline_incidents.c.id,
        )
        .where(hotline_incident_parties.c.party_id == party)
        .order_by(hotline_incidents.c.filed_at.desc())
    ).scalars()
    return [get_incident(session, party, i, now=now) for i in ids]


def own_track_evidence(
    session: Session,
    party: str,
    *,
    at: datetime,
    lat_deg: float,
    lon_deg: float,
    window_s: float,
    radius_nm: float,
) -> tuple[hl.TrackExcerpt, ...]:
    """Excerpts of ``party``'s *own* stored track history near an incident.

    Points within ``window_s`` seconds of ``at`` and (approximately, by a latitude/longitude box)
    within ``radius_nm`` of the position, one excerpt per aircraft. Only the acting party's own
    tracks are attached: the broker never hands one party another party's history.
    """
    import math

    if not (0 < window_s <= 3600):
        raise InvalidInputError(field="evidence_window_s", reason="must be in (0, 3600] seconds")
    if not (0 < radius_nm <= 100):
        raise InvalidInputError(field="evidence_radius_nm", reason="must be in (0, 100] NM")
    t = at.timestamp()
    dlat = radius_nm / 60.0
    dlon = radius_nm / (60.0 * max(math.cos(math.radians(lat_deg)), 0.01))
    rows = session.execute(
        select(track_history)
        .where(
            track_history.c.party_id == party,
            track_history.c.time_s >= t - window_s,
            track_history.c.time_s <= t + window_s,
            track_history.c.lat_deg.between(lat_deg - dlat, lat_deg + dlat),
            track_history.c.lon_deg.between(lon_deg - dlon, lon_deg + dlon),
        )
        .order_by(track_history.c.aircraft_id, track_history.c.time_s)
        .limit(hl.incidents.MAX_EVIDENCE_POINTS)
    ).all()
    by_aircraft: dict[str, list[hl.TrackPoint]] = {}
    for r in rows:
        by_aircraft.setdefault(r.aircraft_id, []).append(
            hl.TrackPoint(
                time=datetime.fromtimestamp(r.time_s, tz=at.tzinfo),
                lat_deg=r.lat_deg,
                lon_deg=r.lon_deg,
                alt_ft=max(-1500.0, min(100_000.0, r.alt_ft)),
            )
        )
    return tuple(
        hl.TrackExcerpt(track_ref=aircraft[:64], party=party, points=tuple(points))
        for aircraft, points in by_aircraft.items()
    )
