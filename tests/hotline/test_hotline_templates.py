"""Template validation: every template accepts a valid example and names each bad field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hotline_examples import EXAMPLES, T0

from deconflict.errors import InvalidInputError
from deconflict.hotline import (
    MAX_FREE_TEXT_CHARS,
    TEMPLATE_MODELS,
    FieldErrors,
    Precedence,
    Template,
    compose_message,
    template_schema,
    validate_fields,
)


def test_every_template_has_an_example() -> None:
    assert set(EXAMPLES) == {t.value for t in Template}
    assert set(TEMPLATE_MODELS) == set(Template)


@pytest.mark.parametrize("template", [t.value for t in Template])
def test_valid_example_round_trips(template: str) -> None:
    model = validate_fields(template, EXAMPLES[template])
    dumped = model.model_dump(mode="json", exclude_none=True)
    assert validate_fields(template, dumped) == model


@pytest.mark.parametrize("template", [t.value for t in Template])
def test_unknown_field_is_rejected_and_named(template: str) -> None:
    fields = {**EXAMPLES[template], "colour": "blue"}
    with pytest.raises(FieldErrors) as info:
        validate_fields(template, fields)
    assert ("fields.colour", "unknown field") in info.value.errors


@pytest.mark.parametrize("template", [t.value for t in Template])
def test_schema_lists_every_field(template: str) -> None:
    schema = template_schema(Template(template))
    assert set(schema["properties"]) == set(TEMPLATE_MODELS[Template(template)].model_fields)
    assert schema.get("additionalProperties") is False


def _with(template: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    fields = copy.deepcopy(EXAMPLES[template])
    node = fields
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return fields


@pytest.mark.parametrize(
    ("template", "path", "value", "field"),
    [
        ("activity_notification", ("area", "center", "lat_deg"), 91, "fields.area.center.lat_deg"),
        ("activity_notification", ("area", "radius_nm"), 0, "fields.area.radius_nm"),
        ("activity_notification", ("activity",), "bombing", "fields.activity"),
        ("activity_notification", ("start",), "2026-11-26T12:00:00", "fields.start"),
        ("activity_notification", ("end",), "2026-11-26T11:00:00Z", "fields.end"),
        ("activity_notification", ("callsigns",), ["viper 1"], "fields.callsigns[0]"),
        ("activity_notification", ("altitude", "upper_ft"), -10, "fields.altitude.upper_ft"),
        ("request_to_deconflict", ("hmd_nm",), -1, "fields.hmd_nm"),
        ("request_to_deconflict", ("vmd_ft",), "high", "fields.vmd_ft"),
        ("emergency_sar", ("assistance",), [], "fields.assistance"),
        ("laser_ew_notice", ("frequency_high_mhz",), 100.0, "fields.frequency_high_mhz"),
        ("comm_check", ("sequence",), 0, "fields.sequence"),
        ("acknowledgement", ("answer",), "maybe", "fields.answer"),
        ("intent_to_enter_zone", ("aircraft_count",), 0, "fields.aircraft_count"),
    ],
)
def test_bad_value_names_the_field(
    template: str, path: tuple[str, ...], value: Any, field: str
) -> None:
    with pytest.raises(FieldErrors) as info:
        validate_fields(template, _with(template, path, value))
    assert info.value.errors[0][0] == field
    assert info.value.field == field
    assert isinstance(info.value, InvalidInputError)


def test_missing_required_field_is_named() -> None:
    fields = dict(EXAMPLES["cancellation"])
    del fields["reason"]
    with pytest.raises(FieldErrors) as info:
        validate_fields("cancellation", fields)
    assert info.value.errors == [("fields.reason", "Field required")]


def test_amendment_must_change_something() -> None:
    with pytest.raises(FieldErrors, match="must change at least one"):
        validate_fields("amendment", {"ref_message_id": "m-001"})


def test_unknown_template() -> None:
    with pytest.raises(FieldErrors) as info:
        validate_fields("greeting", {})
    assert info.value.field == "template"


def test_times_are_normalised_to_utc() -> None:
    fields = _with("comm_check", ("scheduled_for",), "2026-11-26T13:00:00+03:00")
    model = validate_fields("comm_check", fields)
    assert model.model_dump()["scheduled_for"] == T0


def _compose(**overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "message_id": "m1",
        "thread_id": "t1",
        "sender": "blue",
        "recipient": "red",
        "template": "comm_check",
        "fields": EXAMPLES["comm_check"],
        "precedence": Precedence.ROUTINE,
        "now": T0,
    }
    kwargs.update(overrides)
    return compose_message(**kwargs)


def test_free_text_limit() -> None:
    assert _compose(free_text="x" * MAX_FREE_TEXT_CHARS).free_text == "x" * MAX_FREE_TEXT_CHARS
    with pytest.raises(InvalidInputError) as info:
        _compose(free_text="x" * (MAX_FREE_TEXT_CHARS + 1))
    assert info.value.field == "free_text"
    assert "4000" in info.value.reason


def test_free_text_blank_is_none_and_control_chars_rejected() -> None:
    assert _compose(free_text="   ").free_text is None
    with pytest.raises(InvalidInputError, match="control"):
        _compose(free_text="bell\x07")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"recipient": "blue"}, "recipient"),
        ({"message_id": ""}, "id"),
        ({"thread_id": "t" * 65}, "thread_id"),
        ({"now": T0.replace(tzinfo=None)}, "now"),
    ],
)
def test_compose_rejects_bad_envelope(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        _compose(**overrides)
    assert info.value.field == field
