"""Alert levels: scenarios with values derived from the definitions and checked by brute force;
properties (symmetry, monotonicity in the thresholds, complete pair search, hysteresis)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from daa_reference import Flat, HysteresisRef, straight_first_violation, to_states
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.daa import (
    AIRPROX,
    CYLINDER,
    DO365B,
    AlertMemory,
    Profile,
    alert_pairs,
    evaluate_pairs,
    step_alerts,
)
from deconflict.daa.alerting import apply_hysteresis, evaluate_pairs_numpy
from deconflict.errors import InvalidInputError

NM = 1852.0
KT = 1852.0 / 3600.0


def pair(profile: Profile, own: Flat, intruder: Flat, alerters: tuple[int, int] = (1, 1)):
    states = to_states([own, intruder], list(alerters))
    return evaluate_pairs(profile, states, np.array([0, 1]), np.array([1, 0]))


def brute_check(profile: Profile, own: Flat, intruder: Flat, alerter: int = 1) -> int:
    """Compare every level's t_in with brute force; return the brute-force level_instant."""
    got = pair(profile, own, intruder, (1, alerter))
    expected = 0
    for k, lv in enumerate(profile.alerters[alerter - 1].levels):
        v = lv.volume
        t_in, t_out = straight_first_violation(
            own, intruder, v.dthr_m, v.zthr_ft, v.tthr_s, profile.lookahead_s
        )
        if math.isnan(t_in):
            assert not got.conflict[0, k] or got.t_out_s[0, k] - got.t_in_s[0, k] < 0.05
        else:
            assert got.conflict[0, k]
            assert abs(got.t_in_s[0, k] - t_in) < 0.05, (k, got.t_in_s[0, k], t_in)
            assert abs(got.t_out_s[0, k] - t_out) < 0.05
            if t_in == 0.0 or t_in < lv.alerting_time_s:
                expected = lv.level
    assert int(got.level_instant[0]) == expected
    return expected


def taumod_entry_s(range_m: float, closure_mps: float, dthr_m: float, tthr_s: float) -> float:
    """Head-on: time at which taumod = TTHR, i.e. r^2 - TTHR v r - D^2 = 0."""
    r = (tthr_s * closure_mps + math.sqrt((tthr_s * closure_mps) ** 2 + 4 * dthr_m**2)) / 2
    return (range_m - r) / closure_mps


@pytest.mark.parametrize(("range_nm", "level"), [(8.0, 3), (12.0, 2), (17.0, 0)])
def test_head_on_phase_i(range_nm: float, level: int) -> None:
    own = Flat(0, 0, 10000, 300, 90)
    intruder = Flat(range_nm * NM, 0, 10000, 300, 270)
    t_in = taumod_entry_s(range_nm * NM, 600 * KT, 0.66 * NM, 35.0)
    got = pair(DO365B, own, intruder)
    assert got.t_in_s[0, 1] == pytest.approx(t_in, abs=0.05)
    assert brute_check(DO365B, own, intruder) == level
    assert got.tcpa_s[0] == pytest.approx(range_nm * NM / (600 * KT), abs=0.05)
    assert got.taumod_s[0] == pytest.approx(
        ((range_nm * NM) ** 2 - (0.66 * NM) ** 2) / (range_nm * NM * 600 * KT), abs=0.05
    )


def test_non_coop_intruder_uses_its_alerter() -> None:
    """Same geometry, intruder on DWC_Non_Coop (DTHR 2200 ft, TTHR 0): later, lower alert.

    A -> B uses B's alerter (Non-Coop), B -> A uses A's (Phase I): the ordered pairs differ."""
    own = Flat(0, 0, 10000, 300, 90)
    intruder = Flat(12 * NM, 0, 10000, 300, 270)
    got = pair(DO365B, own, intruder, (1, 3))
    t_entry = (12 * NM - 2200 * 0.3048) / (600 * KT)  # plain cylinder entry
    assert got.t_in_s[0, 1] == pytest.approx(t_entry, abs=0.05)
    assert got.level_instant[0] == 0  # 65.8 s > 55 s
    assert got.level_instant[1] == 2  # Phase I: taumod entry at 30.5 s
    assert brute_check(DO365B, own, intruder, alerter=3) == 0


def test_crossing() -> None:
    """Right-angle crossing, both 5 NM from the crossing point, 300 kt: closure 300 sqrt(2) kt
    head-on in the relative frame from 5 sqrt(2) NM, so taumod reaches 35 s at 24.1 s: level 3."""
    v = 300 * KT
    own = Flat(-v * 60, 0, 12000, 300, 90)
    intruder = Flat(0, -v * 60, 12000, 300, 0)
    t_in = taumod_entry_s(math.sqrt(2) * v * 60, math.sqrt(2) * v, 0.66 * NM, 35.0)
    assert t_in == pytest.approx(24.1, abs=0.05)
    assert brute_check(DO365B, own, intruder) == 3
    got = pair(DO365B, own, intruder)
    assert got.t_in_s[0, 2] == pytest.approx(t_in, abs=0.05)
    assert got.dcpa_nm[0] == pytest.approx(0.0, abs=1e-3)
    assert got.tcpa_s[0] == pytest.approx(60.0, abs=0.05)
    assert brute_check(CYLINDER, own, intruder) == 1


def test_overtaking() -> None:
    """Faster aircraft 2.5 NM behind, 100 kt closure: taumod entry at 43.0 s -> level 2."""
    own = Flat(0, 0, 8000, 250, 0)
    intruder = Flat(0, -2.5 * NM, 8000, 350, 0)
    t_in = taumod_entry_s(2.5 * NM, 100 * KT, 0.66 * NM, 35.0)
    assert t_in == pytest.approx(43.0, abs=0.1)
    got = pair(DO365B, own, intruder)
    assert got.t_in_s[0, 2] == pytest.approx(t_in, abs=0.05)
    assert brute_check(DO365B, own, intruder) == 2


def test_climbing_through() -> None:
    """Intruder 2000 ft below climbing 3000 fpm through the ownship's level, head-on 10 NM.

    Horizontal (taumod) entry at 34.0 s; vertical entry at |sz| = 450 ft: 31 s. The loss
    starts at the later of the two."""
    own = Flat(0, 0, 10000, 300, 90)
    intruder = Flat(10 * NM, 0, 8000, 300, 270, vs=3000)
    got = pair(DO365B, own, intruder)
    t_h = taumod_entry_s(10 * NM, 600 * KT, 0.66 * NM, 35.0)
    t_v = (2000 - 450) / 50.0
    assert got.t_in_s[0, 1] == pytest.approx(max(t_h, t_v), abs=0.05)
    assert got.t_in_s[0, 0] == pytest.approx(max(t_h, (2000 - 700) / 50.0), abs=0.05)
    assert got.tcoa_s[0] == pytest.approx(40.0, abs=1e-6)
    assert brute_check(DO365B, own, intruder) == 2


@pytest.mark.parametrize(("dz", "level"), [(449.0, 3), (451.0, 1), (699.0, 1), (701.0, 0)])
def test_vertical_threshold_probes(dz: float, level: int) -> None:
    """ZTHR 450 ft for levels 2-3 and 700 ft for level 1 (Phase I), inclusive boundaries."""
    own = Flat(0, 0, 10000, 300, 90)
    intruder = Flat(7 * NM, 0, 10000 + dz, 300, 270)
    assert brute_check(DO365B, own, intruder) == level


@pytest.mark.parametrize(("offset_nm", "hit"), [(0.65, True), (0.67, False)])
def test_horizontal_threshold_probes(offset_nm: float, hit: bool) -> None:
    """Parallel offset head-on: dcpa just inside / outside DTHR 0.66 NM."""
    own = Flat(0, 0, 10000, 300, 90)
    intruder = Flat(7 * NM, offset_nm * NM, 10000, 300, 270)
    assert (brute_check(DO365B, own, intruder) > 0) == hit


def test_cylinder_exactly_1000_ft_is_separated() -> None:
    own = Flat(0, 0, 35000, 450, 90)
    intruder = Flat(1 * NM, 0, 36000, 450, 90)
    got = pair(CYLINDER, own, intruder)
    assert got.level_instant.tolist() == [0, 0]
    got = pair(CYLINDER, own, dataclasses.replace(intruder, alt=35999))
    assert got.level_instant.tolist() == [1, 1]


def test_airprox_volume() -> None:
    own = Flat(0, 0, 2000, 120, 0)
    near = Flat(0, 0.4 * NM, 2250, 120, 0)
    far = Flat(0, 0.6 * NM, 2250, 120, 0)
    assert brute_check(AIRPROX, own, near) == 1
    assert brute_check(AIRPROX, own, far) == 0


def test_multi_intruder() -> None:
    """Ownship against three intruders with different alerters: each ordered pair by brute force."""
    own = Flat(0, 0, 10000, 300, 90)
    intruders = [
        Flat(8 * NM, 0, 10000, 300, 270),
        Flat(-1 * NM, -3 * NM, 10300, 200, 20),
        Flat(3 * NM, 3 * NM, 9700, 250, 180),
    ]
    alerters = [1, 2, 3]
    states = to_states([own, *intruders], [1, *alerters])
    got = alert_pairs(DO365B, states)
    for k, (intr, al) in enumerate(zip(intruders, alerters, strict=True), start=1):
        expected = brute_check(DO365B, own, intr, al)
        rows = np.flatnonzero((got.own == 0) & (got.intruder == k))
        level = int(got.level_instant[rows[0]]) if rows.size else 0
        assert level == expected


# --------------------------------------------------------------------------- properties

encounter = st.tuples(
    st.floats(-12 * NM, 12 * NM),
    st.floats(-12 * NM, 12 * NM),
    st.floats(-1500, 1500),
    st.floats(80, 500),
    st.floats(0, 360),
    st.floats(-3000, 3000),
    st.floats(80, 500),
    st.floats(0, 360),
    st.floats(-3000, 3000),
)


def _make(e: tuple[float, ...]) -> tuple[Flat, Flat]:
    x, y, dz, gs1, trk1, vs1, gs2, trk2, vs2 = e
    return Flat(0, 0, 10000, gs1, trk1, vs1), Flat(x, y, 10000 + dz, gs2, trk2, vs2)


@settings(max_examples=80, deadline=None)
@given(e=encounter, alerter=st.integers(1, 3), profile=st.sampled_from([CYLINDER, AIRPROX, DO365B]))
def test_level_instant_symmetric_for_same_alerter(
    e: tuple[float, ...], alerter: int, profile: Profile
) -> None:
    own, intruder = _make(e)
    alerter = min(alerter, len(profile.alerters))
    got = pair(profile, own, intruder, (alerter, alerter))
    assert got.level_instant[0] == got.level_instant[1]
    assert np.array_equal(got.t_in_s[0], got.t_in_s[1], equal_nan=True)
    assert got.hmd_nm[0] == got.hmd_nm[1] and got.tcpa_s[0] == got.tcpa_s[1]


def _scaled(profile: Profile, k: float) -> Profile:
    alerters = tuple(
        dataclasses.replace(
            a,
            levels=tuple(
                dataclasses.replace(
                    lv,
                    volume=dataclasses.replace(
                        lv.volume,
                        dthr_m=lv.volume.dthr_m * k,
                        zthr_ft=lv.volume.zthr_ft * k,
                        tthr_s=lv.volume.tthr_s * k,
                    ),
                    alerting_time_s=lv.alerting_time_s * k,
                    early_alerting_time_s=lv.early_alerting_time_s * k,
                )
                for lv in a.levels
            ),
        )
        for a in profile.alerters
    )
    return dataclasses.replace(profile, alerters=alerters)


@settings(max_examples=80, deadline=None)
@given(
    e=encounter,
    alerter=st.integers(1, 3),
    k=st.floats(1.0, 2.0),
    profile=st.sampled_from([CYLINDER, AIRPROX, DO365B]),
)
def test_levels_monotone_in_thresholds(
    e: tuple[float, ...], alerter: int, k: float, profile: Profile
) -> None:
    own, intruder = _make(e)
    alerter = min(alerter, len(profile.alerters))
    base = pair(profile, own, intruder, (alerter, alerter))
    bigger = pair(_scaled(profile, k), own, intruder, (alerter, alerter))
    assert np.all(bigger.level_instant >= base.level_instant)
    assert np.all(bigger.conflict >= base.conflict)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), profile=st.sampled_from([CYLINDER, AIRPROX, DO365B]))
def test_pair_search_finds_every_alert(seed: int, profile: Profile) -> None:
    """Pair search (bounding-cylinder detection) + evaluation finds every pair of evaluating
    all n (n - 1) ordered pairs."""
    rng = np.random.default_rng(seed)
    n = 60
    flats = [
        Flat(
            rng.uniform(-30, 30) * NM,
            rng.uniform(-30, 30) * NM,
            rng.uniform(8000, 12000),
            rng.uniform(100, 500),
            rng.uniform(0, 360),
            rng.uniform(-2000, 2000),
        )
        for _ in range(n)
    ]
    states = to_states(flats, list(rng.integers(1, len(profile.alerters) + 1, n)))
    fast = alert_pairs(profile, states)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    off = i != j
    slow = evaluate_pairs(profile, states, i[off], j[off])
    want = {
        (int(a), int(b))
        for a, b, c in zip(slow.own, slow.intruder, slow.conflict.any(axis=1), strict=True)
        if c
    }
    got = {
        (int(a), int(b))
        for a, b, c in zip(fast.own, fast.intruder, fast.conflict.any(axis=1), strict=True)
        if c
    }
    assert want <= got


@settings(max_examples=60, deadline=None)
@given(
    seq=st.lists(
        st.tuples(st.sampled_from([0.5, 1.0, 1.0, 2.0, 6.0, -1.0]), st.integers(0, 3)),
        min_size=1,
        max_size=25,
    )
)
def test_hysteresis_matches_daidalus_port(seq: list[tuple[float, int]]) -> None:
    ref = HysteresisRef(DO365B.hysteresis_s, DO365B.persistence_s, DO365B.m, DO365B.n)
    memory = AlertMemory()
    now = 100.0
    for step, raw in seq:
        now += step
        want = ref.apply(raw, now)
        got, memory = apply_hysteresis(DO365B, memory, [("A", "B")], np.array([raw]), now)
        assert int(got[0]) == want


def test_level_off_sequence_with_hysteresis() -> None:
    """Intruder head-on from 8 NM, 1500 ft below climbing 3000 fpm, levels off 1000 ft below
    the ownship at 10 s (1 Hz snapshots).

    Climbing it is predicted through 450 ft within 25 s: level 3 from the first snapshot (a
    fresh pair starts with M copies of its first sample). Levelled 1000 ft below, outside
    every ZTHR, the raw level is 0, but 2-of-4 keeps level 3 for two more samples (the
    persistence of 4 s has run out: it counts from the raise), then the pair drops to 0 and
    is forgotten. Every output equals the DAIDALUS port fed with the same raw levels."""
    memory = AlertMemory()
    ref = HysteresisRef(DO365B.hysteresis_s, DO365B.persistence_s, DO365B.m, DO365B.n)
    levels, raws = [], []
    for t in range(0, 20):
        rng_m = 8 * NM - 600 * KT * t
        alt = min(8500 + 50 * t, 9000)
        vs = 3000 if t < 10 else 0
        states = to_states([Flat(0, 0, 10000, 300, 90), Flat(rng_m, 0, alt, 300, 270, vs)])
        step = step_alerts(DO365B, states, ["A", "B"], 1000.0 + t, memory)
        memory = step.memory
        rows = np.flatnonzero(step.alerts.own == 0)
        raw = int(step.alerts.level_instant[rows[0]]) if rows.size else 0
        level = int(step.level[rows[0]]) if rows.size else 0
        raws.append(raw)
        levels.append(level)
        if rows.size:
            assert level == ref.apply(raw, 1000.0 + t)
    assert raws[:10] == [3] * 10 and raws[10:] == [0] * 10
    assert levels[:12] == [3] * 12
    assert levels[12:] == [0] * 8
    assert not memory.keys  # forgotten once clear


def test_bad_alerter_is_rejected() -> None:
    states = to_states([Flat(0, 0, 1, 1, 1), Flat(1, 1, 1, 1, 1)], [1, 7])
    with pytest.raises(InvalidInputError, match="alerter"):
        alert_pairs(DO365B, states)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), profile=st.sampled_from([CYLINDER, AIRPROX, DO365B]))
def test_compiled_levels_equal_numpy_oracle(seed: int, profile: Profile) -> None:
    rng = np.random.default_rng(seed)
    n = 40
    flats = [
        Flat(
            rng.uniform(-15, 15) * NM,
            rng.uniform(-15, 15) * NM,
            rng.uniform(9000, 11000),
            rng.uniform(0, 500),
            rng.uniform(0, 360),
            rng.choice([0.0, 1500.0, -2500.0]),
        )
        for _ in range(n)
    ]
    states = to_states(flats, list(rng.integers(1, len(profile.alerters) + 1, n)))
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    off = i != j
    fast = evaluate_pairs(profile, states, i[off], j[off])
    slow = evaluate_pairs_numpy(profile, states, i[off], j[off])
    assert np.array_equal(fast.conflict, slow.conflict)
    assert np.array_equal(fast.level_instant, slow.level_instant)
    for name in (
        "t_in_s",
        "t_out_s",
        "hmd_nm",
        "vmd_ft",
        "tcpa_s",
        "dcpa_nm",
        "taumod_s",
        "tcoa_s",
    ):
        np.testing.assert_allclose(
            getattr(fast, name), getattr(slow, name), rtol=1e-9, atol=1e-9, equal_nan=True
        )
