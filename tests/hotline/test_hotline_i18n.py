"""Message catalogues are complete and every template renders in English and Russian."""

from __future__ import annotations

import re
import typing
from enum import StrEnum
from pathlib import Path
from types import UnionType
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from hotline_examples import EXAMPLES, make_message
from pydantic import BaseModel

import deconflict.hotline as hotline_pkg
from deconflict.errors import InvalidInputError
from deconflict.hotline import (
    SUPPORTED_LANGUAGES,
    TEMPLATE_MODELS,
    Ack,
    AckAnswer,
    AttachmentKind,
    ChannelState,
    EscalationStep,
    EscalationTarget,
    IncidentState,
    MessageId,
    PartyId,
    Precedence,
    Template,
    render_ack,
    render_escalation,
    render_message,
)
from deconflict.hotline.i18n import Formatter, check_language
from deconflict.hotline.labels import FIELD_LABELS, TEMPLATE_TITLES, VALUE_LABELS
from deconflict.hotline.templates import AltitudeReference

PKG_DIR = Path(hotline_pkg.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted_ids() -> set[str]:
    found = extract_from_dir(
        str(PKG_DIR),
        method_map=[("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")],
        options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords={"N_": None, "_": None, "gettext": None},
    )
    return {str(msg) for _fn, _line, msg, _comments, _ctx in found}


def _catalog(lang: str) -> Catalog:
    path = PKG_DIR / "locale" / lang / "LC_MESSAGES" / "deconflict.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


EXTRACTED = _extracted_ids()


def test_extraction_finds_the_labels() -> None:
    # guards against an extraction set-up that silently finds nothing
    assert set(TEMPLATE_TITLES.values()) <= EXTRACTED
    assert "Joint review pack" in EXTRACTED  # from the Jinja2 template
    assert len(EXTRACTED) > 150


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_message_id_is_translated(lang: str) -> None:
    catalog = _catalog(lang)
    missing = []
    for msgid in sorted(EXTRACTED):
        entry = catalog.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(msgid)
    assert not missing, f"{lang}: untranslated message ids: {missing}"


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_no_stale_entries_and_placeholders_kept(lang: str) -> None:
    catalog = _catalog(lang)
    ids = {str(m.id) for m in catalog if m.id}
    assert ids == EXTRACTED, f"stale entries in {lang}: {sorted(ids - EXTRACTED)}"
    for message in catalog:
        if message.id:
            assert set(PLACEHOLDER.findall(str(message.id))) == set(
                PLACEHOLDER.findall(str(message.string))
            ), message.id


def test_russian_differs_from_english_for_words() -> None:
    catalog = _catalog("ru")
    same = [str(m.id) for m in catalog if m.id and m.string == m.id]
    assert not same, f"copied, not translated: {same}"


def _enums_in(annotation: Any) -> set[type[StrEnum]]:
    found: set[type[StrEnum]] = set()
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        found.add(annotation)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for info in annotation.model_fields.values():
            found |= _enums_in(info.annotation)
    else:
        args = typing.get_args(annotation)
        if args or isinstance(annotation, UnionType):
            for arg in args:
                found |= _enums_in(arg)
    return found


def test_every_field_and_value_has_a_label() -> None:
    enums: set[type[StrEnum]] = {
        Precedence,
        ChannelState,
        IncidentState,
        EscalationTarget,
        AttachmentKind,
        AckAnswer,
    }
    for model in TEMPLATE_MODELS.values():
        for name, info in model.model_fields.items():
            assert name in FIELD_LABELS, f"{model.__name__}.{name} has no label"
            enums |= _enums_in(info.annotation)
    assert len(enums) > 10
    # the altitude reference is rendered by the band pattern (FL... / ... above mean sea level)
    enums.discard(AltitudeReference)
    for enum in enums:
        for member in enum:
            assert member.value in VALUE_LABELS, f"{enum.__name__}.{member.name} has no label"
    assert set(TEMPLATE_TITLES) == {t.value for t in Template}


def _translation(lang: str, msgid: str) -> str:
    entry = _catalog(lang).get(msgid)
    assert entry is not None
    return str(entry.string)


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("template", [t.value for t in Template])
def test_every_template_renders(template: str, lang: str) -> None:
    message = make_message(template, free_text="Contact on 243.0 MHz")
    rendered = render_message(message, lang=lang)
    assert rendered.lang == lang
    assert rendered.title == _translation(lang, TEMPLATE_TITLES[template])
    expected_labels = []
    model = TEMPLATE_MODELS[Template(template)]
    for name in model.model_fields:
        if name in EXAMPLES[template]:
            expected_labels.append(_translation(lang, FIELD_LABELS[name]))
    assert [line.label for line in rendered.lines] == expected_labels
    # every enumerated value is shown with its translated label
    text = rendered.as_text()
    for value in message.fields_json().values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item in VALUE_LABELS:
                assert _translation(lang, VALUE_LABELS[item]) in text
    # free text is shown verbatim and flagged as untranslated in the reader's language
    assert rendered.untranslated
    assert rendered.free_text == "Contact on 243.0 MHz"
    label = _translation(lang, "Free text (untranslated, as written by the sender)")
    assert rendered.free_text_label == label
    assert f"{label}:\nContact on 243.0 MHz" in text
    if lang == "ru":
        for line in rendered.lines:
            assert not re.search(r"[A-Za-z]{4,}", line.label), line.label


def test_russian_formatting_of_units_and_positions() -> None:
    text = render_message(make_message("request_to_deconflict"), lang="ru").as_text()
    assert "35,0000° с. ш., 037,0000° в. д." in text
    assert re.search(r"18\s000 фт", text)  # Babel's Russian grouping (no-break space)
    assert "1,2 мор. миль" in text
    assert "2026-11-26 10:07:30 UTC" in text
    assert "Отвернуть вправо" in text
    en = render_message(make_message("request_to_deconflict"), lang="en").as_text()
    assert "35.0000° N, 037.0000° E" in en and "18,000 ft" in en and "1.2 NM" in en


def test_south_west_flight_levels_and_megahertz() -> None:
    ru = render_message(make_message("query"), lang="ru").as_text()
    assert "12,5000° ю. ш., 045,1250° з. д." in ru
    amend = render_message(make_message("amendment"), lang="en").as_text()
    assert "FL250 to FL350" in amend
    laser = render_message(make_message("laser_ew_notice"), lang="ru").as_text()
    assert "399,975 МГц" in laser


def test_precedence_and_no_message_without_free_text() -> None:
    rendered = render_message(make_message("comm_check"), lang="ru")
    assert rendered.precedence == "МОЛНИЯ"
    assert not rendered.untranslated
    assert rendered.free_text_label is None


def test_queued_message_shows_queue_line() -> None:
    rendered = render_message(make_message("comm_check", delivered=False), lang="en")
    assert any(line.label == "Queued until the channel is restored" for line in rendered.header)


def test_ack_and_escalation_rendering() -> None:
    ack = Ack(MessageId("m1"), PartyId("red"), AckAnswer.UNABLE, make_message().created_at, "fuel")
    ru = render_ack(ack, lang="ru")
    assert "«Выполнить не могу»" in ru
    assert "Причина (без перевода, в авторской редакции): fuel" in ru
    step = EscalationStep(
        MessageId("m1"),
        1,
        EscalationTarget.SENIOR_DUTY_OFFICER,
        make_message().created_at,
        PartyId("red"),
        PartyId("blue"),
    )
    assert render_escalation(step, lang="en") == (
        "Message m1 was not acknowledged in time: escalated to Senior duty officer"
    )
    assert "Старший дежурный офицер" in render_escalation(step, lang="ru")


def test_language_codes() -> None:
    assert check_language("RU") == "ru"
    assert check_language("en-GB") == "en"
    with pytest.raises(InvalidInputError) as info:
        Formatter("fr")
    assert info.value.field == "lang"
