"""Review pack charts: inline SVG whose marks carry the numbers of the data, in EN and RU."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring

from deconflict.hotline import (
    AckRow,
    AlertRow,
    IncidentRow,
    MessageRow,
    Precedence,
    ReviewData,
    render_review_pack,
)
from deconflict.hotline.review import ConflictRow
from deconflict.hotline.review_charts import events_over_time

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
SVG_NS = "{http://www.w3.org/2000/svg}"

# FLASH messages to RED answered after 1, 2, 3 and 10 min (deadline 5 min; the last one late
# and escalated); one IMMEDIATE to BLUE never answered (deadline 15 min, escalated).
FLASH_LATENCY_MIN = (1.0, 2.0, 3.0, 10.0)


def _data() -> ReviewData:
    messages = []
    for i, lat in enumerate(FLASH_LATENCY_MIN):
        sent = T0 + i * 5 * MIN
        messages.append(
            MessageRow(
                id=f"f{i}",
                thread_id=f"t{i}",
                sender="BLUE",
                recipient="RED",
                template="safety_of_flight_warning",
                precedence=Precedence.FLASH,
                sent_at=sent,
                delivered_at=sent,
                ack_deadline=sent + 5 * MIN,
                acks=(AckRow(party="RED", answer="received", at=sent + lat * MIN),),
                escalations=1 if lat > 5 else 0,
            )
        )
    messages.append(
        MessageRow(
            id="q1",
            thread_id="tq",
            sender="RED",
            recipient="BLUE",
            template="query",
            precedence=Precedence.IMMEDIATE,
            sent_at=T0,
            delivered_at=T0,
            ack_deadline=T0 + 15 * MIN,
            escalations=2,
        )
    )
    kinds = ["conflict"] * 5 + ["incursion"] * 3 + ["nonconforming"] * 2
    alerts = tuple(
        AlertRow(
            id=f"a{k}",
            raised_at=T0 + timedelta(minutes=4.5 * k),
            kind=kind,
            severity="warning",
            parties=("BLUE", "RED") if kind != "nonconforming" else ("RED",),
        )
        for k, kind in enumerate(kinds)
    )
    return ReviewData(
        period_start=T0 - timedelta(hours=1),
        period_end=T0 + timedelta(hours=2),
        generated_at=T0 + timedelta(hours=2),
        parties=("BLUE", "RED"),
        alerts=alerts,
        messages=tuple(messages),
        incidents=(
            IncidentRow(
                id="i1",
                category="airprox",
                reporter="BLUE",
                other_parties=("RED",),
                time_of_event=T0 + 10 * MIN,
                filed_at=T0 + 12 * MIN,
                state="filed",
            ),
        ),
        conflicts=(
            ConflictRow(id="c1", created_at=T0 + MIN, parties=("BLUE", "RED")),
            ConflictRow(id="c2", created_at=T0 + 2 * MIN, parties=("BLUE", "RED")),
        ),
    )


def _charts(html: str) -> dict[str, Element]:
    out = {}
    for svg in re.findall(r"<svg .*?</svg>", html, flags=re.S):
        root = fromstring(svg)
        out[root.get("data-chart")] = root
    return out


def _marks(svg: Element) -> list[Element]:
    return [e for e in svg.iter() if e.get("data-series") is not None]


@pytest.fixture(scope="module")
def packs() -> dict[str, str]:
    return {lang: render_review_pack(_data(), lang=lang)[0] for lang in ("en", "ru")}


def test_pack_has_four_charts_inline_without_scripts(packs: dict[str, str]) -> None:
    for html in packs.values():
        charts = _charts(html)
        assert set(charts) == {"over-time", "latency", "latency-by-party", "per-party"}
        assert "<script" not in html and "<img" not in html
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


def test_over_time_bars_count_the_alerts_and_conflicts(packs: dict[str, str]) -> None:
    data = _data()
    bins = events_over_time(data)
    # 40.5 min of events: 1-min bins would be 41 bars (> 40), so 2-min bins from 09:00.
    assert bins.width == 2 * MIN and bins.edges[0] == T0
    expected: Counter[tuple[str, int]] = Counter()
    for a in data.alerts:
        expected[(a.kind, math.floor((a.raised_at - T0) / (2 * MIN)))] += 1
    for c in data.conflicts:
        expected[("strategic", math.floor((c.created_at - T0) / (2 * MIN)))] += 1
    seen = {}
    for lang, html in packs.items():
        marks = _marks(_charts(html)["over-time"])
        got: Counter[tuple[str | None, int]] = Counter()
        for m in marks:
            got[(m.get("data-series"), int(m.get("data-bin", "-1")))] += int(m.get("data-value", 0))
        assert got == expected, lang
        seen[lang] = sorted((m.get("data-series"), m.get("data-bin")) for m in marks)
    assert seen["en"] == seen["ru"]


def test_latency_marks_match_the_data_against_the_deadline(packs: dict[str, str]) -> None:
    for lang, html in packs.items():
        marks = _marks(_charts(html)["latency"])
        values = {
            (m.get("data-precedence"), m.get("data-series")): float(m.get("data-value", "nan"))
            for m in marks
        }
        # Nearest-rank over 60, 120, 180, 600 s: median rank 2, 95th rank 4.
        assert values[("flash", "median_s")] == 120.0
        assert values[("flash", "p95_s")] == 600.0
        assert values[("flash", "max_s")] == 600.0
        assert values[("flash", "deadline_s")] == 300.0
        # Unanswered IMMEDIATE: only its deadline is drawn.
        assert values[("immediate", "deadline_s")] == 900.0
        assert ("immediate", "median_s") not in values
        # The longest FLASH answer is drawn beyond the deadline line.
        dot = next(m for m in marks if m.get("data-series") == "max_s")
        line = next(
            m
            for m in marks
            if m.get("data-series") == "deadline_s" and m.get("data-precedence") == "flash"
        )
        assert float(dot.get("cx", 0)) > float(line.get("x1", 0)), lang
        by_party = {
            (m.get("data-party"), m.get("data-precedence"), m.get("data-series"))
            for m in _marks(_charts(html)["latency-by-party"])
        }
        assert ("RED", "flash", "median_s") in by_party
        assert ("BLUE", "immediate", "deadline_s") in by_party


def test_per_party_bars_match_the_data(packs: dict[str, str]) -> None:
    data = _data()
    expected = {
        ("BLUE", "alerts"): sum("BLUE" in a.parties for a in data.alerts),
        ("RED", "alerts"): sum("RED" in a.parties for a in data.alerts),
        ("RED", "received"): 4,
        ("BLUE", "received"): 1,
        ("RED", "late"): 1,  # answered after 10 min, deadline 5
        ("BLUE", "late"): 1,  # never answered
        ("RED", "escalated"): 1,
        ("BLUE", "escalated"): 1,
        ("BLUE", "incidents"): 1,
        ("RED", "incidents"): 1,
    }
    assert expected[("BLUE", "alerts")] == 8 and expected[("RED", "alerts")] == 10
    for html in packs.values():
        got = {
            (m.get("data-party"), m.get("data-series")): int(m.get("data-value", -1))
            for m in _marks(_charts(html)["per-party"])
        }
        for key, value in expected.items():
            assert got[key] == value, key


def test_both_languages_label_the_charts_in_their_own_words(packs: dict[str, str]) -> None:
    en, ru = packs["en"], packs["ru"]
    assert "Acknowledgement latency against the deadline" in en
    assert "Время подтверждения в сравнении со сроком" in ru
    assert "Стратегические конфликты" in ru and "Оповещения о конфликтах" in ru
    ru_text = " ".join(
        "".join(e.itertext()) for svg in _charts(ru).values() for e in svg.iter(f"{SVG_NS}text")
    )
    for english in ("Deadline", "Median", "Conflict alerts", "Escalated", "answered"):
        assert english not in ru_text
    assert "отвечено 4 из 4, с опозданием 1, передано выше 1" in ru_text
    en_text = " ".join(
        "".join(e.itertext()) for svg in _charts(en).values() for e in svg.iter(f"{SVG_NS}text")
    )
    assert "4 of 4 answered, 1 late, 1 escalated" in en_text
    # Tooltips carry the durations in the reader's language.
    assert "Срок: 5 минут" in ru and "Deadline: 5 minutes" in en
