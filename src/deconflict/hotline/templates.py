"""The standard hotline templates: structured, typed fields that each side renders in its language.

Every template is a frozen pydantic model with ``extra="forbid"``: an unknown field, a wrong type
or an out-of-range value is rejected by :func:`validate_fields` with a
:class:`~deconflict.hotline.errors.FieldErrors` naming each field (``fields.area.radius_nm``).
Units are in the names (``radius_nm``, ``lower_ft``, ``hmd_nm``, ``vmd_ft``, ``frequency_low_mhz``);
times are timezone-aware UTC. Free text never lives in a template: it travels beside it in the
message and is rendered flagged as untranslated.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from deconflict.hotline.errors import FieldErrors


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must be a timezone-aware UTC time (e.g. 2026-11-26T10:00:00Z)")
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]
"""A timezone-aware instant, normalised to UTC."""

Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
"""Identifier of another object (message, notice, zone, track, conflict, incident)."""

Callsign = Annotated[str, Field(min_length=2, max_length=12, pattern=r"^[A-Z0-9][A-Z0-9-]*$")]
"""Upper-case radio call sign (``VIPER11``, ``RFF-1234``)."""

MAX_CALLSIGNS: Final = 50
"""Most call signs one message may list."""


class Template(StrEnum):
    """Names of the standard templates (the wire value of ``template``)."""

    ACTIVITY_NOTIFICATION = "activity_notification"
    AMENDMENT = "amendment"
    CANCELLATION = "cancellation"
    QUERY = "query"
    REQUEST_TO_DECONFLICT = "request_to_deconflict"
    SAFETY_OF_FLIGHT_WARNING = "safety_of_flight_warning"
    INTENT_TO_ENTER_ZONE = "intent_to_enter_zone"
    EMERGENCY_SAR = "emergency_sar"
    LASER_EW_NOTICE = "laser_ew_notice"
    INCIDENT_REPORT = "incident_report"
    COMM_CHECK = "comm_check"
    ACKNOWLEDGEMENT = "acknowledgement"
    COORDINATED_GUIDANCE = "coordinated_guidance"


class ActivityType(StrEnum):
    """Kind of announced activity."""

    AIR_PATROL = "air_patrol"
    STRIKE = "strike"
    AIR_REFUELLING = "air_refuelling"
    RECONNAISSANCE = "reconnaissance"
    TRANSPORT = "transport"
    UAV_OPERATIONS = "uav_operations"
    EXERCISE = "exercise"
    MISSILE_FIRING = "missile_firing"
    ARTILLERY = "artillery"
    SEARCH_AND_RESCUE = "search_and_rescue"
    OTHER = "other"


class CancellationReason(StrEnum):
    """Why an activity or a message is cancelled."""

    MISSION_CANCELLED = "mission_cancelled"
    COMPLETED_EARLY = "completed_early"
    WEATHER = "weather"
    SUPERSEDED = "superseded"
    OTHER = "other"


class QuerySubject(StrEnum):
    """What a query asks about."""

    ACTIVITY_DETAILS = "activity_details"
    TRACK_IDENTITY = "track_identity"
    INTENTIONS = "intentions"
    POSITION = "position"
    OTHER = "other"


class ProposedAction(StrEnum):
    """Action proposed or recommended to resolve a conflict."""

    CLIMB = "climb"
    DESCEND = "descend"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    HOLD = "hold"
    DELAY = "delay"
    REROUTE = "reroute"
    STOP_ACTIVITY = "stop_activity"
    MAINTAIN = "maintain"


class Hazard(StrEnum):
    """Hazard named by a safety-of-flight warning."""

    COLLISION_RISK = "collision_risk"
    UNSAFE_MANOEUVRE = "unsafe_manoeuvre"
    WEAPONS_RELEASE = "weapons_release"
    LASER = "laser"
    JAMMING = "jamming"
    WEATHER = "weather"
    DEBRIS = "debris"
    OTHER = "other"


class ZonePurpose(StrEnum):
    """Purpose of entering a deconfliction zone."""

    TRANSIT = "transit"
    PATROL = "patrol"
    STRIKE = "strike"
    SEARCH_AND_RESCUE = "search_and_rescue"
    MEDICAL_EVACUATION = "medical_evacuation"
    OTHER = "other"


class EmergencyNature(StrEnum):
    """Nature of an emergency."""

    AIRCRAFT_DOWN = "aircraft_down"
    EJECTION = "ejection"
    DISTRESS = "distress"
    DITCHING = "ditching"
    MEDICAL = "medical"
    MISSING_AIRCRAFT = "missing_aircraft"


class Assistance(StrEnum):
    """Assistance requested in an emergency."""

    SAR_HELICOPTER = "sar_helicopter"
    MARITIME_RESCUE = "maritime_rescue"
    AIRSPACE_CLEARANCE = "airspace_clearance"
    MEDICAL = "medical"
    INFORMATION = "information"


class EmitterKind(StrEnum):
    """Laser or electronic-warfare emission announced by a notice."""

    LASER = "laser"
    JAMMING = "jamming"
    GNSS_SPOOFING = "gnss_spoofing"
    OTHER_EW = "other_ew"


class IncidentCategory(StrEnum):
    """Incident categories (INCSEA / Dangerous Military Activities practice)."""

    AIRPROX = "airprox"
    UNSAFE_INTERCEPT = "unsafe_intercept"
    INFRINGEMENT = "infringement"
    LASER = "laser"
    JAMMING = "jamming"
    CONDUCT = "conduct"


class AckAnswer(StrEnum):
    """Distinct acknowledgement answers. Receipt is not agreement."""

    RECEIVED = "received"
    UNDERSTOOD = "understood"
    WILL_COMPLY = "will_comply"
    UNABLE = "unable"


class AltitudeReference(StrEnum):
    """Vertical reference of an altitude band."""

    FT_AMSL = "ft_amsl"
    FL = "fl"


class GuidanceStatus(StrEnum):
    """Whether coordinated guidance is proposed (by the broker) or confirmed (by a party)."""

    PROPOSED = "guidance_proposed"
    CONFIRMED = "guidance_confirmed"


class GuidanceManoeuvre(StrEnum):
    """The manoeuvre of coordinated guidance (never worded like a TCAS resolution advisory)."""

    MAINTAIN = "maintain"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    INCREASE_SPEED = "increase_speed"
    REDUCE_SPEED = "reduce_speed"
    SET_VERTICAL_SPEED = "set_vertical_speed"
    CHANGE_ALTITUDE = "change_altitude"


class CounterpartGuidance(StrEnum):
    """What this party may know of the other side's guidance: only whether it got one."""

    GUIDED = "counterpart_guided"
    NOT_GUIDED = "counterpart_not_guided"


class AlertingProfile(StrEnum):
    """Alerting profile an agreement uses (see ``deconflict.daa.profiles``)."""

    CYLINDER = "cylinder"
    AIRPROX = "airprox"
    DO365B = "do365b"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Position(_Strict):
    """A point, WGS84 degrees."""

    lat_deg: float = Field(ge=-90.0, le=90.0)
    lon_deg: float = Field(ge=-180.0, le=180.0)


class Area(_Strict):
    """A circle: centre and radius in nautical miles."""

    center: Position
    radius_nm: float = Field(gt=0.0, le=500.0)


class AltitudeBand(_Strict):
    """A vertical band, feet (AMSL or pressure altitude for ``reference='fl'``), lower <= upper."""

    lower_ft: float = Field(ge=-1500.0, le=100_000.0)
    upper_ft: float = Field(ge=-1500.0, le=100_000.0)
    reference: AltitudeReference = AltitudeReference.FT_AMSL

    @model_validator(mode="after")
    def _ordered(self) -> AltitudeBand:
        if self.upper_ft < self.lower_ft:
            raise FieldProblem("upper_ft", "must not be below lower_ft")
        return self


class FieldProblem(ValueError):
    """Raised by a cross-field check to blame one field (``field``) rather than the object."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _window_ok(start: datetime | None, end: datetime | None, end_name: str) -> None:
    if start is not None and end is not None and end <= start:
        raise FieldProblem(end_name, "must be after the start")


class ActivityNotification(_Strict):
    """Announces a planned activity: what, where, how high, when, who."""

    activity: ActivityType
    area: Area
    altitude: AltitudeBand
    start: UtcTime
    end: UtcTime
    aircraft_count: int | None = Field(default=None, ge=0, le=500)
    callsigns: list[Callsign] = Field(default_factory=list, max_length=MAX_CALLSIGNS)
    notice_ref: Ref | None = None

    @model_validator(mode="after")
    def _window(self) -> ActivityNotification:
        _window_ok(self.start, self.end, "end")
        return self


class Amendment(_Strict):
    """Changes an earlier notification; at least one changed item."""

    ref_message_id: Ref
    notice_ref: Ref | None = None
    area: Area | None = None
    altitude: AltitudeBand | None = None
    start: UtcTime | None = None
    end: UtcTime | None = None

    @model_validator(mode="after")
    def _something_changes(self) -> Amendment:
        if all(v is None for v in (self.area, self.altitude, self.start, self.end)):
            raise ValueError("an amendment must change at least one of area, altitude, start, end")
        _window_ok(self.start, self.end, "end")
        return self


class Cancellation(_Strict):
    """Cancels an earlier notification or message."""

    ref_message_id: Ref
    reason: CancellationReason
    notice_ref: Ref | None = None


class Query(_Strict):
    """Asks the other party for information."""

    subject: QuerySubject
    ref_message_id: Ref | None = None
    track_ref: Ref | None = None
    position: Position | None = None
    respond_by: UtcTime | None = None


_TACTICAL_FIELDS: Final = (
    "position",
    "altitude_ft",
    "time_of_closest_approach",
    "hmd_nm",
    "vmd_ft",
    "proposed_action",
)
_STRATEGIC_FIELDS: Final = ("conflict_ref", "altitude", "valid_from", "valid_to")


class RequestToDeconflict(_Strict):
    """Asks the other party to act on a predicted conflict.

    Either tactical (``position``, ``altitude_ft``, ``time_of_closest_approach``, ``hmd_nm``,
    ``vmd_ft``, ``proposed_action`` all given) or strategic, as the broker opens for an advisory
    plan conflict (``conflict_ref`` with the overlap's ``altitude`` band and ``valid_from`` /
    ``valid_to`` window; closed interval, so the window may be an instant).
    """

    conflict_ref: Ref | None = None
    own_callsign: Callsign | None = None
    other_track_ref: Ref | None = None
    position: Position | None = None
    altitude_ft: float | None = Field(default=None, ge=-1500.0, le=100_000.0)
    time_of_closest_approach: UtcTime | None = None
    hmd_nm: float | None = Field(default=None, ge=0.0, le=1000.0)
    vmd_ft: float | None = Field(default=None, ge=0.0, le=100_000.0)
    proposed_action: ProposedAction | None = None
    altitude: AltitudeBand | None = None
    valid_from: UtcTime | None = None
    valid_to: UtcTime | None = None

    @model_validator(mode="after")
    def _complete(self) -> RequestToDeconflict:
        if any(getattr(self, n) is not None for n in _STRATEGIC_FIELDS[1:]):
            for name in _STRATEGIC_FIELDS:
                if getattr(self, name) is None:
                    raise FieldProblem(name, "Field required")
            start, end = self.valid_from, self.valid_to
            if start is not None and end is not None and end < start:
                raise FieldProblem("valid_to", "must not be before valid_from")
            return self
        for name in _TACTICAL_FIELDS:
            if getattr(self, name) is None:
                raise FieldProblem(name, "Field required")
        return self


class SafetyOfFlightWarning(_Strict):
    """Warns of an immediate hazard to flight."""

    hazard: Hazard
    area: Area
    altitude: AltitudeBand
    valid_from: UtcTime
    valid_to: UtcTime
    affected_track_ref: Ref | None = None
    recommended_action: ProposedAction | None = None

    @model_validator(mode="after")
    def _window(self) -> SafetyOfFlightWarning:
        _window_ok(self.valid_from, self.valid_to, "valid_to")
        return self


class IntentToEnterZone(_Strict):
    """Notifies the intent to enter an agreed deconfliction zone (notify before entry)."""

    zone_ref: Ref
    purpose: ZonePurpose
    entry_point: Position
    altitude: AltitudeBand
    entry_time: UtcTime
    exit_time: UtcTime
    aircraft_count: int = Field(ge=1, le=500)
    callsigns: list[Callsign] = Field(default_factory=list, max_length=MAX_CALLSIGNS)

    @model_validator(mode="after")
    def _window(self) -> IntentToEnterZone:
        _window_ok(self.entry_time, self.exit_time, "exit_time")
        return self


class EmergencySar(_Strict):
    """Emergency or search-and-rescue assistance request."""

    nature: EmergencyNature
    position: Position
    time_of_event: UtcTime
    callsign: Callsign | None = None
    persons_on_board: int | None = Field(default=None, ge=0, le=1000)
    assistance: list[Assistance] = Field(min_length=1, max_length=len(Assistance))


class LaserEwNotice(_Strict):
    """Advance notice of laser use or electronic warfare (jamming, spoofing)."""

    emitter: EmitterKind
    area: Area
    altitude: AltitudeBand
    start: UtcTime
    end: UtcTime
    frequency_low_mhz: float | None = Field(default=None, gt=0.0, le=1_000_000.0)
    frequency_high_mhz: float | None = Field(default=None, gt=0.0, le=1_000_000.0)

    @model_validator(mode="after")
    def _checks(self) -> LaserEwNotice:
        _window_ok(self.start, self.end, "end")
        low, high = self.frequency_low_mhz, self.frequency_high_mhz
        if low is not None and high is not None and high < low:
            raise FieldProblem("frequency_high_mhz", "must not be below frequency_low_mhz")
        return self


class IncidentReportFields(_Strict):
    """Reports an incident: category, when, where, closest approach."""

    category: IncidentCategory
    time_of_event: UtcTime
    position: Position
    altitude_ft: float | None = Field(default=None, ge=-1500.0, le=100_000.0)
    hmd_nm: float | None = Field(default=None, ge=0.0, le=1000.0)
    vmd_ft: float | None = Field(default=None, ge=0.0, le=100_000.0)
    own_callsign: Callsign | None = None
    other_track_ref: Ref | None = None
    incident_ref: Ref | None = None


class CommCheck(_Strict):
    """Scheduled communications check; the answer is an acknowledgement."""

    sequence: int = Field(ge=1)
    scheduled_for: UtcTime


class AcknowledgementFields(_Strict):
    """An acknowledgement rendered as a message in the thread."""

    ref_message_id: Ref
    answer: AckAnswer

    # The reason for UNABLE is free text (untranslated) and travels as the message's free text.


_GUIDANCE_TARGET: Final = {
    GuidanceManoeuvre.MAINTAIN: None,
    GuidanceManoeuvre.TURN_LEFT: "target_track_deg",
    GuidanceManoeuvre.TURN_RIGHT: "target_track_deg",
    GuidanceManoeuvre.INCREASE_SPEED: "target_gs_kt",
    GuidanceManoeuvre.REDUCE_SPEED: "target_gs_kt",
    GuidanceManoeuvre.SET_VERTICAL_SPEED: "target_vs_fpm",
    GuidanceManoeuvre.CHANGE_ALTITUDE: "target_altitude_ft",
}
_GUIDANCE_TARGETS: Final = (
    "target_track_deg",
    "target_gs_kt",
    "target_vs_fpm",
    "target_altitude_ft",
)


class CoordinatedGuidanceFields(_Strict):
    """Coordinated guidance for one aircraft of an alert, sent by the broker or confirmed.

    Carries only the receiving party's own manoeuvre (``manoeuvre`` and the one target field it
    needs: track deg, ground speed kt, vertical speed fpm or altitude ft; none for
    ``maintain``) and whether the other side was given a compatible one (``counterpart``).
    """

    status: GuidanceStatus
    alert_ref: Ref
    track_ref: Ref
    manoeuvre: GuidanceManoeuvre
    target_track_deg: float | None = Field(default=None, ge=0.0, lt=360.0)
    target_gs_kt: float | None = Field(default=None, ge=0.0, le=2000.0)
    target_vs_fpm: float | None = Field(default=None, ge=-20_000.0, le=20_000.0)
    target_altitude_ft: float | None = Field(default=None, ge=-1500.0, le=100_000.0)
    counterpart: CounterpartGuidance
    profile: AlertingProfile
    alert_level: int = Field(ge=1, le=3)

    @model_validator(mode="after")
    def _one_target(self) -> CoordinatedGuidanceFields:
        wanted = _GUIDANCE_TARGET[self.manoeuvre]
        for name in _GUIDANCE_TARGETS:
            given = getattr(self, name) is not None
            if name == wanted and not given:
                raise FieldProblem(name, "Field required")
            if name != wanted and given:
                raise FieldProblem(name, f"not allowed with manoeuvre {self.manoeuvre.value}")
        return self


TEMPLATE_MODELS: Final[dict[Template, type[BaseModel]]] = {
    Template.ACTIVITY_NOTIFICATION: ActivityNotification,
    Template.AMENDMENT: Amendment,
    Template.CANCELLATION: Cancellation,
    Template.QUERY: Query,
    Template.REQUEST_TO_DECONFLICT: RequestToDeconflict,
    Template.SAFETY_OF_FLIGHT_WARNING: SafetyOfFlightWarning,
    Template.INTENT_TO_ENTER_ZONE: IntentToEnterZone,
    Template.EMERGENCY_SAR: EmergencySar,
    Template.LASER_EW_NOTICE: LaserEwNotice,
    Template.INCIDENT_REPORT: IncidentReportFields,
    Template.COMM_CHECK: CommCheck,
    Template.ACKNOWLEDGEMENT: AcknowledgementFields,
    Template.COORDINATED_GUIDANCE: CoordinatedGuidanceFields,
}
"""Template name -> pydantic model of its fields."""


def parse_template(name: str, *, field: str = "template") -> Template:
    """Return the :class:`Template` called ``name`` or raise ``FieldErrors`` naming ``field``."""
    try:
        return Template(name)
    except ValueError:
        allowed = ", ".join(t.value for t in Template)
        raise FieldErrors([(field, f"unknown template {name!r}; one of {allowed}")]) from None


def _loc_to_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith("function-after") or part.startswith("function-"):
            continue
        else:
            path += f".{part}"
    return path


def validate_fields(
    template: Template | str, fields: Mapping[str, Any], *, prefix: str = "fields"
) -> BaseModel:
    """Validate ``fields`` against ``template`` and return the typed model.

    Raises
    ------
    FieldErrors
        Listing every invalid field as ``prefix.<path>`` with the reason (unknown fields are
        reported as ``"unknown field"``).
    """
    tpl = parse_template(template) if isinstance(template, str) else template
    if not isinstance(fields, Mapping):
        raise FieldErrors([(prefix, "must be an object")])
    model = TEMPLATE_MODELS[tpl]
    try:
        return model.model_validate(dict(fields))
    except ValidationError as exc:
        errors: list[tuple[str, str]] = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            reason = "unknown field" if err["type"] == "extra_forbidden" else str(err["msg"])
            reason = reason.removeprefix("Value error, ")
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, FieldProblem):
                loc, reason = (*loc, cause.field), cause.reason
            errors.append((_loc_to_path(prefix, loc), reason))
        raise FieldErrors(errors) from None


def template_schema(template: Template) -> dict[str, Any]:
    """JSON Schema of a template's fields (for ``GET /v1/hotline/templates``)."""
    return TEMPLATE_MODELS[template].model_json_schema()
