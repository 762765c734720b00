"""Three ``deconflict serve`` replicas on one real PostgreSQL database (issue 14).

BLUE reports to the replica that won the lease (the leader), RED to a follower: their head-on
conflict raises exactly one alert, delivered on every replica's streams of both parties. The
streams re-read the outbox only every 30 s here (poll and heartbeat), so delivery within
seconds on the replicas that did not run the cycle proves the LISTEN/NOTIFY wake-up. BLUE
acknowledges on a follower (database path), RED on the leader (tracker path). Then the leader
is killed with SIGKILL: exactly one of the two followers leads within 5 s, continues the same
alert id (no second ``raised``, no new id), keeps both acknowledgements, and BLUE's ledger
export verifies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from live_testkit import StreamReader, free_port, head_on_state, seed_parties, wait_until

from deconflict.broker import audit
from deconflict.ledger.bundle import verify_bundle

pytestmark = pytest.mark.pg

LAT = 34.0
NM_PER_DEG_LON = float(60.0 * np.cos(np.radians(LAT)))
DECONFLICT = str(Path(sys.executable).with_name("deconflict"))
START_S = 120.0
"""Bound on the replicas' start-up (imports and the cached kernel load take ~5 s of CPU each:
~8 s for three on an idle 2-core machine, several times that while other jobs load it)."""


class Replica:
    """One ``deconflict serve`` process on a free loopback port."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DECONFLICT_DATA_DIR": str(data_dir),
            "DECONFLICT_DETECTION_INTERVAL_S": "0.5",
            "DECONFLICT_SSE_POLL_S": "30",
            "DECONFLICT_SSE_HEARTBEAT_S": "30",
        }
        self.proc = subprocess.Popen(
            [DECONFLICT, "serve", "--db", url, "--port", str(self.port), "--log-level", "warning"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def ready(self) -> dict[str, Any] | None:
        try:
            r = httpx.get(f"{self.base}/ready", timeout=2.0)
        except httpx.HTTPError:
            return None
        body: dict[str, Any] = r.json()
        return body if r.status_code == 200 else None

    def wait_role(self, role: str, timeout_s: float) -> float:
        """Monotonic time at which ``/ready`` first reported ``role`` (fails after timeout)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            body = self.ready()
            if body is not None and body["role"] == role:
                return time.monotonic()
            assert self.proc.poll() is None, "replica exited"
            time.sleep(0.05)
        raise AssertionError(f"{self.base} not {role} within {timeout_s} s: {self.ready()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def batch(aircraft: str, lon: float, track_deg: float) -> dict[str, Any]:
    """One state now at (LAT, ``lon``), FL250, 450 kt."""
    return head_on_state(aircraft, LAT, lon, track_deg)


@pytest.fixture
def cluster(fresh_pg_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    _, seeded = seed_parties(fresh_pg_url, ("BLUE", "RED"))
    keys = {name: seeded[f"{name}.duty_officer"] for name in ("BLUE", "RED")}
    audit.load_or_create_signer(tmp_path)  # the ledger key every replica shares
    replicas = [Replica(fresh_pg_url, tmp_path) for _ in range(3)]  # started together
    try:
        deadline = time.monotonic() + START_S
        roles: list[str] = []
        while time.monotonic() < deadline:
            bodies = [r.ready() for r in replicas]
            roles = sorted(b["role"] if b else "starting" for b in bodies)
            if roles == ["follower", "follower", "leader"]:
                break
            assert all(r.proc.poll() is None for r in replicas), "a replica exited"
            time.sleep(0.1)
        assert roles == ["follower", "follower", "leader"], roles
        replicas.sort(key=lambda r: (r.ready() or {}).get("role") != "leader")
        yield {"replicas": replicas, "keys": keys, "data_dir": tmp_path}
    finally:
        for r in replicas:
            r.stop()


def test_three_replicas_one_alert_everywhere_and_failover_keeps_ids(
    cluster: dict[str, Any],
) -> None:
    leader, follower, third = cluster["replicas"]
    keys = cluster["keys"]
    h = {name: {"Authorization": f"Bearer {k}"} for name, k in keys.items()}
    streams = {
        (name, k): StreamReader(r.base, keys[name], timeout_s=30.0)
        for name in ("BLUE", "RED")
        for k, r in enumerate((leader, follower, third))
    }
    for s in streams.values():
        assert s.connected.wait(10.0)
    head_on = 30.0 / NM_PER_DEG_LON
    with httpx.Client(timeout=10.0) as http:

        def report(blue_to: Replica, red_to: Replica) -> None:
            r = http.post(
                f"{blue_to.base}/v1/tracks", json=batch("b-1", 33.0, 90), headers=h["BLUE"]
            )
            assert r.status_code == 200, r.text
            r = http.post(
                f"{red_to.base}/v1/tracks",
                json=batch("r-1", 33.0 + head_on, 270),
                headers=h["RED"],
            )
            assert r.status_code == 200, r.text

        report(leader, follower)
        # exactly one alert, on both replicas' streams of both parties
        wait_until(
            lambda: all(s.alerts() for s in streams.values()), 10.0, "the alert on all streams"
        )
        raised = {
            key: [a["alert"]["id"] for a in s.alerts() if a["event"] == "raised"]
            for key, s in streams.items()
        }
        ids = {i for got in raised.values() for i in got}
        assert len(ids) == 1 and all(len(got) == 1 for got in raised.values()), raised
        (alert_id,) = ids
        # the follower's picture shows the leader's alert and both aircraft's owners' views
        pic = http.get(f"{follower.base}/v1/picture", headers=h["BLUE"]).json()
        assert [a["id"] for a in pic["alerts"]] == [alert_id]

        # acknowledgements: BLUE on the follower (database), RED on the leader (tracker)
        r = http.post(f"{follower.base}/v1/alerts/{alert_id}/ack", headers=h["BLUE"])
        assert r.status_code == 200 and r.json()["acknowledged"], r.text
        r = http.post(f"{leader.base}/v1/alerts/{alert_id}/ack", headers=h["RED"])
        assert r.status_code == 200 and r.json()["acknowledged"], r.text
        time.sleep(1.2)  # two leader cycles: the follower's acknowledgement is merged

        killed_at = time.monotonic()
        os.kill(leader.proc.pid, signal.SIGKILL)
        leader.proc.wait(timeout=10)
        new_leader: Replica | None = None
        while new_leader is None and time.monotonic() - killed_at < 5.0:
            roles = {r: (r.ready() or {}).get("role") for r in (follower, third)}
            new_leader = next((r for r, role in roles.items() if role == "leader"), None)
            time.sleep(0.05)
        assert new_leader is not None, "no follower took over within 5 s"
        other = third if new_leader is follower else follower
        for _ in range(4):  # the new leader keeps seeing the conflict for a few cycles
            report(new_leader, other)
            time.sleep(0.5)

        open_alerts = {
            (r.base, name): http.get(f"{r.base}/v1/alerts?state=open", headers=h[name]).json()
            for r in (new_leader, other)
            for name in ("BLUE", "RED")
        }
        for where, got in open_alerts.items():
            assert [a["id"] for a in got] == [alert_id], (where, got)
            assert got[0]["acknowledged"] is True, (where, got)  # no acknowledgement lost
        for key, s in streams.items():
            assert {a["alert"]["id"] for a in s.alerts()} == {alert_id}, key
            assert sum(a["event"] == "raised" for a in s.alerts()) == 1, key

        assert (other.ready() or {}).get("role") == "follower"  # exactly one leader
        bundle = http.get(f"{other.base}/v1/ledger/export", headers=h["BLUE"]).json()
        log_key = audit.load_or_create_signer(cluster["data_dir"]).verifier  # the shared key
        report_ = verify_bundle(bundle, log_keys=[log_key])
        assert report_.ok, [c for c in report_.checks if not c.ok]
        assert any("alert.raised" in json.dumps(e) for e in bundle["entries"])
    for s in streams.values():
        s.stop()
