"""Property tests: symmetry, party relabelling, longitude rotation, index vs brute force, and an
independent geodesic reference for circles. Generators reach the poles and the antimeridian."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.geo.ellipsoid import GEOD
from deconflict.geo.footprints import (
    CircleFootprint,
    CorridorFootprint,
    Footprint,
    OrbitFootprint,
    PolygonFootprint,
)
from deconflict.strategic import (
    AltitudeReference,
    Buffers,
    Volume4D,
    brute_force_conflicts,
    check_pair,
    find_all_conflicts,
)
from geodesy_builders import circle, corridor, offset, orbit, square, vol

LATS = st.one_of(st.floats(-80.0, 80.0), st.floats(84.0, 89.95), st.floats(-89.95, -84.0))
LONS = st.one_of(st.floats(-180.0, 180.0), st.floats(178.5, 181.5), st.floats(-181.5, -178.5))


@st.composite
def footprints(draw: st.DrawFn, lon: float, lat: float) -> Footprint:
    az = draw(st.floats(0.0, 360.0))
    dist = draw(st.floats(0.0, 40_000.0))
    clon, clat = offset(lon, lat, az, dist)
    kind = draw(st.sampled_from(["circle", "square", "corridor", "orbit"]))
    if kind == "circle":
        return circle(clon, clat, draw(st.floats(100.0, 25_000.0)))
    if kind == "square":
        return square(clon, clat, draw(st.floats(300.0, 25_000.0)), draw(st.floats(0.0, 90.0)))
    heading = draw(st.floats(0.0, 360.0))
    length = draw(st.floats(1_000.0, 40_000.0))
    end = offset(clon, clat, heading, length)
    if kind == "orbit":
        return orbit((clon, clat), end, draw(st.floats(500.0, 10_000.0)))
    bend = offset(*end, heading + draw(st.floats(-120.0, 120.0)), length / 2.0)
    return corridor([(clon, clat), end, bend], draw(st.floats(200.0, 5_000.0)))


@st.composite
def scenarios(draw: st.DrawFn) -> list[tuple[str, str, Volume4D]]:
    lon, lat = draw(LONS), draw(LATS)
    n = draw(st.integers(2, 6))
    items = []
    for k in range(n):
        start = draw(st.integers(0, 8)) * 15
        lower = draw(st.integers(0, 10)) * 1000
        buffers = draw(
            st.one_of(
                st.just(Buffers()),
                st.builds(
                    Buffers,
                    lateral_nm=st.floats(0.0, 2.0),
                    vertical_ft=st.sampled_from([0.0, 500.0]),
                    before_min=st.sampled_from([0.0, 15.0]),
                ),
            )
        )
        v = vol(
            draw(footprints(lon, lat)),
            lower,
            lower + draw(st.integers(0, 5)) * 1000,
            start,
            start + draw(st.integers(1, 6)) * 15,
            buffers=buffers,
        )
        items.append((f"v{k}", draw(st.sampled_from(["red", "blue", "green"])), v))
    return items


def _summary(conflicts: list) -> list[tuple]:  # type: ignore[type-arg]
    return [
        (c.a, c.b, c.overlap.alt_lower_ft, c.overlap.alt_upper_ft, c.overlap.start, c.overlap.end)
        for c in conflicts
    ]


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_index_agrees_with_brute_force(items: list[tuple[str, str, Volume4D]]) -> None:
    assert _summary(find_all_conflicts(items)) == _summary(brute_force_conflicts(items))


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_symmetric_and_party_relabelling(items: list[tuple[str, str, Volume4D]]) -> None:
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            ab = check_pair(items[i][2], items[j][2])
            ba = check_pair(items[j][2], items[i][2])
            assert (ab is None) == (ba is None)
            if ab is not None and ba is not None:
                assert (ab.alt_lower_ft, ab.alt_upper_ft, ab.start, ab.end) == (
                    ba.alt_lower_ft,
                    ba.alt_upper_ft,
                    ba.start,
                    ba.end,
                )
                assert ab.margins == ba.margins
    swap = {"red": "blue", "blue": "green", "green": "red"}
    relabelled = [(k, swap[p], v) for k, p, v in items]
    assert [(c.a, c.b) for c in find_all_conflicts(items)] == [
        (c.a, c.b) for c in find_all_conflicts(relabelled)
    ]


def _rotate(fp: Footprint, dlon: float) -> Footprint:
    def r(p: tuple[float, float]) -> tuple[float, float]:
        return (((p[0] + dlon + 180.0) % 360.0) - 180.0, p[1])

    if isinstance(fp, CircleFootprint):
        return replace(fp, center=r(fp.center))
    if isinstance(fp, CorridorFootprint):
        return replace(fp, centerline=tuple(r(p) for p in fp.centerline))
    if isinstance(fp, OrbitFootprint):
        return replace(fp, start=r(fp.start), end=r(fp.end))
    assert isinstance(fp, PolygonFootprint)
    return PolygonFootprint(
        tuple(tuple(tuple(r(p) for p in ring) for ring in poly) for poly in fp.polygons)
    )


@settings(max_examples=40, deadline=None)
@given(scenarios(), st.floats(-180.0, 180.0))
def test_invariant_under_longitude_rotation(
    items: list[tuple[str, str, Volume4D]], dlon: float
) -> None:
    rotated = [(k, p, replace(v, footprint=_rotate(v.footprint, dlon))) for k, p, v in items]
    assert [(c.a, c.b) for c in find_all_conflicts(items)] == [
        (c.a, c.b) for c in find_all_conflicts(rotated)
    ]


@settings(max_examples=80, deadline=None)
@given(
    LONS,
    LATS,
    st.floats(0.0, 200_000.0),
    st.floats(0, 360),
    st.floats(10.0, 80_000.0),
    st.floats(10.0, 80_000.0),
)
def test_circles_match_independent_geodesic_reference(
    lon: float, lat: float, dist: float, az: float, r1: float, r2: float
) -> None:
    other = offset(lon, lat, az, dist)
    _, _, d = GEOD.inv(lon, lat, *other)
    if abs(d - (r1 + r2)) < 0.01:  # inside the 1 cm precision band either verdict is allowed
        return
    got = check_pair(vol(circle(lon, lat, r1)), vol(circle(*other, r2))) is not None
    assert got == (d <= r1 + r2)


@settings(max_examples=40, deadline=None)
@given(
    LONS,
    LATS,
    st.floats(0, 360),
    st.floats(0.0, 60_000.0),
    st.floats(300.0, 20_000.0),
    st.floats(10.0, 30_000.0),
)
def test_square_vs_circle_matches_dense_boundary_reference(
    lon: float, lat: float, az: float, dist: float, half: float, radius: float
) -> None:
    """Reference: centre inside the polygon (planar-free: geodesic winding via Geod.inv), else
    min distance to 20,000 geodesic samples of the boundary (sampling error bounded below)."""
    sq = square(lon, lat, half)
    centre = offset(lon, lat, az, dist)
    ring = sq.polygons[0][0]
    samples = []
    for k in range(4):
        a, b = ring[k], ring[(k + 1) % 4]
        samples.extend(GEOD.npts(*a, *b, 5000, initial_idx=0, terminus_idx=0))
    lons = [p[0] for p in samples]
    lats = [p[1] for p in samples]
    _, _, dd = GEOD.inv(lons, lats, [centre[0]] * len(lons), [centre[1]] * len(lats))
    d_boundary = float(min(dd))
    _, _, d_centre = GEOD.inv(lon, lat, *centre)
    # sampling spacing <= 2*half*sqrt2/5000, so the true distance is within spacing^2/(8 d) + ...
    spacing = 2.0 * half * 2**0.5 / 5000.0
    slack = spacing  # conservative
    inside_centre = d_centre < half * 0.99  # comfortably inside the inscribed circle
    if inside_centre:
        expected = True
    elif abs(d_boundary - radius) <= slack + 0.01:
        return
    else:
        expected = d_boundary <= radius or d_centre <= half
        if half < d_centre < half * 2**0.5:  # between inscribed and circumscribed: ambiguous
            return
    got = check_pair(vol(sq), vol(circle(*centre, radius))) is not None
    assert got == expected


def test_reference_consistency_smoke() -> None:
    """A fixed scenario through both paths (guards against a vacuous generator)."""
    no = [
        ("a", "red", vol(square(179.9, 60.0, 5_000.0))),
        ("b", "blue", vol(circle(-179.95, 60.0, 3_300.0))),
    ]
    assert find_all_conflicts(no) == [] == brute_force_conflicts(no)
    items = [
        ("a", "red", vol(square(179.9, 60.0, 5_000.0))),
        ("b", "blue", vol(circle(-179.95, 60.0, 3_500.0))),  # gap to a: 3,369 m
        ("c", "blue", vol(circle(10.0, 60.0, 3_000.0), reference=AltitudeReference.FL)),
    ]
    assert [(c.a, c.b) for c in find_all_conflicts(items)] == [("a", "b")]
    assert [(c.a, c.b) for c in brute_force_conflicts(items)] == [("a", "b")]


@settings(max_examples=40, deadline=None)
@given(
    scenarios(), st.floats(0.1, 3.0), st.sampled_from([0.0, 300.0]), st.sampled_from([0.0, 20.0])
)
def test_larger_buffers_give_a_superset(
    items: list[tuple[str, str, Volume4D]], lateral_nm: float, vertical_ft: float, minutes: float
) -> None:
    def grow(v: Volume4D) -> Volume4D:
        b = v.buffers
        return replace(
            v,
            buffers=Buffers(
                b.lateral_nm + lateral_nm,
                b.vertical_ft + vertical_ft,
                b.before_min + minutes,
                b.after_min + minutes,
            ),
        )

    base = {(c.a, c.b) for c in find_all_conflicts(items)}
    grown = {(c.a, c.b) for c in find_all_conflicts([(k, p, grow(v)) for k, p, v in items])}
    assert base <= grown
