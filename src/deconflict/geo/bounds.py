"""Conservative lon/lat bounding boxes of buffered cores, for the broad phase only.

A box must contain every point within ``width_m`` of the core. Three effects are covered:

* the width itself (converted with the *smallest* metres-per-degree on WGS84: 110,574 m per
  degree of latitude, ``111,319 cos(lat)`` m per degree of longitude);
* geodesic edges bowing poleward between their vertices, by at most
  ``L**2 tan|lat| / (8 R)`` for an edge of length L (margin 20 %);
* the antimeridian (longitudes are unwrapped around the core's centre; a box crossing +-180
  is returned as two boxes) and the poles (a box reaching within 0.5 deg of a pole, or a polygon
  containing one, spans all longitudes).

Boxes are ``(min_lon, min_lat, max_lon, max_lat)`` in degrees within -180..180 / -90..90.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
import shapely

from deconflict.geo.core import Core
from deconflict.geo.ellipsoid import MEAN_RADIUS_M, CentralPlane

Box = tuple[float, float, float, float]

M_PER_DEG_LAT_MIN: Final = 110_574.0
"""Smallest length (m) of one degree of latitude on WGS84 (at the equator)."""

M_PER_DEG_LON_EQ: Final = 111_319.0
"""Length (m) of one degree of longitude at the equator on WGS84 (times cos(lat) elsewhere,
a lower bound because the prime-vertical radius only grows poleward)."""

POLAR_CAP_DEG: Final = 89.5
"""Boxes reaching beyond this latitude span every longitude."""


def core_boxes(core: Core, width_m: float) -> list[Box]:
    """One or two conservative boxes covering everything within ``width_m`` of ``core``."""
    ll = core.lonlat
    centre_lon = math.degrees(math.atan2(float(core.centre[1]), float(core.centre[0])))
    lon = centre_lon + ((ll[:, 0] - centre_lon + 180.0) % 360.0 - 180.0)
    lat = ll[:, 1]
    lat_abs = float(np.max(np.abs(lat)))
    bulge_m = 0.0
    if core.kind != "point":
        chord = np.linalg.norm(core.units[core.seg_i] - core.units[core.seg_j], axis=1)
        longest_m = float(np.max(chord)) * MEAN_RADIUS_M * 1.01
        tan_lat = math.tan(math.radians(min(lat_abs, 89.99)))
        bulge_m = 1.2 * longest_m**2 * (tan_lat + 0.01) / (8.0 * MEAN_RADIUS_M)
    margin_m = width_m * 1.001 + bulge_m + 1.0
    dlat = margin_m / M_PER_DEG_LAT_MIN
    lat_lo = max(-90.0, float(np.min(lat)) - dlat)
    lat_hi = min(90.0, float(np.max(lat)) + dlat)
    polar = lat_hi >= POLAR_CAP_DEG or lat_lo <= -POLAR_CAP_DEG
    # a polygon can only contain a pole lying within its core radius of its centre
    pole_reach = math.cos(core.radius_rad + 1e-6)
    if core.kind == "polygon" and not polar and abs(float(core.centre[2])) >= pole_reach:
        plane = CentralPlane(core.centre)
        geom = core.planar(plane)
        for sign in (1.0, -1.0):
            pole = np.array([[0.0, 0.0, sign]])
            if float(pole[0] @ plane.centre) > 0.2 and shapely.contains_xy(
                geom, *plane.to_plane(pole)[0]
            ):
                polar = True
                lat_lo, lat_hi = (lat_lo, 90.0) if sign > 0 else (-90.0, lat_hi)
    if polar:
        if lat_hi >= POLAR_CAP_DEG:
            lat_hi = 90.0
        if lat_lo <= -POLAR_CAP_DEG:
            lat_lo = -90.0
        return [(-180.0, lat_lo, 180.0, lat_hi)]
    cos_lat = math.cos(math.radians(max(abs(lat_lo), abs(lat_hi))))
    dlon = margin_m / (M_PER_DEG_LON_EQ * cos_lat)
    lon_lo = float(np.min(lon)) - dlon
    lon_hi = float(np.max(lon)) + dlon
    if lon_hi - lon_lo >= 360.0:
        return [(-180.0, lat_lo, 180.0, lat_hi)]
    if lon_lo < -180.0:
        return [(lon_lo + 360.0, lat_lo, 180.0, lat_hi), (-180.0, lat_lo, lon_hi, lat_hi)]
    if lon_hi > 180.0:
        return [(lon_lo, lat_lo, 180.0, lat_hi), (-180.0, lat_lo, lon_hi - 360.0, lat_hi)]
    return [(lon_lo, lat_lo, lon_hi, lat_hi)]


def circle_boxes(
    lon_deg: npt.NDArray[np.float64],
    lat_deg: npt.NDArray[np.float64],
    width_m: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Vectorised :func:`core_boxes` for point cores (circles), same rules.

    Returns
    -------
    (owner, boxes): ``boxes[k]`` is a box of input ``owner[k]``; one or two boxes per input.
    """
    lon = np.asarray(lon_deg, dtype=np.float64)
    lat = np.asarray(lat_deg, dtype=np.float64)
    margin = np.asarray(width_m, dtype=np.float64) * 1.001 + 1.0
    dlat = margin / M_PER_DEG_LAT_MIN
    lat_lo = np.maximum(-90.0, lat - dlat)
    lat_hi = np.minimum(90.0, lat + dlat)
    north = lat_hi >= POLAR_CAP_DEG
    south = lat_lo <= -POLAR_CAP_DEG
    lat_hi = np.where(north, 90.0, lat_hi)
    lat_lo = np.where(south, -90.0, lat_lo)
    cos_lat = np.cos(np.radians(np.minimum(np.maximum(np.abs(lat_lo), np.abs(lat_hi)), 89.99)))
    dlon = margin / (M_PER_DEG_LON_EQ * cos_lat)
    centre = ((lon + 180.0) % 360.0) - 180.0
    lo = centre - dlon
    hi = centre + dlon
    full = north | south | (hi - lo >= 360.0)
    lo = np.where(full, -180.0, lo)
    hi = np.where(full, 180.0, hi)
    west = ~full & (lo < -180.0)
    east = ~full & (hi > 180.0)
    idx = np.arange(len(lon), dtype=np.int64)
    main = np.stack(
        [np.where(west, lo + 360.0, lo), lat_lo, np.where(east, 180.0, hi), lat_hi], axis=1
    )
    main[west, 2] = 180.0
    extra_w = np.stack([np.full(west.sum(), -180.0), lat_lo[west], hi[west], lat_hi[west]], axis=1)
    extra_e = np.stack(
        [np.full(east.sum(), -180.0), lat_lo[east], hi[east] - 360.0, lat_hi[east]], axis=1
    )
    owner = np.concatenate([idx, idx[west], idx[east]])
    boxes = np.concatenate([main, extra_w, extra_e])
    return owner, boxes


def many_core_boxes(
    cores: list[Core], width_m: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Vectorised :func:`core_boxes` for many cores (same boxes, same rules).

    Returns
    -------
    (owner, boxes): ``boxes[k]`` belongs to ``cores[owner[k]]``; one or two boxes per core.
    """
    k = len(cores)
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 4))
    sizes = np.array([len(c.lonlat) for c in cores], dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    ll = np.concatenate([c.lonlat for c in cores])
    units = np.concatenate([c.units for c in cores])
    centres = np.stack([c.centre for c in cores])
    centre_lon = np.degrees(np.arctan2(centres[:, 1], centres[:, 0]))
    owner_v = np.repeat(np.arange(k), sizes)
    lon = centre_lon[owner_v] + ((ll[:, 0] - centre_lon[owner_v] + 180.0) % 360.0 - 180.0)
    lat = ll[:, 1]
    lat_abs = np.maximum.reduceat(np.abs(lat), starts)
    seg_i = np.concatenate([c.seg_i + s for c, s in zip(cores, starts.tolist(), strict=True)])
    seg_j = np.concatenate([c.seg_j + s for c, s in zip(cores, starts.tolist(), strict=True)])
    seg_sizes = np.array([len(c.seg_i) for c in cores], dtype=np.int64)
    chord = np.linalg.norm(units[seg_i] - units[seg_j], axis=1)
    longest = np.maximum.reduceat(chord, np.cumsum(seg_sizes) - seg_sizes) * MEAN_RADIUS_M * 1.01
    is_point = np.array([c.kind == "point" for c in cores])
    tan_lat = np.tan(np.radians(np.minimum(lat_abs, 89.99)))
    bulge = np.where(is_point, 0.0, 1.2 * longest**2 * (tan_lat + 0.01) / (8.0 * MEAN_RADIUS_M))
    margin = np.asarray(width_m, dtype=np.float64) * 1.001 + bulge + 1.0
    dlat = margin / M_PER_DEG_LAT_MIN
    lat_lo = np.maximum(-90.0, np.minimum.reduceat(lat, starts) - dlat)
    lat_hi = np.minimum(90.0, np.maximum.reduceat(lat, starts) + dlat)
    north = lat_hi >= POLAR_CAP_DEG
    south = lat_lo <= -POLAR_CAP_DEG
    radius = np.array([c.radius_rad for c in cores])
    may_hold_pole = np.array([c.kind == "polygon" for c in cores]) & (
        np.abs(centres[:, 2]) >= np.cos(radius + 1e-6)
    )
    lat_hi = np.where(north, 90.0, lat_hi)
    lat_lo = np.where(south, -90.0, lat_lo)
    cos_lat = np.cos(np.radians(np.minimum(np.maximum(np.abs(lat_lo), np.abs(lat_hi)), 89.99)))
    dlon = margin / (M_PER_DEG_LON_EQ * cos_lat)
    lo = np.minimum.reduceat(lon, starts) - dlon
    hi = np.maximum.reduceat(lon, starts) + dlon
    full = north | south | (hi - lo >= 360.0)
    lo = np.where(full, -180.0, lo)
    hi = np.where(full, 180.0, hi)
    west = ~full & (lo < -180.0)
    east = ~full & (hi > 180.0)
    simple = ~may_hold_pole
    idx = np.arange(k, dtype=np.int64)
    main = np.stack(
        [np.where(west, lo + 360.0, lo), lat_lo, np.where(east, 180.0, hi), lat_hi], axis=1
    )
    main[west, 2] = 180.0
    extra_w = np.stack([np.full(west.sum(), -180.0), lat_lo[west], hi[west], lat_hi[west]], 1)
    extra_e = np.stack(
        [np.full(east.sum(), -180.0), lat_lo[east], hi[east] - 360.0, lat_hi[east]], 1
    )
    owners = [idx[simple], idx[west & simple], idx[east & simple]]
    boxes = [main[simple], extra_w[simple[west]], extra_e[simple[east]]]
    for i in np.nonzero(~simple)[0].tolist():  # polygons near a pole: the scalar path
        mine = core_boxes(cores[i], float(np.asarray(width_m)[i]))
        owners.append(np.full(len(mine), i, dtype=np.int64))
        boxes.append(np.asarray(mine, dtype=np.float64).reshape(-1, 4))
    return np.concatenate(owners), np.concatenate(boxes)
