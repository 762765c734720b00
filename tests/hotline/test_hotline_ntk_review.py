"""A party's review pack names the other party as that party knows it (agreement pseudonym)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hotline_api_kit import hotline_env
from hotline_examples import EXAMPLES

from deconflict.broker import agreements
from deconflict.broker import hotline as hotline_sql
from deconflict.hotline import render_review_pack


def test_party_review_pack_uses_pseudonyms(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'db.sqlite3').as_posix()}"
    with hotline_env(url, pseudonyms=True) as env:
        with env.db.read() as s:
            red_to_blue = agreements.display_name(s, env.ids["blue"], env.ids["red"])
        assert red_to_blue.startswith("party-")
        real = env.client.post(
            "/v1/hotline/messages",
            json={
                "recipient": "red",
                "template": "safety_of_flight_warning",
                "fields": EXAMPLES["safety_of_flight_warning"],
            },
            headers=env.h("blue"),
        )
        assert real.status_code == 404  # red is known to blue only by its pseudonym
        sent = env.client.post(
            "/v1/hotline/messages",
            json={
                "recipient": red_to_blue,
                "template": "safety_of_flight_warning",
                "fields": EXAMPLES["safety_of_flight_warning"],
                "precedence": "flash",
            },
            headers=env.h("blue"),
        )
        assert sent.status_code == 201, sent.text
        ack = env.client.post(
            f"/v1/hotline/messages/{sent.json()['id']}/ack",
            json={"answer": "will_comply"},
            headers=env.h("red"),
        )
        assert ack.status_code == 201
        incident = env.client.post(
            "/v1/incidents",
            json={
                "category": "laser",
                "other_parties": [red_to_blue],
                "time_of_event": "2026-01-02T08:14:00Z",
                "position": {"lat_deg": 35.4, "lon_deg": 35.9},
            },
            headers=env.h("blue"),
        )
        assert incident.status_code == 201, incident.text
        now = datetime.now(UTC)
        with env.db.read() as s:
            mine = hotline_sql.load_review_data(
                s,
                start=now - timedelta(hours=1),
                end=now + timedelta(hours=1),
                now=now,
                party=env.ids["blue"],
            )
            joint = hotline_sql.load_review_data(
                s, start=now - timedelta(hours=1), end=now + timedelta(hours=1), now=now
            )
    (message,) = mine.messages
    assert (message.sender, message.recipient) == ("blue", red_to_blue)
    assert [a.party for a in message.acks] == [red_to_blue]
    (row,) = mine.incidents
    assert row.reporter == "blue" and row.other_parties == (red_to_blue,)
    html, csv_files = render_review_pack(mine, lang="en")
    assert red_to_blue in html and any(red_to_blue in t for t in csv_files.values())
    for text in (html, *csv_files.values()):
        assert ">red<" not in text and ",red," not in text and ",red\n" not in text
        assert env.ids["red"] not in text
    # the broker's joint pack (operator, all parties) names the parties
    assert joint.messages[0].recipient == "red"
