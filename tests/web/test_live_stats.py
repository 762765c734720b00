"""``GET /v1/admin/live/stats``: the operator's view of the live engine's cycles reflects a cycle
that detected one conflict; ``/ready`` reports the last cycle's duration too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from broker_testkit import BrokerEnv

from deconflict.broker.live import LiveEngine


def _pair() -> list[tuple[str, dict[str, Any]]]:
    """A head-on pair of parties A and B at FL350 on the equator, 20 NM apart."""
    stamp = datetime.now(UTC).timestamp()
    out = []
    for party, lon, track in (("A", 10.0, 90.0), ("B", 10.0 + 20.0 / 60.0, 270.0)):
        body = {
            "time": stamp,
            "id": [f"stats-{party.lower()}"],
            "lat": [0.0],
            "lon": [lon],
            "alt_ft": [35000.0],
            "gs_kt": [450.0],
            "track_deg": [track],
            "vs_fpm": [0.0],
        }
        out.append((party, body))
    return out


@pytest.mark.parametrize("migrated_url", ["sqlite"], indirect=True)
def test_live_stats_reflect_a_cycle(env: BrokerEnv) -> None:
    c = env.client
    before = c.get("/v1/admin/live/stats", headers=env.h("operator"))
    assert before.status_code == 200, before.text
    first = before.json()
    assert first["role"] == "single" and first["detector"] == "thread"
    assert first["aircraft"] == 0 and first["conflicts"] == 0 and first["open_alerts"] == 0
    for party, body in _pair():
        r = c.post("/v1/tracks", json=body, headers=env.h(f"{party}.duty_officer"))
        assert r.status_code == 200, r.text
    engine: LiveEngine = c.app.state.live_engine  # type: ignore[attr-defined]
    events = engine.cycle()  # the background loop may run cycles too: same states, same figures
    assert events == [] or [e.kind for e in events] == ["raised"]
    stats = c.get("/v1/admin/live/stats", headers=env.h("operator")).json()
    assert stats["cycles"] >= first["cycles"] + 1
    assert stats["aircraft"] == 2 and stats["live_aircraft"] == 2
    assert stats["conflicts"] == 1
    assert stats["open_alerts"] == 1 and stats["open_by_kind"] == {"conflict": 1}
    assert stats["raised_total"] == 1 and stats["takeovers"] == 0
    recent = stats["recent_cycle_s"]
    assert len(recent) == min(stats["cycles"], 256) >= 1
    assert recent[-1] == stats["last_cycle_s"] and all(0 < s < 60 for s in recent)
    ready = c.get("/ready").json()
    assert ready["cycles"] >= stats["cycles"] and ready["last_cycle_s"] > 0
    # aggregates only: no aircraft id, party id or alert id anywhere in the body
    text = c.get("/v1/admin/live/stats", headers=env.h("operator")).text
    assert "stats-a" not in text and env.party_ids["A"] not in text
