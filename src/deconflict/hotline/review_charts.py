"""Charts of the joint review pack as inline SVG (no scripts, no network, no images to ship).

Pure: plain data in (:class:`~deconflict.hotline.review.ReviewData`), SVG text out. Every mark
carries its number twice: language-neutral in ``data-*`` attributes (``data-series``,
``data-value``, ``data-bin``) so a test or a reader's tool can check it against the data, and
formatted in the reader's language in the visible labels and ``<title>`` tooltips. Times on the
axes are UTC ``HH:MM`` (or ``MM-DD`` over more than two days) in both languages.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies);
every series is also named in a legend and in each mark's tooltip, so no reading depends on
colour alone.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any, Final

from deconflict.hotline.i18n import Formatter
from deconflict.hotline.labels import N_
from deconflict.hotline.precedence import Precedence

if TYPE_CHECKING:
    from deconflict.hotline.review import MessageRow, ReviewData

SERIES_COLOURS: Final[dict[str, str]] = {
    "conflict": "#D55E00",
    "incursion": "#0072B2",
    "nonconforming": "#E69F00",
    "strategic": "#009E73",
    "other": "#CC79A7",
}
"""Colour of each alert kind and of strategic conflicts (Okabe-Ito)."""

SERIES_LABELS: Final[dict[str, str]] = {
    "conflict": N_("Conflict alerts"),
    "incursion": N_("Incursion alerts"),
    "nonconforming": N_("Nonconformance alerts"),
    "strategic": N_("Strategic conflicts"),
    "other": N_("Other alerts"),
}
"""Legend text of each series (message ids of the catalogues)."""

PARTY_METRICS: Final[tuple[tuple[str, str, str], ...]] = (
    ("alerts", N_("Alerts"), "#0072B2"),
    ("received", N_("Messages received"), "#56B4E9"),
    ("late", N_("Late or unanswered"), "#E69F00"),
    ("escalated", N_("Escalated"), "#D55E00"),
    ("incidents", N_("Incidents"), "#CC79A7"),
)
"""Per-party chart: metric key, legend message id, colour."""

BAR_NAMES: Final[dict[str, str]] = {"median_s": N_("Median"), "p95_s": N_("95th percentile")}
"""Names of the latency bars."""

BIN_WIDTHS: Final[tuple[timedelta, ...]] = tuple(
    timedelta(minutes=m)
    for m in (1, 2, 5, 10, 15, 30, 60, 180, 360, 720, 1440, 7 * 1440, 30 * 1440)
)
"""Candidate widths of the time bins: the smallest giving at most :data:`MAX_BINS` wins."""

MAX_BINS: Final = 40
"""Most bars of the over-time chart."""

WIDTH: Final = 760
"""Width of every chart, px."""


@dataclass(frozen=True)
class TimeBins:
    """Equal time bins ``[edges[k], edges[k+1])`` and the count of each series in each bin."""

    edges: tuple[datetime, ...]
    counts: dict[str, tuple[int, ...]]

    @property
    def width(self) -> timedelta:
        """Width of one bin."""
        return self.edges[1] - self.edges[0]


def _floor(value: datetime, width: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=value.tzinfo)
    steps = math.floor((value - epoch) / width)
    return epoch + steps * width


def events_over_time(data: ReviewData) -> TimeBins:
    """Alerts raised per kind and strategic conflicts recorded per bin, over the span of the
    events inside the period (the whole period when there are none)."""
    events: list[tuple[datetime, str]] = [
        (a.raised_at, a.kind if a.kind in SERIES_COLOURS else "other") for a in data.alerts
    ]
    events += [(c.created_at, "strategic") for c in data.conflicts]
    events = [(t, k) for t, k in events if data.period_start <= t < data.period_end]
    lo = min((t for t, _ in events), default=data.period_start)
    hi = max((t for t, _ in events), default=data.period_end)
    span = max(hi - lo, timedelta(minutes=1))
    width = next((w for w in BIN_WIDTHS if span / w < MAX_BINS), BIN_WIDTHS[-1])
    first = _floor(lo, width)
    n = max(1, math.floor((hi - first) / width) + 1)
    edges = tuple(first + k * width for k in range(n + 1))
    kinds = [k for k in SERIES_COLOURS if any(kind == k for _, kind in events)]
    counts = {k: [0] * n for k in kinds}
    for t, kind in events:
        counts[kind][min(n - 1, math.floor((t - first) / width))] += 1
    return TimeBins(edges, {k: tuple(v) for k, v in counts.items()})


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; ``None`` if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def deadline_s(messages: Sequence[MessageRow]) -> float | None:
    """The acknowledgement deadline the messages were given, s (median; None if none)."""
    values = sorted(
        (m.ack_deadline - m.delivered_at).total_seconds()
        for m in messages
        if m.ack_deadline is not None and m.delivered_at is not None
    )
    return values[len(values) // 2] if values else None


def latency_rows(data: ReviewData, *, by_party: bool) -> list[dict[str, Any]]:
    """Acknowledgement latency per precedence (per recipient party and precedence when
    ``by_party``), with the deadline: ``label``, ``precedence``, ``party``, ``messages``,
    ``answered``, ``median_s``, ``p95_s``, ``max_s``, ``deadline_s``, ``late``,
    ``escalated``. Rows without messages are left out."""
    groups: dict[tuple[str, Precedence], list[MessageRow]] = {}
    for m in data.messages:
        if m.delivered_at is None:
            continue
        groups.setdefault((m.recipient if by_party else "", m.precedence), []).append(m)
    rows = []
    parties = sorted({p for p, _ in groups})
    for party in parties:
        for prec in Precedence:
            msgs = groups.get((party, prec))
            if not msgs:
                continue
            lat = [m.latency_s for m in msgs if m.latency_s is not None]
            rows.append(
                {
                    "party": party,
                    "precedence": prec.value,
                    "messages": len(msgs),
                    "answered": len(lat),
                    "median_s": percentile(lat, 50),
                    "p95_s": percentile(lat, 95),
                    "max_s": max(lat, default=None),
                    "deadline_s": deadline_s(msgs),
                    "late": sum(m.late(data.period_end) for m in msgs),
                    "escalated": sum(1 for m in msgs if m.escalations > 0),
                }
            )
    return rows


def party_summary(data: ReviewData) -> list[dict[str, Any]]:
    """Per party: alerts it was part of, messages it received, of those answered late or not
    at all, escalated on its ladder, and incidents naming it (parties with none of these are
    left out)."""
    names = set(data.parties)
    for a in data.alerts:
        names.update(a.parties)
    for m in data.messages:
        names.update((m.sender, m.recipient))
    alerts = Counter(p for a in data.alerts for p in set(a.parties))
    received = Counter(m.recipient for m in data.messages if m.delivered_at is not None)
    late = Counter(
        m.recipient for m in data.messages if m.delivered_at is not None and m.late(data.period_end)
    )
    escalated = Counter(m.recipient for m in data.messages if m.escalations > 0)
    incidents = Counter(p for i in data.incidents for p in {i.reporter, *i.other_parties})
    rows = [
        {
            "party": p,
            "alerts": alerts[p],
            "received": received[p],
            "late": late[p],
            "escalated": escalated[p],
            "incidents": incidents[p],
        }
        for p in sorted(names)
    ]
    return [r for r in rows if any(r[k] for k, _, _ in PARTY_METRICS)]


# ---------------------------------------------------------------------------------- drawing


def _attrs(**values: Any) -> str:
    return " ".join(
        f'{k.rstrip("_").replace("_", "-")}="{escape(str(v), quote=True)}"'
        for k, v in values.items()
        if v is not None
    )


def _mark(tag: str, tip: str, **attrs: Any) -> str:
    """An SVG element with a tooltip; floats in ``attrs`` are written with one decimal."""
    shown = {k: f"{v:.1f}" if isinstance(v, float) else v for k, v in attrs.items()}
    return f"<{tag} {_attrs(**shown)}><title>{escape(tip)}</title></{tag}>"


def _text(x: float, y: float, text: str, **extra: Any) -> str:
    return f"<text {_attrs(x=f'{x:.1f}', y=f'{y:.1f}', **extra)}>{escape(text)}</text>"


def _legend(items: Sequence[tuple[str, str]]) -> tuple[list[str], float]:
    """Legend swatches and labels from the top left, wrapped to the chart's width; returns the
    elements and the height they take (px)."""
    out: list[str] = []
    x, y = 60.0, 14.0
    for label, colour in items:
        need = 20.0 + 7.4 * len(label)
        if x + need > WIDTH - 10 and x > 60.0:
            x, y = 60.0, y + 16.0
        out.append(f"<rect {_attrs(x=x, y=y - 9, width=10, height=10, fill=colour)}/>")
        out.append(_text(x + 14, y, label, font_size=11))
        x += need + 10.0
    return out, y + 10.0


def _svg(height: float, body: list[str], *, chart: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f"{_attrs(class_='chart', data_chart=chart, width=WIDTH, height=f'{height:.0f}')} "
        f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="DejaVu Sans, Arial, sans-serif">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * exp:
            return float(step * exp)
    return float(10 * exp)


def _tick_label(value: datetime, width: timedelta, span: timedelta) -> str:
    if span > timedelta(days=2) or width >= timedelta(days=1):
        return value.strftime("%m-%d")
    return value.strftime("%H:%M")


def over_time_svg(bins: TimeBins, fmt: Formatter, *, title: str) -> str:
    """Stacked bars of each series per time bin, with a legend and a count axis."""
    legend = [(fmt.gettext(SERIES_LABELS[k]), SERIES_COLOURS[k]) for k in bins.counts]
    body, legend_h = _legend(legend)
    left, top, plot_w, plot_h = 60.0, legend_h + 8.0, WIDTH - 80.0, 180.0
    n = len(bins.edges) - 1
    totals = [sum(c[k] for c in bins.counts.values()) for k in range(n)]
    top_value = _nice_max(max(totals, default=0))
    bar_w = plot_w / n
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        body.append(f"<line {_attrs(x1=left, x2=left + plot_w, y1=y, y2=y, stroke='#ccc')}/>")
        body.append(
            _text(left - 6, y + 4, fmt.number(top_value * frac), text_anchor="end", font_size=11)
        )
    span = bins.edges[-1] - bins.edges[0]
    label_every = max(1, math.ceil(n / 8))
    for k in range(n):
        x = left + k * bar_w
        base = top + plot_h
        for kind, counts in bins.counts.items():
            value = counts[k]
            if not value:
                continue
            h = plot_h * value / top_value
            base -= h
            tip = (
                f"{fmt.gettext(SERIES_LABELS[kind])}: {fmt.number(value)} "
                f"({bins.edges[k].strftime('%Y-%m-%d %H:%M')}-"
                f"{bins.edges[k + 1].strftime('%H:%M')} UTC)"
            )
            body.append(
                _mark(
                    "rect",
                    tip,
                    x=x + 1,
                    y=base,
                    width=max(bar_w - 2, 1.0),
                    height=h,
                    fill=SERIES_COLOURS[kind],
                    data_series=kind,
                    data_bin=k,
                    data_value=value,
                )
            )
        if k % label_every == 0:
            body.append(
                _text(
                    x,
                    top + plot_h + 14,
                    _tick_label(bins.edges[k], bins.width, span),
                    font_size=10,
                )
            )
    body.append(_text(left + plot_w, top + plot_h + 28, "UTC", text_anchor="end", font_size=10))
    if not legend:
        body.append(_text(left + 10, top + plot_h / 2, fmt.gettext("None in this period.")))
    return _svg(top + plot_h + 36, body, chart="over-time", title=title)


def latency_svg(
    rows: Sequence[dict[str, Any]],
    fmt: Formatter,
    *,
    title: str,
    label: Callable[[dict[str, Any]], str],
    chart: str,
) -> str:
    """One row per precedence (or party and precedence): median and 95th-percentile bars, the
    longest as a dot, the deadline as a red line; each row on its own scale."""
    body, legend_h = _legend(
        [
            (fmt.gettext("Median"), "#0072B2"),
            (fmt.gettext("95th percentile"), "#56B4E9"),
            (fmt.gettext("Longest"), "#000"),
            (fmt.gettext("Deadline"), "#D55E00"),
        ]
    )
    left, row_h, top = 190.0, 34.0, legend_h + 6.0
    plot_w = WIDTH - left - 20.0
    for r, row in enumerate(rows):
        y = top + r * row_h
        deadline = row["deadline_s"]
        values = [v for v in (row["max_s"], row["p95_s"], deadline) if v is not None]
        scale = plot_w / (max(values, default=1.0) * 1.15 or 1.0)
        body.append(_text(left - 8, y + 14, label(row), text_anchor="end", font_size=11))
        body.append(f"<rect {_attrs(x=left, y=y + 4, width=plot_w, height=14, fill='#f2f2f2')}/>")
        attrs = {"data_precedence": row["precedence"], "data_party": row["party"] or None}
        for key, colour, height in (("p95_s", "#56B4E9", 14.0), ("median_s", "#0072B2", 8.0)):
            value = row[key]
            if value is None:
                continue
            name = fmt.gettext(BAR_NAMES[key])
            body.append(
                _mark(
                    "rect",
                    f"{name}: {fmt.duration(timedelta(seconds=value))}",
                    x=left,
                    y=y + 4 + (14 - height) / 2,
                    width=value * scale,
                    height=height,
                    fill=colour,
                    data_series=key,
                    data_value=f"{value:g}",
                    **attrs,
                )
            )
        longest = row["max_s"]
        if longest is not None:
            body.append(
                _mark(
                    "circle",
                    f"{fmt.gettext('Longest')}: {fmt.duration(timedelta(seconds=longest))}",
                    cx=left + longest * scale,
                    cy=y + 11,
                    r=4,
                    fill="#000",
                    data_series="max_s",
                    data_value=f"{longest:g}",
                    **attrs,
                )
            )
        if deadline is not None:
            dx = left + deadline * scale
            body.append(
                _mark(
                    "line",
                    f"{fmt.gettext('Deadline')}: {fmt.duration(timedelta(seconds=deadline))}",
                    x1=dx,
                    x2=dx,
                    y1=y,
                    y2=y + 22,
                    stroke="#D55E00",
                    stroke_width=2,
                    stroke_dasharray="4 2",
                    data_series="deadline_s",
                    data_value=f"{deadline:g}",
                    **attrs,
                )
            )
        caption = fmt.gettext(
            "%(answered)s of %(messages)s answered, %(late)s late, %(escalated)s escalated"
        ) % {
            "answered": fmt.number(row["answered"]),
            "messages": fmt.number(row["messages"]),
            "late": fmt.number(row["late"]),
            "escalated": fmt.number(row["escalated"]),
        }
        if deadline is not None:
            caption += (
                " · " + fmt.gettext("Deadline") + " " + fmt.duration(timedelta(seconds=deadline))
            )
        body.append(_text(left, y + 30, caption, font_size=10, fill="#333"))
    if not rows:
        body.append(_text(left, top + 14, fmt.gettext("None in this period.")))
    height = top + max(1, len(rows)) * row_h + 10
    return _svg(height, body, chart=chart, title=title)


def per_party_svg(rows: Sequence[dict[str, Any]], fmt: Formatter, *, title: str) -> str:
    """Grouped horizontal bars per party: alerts, messages received, late or unanswered,
    escalated, incidents (one common scale), each bar labelled with its number."""
    body, legend_h = _legend([(fmt.gettext(n), c) for _, n, c in PARTY_METRICS])
    left, top, bar_h = 120.0, legend_h + 6.0, 11.0
    group_h = bar_h * len(PARTY_METRICS) + 12.0
    plot_w = WIDTH - left - 60.0
    top_value = _nice_max(max((r[k] for r in rows for k, _, _ in PARTY_METRICS), default=0))
    for g, row in enumerate(rows):
        y0 = top + g * group_h
        body.append(_text(left - 8, y0 + group_h / 2, str(row["party"]), text_anchor="end"))
        for m, (key, name, colour) in enumerate(PARTY_METRICS):
            value = row[key]
            y = y0 + m * bar_h
            w = plot_w * value / top_value
            body.append(
                _mark(
                    "rect",
                    f"{row['party']} · {fmt.gettext(name)}: {fmt.number(value)}",
                    x=left,
                    y=y,
                    width=w,
                    height=bar_h - 2,
                    fill=colour,
                    data_party=row["party"],
                    data_series=key,
                    data_value=value,
                )
            )
            body.append(_text(left + w + 4, y + bar_h - 3, fmt.number(value), font_size=9))
    if not rows:
        body.append(_text(left, top + 14, fmt.gettext("None in this period.")))
    height = top + max(1, len(rows)) * group_h + 8
    return _svg(height, body, chart="per-party", title=title)
