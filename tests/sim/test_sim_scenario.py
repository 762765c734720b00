"""The demo scenario simulator: determinism, realism, scripted near-conflicts and incursions."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from deconflict.live.conformance import ConformancePolicy, PartyVolume, find_incursions
from deconflict.live.tracks import TrackStates
from deconflict.sim.scenario import Scenario
from deconflict.strategic import AltitudeReference, Volume4D
from deconflict.strategic.lines import AgreedLine
from deconflict.tactical import detect_arrays
from volume_reference import JsonVolume

SCENARIO = Scenario(seed=3)


def states_at(scenario: Scenario, t_s: float) -> TrackStates:
    return TrackStates.from_columns(scenario.states_at(t_s))


def test_same_seed_same_traffic_other_seed_differs() -> None:
    a, b, c = Scenario(seed=11), Scenario(seed=11), Scenario(seed=12)
    for t in (0.0, 123.5, 1800.0):
        sa, sb, sc = states_at(a, t), states_at(b, t), states_at(c, t)
        assert list(sa.ids) == list(sb.ids)
        for name in ("lat_deg", "lon_deg", "alt_ft", "gs_kt", "track_deg", "vs_fpm"):
            np.testing.assert_array_equal(getattr(sa, name), getattr(sb, name))
        assert list(sa.ids) != list(sc.ids) or not np.array_equal(sa.lat_deg, sc.lat_deg)
    # Pure in t: evaluating out of order gives the same answer.
    fresh = Scenario(seed=11)
    np.testing.assert_array_equal(states_at(fresh, 1800.0).lat_deg, states_at(a, 1800.0).lat_deg)


def test_speeds_and_altitudes_are_realistic() -> None:
    roles: dict[str, list[tuple[float, float, float]]] = {}
    for t in np.arange(0.0, 3600.0, 20.0):
        states = states_at(SCENARIO, float(t))
        flights = {f.id: f for f in SCENARIO.flights_at(float(t))}
        assert len(states) == len(flights) > 20
        assert ((states.lat_deg > 31.0) & (states.lat_deg < 37.5)).all()
        assert ((states.lon_deg > 29.5) & (states.lon_deg < 38.5)).all()
        for k, aircraft in enumerate(states.ids):
            role: str = flights[str(aircraft)].role
            roles.setdefault(role, []).append(
                (float(states.gs_kt[k]), float(states.alt_ft[k]), float(states.vs_fpm[k]))
            )
    assert set(roles) == {"fighter", "tanker", "aew", "transport", "airliner"}
    for kind, rows in roles.items():
        gs, alt, vs = (np.array(c) for c in zip(*rows, strict=True))
        high = alt >= 20000
        if kind == "fighter":
            assert ((gs[high] >= 350) & (gs[high] <= 480)).all()
            assert alt.max() <= 30000
        if kind in ("tanker", "aew"):
            assert ((gs >= 300) & (gs <= 390)).all()
            assert ((alt >= 25000) & (alt <= 30000)).all()
        if kind == "transport":
            cruise = np.abs(vs) < 50
            assert (
                (gs[cruise & (alt >= 18000)] >= 280) & (gs[cruise & (alt >= 18000)] <= 320)
            ).all()
            assert alt.max() <= 24000
        if kind == "airliner":
            level_high = (np.abs(vs) < 50) & (alt >= 33000)
            assert level_high.sum() > 50
            assert ((gs[level_high] >= 420) & (gs[level_high] <= 480)).all()
            assert alt.max() <= 39000 and alt.min() >= 0
            assert (np.abs(vs) <= 3500).all()
        assert (gs > 100).all() and (gs < 500).all()


def test_scripted_near_conflicts_are_detected_at_the_scripted_times() -> None:
    encounters = SCENARIO.encounters(0.0, 1800.0)
    assert len(encounters) >= 5
    for enc in encounters:
        t = enc.t_cpa_s - 120.0
        states = states_at(SCENARIO, t)
        ids = [str(a) for a in states.ids]
        found = detect_arrays(
            states.lat_deg,
            states.lon_deg,
            states.alt_ft,
            states.gs_kt,
            states.track_deg,
            states.vs_fpm,
        )
        pairs = {(ids[i], ids[j]): k for k, (i, j) in enumerate(zip(found.i, found.j, strict=True))}
        key = (
            (enc.blue_id, enc.red_id)
            if (enc.blue_id, enc.red_id) in pairs
            else (enc.red_id, enc.blue_id)
        )
        assert key in pairs, f"encounter {enc.index} not detected at t={t}"
        k = pairs[key]
        closing = enc.blue_gs_kt + enc.red_gs_kt
        expected_t_in = 120.0 - np.sqrt(5.0**2 - 4.0**2) / closing * 3600.0
        assert found.t_in_s[k] == pytest.approx(expected_t_in, abs=3.0)
        assert found.hmd_nm[k] == pytest.approx(4.0, abs=0.25)
        # A near-conflict, not a collision: they break away and never lose separation.
        for tt in np.arange(enc.t_cpa_s - 200.0, enc.t_cpa_s + 120.0, 2.0):
            s = states_at(SCENARIO, float(tt))
            row = {str(a): n for n, a in enumerate(s.ids)}
            b, r = row[enc.blue_id], row[enc.red_id]
            dlat = (s.lat_deg[b] - s.lat_deg[r]) * 60.0
            dlon = (s.lon_deg[b] - s.lon_deg[r]) * 60.0 * np.cos(np.radians(s.lat_deg[b]))
            assert np.hypot(dlat, dlon) > 5.0 or abs(s.alt_ft[b] - s.alt_ft[r]) >= 1000


def test_scripted_incursions_are_caught_by_conformance() -> None:
    policy = ConformancePolicy()
    volumes = [
        PartyVolume.from_json(f"{party}/{v['id']}", party, v, policy)
        for party, vs in SCENARIO.notices().items()
        for v in vs
    ]
    lines = [AgreedLine.from_json(obj) for obj in SCENARIO.lines()]
    incursions = SCENARIO.incursions(0.0, 1500.0)
    assert len(incursions) >= 4
    assert {i.party for i in incursions} == {"BLUE", "RED"}
    for inc in incursions:
        before = SCENARIO.start + timedelta(seconds=inc.t_cross_s - 60.0)
        found = find_incursions(states_at(SCENARIO, inc.t_cross_s - 60.0), volumes, lines, before)
        line_hits = [f for f in found if f.track_id == inc.track_id and f.target_kind == "line"]
        assert len(line_hits) == 1 and line_hits[0].t_entry_s == pytest.approx(60.0, abs=2.0)
        after = SCENARIO.start + timedelta(seconds=inc.t_cross_s + 20.0)
        found = find_incursions(states_at(SCENARIO, inc.t_cross_s + 20.0), volumes, lines, after)
        hits = {(f.target_kind, f.t_entry_s) for f in found if f.track_id == inc.track_id}
        assert ("line", 0.0) in hits


def test_line_incursions_only_from_the_scripted_aircraft() -> None:
    lines = [AgreedLine.from_json(obj) for obj in SCENARIO.lines()]
    scripted = {i.track_id for i in SCENARIO.incursions(-3600.0, 1800.0 + 400.0)}
    for t in np.arange(0.0, 1800.0, 10.0):
        now = SCENARIO.start + timedelta(seconds=float(t))
        for found in find_incursions(states_at(SCENARIO, float(t)), [], lines, now):
            assert found.track_id in scripted, (t, found)


def test_notices_are_valid_for_the_strategic_model_and_agree_with_the_live_adapter() -> None:
    rng = np.random.default_rng(5)
    when = SCENARIO.start
    for party, volumes in SCENARIO.notices().items():
        assert party in ("BLUE", "RED")
        for obj in volumes:
            strategic = Volume4D.from_json(obj)
            live = JsonVolume(obj)
            lon0, lat0 = live.center_lonlat
            span = live.radius_nm / 60.0 * 1.3
            lat = lat0 + rng.uniform(-span, span, 400)
            lon = lon0 + rng.uniform(-span, span, 400) / np.cos(np.radians(lat0))
            alt = rng.uniform(live.alt_lower_ft - 2000, live.alt_upper_ft + 2000, 400)
            ours = live.contains(lat, lon, alt, when)
            theirs = strategic.contains_many(
                lat, lon, alt, [when] * 400, alt_reference=AltitudeReference.FT_AMSL
            )
            # Straight edges in an AEQD plane vs geodesic edges: agreement on all but points
            # within a fraction of a nautical mile of a boundary.
            assert (ours == np.asarray(theirs)).mean() >= 0.99, obj["id"]
