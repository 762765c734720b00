"""Joint review pack: figures, CSV files and self-contained HTML in both languages."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from hotline_examples import T0

from deconflict.hotline import (
    AckRow,
    AlertRow,
    IncidentRow,
    MessageRow,
    NoticeRow,
    Precedence,
    ReviewData,
    render_review_pack,
)
from deconflict.hotline.review import latency_stats, open_items, percentile

MIN = timedelta(minutes=1)


def _data() -> ReviewData:
    def msg(
        i: int, precedence: Precedence, latency_min: float | None, escalations: int = 0
    ) -> MessageRow:
        acks: tuple[AckRow, ...] = ()
        if latency_min is not None:
            acks = (AckRow(party="red", answer="received", at=T0 + latency_min * MIN),)
        deadline = {Precedence.FLASH: 5, Precedence.ROUTINE: 360}[precedence]
        return MessageRow(
            id=f"m{i}",
            thread_id="t1",
            sender="blue",
            recipient="red",
            template="safety_of_flight_warning",
            precedence=precedence,
            sent_at=T0,
            delivered_at=T0,
            ack_deadline=T0 + deadline * MIN,
            acks=acks,
            escalations=escalations,
        )

    return ReviewData(
        period_start=T0 - timedelta(days=1),
        period_end=T0 + timedelta(days=1),
        generated_at=T0 + timedelta(days=1, hours=1),
        parties=("blue", "red"),
        notices=(
            NoticeRow(
                id="n1",
                party="blue",
                category="exercise",
                submitted_at=T0,
                start=T0 + timedelta(hours=80),
                end=T0 + timedelta(hours=82),
                required_lead_h=72,
            ),
            NoticeRow(
                id="n2",
                party="red",
                category="strike",
                submitted_at=T0,
                start=T0 + timedelta(hours=1),
                end=T0 + timedelta(hours=2),
                required_lead_h=72,
            ),
            NoticeRow(
                id="n3",
                party="red",
                category="transport",
                submitted_at=T0,
                start=T0 + timedelta(hours=1),
                end=T0 + timedelta(hours=2),
            ),
        ),
        alerts=(
            AlertRow(
                id="a1",
                raised_at=T0,
                kind="los",
                severity="warning",
                parties=("blue", "red"),
                acknowledged_at=T0 + MIN,
            ),
            AlertRow(id="a2", raised_at=T0 + MIN, kind="los", severity="alert"),
        ),
        messages=(
            msg(1, Precedence.FLASH, 2),
            msg(2, Precedence.FLASH, 4),
            msg(3, Precedence.FLASH, 12, escalations=2),
            msg(4, Precedence.FLASH, None, escalations=3),
            msg(5, Precedence.ROUTINE, 30),
        ),
        incidents=(
            IncidentRow(
                id="i1",
                category="airprox",
                reporter="blue",
                other_parties=("red",),
                time_of_event=T0,
                filed_at=T0,
                state="open",
            ),
            IncidentRow(
                id="i2",
                category="airprox",
                reporter="red",
                other_parties=("blue",),
                time_of_event=T0,
                filed_at=T0,
                state="closed",
                closed_at=T0 + MIN,
            ),
            IncidentRow(
                id="i3",
                category="laser",
                reporter="red",
                other_parties=("blue",),
                time_of_event=T0,
                filed_at=T0 + MIN,
                state="responded",
            ),
        ),
    )


def test_percentile_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0


def test_latency_statistics() -> None:
    stats = {row["precedence"]: row for row in latency_stats(_data())}
    flash = stats["flash"]
    assert flash["messages"] == 4 and flash["answered"] == 3
    assert flash["median_s"] == 240.0 and flash["max_s"] == 720.0 and flash["p95_s"] == 720.0
    assert flash["late"] == 2  # one answered after 12 min, one never
    assert flash["escalated"] == 2
    assert stats["routine"]["late"] == 0 and stats["immediate"]["messages"] == 0


def test_open_items() -> None:
    items = [(r["kind"], r["id"]) for r in open_items(_data())]
    assert sorted(items) == [
        ("alert", "a2"),
        ("incident", "i1"),
        ("incident", "i3"),
        ("message", "m4"),
    ]


def test_csv_files() -> None:
    _html, files = render_review_pack(_data(), lang="en")
    assert set(files) == {
        "notices.csv",
        "alerts.csv",
        "acknowledgements.csv",
        "ack_latency.csv",
        "incidents.csv",
        "incidents_by_category.csv",
        "open_items.csv",
    }
    notices = list(csv.DictReader(io.StringIO(files["notices.csv"])))
    assert [(n["id"], n["lead_h"], n["compliant"]) for n in notices] == [
        ("n1", "80", "yes"),
        ("n2", "1", "no"),
        ("n3", "1", ""),
    ]
    by_cat = list(csv.reader(io.StringIO(files["incidents_by_category.csv"])))
    assert by_cat == [
        ["category", "state", "count"],
        ["airprox", "closed", "1"],
        ["airprox", "open", "1"],
        ["laser", "responded", "1"],
    ]
    acks = list(csv.DictReader(io.StringIO(files["acknowledgements.csv"])))
    assert acks[2]["latency_s"] == "720" and acks[2]["late"] == "yes"
    assert acks[0]["delivered_at"] == "2026-11-26T10:00:00Z"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_html_is_self_contained_and_translated(lang: str) -> None:
    html, _files = render_review_pack(_data(), lang=lang)
    assert html.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html and "<link" not in html
    assert "<style>" in html
    heading = {"en": "Joint review pack", "ru": "Материалы совместного обзора"}[lang]
    assert f"<h1>{heading}</h1>" in html
    lead = {"en": "Lead time met for 1 of 2 notices", "ru": "соблюдён для 1 из 2 уведомлений"}[lang]
    assert lead in html
    if lang == "ru":
        assert "Опасное сближение" in html and "МОЛНИЯ" in html


def test_html_escapes_party_supplied_strings() -> None:
    data = _data().model_copy(update={"parties": ("<script>alert(1)</script>",)})
    html, _ = render_review_pack(data, lang="en")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_empty_period_and_bad_period() -> None:
    html, files = render_review_pack(
        ReviewData(period_start=T0, period_end=T0 + MIN, generated_at=T0), lang="ru"
    )
    assert "Открытых вопросов нет." in html
    assert files["open_items.csv"] == "kind,id,since,state\n"
    with pytest.raises(ValueError, match="period_end"):
        ReviewData(period_start=T0, period_end=T0, generated_at=T0)
