"""Behaviour is unchanged by the issue-10 restructure: a scripted scenario over the notice,
hotline and live paths gives the same responses and the same stream events as the code before it.

The golden files under ``tests/broker/golden/`` were recorded by running these scenarios on the
code *before* the application layer was restructured (``DECONFLICT_WRITE_GOLDEN=1``). Random ids
and wall-clock times are replaced by stable tokens (first appearance order), so the comparison is
exact on everything else: status codes, field names, values, event kinds and their order. The same
golden file is asserted on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from deconflict.broker import agreements, parties
from deconflict.broker.live import LiveEngine
from deconflict.live.batch import parse_batch
from deconflict.live.engine import LiveConfig
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.store.tables import outbox
from deconflict.web.app import create_app
from deconflict.web.routes import hotline as hotline_routes
from deconflict.web.routes.hotline import hotline_tick

GOLDEN = Path(__file__).resolve().parent / "golden"
WRITE = os.environ.get("DECONFLICT_WRITE_GOLDEN") == "1"

_ID = re.compile(r"LA[0-9a-f]{12}|[0-9a-f]{32}|[0-9a-f]{16}")
_PSEUDONYM = re.compile(r"party-[0-9a-f]{6}\b")
_TIME = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC"
)


class Normaliser:
    """Random ids -> ``<id N>`` (first appearance), ISO times -> ``<time>``, random agreement
    pseudonyms -> ``<pseudonym>``."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def _id(self, match: re.Match[str]) -> str:
        return self.ids.setdefault(match.group(0), f"<id {len(self.ids) + 1}>")

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            out = {self(k): self(v) for k, v in value.items()}
            if isinstance(out.get("parties"), list):  # listed in (random) party-id order
                out["parties"] = sorted(out["parties"], key=str)
            return out
        if isinstance(value, list | tuple):
            items = [self(v) for v in value]
            if items and all(isinstance(v, str) and v.startswith("<id ") for v in items):
                return sorted(items)  # sets of ids are listed in (random) id order
            return items
        if isinstance(value, str):
            return _PSEUDONYM.sub("<pseudonym>", _TIME.sub("<time>", _ID.sub(self._id, value)))
        if isinstance(value, float):
            return round(value, 6)
        return value


def events_of(db: Database, party_ids: dict[str, str]) -> dict[str, list[Any]]:
    """Each party's outbox events in id order: party name -> [(kind, payload)].

    Grouped per party: the interleaving of two parties' events written in one transaction
    follows the order of their random ids, which is not behaviour.
    """
    names = {v: k for k, v in party_ids.items()}
    with db.read() as s:
        rows = s.execute(select(outbox).order_by(outbox.c.id)).all()
    out: dict[str, list[Any]] = {name: [] for name in party_ids}
    for r in rows:
        out[names[r.party_id]].append([r.kind, dict(r.payload)])
    return out


def check_golden(name: str, record: Any) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if WRITE and "sqlite" in os.environ.get("DECONFLICT_GOLDEN_BACKEND", "sqlite"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    actual = json.loads(text)
    if actual != expected:
        out = Path(tempfile.gettempdir()) / f"deconflict-golden-{name}.actual.json"
        out.write_text(text, encoding="utf-8")
        for key in ("steps", "events"):
            got, want = actual.get(key, []), expected.get(key, [])
            for i, (g, w) in enumerate(zip(got, want, strict=False)):
                assert g == w, f"{name}: {key}[{i}] differs (actual written to {out})"
            assert len(got) == len(want), f"{name}: {len(got)} {key}, expected {len(want)}"


# ------------------------------------------------------------------------------ notices + hotline
def iso(t: datetime) -> str:
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def circle(lon: float, lat: float, now: datetime, *, radius_nm: float = 5.0) -> dict[str, Any]:
    t0 = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=100)
    return {
        "footprint": {"type": "circle", "center": [lon, lat], "radius_nm": radius_nm},
        "altitude": {"lower": 0, "upper": 10_000, "reference": "ft_amsl"},
        "start": iso(t0),
        "end": iso(t0 + timedelta(hours=2)),
    }


@pytest.fixture
def broker(db_url: str) -> Iterator[tuple[TestClient, Database, dict[str, str], dict[str, str]]]:
    upgrade(db_url)
    db = Database(db_url)
    now = datetime.now(UTC)
    ids: dict[str, str] = {}
    keys: dict[str, str] = {}
    with db.write() as s:
        for name in ("A", "B", "C"):
            ids[name] = parties.create_party(s, f"Party {name}", now=now).id
            for role in ("viewer", "duty_officer", "party_admin"):
                keys[f"{name}.{role}"] = parties.create_key(s, ids[name], role, now=now)[1]
        keys["operator"] = parties.create_key(s, None, "operator", now=now)[1]
        agreements.create_agreement(
            s, "AB", policy="advisory", parties=[ids["A"], ids["B"]], now=now
        )
        agreements.create_agreement(
            s, "AC", policy="f3548", parties=[ids["A"], ids["C"]], now=now, use_pseudonyms=True
        )
    saved = hotline_routes.DEFAULT_TICK_S
    hotline_routes.DEFAULT_TICK_S = 3600.0
    try:
        app = create_app(Settings(db_url=db_url, sqlite_synchronous="NORMAL"))
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, db, ids, keys
    finally:
        hotline_routes.DEFAULT_TICK_S = saved
        db.dispose()


def test_notice_and_hotline_paths_match_the_golden_record(broker: Any) -> None:
    client, db, ids, keys = broker
    now = datetime.now(UTC)
    steps: list[Any] = []

    def call(who: str, method: str, url: str, body: Any = None, **headers: str) -> Any:
        h = {"Authorization": f"Bearer {keys[who]}", **headers}
        r = client.request(method, url, json=body, headers=h)
        try:
            payload = r.json()
        except ValueError:
            payload = r.text
        steps.append([who, method, url.split("?")[0], r.status_code, payload])
        return payload

    def note(**over: Any) -> dict[str, Any]:
        body = {"title": "t", "category": "exercise", "priority": 0}
        body["volumes"] = [circle(10.0, 50.0, now)]
        body.update(over)
        return body

    # bad input: every refusal names the field (the double validation must not change them)
    for bad in (
        {},
        note(volumes=[]),
        note(priority=5000),
        note(extra="x"),
        note(category="nope"),
        note(volumes=[{**circle(10.0, 50.0, now), "footprint": {"type": "blob"}}]),
        note(volumes=[{**circle(10.0, 50.0, now), "start": "yesterday"}]),
        note(volumes=[{k: v for k, v in circle(10.0, 50.0, now).items() if k != "altitude"}]),
        note(volumes=[{**circle(10.0, 50.0, now), "end": iso(now + timedelta(hours=99))}]),
        note(volumes=["x"]),
        [1, 2],
    ):
        call("A.duty_officer", "POST", "/v1/notices", bad, **{"Idempotency-Key": "bad"})
    call("A.viewer", "POST", "/v1/notices", note(), **{"Idempotency-Key": "v"})
    call("operator", "GET", "/v1/notices")
    # create, replay, conflict on both sides (advisory), resolve by amending, stale, cancel
    a1 = call(
        "A.duty_officer", "POST", "/v1/notices", note(title="A1"), **{"Idempotency-Key": "k1"}
    )
    call("A.duty_officer", "POST", "/v1/notices", note(title="A1"), **{"Idempotency-Key": "k1"})
    call("A.duty_officer", "POST", "/v1/notices", note(title="other"), **{"Idempotency-Key": "k1"})
    b1 = call(
        "B.duty_officer",
        "POST",
        "/v1/notices",
        note(title="B1", volumes=[circle(10.0, 50.1, now)]),
        **{"Idempotency-Key": "k2"},
    )
    call("A.viewer", "GET", "/v1/conflicts")
    call("B.viewer", "GET", "/v1/conflicts")
    # f3548 with pseudonyms: C's equal-priority plan over A's is refused
    call(
        "C.duty_officer",
        "POST",
        "/v1/notices",
        note(title="C1", volumes=[circle(10.0, 49.9, now)]),
        **{"Idempotency-Key": "k3"},
    )
    call(
        "C.duty_officer",
        "POST",
        "/v1/notices",
        note(title="C2", priority=10, volumes=[circle(10.0, 49.9, now)]),
        **{"Idempotency-Key": "k4"},
    )
    call("A.viewer", "GET", "/v1/conflicts")
    call("C.viewer", "GET", "/v1/conflicts")
    call(
        "B.duty_officer",
        "PUT",
        f"/v1/notices/{b1['id']}",
        {**note(title="B1 moved", volumes=[circle(20.0, 50.0, now)]), "version": 1},
    )
    call("A.duty_officer", "PUT", f"/v1/notices/{a1['id']}", {**note(title="x"), "version": 7})
    call("A.duty_officer", "PUT", f"/v1/notices/{b1['id']}", {**note(title="x"), "version": 1})
    call("A.duty_officer", "POST", f"/v1/notices/{a1['id']}/cancel", {"version": 1})
    call("A.duty_officer", "POST", f"/v1/notices/{a1['id']}/cancel", {"version": 1})
    call("A.viewer", "GET", "/v1/notices")
    call("A.viewer", "GET", f"/v1/notices/{a1['id']}")
    call("A.viewer", "GET", f"/v1/notices/{b1['id']}")
    call("B.viewer", "GET", "/v1/conflicts")

    # hotline: threads, message, acks, escalation, channel suspension, incidents
    call("B.viewer", "GET", "/v1/hotline/threads")
    sofw = {
        "hazard": "collision_risk",
        "area": {"center": {"lat_deg": 34.5, "lon_deg": 38.25}, "radius_nm": 30},
        "altitude": {"lower_ft": 0, "upper_ft": 24000},
        "valid_from": "2026-11-26T10:00:00Z",
        "valid_to": "2026-11-26T10:30:00Z",
        "affected_track_ref": "T-77",
        "recommended_action": "descend",
    }
    m1 = call(
        "A.duty_officer",
        "POST",
        "/v1/hotline/messages",
        {
            "recipient": "Party B",
            "template": "safety_of_flight_warning",
            "fields": sofw,
            "precedence": "flash",
            "subject": "Collision risk",
            "free_text": "two aircraft",
        },
    )
    call("A.duty_officer", "POST", "/v1/hotline/messages", {"recipient": "Party B"})
    call(
        "A.duty_officer",
        "POST",
        "/v1/hotline/messages",
        {"recipient": "Party B", "template": "safety_of_flight_warning", "fields": {}},
    )
    call(
        "A.duty_officer",
        "POST",
        "/v1/hotline/messages",
        {"recipient": "Party C", "template": "safety_of_flight_warning", "fields": sofw},
    )
    m2 = call(
        "A.duty_officer",
        "POST",
        "/v1/hotline/messages",
        {
            "recipient": "Party B",
            "template": "query",
            "fields": {
                "subject": "track_identity",
                "track_ref": "T-77",
                "position": {"lat_deg": -12.5, "lon_deg": -45.125},
                "respond_by": "2026-11-26T10:30:00Z",
            },
            "precedence": "immediate",
            "thread_id": m1["thread_id"],
        },
    )
    call("B.duty_officer", "POST", f"/v1/hotline/messages/{m2['id']}/ack", {"answer": "unable"})
    call("B.duty_officer", "POST", f"/v1/hotline/messages/{m2['id']}/ack", {"answer": "received"})
    call("B.duty_officer", "POST", f"/v1/hotline/messages/{m2['id']}/ack", {"answer": "received"})
    deadline = datetime.fromisoformat(m1["ack_deadline"])
    steps.append(["tick", list(hotline_tick(db, deadline))])
    steps.append(["tick", list(hotline_tick(db, deadline + timedelta(minutes=5)))])
    call(
        "B.duty_officer", "POST", f"/v1/hotline/messages/{m1['id']}/ack", {"answer": "will_comply"}
    )
    call("A.viewer", "GET", f"/v1/hotline/messages/{m1['id']}?lang=ru")
    call("B.viewer", "GET", "/v1/hotline/messages")
    call("A.viewer", "GET", "/v1/hotline/threads")
    call("B.viewer", "GET", "/v1/hotline/channels")
    call("A.duty_officer", "POST", "/v1/hotline/channels/Party B/suspend", {"reason": "drill"})
    call(
        "A.duty_officer",
        "POST",
        "/v1/hotline/messages",
        {"recipient": "Party B", "template": "safety_of_flight_warning", "fields": sofw},
    )
    call("A.duty_officer", "POST", "/v1/hotline/channels/Party B/restore", {"reason": "over"})
    call("B.viewer", "GET", "/v1/hotline/channels/Party A")
    call("A.viewer", "GET", "/v1/hotline/ladder")
    call("A.party_admin", "PUT", "/v1/hotline/ladder", {"steps": [{"target": "x", "after_s": 1}]})
    call(
        "A.party_admin",
        "PUT",
        "/v1/hotline/ladder",
        {"steps": [{"target": "duty_officer", "after_s": 0}]},
    )
    bad_incident = {"category": "airprox", "parties": ["Party B"], "hmd_nm": -1}
    call("A.duty_officer", "POST", "/v1/incidents", bad_incident)
    incident = call(
        "A.duty_officer",
        "POST",
        "/v1/incidents",
        {
            "category": "unsafe_intercept",
            "other_parties": ["Party B"],
            "time_of_event": "2026-01-02T08:14:00Z",
            "position": {"lat_deg": 35.4, "lon_deg": 35.9},
            "hmd_nm": 0.05,
            "vmd_ft": 100,
            "summary": "Intercept within 300 ft",
            "evidence": [
                {
                    "track_ref": "T-12",
                    "points": [
                        {
                            "time": "2026-01-02T08:13:00Z",
                            "lat_deg": 35.4,
                            "lon_deg": 35.9,
                            "alt_ft": 21000,
                        }
                    ],
                }
            ],
        },
    )
    url = f"/v1/incidents/{incident['id']}"
    call("B.duty_officer", "POST", f"{url}/responses", {"statement": "we kept 1 NM"})
    call("A.duty_officer", "POST", f"{url}/close")
    call("B.duty_officer", "POST", f"{url}/reject-closure", {"reason": "facts"})
    call("A.duty_officer", "POST", f"{url}/close")
    call("B.duty_officer", "POST", f"{url}/close")
    call("B.duty_officer", "POST", f"{url}/responses", {"statement": "late"})
    call("C.viewer", "GET", url)
    call("B.viewer", "GET", url)
    call("B.viewer", "GET", "/v1/incidents")

    normalise = Normaliser()
    for name in ("A", "B", "C"):
        normalise(ids[name])  # parties first: stable tokens whatever the scenario does
    record = {"steps": normalise(steps), "events": normalise(events_of(db, ids))}
    check_golden("notices_hotline", record)


# ------------------------------------------------------------------------------ live picture
LAT = 34.0
NM_PER_DEG_LON = float(60.0 * np.cos(np.radians(LAT)))


def tracks(when: datetime, rows: list[tuple[str, float, float, float, float]]) -> dict[str, Any]:
    """rows: (id, lon, alt_ft, gs_kt, track_deg) at latitude :data:`LAT`."""
    return {
        "time": iso(when),
        "id": [r[0] for r in rows],
        "lat": [LAT for _ in rows],
        "lon": [r[1] for r in rows],
        "alt_ft": [r[2] for r in rows],
        "gs_kt": [r[3] for r in rows],
        "track_deg": [r[4] for r in rows],
        "vs_fpm": [0.0 for _ in rows],
        "callsign": [f"CS{r[0]}" for r in rows],
    }


def test_live_path_matches_the_golden_record(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    t0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    ids: dict[str, str] = {}
    with db.write() as s:
        for name in ("BLUE", "RED", "GREEN"):
            ids[name] = parties.create_party(s, name, now=t0).id
        agreements.create_agreement(
            s,
            "BR",
            policy="advisory",
            parties=[ids["BLUE"], ids["RED"]],
            now=t0,
            use_pseudonyms=True,
        )
    try:
        engine = LiveEngine(db, LiveConfig(picture_interval_s=0.0))
        steps: list[Any] = [["recovered", engine.recover(t0)]]
        head_on = 30.0 / NM_PER_DEG_LON
        script = [
            (0, "BLUE", [("b-1", 33.0, 25000, 450, 90), ("b-2", 40.0, 30000, 300, 0)]),
            (0, "RED", [("r-1", 33.0 + head_on, 25000, 450, 270)]),
            (0, "GREEN", [("g-1", 20.0, 25000, 300, 0)]),
            (60, "BLUE", [("b-1", 33.0 + 7.5 / NM_PER_DEG_LON, 25000, 450, 90)]),
            (60, "RED", [("r-1", 33.0 + 22.5 / NM_PER_DEG_LON, 25000, 450, 270)]),
            (120, "BLUE", [("b-1", 33.0 + 15.0 / NM_PER_DEG_LON, 25000, 450, 0)]),
            (120, "RED", [("r-1", 33.0 + 15.0 / NM_PER_DEG_LON, 35000, 450, 180)]),
        ]
        cycles = {0, 60, 120}
        for offset in sorted({o for o, _, _ in script}):
            now = t0 + timedelta(seconds=offset)
            for o, party, rows in script:
                if o != offset:
                    continue
                batch = parse_batch(
                    tracks(now, rows),
                    now_s=now.timestamp(),
                    max_rows=100,
                    max_future_s=10.0,
                    max_past_s=120.0,
                )
                with db.write() as s:
                    steps.append(["ingest", party, engine.ingest(s, ids[party], batch, now)])
            if offset in cycles:
                events = engine.cycle(now)
                steps.append(["cycle", offset, [[e.kind, e.reopened] for e in events]])
                for name in ("BLUE", "RED", "GREEN"):
                    steps.append(["picture", name, engine.picture(ids[name], now)])
            if offset == 60:
                for alert in [a.id for a in engine.core.open_alerts()]:
                    with db.write() as s:
                        view = engine.acknowledge(s, alert, ids["RED"], "key-red", now)
                    steps.append(["ack", view])
        normalise = Normaliser()
        for name in ("BLUE", "RED", "GREEN"):
            normalise(ids[name])
        record = {"steps": normalise(steps), "events": normalise(events_of(db, ids))}
        check_golden("live", record)
    finally:
        db.dispose()
