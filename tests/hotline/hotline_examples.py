"""Valid example fields for every hotline template, shared by the hotline tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deconflict.hotline import AckPolicy, Message, Precedence, compose_message, deliver

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

AREA = {"center": {"lat_deg": 34.5, "lon_deg": 38.25}, "radius_nm": 30}
BAND = {"lower_ft": 0, "upper_ft": 24000}
FL_BAND = {"lower_ft": 25000, "upper_ft": 35000, "reference": "fl"}

EXAMPLES: dict[str, dict[str, Any]] = {
    "activity_notification": {
        "activity": "air_patrol",
        "area": AREA,
        "altitude": BAND,
        "start": "2026-11-26T12:00:00Z",
        "end": "2026-11-26T14:00:00Z",
        "aircraft_count": 4,
        "callsigns": ["VIPER11", "VIPER12"],
        "notice_ref": "N-2026-0042",
    },
    "amendment": {
        "ref_message_id": "m-001",
        "start": "2026-11-26T12:30:00Z",
        "altitude": FL_BAND,
    },
    "cancellation": {"ref_message_id": "m-001", "reason": "weather"},
    "query": {
        "subject": "track_identity",
        "track_ref": "T-77",
        "position": {"lat_deg": -12.5, "lon_deg": -45.125},
        "respond_by": "2026-11-26T10:30:00Z",
    },
    "request_to_deconflict": {
        "conflict_ref": "C-9",
        "own_callsign": "RFF1234",
        "other_track_ref": "T-77",
        "position": {"lat_deg": 35.0, "lon_deg": 37.0},
        "altitude_ft": 18000,
        "time_of_closest_approach": "2026-11-26T10:07:30Z",
        "hmd_nm": 1.2,
        "vmd_ft": 400,
        "proposed_action": "turn_right",
    },
    "safety_of_flight_warning": {
        "hazard": "collision_risk",
        "area": AREA,
        "altitude": BAND,
        "valid_from": "2026-11-26T10:00:00Z",
        "valid_to": "2026-11-26T10:30:00Z",
        "affected_track_ref": "T-77",
        "recommended_action": "descend",
    },
    "intent_to_enter_zone": {
        "zone_ref": "ZONE-TANF",
        "purpose": "transit",
        "entry_point": {"lat_deg": 33.5, "lon_deg": 38.6},
        "altitude": BAND,
        "entry_time": "2026-11-26T11:00:00Z",
        "exit_time": "2026-11-26T11:20:00Z",
        "aircraft_count": 2,
        "callsigns": ["HAWK1"],
    },
    "emergency_sar": {
        "nature": "ejection",
        "position": {"lat_deg": 35.2, "lon_deg": 36.9},
        "time_of_event": "2026-11-26T09:55:00Z",
        "callsign": "EAGLE2",
        "persons_on_board": 2,
        "assistance": ["sar_helicopter", "airspace_clearance"],
    },
    "laser_ew_notice": {
        "emitter": "jamming",
        "area": AREA,
        "altitude": BAND,
        "start": "2026-11-27T06:00:00Z",
        "end": "2026-11-27T08:00:00Z",
        "frequency_low_mhz": 225.0,
        "frequency_high_mhz": 399.975,
    },
    "incident_report": {
        "category": "unsafe_intercept",
        "time_of_event": "2026-11-26T08:14:00Z",
        "position": {"lat_deg": 35.4, "lon_deg": 35.9},
        "altitude_ft": 21000,
        "hmd_nm": 0.05,
        "vmd_ft": 100,
        "own_callsign": "REACH21",
        "other_track_ref": "T-12",
    },
    "comm_check": {"sequence": 12, "scheduled_for": "2026-11-26T10:00:00Z"},
    "acknowledgement": {"ref_message_id": "m-001", "answer": "will_comply"},
    "coordinated_guidance": {
        "status": "guidance_proposed",
        "alert_ref": "al-17",
        "track_ref": "4b1805",
        "manoeuvre": "turn_right",
        "target_track_deg": 120.0,
        "counterpart": "counterpart_guided",
        "profile": "do365b",
        "alert_level": 2,
    },
}


def make_message(
    template: str = "safety_of_flight_warning",
    *,
    message_id: str = "m1",
    sender: str = "blue",
    recipient: str = "red",
    precedence: Precedence = Precedence.FLASH,
    free_text: str | None = None,
    delivered: bool = True,
) -> Message:
    """A valid message (delivered at T0 by default)."""
    msg = compose_message(
        message_id=message_id,
        thread_id="t1",
        sender=sender,
        recipient=recipient,
        template=template,
        fields=EXAMPLES[template],
        precedence=precedence,
        now=T0,
        free_text=free_text,
    )
    return deliver(msg, now=T0, policy=AckPolicy()) if delivered else msg
