"""Incident life cycle: report, response, closure only by agreement of every party."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hotline_examples import T0

from deconflict.errors import ForbiddenError, InvalidInputError
from deconflict.hotline import (
    IncidentActKind,
    IncidentCategory,
    IncidentReport,
    IncidentState,
    StateTransitionError,
    TrackExcerpt,
    agree_to_close,
    file_incident,
    reject_closure,
    respond,
    response_overdue,
)

MIN = timedelta(minutes=1)


def _excerpt(track: str = "T-12") -> dict[str, Any]:
    return {
        "track_ref": track,
        "party": "red",
        "points": [
            {"time": "2026-11-26T08:13:00Z", "lat_deg": 35.40, "lon_deg": 35.90, "alt_ft": 21000},
            {"time": "2026-11-26T08:14:00Z", "lat_deg": 35.41, "lon_deg": 35.91, "alt_ft": 21100},
        ],
    }


def _report(**overrides: Any) -> IncidentReport:
    data: dict[str, Any] = {
        "category": "unsafe_intercept",
        "reporter": "blue",
        "other_parties": ["red"],
        "time_of_event": "2026-11-26T08:14:00Z",
        "position": {"lat_deg": 35.4, "lon_deg": 35.9},
        "altitude_ft": 21000,
        "hmd_nm": 0.05,
        "vmd_ft": 100,
        "summary": "Su-35 passed 300 ft in front of REACH21",
        "evidence": [_excerpt()],
    }
    data.update(overrides)
    return IncidentReport.model_validate(data)


def test_full_life_cycle() -> None:
    incident = file_incident("I-1", _report(), now=T0)
    assert incident.state is IncidentState.OPEN
    assert incident.response_due == T0 + timedelta(days=2)
    assert incident.report.category is IncidentCategory.UNSAFE_INTERCEPT
    assert incident.report.evidence[0].points[1].alt_ft == 21100
    incident = respond(incident, party="blue", statement="Additional radar data", now=T0 + MIN)
    assert incident.state is IncidentState.OPEN  # the reporter's own statement is no response
    evidence = (TrackExcerpt.model_validate(_excerpt("T-99")),)
    incident = respond(
        incident,
        party="red",
        statement="Our aircraft kept 1 NM",
        now=T0 + 2 * MIN,
        evidence=evidence,
    )
    assert incident.state is IncidentState.RESPONDED
    assert incident.responses[-1].evidence == evidence
    incident = agree_to_close(incident, party="red", now=T0 + 3 * MIN)
    assert incident.state is IncidentState.CLOSURE_PROPOSED
    with pytest.raises(StateTransitionError, match="already agreed"):
        agree_to_close(incident, party="red", now=T0 + 3 * MIN)
    incident = agree_to_close(incident, party="blue", now=T0 + 4 * MIN)
    assert incident.state is IncidentState.CLOSED
    assert [a.kind for a in incident.history] == [
        IncidentActKind.FILED,
        IncidentActKind.RESPONDED,
        IncidentActKind.RESPONDED,
        IncidentActKind.CLOSURE_AGREED,
        IncidentActKind.CLOSURE_AGREED,
        IncidentActKind.CLOSED,
    ]
    with pytest.raises(StateTransitionError, match="closed"):
        respond(incident, party="red", statement="late", now=T0 + 5 * MIN)


def test_rejecting_closure_returns_to_previous_state() -> None:
    incident = file_incident("I-2", _report(), now=T0)
    incident = agree_to_close(incident, party="blue", now=T0)
    with pytest.raises(StateTransitionError):
        reject_closure(incident, party="blue", reason="changed my mind", now=T0)
    incident = reject_closure(incident, party="red", reason="we dispute the facts", now=T0)
    assert incident.state is IncidentState.OPEN
    assert incident.closure_agreed_by == frozenset()
    with pytest.raises(StateTransitionError):
        reject_closure(incident, party="red", reason="again", now=T0)


def test_three_parties_all_must_agree() -> None:
    incident = file_incident("I-3", _report(other_parties=["red", "green"]), now=T0)
    for party in ("blue", "red"):
        incident = agree_to_close(incident, party=party, now=T0)
        assert incident.state is IncidentState.CLOSURE_PROPOSED
    incident = agree_to_close(incident, party="green", now=T0)
    assert incident.state is IncidentState.CLOSED


def test_only_parties_act_and_statements_are_required() -> None:
    incident = file_incident("I-4", _report(), now=T0)
    with pytest.raises(ForbiddenError):
        respond(incident, party="green", statement="x", now=T0)
    with pytest.raises(ForbiddenError):
        agree_to_close(incident, party="green", now=T0)
    with pytest.raises(InvalidInputError) as info:
        respond(incident, party="red", statement="", now=T0)
    assert info.value.field == "statement"


def test_overdue_response() -> None:
    incident = file_incident("I-5", _report(), now=T0, response_within=60 * MIN)
    assert not response_overdue(incident, T0 + 60 * MIN)
    assert response_overdue(incident, T0 + 61 * MIN)
    answered = respond(incident, party="red", statement="ok", now=T0 + 70 * MIN)
    assert not response_overdue(answered, T0 + 80 * MIN)


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"other_parties": ["blue"]}, "must not include the reporter"),
        ({"other_parties": ["red", "red"]}, "must not repeat"),
        ({"other_parties": []}, "other_parties"),
        ({"category": "rudeness"}, "category"),
        ({"hmd_nm": -1}, "hmd_nm"),
        (
            {"evidence": [{**_excerpt(), "points": list(reversed(_excerpt()["points"]))}]},
            "time order",
        ),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_reports(overrides: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        _report(**overrides)


def test_report_in_the_future_rejected() -> None:
    with pytest.raises(InvalidInputError) as info:
        file_incident("I-6", _report(), now=T0 - timedelta(days=1))
    assert info.value.field == "time_of_event"
