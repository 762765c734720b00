"""Discretisation completeness against the exact engine (poles and +-180 deg included).

Two properties, both with an independent reference:

* every point the exact membership test puts inside a volume (with buffers) falls in one of the
  volume's cells (H3 cell of the point x its time slot x its ft AMSL layer);
* every pair the exact engine (``check_pair``) reports as conflicting shares a cell, including
  pairs built to *touch* (placed at exactly the sum of their widths, geodesically).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import h3
import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from deconflict.formats.geojson import read_plan
from deconflict.geo.ellipsoid import GEOD
from deconflict.private.cells import (
    CellLimitError,
    Cells,
    Grid,
    altitude_layers,
    discretise,
    time_slots,
)
from deconflict.strategic import (
    AltitudeBand,
    AltitudeReference,
    Buffers,
    Footprint,
    Volume4D,
    check_pair,
    footprint_from_json,
)
from geodesy_builders import at, circle, corridor, offset, orbit, square, vol

LATS = st.one_of(st.floats(-75.0, 75.0), st.floats(84.0, 89.9), st.floats(-89.9, -84.0))
LONS = st.one_of(st.floats(-180.0, 180.0), st.floats(179.0, 181.0), st.floats(-181.0, -179.0))
REFS = st.sampled_from(list(AltitudeReference))
GRID = Grid(resolution=6, slot_s=600, layer_ft=2000)
EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "deconflict" / "examples"


@st.composite
def footprints(draw: st.DrawFn, lon: float, lat: float) -> Footprint:
    kind = draw(st.sampled_from(["circle", "square", "corridor", "orbit"]))
    if kind == "circle":
        return circle(lon, lat, draw(st.floats(100.0, 12_000.0)))
    if kind == "square":
        return square(lon, lat, draw(st.floats(300.0, 10_000.0)), draw(st.floats(0.0, 90.0)))
    heading = draw(st.floats(0.0, 360.0))
    end = offset(lon, lat, heading, draw(st.floats(1_000.0, 20_000.0)))
    if kind == "orbit":
        return orbit((lon, lat), end, draw(st.floats(500.0, 5_000.0)))
    bend = offset(*end, heading + draw(st.floats(-120.0, 120.0)), 8_000.0)
    return corridor([(lon, lat), end, bend], draw(st.floats(200.0, 3_000.0)))


@st.composite
def volumes(draw: st.DrawFn, lon: float, lat: float) -> Volume4D:
    ref = draw(REFS)
    lower = draw(st.integers(0, 30)) * 500.0
    upper = lower + draw(st.integers(0, 8)) * 500.0
    if ref is AltitudeReference.FL:
        lower, upper = lower / 100.0, upper / 100.0
    elif ref is AltitudeReference.M_W84:
        lower, upper = lower * 0.3048, upper * 0.3048
    start = draw(st.integers(0, 12)) * 7.0
    buffers = draw(
        st.one_of(
            st.just(Buffers()),
            st.builds(
                Buffers,
                lateral_nm=st.floats(0.0, 1.5),
                vertical_ft=st.sampled_from([0.0, 500.0]),
                before_min=st.sampled_from([0.0, 15.0]),
                after_min=st.sampled_from([0.0, 10.0]),
            ),
        )
    )
    return Volume4D(
        draw(footprints(lon, lat)),
        AltitudeBand(lower, upper, ref),
        at(start),
        at(start + draw(st.integers(1, 9)) * 7.0),
        buffers,
    )


def _amsl_point(v: Volume4D, frac: float) -> float:
    lo, hi, _ = v.altitude.amsl_ft()
    return lo + (hi - lo) * frac


def _cell_of(lon: float, lat: float, t_s: float, alt_ft: float, grid: Grid) -> tuple[int, int, int]:
    lon = ((lon + 180.0) % 360.0) - 180.0
    return (
        h3.str_to_int(h3.latlng_to_cell(lat, lon, grid.resolution)),
        math.floor(t_s / grid.slot_s),
        math.floor(alt_ft / grid.layer_ft),
    )


@settings(max_examples=40, deadline=None)
@given(st.data(), LONS, LATS)
def test_every_inside_point_is_in_a_cell(data: st.DataObject, lon: float, lat: float) -> None:
    v = data.draw(volumes(lon, lat))
    cells = set(discretise(v, GRID).keys())
    # points on and near the buffered boundary: from core vertices, out to the buffered width
    core = v.footprint.core
    n = 64
    idx = np.arange(n) % len(core.lonlat)
    az = np.linspace(0.0, 360.0, n, endpoint=False) + 3.0
    dist = v.buffered_width_m * np.linspace(0.97, 1.0, n) + 0.004
    plon, plat, _ = GEOD.fwd(core.lonlat[idx, 0], core.lonlat[idx, 1], az, dist)
    t = v.buffered_end
    alt = _amsl_point(v, 0.5)
    inside = v.contains_many(
        plat,
        plon,
        np.full(n, alt),
        [t] * n,
        alt_reference=AltitudeReference.FT_AMSL,
        with_buffers=True,
    )
    t_s = t.timestamp()
    event(f"inside points: {min(int(np.sum(inside)), 1)}")
    for k in np.nonzero(inside)[0]:
        assert _cell_of(float(plon[k]), float(plat[k]), t_s, alt, GRID) in cells
    # time and altitude extremes of the buffered volume
    s0, s1 = time_slots(v, GRID)
    assert s0 == math.floor(v.buffered_start.timestamp() / GRID.slot_s)
    assert s1 == math.floor(v.buffered_end.timestamp() / GRID.slot_s)
    l0, l1 = altitude_layers(v, GRID)
    lo, hi, _ = v.altitude.amsl_ft()
    assert l0 <= math.floor((lo - v.buffers.vertical_ft) / GRID.layer_ft)
    assert l1 >= math.floor((hi + v.buffers.vertical_ft) / GRID.layer_ft)


def _share(a: Volume4D, b: Volume4D) -> bool:
    return bool(set(discretise(a, GRID).keys()) & set(discretise(b, GRID).keys()))


@settings(max_examples=50, deadline=None)
@given(st.data(), LONS, LATS, st.floats(0.0, 360.0), st.floats(0.9, 1.0))
def test_touching_and_overlapping_pairs_share_a_cell(
    data: st.DataObject, lon: float, lat: float, az: float, frac: float
) -> None:
    a = data.draw(volumes(lon, lat))
    # b: a circle whose edge reaches a's buffered edge (touching at frac = 1.0)
    vertex = a.footprint.core.lonlat[data.draw(st.integers(0, len(a.footprint.core.lonlat) - 1))]
    radius = data.draw(st.floats(200.0, 6_000.0))
    centre = offset(float(vertex[0]), float(vertex[1]), az, (a.buffered_width_m + radius) * frac)
    b0 = data.draw(volumes(*centre))
    b = Volume4D(circle(*centre, radius), b0.altitude, b0.start, b0.end, Buffers(), "b")
    if check_pair(a, b) is not None:
        event("touching pair conflicts")
        assert _share(a, b)
    if check_pair(a, b0) is not None:
        assert _share(a, b0)


def test_exact_touch_at_the_pole_and_antimeridian() -> None:
    for lon, lat in ((179.999, 0.0), (-179.999, 45.0), (0.0, 89.99), (120.0, -89.99)):
        a = vol(circle(lon, lat, 5_000.0), 0, 5_000)
        c2 = offset(lon, lat, 77.0, 5_000.0 + 3_000.0)  # edges touch
        b = vol(circle(*c2, 3_000.0), 5_000, 9_000)  # bands touch at 5000 ft
        assert check_pair(a, b) is not None
        assert _share(a, b)
        far = vol(circle(*offset(lon, lat, 77.0, 60_000.0), 3_000.0), 5_000, 9_000)
        assert check_pair(a, far) is None and not _share(a, far)


def test_time_slots_touching_windows_and_references() -> None:
    fp = circle(2.0, 44.0, 5_000.0)
    a = vol(fp, 50, 100, 0, 60, reference=AltitudeReference.FL)
    b = vol(fp, 0, 3_500, 60, 120)  # touches a at minute 60 and FL50 - 1500 ft (widened)
    assert check_pair(a, b) is not None and _share(a, b)
    c = vol(fp, 0, 3_500, 61, 120, buffers=Buffers(before_min=1.0))
    assert check_pair(a, c) is not None and _share(a, c)
    d = vol(fp, 0, 1_000, 240, 300)
    assert check_pair(a, d) is None and not _share(a, d)


def test_real_example_plan_is_complete() -> None:
    plan = read_plan((EXAMPLES / "corridor_vs_exercise.geojson").read_text(encoding="utf-8"))
    grid = Grid(resolution=6, slot_s=300, layer_ft=1000)
    cells = {p.key: set(discretise(p.volume, grid).keys()) for p in plan.volumes}
    for p in plan.volumes:
        for q in plan.volumes:
            if p.party < q.party and check_pair(p.volume, q.volume) is not None:
                assert cells[p.key] & cells[q.key], (p.key, q.key)
    # the refuelling circle (FL160-200) and the exercise (FL50-150 + 500 ft) are apart in
    # altitude by more than the FL widening, so they share no cell either
    assert sum(bool(cells[p.key]) for p in plan.volumes) == len(plan.volumes)


def test_real_airspace_polygons_at_real_sizes(shared_data: Path) -> None:
    doc = json.loads((shared_data / "airspace_LFBOTMA_toulouse.json").read_text(encoding="utf-8"))
    route = corridor([(0.62, 44.17), (1.37, 43.63), (2.35, 43.21)], 3_704.0)
    low = vol(route, 30, 50, reference=AltitudeReference.FL)
    grid = Grid(resolution=6, slot_s=900, layer_ft=1000)
    mine = set(discretise(low, grid).keys())
    hits = 0
    for s in doc["shapes"]:
        fp = footprint_from_json({"type": "polygon", "coordinates": s["polygon"]["coordinates"]})
        v = vol(fp, s["lower"], s["upper"], reference=AltitudeReference.FL)
        if check_pair(low, v) is not None:
            hits += 1
            assert mine & set(discretise(v, grid).keys())
    assert hits


def test_cap_is_a_clear_error() -> None:
    big = vol(circle(10.0, 50.0, 200_000.0), 0, 40_000, 0, 600)
    with pytest.raises(CellLimitError) as err:
        discretise(big, Grid(resolution=7, slot_s=300, layer_ft=1000), max_cells=50_000, where="X")
    assert "X" in err.value.field and "50000" in err.value.reason
    long = vol(circle(10.0, 50.0, 100.0), 0, 40_000, 0, 60 * 24 * 30)
    with pytest.raises(CellLimitError, match="time slots"):
        discretise(long, GRID, max_cells=10_000)


def test_cells_union_sorted_unique() -> None:
    a = discretise(vol(circle(5.0, 45.0, 3_000.0)), GRID)
    b = discretise(vol(circle(5.01, 45.0, 3_000.0)), GRID)
    u = Cells.union([a, b])
    assert set(u.keys()) == set(a.keys()) | set(b.keys())
    assert len(u) == len(set(u.keys()))


def test_h3_radius_bound_holds_where_cells_are_most_distorted() -> None:
    # the factor behind Grid.radius_m: centre-to-vertex distance over all resolution-2 cells
    worst = 0.0
    for r0 in h3.get_res0_cells():
        for c in h3.cell_to_children(r0, 2):
            la, lo = h3.cell_to_latlng(c)
            b = np.array(h3.cell_to_boundary(c))
            _, _, d = GEOD.inv(np.full(len(b), lo), np.full(len(b), la), b[:, 1], b[:, 0])
            worst = max(worst, float(np.max(d)))
    assert worst <= Grid(resolution=2).radius_m / 1.1
