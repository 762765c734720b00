"""Volume-vs-volume conflicts: boundaries, buffers, references, multi-volume notices."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import shape

from deconflict.geo.ellipsoid import GEOD
from deconflict.strategic import (
    AltitudeReference,
    Buffers,
    VolumeIndex,
    brute_force_conflicts,
    check_pair,
    find_all_conflicts,
    find_conflicts,
)
from deconflict.units import nm_to_m
from geodesy_builders import at, circle, corridor, offset, square, vol


def test_time_touching_is_a_conflict_unless_half_open() -> None:
    a = vol(square(2.0, 45.0, 5_000.0), start_min=0, end_min=60)
    b = vol(square(2.0, 45.0, 5_000.0), start_min=60, end_min=120)
    ov = check_pair(a, b)
    assert ov is not None and ov.start == ov.end == at(60)
    assert check_pair(a, b, half_open_time=True) is None
    c = vol(square(2.0, 45.0, 5_000.0), start_min=60.001, end_min=120)
    assert check_pair(a, c) is None


def test_altitude_touching_is_a_conflict() -> None:
    a = vol(circle(2.0, 45.0, 5_000.0), 0, 5_000)
    b = vol(circle(2.0, 45.0, 5_000.0), 5_000, 9_000)
    ov = check_pair(a, b)
    assert ov is not None and (ov.alt_lower_ft, ov.alt_upper_ft) == (5_000, 5_000)
    assert check_pair(a, vol(circle(2.0, 45.0, 5_000.0), 5_000.5, 9_000)) is None


def test_touching_footprints_conflict_and_one_cm_gap_does_not() -> None:
    a = square(10.0, 50.0, 10_000.0)
    # b's west edge is a's east edge: share two vertices exactly
    ring_a = a.polygons[0][0]
    east = (ring_a[0], ring_a[1])  # vertices at az 45 and 135
    far = [offset(*p, 90.0, 20_000.0) for p in east]
    from deconflict.geo.footprints import PolygonFootprint

    b = PolygonFootprint((((east[0], far[0], far[1], east[1]),),))
    assert check_pair(vol(a), vol(b)) is not None


def test_buffers_cause_conflict_and_margins_report_it() -> None:
    a = vol(circle(0.0, 0.0, 1_000.0), 0, 1_000, 0, 30)
    far_lon, far_lat = offset(0.0, 0.0, 90.0, 2_000.0 + nm_to_m(0.5))
    b = vol(circle(far_lon, far_lat, 1_000.0), 1_200, 2_000, 40, 60)
    assert check_pair(a, b) is None
    b_buf = vol(
        circle(far_lon, far_lat, 1_000.0),
        1_200,
        2_000,
        40,
        60,
        buffers=Buffers(lateral_nm=0.6, vertical_ft=250, before_min=10),
    )
    ov = check_pair(a, b_buf)
    assert ov is not None
    assert ov.margins.lateral_nm == pytest.approx(0.5, abs=1e-6)
    assert ov.margins.vertical_ft == pytest.approx(200.0)
    assert ov.margins.time_min == pytest.approx(10.0)
    assert ov.margins.caused_by_buffers
    assert (ov.alt_lower_ft, ov.alt_upper_ft) == (950.0, 1_000.0)
    assert (ov.start, ov.end) == (at(30), at(30))


def test_references_same_exact_different_approximate() -> None:
    fl = vol(circle(0, 0, 1000), 50, 60, reference=AltitudeReference.FL)
    fl2 = vol(circle(0, 0, 1000), 60, 70, reference=AltitudeReference.FL)
    ov = check_pair(fl, fl2)
    assert ov is not None and not ov.approximate and ov.alt_reference == "fl"
    assert (ov.alt_lower_ft, ov.alt_upper_ft) == (6000.0, 6000.0)
    amsl = vol(circle(0, 0, 1000), 7_000, 8_000)
    ov2 = check_pair(fl, amsl)  # FL60 top vs 7000 ft AMSL: within the 1500 ft uncertainty
    assert ov2 is not None and ov2.approximate and ov2.alt_reference == "ft_amsl"
    assert check_pair(fl, vol(circle(0, 0, 1000), 7_600, 8_000)) is None
    w84 = vol(circle(0, 0, 1000), 2_000, 2_100, reference=AltitudeReference.M_W84)
    assert check_pair(w84, vol(circle(0, 0, 1000), 6_900, 7_000)) is not None  # 6562 ft + 361
    assert check_pair(w84, vol(circle(0, 0, 1000), 7_300, 7_400)) is None


def test_route_crossed_in_space_by_one_volume_and_in_time_by_another_is_not_a_conflict() -> None:
    """Leg 1 is where the area is, but at another time; leg 2 is when, but elsewhere."""
    leg1 = vol(corridor([(1.0, 44.0), (1.5, 44.0)], 2_000.0), start_min=0, end_min=30, vid="leg1")
    leg2 = vol(corridor([(1.5, 44.0), (1.5, 44.5)], 2_000.0), start_min=30, end_min=60, vid="leg2")
    area_early = vol(square(1.25, 44.0, 3_000.0), start_min=40, end_min=90)  # over leg1, later
    area_late = vol(square(2.5, 44.2, 3_000.0), start_min=0, end_min=60)  # during, elsewhere
    items = [
        ("leg1", "red", leg1),
        ("leg2", "red", leg2),
        ("area1", "blue", area_early),
        ("area2", "blue", area_late),
    ]
    assert find_all_conflicts(items) == []
    assert brute_force_conflicts(items) == []
    # the notice's bounding box would overlap both areas in space and time
    idx = VolumeIndex()
    idx.add_many(items[2:])
    assert find_conflicts(items[:2], idx) == []


def test_same_party_never_conflicts() -> None:
    a = vol(square(0, 0, 1000))
    assert find_all_conflicts([("a", "p", a), ("b", "p", a)]) == []
    assert [c.parties for c in []] == []
    got = find_all_conflicts([("a", "p", a), ("b", "q", a)])
    assert [(c.a, c.b, c.party_a, c.party_b) for c in got] == [("a", "b", "p", "q")]


def test_overlap_geometry_is_the_intersection() -> None:
    a = vol(square(5.0, 45.0, 10_000.0))
    b = vol(circle(*offset(5.0, 45.0, 90.0, 10_000.0), 5_000.0))
    ov = check_pair(a, b)
    assert ov is not None
    geom = shape(ov.geometry)
    assert geom.geom_type == "Polygon"
    # half a 5 km circle: area ~ pi*5000^2/2 m^2; measure geodesically
    area, _ = GEOD.geometry_area_perimeter(geom)
    assert abs(area) == pytest.approx(3.14159 * 5_000.0**2 / 2.0, rel=2e-3)
    # every overlap vertex is inside both volumes (within the 1 m drawing tolerance)
    for lon, lat in list(geom.exterior.coords)[::10]:
        _, _, d = GEOD.inv(lon, lat, *offset(5.0, 45.0, 90.0, 10_000.0))
        assert d <= 5_000.0 + 1.0
        assert lon <= 5.0 + 0.13


def test_antimeridian_polygon_written_both_ways() -> None:
    from deconflict.geo.footprints import PolygonFootprint

    ring_wrapped = ((179.5, -16.0), (-179.5, -16.0), (-179.5, -17.0), (179.5, -17.0))
    ring_unwrapped = ((179.5, -16.0), (180.5, -16.0), (180.5, -17.0), (179.5, -17.0))
    pw = vol(PolygonFootprint(((ring_wrapped,),)))
    pu = vol(PolygonFootprint(((ring_unwrapped,),)))
    for probe_lon in (-179.9, 179.9, 180.1):
        c = vol(circle(probe_lon, -16.5, 500.0))
        assert check_pair(pw, c) is not None
        assert check_pair(pu, c) is not None
    outside = vol(circle(-179.0, -16.5, 500.0))
    assert check_pair(pw, outside) is None and check_pair(pu, outside) is None
    idx = VolumeIndex()
    idx.add("w", "blue", pw)
    assert idx.query(vol(circle(-179.9, -16.5, 100.0))) == ["w"]
    assert idx.query(vol(circle(179.9, -16.5, 100.0))) == ["w"]
    geometry = check_pair(pw, vol(circle(180.0, -16.5, 20_000.0)))
    assert geometry is not None
    gj = geometry.geometry
    assert gj["type"] == "MultiPolygon"
    assert all(-180.0 <= x <= 180.0 for poly in gj["coordinates"] for x, _ in poly[0])
    assert shapely.get_num_geometries(shape(gj)) == 2


def test_poles() -> None:
    from deconflict.geo.footprints import PolygonFootprint

    cap = vol(PolygonFootprint(((((0.0, 88.0), (90.0, 88.0), (180.0, 88.0), (-90.0, 88.0)),),)))
    at_pole = vol(circle(45.0, 90.0, 100.0))
    assert check_pair(cap, at_pole) is not None
    assert check_pair(cap, vol(circle(33.0, 89.0, 10.0))) is not None
    assert check_pair(cap, vol(circle(33.0, 87.0, 10.0))) is None
    idx = VolumeIndex()
    idx.add("cap", "b", cap)
    assert idx.query(vol(circle(-120.0, 89.5, 10.0))) == ["cap"]
    south = vol(circle(0.0, -90.0, 50_000.0))
    assert check_pair(south, vol(circle(170.0, -89.6, 10_000.0))) is not None


def test_far_apart_volumes_lines_and_zones_do_not_break_the_projection() -> None:
    from deconflict.strategic import AgreedLine, NoticeZone, line_conflicts, zone_requirements

    europe = vol(square(2.0, 45.0, 50_000.0))
    australia = vol(circle(150.0, -30.0, 20_000.0))
    antipode = vol(circle(-178.0, -45.0, 20_000.0))
    assert check_pair(europe, australia) is None
    assert check_pair(europe, antipode) is None
    items = [("eu", "a", europe), ("au", "b", australia), ("anti", "c", antipode)]
    assert find_all_conflicts(items) == [] == brute_force_conflicts(items)
    line = AgreedLine("L", ((150.0, -31.0), (150.0, -29.0)), {"a": "left"})
    assert line_conflicts(europe, "a", [line]) == []
    zone = NoticeZone(
        "Z", square(150.0, -30.0, 9_000.0), europe.altitude, 60.0, europe.start, europe.end
    )
    assert zone_requirements(europe, [zone], submitted_at=europe.start) == []
