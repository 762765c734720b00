"""The drawn overlap outline lies on the true geodesic buffer boundary within the 1 m sag."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from deconflict.geo.core import Core, core_distance_m, pair_plane
from deconflict.geo.overlap import OUTLINE_SAG_M, buffered_planar, planar_to_geojson
from geodesy_builders import circle, corridor, offset, square


@pytest.mark.parametrize("lat", [0.0, 47.0, 80.0])
@pytest.mark.parametrize("lon", [10.0, 179.9])
def test_buffer_outline_vertices_are_at_the_buffer_distance(lat: float, lon: float) -> None:
    w = 4_000.0
    for fp in (
        corridor(
            [(lon, lat), offset(lon, lat, 70.0, 30_000.0), offset(lon, lat, 20.0, 45_000.0)], 1.0
        ),
        square(lon, lat, 10_000.0, 15.0),
        circle(lon, lat, 1.0),
    ):
        core = fp.core
        plane = pair_plane(core, core)
        outline = buffered_planar(core, w, plane)
        gj = planar_to_geojson(outline, plane)
        ring = np.asarray(
            gj["coordinates"][0] if gj["type"] == "Polygon" else gj["coordinates"][0][0]
        )
        for x, y in ring[:: max(1, len(ring) // 60)]:
            d = core_distance_m(core, Core.point(float(x), float(y)), w + 10.0)
            # exact vertices sit at w; chord cuts (unions, antimeridian split) within the sag
            assert abs(d - w) <= OUTLINE_SAG_M + 0.01


def test_overlap_of_two_circles_is_a_lens_inside_both() -> None:
    from deconflict.geo.overlap import overlap_planar

    a = Core.point(5.0, 45.0)
    b_lonlat = offset(5.0, 45.0, 90.0, 15_000.0)
    b = Core.point(*b_lonlat)
    geom, plane = overlap_planar(a, 10_000.0, b, 10_000.0)
    assert shapely.get_type_id(geom) == 3  # Polygon
    gj = planar_to_geojson(geom, plane)
    for x, y in gj["coordinates"][0]:
        assert core_distance_m(a, Core.point(x, y), 10_010.0) <= 10_000.0 + 0.01
        assert core_distance_m(b, Core.point(x, y), 10_010.0) <= 10_000.0 + 0.01
