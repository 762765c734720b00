"""Every translatable label of the hotline, marked with ``N_`` for extraction.

The English text is the gettext message id; the catalogues in ``locale/<lang>/LC_MESSAGES``
translate it. Tests extract every ``N_``/``_``/``gettext`` call from this package and fail if a
message id lacks a translation in a supported language, and check that every template field and
every enumerated value used in a template has a label here.
"""

from __future__ import annotations

from typing import Final


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now."""
    return message


TEMPLATE_TITLES: Final = {
    "activity_notification": N_("Activity notification"),
    "amendment": N_("Amendment"),
    "cancellation": N_("Cancellation"),
    "query": N_("Query"),
    "request_to_deconflict": N_("Request to deconflict"),
    "safety_of_flight_warning": N_("Safety-of-flight warning"),
    "intent_to_enter_zone": N_("Intent to enter zone"),
    "emergency_sar": N_("Emergency / search and rescue"),
    "laser_ew_notice": N_("Laser or electronic-warfare notice"),
    "incident_report": N_("Incident report"),
    "comm_check": N_("Communications check"),
    "acknowledgement": N_("Acknowledgement"),
    "coordinated_guidance": N_("Coordinated guidance"),
}
"""Template name -> title."""

FIELD_LABELS: Final = {
    "activity": N_("Activity"),
    "area": N_("Area"),
    "altitude": N_("Altitude"),
    "start": N_("Start"),
    "end": N_("End"),
    "aircraft_count": N_("Number of aircraft"),
    "callsigns": N_("Call signs"),
    "notice_ref": N_("Notice reference"),
    "ref_message_id": N_("Reference message"),
    "reason": N_("Reason"),
    "subject": N_("Subject"),
    "track_ref": N_("Track"),
    "position": N_("Position"),
    "respond_by": N_("Respond by"),
    "conflict_ref": N_("Conflict reference"),
    "own_callsign": N_("Own call sign"),
    "other_track_ref": N_("Other track"),
    "altitude_ft": N_("Altitude"),
    "time_of_closest_approach": N_("Time of closest approach"),
    "hmd_nm": N_("Horizontal miss distance"),
    "vmd_ft": N_("Vertical miss distance"),
    "proposed_action": N_("Proposed action"),
    "hazard": N_("Hazard"),
    "valid_from": N_("Valid from"),
    "valid_to": N_("Valid to"),
    "affected_track_ref": N_("Affected track"),
    "recommended_action": N_("Recommended action"),
    "zone_ref": N_("Zone"),
    "purpose": N_("Purpose"),
    "entry_point": N_("Entry point"),
    "entry_time": N_("Entry time"),
    "exit_time": N_("Exit time"),
    "nature": N_("Nature of emergency"),
    "time_of_event": N_("Time of event"),
    "callsign": N_("Call sign"),
    "persons_on_board": N_("Persons on board"),
    "assistance": N_("Assistance requested"),
    "emitter": N_("Emission"),
    "frequency_low_mhz": N_("Lowest frequency"),
    "frequency_high_mhz": N_("Highest frequency"),
    "category": N_("Category"),
    "incident_ref": N_("Incident reference"),
    "sequence": N_("Check number"),
    "scheduled_for": N_("Scheduled for"),
    "answer": N_("Answer"),
    # coordinated guidance (deconflict.daa)
    "status": N_("Status"),
    "alert_ref": N_("Alert"),
    "manoeuvre": N_("Manoeuvre"),
    "target_track_deg": N_("Target track"),
    "target_gs_kt": N_("Target ground speed"),
    "target_vs_fpm": N_("Target vertical speed"),
    "target_altitude_ft": N_("Target altitude"),
    "counterpart": N_("Other side"),
    "profile": N_("Alerting profile"),
    "alert_level": N_("Alert level"),
}
"""Template field name -> label."""

VALUE_LABELS: Final = {
    # activity types
    "air_patrol": N_("Air patrol"),
    "strike": N_("Strike"),
    "air_refuelling": N_("Air-to-air refuelling"),
    "reconnaissance": N_("Reconnaissance"),
    "transport": N_("Transport"),
    "uav_operations": N_("Unmanned aircraft operations"),
    "exercise": N_("Exercise"),
    "missile_firing": N_("Missile firing"),
    "artillery": N_("Artillery firing"),
    "search_and_rescue": N_("Search and rescue"),
    "other": N_("Other"),
    # cancellation reasons
    "mission_cancelled": N_("Mission cancelled"),
    "completed_early": N_("Completed early"),
    "weather": N_("Weather"),
    "superseded": N_("Superseded"),
    # query subjects
    "activity_details": N_("Details of the activity"),
    "track_identity": N_("Identity of a track"),
    "intentions": N_("Intentions"),
    "position": N_("Position"),
    # actions
    "climb": N_("Climb"),
    "descend": N_("Descend"),
    "turn_left": N_("Turn left"),
    "turn_right": N_("Turn right"),
    "hold": N_("Hold"),
    "delay": N_("Delay"),
    "reroute": N_("Reroute"),
    "stop_activity": N_("Stop the activity"),
    "maintain": N_("Maintain present course and altitude"),
    # hazards
    "collision_risk": N_("Risk of collision"),
    "unsafe_manoeuvre": N_("Unsafe manoeuvre"),
    "weapons_release": N_("Weapons release"),
    "laser": N_("Laser"),
    "jamming": N_("Jamming"),
    "debris": N_("Debris"),
    # zone purposes
    "transit": N_("Transit"),
    "patrol": N_("Patrol"),
    "medical_evacuation": N_("Medical evacuation"),
    # emergencies
    "aircraft_down": N_("Aircraft down"),
    "ejection": N_("Ejection"),
    "distress": N_("Aircraft in distress"),
    "ditching": N_("Ditching"),
    "medical": N_("Medical"),
    "missing_aircraft": N_("Missing aircraft"),
    # assistance
    "sar_helicopter": N_("Search-and-rescue helicopter"),
    "maritime_rescue": N_("Maritime rescue"),
    "airspace_clearance": N_("Clearance of airspace"),
    "information": N_("Information"),
    # emitters
    "gnss_spoofing": N_("GNSS spoofing"),
    "other_ew": N_("Other electronic warfare"),
    # incident categories
    "airprox": N_("Airprox"),
    "unsafe_intercept": N_("Unsafe intercept"),
    "infringement": N_("Infringement"),
    "conduct": N_("Conduct"),
    # acknowledgement answers
    "received": N_("Received (roger)"),
    "understood": N_("Understood"),
    "will_comply": N_("Will comply (wilco)"),
    "unable": N_("Unable"),
    # precedence
    "flash": N_("FLASH"),
    "immediate": N_("IMMEDIATE"),
    "priority": N_("PRIORITY"),
    "routine": N_("ROUTINE"),
    # channel states
    "active": N_("Active"),
    "degraded": N_("Degraded"),
    "suspended": N_("Suspended"),
    "restored": N_("Restored"),
    # incident states
    "open": N_("Open"),
    "responded": N_("Responded"),
    "closure_proposed": N_("Closure proposed"),
    "closed": N_("Closed"),
    # escalation targets
    "duty_officer": N_("Duty officer"),
    "senior_duty_officer": N_("Senior duty officer"),
    "flag_officer": N_("Flag officer"),
    "alarm_all_clients": N_("Alarm on every console"),
    "alternate_channel": N_("Alternate channel"),
    # attachment kinds
    "conflict": N_("Conflict"),
    "alert": N_("Alert"),
    "incident": N_("Incident"),
    "notice": N_("Notice"),
    # review-pack open items
    "message": N_("Message"),
    "unanswered": N_("Unanswered"),
    "raised": N_("Raised"),
    # coordinated guidance (deconflict.daa)
    "guidance_proposed": N_("Proposed by the broker"),
    "guidance_confirmed": N_("Confirmed: will fly it"),
    "increase_speed": N_("Increase ground speed"),
    "reduce_speed": N_("Reduce ground speed"),
    "set_vertical_speed": N_("Set vertical speed"),
    "change_altitude": N_("Change altitude"),
    "counterpart_guided": N_("Given a compatible manoeuvre"),
    "counterpart_not_guided": N_("No guidance given"),
    "cylinder": N_("Separation cylinder (5 NM, 1000 ft)"),
    "do365b": N_("Well clear per DO-365B"),
}
"""Enumerated value -> label (values shared by several enumerations mean the same thing)."""

HEADER_LABELS: Final = {
    "precedence": N_("Precedence"),
    "from": N_("From"),
    "to": N_("To"),
    "sent": N_("Sent"),
    "delivered": N_("Delivered"),
    "ack_deadline": N_("Acknowledge by"),
    "attachment": N_("Attached to"),
    "thread": N_("Thread"),
    "free_text": N_("Free text (untranslated, as written by the sender)"),
    "reason": N_("Reason (untranslated, as written)"),
    "ack": N_("Acknowledgement"),
    "escalated": N_("Escalated"),
    "queued": N_("Queued until the channel is restored"),
}
"""Labels of the message header and status lines."""

FORMAT_PATTERNS: Final = {
    "lat_n": N_("%(deg)s° N"),
    "lat_s": N_("%(deg)s° S"),
    "lon_e": N_("%(deg)s° E"),
    "lon_w": N_("%(deg)s° W"),
    "nm": N_("%(value)s NM"),
    "circle": N_("circle of radius %(radius)s centred on %(center)s"),
    "band_amsl": N_("%(lower)s to %(upper)s above mean sea level"),
    "band_fl": N_("FL%(lower)s to FL%(upper)s"),
    "escalation": N_("Message %(message)s was not acknowledged in time: escalated to %(target)s"),
    "ack_line": N_("%(party)s answered: %(answer)s at %(time)s"),
}
"""Patterns with ``%(name)s`` placeholders (translators keep the placeholders)."""
