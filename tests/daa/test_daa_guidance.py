"""Coordinated guidance: both manoeuvres flown together (independent step simulation) resolve
the encounter; never both towards each other; one aircraft holds when that suffices."""

from __future__ import annotations

import math

import numpy as np
import pytest
from daa_reference import Flat, pair_violations, simulate, to_states
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deconflict.daa import AIRPROX, CYLINDER, DO365B, Profile, evaluate_pairs
from deconflict.daa.guidance import Manoeuvre, NoCoordinatedGuidance, coordinate

NM = 1852.0
KT = NM / 3600.0


def fly(profile: Profile, a: Flat, m: Manoeuvre, dt: float):
    p = profile.bands
    return simulate(
        a,
        m.dimension,
        m.value,
        profile.lookahead_s,
        dt,
        kinematic=p.kinematic,
        turn_rate=p.turn_rate_dps,
        accel=p.horizontal_accel_mps2,
        vaccel_g=p.vertical_accel_g,
        climb_fpm=p.vertical_rate_fpm,
    )


def worst_level(
    profile: Profile, a: Flat, b: Flat, ma: Manoeuvre, mb: Manoeuvre, alerters: tuple[int, int]
) -> int:
    dt = 0.05
    ta, tb = fly(profile, a, ma, dt), fly(profile, b, mb, dt)
    worst = 0
    for al in alerters:
        for lv in profile.alerters[min(al, len(profile.alerters)) - 1].levels:
            v = lv.volume
            if pair_violations(
                ta, tb, v.dthr_m - 5.0, v.zthr_ft - 2.0, max(v.tthr_s - 0.2, 0.0)
            ).any():
                worst = max(worst, lv.level)
    return worst


@st.composite
def conflicts(draw: st.DrawFn) -> tuple[Flat, Flat, tuple[int, int]]:
    t_cpa = draw(st.floats(30, 80))
    a = Flat(
        0,
        0,
        10000,
        draw(st.floats(150, 400)),
        draw(st.floats(0, 360)),
        draw(st.sampled_from([0.0, 1000.0])),
    )
    gs, trk = draw(st.floats(150, 400)), draw(st.floats(0, 360))
    vx, vy = gs * KT * math.sin(math.radians(trk)), gs * KT * math.cos(math.radians(trk))
    miss = draw(st.floats(-0.3, 0.3)) * NM
    b = Flat(
        a.vx * t_cpa + miss - vx * t_cpa,
        a.vy * t_cpa - vy * t_cpa,
        10000 + draw(st.floats(-300, 300)),
        gs,
        trk,
        draw(st.sampled_from([0.0, -1000.0])),
    )
    alerters = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return a, b, alerters


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(e=conflicts(), profile=st.sampled_from([CYLINDER, AIRPROX, DO365B]))
def test_guidance_flown_together_resolves(
    e: tuple[Flat, Flat, tuple[int, int]], profile: Profile
) -> None:
    a, b, alerters = e
    if len(profile.alerters) == 1:
        alerters = (1, 1)
    states = to_states([a, b], list(alerters))
    got = evaluate_pairs(profile, states, np.array([0, 1]), np.array([1, 0]))
    assume(int(got.level_instant.max()) >= 1)
    try:
        g = coordinate(profile, states, 0, 1)
    except NoCoordinatedGuidance:
        assume(False)
        return
    assert g.needed
    corrective = 2 if profile.max_level > 1 else 1
    worst = worst_level(profile, a, b, g.for_a, g.for_b, alerters)
    if g.clear_of == "all":
        assert worst == 0
    else:
        assert worst < corrective
    # never both turning towards each other
    if g.for_a.dimension == "track_deg" and g.for_b.dimension == "track_deg":
        bearing_ab = math.degrees(math.atan2(b.x - a.x, b.y - a.y))
        b_right = 0 < (bearing_ab - a.trk) % 360 < 180
        a_right = 0 < (bearing_ab + 180 - b.trk) % 360 < 180
        assert not ((g.for_a.side == "right") == b_right and (g.for_b.side == "right") == a_right)


def test_head_on_one_aircraft_holds() -> None:
    """DO-365B head-on at 8 NM: the cheapest joint resolution lets one aircraft hold and the
    other turn; flying both (simulated) keeps every volume."""
    a = Flat(0, 0, 10000, 300, 90)
    b = Flat(8 * NM, 0, 10000, 300, 270)
    states = to_states([a, b])
    g = coordinate(DO365B, states, 0, 1)
    assert {g.for_a.dimension, g.for_b.dimension} & {"hold"}
    moved = g.for_b if g.for_a.dimension == "hold" else g.for_a
    assert moved.dimension in ("track_deg", "vs_fpm", "alt_ft", "gs_kt")
    assert worst_level(DO365B, a, b, g.for_a, g.for_b, (1, 1)) == 0
    assert (
        "turn" in moved.describe() or "altitude" in moved.describe() or "speed" in moved.describe()
    )


def test_no_guidance_needed_when_clear() -> None:
    a = Flat(0, 0, 10000, 300, 90)
    b = Flat(0, 30 * NM, 10000, 300, 90)
    g = coordinate(DO365B, to_states([a, b]), 0, 1)
    assert not g.needed and g.for_a.dimension == "hold" and g.for_b.dimension == "hold"


def test_third_aircraft_is_respected() -> None:
    """A third aircraft blocks the turn that would otherwise be chosen: the chosen manoeuvres,
    flown with the third aircraft holding, keep A and B clear of it too."""
    a = Flat(0, 0, 10000, 300, 90)
    b = Flat(8 * NM, 0, 10000, 300, 270)
    c = Flat(3 * NM, -3 * NM, 10000, 300, 0)  # crossing from the south
    states = to_states([a, b, c])
    g = coordinate(CYLINDER, states, 0, 1)
    hold = type(g.for_a)("hold", "hold", 0.0, 0.0, 0.0)
    for who, m in ((a, g.for_a), (b, g.for_b)):
        assert worst_level(CYLINDER, who, c, m, hold, (1, 1)) == 0


def test_manoeuvre_wording_is_not_an_ra() -> None:
    m = Manoeuvre("vs_fpm", "up", 2000.0, 0.0, 1.0)
    assert "CLIMB" not in m.describe()
    with pytest.raises(KeyError):
        Manoeuvre("bogus", "up", 1.0, 0.0, 1.0).describe()
