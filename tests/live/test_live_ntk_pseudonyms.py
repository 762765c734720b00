"""Live alerts name the other party as the viewer knows it (agreement pseudonyms)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from live_testkit import StreamReader, start_env

from deconflict.broker import agreements
from deconflict.broker.live import party_labels
from deconflict.live.alerts import Alert, Subject
from deconflict.live.engine import LiveConfig
from deconflict.live.picture import PartyLabels, alert_view, relabel, visible_picture
from deconflict.live.tracks import TrackStates
from deconflict.store.base import Database

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
LAT = 34.0
NM_PER_DEG_LON = 60.0 * np.cos(np.radians(LAT))


def _alert() -> Alert:
    return Alert(
        id="LA1",
        kind="conflict",
        key=("conflict", "b-1", "r-1"),
        parties=("idB", "idR"),
        subjects=(Subject("aircraft", "idB", "b-1"), Subject("aircraft", "idR", "r-1")),
        severity="warning",
        t_in_s=60.0,
        metrics={"hmd_nm": 0.2},
        raised_at=NOW,
        updated_at=NOW,
        last_seen_at=NOW,
        acked={},
    )


def _states() -> TrackStates:
    return TrackStates.from_columns(
        {
            "ids": ["b-1", "r-1"],
            "party": ["idB", "idR"],
            "callsign": ["CSB", "CSR"],
            "lat_deg": [34.0, 34.0],
            "lon_deg": [33.0, 33.1],
            "alt_ft": [25000.0, 25000.0],
            "gs_kt": [450.0, 450.0],
            "track_deg": [90.0, 270.0],
            "vs_fpm": [0.0, 0.0],
            "time_s": [NOW.timestamp()] * 2,
        }
    )


def test_party_labels_render_each_viewer_its_own_names() -> None:
    labels = PartyLabels(
        {"idB": "BLUE", "idR": "RED"},
        {"idB": {"idR": "party-aaaaaa"}, "idR": {"idB": "party-bbbbbb"}},
    )
    assert dict(labels) == {"idB": "BLUE", "idR": "RED"}  # iterates every party
    for viewer, own, other, secret in (
        ("idB", "BLUE", "party-aaaaaa", "RED"),
        ("idR", "RED", "party-bbbbbb", "BLUE"),
    ):
        view = alert_view(_alert(), viewer, names=labels)
        assert view["others"][0]["party"] == other and set(view["parties"]) == {own, other}
        picture = visible_picture(_states(), [_alert()], viewer, NOW, names=labels)
        assert picture["party"] == own and picture["traffic"][0]["party"] == other
        text = json.dumps([view, picture])
        assert secret not in text and ("idR" if viewer == "idB" else "idB") not in text
    # a viewer the table does not know sees no one's name
    stranger = alert_view(_alert(), "idB", names=PartyLabels({"idB": "BLUE", "idR": "RED"}, {}))
    assert stranger["others"][0]["party"] == "another party" and "RED" not in json.dumps(stranger)
    # a flat table still names parties as before
    flat = alert_view(_alert(), "idB", names={"idB": "BLUE", "idR": "RED"})
    assert flat["others"][0]["party"] == "RED"
    assert relabel(flat, {"RED": "party-aaaaaa"})["others"][0]["party"] == "party-aaaaaa"


def _batch(when: datetime, row: tuple[str, float, float]) -> dict[str, Any]:
    aircraft, lon, track = row
    return {
        "time": when.isoformat().replace("+00:00", "Z"),
        "id": [aircraft],
        "lat": [LAT],
        "lon": [lon],
        "alt_ft": [25000.0],
        "gs_kt": [450.0],
        "track_deg": [track],
        "vs_fpm": [0.0],
        "callsign": [f"CS{aircraft}"],
    }


def test_live_alerts_show_the_pseudonym_of_a_pseudonymous_agreement(tmp_path: Path) -> None:
    config = LiveConfig(interval_s=0.2, min_gap_s=0.05, picture_interval_s=0.5)
    env = start_env(tmp_path, ("BLUE", "RED"), config)
    try:
        db = Database(env.db_url)
        try:
            with db.write() as s:
                agreement = agreements.create_agreement(
                    s,
                    "pseudonymous",
                    policy="advisory",
                    parties=[env.party_ids["BLUE"], env.party_ids["RED"]],
                    now=datetime.now(UTC),
                    use_pseudonyms=True,
                )
            with db.read() as s:
                table = party_labels(s)
        finally:
            db.dispose()
        red_to_blue = agreement.members[env.party_ids["RED"]]
        blue_to_red = agreement.members[env.party_ids["BLUE"]]
        assert table.for_viewer(env.party_ids["BLUE"])[env.party_ids["RED"]] == red_to_blue
        stream = StreamReader(env.server.url, env.keys["BLUE.duty_officer"])
        now = datetime.now(UTC)
        blue = _batch(now, ("b-1", 33.0, 90.0))
        red = _batch(now, ("r-1", 33.0 + 30.0 / NM_PER_DEG_LON, 270.0))
        for who, body in (("BLUE", blue), ("RED", red)):
            r = env.client.post("/v1/tracks", json=body, headers=env.h(f"{who}.duty_officer"))
            assert r.status_code == 200, r.text
        raised = stream.wait_for(lambda e: e["event"] == "alert" and e["data"]["event"] == "raised")
        picture = stream.wait_for(lambda e: e["event"] == "picture" and e["data"]["traffic"])
        stream.stop()
        # the pushed views (rendered by the live engine) use the pseudonym too
        for pushed in (raised, picture):
            text = json.dumps(pushed["data"])
            assert red_to_blue in text
            assert '"RED"' not in text and env.party_ids["RED"] not in text
        seen = env.client.get("/v1/picture", headers=env.h("BLUE.viewer"))
        assert [t["party"] for t in seen.json()["traffic"]] == [red_to_blue]
        assert '"RED"' not in seen.text and env.party_ids["RED"] not in seen.text
        for who, other, label in (("BLUE", "RED", red_to_blue), ("RED", "BLUE", blue_to_red)):
            r = env.client.get("/v1/alerts", headers=env.h(f"{who}.viewer"))
            (view,) = r.json()
            assert [o["party"] for o in view["others"]] == [label]
            assert label in view["parties"] and who in view["parties"]
            assert f'"{other}"' not in r.text and env.party_ids[other] not in r.text
        acked = env.client.post(f"/v1/alerts/{view['id']}/ack", headers=env.h("RED.duty_officer"))
        assert acked.status_code == 200 and acked.json()["others"][0]["party"] == blue_to_red
        assert '"BLUE"' not in acked.text and env.party_ids["BLUE"] not in acked.text
    finally:
        env.close()
