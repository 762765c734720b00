"""Render messages, acknowledgements and escalations in the reader's language.

Structured content is translated from the catalogues; identifiers (call signs, references, party
names) are shown as written; free text is never translated and is always labelled as such
(``untranslated=True`` on the rendered message, and the label says so in the reader's language).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from deconflict.hotline.escalation import EscalationStep
from deconflict.hotline.i18n import Formatter
from deconflict.hotline.labels import (
    FIELD_LABELS,
    FORMAT_PATTERNS,
    HEADER_LABELS,
    TEMPLATE_TITLES,
    VALUE_LABELS,
)
from deconflict.hotline.messages import Ack, Message
from deconflict.hotline.templates import AltitudeBand, AltitudeReference, Area, Position


@dataclass(frozen=True, slots=True)
class RenderedLine:
    """One labelled line."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message as its reader sees it."""

    lang: str
    title: str
    precedence: str
    header: tuple[RenderedLine, ...]
    lines: tuple[RenderedLine, ...]
    free_text_label: str | None
    free_text: str | None

    @property
    def untranslated(self) -> bool:
        """True when the message carries free text (shown as written, not translated)."""
        return self.free_text is not None

    def as_text(self) -> str:
        """Plain-text rendering (for logs, e-mail or a teleprinter-style display)."""
        out = [f"{self.precedence} — {self.title}"]
        out += [f"{line.label}: {line.value}" for line in self.header]
        out += [f"{line.label}: {line.value}" for line in self.lines]
        if self.free_text is not None:
            out.append(f"{self.free_text_label}:")
            out.append(self.free_text)
        return "\n".join(out)


def label_value(fmt: Formatter, value: str) -> str:
    """Translated label of an enumerated value (the raw value if it has no label)."""
    text = VALUE_LABELS.get(value)
    return fmt.gettext(text) if text is not None else value


def format_position(fmt: Formatter, pos: Position) -> str:
    """``34.5000° N, 036.2500° E`` in the reader's language."""
    return f"{fmt.latitude(pos.lat_deg)}, {fmt.longitude(pos.lon_deg)}"


def format_band(fmt: Formatter, band: AltitudeBand) -> str:
    """An altitude band in feet AMSL or flight levels."""
    if band.reference is AltitudeReference.FL:
        return fmt.fill(
            FORMAT_PATTERNS["band_fl"],
            lower=f"{round(band.lower_ft / 100):03d}",
            upper=f"{round(band.upper_ft / 100):03d}",
        )
    return fmt.fill(
        FORMAT_PATTERNS["band_amsl"], lower=fmt.feet(band.lower_ft), upper=fmt.feet(band.upper_ft)
    )


def format_value(fmt: Formatter, name: str, value: Any) -> str:
    """Format one field value according to its type and the unit in its name."""
    if isinstance(value, Position):
        return format_position(fmt, value)
    if isinstance(value, Area):
        return fmt.fill(
            FORMAT_PATTERNS["circle"],
            radius=fmt.nautical_miles(value.radius_nm),
            center=format_position(fmt, value.center),
        )
    if isinstance(value, AltitudeBand):
        return format_band(fmt, value)
    if isinstance(value, datetime):
        return fmt.time(value)
    if isinstance(value, StrEnum):
        return label_value(fmt, value.value)
    if isinstance(value, list | tuple):
        return ", ".join(format_value(fmt, name, item) for item in value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if name.endswith("_nm"):
            return fmt.nautical_miles(float(value))
        if name.endswith("_ft"):
            return fmt.feet(float(value))
        if name.endswith("_mhz"):
            return fmt.megahertz(float(value))
        return fmt.number(value)
    return str(value)


def render_fields(fmt: Formatter, fields: BaseModel) -> tuple[RenderedLine, ...]:
    """Labelled lines of a template's fields, in declaration order, omitting empty ones."""
    lines = []
    for name in type(fields).model_fields:
        value = getattr(fields, name)
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        label = fmt.gettext(FIELD_LABELS.get(name, name))
        lines.append(RenderedLine(label, format_value(fmt, name, value)))
    return tuple(lines)


def render_message(message: Message, *, lang: str) -> RenderedMessage:
    """Render ``message`` for a reader of language ``lang`` (``"en"``, ``"ru"``)."""
    fmt = Formatter(lang)
    g = fmt.gettext
    header = [
        RenderedLine(g(HEADER_LABELS["from"]), message.sender),
        RenderedLine(g(HEADER_LABELS["to"]), message.recipient),
        RenderedLine(g(HEADER_LABELS["sent"]), fmt.time(message.created_at)),
    ]
    if message.ack_deadline is not None:
        header.append(
            RenderedLine(g(HEADER_LABELS["ack_deadline"]), fmt.time(message.ack_deadline))
        )
    else:
        header.append(RenderedLine(g(HEADER_LABELS["queued"]), "—"))
    if message.attachment is not None:
        kind = label_value(fmt, message.attachment.kind.value)
        header.append(
            RenderedLine(g(HEADER_LABELS["attachment"]), f"{kind} {message.attachment.ref}")
        )
    return RenderedMessage(
        lang=fmt.lang,
        title=g(TEMPLATE_TITLES[message.template.value]),
        precedence=label_value(fmt, message.precedence.value),
        header=tuple(header),
        lines=render_fields(fmt, message.fields),
        free_text_label=g(HEADER_LABELS["free_text"]) if message.free_text else None,
        free_text=message.free_text,
    )


def render_ack(ack: Ack, *, lang: str) -> str:
    """One line for an acknowledgement; an ``unable`` reason follows, marked untranslated."""
    fmt = Formatter(lang)
    line = fmt.fill(
        FORMAT_PATTERNS["ack_line"],
        party=ack.party,
        answer=label_value(fmt, ack.answer.value),
        time=fmt.time(ack.at),
    )
    if ack.reason:
        line += f"\n{fmt.gettext(HEADER_LABELS['reason'])}: {ack.reason}"
    return line


def render_escalation(step: EscalationStep, *, lang: str) -> str:
    """The notice shown to the sender (and the recipient) when a message escalates."""
    fmt = Formatter(lang)
    return fmt.fill(
        FORMAT_PATTERNS["escalation"],
        message=step.message_id,
        target=label_value(fmt, step.target.value),
    )
