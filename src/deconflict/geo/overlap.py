"""The intersection footprint of two buffered cores, as GeoJSON in lon/lat.

The verdict (do they intersect) comes from :func:`deconflict.geo.core.core_distance_m`; this
module only *draws* the overlap. Outlines are built from exact WGS84 points (geodesic circle
points around caps, perpendicular geodesic offsets along segments) joined by straight planar
chords in the pair's central plane, with caps sampled so the chord sag stays under
:data:`OUTLINE_SAG_M`. Output follows RFC 7946: longitudes in -180..180, a shape crossing the
antimeridian is split into a MultiPolygon.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry import mapping

from deconflict.geo.core import Core, pair_plane
from deconflict.geo.ellipsoid import (
    GEOD,
    MEAN_RADIUS_M,
    CentralPlane,
    lonlat_to_unit,
    unit_to_lonlat,
)
from deconflict.units import FloatArray

OUTLINE_SAG_M: Final = 1.0
"""Largest chord sag (m) of the drawn round parts of an overlap outline."""

MAX_CAP_POINTS: Final = 720
"""Cap on points per drawn circle."""


def _circle_points(lon: float, lat: float, radius_m: float) -> FloatArray:
    ratio = min(1.0, OUTLINE_SAG_M / radius_m)
    n = int(min(MAX_CAP_POINTS, max(32, math.ceil(math.pi / math.acos(1.0 - ratio)))))
    az = np.linspace(0.0, 360.0, n, endpoint=False)
    plon, plat, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, radius_m))
    return np.stack([plon, plat], axis=-1)


def buffered_planar(core: Core, width_m: float, plane: CentralPlane) -> shapely.Geometry:
    """The set within ``width_m`` of ``core``, drawn in ``plane`` coordinates.

    Round parts are geodesic circles (exact WGS84 points, sag <= :data:`OUTLINE_SAG_M`); straight
    runs of the path are bands bounded by exact perpendicular geodesic offsets of every vertex.
    """
    base = core.planar(plane)
    if width_m <= 0.0:
        return base

    def circle_at(k: int) -> shapely.Geometry:
        pts = _circle_points(float(core.lonlat[k, 0]), float(core.lonlat[k, 1]), width_m)
        return shapely.polygons(plane.to_plane(lonlat_to_unit(pts[:, 0], pts[:, 1])))

    if core.kind == "point":
        return circle_at(0)
    ll = core.lonlat
    xy = plane.to_plane(core.units)
    seg_i, seg_j = core.seg_i, core.seg_j
    a, b = ll[seg_i], ll[seg_j]
    az_ab, az_ba, _ = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    az_ab = np.asarray(az_ab, dtype=np.float64)
    az_ba = np.asarray(az_ba, dtype=np.float64)
    w = np.full(len(a), width_m)

    def offsets(lon: FloatArray, lat: FloatArray, az: FloatArray) -> FloatArray:
        plon, plat, _ = GEOD.fwd(lon, lat, az, w)
        out: FloatArray = plane.to_plane(lonlat_to_unit(np.asarray(plon), np.asarray(plat)))
        return out

    right_start = offsets(a[:, 0], a[:, 1], az_ab + 90.0)
    left_start = offsets(a[:, 0], a[:, 1], az_ab - 90.0)
    right_end = offsets(b[:, 0], b[:, 1], az_ba - 90.0)
    left_end = offsets(b[:, 0], b[:, 1], az_ba + 90.0)
    # a run continues from segment s to s + 1 when they share a vertex and do not turn
    d = xy[seg_j] - xy[seg_i]
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    joined = seg_j[:-1] == seg_i[1:]
    cross = np.abs(d[:-1, 0] * d[1:, 1] - d[:-1, 1] * d[1:, 0])
    dot = np.einsum("ij,ij->i", d[:-1], d[1:])
    straight = joined & (cross <= 1e-4) & (dot > 0.0)
    breaks = np.concatenate([[0], np.nonzero(~straight)[0] + 1, [len(a)]])
    pieces: list[shapely.Geometry] = [base] if core.kind == "polygon" else []
    cap_vertices: set[int] = set()
    for r in range(len(breaks) - 1):
        s0, s1 = int(breaks[r]), int(breaks[r + 1])
        if s1 <= s0:
            continue
        ring = np.concatenate(
            [
                right_start[s0:s1],
                right_end[s1 - 1 : s1],
                left_end[s1 - 1 : s1],
                left_start[s0:s1][::-1],
            ]
        )
        pieces.append(shapely.polygons(ring))
        cap_vertices.add(int(seg_i[s0]))
        cap_vertices.add(int(seg_j[s1 - 1]))
    pieces.extend(circle_at(k) for k in sorted(cap_vertices))
    return shapely.union_all(pieces)


def overlap_planar(
    a: Core, a_width_m: float, b: Core, b_width_m: float
) -> tuple[shapely.Geometry, CentralPlane]:
    """Intersection of the two buffered cores in their pair plane, and that plane."""
    plane = pair_plane(a, b)
    ga = buffered_planar(a, a_width_m, plane)
    gb = buffered_planar(b, b_width_m, plane)
    inter = shapely.intersection(ga, gb)
    if inter.is_empty:
        # touching within tolerance: report the touching point
        pa, pb = shapely.shortest_line(ga, gb).coords
        inter = shapely.points([(pa[0] + pb[0]) / 2.0, (pa[1] + pb[1]) / 2.0])
    return inter, plane


def planar_to_geojson(geom: shapely.Geometry, plane: CentralPlane) -> dict[str, Any]:
    """Convert a planar geometry to RFC 7946 GeoJSON in lon/lat.

    A geometry crossing the antimeridian is split *in the plane* along the image of the 180 deg
    meridian (a great circle, hence a straight line there), so the cut introduces no error;
    the parts become a MultiPolygon with longitudes in -180..180.
    """
    centre_lon = float(unit_to_lonlat(plane.centre[None, :])[0][0])

    def to_lonlat(coords: FloatArray) -> FloatArray:
        lon, lat = unit_to_lonlat(plane.to_unit(coords))
        lon = centre_lon + ((lon - centre_lon + 180.0) % 360.0 - 180.0)
        return np.stack([lon, lat], axis=-1)

    ll = shapely.transform(geom, to_lonlat)
    minx, _, maxx, _ = ll.bounds
    if minx < -180.0 or maxx > 180.0:
        ll = _split_at_antimeridian(geom, plane, ll)
    out: dict[str, Any] = _plain(mapping(ll))
    return out


def _split_at_antimeridian(
    geom: shapely.Geometry, plane: CentralPlane, unsplit: shapely.Geometry
) -> shapely.Geometry:
    # ECEF y of the direction is linear in planar (x, y): f = c_y + (x e_y + y n_y) / R.
    a = float(plane.east[1]) / MEAN_RADIUS_M
    b = float(plane.north[1]) / MEAN_RADIUS_M
    c = float(plane.centre[1])
    norm = math.hypot(a, b)
    minx, miny, maxx, maxy = geom.bounds
    mid = np.array([(minx + maxx) / 2.0, (miny + maxy) / 2.0])
    size = 4.0 * max(maxx - minx, maxy - miny, 1.0)
    normal = np.array([a, b]) / norm
    foot = mid - normal * (a * mid[0] + b * mid[1] + c) / norm  # closest point of the line
    along = np.array([b, -a]) / norm
    parts = []
    for sign, lo, hi in ((1.0, 0.0, 180.0), (-1.0, -180.0, 0.0)):
        side = foot + sign * normal * size
        half = shapely.polygons(
            [foot - along * size, foot + along * size, side + along * size, side - along * size]
        )
        piece = shapely.intersection(geom, half)
        if piece.is_empty or (geom.area > 0.0 and piece.area == 0.0):
            continue

        def to_side(coords: FloatArray, lo: float = lo, hi: float = hi) -> FloatArray:
            lon, lat = unit_to_lonlat(plane.to_unit(coords))
            lon = np.where(
                lon < lo - 90.0, lon + 360.0, np.where(lon > hi + 90.0, lon - 360.0, lon)
            )
            return np.stack([np.clip(lon, lo, hi), lat], axis=-1)

        parts.append(shapely.transform(piece, to_side))
    if not parts:
        return unsplit
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _plain(obj: Any) -> Any:
    """Tuples to lists, recursively (JSON-friendly, stable equality)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj
