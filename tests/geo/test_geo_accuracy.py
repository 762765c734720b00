"""Accuracy of the geometric verdicts against pyproj.Geod: 1 cm on footprints up to 100 km.

Every construction is exact on WGS84 (``Geod.fwd``), and each test places a probe 1 cm inside
and 1 cm outside a boundary: a geodesic polygon edge, a geodesic circle, a corridor edge.
"""

from __future__ import annotations

import numpy as np
import pytest

from deconflict.geo.core import Core, core_distance_m, point_segment_distance_m
from deconflict.geo.ellipsoid import (
    EDGE_DEVIATION_BOUND_M,
    GEOD,
    MAX_SEGMENT_M,
    CentralPlane,
    lonlat_to_unit,
    unit_to_lonlat,
)
from deconflict.geo.footprints import PolygonFootprint
from deconflict.strategic import check_pair
from geodesy_builders import circle, corridor, offset, orbit, vol

LATITUDES = [0.0, 30.0, 45.0, 60.0, 75.0, 85.0, 89.5, -45.0, -89.5]
CM = 0.01


def _ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    lo, la = np.radians(lon), np.radians(lat)
    n = a / np.sqrt(1 - e2 * np.sin(la) ** 2)
    return np.stack(
        [n * np.cos(la) * np.cos(lo), n * np.cos(la) * np.sin(lo), n * (1 - e2) * np.sin(la)], -1
    )


@pytest.mark.parametrize("lat", LATITUDES)
def test_densified_edge_is_within_bound_of_geodesic(lat: float) -> None:
    """A geodesic piece of MAX_SEGMENT_M is within 1 mm of its great-ellipse (planar) chord."""
    worst = 0.0
    for az in np.arange(0.0, 180.0, 15.0):
        lon2, lat2, _ = GEOD.fwd(10.0, lat, az, MAX_SEGMENT_M)
        pts = np.array(GEOD.npts(10.0, lat, lon2, lat2, 31))
        normal = np.cross(_ecef(np.array(10.0), np.array(lat)), _ecef(lon2, lat2))
        normal /= np.linalg.norm(normal)
        worst = max(worst, float(np.max(np.abs(_ecef(pts[:, 0], pts[:, 1]) @ normal))))
    assert worst <= EDGE_DEVIATION_BOUND_M


def test_central_plane_round_trip_is_exact() -> None:
    rng = np.random.default_rng(7)
    lon = rng.uniform(-180, 180, 200)
    lat = rng.uniform(-89.9, 89.9, 200)
    back_lon, back_lat = unit_to_lonlat(lonlat_to_unit(lon, lat))
    _, _, d = GEOD.inv(lon, lat, back_lon, back_lat)
    assert float(np.max(d)) < 1e-6
    plane = CentralPlane(lonlat_to_unit(np.array([5.0]), np.array([50.0]))[0])
    u = lonlat_to_unit(np.array([5.5, 4.0]), np.array([50.2, 49.1]))
    assert np.allclose(plane.to_unit(plane.to_plane(u)), u, atol=1e-15)


@pytest.mark.parametrize("lat", LATITUDES)
@pytest.mark.parametrize("lon", [0.0, 179.99])
def test_polygon_edge_one_centimetre(lat: float, lon: float) -> None:
    """Probes 1 cm each side of the midpoint of a 100 km geodesic edge."""
    az_ab = 60.0
    a = (lon, lat)
    b = offset(lon, lat, az_ab, 100_000.0)
    c = offset(lon, lat, az_ab - 90.0, 100_000.0)
    poly = PolygonFootprint((((a, b, c),),))
    mlon, mlat, back = GEOD.fwd(lon, lat, az_ab, 50_000.0)
    fwd_az = back + 180.0
    inside = offset(mlon, mlat, fwd_az - 90.0, CM)
    outside = offset(mlon, mlat, fwd_az + 90.0, CM)
    assert core_distance_m(poly.core, Core.point(*inside), 1.0) == 0.0
    d_out = core_distance_m(poly.core, Core.point(*outside), 1.0)
    assert d_out == pytest.approx(CM, abs=1e-3)
    # the same at volume level: a 100 m circle 100 m + 1 cm away does not conflict
    near = offset(mlon, mlat, fwd_az + 90.0, 100.0 + CM)
    far_circle = vol(circle(*near, 100.0 - CM))
    touch_circle = vol(circle(*near, 100.0 + CM))
    assert check_pair(vol(poly), far_circle) is None
    assert check_pair(vol(poly), touch_circle) is not None


def test_geodesic_edge_bows_and_naive_lonlat_chord_is_wrong() -> None:
    """A 100 km E-W edge at 60N bows ~0.4 km poleward: the geodesic verdict follows the bow."""
    a, b = (0.0, 60.0), (1.8, 60.0)
    poly = PolygonFootprint((((a, b, (1.8, 59.0), (0.0, 59.0)),),))
    mid_geodesic = GEOD.npts(*a, *b, 1)[0]
    assert mid_geodesic[1] > 60.003  # the true edge is north of the lon/lat chord
    probe_lat = 60.0 + (mid_geodesic[1] - 60.0) / 2.0  # between chord and geodesic: inside
    assert core_distance_m(poly.core, Core.point(0.9, probe_lat), 1.0) == 0.0
    beyond = core_distance_m(poly.core, Core.point(0.9, mid_geodesic[1] + 1e-6), 1.0)
    assert 0.05 < beyond < 0.2


@pytest.mark.parametrize("lat", LATITUDES)
def test_circle_is_tested_by_geodesic_distance(lat: float) -> None:
    for radius in (50.0, 5_000.0, 50_000.0):
        for az in (0.0, 37.0, 90.0, 211.0):
            inside = offset(20.0, lat, az, radius - CM)
            outside = offset(20.0, lat, az, radius + CM)
            v = vol(circle(20.0, lat, radius))
            assert v.contains(
                inside[1], inside[0], 5000.0, v.start, alt_reference=v.altitude.reference
            )
            assert not v.contains(
                outside[1], outside[0], 5000.0, v.start, alt_reference=v.altitude.reference
            )


@pytest.mark.parametrize("lat", [0.0, 45.0, 80.0, -60.0])
def test_circle_circle_one_centimetre(lat: float) -> None:
    other = offset(100.0, lat, 123.0, 60_000.0)
    _, _, d = GEOD.inv(100.0, lat, *other)
    a = vol(circle(100.0, lat, 30_000.0))
    touching = vol(circle(*other, d - 30_000.0 + CM))
    apart = vol(circle(*other, d - 30_000.0 - CM))
    assert check_pair(a, touching) is not None
    assert check_pair(a, apart) is None


@pytest.mark.parametrize("lat", [0.0, 50.0, 85.0])
def test_corridor_is_a_true_buffer(lat: float) -> None:
    start = (5.0, lat)
    end = offset(5.0, lat, 75.0, 90_000.0)
    hw = 3_704.0  # 2 NM
    c = vol(corridor([start, end], hw))
    mlon, mlat, back = GEOD.fwd(*start, 75.0, 45_000.0)
    side = back + 180.0 + 90.0
    inside = offset(mlon, mlat, side, hw - CM)
    outside = offset(mlon, mlat, side, hw + CM)
    assert c.contains(inside[1], inside[0], 1.0, c.start, alt_reference=c.altitude.reference)
    assert not c.contains(outside[1], outside[0], 1.0, c.start, alt_reference=c.altitude.reference)
    # beyond the end, the buffer is a round cap of geodesic radius hw
    cap_in = offset(*end, 75.0 + 30.0, hw - CM)
    cap_out = offset(*end, 75.0 + 30.0, hw + CM)
    assert c.contains(cap_in[1], cap_in[0], 1.0, c.start, alt_reference=c.altitude.reference)
    assert not c.contains(cap_out[1], cap_out[0], 1.0, c.start, alt_reference=c.altitude.reference)


def test_orbit_racetrack_radius() -> None:
    a, b = (10.0, 40.0), offset(10.0, 40.0, 0.0, 40_000.0)
    o = vol(orbit(a, b, 10_000.0))
    west_mid = offset(*offset(10.0, 40.0, 0.0, 20_000.0), 270.0, 10_000.0 - CM)
    assert o.contains(west_mid[1], west_mid[0], 1.0, o.start, alt_reference=o.altitude.reference)
    beyond_end = offset(*b, 0.0, 10_000.0 + CM)
    assert not o.contains(
        beyond_end[1], beyond_end[0], 1.0, o.start, alt_reference=o.altitude.reference
    )


def test_point_segment_distance_matches_dense_sampling() -> None:
    """Against a 40,000-sample brute force (sampling error < 0.1 mm at these distances)."""
    rng = np.random.default_rng(3)
    for _ in range(25):
        lat = rng.uniform(-85, 85)
        lon = rng.uniform(-180, 180)
        blon, blat, _ = GEOD.fwd(lon, lat, rng.uniform(0, 360), rng.uniform(1e3, 50e3))
        plon, plat, _ = GEOD.fwd(lon, lat, rng.uniform(0, 360), rng.uniform(5e3, 60e3))
        got = point_segment_distance_m(
            np.array([[plon, plat]]), np.array([[lon, lat]]), np.array([[blon, blat]])
        )[0]
        pts = np.array(GEOD.npts(lon, lat, blon, blat, 40_000, initial_idx=0, terminus_idx=0))
        _, _, dd = GEOD.inv(pts[:, 0], pts[:, 1], np.full(len(pts), plon), np.full(len(pts), plat))
        assert got <= float(dd.min()) + 1e-4
        assert got >= float(dd.min()) - 1e-3
