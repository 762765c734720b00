"""Bands: a value labelled NONE, flown, never loses well clear (brute-force simulation); the
labels of conflicting values are confirmed; resolutions, preferred side, recovery, CLI shape."""

from __future__ import annotations

import math

import numpy as np
import pytest
from daa_reference import Flat, Track, pair_violations, simulate, to_states
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deconflict.daa import AIRPROX, CYLINDER, DO365B, Profile, Region
from deconflict.daa import bands as b
from deconflict.daa.bands import DIMENSIONS, band_intruders, compute_bands, compute_bands_numpy

NM = 1852.0


def straight(a: Flat, horizon: float, dt: float) -> Track:
    return simulate(a, "hold", 0.0, horizon, dt)


def flown_violations(
    profile: Profile,
    own: Flat,
    intruders: list[Flat],
    alerters: list[int],
    dimension: str,
    value: float,
    shrink_m: float,
    shrink_ft: float,
    dt: float,
) -> int:
    """Highest level whose (slightly shrunk) volume is violated when ``own`` flies ``value``."""
    p = profile.bands
    track = simulate(
        own,
        dimension,
        value,
        profile.lookahead_s,
        dt,
        kinematic=p.kinematic,
        turn_rate=p.turn_rate_dps,
        accel=p.horizontal_accel_mps2,
        vaccel_g=p.vertical_accel_g,
        climb_fpm=p.vertical_rate_fpm,
    )
    worst = 0
    for intruder, al in zip(intruders, alerters, strict=True):
        other = straight(intruder, profile.lookahead_s, dt)
        for lv in profile.alerters[al - 1].levels:
            v = lv.volume
            bad = pair_violations(
                track, other, v.dthr_m - shrink_m, v.zthr_ft - shrink_ft, max(v.tthr_s - 0.2, 0.0)
            )
            if bad.any():
                worst = max(worst, lv.level)
    return worst


def encounter(draw: st.DrawFn) -> tuple[Flat, list[Flat], list[int]]:
    own = Flat(
        0,
        0,
        10000,
        draw(st.floats(150, 450)),
        draw(st.floats(0, 360)),
        draw(st.sampled_from([0.0, 1000.0, -1500.0])),
    )
    count = draw(st.integers(1, 3))
    intruders = []
    for _ in range(count):
        t_cpa = draw(st.floats(20, 90))
        gs = draw(st.floats(100, 450))
        trk = draw(st.floats(0, 360))
        miss = draw(st.floats(-0.5, 0.5)) * NM
        # place the intruder so that it meets the ownship's straight line near t_cpa
        ox = own.vx * t_cpa + miss
        oy = own.vy * t_cpa
        vx = gs * 1852 / 3600 * math.sin(math.radians(trk))
        vy = gs * 1852 / 3600 * math.cos(math.radians(trk))
        intruders.append(
            Flat(
                ox - vx * t_cpa,
                oy - vy * t_cpa,
                10000 + draw(st.floats(-600, 600)),
                gs,
                trk,
                draw(st.sampled_from([0.0, 1500.0, -800.0])),
            )
        )
    alerters = [draw(st.integers(1, 3)) for _ in intruders]
    return own, intruders, alerters


encounters = st.composite(encounter)()


def _pick(
    values: np.ndarray, regions: np.ndarray, region: Region, rng: np.random.Generator, k: int
) -> list[float]:
    idx = np.flatnonzero(regions == int(region))
    if idx.size == 0:
        return []
    return [float(values[i]) for i in rng.choice(idx, size=min(k, idx.size), replace=False)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(e=encounters, profile=st.sampled_from([CYLINDER, AIRPROX]), seed=st.integers(0, 1000))
def test_instantaneous_none_value_flown_never_alerts(
    e: tuple[Flat, list[Flat], list[int]], profile: Profile, seed: int
) -> None:
    own, intruders, alerters = e
    alerters = [1] * len(intruders)  # one-level profiles have one alerter
    states = to_states([own, *intruders], [1, *alerters])
    bands = compute_bands(profile, states, 0, np.arange(1, len(intruders) + 1))
    rng = np.random.default_rng(seed)
    for name in DIMENSIONS:
        dim = bands.dimension(name)
        for value in _pick(dim.values, dim.regions, Region.NONE, rng, 3):
            assert (
                flown_violations(profile, own, intruders, alerters, name, value, 3.0, 1.0, 0.05)
                == 0
            ), (name, value)
        for value in _pick(dim.values, dim.regions, Region.NEAR, rng, 2):
            # conflicting label confirmed with a slightly *grown* volume
            assert (
                flown_violations(profile, own, intruders, alerters, name, value, -30.0, -5.0, 0.05)
                >= 1
            ), (name, value)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(e=encounters, seed=st.integers(0, 1000))
def test_kinematic_none_value_flown_never_alerts(
    e: tuple[Flat, list[Flat], list[int]], seed: int
) -> None:
    """DO-365B kinematic bands, flown by an independent step simulation (turn 3 deg/s,
    2 m/s^2, 0.25 g, 500 fpm): no level's volume is lost within the look-ahead. The simulated
    volume is 10 m / 3 ft smaller than the published one (the simulation's own step error)."""
    own, intruders, alerters = e
    states = to_states([own, *intruders], [1, *alerters])
    bands = compute_bands(DO365B, states, 0, np.arange(1, len(intruders) + 1))
    rng = np.random.default_rng(seed)
    checked = 0
    for name in DIMENSIONS:
        dim = bands.dimension(name)
        for value in _pick(dim.values, dim.regions, Region.NONE, rng, 2):
            assert (
                flown_violations(DO365B, own, intruders, alerters, name, value, 10.0, 3.0, 0.05)
                == 0
            ), (name, value)
            checked += 1
    assume(checked > 0)


def test_head_on_track_bands_symmetric_and_resolutions() -> None:
    own = Flat(0, 0, 10000, 300, 0)
    intruder = Flat(0, 8 * NM, 10000, 300, 180)
    states = to_states([own, intruder])
    bands = compute_bands(CYLINDER, states, 0, np.array([1]))
    trk = bands.track_deg
    assert trk.current_region == int(Region.NEAR)
    right, left = trk.resolution["right"], trk.resolution["left"]
    assert (right - 0) % 360 == pytest.approx((0 - left) % 360, abs=1.0)
    # the resolution is the first NONE value: one degree less is in conflict
    k = int(np.flatnonzero(trk.values == right)[0])
    assert trk.regions[k] == int(Region.NONE) and trk.regions[k - 1] == int(Region.NEAR)
    # instantaneous geometry: the turn must make the relative velocity miss 5 NM at 8 NM range
    # sin(theta/2)-type bound checked by brute force on both sides of the resolution
    assert trk.preferred == "right"
    assert bands.gs_kt.resolution == {"up": math.inf, "down": -math.inf}
    intervals = trk.intervals()
    assert intervals[0][2] == "NEAR" and intervals[0][0] == 0.0


def test_recovery_bands_when_already_in_loss() -> None:
    """Two aircraft 1 NM apart at the same level: every value is NEAR for the 5 NM cylinder;
    recovery bands label the values that clear a shrunk volume."""
    own = Flat(0, 0, 10000, 300, 0)
    intruder = Flat(1 * NM, 0, 10000, 300, 0)
    states = to_states([own, intruder])
    bands = compute_bands(CYLINDER, states, 0, np.array([1]))
    trk = bands.track_deg
    assert trk.recovery
    assert (trk.regions == int(Region.RECOVERY)).any()
    assert not (trk.regions == int(Region.NONE)).any()
    assert math.isfinite(trk.resolution["right"]) or math.isfinite(trk.resolution["left"])


def test_no_intruder_everything_free() -> None:
    states = to_states([Flat(0, 0, 10000, 300, 0), Flat(200 * NM, 0, 10000, 300, 0)])
    assert band_intruders(DO365B, states, 0).size == 0
    bands = compute_bands(DO365B, states, 0, np.empty(0, dtype=np.int64))
    for name in DIMENSIONS:
        dim = bands.dimension(name)
        assert (dim.regions == int(Region.NONE)).all()
        assert set(dim.resolution.values()) == {dim.current}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(0, 5),
    profile=st.sampled_from([CYLINDER, AIRPROX, DO365B]),
)
def test_compiled_bands_equal_the_numpy_oracle(seed: int, k: int, profile: Profile) -> None:
    """The compiled path (one loss kernel ORed over intruders, one pass over the manoeuvre
    paths, holding as an extra row) gives the same regions, resolutions and recovery flags as
    the numpy oracles (``linear_conflicts_numpy`` + ``_dimension_conflicts``), close encounters
    included (recovery bands)."""
    rng = np.random.default_rng(seed)
    own = Flat(0, 0, 10000, rng.uniform(100, 500), rng.uniform(0, 360), rng.uniform(-2000, 2000))
    others = [
        Flat(
            rng.uniform(-6, 6) * NM,
            rng.uniform(-6, 6) * NM,
            10000 + rng.uniform(-800, 800),
            rng.uniform(100, 500),
            rng.uniform(0, 360),
            rng.uniform(-2000, 2000),
        )
        for _ in range(k)
    ]
    states = to_states([own, *others], list(rng.integers(1, 4, k + 1)))
    intruders = np.arange(1, k + 1)
    fast = compute_bands(profile, states, 0, intruders)
    slow = compute_bands_numpy(profile, states, 0, intruders)
    for name in DIMENSIONS:
        a, b = fast.dimension(name), slow.dimension(name)
        assert np.array_equal(a.regions, b.regions), name
        assert (a.resolution, a.preferred, a.recovery, a.current_region) == (
            b.resolution,
            b.preferred,
            b.recovery,
            b.current_region,
        )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    profile=st.sampled_from([CYLINDER, AIRPROX, DO365B]),
    gs=st.sampled_from([0.0, 5.0, 300.0, 650.0, 720.0]),
    alt=st.sampled_from([100.0, 10000.0, 50000.0, 52000.0]),
    vs=st.sampled_from([0.0, 700.0, -3000.0, 6500.0]),
)
def test_compiled_rows_equal_the_numpy_builders(
    seed: int, profile: Profile, gs: float, alt: float, vs: float
) -> None:
    """The compiled row construction (``band_rows_kernel``) builds the same rows, in the same
    order, with the same durations, margins and value index as the four numpy dimension
    builders + ``_stack_rows`` + ``_value_index`` (grid edges, standing still and rates beyond
    the grid included)."""
    rng = np.random.default_rng(seed)
    track = float(rng.uniform(0, 360))
    own = b.Ownship(
        ux=gs * 1852 / 3600 * math.sin(math.radians(track)),
        uy=gs * 1852 / 3600 * math.cos(math.radians(track)),
        z_ft=alt,
        w_fps=vs / 60.0,
        gs_kt=gs,
        track_deg=track,
        vs_fpm=vs,
    )
    p, look = profile.bands, profile.lookahead_s
    builders = (b._track_dimension, b._gs_dimension, b._vs_dimension, b._alt_dimension)
    dims = [build(own, p, look) for build in builders]
    hold = b._straight(own, np.zeros(1), np.full(1, own.ux), np.full(1, own.uy))
    rows = b._stack_rows(dims, look, p.time_step_s, hold)
    index = b._value_index(dims, rows)
    grids, (states, duration, margin_m, margin_ft), fast = b._compiled_rows(own, p, look)
    for grid, dim in zip(grids, dims, strict=True):
        assert np.array_equal(grid, dim.values)
    for field in b.Trajectory.__dataclass_fields__:
        got, want = getattr(states, field), getattr(rows.states, field)
        assert got.shape == want.shape, field
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9, err_msg=field)
    for got, want in ((duration, rows.duration_s), (margin_m, rows.margin_m)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(margin_ft, rows.margin_ft, rtol=1e-12, atol=1e-12)
    for field in ("final_row", "path_of", "path_start", "path_len"):
        assert np.array_equal(getattr(fast, field), getattr(index, field)), field
    np.testing.assert_allclose(fast.t_m, index.t_m, rtol=1e-12, atol=1e-12)
    assert fast.offsets == index.offsets


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 5), strict=st.booleans())
def test_nested_recovery_bisection_equals_every_level(seed: int, k: int, strict: bool) -> None:
    """The recovery volumes shrink with the step, so the kernel may bisect over them: the same
    ``(M, steps)`` losses as testing every step, and as the numpy oracle, close encounters
    included."""
    rng = np.random.default_rng(seed)
    own = Flat(0, 0, 10000, rng.uniform(100, 500), rng.uniform(0, 360), rng.uniform(-2000, 2000))
    others = [
        Flat(
            rng.uniform(-3, 3) * NM,
            rng.uniform(-3, 3) * NM,
            10000 + rng.uniform(-800, 800),
            rng.uniform(100, 500),
            rng.uniform(0, 360),
            rng.uniform(-2000, 2000),
        )
        for _ in range(k)
    ]
    states = to_states([own, *others], list(rng.integers(1, 4, k + 1)))
    ownship, traffic = b.traffic_from(DO365B, states, 0, np.arange(1, k + 1))
    _, (rows, duration, margin_m, margin_ft), _ = b._compiled_rows(
        ownship, DO365B.bands, DO365B.lookahead_s
    )
    recovery = b._recovery_traffic(traffic, DO365B)
    args = (recovery, rows, duration, strict, margin_m, margin_ft)
    nested = b.linear_conflicts_any(*args, nested=True)
    assert np.array_equal(nested, b.linear_conflicts_any(*args, nested=False))
    assert np.array_equal(nested, b.linear_conflicts_numpy(*args).any(axis=1))
