"""The live API end to end over HTTP: tracks in, alerts on each party's stream, acks, bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from live_testkit import LiveEnv, StreamReader, start_env
from sqlalchemy import func, select, text

from deconflict.live.engine import LiveConfig
from deconflict.store import live_sql
from deconflict.store.base import Database

LAT = 34.0
NM_PER_DEG_LON = 60.0 * np.cos(np.radians(LAT))


def batch(
    when: datetime, rows: list[tuple[str, float, float, float, float, float]]
) -> dict[str, Any]:
    """rows: (id, lat, lon, alt_ft, gs_kt, track_deg)."""
    return {
        "time": when.isoformat().replace("+00:00", "Z"),
        "id": [r[0] for r in rows],
        "lat": [r[1] for r in rows],
        "lon": [r[2] for r in rows],
        "alt_ft": [r[3] for r in rows],
        "gs_kt": [r[4] for r in rows],
        "track_deg": [r[5] for r in rows],
        "vs_fpm": [0.0 for _ in rows],
        "callsign": [f"CS{r[0]}" for r in rows],
    }


@pytest.fixture
def env(tmp_path: Path) -> Iterator[LiveEnv]:
    config = LiveConfig(interval_s=0.2, min_gap_s=0.05, picture_interval_s=0.5)
    e = start_env(tmp_path, ("BLUE", "RED", "GREEN"), config)
    yield e
    e.close()


def test_collision_course_alerts_both_parties_and_not_a_third(env: LiveEnv) -> None:
    streams = {
        p: StreamReader(env.server.url, env.keys[f"{p}.duty_officer"])
        for p in env.keys
        if p.endswith(".duty_officer")
        for p in [p.split(".")[0]]
    }
    now = datetime.now(UTC)
    # Head-on at FL250, 30 NM apart, 450 kt each: loss of separation (5 NM) after 25/900 h = 100 s.
    blue = batch(now, [("b-1", LAT, 33.0, 25000, 450, 90)])
    red = batch(now, [("r-1", LAT, 33.0 + 30.0 / NM_PER_DEG_LON, 25000, 450, 270)])
    assert (
        env.client.post("/v1/tracks", json=blue, headers=env.h("BLUE.duty_officer")).status_code
        == 200
    )
    assert (
        env.client.post("/v1/tracks", json=red, headers=env.h("RED.duty_officer")).status_code
        == 200
    )

    def raised(e: dict[str, Any]) -> bool:
        return e["event"] == "alert" and e["data"]["event"] == "raised"

    blue_event = streams["BLUE"].wait_for(raised)
    red_event = streams["RED"].wait_for(raised)
    alert_b, alert_r = blue_event["data"]["alert"], red_event["data"]["alert"]
    assert alert_b["id"] == alert_r["id"]
    assert alert_b["kind"] == "conflict" and alert_b["severity"] == "warning"
    raised_at = datetime.fromisoformat(alert_b["raised_at"].replace("Z", "+00:00"))
    expected = 100.0 - (raised_at - now).total_seconds()
    assert alert_b["t_in_s"] == pytest.approx(expected, abs=1.5)
    assert alert_b["hmd_nm"] == pytest.approx(0.0, abs=0.2)
    # Each side sees its own aircraft id and only a handle for the other.
    assert alert_b["own"] == [{"role": "aircraft", "id": "b-1"}]
    assert alert_r["own"] == [{"role": "aircraft", "id": "r-1"}]
    assert "r-1" not in json.dumps(blue_event) and "b-1" not in json.dumps(red_event)
    # One alert per party: a single raise on each stream.
    time.sleep(1.5)
    assert len([e for e in streams["BLUE"].events if raised(e)]) == 1
    assert len([e for e in streams["RED"].events if raised(e)]) == 1
    assert streams["GREEN"].of_kind("alert") == []
    green_text = json.dumps(streams["GREEN"].events)
    assert "b-1" not in green_text and "r-1" not in green_text
    # The picture carries the other party's aircraft by handle only, while the alert is open.
    pic = env.client.get("/v1/picture", headers=env.h("BLUE.viewer")).json()
    assert [a["id"] for a in pic["own"]] == ["b-1"]
    assert len(pic["traffic"]) == 1 and pic["traffic"][0]["handle"].startswith(alert_b["id"])
    assert "r-1" not in json.dumps(pic) and "CSr-1" not in json.dumps(pic)
    green_pic = env.client.get("/v1/picture", headers=env.h("GREEN.viewer")).json()
    assert green_pic["own"] == [] and green_pic["traffic"] == []

    # Acknowledge on BLUE's side only.
    alert_id = alert_b["id"]
    assert (
        env.client.post(f"/v1/alerts/{alert_id}/ack", headers=env.h("BLUE.viewer")).status_code
        == 403
    )
    assert (
        env.client.post(
            f"/v1/alerts/{alert_id}/ack", headers=env.h("GREEN.duty_officer")
        ).status_code
        == 404
    )
    acked = env.client.post(f"/v1/alerts/{alert_id}/ack", headers=env.h("BLUE.duty_officer"))
    assert acked.status_code == 200 and acked.json()["acknowledged"] is True
    streams["BLUE"].wait_for(
        lambda e: e["event"] == "alert" and e["data"]["event"] == "acknowledged"
    )
    blue_list = env.client.get("/v1/alerts", headers=env.h("BLUE.viewer")).json()
    red_list = env.client.get("/v1/alerts", headers=env.h("RED.viewer")).json()
    assert [a["acknowledged"] for a in blue_list if a["id"] == alert_id] == [True]
    assert [a["acknowledged"] for a in red_list if a["id"] == alert_id] == [False]
    time.sleep(1.0)
    assert not [e for e in streams["RED"].of_kind("alert") if e["data"]["event"] == "acknowledged"]
    assert env.client.get("/v1/alerts", headers=env.h("GREEN.viewer")).json() == []
    # Evidence: raise and acknowledgement are in the ledger, each entry openable by one party.
    db = Database(env.db_url)
    try:
        with db.read() as session:
            rows = session.execute(
                text(
                    "SELECT e.kind, p.party_id FROM ledger_entries e "
                    "JOIN ledger_entry_parties p ON p.idx = e.idx WHERE e.kind LIKE 'alert.%'"
                )
            ).all()
    finally:
        db.dispose()
    ids = env.party_ids
    assert ("alert.raised", ids["BLUE"]) in rows and ("alert.raised", ids["RED"]) in rows
    assert ("alert.acknowledged", ids["BLUE"]) in rows
    assert ("alert.acknowledged", ids["RED"]) not in rows
    assert all(party != ids["GREEN"] for _, party in rows)
    for s in streams.values():
        s.stop()


def _history_count(env: LiveEnv) -> int:
    db = Database(env.db_url)
    try:
        with db.read() as s:
            return int(
                s.execute(select(func.count()).select_from(live_sql.track_history)).scalar() or 0
            )
    finally:
        db.dispose()


def test_bad_batches_are_refused_and_store_nothing(env: LiveEnv) -> None:
    now = datetime.now(UTC)
    ok = batch(now, [("b-1", LAT, 33.0, 25000, 450, 90), ("b-2", LAT, 33.5, 25000, 450, 90)])
    assert (
        env.client.post("/v1/tracks", json=ok, headers=env.h("BLUE.duty_officer")).status_code
        == 200
    )
    assert (
        env.client.post(
            "/v1/tracks",
            json=batch(now, [("r-1", LAT, 34.0, 20000, 400, 0)]),
            headers=env.h("RED.duty_officer"),
        ).status_code
        == 200
    )
    before = _history_count(env)
    assert before == 3

    def post(body: Any, who: str = "BLUE.duty_officer", raw: str | None = None) -> Any:
        headers = {**env.h(who), "Content-Type": "application/json"}
        content = raw if raw is not None else json.dumps(body)
        return env.client.post("/v1/tracks", content=content, headers=headers)

    nan = batch(now, [("b-3", LAT, 33.0, 25000, 450, 90), ("b-4", LAT, 33.1, 25000, 450, 90)])
    raw_nan = json.dumps(nan).replace("33.1", "NaN")
    r = post(None, raw=raw_nan)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "lon"
    future = batch(now + timedelta(hours=1), [("b-3", LAT, 33.0, 25000, 450, 90)])
    assert post(future).status_code == 422
    past = batch(now - timedelta(days=1), [("b-3", LAT, 33.0, 25000, 450, 90)])
    assert post(past).status_code == 422
    stolen = batch(now, [("b-3", LAT, 33.0, 25000, 450, 90), ("r-1", LAT, 34.0, 20000, 400, 0)])
    r = post(stolen)
    assert r.status_code == 403 and "r-1" in r.json()["detail"]
    big_rows = [
        (f"x-{k}", LAT, 33.0, 25000, 450, 90) for k in range(env.engine.config.max_batch_rows + 1)
    ]
    assert post(batch(now, big_rows)).status_code == 413
    out_of_range = batch(now, [("b-3", 91.0, 33.0, 25000, 450, 90)])
    assert post(out_of_range).status_code == 422
    ragged = batch(now, [("b-3", LAT, 33.0, 25000, 450, 90)])
    ragged["lat"] = [LAT, LAT]
    assert post(ragged).status_code == 422
    assert post(ok, who="BLUE.viewer").status_code == 403
    # Nothing of any refused batch was stored or became visible.
    assert _history_count(env) == before
    own = env.client.get("/v1/picture", headers=env.h("BLUE.viewer")).json()["own"]
    assert sorted(a["id"] for a in own) == ["b-1", "b-2"]
    red_own = env.client.get("/v1/picture", headers=env.h("RED.viewer")).json()["own"]
    assert [a["id"] for a in red_own] == ["r-1"]


def test_stale_tracks_leave_detection_and_are_flagged(tmp_path: Path) -> None:
    config = LiveConfig(interval_s=0.2, min_gap_s=0.05, stale_after_s=5.0)
    env = start_env(tmp_path, ("BLUE", "RED"), config)
    try:
        old = datetime.now(UTC) - timedelta(seconds=20)
        assert (
            env.client.post(
                "/v1/tracks",
                json=batch(old, [("b-1", LAT, 33.0, 25000, 450, 90)]),
                headers=env.h("BLUE.duty_officer"),
            ).status_code
            == 200
        )
        now = datetime.now(UTC)
        red = batch(now, [("r-1", LAT, 33.0 + 0.5 / NM_PER_DEG_LON, 25000, 450, 270)])
        assert (
            env.client.post("/v1/tracks", json=red, headers=env.h("RED.duty_officer")).status_code
            == 200
        )
        env.engine.cycle()
        own = env.client.get("/v1/picture", headers=env.h("BLUE.viewer")).json()["own"]
        assert own[0]["id"] == "b-1" and own[0]["stale"] is True
        assert env.client.get("/v1/alerts", headers=env.h("BLUE.viewer")).json() == []
    finally:
        env.close()


def test_live_tables_match_the_migration(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from deconflict.store.base import metadata
    from deconflict.store.migrate import upgrade

    url = f"sqlite:///{(tmp_path / 'm.sqlite3').as_posix()}"
    upgrade(url)
    db = Database(url)
    ours = {"live_aircraft", "track_history", "live_alerts", "live_alert_parties"}
    try:
        with db.write_engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        db.dispose()

    def table_of(diff: Any) -> str | None:
        item = diff[1] if isinstance(diff, tuple) else diff[0][1]
        table = getattr(item, "table", None)
        name = getattr(item, "name", None)
        return str(table.name) if table is not None else (str(name) if name else None)

    assert [d for d in diffs if table_of(d) in ours] == []


def test_reconnect_with_last_event_id_gets_missed_alerts_exactly_once(env: LiveEnv) -> None:
    now = datetime.now(UTC)
    first = StreamReader(env.server.url, env.keys["BLUE.duty_officer"])
    env.client.post(
        "/v1/tracks",
        json=batch(now, [("b-1", LAT, 33.0, 25000, 450, 90)]),
        headers=env.h("BLUE.duty_officer"),
    )
    env.client.post(
        "/v1/tracks",
        json=batch(now, [("r-1", LAT, 33.0 + 30.0 / NM_PER_DEG_LON, 25000, 450, 270)]),
        headers=env.h("RED.duty_officer"),
    )
    first.wait_for(lambda e: e["event"] == "alert" and e["data"]["event"] == "raised")
    first.stop()
    time.sleep(1.2)  # the reader leaves at its next line (heartbeat 0.5 s)
    seen = [e["id"] for e in first.events]
    last = max(seen)
    # While BLUE is disconnected, a second conflict is raised.
    later = datetime.now(UTC)
    env.client.post(
        "/v1/tracks",
        json=batch(later, [("b-2", LAT + 1, 33.0, 30000, 450, 90)]),
        headers=env.h("BLUE.duty_officer"),
    )
    env.client.post(
        "/v1/tracks",
        json=batch(later, [("r-2", LAT + 1, 33.0 + 30.0 / NM_PER_DEG_LON, 30000, 450, 270)]),
        headers=env.h("RED.duty_officer"),
    )
    red = StreamReader(env.server.url, env.keys["RED.duty_officer"])
    red.wait_for(
        lambda e: (
            e["event"] == "alert"
            and e["data"]["alert"]["own"] == [{"role": "aircraft", "id": "r-2"}]
        )
    )
    second = StreamReader(env.server.url, env.keys["BLUE.duty_officer"], last_event_id=last)
    missed = second.wait_for(
        lambda e: (
            e["event"] == "alert"
            and e["data"]["event"] == "raised"
            and e["data"]["alert"]["own"] == [{"role": "aircraft", "id": "b-2"}]
        )
    )
    time.sleep(1.0)
    again = [e["id"] for e in second.events]
    assert missed["id"] > last
    assert not set(again) & set(seen), "an event was delivered twice"
    assert again == sorted(again) and len(again) == len(set(again))
    raised_b2 = [
        e
        for e in second.events
        if e["event"] == "alert"
        and e["data"]["event"] == "raised"
        and e["data"]["alert"]["own"] == [{"role": "aircraft", "id": "b-2"}]
    ]
    assert len(raised_b2) == 1
    for s in (second, red):
        s.stop()


def test_history_is_kept_for_the_retention_then_pruned(tmp_path: Path) -> None:
    config = LiveConfig(interval_s=3600.0, min_gap_s=3600.0, history_retention_s=30.0)
    env = start_env(tmp_path, ("BLUE",), config)
    try:
        now = datetime.now(UTC)
        body = batch(now, [("b-1", LAT, 33.0, 25000, 450, 90), ("b-2", LAT, 33.2, 25000, 450, 90)])
        assert (
            env.client.post("/v1/tracks", json=body, headers=env.h("BLUE.duty_officer")).status_code
            == 200
        )
        env.engine._last_prune = 0.0
        env.engine.cycle(now + timedelta(seconds=10))
        assert _history_count(env) == 2  # younger than the retention: kept
        env.engine._last_prune = 0.0
        env.engine.cycle(now + timedelta(seconds=31))
        assert _history_count(env) == 0
    finally:
        env.close()
