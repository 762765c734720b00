"""Broad-phase boxes are conservative everywhere; batch preparation equals the scalar path."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.geo.batch import prepare_cores
from deconflict.geo.bounds import circle_boxes, core_boxes
from deconflict.geo.core import Core
from deconflict.geo.ellipsoid import GEOD
from deconflict.strategic.conflicts import check_pair, check_pairs
from geodesy_builders import circle, corridor, offset, square, vol

LATS = st.one_of(st.floats(-80.0, 80.0), st.floats(80.0, 89.99), st.floats(-89.99, -80.0))
LONS = st.one_of(st.floats(-180.0, 180.0), st.floats(179.0, 181.0), st.floats(-181.0, -179.0))


def _inside(boxes: list[tuple[float, float, float, float]], lon: float, lat: float) -> bool:
    lon = ((lon + 180.0) % 360.0) - 180.0
    return any(
        (b[0] - 1e-9 <= lon <= b[2] + 1e-9 or (lon == -180.0 and b[2] == 180.0))
        and b[1] - 1e-9 <= lat <= b[3] + 1e-9
        for b in boxes
    )


@settings(max_examples=60, deadline=None)
@given(LONS, LATS, st.floats(100.0, 60_000.0), st.floats(0.0, 20_000.0), st.floats(0, 90))
def test_boxes_contain_every_buffered_boundary_point(
    lon: float, lat: float, half: float, width: float, rot: float
) -> None:
    for fp in (
        square(lon, lat, half, rot),
        corridor([(lon, lat), offset(lon, lat, rot, 2 * half)], max(width, 1.0)),
        circle(lon, lat, half),
    ):
        w = fp.width_m + width
        boxes = core_boxes(fp.raw_core, w)
        core = fp.core
        # points on the densified boundary, pushed outwards by w in 8 directions
        ll = core.lonlat[:: max(1, len(core.lonlat) // 40)]
        for az in np.arange(0.0, 360.0, 45.0):
            plon, plat, _ = GEOD.fwd(ll[:, 0], ll[:, 1], np.full(len(ll), az), np.full(len(ll), w))
            for x, y in zip(plon, plat, strict=True):
                assert _inside(boxes, float(x), float(y)), (fp, boxes, x, y)


def test_circle_boxes_match_core_boxes() -> None:
    rng = np.random.default_rng(1)
    lon = np.concatenate([rng.uniform(-200, 200, 500), [179.99, -179.99, 180.0, 0.0]])
    lat = np.concatenate([rng.uniform(-90, 90, 500), [0.0, 0.0, 89.6, -89.7]])
    width = np.concatenate([rng.uniform(1, 5e5, 500), [5000.0] * 4])
    owner, boxes = circle_boxes(lon, lat, width)
    for i in range(len(lon)):
        ref = sorted(core_boxes(Core.point(lon[i], lat[i]), width[i]))
        got = sorted(map(tuple, boxes[owner == i].tolist()))
        assert np.allclose(ref, got, atol=1e-9)


def test_prepare_cores_equals_scalar_cores() -> None:
    fps = [
        square(10.0, 50.0, 20_000.0),
        corridor([(179.5, 10.0), (-179.5, 10.5), (-179.0, 10.2)], 3_000.0),
        square(0.0, 89.0, 50_000.0),
    ]
    scalar = [replace(f).core for f in fps]  # fresh objects, scalar path
    prepare_cores(fps)
    for f, ref in zip(fps, scalar, strict=True):
        got, exp = f.core.lonlat, ref.lonlat
        assert got.shape == exp.shape
        _, _, d = GEOD.inv(got[:, 0], got[:, 1], exp[:, 0], exp[:, 1])
        assert float(np.max(d)) < 1e-6
        assert f.core.ring_starts == ref.ring_starts
        assert np.allclose(f.core.units, ref.units, atol=1e-15)


def test_batch_verdicts_equal_scalar_verdicts() -> None:
    rng = np.random.default_rng(5)
    vols = []
    for _ in range(60):
        lon, lat = float(rng.uniform(5, 6)), float(rng.uniform(45, 46))
        kind = rng.integers(3)
        fp = (
            circle(lon, lat, float(rng.uniform(1e3, 9e3)))
            if kind == 0
            else square(lon, lat, float(rng.uniform(1e3, 9e3)), float(rng.uniform(0, 90)))
            if kind == 1
            else corridor([(lon, lat), offset(lon, lat, float(rng.uniform(0, 360)), 2e4)], 2e3)
        )
        vols.append(vol(fp))
    pairs = [(vols[i], vols[j]) for i in range(60) for j in range(i + 1, 60)]
    batch = check_pairs(pairs)
    scalar = [check_pair(a, b) for a, b in pairs]
    assert [o is None for o in batch] == [o is None for o in scalar]
    assert sum(o is not None for o in batch) > 50


def test_many_core_boxes_match_core_boxes() -> None:
    from deconflict.geo.bounds import many_core_boxes

    rng = np.random.default_rng(2)
    fps = []
    for i in range(300):
        lon, lat = float(rng.uniform(-200, 200)), float(rng.uniform(-89.5, 89.5))
        if i % 3 == 0:
            fps.append(square(lon, lat, float(rng.uniform(100, 50_000)), float(rng.uniform(0, 90))))
        elif i % 3 == 1:
            end = offset(lon, lat, float(rng.uniform(0, 360)), float(rng.uniform(1e3, 9e4)))
            fps.append(corridor([(lon, lat), end], 1000.0))
        else:
            fps.append(circle(lon, lat, 1000.0))
    fps += [square(0.0, 88.5, 200_000.0), square(0.0, -89.0, 200_000.0)]  # polar polygons
    cores = [f.raw_core for f in fps]
    width = np.array([f.width_m + float(rng.uniform(0, 5000)) for f in fps])
    owner, boxes = many_core_boxes(cores, width)
    for i, core in enumerate(cores):
        ref = sorted(core_boxes(core, float(width[i])))
        got = sorted(map(tuple, boxes[owner == i].tolist()))
        assert len(ref) == len(got) and np.allclose(ref, got, atol=1e-9)
