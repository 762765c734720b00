"""WGS84 ellipsoid primitives: geodesics, ECEF vectors and the per-pair central projection.

Why a *central* (great-ellipse gnomonic) projection
---------------------------------------------------
A point is mapped to the plane tangent (at a chosen centre) to the unit sphere along the ray from
the Earth's centre through its ECEF position. Any plane through the Earth's centre meets the
tangent plane in a straight line, so **great-ellipse arcs project to exactly straight segments**.
A WGS84 geodesic departs from the great ellipse through its end points by at most
``0.657 m * (L / 100 km)**2`` (measured against ``pyproj.Geod`` at latitudes 0-89 deg and azimuths
0-135 deg, see ``tests/geo/test_geo_ellipsoid.py``). Densifying every geodesic edge to at most
:data:`MAX_SEGMENT_M` therefore keeps the straight planar edge within
:data:`EDGE_DEVIATION_BOUND_M` of the true geodesic edge, anywhere on Earth (poles and the
antimeridian included: the construction never uses longitudes as numbers).

The projection is a homeomorphism of the open hemisphere around the centre, so *whether two
regions intersect* is decided exactly in the plane (up to the edge bound). Distances are not
preserved by the plane; they are always finished with true geodesics
(:mod:`deconflict.geo.core`).

This module is pure: no I/O, no clock. :data:`GEOD` is an immutable WGS84 geodesic calculator.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from pyproj import Geod

from deconflict.units import WGS84_A_M, WGS84_E2, WGS84_F, FloatArray

GEOD: Final = Geod(a=WGS84_A_M, f=WGS84_F)
"""WGS84 geodesic solver (Karney's algorithms via PROJ); stateless and thread-safe for reads."""

MAX_SEGMENT_M: Final = 3500.0
"""Longest geodesic edge (m) kept as one straight planar segment: deviation <= 0.81 mm."""

EDGE_DEVIATION_BOUND_M: Final = 0.001
"""Upper bound (m) on the distance between a densified planar edge and its true geodesic."""

MEAN_RADIUS_M: Final = 6371008.8
"""IUGG mean Earth radius (m), used only for rough broad-phase scales, never for verdicts."""


def lonlat_to_unit(lon_deg: FloatArray, lat_deg: FloatArray) -> FloatArray:
    """Geodetic lon/lat (deg, WGS84) to unit ECEF direction vectors, shape (n, 3).

    The direction is that of the geocentric position of the point on the ellipsoid surface.
    """
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    sin_lat = np.sin(lat)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    x = n * np.cos(lat) * np.cos(lon)
    y = n * np.cos(lat) * np.sin(lon)
    z = n * (1.0 - WGS84_E2) * sin_lat
    v = np.stack([x, y, z], axis=-1)
    out: FloatArray = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return out


def unit_to_lonlat(v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Unit (or any non-zero) ECEF direction vectors (n, 3) to geodetic lon/lat (deg) on WGS84.

    The surface point on the ray from the Earth's centre along ``v`` is found in closed form
    (ray-ellipsoid intersection), then converted to geodetic latitude.
    """
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    b = WGS84_A_M * (1.0 - WGS84_F)
    scale = 1.0 / np.sqrt(
        (v[:, 0] ** 2 + v[:, 1] ** 2) / WGS84_A_M**2 + v[:, 2] ** 2 / b**2,
    )
    x, y, z = v[:, 0] * scale, v[:, 1] * scale, v[:, 2] * scale
    lon = np.degrees(np.arctan2(y, x))
    p = np.hypot(x, y)
    lat = np.degrees(np.arctan2(z, p * (1.0 - WGS84_E2)))
    return lon, lat


def mean_direction(units: FloatArray) -> FloatArray:
    """Normalised mean of unit vectors (n, 3): a robust centre on the sphere, shape (3,).

    Works across the antimeridian and at the poles. Falls back to the first vector when the mean
    vanishes (antipodal input, which no footprint handled here can produce).
    """
    m = units.mean(axis=0)
    norm = float(np.linalg.norm(m))
    if norm < 1e-12:
        m, norm = units[0], float(np.linalg.norm(units[0]))
    out: FloatArray = m / norm
    return out


class CentralPlane:
    """Central (gnomonic) projection onto the plane tangent to the unit sphere at ``centre``.

    Planar coordinates are in metres-like units: unit-sphere tangent coordinates times
    :data:`MEAN_RADIUS_M`. Straight planar segments are great-ellipse arcs. The map is defined
    for directions less than 90 deg from the centre; :meth:`to_plane` rejects the rest.

    Parameters
    ----------
    centre:
        Unit ECEF direction of the tangent point, shape (3,).
    """

    __slots__ = ("centre", "east", "north")

    def __init__(self, centre: FloatArray) -> None:
        c = np.asarray(centre, dtype=np.float64)
        c = c / np.linalg.norm(c)
        cx, cy, cz = float(c[0]), float(c[1]), float(c[2])
        if abs(cz) < 0.9:  # east = z x c
            ex, ey, ez = -cy, cx, 0.0
        else:  # east = x x c (near a pole)
            ex, ey, ez = 0.0, -cz, cy
        norm = math.sqrt(ex * ex + ey * ey + ez * ez)
        ex, ey, ez = ex / norm, ey / norm, ez / norm
        east = np.array([ex, ey, ez])
        north = np.array([cy * ez - cz * ey, cz * ex - cx * ez, cx * ey - cy * ex])
        self.centre: FloatArray = c
        self.east: FloatArray = east
        self.north: FloatArray = north

    def to_plane(self, units: FloatArray) -> FloatArray:
        """Project unit ECEF vectors (n, 3) to planar (n, 2) coordinates (m-like units).

        Raises
        ------
        ValueError
            If any direction is 80 deg or more from the centre (outside the usable hemisphere).
        """
        cos_c = units @ self.centre
        if np.any(cos_c < 0.17):
            raise ValueError("direction too far from the projection centre (>= 80 deg)")
        x = (units @ self.east) / cos_c
        y = (units @ self.north) / cos_c
        out: FloatArray = np.stack([x, y], axis=-1) * MEAN_RADIUS_M
        return out

    def to_unit(self, xy: FloatArray) -> FloatArray:
        """Inverse of :meth:`to_plane`: planar (n, 2) coordinates to unit ECEF vectors (n, 3)."""
        xy = np.atleast_2d(np.asarray(xy, dtype=np.float64)) / MEAN_RADIUS_M
        v = self.centre[None, :] + xy[:, :1] * self.east[None, :] + xy[:, 1:2] * self.north
        out: FloatArray = v / np.linalg.norm(v, axis=-1, keepdims=True)
        return out

    def max_angle_rad(self, units: FloatArray) -> float:
        """Largest angle (rad) between the centre and any of ``units`` (n, 3)."""
        if len(units) == 0:
            return 0.0
        return float(np.arccos(np.clip(np.min(units @ self.centre), -1.0, 1.0)))


def densify_geodesic(lon_deg: FloatArray, lat_deg: FloatArray, *, closed: bool) -> FloatArray:
    """Insert points on each geodesic edge so no piece exceeds :data:`MAX_SEGMENT_M`.

    Parameters
    ----------
    lon_deg, lat_deg:
        Vertices (deg). For a closed ring do not repeat the first vertex.
    closed:
        Whether the last vertex connects back to the first.

    Returns
    -------
    (m, 2) array of lon/lat (deg); for a closed ring the first vertex is not repeated.
    The inserted points are exact geodesic points (``Geod.npts``).
    """
    lon = np.asarray(lon_deg, dtype=np.float64)
    lat = np.asarray(lat_deg, dtype=np.float64)
    n = len(lon)
    if n < 2:
        return np.stack([lon, lat], axis=-1)
    lon2 = np.roll(lon, -1) if closed else lon[1:]
    lat2 = np.roll(lat, -1) if closed else lat[1:]
    lon1 = lon if closed else lon[:-1]
    lat1 = lat if closed else lat[:-1]
    az, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    dist = np.asarray(dist, dtype=np.float64)
    pieces = np.maximum(np.ceil(dist / MAX_SEGMENT_M), 1).astype(np.int64)
    # one vectorised Geod.fwd: edge k yields its start vertex and pieces[k] - 1 inner points
    edge = np.repeat(np.arange(len(lon1)), pieces)
    step = np.arange(len(edge)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    frac = step / pieces[edge]
    plon, plat, _ = GEOD.fwd(
        lon1[edge], lat1[edge], np.asarray(az, dtype=np.float64)[edge], dist[edge] * frac
    )
    plon = np.where(step == 0, lon1[edge], plon)
    plat = np.where(step == 0, lat1[edge], plat)
    out: FloatArray = np.stack([plon, plat], axis=-1)
    if not closed:
        out = np.concatenate([out, np.array([[lon[-1], lat[-1]]])])
    return out
