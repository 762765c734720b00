"""Joint review pack (INCSEA annual-review style): HTML for people, CSV for analysis.

:func:`render_review_pack` is pure: it takes plain data (:class:`ReviewData`, built by the caller
from the store) and returns the HTML page and the CSV files. The HTML is self-contained (inline
CSS, no scripts, no external resources) and in the reader's language; CSV headers are stable
machine names in English, values are raw (ISO 8601 UTC times, seconds, enum codes).

Figures computed:

* notices: lead time (``start - submitted_at``) against the agreement's required lead time;
* acknowledgement latency (first acknowledgement - delivery) per precedence: count, answered,
  median, 95th percentile (nearest rank), maximum, late (after the deadline or never), escalated;
* incidents by category and state; alerts;
* open items: unanswered messages, unacknowledged alerts, incidents not closed;
* charts (inline SVG, :mod:`deconflict.hotline.review_charts`): alerts and strategic conflicts
  over time, acknowledgement latency per precedence against its deadline (all parties, and per
  receiving party), and per party: alerts, messages received, late, escalated, incidents.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, model_validator

from deconflict.hotline.i18n import Formatter, check_language, translations
from deconflict.hotline.labels import TEMPLATE_TITLES, VALUE_LABELS
from deconflict.hotline.precedence import Precedence
from deconflict.hotline.review_charts import (
    events_over_time,
    latency_rows,
    latency_svg,
    over_time_svg,
    party_summary,
    per_party_svg,
    percentile,
)
from deconflict.hotline.templates import AckAnswer, IncidentCategory, UtcTime


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoticeRow(_Row):
    """A notice in the period: when it was submitted, when the activity started."""

    id: str
    party: str
    category: str
    submitted_at: UtcTime
    start: UtcTime
    end: UtcTime
    required_lead_h: float | None = Field(default=None, ge=0.0)
    state: str = "accepted"

    @property
    def lead_h(self) -> float:
        """Lead time in hours (negative if submitted after the start)."""
        return (self.start - self.submitted_at).total_seconds() / 3600.0

    @property
    def compliant(self) -> bool | None:
        """Lead time met (``None`` when the agreement sets no requirement)."""
        return None if self.required_lead_h is None else self.lead_h >= self.required_lead_h


class AlertRow(_Row):
    """An alert raised in the period."""

    id: str
    raised_at: UtcTime
    kind: str
    severity: str
    parties: tuple[str, ...] = ()
    acknowledged_at: UtcTime | None = None


class AckRow(_Row):
    """One acknowledgement of a message."""

    party: str
    answer: AckAnswer
    at: UtcTime


class MessageRow(_Row):
    """A message with its acknowledgements and the number of escalation steps taken."""

    id: str
    thread_id: str
    sender: str
    recipient: str
    template: str
    precedence: Precedence
    sent_at: UtcTime
    delivered_at: UtcTime | None = None
    ack_deadline: UtcTime | None = None
    acks: tuple[AckRow, ...] = ()
    escalations: int = Field(default=0, ge=0)

    @property
    def first_ack_at(self) -> datetime | None:
        """Time of the first acknowledgement."""
        return min((a.at for a in self.acks), default=None)

    @property
    def latency_s(self) -> float | None:
        """Seconds from delivery to the first acknowledgement."""
        first = self.first_ack_at
        if first is None or self.delivered_at is None:
            return None
        return (first - self.delivered_at).total_seconds()

    def late(self, period_end: datetime) -> bool:
        """Answered after the deadline, or unanswered with the deadline before ``period_end``."""
        if self.ack_deadline is None:
            return False
        first = self.first_ack_at
        if first is None:
            return self.ack_deadline < period_end
        return first > self.ack_deadline


class IncidentRow(_Row):
    """An incident and its state."""

    id: str
    category: IncidentCategory
    reporter: str
    other_parties: tuple[str, ...]
    time_of_event: UtcTime
    filed_at: UtcTime
    state: str
    response_due: UtcTime | None = None
    first_response_at: UtcTime | None = None
    closed_at: UtcTime | None = None


class ConflictRow(_Row):
    """A strategic conflict recorded in the period (an advisory overlap between two parties'
    notices, or a refusal under the F3548 policy when ``outcome`` is ``rejected``)."""

    id: str
    created_at: UtcTime
    parties: tuple[str, ...] = ()
    policy: str = "advisory"
    outcome: str = "accepted"


class ReviewData(_Row):
    """Everything a review pack shows, for the period ``[period_start, period_end)``."""

    period_start: UtcTime
    period_end: UtcTime
    generated_at: UtcTime
    parties: tuple[str, ...] = ()
    notices: tuple[NoticeRow, ...] = ()
    alerts: tuple[AlertRow, ...] = ()
    messages: tuple[MessageRow, ...] = ()
    incidents: tuple[IncidentRow, ...] = ()
    conflicts: tuple[ConflictRow, ...] = ()

    @model_validator(mode="after")
    def _period(self) -> ReviewData:
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        return self


def latency_stats(data: ReviewData) -> list[dict[str, Any]]:
    """Acknowledgement latency per precedence (seconds), most urgent first."""
    rows = []
    for prec in Precedence:
        msgs = [m for m in data.messages if m.precedence is prec and m.delivered_at is not None]
        lat = [m.latency_s for m in msgs if m.latency_s is not None]
        rows.append(
            {
                "precedence": prec.value,
                "messages": len(msgs),
                "answered": len(lat),
                "median_s": percentile(lat, 50),
                "p95_s": percentile(lat, 95),
                "max_s": max(lat, default=None),
                "late": sum(m.late(data.period_end) for m in msgs),
                "escalated": sum(1 for m in msgs if m.escalations > 0),
            }
        )
    return rows


def open_items(data: ReviewData) -> list[dict[str, Any]]:
    """Unanswered messages, unacknowledged alerts and incidents not closed."""
    items: list[dict[str, Any]] = []
    for m in data.messages:
        if not m.acks:
            items.append({"kind": "message", "id": m.id, "since": m.sent_at, "state": "unanswered"})
    for a in data.alerts:
        if a.acknowledged_at is None:
            items.append({"kind": "alert", "id": a.id, "since": a.raised_at, "state": "raised"})
    for i in data.incidents:
        if i.state != "closed":
            items.append({"kind": "incident", "id": i.id, "since": i.filed_at, "state": i.state})
    return sorted(items, key=lambda r: (r["since"], r["kind"], r["id"]))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, tuple | list):
        return ";".join(_cell(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value.value if hasattr(value, "value") else value)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def review_csv_files(data: ReviewData) -> dict[str, str]:
    """The CSV files of the pack (file name -> content)."""
    stats = latency_stats(data)
    by_cat = Counter((i.category.value, i.state) for i in data.incidents)
    return {
        "notices.csv": _csv(
            [
                "id",
                "party",
                "category",
                "submitted_at",
                "start",
                "end",
                "lead_h",
                "required_lead_h",
                "compliant",
                "state",
            ],
            [
                [
                    n.id,
                    n.party,
                    n.category,
                    n.submitted_at,
                    n.start,
                    n.end,
                    round(n.lead_h, 3),
                    n.required_lead_h,
                    n.compliant,
                    n.state,
                ]
                for n in data.notices
            ],
        ),
        "alerts.csv": _csv(
            ["id", "raised_at", "kind", "severity", "parties", "acknowledged_at"],
            [
                [a.id, a.raised_at, a.kind, a.severity, a.parties, a.acknowledged_at]
                for a in data.alerts
            ],
        ),
        "acknowledgements.csv": _csv(
            [
                "message_id",
                "thread_id",
                "sender",
                "recipient",
                "template",
                "precedence",
                "sent_at",
                "delivered_at",
                "ack_deadline",
                "first_ack_at",
                "latency_s",
                "late",
                "answers",
                "escalations",
            ],
            [
                [
                    m.id,
                    m.thread_id,
                    m.sender,
                    m.recipient,
                    m.template,
                    m.precedence,
                    m.sent_at,
                    m.delivered_at,
                    m.ack_deadline,
                    m.first_ack_at,
                    m.latency_s,
                    m.late(data.period_end),
                    [a.answer.value for a in m.acks],
                    m.escalations,
                ]
                for m in data.messages
            ],
        ),
        "ack_latency.csv": _csv(list(stats[0].keys()), [list(row.values()) for row in stats]),
        "incidents.csv": _csv(
            [
                "id",
                "category",
                "state",
                "reporter",
                "other_parties",
                "time_of_event",
                "filed_at",
                "response_due",
                "first_response_at",
                "closed_at",
            ],
            [
                [
                    i.id,
                    i.category,
                    i.state,
                    i.reporter,
                    i.other_parties,
                    i.time_of_event,
                    i.filed_at,
                    i.response_due,
                    i.first_response_at,
                    i.closed_at,
                ]
                for i in data.incidents
            ],
        ),
        "incidents_by_category.csv": _csv(
            ["category", "state", "count"],
            [[cat, state, n] for (cat, state), n in sorted(by_cat.items())],
        ),
        "open_items.csv": _csv(
            ["kind", "id", "since", "state"],
            [[r["kind"], r["id"], r["since"], r["state"]] for r in open_items(data)],
        ),
    }


def _environment(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("deconflict.hotline", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_review_pack(data: ReviewData, *, lang: str) -> tuple[str, dict[str, str]]:
    """Render the review pack: ``(html, {csv file name: content})``.

    Parameters
    ----------
    data:
        Plain data for the period (see :class:`ReviewData`).
    lang:
        Reader language of the HTML (``"en"``, ``"ru"``); CSV files are language-neutral.
    """
    lang = check_language(lang)
    fmt = Formatter(lang)

    def t(value: datetime | None) -> str:
        return fmt.time(value) if value is not None else "—"

    def secs(value: float | None) -> str:
        return fmt.duration(timedelta(seconds=value)) if value is not None else "—"

    def label(value: str) -> str:
        text = VALUE_LABELS.get(value) or TEMPLATE_TITLES.get(value)
        return fmt.gettext(text) if text is not None else value

    def prec_label(row: dict[str, Any]) -> str:
        name = label(str(row["precedence"]))
        return f"{row['party']} · {name}" if row["party"] else name

    charts = {
        "over_time": Markup(
            over_time_svg(
                events_over_time(data),
                fmt,
                title=fmt.gettext("Alerts and strategic conflicts over time"),
            )
        ),
        "latency": Markup(
            latency_svg(
                latency_rows(data, by_party=False),
                fmt,
                title=fmt.gettext("Acknowledgement latency against the deadline"),
                label=prec_label,
                chart="latency",
            )
        ),
        "latency_by_party": Markup(
            latency_svg(
                latency_rows(data, by_party=True),
                fmt,
                title=fmt.gettext("Acknowledgement latency per receiving party"),
                label=prec_label,
                chart="latency-by-party",
            )
        ),
        "per_party": Markup(
            per_party_svg(party_summary(data), fmt, title=fmt.gettext("Per party"))
        ),
    }
    by_cat = Counter((i.category.value, i.state) for i in data.incidents)
    states = sorted({i.state for i in data.incidents})
    compliant = [n for n in data.notices if n.compliant is not None]
    html = (
        _environment(lang)
        .get_template("review_pack.html")
        .render(
            lang=lang,
            data=data,
            t=t,
            secs=secs,
            label=label,
            number=fmt.number,
            stats=latency_stats(data),
            categories=[c.value for c in IncidentCategory],
            states=states,
            by_cat=by_cat,
            open_items=open_items(data),
            compliant_count=sum(1 for n in compliant if n.compliant),
            compliance_known=len(compliant),
            charts=charts,
        )
    )
    return html, review_csv_files(data)
