"""The compiled kernel (``detect_arrays``) against its numpy oracle (``detect_arrays_numpy``).

Both evaluate every pair with the same formulas in the same order, so on any traffic they must
report the same pairs with the same values (compared here to 1e-9 relative); the brute-force
pyproj reference checks both (test_tactical_vs_reference.py). The strategies reach the poles,
the antimeridian, co-located aircraft, identical velocities (parallel tracks) and zero speeds.
"""

from __future__ import annotations

import itertools
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tactical_reference import State
from tactical_strategies import states

from deconflict.errors import InvalidInputError
from deconflict.tactical import Conflicts, detect_arrays, detect_arrays_numpy, warm_up
from deconflict.tactical._jit import ALL_PAIRS_MAX_N, BAND_FACTOR, detect_pairs
from deconflict.tactical._vertical import VerticalMode, compared_altitudes
from deconflict.tactical.kernel import detect_arrays_segments


def columns(traffic: list[State]) -> list[np.ndarray]:
    rows = [(s.lat, s.lon, s.alt_ft, s.gs_kt, s.track_deg, s.vs_fpm) for s in traffic]
    return [np.array(c, dtype=np.float64) for c in zip(*rows, strict=True)] or [
        np.empty(0) for _ in range(6)
    ]


def assert_same(fast: Conflicts, oracle: Conflicts) -> None:
    assert np.array_equal(fast.i, oracle.i) and np.array_equal(fast.j, oracle.j)
    for f in fields(Conflicts):
        if f.name in ("i", "j"):
            continue
        if f.name in ("bearing_deg", "reverse_bearing_deg"):
            # bearings are circular: 359.9999999999996 and 0.0 are 4e-13 deg apart (a pole
            # exactly on the axis with the exact sines of the kernel, 4e-10 m off with libm's)
            got, want = getattr(fast, f.name), getattr(oracle, f.name)
            apart = np.abs((got - want + 180.0) % 360.0 - 180.0)
            assert np.all(apart <= 1e-9 + 1e-9 * np.abs(want)), (f.name, got, want)
            continue
        np.testing.assert_allclose(
            getattr(fast, f.name), getattr(oracle, f.name), rtol=1e-9, atol=1e-9, err_msg=f.name
        )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    traffic=states(max_n=12),
    mode=st.sampled_from(["strict", "flight-level"]),
    h_nm=st.sampled_from([0.5, 5.0, 10.0]),
    v_ft=st.sampled_from([300.0, 1000.0]),
    t_s=st.sampled_from([60.0, 300.0, 600.0]),
)
def test_compiled_kernel_equals_numpy_oracle(
    traffic: list[State], mode: str, h_nm: float, v_ft: float, t_s: float
) -> None:
    cols = columns(traffic)
    kw = {"horizontal_nm": h_nm, "vertical_ft": v_ft, "lookahead_s": t_s}
    fast = detect_arrays(*cols, vertical_mode=mode, **kw)
    assert_same(fast, detect_arrays_numpy(*cols, vertical_mode=mode, **kw))
    if len(cols[0]) >= 2:
        # small snapshots take the all-pairs path; the grid path must agree bit for bit
        alt, vs = compared_altitudes(cols[2], cols[5], VerticalMode.parse(mode))
        grid_ij, grid_values, _ = detect_pairs(
            cols[0], cols[1], alt, cols[3], cols[4], vs, h_nm, v_ft, t_s, BAND_FACTOR, 0
        )
        assert np.array_equal(grid_ij, np.stack([fast.i, fast.j]))
        fast_values = [getattr(fast, f.name) for f in fields(Conflicts)][2:]
        assert np.array_equal(grid_values, np.stack(fast_values).reshape(9, -1))


@pytest.mark.parametrize(
    ("lat0", "lon0"), [(90.0, 0.0), (-89.95, 120.0), (0.0, 180.0), (65.0, -179.9), (46.5, 8.0)]
)
def test_dense_random_traffic_equals_oracle(lat0: float, lon0: float) -> None:
    """600 aircraft within ~60 NM: many bands, cells and candidates, incl. poles and +-180."""
    rng = np.random.default_rng(int(abs(lat0 * 1000 + lon0)))
    n = 600
    lat = np.clip(lat0 + rng.uniform(-1.0, 1.0, n), -90.0, 90.0)
    lon = (lon0 + rng.uniform(-1.5, 1.5, n) + 180.0) % 360.0 - 180.0
    alt = 1000.0 * rng.integers(200, 240, n) + rng.choice([0.0, 25.0, -25.0, 500.0], n)
    gs = np.where(rng.random(n) < 0.1, 0.0, rng.uniform(0.0, 550.0, n))
    track = rng.uniform(0.0, 360.0, n)
    vs = np.where(rng.random(n) < 0.3, rng.uniform(-3000.0, 3000.0, n), 0.0)
    # co-located and parallel (formation) aircraft
    lat[1::50], lon[1::50] = lat[::50], lon[::50]
    gs[2::50], track[2::50], vs[2::50] = gs[3::50], track[3::50], vs[3::50]
    fast = detect_arrays(lat, lon, alt, gs, track, vs)
    assert len(fast) > 50  # dense enough to test something
    assert_same(fast, detect_arrays_numpy(lat, lon, alt, gs, track, vs))


def test_band_width_does_not_change_the_answer() -> None:
    rng = np.random.default_rng(7)
    n = 400
    cols = [
        rng.uniform(45.0, 46.0, n),
        rng.uniform(7.0, 8.5, n),
        rng.uniform(10000.0, 20000.0, n),
        rng.uniform(0.0, 500.0, n),
        rng.uniform(0.0, 360.0, n),
        rng.uniform(-2000.0, 2000.0, n),
    ]
    answers = [
        detect_pairs(*cols, 5.0, 1000.0, 300.0, factor, 0)[:2]
        for factor in (1.0, BAND_FACTOR, 50.0)
    ]
    answers.append(detect_pairs(*cols, 5.0, 1000.0, 300.0, BAND_FACTOR, n)[:2])  # all pairs
    assert answers[0][0].shape[1] > 20 and n > ALL_PAIRS_MAX_N
    for ij, values in answers[1:]:
        assert np.array_equal(ij, answers[0][0]) and np.array_equal(values, answers[0][1])


def test_no_fallback_and_errors_name_the_field() -> None:
    warm_up()
    assert detect_pairs.signatures, "the compiled kernel is what detect_arrays runs"
    with pytest.raises(InvalidInputError) as err:
        detect_arrays([0.0, 1.0], [0.0, float("nan")], [0, 0], [0, 0], [0, 0], [0, 0])
    assert err.value.field == "lon_deg" and err.value.row == 2
    with pytest.raises(InvalidInputError) as err:
        detect_arrays([0.0], [0.0, 1.0], [0], [0], [0], [0])
    assert err.value.field == "lon_deg"
    with pytest.raises(InvalidInputError) as err:
        detect_arrays([0.0], [0.0], [0], [0], [0], [0], lookahead_s=-1)
    assert err.value.field == "lookahead_s"


def test_segments_equal_per_snapshot_detection() -> None:
    """``detect_arrays_segments`` (one compiled call, as replays use) = ``detect_arrays`` per
    snapshot, for empty, single-aircraft, all-pairs-sized and grid-sized snapshots."""
    rng = np.random.default_rng(11)
    sizes = [0, 1, 2, 30, ALL_PAIRS_MAX_N + 1, 0, 250, 5]
    n = sum(sizes)
    cols = [
        rng.uniform(45.0, 45.6, n),
        rng.uniform(7.0, 7.8, n),
        1000.0 * rng.integers(300, 304, n) + rng.choice([0.0, 30.0], n),
        rng.uniform(0.0, 500.0, n),
        rng.uniform(0.0, 360.0, n),
        np.where(rng.random(n) < 0.3, rng.uniform(-2000.0, 2000.0, n), 0.0),
    ]
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    for mode in ("strict", "flight-level"):
        together = detect_arrays_segments(*cols, bounds, vertical_mode=mode)
        parts = []
        for start, end in itertools.pairwise(bounds):
            one = detect_arrays(*(c[start:end] for c in cols), vertical_mode=mode)
            parts.append((one.i + start, one.j + start, one))
        assert len(together) == sum(len(p[2]) for p in parts) > 100
        assert np.array_equal(together.i, np.concatenate([p[0] for p in parts]))
        assert np.array_equal(together.j, np.concatenate([p[1] for p in parts]))
        for f in fields(Conflicts)[2:]:
            expected = np.concatenate([getattr(p[2], f.name) for p in parts])
            assert np.array_equal(getattr(together, f.name), expected), f.name
    with pytest.raises(InvalidInputError) as err:
        detect_arrays_segments(*cols, [0, 5])
    assert err.value.field == "bounds"
