"""``deconflict review`` exports the pack from a real database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hotline_api_kit import hotline_env
from hotline_examples import EXAMPLES

from deconflict.cli import main
from deconflict.web.routes.hotline import hotline_tick


def test_review_export_from_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{(tmp_path / 'db.sqlite3').as_posix()}"
    with hotline_env(url) as env:
        ids = []
        for precedence in ("flash", "routine"):
            r = env.client.post(
                "/v1/hotline/messages",
                json={
                    "recipient": "red",
                    "template": "safety_of_flight_warning",
                    "fields": EXAMPLES["safety_of_flight_warning"],
                    "precedence": precedence,
                },
                headers=env.h("blue"),
            )
            ids.append(r.json())
        env.client.post(
            f"/v1/hotline/messages/{ids[1]['id']}/ack",
            json={"answer": "understood"},
            headers=env.h("red"),
        )
        hotline_tick(env.db, datetime.fromisoformat(ids[0]["ack_deadline"]))
        env.client.post(
            "/v1/incidents",
            json={
                "category": "laser",
                "other_parties": ["red"],
                "time_of_event": "2026-01-02T08:14:00Z",
                "position": {"lat_deg": 35.4, "lon_deg": 35.9},
            },
            headers=env.h("blue"),
        )
        start = (datetime.now(UTC) + timedelta(hours=24)).replace(microsecond=0)
        notice = env.client.post(
            "/v1/notices",
            json={
                "title": "Exercise",
                "category": "exercise",
                "volumes": [
                    {
                        "id": "v1",
                        "footprint": {"type": "circle", "center": [38.0, 34.0], "radius_nm": 5},
                        "altitude": {"lower": 0, "upper": 10000, "reference": "ft_amsl"},
                        "start": start.isoformat().replace("+00:00", "Z"),
                        "end": (start + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
                    }
                ],
            },
            headers=env.h("blue"),
        )
        assert notice.status_code == 201, notice.text
        from deconflict.store.live_sql import live_alert_parties, live_alerts

        raised = datetime.now(UTC)
        with env.db.write() as s:
            for alert_id, acked in (("al-1", True), ("al-2", False)):
                s.execute(
                    live_alerts.insert().values(
                        id=alert_id, kind="conflict", key=alert_id, severity="warning",
                        state="active", t_in_s=30.0, data={}, raised_at=raised, updated_at=raised,
                    )
                )  # fmt: skip
                for party in ("blue", "red"):
                    s.execute(
                        live_alert_parties.insert().values(
                            alert_id=alert_id, party_id=env.ids[party],
                            acked_at=raised if acked or party == "blue" else None,
                        )
                    )  # fmt: skip
    today = datetime.now(UTC).date()
    out = tmp_path / "pack"
    code = main(
        ["review", "--from", str(today - timedelta(days=1)), "--to", str(today), "--out",
         str(out), "--db", url]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out.split()
    assert str(out / "review.en.html") in printed and str(out / "review.ru.html") in printed
    ru = (out / "review.ru.html").read_text(encoding="utf-8")
    assert "Материалы совместного обзора" in ru and "МОЛНИЯ" in ru
    acks = list(csv.DictReader(io.StringIO((out / "acknowledgements.csv").read_text())))
    by_prec = {row["precedence"]: row for row in acks}
    assert by_prec["flash"]["escalations"] == "1" and by_prec["flash"]["answers"] == ""
    assert by_prec["routine"]["answers"] == "understood"
    assert by_prec["routine"]["sender"] == "blue" and by_prec["routine"]["recipient"] == "red"
    notices = list(csv.DictReader(io.StringIO((out / "notices.csv").read_text())))
    assert [(n["id"], n["category"], n["required_lead_h"], n["compliant"]) for n in notices] == [
        (notice.json()["id"], "exercise", "72", "no")
    ]
    assert 23.9 < float(notices[0]["lead_h"]) <= 24.0
    alerts = {r["id"]: r for r in csv.DictReader(io.StringIO((out / "alerts.csv").read_text()))}
    assert alerts["al-1"]["acknowledged_at"] and not alerts["al-2"]["acknowledged_at"]
    assert alerts["al-1"]["parties"] == "blue;red"
    incidents = (out / "incidents_by_category.csv").read_text()
    assert "laser,open,1" in incidents
    open_items = (out / "open_items.csv").read_text()
    assert ids[0]["id"] in open_items and ids[1]["id"] not in open_items
    assert "alert,al-2" in open_items and "al-1" not in open_items
    # a period before anything happened is empty but valid
    empty = tmp_path / "empty"
    assert main(["review", "--from", "2020-01-01", "--to", "2020-01-31", "--out", str(empty),
                 "--db", url, "--lang", "ru"]) == 0  # fmt: skip
    assert not (empty / "review.en.html").exists()
    assert (empty / "acknowledgements.csv").read_text().count("\n") == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--from", "yesterday", "--to", "2026-01-01"], "--from"),
        (["--from", "2026-01-02", "--to", "2026-01-01"], "must be after --from"),
        (["--from", "2026-01-01T00:00:00", "--to", "2026-01-02"], "zone"),
        (["--from", "2026-01-01", "--to", "2026-01-02", "--lang", "fr"], "--lang"),
    ],
)
def test_review_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    url = f"sqlite:///{(tmp_path / 'db.sqlite3').as_posix()}"
    code = main(["review", *args, "--out", str(tmp_path / "o"), "--db", url])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("deconflict: error:") and needle in err
