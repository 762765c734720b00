"""The simulated duty officer's decisions and the demo's day plan (pure: no broker)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from deconflict import hotline as hl
from deconflict.daa.guidance import Manoeuvre, guidance_template_fields
from deconflict.sim import geography as geo
from deconflict.sim.officer import (
    GUIDANCE_TEMPLATE,
    AlertSeen,
    DutyOfficer,
    GuidanceSeen,
    IncidentSeen,
    Incoming,
    OfficerProfile,
    default_profiles,
    guidance_fields,
)
from deconflict.sim.scenario import Scenario
from deconflict.strategic import Volume4D
from deconflict.strategic.engine import brute_force_conflicts

START = datetime(2026, 12, 5, 9, 0, 12, tzinfo=UTC)


def officer(party: str = "RED", seed: int = 3, **overrides: object) -> DutyOfficer:
    profile = default_profiles()[party]
    if overrides:
        profile = OfficerProfile(**{**profile.__dict__, **overrides})
    return DutyOfficer(profile, seed=seed, to_utc=lambda t: START + timedelta(seconds=t))


def conflict_alert(alert_id: str = "LA1") -> AlertSeen:
    return AlertSeen(
        id=alert_id,
        kind="conflict",
        severity="warning",
        other_party="RED",
        own_aircraft="BLE00001",
        own_callsign="COBRA11",
        lat_deg=35.9812345,
        lon_deg=35.0123456,
        alt_ft=25000.0,
        hmd_nm=4.0,
        vmd_ft=300.0,
        t_cpa_s=95.0,
        other_handle="LA1-2",
    )


def test_watch_handover_windows() -> None:
    red, blue = default_profiles()["RED"], default_profiles()["BLUE"]
    assert red.away(0.0) and red.away(599.0) and not red.away(600.0)
    assert red.back_at(100.0) == 600.0 and red.back_at(700.0) == 700.0
    assert red.away(3600.0 + 10.0) and red.back_at(3610.0) == 3600.0 + 600.0
    assert not blue.away(100.0) and blue.away(1800.0) and blue.back_at(1900.0) == 2220.0


def test_answers_receipt_then_substance_and_nothing_while_away() -> None:
    off = officer("BLUE")
    off.on_message(Incoming("m1", "t1", "request_to_deconflict", "priority", "RED"), 10.0)
    off.on_message(Incoming("m1", "t1", "request_to_deconflict", "priority", "RED"), 11.0)
    acts = off.pending()
    assert [a.answer for a in acts] == ["received", acts[1].answer]
    assert acts[1].answer in ("will_comply", "unable")
    assert 10.0 + 15.0 <= acts[0].at_s <= 10.0 + 60.0 < acts[1].at_s
    assert (acts[1].reason is not None) == (acts[1].answer == "unable")
    # RED is at the handover: a FLASH arriving at t=60 waits until t=600 (past its deadline).
    red = officer("RED")
    red.on_message(Incoming("m2", "t2", "safety_of_flight_warning", "flash", "BLUE"), 60.0)
    first = red.pending()[0]
    assert first.answer == "received" and first.at_s == 600.0 > 60.0 + 300.0
    assert red.due(599.0) == [] and [a.ref for a in red.due(600.0)] == ["m2"]
    # Already answered by someone: no receipt again; acknowledgements are not acknowledged.
    quiet = officer("BLUE")
    quiet.on_message(Incoming("m3", "t3", "query", "immediate", "RED", ("received",)), 5.0)
    quiet.on_message(Incoming("m4", "t3", "acknowledgement", "routine", "RED"), 5.0)
    assert [a.answer for a in quiet.pending()] == ["understood"]


def test_same_seed_same_decisions() -> None:
    runs = []
    for _ in range(2):
        off = officer("BLUE", seed=9)
        for k in range(5):
            off.on_message(
                Incoming(f"m{k}", "t", "safety_of_flight_warning", "flash", "RED"), 30.0 * k
            )
        runs.append([(a.at_s, a.answer, a.reason) for a in off.pending()])
    assert runs[0] == runs[1]
    other = officer("BLUE", seed=10)
    for k in range(5):
        other.on_message(
            Incoming(f"m{k}", "t", "safety_of_flight_warning", "flash", "RED"), 30.0 * k
        )
    assert [(a.at_s, a.answer) for a in other.pending()] != [(r[0], r[1]) for r in runs[0]]


def test_conflict_alert_gives_a_valid_flash_warning_at_most_once_per_gap() -> None:
    off = officer("BLUE")
    off.on_alert(conflict_alert("LA1"), 70.0)
    off.on_alert(conflict_alert("LA1"), 71.0)  # the same alert again: nothing new
    off.on_alert(conflict_alert("LA2"), 300.0)  # within the 15 min gap: no second warning
    (send,) = off.due(70.0)
    assert off.due(10_000.0) == []
    assert send.kind == "send" and send.body["precedence"] == "flash"
    assert send.body["recipient"] == "RED"
    # Nothing about our aircraft beyond what the alert disclosed: no call sign, no id.
    assert "COBRA11" not in json.dumps(send.body) and "BLE00001" not in json.dumps(send.body)
    fields = hl.validate_fields(send.body["template"], send.body["fields"])
    assert fields.area.radius_nm == 10  # type: ignore[attr-defined]
    assert fields.altitude.lower_ft == 23000 and fields.altitude.upper_ft == 27000  # type: ignore[attr-defined]
    assert fields.valid_from == START + timedelta(seconds=70)  # type: ignore[attr-defined]
    assert fields.affected_track_ref == "LA1-2"  # type: ignore[attr-defined]
    off.on_alert(conflict_alert("LA3"), 70.0 + 900.0)
    assert [a.kind for a in off.due(2000.0)] == ["send"]
    # RED starts warning only once back from the handover.
    red = officer("RED")
    red.on_alert(conflict_alert("LA9"), 100.0)
    assert red.pending() == []


def test_incursion_by_the_other_side_gives_a_query() -> None:
    off = officer("BLUE")
    seen = AlertSeen("LA5", "incursion", "caution", "RED", other_handle="LA5-1")
    off.on_alert(seen, 50.0)
    (send,) = off.due(50.0)
    assert send.body["template"] == "query" and send.body["precedence"] == "immediate"
    fields = hl.validate_fields("query", send.body["fields"])
    assert fields.respond_by == START + timedelta(seconds=650)  # type: ignore[attr-defined]
    # Its own aircraft's incursion is no reason to query the other side.
    off2 = officer("BLUE")
    off2.on_alert(AlertSeen("LA6", "incursion", "caution", "RED", own_aircraft="BLX1"), 50.0)
    assert off2.pending() == []


def test_unanswered_flash_warning_leads_to_a_valid_airprox_report() -> None:
    off = officer("BLUE")
    off.on_alert(conflict_alert(), 70.0)
    (send,) = off.due(70.0)
    off.sent(send.key, "msg-1")
    assert off.sent_ids() == ["msg-1"]
    off.on_sent_status("msg-1", answered=False, escalated=False, t_s=200.0)
    assert off.pending() == []
    off.on_sent_status("msg-1", answered=False, escalated=True, t_s=380.0)
    off.on_sent_status("msg-1", answered=True, escalated=True, t_s=430.0)  # once only
    (filed,) = off.due(380.0)
    assert filed.kind == "file_incident" and off.sent_ids() == []
    report = hl.IncidentReport.model_validate({**filed.body, "reporter": "BLUE"})
    assert "COBRA11" not in json.dumps(filed.body)
    assert report.category == hl.IncidentCategory.AIRPROX
    assert report.time_of_event == START + timedelta(seconds=70 + 95)
    assert report.hmd_nm == 4.0 and report.vmd_ft == 300 and report.other_parties == ("RED",)
    # Answered in time: settled, no incident.
    ok = officer("BLUE")
    ok.on_alert(conflict_alert(), 70.0)
    (send,) = ok.due(70.0)
    ok.sent(send.key, "msg-2")
    ok.on_sent_status("msg-2", answered=True, escalated=False, t_s=120.0)
    ok.on_sent_status("msg-2", answered=True, escalated=True, t_s=400.0)
    assert ok.pending() == [] and ok.sent_ids() == []


def test_incident_named_in_is_answered_and_closed() -> None:
    red = officer("RED")
    red.on_incident(IncidentSeen("I1", "other", "filed"), 380.0)
    red.on_incident(IncidentSeen("I1", "other", "filed"), 390.0)
    acts = red.pending()
    assert [a.kind for a in acts] == ["respond", "close"]
    assert acts[0].at_s >= 600.0  # after the handover
    assert acts[1].at_s == pytest.approx(acts[0].at_s + 900.0)
    assert acts[0].body["statement"]
    reporter = officer("BLUE")
    reporter.on_incident(IncidentSeen("I1", "BLUE", "filed"), 380.0)
    assert [a.kind for a in reporter.pending()] == ["close"]


def test_day_plan_windows_and_expected_outcomes() -> None:
    scenario = Scenario(seed=1, start=START)
    assert scenario.anchor == START.replace(second=0)
    plan = scenario.plan()
    standing = {v.id for v in geo.VOLUMES}
    for planned in plan:
        (vol,) = planned.volumes
        v = Volume4D.from_json(vol)
        hours = (v.end - v.start).total_seconds() / 3600.0
        assert 1.0 <= hours <= 5.0, planned.title  # realistic windows, not the whole day
        if vol["id"] in standing:
            assert v.start <= START < v.end
            nxt = Volume4D.from_json(scenario.standing_notice(vol["id"], 1).volumes[0])
            assert nxt.start < v.end < nxt.end  # the follow-on overlaps: no gap in the plan
            assert nxt.end - nxt.start == v.end - v.start
        else:
            assert v.start >= scenario.anchor + timedelta(hours=3)  # later in the day
    # What the broker must find, brute force over every pair of different parties; the
    # refused RED-HELO-1 is not stored, so its re-filed version is checked without it.
    stored = [p for p in plan if p.expect != "refused"]
    items = [
        (f"{p.title}", p.party, Volume4D.from_json(p.volumes[0]))
        for p in stored
        if p.party != "UAS"
    ]
    uas = [(p.title, p.party, Volume4D.from_json(p.volumes[0])) for p in stored if p.party == "UAS"]
    found = brute_force_conflicts(items + uas)
    # Two advisory conflicts with BLUE-EX-2: the first shown exactly, the second (RED-PATROL-1,
    # filed later) past the demo's disclosure budget.
    assert sorted((c.a, c.b) for c in found) == [
        ("BLUE-EX-2", "RED-EX-2"),
        ("BLUE-EX-2", "RED-PATROL-1"),
    ]
    for c in found:
        assert (c.overlap.alt_lower_ft, c.overlap.alt_upper_ft) == (15000, 20000)
        assert c.overlap.end - c.overlap.start == timedelta(hours=1)
    titles = [p.title for p in plan]
    assert titles.index("RED-EX-2") < titles.index("RED-PATROL-1")
    refused = [p for p in plan if p.expect == "refused"]
    assert [p.title for p in refused] == ["RED-HELO-1"]
    against = brute_force_conflicts(
        [("RED-HELO-1", "RED", Volume4D.from_json(refused[0].volumes[0])), *uas]
    )
    assert [(c.a, c.b) for c in against] == [("RED-HELO-1", "UAS-1")]


def test_guidance_is_confirmed_once_per_alert_with_a_valid_template() -> None:
    off = officer("BLUE")
    plain = conflict_alert("LA5")
    off.on_alert(plain, 50.0)  # level 1, no guidance yet: only the warning
    guided = AlertSeen(
        **{
            **plain.__dict__,
            "level": 2,
            "profile": "cylinder",
            "own_handle": "LA5-1",
            "counterpart_guided": True,
            "guidance": (GuidanceSeen("BLE00001", "track_deg", "right", 120.0, 90.0),),
        }
    )
    off.on_alert(guided, 60.0)  # the same alert, now with guidance: confirmed
    off.on_alert(guided, 61.0)  # and only once
    sends = [a for a in off.due(10_000.0) if a.kind == "send"]
    confirm = [a for a in sends if a.body["template"] == "coordinated_guidance"]
    assert len(confirm) == 1
    (action,) = confirm
    assert 65.0 <= action.at_s <= 80.0 and action.body["recipient"] == "RED"
    assert action.body["precedence"] == "immediate"
    fields = hl.validate_fields("coordinated_guidance", action.body["fields"])
    assert fields.manoeuvre == "turn_right" and fields.target_track_deg == 120.0  # type: ignore[attr-defined]
    assert fields.status == "guidance_confirmed" and fields.track_ref == "LA5-1"  # type: ignore[attr-defined]
    # Nothing of ours the other side has not been shown: no call sign, no aircraft id.
    assert "COBRA11" not in json.dumps(action.body) and "BLE00001" not in json.dumps(action.body)


@pytest.mark.parametrize(("dimension", "side"), sorted(GUIDANCE_TEMPLATE))
def test_guidance_fields_match_the_daa_mapping(dimension: str, side: str) -> None:
    g = GuidanceSeen("X1", dimension, side, 0.0 if dimension == "hold" else 123.0, 100.0)
    ours = guidance_fields(
        g, alert_ref="A1", track_ref="A1-1", profile="airprox", alert_level=3,
        counterpart_guided=False,
    )  # fmt: skip
    theirs = guidance_template_fields(
        Manoeuvre(dimension, side, g.value, g.current, 0.0),
        alert_ref="A1", track_ref="A1-1", profile="airprox", alert_level=3,
        counterpart_guided=False, confirmed=True,
    )  # fmt: skip
    assert ours == theirs
    hl.validate_fields("coordinated_guidance", ours)
