"""Footprint *cores* and exact geodesic distances between them.

Every footprint is "the set of points within a geodesic distance ``width_m`` of a core":

=========  ==============================  ===========================
footprint  core                            width_m
=========  ==============================  ===========================
polygon    the polygon (holes allowed)     0 (+ lateral buffer)
circle     the centre point                radius (+ lateral buffer)
corridor   the centreline polyline         half-width (+ buffer)
orbit      the geodesic segment start-end  radius (+ buffer)
=========  ==============================  ===========================

Two such sets intersect **iff** the geodesic distance between their cores is at most the sum of
their widths (geodesics realise distances on the ellipsoid, so a point at distance ``w_a`` from
one core along the shortest geodesic is within ``w_b`` of the other). So one exact quantity, the
core-to-core geodesic distance, decides every pair of kinds, and circles are tested by distance,
never by an inscribed polygon.

How the distance is computed (:func:`core_distance_m`):

1. both cores (densified to :data:`~deconflict.geo.ellipsoid.MAX_SEGMENT_M`) are centrally
   projected on a plane at the pair's centre; if they intersect there, the distance is 0
   (exact up to :data:`~deconflict.geo.ellipsoid.EDGE_DEVIATION_BOUND_M`);
   (batches use shared 4-degree cell planes instead, :func:`distance_bounds_m`, so each core
   is projected once per cell and the planar stage is vectorised);
2. otherwise the planar vertex-to-segment distances (both ways) give candidates: every pair
   whose planar distance could correspond to a true distance below the threshold (the plane's
   scale is bounded: ``0.99 <= planar / true <= 1.01 / cos(theta)**2``);
3. each candidate is finished on the ellipsoid: the foot of the perpendicular on the geodesic
   segment is found by along-track Newton steps with ``pyproj.Geod`` (sub-millimetre).

The minimum of two non-crossing geodesic segments' distance is attained at an end point of one
of them (the distance to a geodesic is concave along another on a positively curved surface),
so vertex-to-segment both ways is complete.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import shapely

from deconflict.geo.ellipsoid import (
    GEOD,
    MEAN_RADIUS_M,
    CentralPlane,
    densify_geodesic,
    lonlat_to_unit,
    mean_direction,
)
from deconflict.units import FloatArray

CoreKind = Literal["point", "line", "polygon"]

PLANE_SCALE_LOW = 0.99
"""Lower bound of planar / true distance in a :class:`CentralPlane` (dimensionless)."""

PLANE_SCALE_HIGH = 1.01
"""Upper bound of planar / true distance at the centre; divided by cos(theta)**2 off-centre."""

NEWTON_STEPS = 5
"""Along-track Newton steps for a point-to-geodesic-segment foot (converges to < 0.1 mm)."""


@dataclass(frozen=True, eq=False)
class Core:
    """A densified core: a point, a polyline or a polygon with holes, on WGS84.

    Attributes
    ----------
    kind:
        ``"point"``, ``"line"`` or ``"polygon"``.
    lonlat:
        (n, 2) densified vertices (deg). Rings are stored without their closing vertex.
    ring_starts:
        Start index of each ring in ``lonlat`` (polygon: exterior first); a line has one part.
    parts:
        Polygon only: number of rings of each polygon of a multipolygon (default: one polygon).
    """

    kind: CoreKind
    lonlat: FloatArray
    ring_starts: tuple[int, ...]
    parts: tuple[int, ...] = ()
    units: FloatArray = field(init=False, repr=False)
    seg_i: np.ndarray = field(init=False, repr=False)
    seg_j: np.ndarray = field(init=False, repr=False)
    centre: FloatArray = field(init=False, repr=False)
    radius_rad: float = field(init=False, repr=False)
    units_hint: FloatArray | None = field(default=None, repr=False, compare=False)
    _planar_cache: dict[tuple[int, int], tuple[shapely.Geometry, float]] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if self.units_hint is not None:
            units = self.units_hint
            object.__setattr__(self, "units_hint", None)
        else:
            units = lonlat_to_unit(self.lonlat[:, 0], self.lonlat[:, 1])
        centre = mean_direction(units)
        n = len(self.lonlat)
        if self.kind == "point":
            seg_i = np.zeros(1, dtype=np.int64)
            seg_j = np.zeros(1, dtype=np.int64)
        elif self.kind == "line":
            seg_i = np.arange(n - 1, dtype=np.int64)
            seg_j = seg_i + 1
        else:
            parts_i: list[np.ndarray] = []
            parts_j: list[np.ndarray] = []
            bounds = [*self.ring_starts, n]
            for k in range(len(self.ring_starts)):
                idx = np.arange(bounds[k], bounds[k + 1], dtype=np.int64)
                parts_i.append(idx)
                nxt = idx + 1
                nxt[-1] = bounds[k]
                parts_j.append(nxt)
            seg_i = np.concatenate(parts_i)
            seg_j = np.concatenate(parts_j)
        radius = float(np.arccos(np.clip(np.min(units @ centre), -1.0, 1.0)))
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "seg_i", seg_i)
        object.__setattr__(self, "seg_j", seg_j)
        object.__setattr__(self, "centre", centre)
        object.__setattr__(self, "radius_rad", radius)

    @classmethod
    def point(cls, lon_deg: float, lat_deg: float) -> Core:
        """A point core."""
        return cls("point", np.array([[lon_deg, lat_deg]], dtype=np.float64), (0,))

    @classmethod
    def line(cls, lonlat: FloatArray) -> Core:
        """A polyline core from (n, 2) lon/lat vertices joined by geodesics (densified)."""
        dense = densify_geodesic(lonlat[:, 0], lonlat[:, 1], closed=False)
        return cls("line", dense, (0,))

    @classmethod
    def polygon(cls, polygons: list[list[FloatArray]]) -> Core:
        """A (multi)polygon core: per polygon, rings of (n, 2) lon/lat vertices without the
        closing vertex (exterior first); edges are geodesics (densified)."""
        chunks: list[FloatArray] = []
        starts: list[int] = []
        total = 0
        for rings in polygons:
            for ring in rings:
                dense = densify_geodesic(ring[:, 0], ring[:, 1], closed=True)
                starts.append(total)
                total += len(dense)
                chunks.append(dense)
        parts = tuple(len(rings) for rings in polygons)
        return cls("polygon", np.concatenate(chunks), tuple(starts), parts)

    def planar_in_cell(self, key: tuple[int, int]) -> tuple[shapely.Geometry, float]:
        """(planar geometry, max angle from the plane centre in rad) in a cell plane (cached)."""
        hit = self._planar_cache.get(key)
        if hit is None:
            plane = cell_plane(key)
            hit = (self.planar(plane), plane.max_angle_rad(self.units))
            self._planar_cache[key] = hit
        return hit

    def planar(self, plane: CentralPlane) -> shapely.Geometry:
        """This core as a shapely geometry in ``plane`` coordinates."""
        xy = plane.to_plane(self.units)
        if self.kind == "point":
            return shapely.points(xy[0])
        if self.kind == "line":
            return shapely.linestrings(xy)
        bounds = [*self.ring_starts, len(xy)]
        rings = [xy[bounds[k] : bounds[k + 1]] for k in range(len(self.ring_starts))]
        polys = []
        first = 0
        for count in self.parts or (len(rings),):
            mine = rings[first : first + count]
            polys.append(shapely.polygons(mine[0], holes=mine[1:] or None))
            first += count
        return polys[0] if len(polys) == 1 else shapely.multipolygons(polys)


def point_segment_distance_m(
    p_lonlat: FloatArray,
    a_lonlat: FloatArray,
    b_lonlat: FloatArray,
    t_init: FloatArray | None = None,
) -> FloatArray:
    """Exact geodesic distance (m) from points P to geodesic segments AB, element-wise.

    Parameters
    ----------
    p_lonlat, a_lonlat, b_lonlat:
        (k, 2) lon/lat (deg) arrays. A zero-length segment (A == B) means the point A.
    t_init:
        Optional initial along-segment fraction of the foot (0..1), e.g. from a planar estimate.

    Notes
    -----
    The foot F of the perpendicular is found by Newton steps on the along-track distance: at F
    the azimuth to P is perpendicular to the segment. Each step uses the spherical along-track
    formula ``atan(tan(d/R) cos(dAz))`` on the true geodesic quantities, so the iteration
    converges to the ellipsoidal foot; the result is clamped to the segment and compared with
    both end points.
    """
    plon, plat = p_lonlat[:, 0], p_lonlat[:, 1]
    alon, alat = a_lonlat[:, 0], a_lonlat[:, 1]
    blon, blat = b_lonlat[:, 0], b_lonlat[:, 1]
    az_ab, _, length = GEOD.inv(alon, alat, blon, blat)
    length = np.asarray(length, dtype=np.float64)
    t0 = np.full(len(plon), 0.5) if t_init is None else np.clip(t_init, 0.0, 1.0)
    s = t0 * length
    for _ in range(NEWTON_STEPS):
        flon, flat, back_az = GEOD.fwd(alon, alat, az_ab, s)
        az_fp, _, d = GEOD.inv(flon, flat, plon, plat)
        delta = np.radians(np.asarray(az_fp) - (np.asarray(back_az) + 180.0))
        step = MEAN_RADIUS_M * np.arctan(np.tan(np.asarray(d) / MEAN_RADIUS_M) * np.cos(delta))
        s = np.clip(s + np.where(length > 0.0, step, 0.0), 0.0, length)
    flon, flat, _ = GEOD.fwd(alon, alat, az_ab, s)
    _, _, d_foot = GEOD.inv(flon, flat, plon, plat)
    _, _, d_a = GEOD.inv(alon, alat, plon, plat)
    _, _, d_b = GEOD.inv(blon, blat, plon, plat)
    out: FloatArray = np.minimum(np.minimum(np.asarray(d_foot), d_a), d_b)
    return out


def _planar_point_segment(
    p: FloatArray, a: FloatArray, b: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Planar distances and foot fractions for every (point, segment) pair: (n, m) arrays."""
    ab = b - a
    len2 = np.einsum("ij,ij->i", ab, ab)
    ap = p[:, None, :] - a[None, :, :]
    t = np.einsum("nmk,mk->nm", ap, ab) / np.where(len2 > 0.0, len2, 1.0)[None, :]
    t = np.clip(t, 0.0, 1.0)
    foot = a[None, :, :] + t[:, :, None] * ab[None, :, :]
    d = np.linalg.norm(p[:, None, :] - foot, axis=-1)
    return d, t


def _candidates(
    src: Core, dst: Core, src_xy: FloatArray, dst_xy: FloatArray, limit: float
) -> tuple[np.ndarray, np.ndarray, FloatArray]:
    """(vertex of src, segment of dst, t) triples whose planar distance is <= ``limit``."""
    a = dst_xy[dst.seg_i]
    b = dst_xy[dst.seg_j]
    vs: list[np.ndarray] = []
    ss: list[np.ndarray] = []
    ts: list[FloatArray] = []
    chunk = max(1, 200_000 // max(1, len(a)))
    for start in range(0, len(src_xy), chunk):
        d, t = _planar_point_segment(src_xy[start : start + chunk], a, b)
        vi, si = np.nonzero(d <= limit)
        vs.append(vi + start)
        ss.append(si)
        ts.append(t[vi, si])
    return np.concatenate(vs), np.concatenate(ss), np.concatenate(ts)


SURFACE_M_PER_RAD_MIN = 6_300_000.0
"""Lower bound (m) of surface distance per radian of geocentric angle on WGS84 (true range
6,357-6,378 km), used to prove two cores are farther apart than a threshold."""


def provably_farther(a: Core, b: Core, threshold_m: float) -> bool:
    """True when the cores are certainly more than ``threshold_m`` apart (no projection).

    Each core lies in the spherical cap of its ``radius_rad`` around its centre (caps are
    convex), so the gap between the caps bounds the distance from below.
    """
    cos_ab = float(np.clip(a.centre @ b.centre, -1.0, 1.0))
    gap_rad = math.acos(cos_ab) - a.radius_rad - b.radius_rad
    return gap_rad * SURFACE_M_PER_RAD_MIN > threshold_m + 1.0


def pair_plane(a: Core, b: Core) -> CentralPlane:
    """The central projection plane used for a pair of cores (centred between them)."""
    return CentralPlane(mean_direction(np.stack([a.centre, b.centre])))


def core_distance_m(a: Core, b: Core, threshold_m: float) -> float:
    """Exact geodesic distance (m) between two cores, or ``inf`` when it exceeds ``threshold_m``.

    Parameters
    ----------
    a, b:
        The cores.
    threshold_m:
        Only distances up to this value are computed exactly (m, >= 0); anything provably
        larger is reported as ``inf``. Pass the sum of widths (plus any tolerance).

    Returns
    -------
    0.0 when the cores intersect, the exact distance when it is <= ``threshold_m`` (accurate to
    about a millimetre), else ``inf`` (a value in between may also be returned exactly).
    """
    if provably_farther(a, b, threshold_m):
        return float("inf")
    plane = pair_plane(a, b)
    theta = max(plane.max_angle_rad(a.units), plane.max_angle_rad(b.units))
    ga = a.planar(plane)
    gb = b.planar(plane)
    if shapely.intersects(ga, gb):
        return 0.0
    limit = threshold_m * PLANE_SCALE_HIGH / np.cos(theta) ** 2 + 0.01
    if float(shapely.distance(ga, gb)) > limit:
        return float("inf")
    a_xy = plane.to_plane(a.units)
    b_xy = plane.to_plane(b.units)
    best = float("inf")
    for src, dst, src_xy, dst_xy in ((a, b, a_xy, b_xy), (b, a, b_xy, a_xy)):
        vi, si, t = _candidates(src, dst, src_xy, dst_xy, limit)
        if len(vi) == 0:
            continue
        d = point_segment_distance_m(
            src.lonlat[vi], dst.lonlat[dst.seg_i[si]], dst.lonlat[dst.seg_j[si]], t
        )
        best = min(best, float(np.min(d)))
    return best


CELL_DEG = 4.0
"""Size (deg) of the grid cells whose centres serve as shared projection planes."""

POLAR_CELL_LAT_DEG = 84.0
"""Beyond this latitude a pair uses the single polar plane (centred on the pole)."""


def cell_key(centre: FloatArray) -> tuple[int, int]:
    """Grid cell of a direction (any length): ``(lat_index, lon_index)``; polar caps are one
    cell each."""
    x, y, z = float(centre[0]), float(centre[1]), float(centre[2])
    lat = math.degrees(math.atan2(z, math.hypot(x, y)))
    if abs(lat) >= POLAR_CELL_LAT_DEG:
        return (1000 if lat > 0 else -1000, 0)
    i = math.floor(lat / CELL_DEG)
    lat_mid = (i + 0.5) * CELL_DEG
    per_cell = CELL_DEG / max(math.cos(math.radians(lat_mid)), 0.1)
    lon = math.degrees(math.atan2(y, x))
    return (i, math.floor((lon + 180.0) / per_cell))


@functools.lru_cache(maxsize=4096)
def cell_plane(key: tuple[int, int]) -> CentralPlane:
    """The central plane at the centre of cell ``key`` (pure, memoised)."""
    i, j = key
    if abs(i) == 1000:
        return CentralPlane(np.array([0.0, 0.0, 1.0 if i > 0 else -1.0]))
    lat_mid = (i + 0.5) * CELL_DEG
    per_cell = CELL_DEG / max(math.cos(math.radians(lat_mid)), 0.1)
    lon_mid = -180.0 + (j + 0.5) * per_cell
    return CentralPlane(lonlat_to_unit(np.array([lon_mid]), np.array([lat_mid]))[0])


def prepare_planar(pairs: Sequence[tuple[Core, Core]], keys: Sequence[tuple[int, int]]) -> None:
    """Fill the per-cell planar caches of every core of ``pairs`` for the pair's cell ``key``
    (all cores needed in one cell plane projected at once; same geometries as one by one)."""
    need: dict[tuple[int, int], dict[int, Core]] = defaultdict(dict)
    for (a, b), key in zip(pairs, keys, strict=True):
        for core in (a, b):
            if key not in core._planar_cache:
                need[key][id(core)] = core
    for key, cores_by_id in need.items():
        cores = list(cores_by_id.values())
        plane = cell_plane(key)
        units = np.concatenate([c.units for c in cores])
        sizes = np.array([len(c.units) for c in cores])
        starts = np.cumsum(sizes) - sizes
        cos_c = units @ plane.centre
        theta = np.arccos(np.clip(np.minimum.reduceat(cos_c, starts), -1.0, 1.0))
        xy = plane.to_plane(units)
        owner = np.repeat(np.arange(len(cores)), sizes)
        geoms = np.empty(len(cores), dtype=object)
        kinds = np.array([c.kind for c in cores])
        simple_poly = np.array(
            [c.kind == "polygon" and len(c.ring_starts) == 1 for c in cores], dtype=bool
        )
        for mask, build in (
            (kinds == "point", "point"),
            (kinds == "line", "line"),
            (simple_poly, "polygon"),
        ):
            idx = np.nonzero(mask)[0]
            if len(idx) == 0:
                continue
            sel = np.isin(owner, idx)
            sub_owner = np.searchsorted(idx, owner[sel])
            if build == "point":
                geoms[idx] = shapely.points(xy[sel])
            elif build == "line":
                geoms[idx] = shapely.linestrings(xy[sel], indices=sub_owner)
            else:
                geoms[idx] = shapely.polygons(shapely.linearrings(xy[sel], indices=sub_owner))
        for k, core in enumerate(cores):
            if geoms[k] is None:
                geoms[k] = core.planar(plane)
            core._planar_cache[key] = (geoms[k], float(theta[k]))


def distance_bounds_m(
    pairs: Sequence[tuple[Core, Core]],
    threshold_m: FloatArray,
    exact_above_m: FloatArray,
) -> FloatArray:
    """Geodesic core-to-core distances for many pairs, exact where it matters.

    Parameters
    ----------
    pairs:
        (a, b) cores.
    threshold_m:
        Per pair: distances above it only need to be known to exceed it.
    exact_above_m:
        Per pair (<= threshold): a distance that may lie in ``(exact_above_m, threshold_m]``
        is computed exactly (used to report margins); below it, any value <= it is returned
        as 0 when the planar bounds prove it.

    Returns
    -------
    Per pair: ``0.0`` (intersecting, or provably within ``exact_above_m``), the exact distance
    (when it may lie in ``(exact_above_m, threshold_m]``) or ``inf`` (provably beyond
    ``threshold_m``).

    Notes
    -----
    All cores are projected on shared cell planes (cached per core), so the planar stage is a
    pair of vectorised shapely calls; bounds ``dp cos(theta)**2 / 1.01 <= d <= dp / 0.99``
    decide most pairs; only undecided ones go through :func:`core_distance_m`.
    """
    n = len(pairs)
    out = np.empty(n, dtype=np.float64)
    if n == 0:
        return out
    ga = np.empty(n, dtype=object)
    gb = np.empty(n, dtype=object)
    theta = np.empty(n, dtype=np.float64)
    threshold = np.asarray(threshold_m, dtype=np.float64)
    exact_above = np.asarray(exact_above_m, dtype=np.float64)
    far = np.array(
        [provably_farther(a, b, float(t)) for (a, b), t in zip(pairs, threshold, strict=True)]
    )
    if far.any():
        near_idx = np.nonzero(~far)[0]
        out[:] = np.inf
        if len(near_idx):
            out[near_idx] = distance_bounds_m(
                [pairs[i] for i in near_idx.tolist()], threshold[near_idx], exact_above[near_idx]
            )
        return out
    keys = [cell_key(a.centre + b.centre) for a, b in pairs]
    if n > 8:
        prepare_planar(pairs, keys)
    for k, (a, b) in enumerate(pairs):
        key = keys[k]
        ga[k], ta = a.planar_in_cell(key)
        gb[k], tb = b.planar_in_cell(key)
        theta[k] = max(ta, tb)
    dp = shapely.distance(ga, gb)
    cos2 = np.cos(np.minimum(theta, 1.5)) ** 2
    lo = np.maximum(dp * cos2 / PLANE_SCALE_HIGH - 0.01, 0.0)
    hi = np.where(dp > 0.0, dp / PLANE_SCALE_LOW + 0.01, 0.0)
    out[:] = np.where(lo > threshold, np.inf, 0.0)
    refine = (lo <= threshold) & (hi > exact_above)
    for idx in np.nonzero(refine)[0].tolist():
        a, b = pairs[idx]
        out[idx] = core_distance_m(a, b, float(threshold[idx]))
    return out
