"""Need-to-know picture: leak tests (deconflict.live.picture)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.live.alerts import AlertTracker, Observation, Subject
from deconflict.live.picture import alert_view, visible_picture
from deconflict.live.tracks import TrackStates

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
PARTIES = ("BLUE", "RED", "GREEN")


def make_states(n_per_party: int, lat_base: float) -> TrackStates:
    ids, parties, callsigns = [], [], []
    for p in PARTIES:
        for k in range(n_per_party):
            ids.append(f"SECRETID{p}{k:03d}")
            parties.append(p)
            callsigns.append(f"SECRETCS{p}{k:03d}")
    n = len(ids)
    return TrackStates.from_columns(
        {
            "ids": ids,
            "party": parties,
            "callsign": callsigns,
            "lat_deg": [lat_base + 0.01 * k for k in range(n)],
            "lon_deg": [33.0 + 0.013 * k for k in range(n)],
            "alt_ft": [20000 + 100 * k for k in range(n)],
            "gs_kt": [400 + k for k in range(n)],
            "track_deg": [float(k % 360) for k in range(n)],
            "vs_fpm": [0.0] * n,
            "time_s": [NOW.timestamp()] * n,
        }
    )


@settings(max_examples=80, deadline=None)
@given(
    n_per_party=st.integers(1, 6),
    pairs=st.lists(st.tuples(st.integers(0, 17), st.integers(0, 17)), max_size=12),
    closed=st.sets(st.integers(0, 11), max_size=6),
    viewer=st.sampled_from(PARTIES),
    lat_base=st.floats(30.0, 36.0),
)
def test_nothing_undisclosed_leaks(
    n_per_party: int,
    pairs: list[tuple[int, int]],
    closed: set[int],
    viewer: str,
    lat_base: float,
) -> None:
    states = make_states(n_per_party, lat_base)
    n = len(states)
    tracker = AlertTracker()
    observations = []
    for a, b in pairs:
        i, j = a % n, b % n
        if states.party[i] == states.party[j]:
            continue
        ida, idb = sorted([str(states.ids[i]), str(states.ids[j])])
        pa = str(states.party[list(states.ids).index(ida)])
        pb = str(states.party[list(states.ids).index(idb)])
        observations.append(
            Observation(
                kind="conflict",
                key=("conflict", ida, idb),
                parties=tuple(sorted({pa, pb})),
                subjects=(Subject("aircraft", pa, ida), Subject("aircraft", pb, idb)),
                t_in_s=60.0,
                metrics={"hmd_nm": 1.0, "vmd_ft": 200.0},
            )
        )
    tracker.observe(observations, NOW)
    alerts = tracker.open_alerts()
    # Resolve some alerts: they must stop disclosing anything.
    from dataclasses import replace

    alerts = [replace(a, state="resolved") if k in closed else a for k, a in enumerate(alerts)]
    picture = visible_picture(states, alerts, viewer, NOW)
    text = json.dumps(picture)
    disclosed: set[int] = set()
    for alert in alerts:
        if alert.is_open and viewer in alert.parties:
            for s in alert.subjects:
                disclosed.add(list(states.ids).index(s.ref))
    for i in range(n):
        if states.party[i] == viewer:
            assert str(states.ids[i]) in text and str(states.callsign[i]) in text
            continue
        # Never a foreign id or callsign, disclosed or not.
        assert str(states.ids[i]) not in text
        assert str(states.callsign[i]) not in text
        position = [states.lat_deg[i], states.lon_deg[i]]
        shown = any(
            [t["lat"], t["lon"]] == [round(position[0], 6), round(position[1], 6)]
            for t in picture["traffic"]
        )
        assert shown == (i in disclosed)
    for t in picture["traffic"]:
        assert set(t) == {
            "handle",
            "alert_id",
            "party",
            "lat",
            "lon",
            "alt_ft",
            "gs_kt",
            "track_deg",
            "vs_fpm",
            "t_in_s",
            "hmd_nm",
            "vmd_ft",
        }
    for view in picture["alerts"]:
        assert viewer in view["parties"]


def test_alert_view_hides_foreign_refs_and_shows_own_ack_only() -> None:
    tracker = AlertTracker()
    obs = Observation(
        kind="incursion",
        key=("incursion", "blue-7", "volume", "RED/orbit-secret"),
        parties=("BLUE", "RED"),
        subjects=(
            Subject("aircraft", "BLUE", "blue-7"),
            Subject("volume", "RED", "RED/orbit-secret"),
        ),
        t_in_s=42.0,
    )
    alert = tracker.observe([obs], NOW)[0].alert
    tracker.acknowledge(alert.id, "RED", NOW)
    alert = tracker.get(alert.id)
    blue = alert_view(alert, "BLUE")
    red = alert_view(alert, "RED")
    assert "RED/orbit-secret" not in json.dumps(blue)
    assert "blue-7" not in json.dumps(red)
    assert blue["own"] == [{"role": "aircraft", "id": "blue-7"}]
    assert red["own"] == [{"role": "volume", "key": "RED/orbit-secret"}]
    assert blue["acknowledged"] is False and red["acknowledged"] is True
    assert blue["severity"] == "warning" and blue["t_in_s"] == 42.0
