"""Scenario tests of the tactical kernel: poles, antimeridian, degenerate motion, levels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from deconflict.tactical import Conflicts, VerticalMode, detect_arrays

GEOD = Geod(ellps="WGS84")


def run(rows: list[tuple[float, float, float, float, float, float]], **kw: object) -> Conflicts:
    cols = [np.array(c, dtype=float) for c in zip(*rows, strict=True)]
    return detect_arrays(*cols, **kw)  # type: ignore[arg-type]


def test_pole_opposite_meridians_in_loss_of_separation() -> None:
    # 89.97 N on meridians 0 and 180: 0.06 deg of arc across the pole, about 3.6 NM
    c = run([(89.97, 0.0, 35000, 0, 0, 0), (89.97, 180.0, 35000, 0, 0, 0)])
    assert len(c) == 1
    expected_nm = GEOD.inv(0.0, 89.97, 180.0, 89.97)[2] / 1852.0
    assert math.isclose(c.range_nm[0], expected_nm, rel_tol=1e-4)
    assert 3.5 < c.range_nm[0] < 3.7
    assert c.t_in_s[0] == 0.0 and c.t_out_s[0] == 300.0


def test_south_pole_and_exact_pole_point() -> None:
    c = run([(-90.0, 17.0, 10000, 300, 45, 0), (-89.97, -120.0, 10000, 0, 0, 0)])
    assert len(c) == 1 and c.t_in_s[0] == 0.0


def test_crossing_the_pole_head_on() -> None:
    # two aircraft 20 NM either side of the north pole flying towards it
    lat = 90.0 - 20.0 / 60.0
    c = run([(lat, 30.0, 35000, 400, 0, 0), (lat, -150.0, 35000, 400, 0, 0)])
    assert len(c) == 1
    gap_nm = GEOD.inv(30.0, lat, -150.0, lat)[2] / 1852.0
    assert math.isclose(c.t_cpa_s[0], gap_nm / 800.0 * 3600.0, rel_tol=2e-3)
    assert c.hmd_nm[0] < 0.01


def test_antimeridian_neighbours_and_crossing() -> None:
    now = run([(0.0, 179.99, 20000, 0, 0, 0), (0.0, -179.99, 20000, 0, 0, 0)])
    assert len(now) == 1 and now.range_nm[0] < 1.3
    assert math.isclose(now.bearing_deg[0], 90.0, abs_tol=1e-6)
    assert math.isclose(now.reverse_bearing_deg[0], 270.0, abs_tol=1e-6)
    # converging across the date line: 30 NM apart, head on at 450 kt each
    later = run([(-17.0, 179.75, 35000, 450, 90, 0), (-17.0, -179.73, 35000, 450, 270, 0)])
    assert len(later) == 1
    gap_nm = GEOD.inv(179.75, -17.0, -179.73, -17.0)[2] / 1852.0
    expected_in = (gap_nm - 5.0) / 900.0 * 3600.0
    assert math.isclose(later.t_in_s[0], expected_in, abs_tol=1.0)


def test_head_on_values() -> None:
    lon = 20.0 / 60.0  # about 20 NM of longitude at the equator
    c = run([(0.0, 0.0, 35000, 400, 90, 0), (0.0, lon, 35000, 400, 270, 0)])
    gap_nm = GEOD.inv(0.0, 0.0, lon, 0.0)[2] / 1852.0
    assert len(c) == 1
    assert math.isclose(c.range_nm[0], gap_nm, rel_tol=1e-5)  # chord vs arc: (d/R)^2/24
    assert math.isclose(c.t_in_s[0], (gap_nm - 5.0) / 800.0 * 3600.0, abs_tol=0.05)
    assert math.isclose(c.t_cpa_s[0], gap_nm / 800.0 * 3600.0, abs_tol=0.05)
    assert math.isclose(c.t_out_s[0], (gap_nm + 5.0) / 800.0 * 3600.0, abs_tol=0.05)
    assert c.hmd_nm[0] < 1e-6 and c.vmd_ft[0] == 0.0 and c.vertical_ft[0] == 0.0


@pytest.mark.parametrize("fl", range(10, 600, 10))
def test_every_adjacent_flight_level_pair_is_separated(fl: int) -> None:
    lo_ft, hi_ft = fl * 100, fl * 100 + 1000
    rows = [(46.0, 8.0, lo_ft, 450, 10, 0), (46.0, 8.0, hi_ft, 450, 190, 0)]
    assert len(run(rows)) == 0
    assert len(run(rows, vertical_mode="flight-level")) == 0
    busted = [(46.0, 8.0, lo_ft, 450, 10, 0), (46.0, 8.0, hi_ft - 1, 450, 190, 0)]
    assert len(run(busted)) == 1


def test_identical_velocities_permanent_or_never() -> None:
    rows = [(50.0, 5.0, 30000, 420, 73, -500), (50.02, 5.0, 30000, 420, 73, -500)]
    c = run(rows)
    assert len(c) == 1
    assert c.t_in_s[0] == 0.0 and c.t_out_s[0] == 300.0
    assert np.isfinite(c.t_cpa_s[0]) and abs(c.t_cpa_s[0]) < 1e6
    far = [(50.0, 5.0, 30000, 420, 0, 0), (50.1, 5.0, 30000, 420, 0, 0)]  # 6 NM in trail
    assert len(run(far)) == 0


def test_zero_speed_and_colocated() -> None:
    c = run([(10.0, 10.0, 5000, 0, 0, 0), (10.0, 10.0, 5000, 0, 0, 0)])
    assert len(c) == 1
    assert c.range_nm[0] == 0.0 and c.bearing_deg[0] == 0.0 and c.t_cpa_s[0] == 0.0
    assert c.hmd_nm[0] == 0.0 and c.t_out_s[0] == 300.0


def test_vertical_only_closure() -> None:
    # same point, 3000 ft apart, the lower one climbing at 2000 ft/min through the other
    c = run([(30.0, -40.0, 10000, 0, 0, 2000), (30.0, -40.0, 13000, 0, 0, 0)])
    assert len(c) == 1
    assert c.t_in_s[0] == 60.0 and c.t_out_s[0] == 120.0
    assert c.vmd_ft[0] == 0.0 and c.vertical_ft[0] == 3000.0


def test_lookahead_boundary_is_inclusive_of_interior_only() -> None:
    # climb reaches the 1000 ft band exactly at the look-ahead: touching is not a conflict
    rows = [(0.0, 0.0, 10000, 0, 0, 1000), (0.0, 0.0, 16000, 0, 0, 0)]
    assert len(run(rows)) == 0
    rows = [(0.0, 0.0, 10000, 0, 0, 1001), (0.0, 0.0, 16000, 0, 0, 0)]
    assert len(run(rows)) == 1


def test_flight_level_mode() -> None:
    adjacent = [(46.0, 8.0, 34975, 460, 90, 64), (46.0, 8.05, 34000, 460, 270, 0)]
    assert len(run(adjacent)) == 1
    assert len(run(adjacent, vertical_mode=VerticalMode.FLIGHT_LEVEL)) == 0
    bust = [(46.0, 8.0, 34500, 460, 90, 0), (46.0, 8.05, 34000, 460, 270, 0)]
    assert len(run(bust, vertical_mode="flight-level")) == 1
    off_level = [(46.0, 8.0, 34750, 460, 90, 0), (46.0, 8.05, 34000, 460, 270, 0)]
    found = run(off_level, vertical_mode="flight-level")
    assert len(found) == 1 and found.vertical_ft[0] == 750.0
    climbing = [(46.0, 8.0, 34975, 460, 90, 1500), (46.0, 8.05, 34000, 460, 270, 0)]
    assert len(run(climbing, vertical_mode="flight-level")) == 1


def test_empty_and_single() -> None:
    assert len(detect_arrays([], [], [], [], [], [])) == 0
    assert len(run([(0.0, 0.0, 0, 0, 0, 0)])) == 0


positions = st.tuples(
    st.one_of(st.floats(-90, 90), st.sampled_from([90.0, -90.0, 89.99, -89.9])),
    st.one_of(st.floats(-180, 180), st.sampled_from([180.0, -180.0, 179.9])),
)


@settings(max_examples=200, deadline=None)
@given(start=positions, az=st.floats(0, 360), dist_nm=st.floats(0, 200))
def test_range_agrees_with_geodesic(start: tuple[float, float], az: float, dist_nm: float) -> None:
    lat1, lon1 = start
    lon2, lat2, _ = GEOD.fwd(lon1, lat1, az, dist_nm * 1852.0)
    lon2 = (lon2 + 180.0) % 360.0 - 180.0
    c = detect_arrays(
        [lat1, lat2], [lon1, lon2], [0, 0], [0, 0], [0, 0], [0, 0], horizontal_nm=250.0
    )
    geodesic_nm = GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1852.0
    assert len(c) == 1
    # the issue asks for 0.1 %; the chord in the pair plane is within (d/R)^2/24 = 0.015 %
    assert math.isclose(c.range_nm[0], geodesic_nm, rel_tol=2e-4, abs_tol=1e-9)


def test_vertical_mode_parse_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="vertical_mode"):
        VerticalMode.parse("loose")
    assert VerticalMode.parse("FLIGHT_LEVEL") is VerticalMode.FLIGHT_LEVEL


@pytest.mark.parametrize("name", ["horizontal_nm", "vertical_ft", "lookahead_s"])
def test_bad_parameters(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        detect_arrays([0], [0], [0], [0], [0], [0], **{name: -1.0})  # type: ignore[arg-type]


def test_absurd_altitude_spread_still_exact() -> None:
    # altitudes 1e12 ft apart force the dense renumbering of altitude bands
    rows = [
        (10.0, 10.0, 1e12, 300, 0, 0),
        (10.0, 10.01, 1e12 + 10, 300, 180, 0),
        (10.0, 10.0, -1e12, 0, 0, 0),
        (10.0, 10.01, -1e12 + 500, 0, 0, 0),
        (10.0, 10.0, 30000, 0, 0, 0),
    ]
    c = run(rows)
    assert list(zip(c.i.tolist(), c.j.tolist(), strict=True)) == [(0, 1), (2, 3)]
    assert c.vertical_ft.tolist() == [10.0, 500.0]


def test_non_finite_values_rejected_by_the_kernel() -> None:
    with pytest.raises(ValueError, match="alt_ft") as info:
        detect_arrays([0, 0], [0, 0], [0, float("nan")], [0, 0], [0, 0], [0, 0])
    assert info.value.row == 2  # type: ignore[attr-defined]
