"""Broad phase: candidate pairs that may conflict, in O(n log n + candidates) time and memory.

Two aircraft in conflict at a time ``t`` are within ``R`` horizontally and ``V`` vertically at
that same ``t``. The look-ahead ``[0, T]`` is cut into ``K`` time slices; in slice ``k`` every
aircraft is a point at its position at the slice midpoint (ECEF, straight-line extrapolation),
plus an altitude interval (its altitude range during the slice, widened by ``V / 2`` on each
side). Two aircraft can conflict during the slice only if their points are closer than
``R + margin + (v_i + v_j) T / (2 K)`` (the margin bounds the curvature between the pair frame
and straight ECEF lines) and their widened intervals overlap.

Altitude is cut into bands of ``W`` feet; each point is entered in every band its interval
touches. Entries of one (slice, band) group are shifted along x by a multiple of a distance far
larger than the Earth, so a single ``scipy.spatial.cKDTree.query_pairs`` in 3D returns, for all
groups at once, the pairs closer than the slice radius within the same group. A pair that
shares several bands is kept only in the lowest band both touch, then the exact per-pair slice
bounds above prune the rest, and pairs found in several slices are de-duplicated.
ECEF coordinates make the search the same at the poles and across the antimeridian.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from deconflict.tactical._geometry import Kinematics
from deconflict.units import M_PER_NM, FloatArray

IntArray = npt.NDArray[np.int64]

EARTH_MIN_RADIUS_M: float = 6_335_439.0
"""Smallest radius of curvature of the WGS84 ellipsoid (meridional, at the equator), metres."""

MARGIN_M: float = 200.0
"""Extra broad-phase radius for the ellipsoid's tilt of chords and rounding, metres."""

GROUP_SPACING_M: float = 4.0e7
"""Shift along x between (slice, band) groups, metres: more than the Earth's diameter plus any
search radius, so that no two groups ever meet in the tree."""

VERTICAL_SLACK_FT: float = 1e-6
"""Extra widening of altitude intervals, feet, so that rounding never drops a pair the exact
narrow phase would keep (exactly-1000-ft pairs still reach it and are rejected there)."""

DENSE_GROUP_LIMIT: int = 1_000_000
"""Above this many (slice, band) group numbers the occupied groups are renumbered densely, so
that ``group * GROUP_SPACING_M`` stays far below 2**53 metres (float64 stays metre-exact)."""

BAND_WIDTH_FACTOR: float = 9.0
"""Altitude band width as a multiple of the vertical threshold (9000 ft for 1000 ft); chosen by
measurement (bench/tactical_bench.py traffic, 2 to 12 tried): narrower bands mean more entries
per aircraft, wider ones more raw pairs for the (cheap, vectorised) exact altitude test."""

MAX_ENTRIES_PER_POINT: float = 4.0
"""Average band entries per aircraft and slice beyond which the bands are widened (bounds
memory for extreme vertical rates)."""

SLICED_MIN_AIRCRAFT: int = 300_000
"""From this many aircraft on, the look-ahead is cut into two time slices: at 1,000,000 aircraft
that is ~25 % faster (2.6 times fewer candidates); at 100,000 the extra entries cost more than
they save (measured on the benchmark traffic)."""


def curvature_margin_m(reach_m: float, max_speed_mps: float, lookahead_s: float) -> float:
    """Bound on the out-of-plane part of relative motion dropped by the pair-frame projection.

    Each velocity is tangent at its own aircraft, tilted from the pair frame by at most the
    angle subtended by half the pair distance; over the look-ahead this moves the relative
    position out of the plane by at most ``2 v T sin(theta)``, so the 3D distance can exceed the
    in-plane distance by that much.
    """
    theta = 0.5 * reach_m / EARTH_MIN_RADIUS_M
    return 2.0 * max_speed_mps * lookahead_s * min(theta, 1.0) + MARGIN_M


def _slice_bands(
    alt_ft: FloatArray,
    vs_fpm: FloatArray,
    t0_s: float,
    t1_s: float,
    vertical_ft: float,
    band_ft: float,
) -> tuple[FloatArray, FloatArray, IntArray, IntArray]:
    """Widened altitude interval (ft) and first / last band of every aircraft in one slice."""
    z0 = alt_ft + vs_fpm * (t0_s / 60.0)
    z1 = alt_ft + vs_fpm * (t1_s / 60.0)
    lo = np.minimum(z0, z1) - (0.5 * vertical_ft + VERTICAL_SLACK_FT)
    hi = np.maximum(z0, z1) + (0.5 * vertical_ft + VERTICAL_SLACK_FT)
    return lo, hi, np.floor(lo / band_ft).astype(np.int64), np.floor(hi / band_ft).astype(np.int64)


def candidate_pairs(
    kin: Kinematics,
    alt_ft: FloatArray,
    vs_fpm: FloatArray,
    *,
    horizontal_nm: float,
    vertical_ft: float,
    lookahead_s: float,
    slices: int | None = None,
    band_ft: float | None = None,
) -> tuple[IntArray, IntArray]:
    """Candidate pairs ``(i, j)`` with ``i < j``: a superset of the conflicting pairs.

    ``slices`` and ``band_ft`` override the automatic choices (for tests); any values give
    the same conflicts after the narrow phase.
    """
    n = alt_ft.shape[0]
    empty = np.empty(0, dtype=np.int64)
    if n < 2:
        return empty, empty
    t = lookahead_s
    speed = np.sqrt(kin.vx_mps**2 + kin.vy_mps**2 + kin.vz_mps**2)
    max_speed = float(speed.max())
    radius_m = horizontal_nm * M_PER_NM
    margin = curvature_margin_m(2.0 * radius_m + 2.0 * max_speed * t, max_speed, t)
    if slices is None:
        slices = 2 if n >= SLICED_MIN_AIRCRAFT else 1
    slice_s = t / slices
    if band_ft is None:
        band_ft = BAND_WIDTH_FACTOR * vertical_ft
    while True:
        bounds = [
            _slice_bands(alt_ft, vs_fpm, k * slice_s, (k + 1) * slice_s, vertical_ft, band_ft)
            for k in range(slices)
        ]
        total = sum(int((last - first).sum()) + n for _, _, first, last in bounds)
        if total <= MAX_ENTRIES_PER_POINT * n * slices:
            break
        band_ft *= 2.0
    band_min = min(int(first.min()) for _, _, first, _ in bounds)
    band_span = max(int(last.max()) for _, _, _, last in bounds) - band_min + 1

    # entries: one per (aircraft, slice, band touched); x shifted by group
    positions = [_positions(kin, (k + 0.5) * slice_s) for k in range(slices)]
    counts = [last - first + 1 for _, _, first, last in bounds]
    n_entries = sum(int(c.sum()) for c in counts)
    points = np.empty((n_entries, 3), dtype=np.float64)
    idx = np.empty(n_entries, dtype=np.int64)
    is_first = np.empty(n_entries, dtype=bool)
    slice_of = np.empty(n_entries, dtype=np.int8)
    group = np.empty(n_entries, dtype=np.int64)
    lo_e = np.empty(n_entries, dtype=np.float64)
    hi_e = np.empty(n_entries, dtype=np.float64)
    start = 0
    for k, ((lo, hi, first, _), mult) in enumerate(zip(bounds, counts, strict=True)):
        stop = start + int(mult.sum())
        ids = np.repeat(np.arange(n, dtype=np.int64), mult)
        offset = np.arange(stop - start, dtype=np.int64) - np.repeat(np.cumsum(mult) - mult, mult)
        group[start:stop] = first[ids] + offset - band_min + k * band_span
        px, py, pz = positions[k]
        points[start:stop, 0] = px[ids]
        points[start:stop, 1] = py[ids]
        points[start:stop, 2] = pz[ids]
        idx[start:stop] = ids
        is_first[start:stop] = offset == 0
        slice_of[start:stop] = k
        lo_e[start:stop] = lo[ids]
        hi_e[start:stop] = hi[ids]
        start = stop
    if band_span * slices > DENSE_GROUP_LIMIT:
        # absurd altitude spreads: renumber the occupied groups so that shifts stay exact
        group = np.unique(group, return_inverse=True)[1].astype(np.int64).reshape(-1)
    points[:, 0] += group * GROUP_SPACING_M
    del group
    tree = cKDTree(points, leafsize=16, balanced_tree=False, compact_nodes=False)
    del points
    reach = radius_m + margin + max_speed * slice_s
    raw = tree.query_pairs(reach * (1.0 + 1e-9) + 1.0, output_type="ndarray")
    del tree
    a = raw[:, 0]
    b = raw[:, 1]
    # each pair once per slice: in the lowest band both touch, which is the first band of one;
    # and the widened altitude intervals of the slice overlap
    keep = np.flatnonzero(is_first[a] | is_first[b])
    a, b = a[keep], b[keep]
    del raw, keep
    keep = np.flatnonzero((lo_e[a] < hi_e[b]) & (lo_e[b] < hi_e[a]))
    a, b = a[keep], b[keep]
    del keep, lo_e, hi_e
    i, j = idx[a], idx[b]
    pair_slice = slice_of[a]
    del a, b
    kept_i: list[IntArray] = []
    kept_j: list[IntArray] = []
    for k in range(slices):
        if slices == 1:
            ii, jj = i, j
        else:
            at_k = np.flatnonzero(pair_slice == k)
            ii, jj = i[at_k], j[at_k]
        ok = _close_in_slice(positions[k], speed, ii, jj, slice_s, radius_m + margin)
        ii, jj = ii[ok], jj[ok]
        if k > 0 and ii.shape[0] > 0:
            # found again in an earlier slice: keep it there only
            dup = np.zeros(ii.shape[0], dtype=bool)
            for earlier in range(k):
                dup |= _passes_slice(
                    positions[earlier], speed, bounds[earlier], ii, jj, slice_s, radius_m + margin
                )
            ii, jj = ii[~dup], jj[~dup]
        kept_i.append(np.minimum(ii, jj))
        kept_j.append(np.maximum(ii, jj))
    return np.concatenate(kept_i), np.concatenate(kept_j)


def _positions(kin: Kinematics, t_s: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Straight-line ECEF positions (m) of every aircraft at time ``t_s``."""
    return (
        kin.x_m + kin.vx_mps * t_s,
        kin.y_m + kin.vy_mps * t_s,
        kin.z_m + kin.vz_mps * t_s,
    )


def _close_in_slice(
    positions: tuple[FloatArray, FloatArray, FloatArray],
    speed: FloatArray,
    i: IntArray,
    j: IntArray,
    slice_s: float,
    reach_m: float,
) -> npt.NDArray[np.bool_]:
    """Points at the slice midpoint within ``reach_m`` plus what both fly in half a slice."""
    px, py, pz = positions
    dx = px[j] - px[i]
    dy = py[j] - py[i]
    dz = pz[j] - pz[i]
    lim = reach_m + (speed[i] + speed[j]) * (0.5 * slice_s)
    return dx * dx + dy * dy + dz * dz < lim * lim


def _passes_slice(
    positions: tuple[FloatArray, FloatArray, FloatArray],
    speed: FloatArray,
    bounds: tuple[FloatArray, FloatArray, IntArray, IntArray],
    i: IntArray,
    j: IntArray,
    slice_s: float,
    reach_m: float,
) -> npt.NDArray[np.bool_]:
    """All exact per-pair bounds of one slice: widened altitude intervals overlap (the same
    comparison as on the entries) and ``_close_in_slice``."""
    lo, hi, _, _ = bounds
    overlap = (lo[i] < hi[j]) & (lo[j] < hi[i])
    return overlap & _close_in_slice(positions, speed, i, j, slice_s, reach_m)
