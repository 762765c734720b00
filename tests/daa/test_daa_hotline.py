"""Coordinated guidance travels as the hotline template ``coordinated_guidance`` (EN / RU)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from daa_reference import Flat, to_states

from deconflict.daa import DO365B
from deconflict.daa.guidance import Manoeuvre, coordinate, guidance_template_fields
from deconflict.hotline import FieldErrors, Precedence, compose_message, validate_fields
from deconflict.hotline.render import render_message

NM = 1852.0


def test_guidance_of_each_side_validates_and_renders_in_both_languages() -> None:
    a = Flat(0, 0, 10000, 300, 90)
    b = Flat(8 * NM, 0, 10000, 300, 270)
    g = coordinate(DO365B, to_states([a, b]), 0, 1)
    for manoeuvre, track in ((g.for_a, "A1"), (g.for_b, "B1")):
        fields = guidance_template_fields(
            manoeuvre,
            alert_ref="al-1",
            track_ref=track,
            profile="do365b",
            alert_level=3,
            counterpart_guided=True,
        )
        model = validate_fields("coordinated_guidance", fields)
        assert model.model_dump(mode="json", exclude_none=True) == fields
        message = compose_message(
            message_id=f"m-{track}",
            thread_id="t1",
            sender="broker",
            recipient="blue",
            template="coordinated_guidance",
            fields=fields,
            precedence=Precedence.FLASH,
            now=datetime(2026, 12, 5, tzinfo=UTC),
        )
        en = render_message(message, lang="en").as_text()
        ru = render_message(message, lang="ru").as_text()
        assert "Coordinated guidance" in en and "Given a compatible manoeuvre" in en
        assert "Согласованные рекомендации" in ru and "совместимый маневр" in ru


def test_target_must_match_the_manoeuvre() -> None:
    fields = guidance_template_fields(
        Manoeuvre("track_deg", "right", 120.0, 90.0, 1.0),
        alert_ref="al-1",
        track_ref="A1",
        profile="cylinder",
        alert_level=1,
        counterpart_guided=False,
    )
    fields["target_gs_kt"] = 300.0
    with pytest.raises(FieldErrors) as info:
        validate_fields("coordinated_guidance", fields)
    assert info.value.errors[0][0] == "fields.target_gs_kt"
    del fields["target_gs_kt"], fields["target_track_deg"]
    with pytest.raises(FieldErrors):
        validate_fields("coordinated_guidance", fields)
