"""Conformance and incursion checks (deconflict.live.conformance)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.errors import InvalidInputError
from deconflict.live.conformance import (
    AgreedLine,
    ConformanceMonitor,
    ConformancePolicy,
    PartyVolume,
    find_incursions,
    volume_entry_times,
)
from deconflict.live.tracks import TrackStates
from volume_reference import JsonVolume

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
POLICY = ConformancePolicy()


def circle(
    lon: float,
    lat: float,
    radius_nm: float,
    lower_fl: int = 0,
    upper_fl: int = 400,
    start: datetime = NOW - timedelta(hours=1),
    end: datetime = NOW + timedelta(hours=2),
) -> dict[str, Any]:
    return {
        "id": "c",
        "footprint": {"type": "circle", "center": [lon, lat], "radius_nm": radius_nm},
        "altitude": {"lower": lower_fl, "upper": upper_fl, "reference": "fl"},
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": end.isoformat().replace("+00:00", "Z"),
    }


def states(rows: list[tuple[str, str, float, float, float, float, float, float]]) -> TrackStates:
    return TrackStates.from_columns(
        {
            "ids": [r[0] for r in rows],
            "party": [r[1] for r in rows],
            "lat_deg": [r[2] for r in rows],
            "lon_deg": [r[3] for r in rows],
            "alt_ft": [r[4] for r in rows],
            "gs_kt": [r[5] for r in rows],
            "track_deg": [r[6] for r in rows],
            "vs_fpm": [r[7] for r in rows],
            "time_s": [NOW.timestamp()] * len(rows),
        }
    )


def test_entry_time_into_circle_matches_geometry() -> None:
    lat = 34.0
    nm_per_deg_lon = 60.0 * np.cos(np.radians(lat))
    # RED circle of 10 NM; a BLUE track 30 NM west heading east at 360 kt -> 20 NM / 6 NM/min.
    red = PartyVolume.from_json("RED/v1", "RED", circle(35.0, lat, 10.0), POLICY)
    s = states([("b1", "BLUE", lat, 35.0 - 30.0 / nm_per_deg_lon, 25000, 360, 90, 0)])
    incs = find_incursions(s, [red], [], NOW)
    assert len(incs) == 1
    assert incs[0].target_key == "RED/v1" and incs[0].target_parties == ("RED",)
    assert incs[0].t_entry_s == pytest.approx(200.0, abs=1.5)
    # Flying away: nothing; own party's volume: not an incursion.
    away = states([("b1", "BLUE", lat, 35.0 - 30.0 / nm_per_deg_lon, 25000, 360, 270, 0)])
    assert find_incursions(away, [red], [], NOW) == []
    own = states([("r1", "RED", lat, 35.0, 25000, 360, 90, 0)])
    assert find_incursions(own, [red], [], NOW) == []


def test_inside_now_is_entry_zero_and_altitude_band_respected() -> None:
    red = PartyVolume.from_json("RED/v1", "RED", circle(35.0, 34.0, 10.0, 100, 200), POLICY)
    s = states(
        [
            ("in", "BLUE", 34.0, 35.0, 15000, 300, 0, 0),
            ("above", "BLUE", 34.0, 35.0, 25000, 300, 0, 0),
            ("descending", "BLUE", 34.0, 35.0, 22000, 300, 0, -2000),
        ]
    )
    times = volume_entry_times(s, red.exact, NOW, POLICY)
    assert times[0] == 0.0
    assert np.isinf(times[1])
    # 2,000 ft above the band at 2,000 ft/min: enters after 60 s.
    assert times[2] == pytest.approx(60.0, abs=0.2)


def test_inactive_volume_is_ignored_until_it_activates() -> None:
    later = circle(35.0, 34.0, 10.0, start=NOW + timedelta(seconds=100))
    red = PartyVolume.from_json("RED/v1", "RED", later, POLICY)
    s = states([("b1", "BLUE", 34.0, 35.0, 15000, 0, 0, 0)])
    times = volume_entry_times(s, red.exact, NOW, POLICY)
    assert times[0] == pytest.approx(100.0, abs=POLICY.sample_s)


LINE = AgreedLine.from_json(
    {
        "id": "L1",
        "coordinates": [[35.15, 36.0], [35.15, 35.0], [34.95, 34.4]],
        "sides": {"BLUE": "right", "RED": "left"},  # walking south: west is right
    }
)


def test_line_crossing_predicted_and_current() -> None:
    lat = 35.5
    nm_deg = 60.0 * np.cos(np.radians(lat))
    s = states(
        [
            ("b-toward", "BLUE", lat, 35.15 - 12.0 / nm_deg, 25000, 360, 90, 0),
            ("b-across", "BLUE", lat, 35.15 + 3.0 / nm_deg, 25000, 360, 0, 0),
            ("b-parallel", "BLUE", lat, 35.15 - 2.0 / nm_deg, 25000, 440, 0, 0),
            ("r-home", "RED", lat, 35.15 + 5.0 / nm_deg, 25000, 440, 180, 0),
            ("civil", "CIVIL", lat, 35.15 - 1.0 / nm_deg, 35000, 450, 90, 0),
        ]
    )
    incs = {i.track_id: i for i in find_incursions(s, [], [LINE], NOW)}
    assert set(incs) == {"b-toward", "b-across"}
    assert incs["b-toward"].t_entry_s == pytest.approx(120.0, abs=1.0)
    assert incs["b-across"].t_entry_s == 0.0
    assert incs["b-across"].target_parties == ("RED",)


def test_line_side_at_interior_vertex() -> None:
    # Just west of the bend at (35.15, 35.0): BLUE side; just east: RED side.
    s = states(
        [
            ("w", "BLUE", 35.0, 35.10, 25000, 0, 0, 0),
            ("e", "BLUE", 35.0, 35.20, 25000, 0, 0, 0),
        ]
    )
    ids = {i.track_id for i in find_incursions(s, [], [LINE], NOW)}
    assert ids == {"e"}


def test_line_requires_valid_sides() -> None:
    with pytest.raises(InvalidInputError):
        AgreedLine.from_json({"id": "x", "coordinates": [[0, 0], [1, 1]], "sides": {"A": "up"}})


def test_nonconformance_after_time_threshold_and_tolerance() -> None:
    policy = ConformancePolicy(lateral_tolerance_nm=1.0, nonconforming_after_s=30.0)
    blue = PartyVolume.from_json("BLUE/v1", "BLUE", circle(33.0, 34.0, 10.0), policy)
    nm_deg = 60.0 * np.cos(np.radians(34.0))
    monitor = ConformanceMonitor(policy)
    s = states(
        [
            ("inside", "BLUE", 34.0, 33.0, 20000, 300, 0, 0),
            ("in-tolerance", "BLUE", 34.0, 33.0 + 10.5 / nm_deg, 20000, 300, 0, 0),
            ("outside", "BLUE", 34.0, 33.0 + 12.0 / nm_deg, 20000, 300, 0, 0),
            ("civil", "CIVIL", 34.0, 36.0, 35000, 450, 0, 0),
        ]
    )
    assert monitor.update(s, [blue], NOW) == []
    assert monitor.update(s, [blue], NOW + timedelta(seconds=29)) == []
    flagged = monitor.update(s, [blue], NOW + timedelta(seconds=30))
    assert [(n.track_id, n.outside_s) for n in flagged] == [("outside", 30.0)]
    # Coming back inside resets the clock.
    back = states([("outside", "BLUE", 34.0, 33.0, 20000, 300, 0, 0)])
    assert monitor.update(back, [blue], NOW + timedelta(seconds=31)) == []
    assert monitor.update(s, [blue], NOW + timedelta(seconds=40)) == []


@settings(max_examples=60, deadline=None)
@given(
    bearing=st.floats(0, 360),
    dist_nm=st.floats(0, 60),
    track=st.floats(0, 360),
    gs=st.floats(0, 500),
    radius=st.floats(1, 20),
)
def test_entry_time_agrees_with_dense_reference(
    bearing: float, dist_nm: float, track: float, gs: float, radius: float
) -> None:
    """Sampled + bisected entry time vs a 0.1 s dense scan of the same containment test."""
    lat0, lon0 = 34.5, 34.0
    volume = JsonVolume(circle(lon0, lat0, radius))
    lat = lat0 + dist_nm * np.cos(np.radians(bearing)) / 60.0
    lon = lon0 + dist_nm * np.sin(np.radians(bearing)) / (60.0 * np.cos(np.radians(lat0)))
    s = states([("x", "BLUE", lat, lon, 20000, gs, track, 0)])
    got = volume_entry_times(s, volume, NOW, POLICY)[0]
    grid = np.arange(0.0, POLICY.lookahead_s + 1e-9, 0.1)
    plat, plon, palt = s.select(np.zeros(grid.size, dtype=np.intp)).extrapolated(grid)
    inside = volume.contains(plat, plon, palt, NOW)
    if not inside.any():
        assert np.isinf(got)
        return
    first = grid[np.argmax(inside)]
    duration = inside.sum() * 0.1
    if duration >= POLICY.sample_s + 0.2 or first == 0.0:
        assert got == pytest.approx(first, abs=0.15)
    else:
        assert np.isinf(got) or got == pytest.approx(first, abs=0.15)
