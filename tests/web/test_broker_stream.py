"""The event stream (SSE) against a real server: per-party delivery, replay, live wake-ups."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
from broker_testkit import BrokerEnv, LiveServer, circle, notice


def read_events(
    url: str, headers: dict[str, str], want: int, *, timeout_s: float = 20.0
) -> list[dict[str, Any]]:
    """Read ``want`` events (id, event, data) from an SSE endpoint."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with (
        httpx.Client(timeout=timeout_s) as client,
        client.stream("GET", url, headers=headers) as r,
    ):
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line == "":
                if "id" in current:
                    events.append(current)
                    if len(events) >= want:
                        return events
                current = {}
            elif line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("event: "):
                current["event"] = line[7:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
    return events


def test_stream_replays_after_last_event_id_then_goes_live(env: BrokerEnv) -> None:
    env.client.post("/v1/notices", json=notice(circle(7.0, 7.0)), headers=env.h("A.duty_officer"))
    env.client.post("/v1/notices", json=notice(circle(7.0, 7.0)), headers=env.h("B.duty_officer"))
    with LiveServer(env.settings) as srv:
        url = f"{srv.base_url}/v1/stream?last_event_id=0"
        first = read_events(url, env.h("A.viewer"), 2)
        kinds = [e["event"] for e in first]
        assert kinds == ["notice", "conflict"]
        assert first[1]["data"]["counterpart"] == "Party B"
        # resume after the first event with the header: exactly the second one, then live
        got: list[dict[str, Any]] = []

        def reader() -> None:
            got.extend(
                read_events(
                    f"{srv.base_url}/v1/stream",
                    {**env.h("A.viewer"), "Last-Event-ID": str(first[0]["id"])},
                    3,
                )
            )

        t = threading.Thread(target=reader)
        t.start()
        time.sleep(0.5)
        with httpx.Client(base_url=srv.base_url) as c:
            r = c.post(
                "/v1/notices", json=notice(circle(50.0, 7.0)), headers=env.h("A.duty_officer")
            )
            assert r.status_code == 201
        t.join(timeout=20)
        assert got[0]["id"] == first[1]["id"]
        # the hotline thread the broker opened for the advisory conflict, then the live notice
        assert got[1]["event"] == "message" and got[1]["data"]["type"] == "message"
        assert got[2]["event"] == "notice" and got[2]["data"]["id"] == r.json()["id"]
        # B's stream never carries A's own notice events; access_token works for EventSource
        b_events = read_events(
            f"{srv.base_url}/v1/stream?last_event_id=0&access_token={env.keys['B.viewer']}",
            {},
            3,
        )
        assert all(e["data"].get("id") != r.json()["id"] for e in b_events)
        assert {e["event"] for e in b_events} == {"notice", "conflict", "message"}


def test_stream_refuses_operator_and_bad_last_event_id(env: BrokerEnv) -> None:
    r = env.client.get("/v1/stream", headers=env.h("operator"))
    assert r.status_code == 403
    r = env.client.get("/v1/stream", headers={**env.h("A.viewer"), "Last-Event-ID": "abc"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "header.Last-Event-ID"
    r = env.client.get("/v1/stream?access_token=dk_000000000000_" + "x" * 43)
    assert r.status_code == 401
