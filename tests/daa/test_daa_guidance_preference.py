"""Guidance keeps to agreed lines and active volumes where possible (issue 13).

The preference is checked on the chosen manoeuvres flown by the independent step simulation of
``daa_reference``; the fallback is the conflict-free choice without the preference."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
from daa_reference import Flat, pair_violations, simulate, to_states
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deconflict.daa import CYLINDER, DO365B, Profile, evaluate_pairs
from deconflict.daa.guidance import Manoeuvre, NoCoordinatedGuidance, choose, coordinate
from deconflict.live.daa import keep_to
from deconflict.strategic.lines import AgreedLine

NM = 1852.0
KT = NM / 3600.0
M_PER_DEG = 6_371_008.8 * math.pi / 180.0  # the guidance's local plane, north metres / deg
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def flown(profile: Profile, a: Flat, m: Manoeuvre, dt: float = 0.1):  # type: ignore[no-untyped-def]
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


def worst_level(profile: Profile, a: Flat, b: Flat, ma: Manoeuvre, mb: Manoeuvre) -> int:
    ta, tb = flown(profile, a, ma, 0.1), flown(profile, b, mb, 0.1)
    worst = 0
    for lv in profile.alerters[0].levels:
        v = lv.volume
        if pair_violations(ta, tb, v.dthr_m - 5.0, v.zthr_ft - 2.0, max(v.tthr_s - 0.2, 0.0)).any():
            worst = max(worst, lv.level)
    return worst


def test_head_on_turn_away_from_the_agreed_line() -> None:
    """DO-365B head-on at 8 NM along the equator, an agreed line 0.02 deg north (both parties
    keep south of it). Unconstrained, RED turns right (north) and crosses the line within the
    look-ahead; with the line it turns left instead, still resolving the encounter."""
    a = Flat(0, 0, 10000, 300, 90)
    b = Flat(8 * NM, 0, 10000, 300, 270)
    states = to_states([a, b])
    line_lat = 0.02
    line = AgreedLine("L", ((-1.0, line_lat), (1.0, line_lat)), {"blue": "right", "red": "right"})
    free = coordinate(DO365B, states, 0, 1)
    crosses = [
        float(flown(DO365B, who, m).y.max()) > line_lat * M_PER_DEG
        for who, m in ((a, free.for_a), (b, free.for_b))
    ]
    assert any(crosses)  # the preference has something to change
    ka = keep_to("blue", float(states.lat_deg[0]), float(states.lon_deg[0]), 10000, [line], [], NOW)
    kb = keep_to("red", float(states.lat_deg[1]), float(states.lon_deg[1]), 10000, [line], [], NOW)
    g = coordinate(DO365B, states, 0, 1, keep_a=ka, keep_b=kb)
    assert g.preference_met and g.needed
    for who, m in ((a, g.for_a), (b, g.for_b)):
        assert float(flown(DO365B, who, m).y.max()) < line_lat * M_PER_DEG
    assert worst_level(DO365B, a, b, g.for_a, g.for_b) == 0
    # a party with no side on the line, or already across it, has nothing to keep
    assert keep_to("green", 0.0, 0.0, 10000, [line], [], NOW) is None
    assert keep_to("blue", 0.05, 0.0, 10000, [line], [], NOW) is None


def test_choose_prefers_kept_then_falls_back_to_conflict_free() -> None:
    cost = np.array([[0.0, 1.0], [2.0, 3.0]])
    allowed = np.ones((2, 2), dtype=bool)
    all_clear = np.array([[True, True], [True, False]])
    corrective = np.ones((2, 2), dtype=bool)
    yes, no, none = np.array([True, True]), np.array([False, True]), np.array([False, False])
    assert choose(cost, allowed, all_clear, corrective, yes, yes) == (0, 0, "all", True)
    assert choose(cost, allowed, all_clear, corrective, no, yes) == (1, 0, "all", True)
    # kept only where a preventive volume is lost: preferred to crossing a line
    assert choose(cost, allowed, all_clear, corrective, no, no) == (1, 1, "corrective", True)
    # only B can keep its preference: the fallback keeps B's, then the cost decides
    assert choose(cost, allowed, all_clear, corrective, none, no) == (0, 1, "all", False)
    # nothing kept: the cheapest conflict-free pair, preference not met
    assert choose(cost, allowed, all_clear, corrective, none, none) == (0, 0, "all", False)
    assert choose(cost, np.zeros((2, 2), bool), all_clear, corrective, yes, yes) is None


@st.composite
def encounters(draw: st.DrawFn) -> tuple[Flat, Flat, float]:
    t_cpa = draw(st.floats(30, 80))
    a = Flat(0, 0, 10000, draw(st.floats(150, 400)), draw(st.floats(0, 360)))
    gs, trk = draw(st.floats(150, 400)), draw(st.floats(0, 360))
    vx, vy = gs * KT * math.sin(math.radians(trk)), gs * KT * math.cos(math.radians(trk))
    miss = draw(st.floats(-0.3, 0.3)) * NM
    b = Flat(
        a.vx * t_cpa + miss - vx * t_cpa,
        a.vy * t_cpa - vy * t_cpa,
        10000 + draw(st.floats(-300, 300)),
        gs,
        trk,
    )
    limit_m = draw(st.floats(0.5, 6.0)) * NM  # A must stay west of this meridian
    return a, b, limit_m


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(e=encounters(), profile=st.sampled_from([CYLINDER, DO365B]))
def test_preference_met_is_kept_and_still_resolves(
    e: tuple[Flat, Flat, float], profile: Profile
) -> None:
    """A must stay west of a meridian: when the guidance says the preference is met, A's
    manoeuvre flown by the reference simulation stays west of it (to within the 5 s sampling)
    and the pair resolves as claimed; when it is not met, the guidance is exactly the
    unconstrained conflict-free choice."""
    a, b, limit_m = e
    states = to_states([a, b])
    got = evaluate_pairs(profile, states, np.array([0, 1]), np.array([1, 0]))
    assume(int(got.level_instant.max()) >= 1)
    limit_lon = limit_m / M_PER_DEG

    def west(lat: np.ndarray, lon: np.ndarray, alt: np.ndarray) -> np.ndarray:
        return np.asarray((lon <= limit_lon).all(axis=1))

    try:
        g = coordinate(profile, states, 0, 1, keep_a=west)
    except NoCoordinatedGuidance:
        assume(False)
        return
    assert g.preference_b  # no preference given for B
    corrective = 2 if profile.max_level > 1 else 1
    worst = worst_level(profile, a, b, g.for_a, g.for_b)
    assert worst == 0 if g.clear_of == "all" else worst < corrective
    if g.preference_a:
        step = max(a.gs * KT * 5.0, 1.0)
        assert float(flown(profile, a, g.for_a).x.max()) <= limit_m + step
    else:
        free = coordinate(profile, states, 0, 1)
        assert (g.for_a, g.for_b, g.clear_of) == (free.for_a, free.for_b, free.clear_of)
