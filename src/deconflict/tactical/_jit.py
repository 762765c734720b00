"""The compiled (numba) detector: kinematics, grid broad phase and exact narrow phase in one pass.

This is the path ``detect_arrays`` always takes (there is no silent fallback to numpy). The numpy
implementation in ``_broad`` / ``_narrow`` stays as the test oracle: both compute every pair from
the same per-pair formulas, so their pair sets and values agree (tests/tactical).

Broad phase: every aircraft is a point at its straight-line ECEF position at the middle of the
look-ahead, ``p = x + v T / 2``; within ``[0, T]`` it stays within ``s T / 2`` of that point
(``s`` its speed). A pair can conflict only if ``|p_j - p_i| < R + margin + (s_i + s_j) T / 2``
(the margin bounds the curvature between the pair frame and straight ECEF lines, see
``_broad.curvature_margin_m``) and its altitude ranges over the look-ahead, widened by ``V / 2``
on each side, overlap. Points are hashed into cubic ECEF cells whose edge is the largest such
bound, so each candidate pair lies in the same or in adjacent cells; every unordered pair of
cells is visited once (the cell itself and the 13 "forward" neighbours), so no pair is seen
twice. ECEF cells work the same at the poles and across the antimeridian.

Layout (sessions 3-4): aircraft are radix-sorted by spatial cell; the entries (one per
aircraft and altitude band its widened range touches) are grouped in one band-major table of
``(band, cell)`` slots, so the three cells of a neighbour column (consecutive keys, consecutive
in cell order) are one run of entries in band ``k``: each entry scans five runs (the rest of its
cell with the cell above, and four forward columns) instead of up to 14 cells (session 4: 0.6 ms
of 6.4 at N = 10,000). A pair is counted in the lowest band both touch (the first band of one of
them). The scan over a band's entries is branch-free and only records
hits; each hit then gets a second, tighter necessary test, the minimum distance of the two
straight ECEF lines over the look-ahead against ``R + margin`` (the bound the cells are built
on), and the survivors the exact narrow phase at once, on per-aircraft rows in cell order
(cache-local), so no candidate list is materialised.

Narrow phase: exactly the formulas of ``_narrow.narrow_phase`` (pair frame at the ECEF midpoint,
open root intervals of the horizontal quadratic and of the vertical line, intersected with
``[0, T]``), evaluated per pair in the same operation order.

Shared helpers (stable names, importable by other compiled code, e.g. ``deconflict.daa``):
``ecef_state`` (libm trigonometry; the detector itself uses ``ecef_state_fast``), ``sincos_rad``,
``vertical_interval``, ``horizontal_quadratic``, ``horizontal_interval``,
``cpa_time``, ``clipped_miss_distance_sq``, ``vertical_miss_ft``, ``bearing_deg``.

Session 4: the detector's temporaries of more than a few hundred kB (per-aircraft state, sort
and cell arrays, the slot table, the result buffers) live in a reusable workspace
(``detect_pairs_ws``; ``kernel.py`` keeps a small pool of them) instead of being allocated,
returned to the OS by glibc and faulted in again on every call (~1 ms of 7 at N = 10,000); the
kinematics use ``sincos_rad`` (libm's algorithm inlined into the loop) instead of calling libm's
``sincos``: the numpy oracle's sines and cosines, bit for bit in 97 % of cases, else within one
unit in the last place.

All functions are compiled with ``cache=True`` (the machine code is kept in ``__pycache__``);
``warm_up`` compiles or loads them once, outside any timed region (call it at start-up).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from deconflict.units import M_PER_NM, MPS_PER_KT, WGS84_A_M, WGS84_E2

_EARTH_MIN_RADIUS_M = 6_335_439.0  # same value as _broad.EARTH_MIN_RADIUS_M
_MARGIN_M = 200.0  # same value as _broad.MARGIN_M
_VERTICAL_SLACK_FT = 1e-6  # same value as _broad.VERTICAL_SLACK_FT
_RELATIVE_SPEED_EPS_MPS2 = 1e-12  # same value as _narrow.RELATIVE_SPEED_EPS_MPS2
_DEG = math.pi / 180.0
_RAD = 180.0 / math.pi
BAND_FACTOR = 12.0
"""Altitude band height of the broad phase in vertical thresholds (12,000 ft for 1000 ft), chosen
by measurement on the benchmark traffic (2 to 50 tried, session 3: with the branch-free scan,
wider bands cost fewer loop starts than the extra pairs they visit; 8 to 24 are within 3 %)."""
ALL_PAIRS_MAX_N = 48
"""Snapshots of up to this many aircraft test every pair without building the grid (measured:
the grid's allocations cost more than the pairs below about this size)."""
_N_STATE = 10  # per aircraft: x, y, z (m), vx, vy, vz (m/s), alt (ft), vs (ft/min), lat, lon (deg)
_N_FLOAT = 9  # t_in, t_out, t_cpa, hmd, vmd, range, vertical, bearing, reverse bearing
_MAX_ENTRIES_PER_AIRCRAFT = 4  # average band entries per aircraft before bands are widened
_MAX_SLOTS_PER_AIRCRAFT = 8  # (band, cell) slots per aircraft before bands are widened
_MAX_BANDS = 4096  # altitude bands before they are widened
_RADIX_BITS = 16  # widest digit of the radix sort (65,536 buckets)


@nb.njit(cache=True, nogil=True)
def first_nonfinite(columns: tuple[np.ndarray, ...]) -> tuple[int, int]:  # pragma: no cover
    """``(column, row)`` of the first NaN or infinity (column order first), or ``(-1, -1)``."""
    for c in range(len(columns)):
        col = columns[c]
        for k in range(col.shape[0]):
            if not math.isfinite(col[k]):
                return c, k
    return -1, -1


# --- shared per-aircraft and per-pair helpers (stable names) ---------------------------------


@nb.njit(cache=True, nogil=True)
def ecef_state(
    lat_deg: float, lon_deg: float, gs_kt: float, track_deg: float
) -> tuple[float, float, float, float, float, float]:  # pragma: no cover
    """ECEF surface position (m) and ground velocity (m/s) of one aircraft.

    ``(x, y, z, vx, vy, vz)`` exactly as ``_geometry.kinematics`` (WGS84 ellipsoid surface,
    ground speed ``gs_kt`` kt along true track ``track_deg`` deg in the local east-north frame).
    """
    lat = lat_deg * _DEG
    lon = lon_deg * _DEG
    sin_lat = math.sin(lat)
    cos_lat = math.cos(lat)
    sin_lon = math.sin(lon)
    cos_lon = math.cos(lon)
    prime_vertical_m = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    r_xy = prime_vertical_m * cos_lat
    track = track_deg * _DEG
    speed_mps = gs_kt * MPS_PER_KT
    v_east = speed_mps * math.sin(track)
    v_north = speed_mps * math.cos(track)
    v_up_north = v_north * sin_lat
    return (
        r_xy * cos_lon,
        r_xy * sin_lon,
        prime_vertical_m * (1.0 - WGS84_E2) * sin_lat,
        -v_east * sin_lon - v_up_north * cos_lon,
        v_east * cos_lon - v_up_north * sin_lon,
        v_north * cos_lat,
    )


# FreeBSD msun's __kernel_sin / __kernel_cos minimax coefficients (|x| <= pi/4, error < 1 ulp)
_S1 = -1.66666666666666324348e-01
_S2 = 8.33333333332248946124e-03
_S3 = -1.98412698298579493134e-04
_S4 = 2.75573137070700676789e-06
_S5 = -2.50507602534068634195e-08
_S6 = 1.58969099521155010221e-10
_C1 = 4.16666666666666019037e-02
_C2 = -1.38888888888741095749e-03
_C3 = 2.48015872894767294178e-05
_C4 = -2.75573143513906633035e-07
_C5 = 2.08757232129817482790e-09
_C6 = -1.13596475577881948265e-11
_INV_PIO2 = 6.36619772367581382433e-01  # 2 / pi
_PIO2_1 = 1.57079632673412561417e00  # first 33 bits of pi / 2 (q * _PIO2_1 is exact)
_PIO2_2 = 6.07710050630396597660e-11  # next 33 bits
_PIO2_2T = 2.02226624879595063154e-21  # pi / 2 - _PIO2_1 - _PIO2_2
_SINCOS_REDUCTION_MAX = 1e5  # radians; beyond, libm's sin and cos


@nb.njit(cache=True, nogil=True)
def sincos_rad(x: float) -> tuple[float, float]:  # pragma: no cover
    """``(sin(x), cos(x))`` of ``x`` radians, inlined: within 1 ulp of libm's.

    FreeBSD msun's algorithm (Cody-Waite reduction by pi/2 in three parts, the reduced argument's
    tail carried, then the polynomial kernels), evaluated branch-free: the same function of the same
    rounded argument as libm's ``sincos`` (97 % of results bit-identical on random angles, the
    rest one unit in the last place; ``cos(radians(90))`` is libm's 6.1e-17), ~1.4x faster
    because it is inlined into the loop instead of called. ``|x| >= 1e5``: ``math.sin``/``cos``.
    """
    if not abs(x) < _SINCOS_REDUCTION_MAX:
        return math.sin(x), math.cos(x)
    q = math.floor(x * _INV_PIO2 + 0.5)
    t = x - q * _PIO2_1  # exact
    w = q * _PIO2_2
    r = t - w
    w = q * _PIO2_2T - ((t - r) - w)
    y0 = r - w  # reduced argument, |y0| <= pi/4 (+ rounding), and its tail y1
    y1 = (r - y0) - w
    z = y0 * y0
    zz = z * z
    v = z * y0
    rs = _S2 + z * (_S3 + z * _S4) + z * zz * (_S5 + z * _S6)
    s = y0 - ((z * (0.5 * y1 - v * rs) - y1) - v * _S1)
    rc = z * (_C1 + z * (_C2 + z * _C3)) + zz * zz * (_C4 + z * (_C5 + z * _C6))
    hz = 0.5 * z
    wc = 1.0 - hz
    c = wc + (((1.0 - wc) - hz) + (z * rc - y0 * y1))
    quadrant = int(q) & 3
    swap = (quadrant & 1) == 1
    sin_r = c if swap else s
    cos_r = s if swap else c
    sin_sign = -1.0 if quadrant >= 2 else 1.0
    cos_sign = -1.0 if (quadrant == 1 or quadrant == 2) else 1.0
    return sin_sign * sin_r, cos_sign * cos_r


@nb.njit(cache=True, nogil=True)
def ecef_state_fast(
    lat_deg: float, lon_deg: float, gs_kt: float, track_deg: float
) -> tuple[float, float, float, float, float, float]:  # pragma: no cover
    """``ecef_state`` with ``sincos_rad`` for the trigonometry (the detector's kinematics).

    Same formulas in the same order on the same radian arguments; a sine or cosine differs from
    libm's by at most one unit in the last place (positions by < 1e-9 m).
    """
    sin_lat, cos_lat = sincos_rad(lat_deg * _DEG)
    sin_lon, cos_lon = sincos_rad(lon_deg * _DEG)
    sin_track, cos_track = sincos_rad(track_deg * _DEG)
    prime_vertical_m = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    r_xy = prime_vertical_m * cos_lat
    speed_mps = gs_kt * MPS_PER_KT
    v_east = speed_mps * sin_track
    v_north = speed_mps * cos_track
    v_up_north = v_north * sin_lat
    return (
        r_xy * cos_lon,
        r_xy * sin_lon,
        prime_vertical_m * (1.0 - WGS84_E2) * sin_lat,
        -v_east * sin_lon - v_up_north * cos_lon,
        v_east * cos_lon - v_up_north * sin_lon,
        v_north * cos_lat,
    )


@nb.njit(cache=True, nogil=True)
def vertical_interval(
    dz_ft: float, dvs_fpm: float, vertical_ft: float
) -> tuple[float, float]:  # pragma: no cover
    """Open interval of times (s) when ``|dz_ft + dvs_fpm t / 60| < vertical_ft``.

    ``(-inf, inf)`` for a constant vertical distance below the threshold, an empty interval
    ``(inf, -inf)`` for one at or above it (as ``_narrow.vertical_interval``).
    """
    if dvs_fpm != 0.0:
        t_a = 60.0 * (-vertical_ft - dz_ft) / dvs_fpm
        t_b = 60.0 * (vertical_ft - dz_ft) / dvs_fpm
        return min(t_a, t_b), max(t_a, t_b)
    if abs(dz_ft) < vertical_ft:
        return -np.inf, np.inf
    return np.inf, -np.inf


@nb.njit(cache=True, nogil=True)
def horizontal_quadratic(
    xi: float,
    yi: float,
    zi: float,
    xj: float,
    yj: float,
    zj: float,
    wx: float,
    wy: float,
    wz: float,
) -> tuple[float, float, float, float, float, float]:  # pragma: no cover
    """Horizontal relative motion of ``j`` seen from ``i`` in the pair frame at the ECEF midpoint.

    ``(x, y, z)`` are the two ECEF surface positions (m), ``w`` the relative ECEF velocity
    ``v_j - v_i`` (m/s). Returns ``(qa, qb, c0, dx, dy, dz)``: the squared horizontal distance is
    ``c0 + 2 qb t + qa t^2`` (m^2, ``t`` in s), and ``d = p_j - p_i`` the ECEF chord (m).
    """
    dx = xj - xi
    dy = yj - yi
    dz = zj - zi
    ux = xj + xi
    uy = yj + yi
    uz = (zj + zi) / (1.0 - WGS84_E2)
    norm = math.sqrt(ux * ux + uy * uy + uz * uz)
    if not norm > 0.0:
        norm = 1.0
    ux /= norm
    uy /= norm
    uz /= norm
    d_up = dx * ux + dy * uy + dz * uz
    w_up = wx * ux + wy * uy + wz * uz
    hx = dx - d_up * ux
    hy = dy - d_up * uy
    hz = dz - d_up * uz
    gx = wx - w_up * ux
    gy = wy - w_up * uy
    gz = wz - w_up * uz
    qa = gx * gx + gy * gy + gz * gz
    qb = hx * gx + hy * gy + hz * gz
    c0 = hx * hx + hy * hy + hz * hz
    return qa, qb, c0, dx, dy, dz


@nb.njit(cache=True, nogil=True)
def horizontal_interval(
    qa: float, qb: float, c0: float, radius_m: float
) -> tuple[float, float]:  # pragma: no cover
    """Open interval of times (s) when ``c0 + 2 qb t + qa t^2 < radius_m^2``.

    Numerically stable roots; ``(-inf, inf)`` for no relative motion inside the radius, an
    empty ``(inf, -inf)`` otherwise (as ``_narrow.narrow_phase``).
    """
    qc = c0 - radius_m * radius_m
    moving = qa > _RELATIVE_SPEED_EPS_MPS2
    disc = qb * qb - qa * qc
    if moving and disc > 0.0:
        sq = math.sqrt(disc)
        q = -(qb + sq) if qb >= 0.0 else sq - qb
        r1 = q / qa
        r2 = qc / q
        return min(r1, r2), max(r1, r2)
    if (not moving) and qc < 0.0:
        return -np.inf, np.inf
    return np.inf, -np.inf


@nb.njit(cache=True, nogil=True)
def cpa_time(qa: float, qb: float) -> float:  # pragma: no cover
    """Time (s) of the unbounded horizontal closest approach; 0 when not closing."""
    return -qb / qa if (qa > _RELATIVE_SPEED_EPS_MPS2 and qb < 0.0) else 0.0


@nb.njit(cache=True, nogil=True)
def clipped_miss_distance_sq(
    qa: float, qb: float, c0: float, t_cpa: float, t_end: float
) -> float:  # pragma: no cover
    """Squared horizontal distance (m^2) at ``min(t_cpa, t_end)``."""
    t_clip = min(t_cpa, t_end)
    return max(c0 + t_clip * (2.0 * qb + qa * t_clip), 0.0)


@nb.njit(cache=True, nogil=True)
def _sign(v: float) -> float:  # pragma: no cover
    if v > 0.0:
        return 1.0
    if v < 0.0:
        return -1.0
    return v


@nb.njit(cache=True, nogil=True)
def vertical_miss_ft(dz_ft: float, dvs_fpm: float, t_end: float) -> float:  # pragma: no cover
    """Smallest ``|dz_ft + dvs_fpm t / 60|`` over ``[0, t_end]`` s, feet."""
    end = dz_ft + dvs_fpm * (t_end / 60.0)
    return 0.0 if _sign(dz_ft) * _sign(end) <= 0.0 else min(abs(dz_ft), abs(end))


@nb.njit(cache=True, nogil=True)
def bearing_deg(
    lat_deg: float, lon_deg: float, dx: float, dy: float, dz: float
) -> float:  # pragma: no cover
    """``_geometry.bearing_deg`` for one ECEF chord ``d`` (m): degrees in ``[0, 360)``."""
    lat = lat_deg * _DEG
    lon = lon_deg * _DEG
    sin_lat = math.sin(lat)
    cos_lat = math.cos(lat)
    sin_lon = math.sin(lon)
    cos_lon = math.cos(lon)
    east = dx * -sin_lon + dy * cos_lon + dz * 0.0
    north = dx * (-sin_lat * cos_lon) + dy * (-sin_lat * sin_lon) + dz * cos_lat
    out = (math.atan2(east, north) * _RAD) % 360.0
    if out >= 360.0 or (east == 0.0 and north == 0.0):
        return 0.0
    return out


# --- the detector ------------------------------------------------------------------------------


@nb.njit(cache=True, nogil=True)
def _radix_argsort(  # pragma: no cover
    keys: np.ndarray,
    n: int,
    max_key: int,
    order: np.ndarray,
    tmp_order: np.ndarray,
    sorted_keys: np.ndarray,
    tmp_keys: np.ndarray,
    count: np.ndarray,
) -> np.ndarray:
    """Stable permutation sorting the non-negative int64 ``keys[:n]`` (all ``<= max_key``).

    LSD radix sort (one to four passes) when the buckets are not much more than the keys, else
    numba's merge sort. ``order``, ``tmp_order``, ``sorted_keys``, ``tmp_keys`` (length ``>= n``)
    and ``count`` (one more than the buckets, at most ``2**_RADIX_BITS + 1``) are scratch; the
    result (length ``n``) is a view of ``order`` or ``tmp_order``, or a new array.
    """
    total_bits = 0
    while (max_key >> total_bits) > 0:
        total_bits += 1
    passes = max(1, (total_bits + _RADIX_BITS - 1) // _RADIX_BITS)
    bits = max(1, (total_bits + passes - 1) // passes)
    if (1 << bits) > 4 * n + 256:
        return np.argsort(keys[:n], kind="mergesort")
    size = 1 << bits
    mask = size - 1
    for r in range(n):
        order[r] = r
        sorted_keys[r] = keys[r]
    shift = 0
    for _ in range(passes):
        for d in range(size + 1):
            count[d] = 0
        for r in range(n):
            count[((sorted_keys[r] >> shift) & mask) + 1] += 1
        for d in range(size):
            count[d + 1] += count[d]
        for r in range(n):
            d = (sorted_keys[r] >> shift) & mask
            dst = count[d]
            count[d] = dst + 1
            tmp_order[dst] = order[r]
            tmp_keys[dst] = sorted_keys[r]
        order, tmp_order = tmp_order, order
        sorted_keys, tmp_keys = tmp_keys, sorted_keys
        shift += bits
    return order[:n]


@nb.njit(cache=True, nogil=True)
def _argsort_keys(keys: np.ndarray, max_key: int) -> np.ndarray:  # pragma: no cover
    """Stable permutation sorting non-negative int64 ``keys`` (all ``<= max_key``), new arrays."""
    n = keys.shape[0]
    total_bits = 0
    while (max_key >> total_bits) > 0:
        total_bits += 1
    passes = max(1, (total_bits + _RADIX_BITS - 1) // _RADIX_BITS)
    bits = max(1, (total_bits + passes - 1) // passes)
    if (1 << bits) > 4 * n + 256:
        return np.argsort(keys, kind="mergesort")
    return _radix_argsort(
        keys,
        n,
        max_key,
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty((1 << bits) + 1, dtype=np.int64),
    )


@nb.njit(cache=True, nogil=True)
def _room_f(buf: np.ndarray, need: int) -> np.ndarray:  # pragma: no cover
    """``buf`` if it holds ``need`` float64 values, else a new buffer with a quarter spare."""
    if buf.shape[0] >= need:
        return buf
    return np.empty(need + need // 4 + 64)


@nb.njit(cache=True, nogil=True)
def _room_i(buf: np.ndarray, need: int) -> np.ndarray:  # pragma: no cover
    """``buf`` if it holds ``need`` int64 values, else a new buffer with a quarter spare."""
    if buf.shape[0] >= need:
        return buf
    return np.empty(need + need // 4 + 64, dtype=np.int64)


@nb.njit(cache=True, nogil=True)
def _grow_out(
    out_ij: np.ndarray, out_v: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """Result buffers of twice the capacity, the first ``count`` rows kept."""
    cap = 2 * out_ij.shape[0]
    grown_ij = np.empty((cap, 2), dtype=np.int64)
    grown_v = np.empty((cap, _N_FLOAT))
    grown_ij[:count] = out_ij[:count]
    grown_v[:count] = out_v[:count]
    return grown_ij, grown_v


@nb.njit(cache=True, nogil=True)
def _lines_may_meet(
    dx: float, dy: float, dz: float, wx: float, wy: float, wz: float, half: float, limit_sq: float
) -> bool:  # pragma: no cover
    """Whether ``|d + w tau|^2 < limit_sq`` for some ``tau`` in ``[-half, half]`` (no division)."""
    ww = wx * wx + wy * wy + wz * wz
    dw = dx * wx + dy * wy + dz * wz
    dd = dx * dx + dy * dy + dz * dz
    if ww * half <= abs(dw):  # closest at an end (or no relative motion)
        return dd - 2.0 * abs(dw) * half + ww * half * half < limit_sq
    return dd * ww - dw * dw < limit_sq * ww


@nb.njit(cache=True, nogil=True)
def _exact_pair(  # pragma: no cover
    st: np.ndarray,
    i: int,
    j: int,
    row_i: int,
    row_j: int,
    radius_m: float,
    vertical_ft: float,
    t_end: float,
    out_ij: np.ndarray,
    out_v: np.ndarray,
    count: int,
) -> bool:
    """The exact narrow phase of rows ``i``, ``j`` of ``st`` (``_N_STATE`` columns); on a conflict
    writes ``(row_i, row_j)`` and the values into row ``count`` of the outputs and returns True.

    Same formulas in the same order as ``_narrow.narrow_phase`` (``i`` first in input order).
    """
    dz_ft = st[j, 6] - st[i, 6]
    dvs = st[j, 7] - st[i, 7]
    v_lo, v_hi = vertical_interval(dz_ft, dvs, vertical_ft)
    if not (v_lo < v_hi and v_lo < t_end and v_hi > 0.0):
        return False
    qa, qb, c0, dx, dy, dz = horizontal_quadratic(
        st[i, 0],
        st[i, 1],
        st[i, 2],
        st[j, 0],
        st[j, 1],
        st[j, 2],
        st[j, 3] - st[i, 3],
        st[j, 4] - st[i, 4],
        st[j, 5] - st[i, 5],
    )
    h_lo, h_hi = horizontal_interval(qa, qb, c0, radius_m)
    t_lo = max(h_lo, v_lo)
    t_hi = min(h_hi, v_hi)
    if not (t_lo < t_hi and t_lo < t_end and t_hi > 0.0):
        return False
    t_cpa = cpa_time(qa, qb)
    hmd_sq = clipped_miss_distance_sq(qa, qb, c0, t_cpa, t_end)
    out_ij[count, 0] = row_i
    out_ij[count, 1] = row_j
    out_v[count, 0] = max(t_lo, 0.0)
    out_v[count, 1] = min(t_hi, t_end)
    out_v[count, 2] = t_cpa
    out_v[count, 3] = math.sqrt(hmd_sq) / M_PER_NM
    out_v[count, 4] = vertical_miss_ft(dz_ft, dvs, t_end)
    out_v[count, 5] = math.sqrt(c0) / M_PER_NM
    out_v[count, 6] = abs(dz_ft)
    out_v[count, 7] = bearing_deg(st[i, 8], st[i, 9], dx, dy, dz)
    out_v[count, 8] = bearing_deg(st[j, 8], st[j, 9], -dx, -dy, -dz)
    return True


@nb.njit(cache=True, nogil=True)
def _columns_out(
    out_ij: np.ndarray, out_v: np.ndarray, final: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """``(2, m)`` pairs and ``(9, m)`` values in the order ``final`` of the result rows."""
    count = final.shape[0]
    ij = np.empty((2, count), dtype=np.int64)
    values = np.empty((_N_FLOAT, count))
    for k in range(count):
        src = final[k]
        ij[0, k] = out_ij[src, 0]
        ij[1, k] = out_ij[src, 1]
        for f in range(_N_FLOAT):
            values[f, k] = out_v[src, f]
    return ij, values


@nb.njit(cache=True, nogil=True)
def _detect_all_pairs(  # pragma: no cover
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    alt_ft: np.ndarray,
    gs_kt: np.ndarray,
    track_deg: np.ndarray,
    vs_fpm: np.ndarray,
    horizontal_nm: float,
    vertical_ft: float,
    lookahead_s: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``detect_pairs`` for a few aircraft: every pair, no grid (far fewer allocations)."""
    n = lat_deg.shape[0]
    t_end = lookahead_s
    half = 0.5 * t_end
    st = np.empty((n, _N_STATE))
    max_speed = 0.0
    for k in range(n):
        xk, yk, zk, vxk, vyk, vzk = ecef_state_fast(lat_deg[k], lon_deg[k], gs_kt[k], track_deg[k])
        st[k, 0] = xk
        st[k, 1] = yk
        st[k, 2] = zk
        st[k, 3] = vxk
        st[k, 4] = vyk
        st[k, 5] = vzk
        st[k, 6] = alt_ft[k]
        st[k, 7] = vs_fpm[k]
        st[k, 8] = lat_deg[k]
        st[k, 9] = lon_deg[k]
        max_speed = max(max_speed, math.sqrt(vxk * vxk + vyk * vyk + vzk * vzk))
    radius_m = horizontal_nm * M_PER_NM
    reach_m = 2.0 * radius_m + 2.0 * max_speed * t_end
    theta = min(0.5 * reach_m / _EARTH_MIN_RADIUS_M, 1.0)
    base_m = radius_m + 2.0 * max_speed * t_end * theta + _MARGIN_M
    line_sq = (base_m + 1.0) * (base_m + 1.0)
    widen = 0.5 * vertical_ft + _VERTICAL_SLACK_FT
    out_ij = np.empty((n + 16, 2), dtype=np.int64)
    out_v = np.empty((n + 16, _N_FLOAT))
    count = 0
    tested = 0
    for i in range(n):
        zi = st[i, 6] + st[i, 7] * (t_end / 60.0)
        i_lo = min(st[i, 6], zi) - widen
        i_hi = max(st[i, 6], zi) + widen
        for j in range(i + 1, n):
            zj = st[j, 6] + st[j, 7] * (t_end / 60.0)
            if not (min(st[j, 6], zj) - widen < i_hi and i_lo < max(st[j, 6], zj) + widen):
                continue
            # midpoint chord and relative velocity (the grid path's broad-phase bound)
            wx = st[j, 3] - st[i, 3]
            wy = st[j, 4] - st[i, 4]
            wz = st[j, 5] - st[i, 5]
            dx = st[j, 0] - st[i, 0] + wx * half
            dy = st[j, 1] - st[i, 1] + wy * half
            dz = st[j, 2] - st[i, 2] + wz * half
            if not _lines_may_meet(dx, dy, dz, wx, wy, wz, half, line_sq):
                continue
            tested += 1
            if count == out_ij.shape[0]:
                out_ij, out_v = _grow_out(out_ij, out_v, count)
            if _exact_pair(st, i, j, i, j, radius_m, vertical_ft, t_end, out_ij, out_v, count):
                count += 1
    ij, values = _columns_out(out_ij, out_v, np.arange(count))
    stats = np.array([n * (n - 1) // 2, tested], dtype=np.int64)
    return ij, values, stats


WORKSPACE_SIZE = 5
"""Number of arrays in a kernel workspace (see ``new_workspace``)."""


def new_workspace() -> tuple[np.ndarray, ...]:
    """An empty workspace for ``detect_pairs_ws`` (its buffers grow on first use).

    ``(per-aircraft float64, per-aircraft int64, slot table int64, result pairs int64
    (cap, 2), result values float64 (cap, 9))``: the temporaries of more than a few hundred kB at
    N = 10,000 (the per-entry arrays of the scan stay fresh allocations: as views of one
    reused buffer the compiled scan measured ~0.6 ms slower). One workspace serves one call at
    a time: never share it between threads while a call runs.
    """
    return (
        np.empty(0),
        np.empty(0, dtype=np.int64),
        np.empty(0, dtype=np.int64),
        np.empty((0, 2), dtype=np.int64),
        np.empty((0, _N_FLOAT)),
    )


@nb.njit(cache=True, nogil=True)
def detect_pairs(  # pragma: no cover
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    alt_ft: np.ndarray,
    gs_kt: np.ndarray,
    track_deg: np.ndarray,
    vs_fpm: np.ndarray,
    horizontal_nm: float,
    vertical_ft: float,
    lookahead_s: float,
    band_factor: float,
    all_pairs_max_n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conflicting pairs ``(i, j)`` (``i < j``, sorted), their values and the visit counts.

    Returns ``(ij, values, stats)``: ``ij`` int64 ``(2, m)``; ``values`` float64 ``(9, m)`` with
    rows t_in_s, t_out_s, t_cpa_s, hmd_nm, vmd_ft, range_nm, vertical_ft, bearing_deg,
    reverse_bearing_deg; ``stats`` int64 ``[pairs visited, candidates tested exactly]``.
    ``alt_ft`` and ``vs_fpm`` are the compared altitudes and rates (see ``_vertical``);
    ``band_factor`` is the altitude band height in vertical thresholds (``BAND_FACTOR``; any
    value gives the same answer, it only trades band entries against visited pairs). Up to
    ``all_pairs_max_n`` aircraft every pair is tested without a grid (``ALL_PAIRS_MAX_N``; the
    same answer again, with fewer allocations for small snapshots). Temporaries are allocated
    for this call (``detect_pairs_ws`` reuses them across calls).
    """
    n = lat_deg.shape[0]
    if n <= all_pairs_max_n:
        return _detect_all_pairs(
            lat_deg,
            lon_deg,
            alt_ft,
            gs_kt,
            track_deg,
            vs_fpm,
            horizontal_nm,
            vertical_ft,
            lookahead_s,
        )
    ij, values, stats, _ = detect_pairs_ws(
        lat_deg,
        lon_deg,
        alt_ft,
        gs_kt,
        track_deg,
        vs_fpm,
        horizontal_nm,
        vertical_ft,
        lookahead_s,
        band_factor,
        (
            np.empty(0),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.int64),
            np.empty((0, 2), dtype=np.int64),
            np.empty((0, _N_FLOAT)),
        ),
    )
    return ij, values, stats


@nb.njit(cache=True, nogil=True)
def detect_pairs_ws(  # pragma: no cover
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    alt_ft: np.ndarray,
    gs_kt: np.ndarray,
    track_deg: np.ndarray,
    vs_fpm: np.ndarray,
    horizontal_nm: float,
    vertical_ft: float,
    lookahead_s: float,
    band_factor: float,
    workspace: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """The grid path of ``detect_pairs`` (any ``n >= 2``) on a reusable ``workspace``.

    ``workspace`` is ``new_workspace()`` or the workspace a previous call returned: its buffers
    hold this call's temporaries and are replaced by larger ones when too small. Returns
    ``(ij, values, stats, workspace)``; ``ij``, ``values`` and ``stats`` are new arrays (never
    views of the workspace), so a later call cannot change them.
    """
    wf_air, wi_air, wi_slot, out_ij, out_v = workspace
    n = lat_deg.shape[0]
    t_end = lookahead_s
    half = 0.5 * t_end
    # per-aircraft scratch: state and st (n x _N_STATE each), s_lo, s_hi
    wf_air = _room_f(wf_air, (2 * _N_STATE + 2) * n)
    n_count = (1 << _RADIX_BITS) + 1
    wi_air = _room_i(wi_air, 13 * n + 2 + n_count)
    state = wf_air[: _N_STATE * n].reshape((n, _N_STATE))  # input order
    st = wf_air[_N_STATE * n : 2 * _N_STATE * n].reshape((n, _N_STATE))  # cell order
    s_lo = wf_air[2 * _N_STATE * n : (2 * _N_STATE + 1) * n]
    s_hi = wf_air[(2 * _N_STATE + 1) * n : (2 * _N_STATE + 2) * n]
    keys = wi_air[:n]
    sort_a = wi_air[n : 2 * n]
    sort_b = wi_air[2 * n : 3 * n]
    sort_c = wi_air[3 * n : 4 * n]
    sort_d = wi_air[4 * n : 5 * n]
    cell_of = wi_air[5 * n : 6 * n]
    cell_key = wi_air[6 * n : 7 * n]
    first = wi_air[7 * n : 8 * n]
    last = wi_air[8 * n : 9 * n]
    cell_bmin = wi_air[9 * n : 10 * n]
    cell_bmax = wi_air[10 * n : 11 * n]
    cell_start = wi_air[11 * n : 12 * n + 1]
    radix_count = wi_air[13 * n + 2 : 13 * n + 2 + n_count]
    # --- kinematics (as _geometry.kinematics), in input order --------------------------------
    max_speed = 0.0
    for k in range(n):
        xk, yk, zk, vxk, vyk, vzk = ecef_state_fast(lat_deg[k], lon_deg[k], gs_kt[k], track_deg[k])
        state[k, 0] = xk
        state[k, 1] = yk
        state[k, 2] = zk
        state[k, 3] = vxk
        state[k, 4] = vyk
        state[k, 5] = vzk
        state[k, 6] = alt_ft[k]
        state[k, 7] = vs_fpm[k]
        state[k, 8] = lat_deg[k]
        state[k, 9] = lon_deg[k]
        s = math.sqrt(vxk * vxk + vyk * vyk + vzk * vzk)
        if s > max_speed:
            max_speed = s
    radius_m = horizontal_nm * M_PER_NM
    reach_m = 2.0 * radius_m + 2.0 * max_speed * t_end
    theta = min(0.5 * reach_m / _EARTH_MIN_RADIUS_M, 1.0)
    base_m = radius_m + 2.0 * max_speed * t_end * theta + _MARGIN_M
    cell_m = (base_m + max_speed * t_end) * (1.0 + 1e-9) + 1.0
    # --- midpoint positions and spatial cell keys ---------------------------------------------
    x0 = np.inf
    y0 = np.inf
    z0 = np.inf
    x1 = -np.inf
    y1 = -np.inf
    z1 = -np.inf
    for k in range(n):
        px = state[k, 0] + state[k, 3] * half
        py = state[k, 1] + state[k, 4] * half
        pz = state[k, 2] + state[k, 5] * half
        x0 = min(x0, px)
        y0 = min(y0, py)
        z0 = min(z0, pz)
        x1 = max(x1, px)
        y1 = max(y1, py)
        z1 = max(z1, pz)
    nx = int((x1 - x0) / cell_m) + 3
    ny = int((y1 - y0) / cell_m) + 3
    nz = int((z1 - z0) / cell_m) + 3
    for k in range(n):
        cx = int((state[k, 0] + state[k, 3] * half - x0) / cell_m) + 1
        cy = int((state[k, 1] + state[k, 4] * half - y0) / cell_m) + 1
        cz = int((state[k, 2] + state[k, 5] * half - z0) / cell_m) + 1
        keys[k] = (cx * ny + cy) * nz + cz
    order = _radix_argsort(keys, n, nx * ny * nz - 1, sort_a, sort_b, sort_c, sort_d, radix_count)
    # --- per-aircraft arrays in cell order ("ranks") -------------------------------------------
    widen = 0.5 * vertical_ft + _VERTICAL_SLACK_FT
    n_cells = 0
    lo_min = np.inf
    hi_max = -np.inf
    for r in range(n):
        k = order[r]
        for f in range(_N_STATE):
            st[r, f] = state[k, f]
        za = st[r, 6]
        zb = za + st[r, 7] * (t_end / 60.0)
        s_lo[r] = min(za, zb) - widen
        s_hi[r] = max(za, zb) + widen
        lo_min = min(lo_min, s_lo[r])
        hi_max = max(hi_max, s_hi[r])
        if r == 0 or keys[k] != cell_key[n_cells - 1]:
            cell_key[n_cells] = keys[k]
            cell_start[n_cells] = r
            n_cells += 1
        cell_of[r] = n_cells - 1
    cell_start[n_cells] = n
    # --- altitude bands: one entry per (aircraft, band its widened range touches) ------------
    band_ft = band_factor * vertical_ft
    while True:
        band_lo = math.floor(lo_min / band_ft)
        span = int(math.floor(hi_max / band_ft) - band_lo) + 1
        total = 0
        if span <= _MAX_BANDS and span * n_cells <= _MAX_SLOTS_PER_AIRCRAFT * n + 64:
            for c in range(n_cells):
                b_min = span
                b_max = -1
                for r in range(cell_start[c], cell_start[c + 1]):
                    f = int(math.floor(s_lo[r] / band_ft) - band_lo)
                    g = int(math.floor(s_hi[r] / band_ft) - band_lo)
                    first[r] = f
                    last[r] = g
                    total += g - f + 1
                    b_min = min(b_min, f)
                    b_max = max(b_max, g)
                cell_bmin[c] = b_min
                cell_bmax[c] = b_max
            if total <= _MAX_ENTRIES_PER_AIRCRAFT * n:
                break
        band_ft *= 2.0
    # band-major slot table: band b of cell c is slot b * n_cells + c, so one band of the
    # cells of a column (consecutive keys, consecutive in cell order) is one run of entries
    slots = span * n_cells
    wi_slot = _room_i(wi_slot, 2 * slots + 1)
    slot_start = wi_slot[: slots + 1]
    fill = wi_slot[slots + 1 : 2 * slots + 1]
    for s in range(slots + 1):
        slot_start[s] = 0
    for r in range(n):
        c = cell_of[r]
        for band in range(first[r], last[r] + 1):
            slot_start[band * n_cells + c + 1] += 1
    for s in range(slots):
        slot_start[s + 1] += slot_start[s]
    max_slot = 1
    for s in range(slots):
        fill[s] = slot_start[s]
        max_slot = max(max_slot, slot_start[s + 1] - slot_start[s])
    e_rank = np.empty(total, dtype=np.int64)
    hits = np.empty(3 * max_slot + 1, dtype=np.int64)
    e_first = np.empty(total, dtype=np.bool_)
    for r in range(n):
        c = cell_of[r]
        for band in range(first[r], last[r] + 1):
            e = fill[band * n_cells + c]
            fill[band * n_cells + c] = e + 1
            e_rank[e] = r
            e_first[e] = band == first[r]
    # per-entry copies in entry order (sequential access in the hot loop)
    qx = np.empty(total)
    qy = np.empty(total)
    qz = np.empty(total)
    qs = np.empty(total)
    qvx = np.empty(total)
    qvy = np.empty(total)
    qvz = np.empty(total)
    qlo = np.empty(total)
    qhi = np.empty(total)
    for e in range(total):
        r = e_rank[e]
        qx[e] = st[r, 0] + st[r, 3] * half
        qy[e] = st[r, 1] + st[r, 4] * half
        qz[e] = st[r, 2] + st[r, 5] * half
        qs[e] = math.sqrt(st[r, 3] ** 2 + st[r, 4] ** 2 + st[r, 5] ** 2) * half
        qvx[e] = st[r, 3]
        qvy[e] = st[r, 4]
        qvz[e] = st[r, 5]
        qlo[e] = s_lo[r]
        qhi[e] = s_hi[r]
    # the 13 forward neighbours (lexicographically positive offsets) as runs: the cell above
    # (dz = +1, with the rest of the own cell) and the four forward columns (dx, dy) = (0, 1),
    # (1, -1), (1, 0), (1, 1), each dz = -1..1: consecutive keys; the padding of one cell on
    # every side keeps them inside the grid (a column never wraps into the next one)
    col_off = np.empty(4, dtype=np.int64)
    col_off[0] = nz
    col_off[1] = (ny - 1) * nz
    col_off[2] = ny * nz
    col_off[3] = (ny + 1) * nz
    col_lo = np.zeros(4, dtype=np.int64)
    col_hi = np.zeros(4, dtype=np.int64)
    own_hi = 0
    # --- broad phase with the exact narrow phase on every hit -------------------------------
    if out_ij.shape[0] < n // 4 + 64:
        out_ij = np.empty((n // 4 + 64, 2), dtype=np.int64)
        out_v = np.empty((n // 4 + 64, _N_FLOAT))
    count = 0
    visited = 0
    tested = 0
    line_sq = (base_m + 1.0) * (base_m + 1.0)
    for c in range(n_cells):
        key = cell_key[c]
        own_hi = max(own_hi, c + 1)
        while own_hi < n_cells and cell_key[own_hi] <= key + 1:
            own_hi += 1
        for col in range(4):
            p = col_lo[col]
            while p < n_cells and cell_key[p] < key + col_off[col] - 1:
                p += 1
            col_lo[col] = p
            q = max(col_hi[col], p)
            while q < n_cells and cell_key[q] <= key + col_off[col] + 1:
                q += 1
            col_hi[col] = q
        for band in range(cell_bmin[c], cell_bmax[c] + 1):
            base = band * n_cells
            a0 = slot_start[base + c]
            a1 = slot_start[base + c + 1]
            if a0 == a1:
                continue
            b0 = a0
            for run in range(5):
                if run == 0:
                    b1 = slot_start[base + own_hi]
                else:
                    b0 = slot_start[base + col_lo[run - 1]]
                    b1 = slot_start[base + col_hi[run - 1]]
                    if b0 == b1:
                        continue
                for a in range(a0, a1):
                    b_first = a + 1 if run == 0 else b0
                    visited += b1 - b_first
                    ax = qx[a]
                    ay = qy[a]
                    az = qz[a]
                    a_lo = qlo[a]
                    a_hi = qhi[a]
                    a_is_first = e_first[a]
                    a_lim = base_m + qs[a]
                    avx = qvx[a]
                    avy = qvy[a]
                    avz = qvz[a]
                    # scan (branch-free), then the few hits
                    m = 0
                    for b in range(b_first, b1):
                        ddx = qx[b] - ax
                        ddy = qy[b] - ay
                        ddz = qz[b] - az
                        lim = a_lim + qs[b]
                        close = (ddx * ddx + ddy * ddy + ddz * ddz) < lim * lim
                        # counted once: in the lowest band both touch (the first band of one)
                        hits[m] = b
                        m += close & (a_lo < qhi[b]) & (qlo[b] < a_hi) & (a_is_first | e_first[b])
                    for h in range(m):
                        b = hits[h]
                        ddx = qx[b] - ax
                        ddy = qy[b] - ay
                        ddz = qz[b] - az
                        # straight ECEF lines closer than base_m within the look-ahead (the
                        # bound the cells are built on), minimum over tau = t - T/2 in [-T/2, T/2]
                        if not _lines_may_meet(
                            ddx, ddy, ddz, qvx[b] - avx, qvy[b] - avy, qvz[b] - avz, half, line_sq
                        ):
                            continue
                        tested += 1
                        ra = e_rank[a]
                        rb = e_rank[b]
                        if order[ra] < order[rb]:
                            i = ra
                            j = rb
                        else:
                            i = rb
                            j = ra
                        if count == out_ij.shape[0]:
                            out_ij, out_v = _grow_out(out_ij, out_v, count)
                        if _exact_pair(
                            st,
                            i,
                            j,
                            order[i],
                            order[j],
                            radius_m,
                            vertical_ft,
                            t_end,
                            out_ij,
                            out_v,
                            count,
                        ):
                            count += 1
    # --- sort by (i, j) ------------------------------------------------------------------
    sort_key = np.empty(count, dtype=np.int64)
    for k in range(count):
        sort_key[k] = out_ij[k, 0] * n + out_ij[k, 1]
    final = _argsort_keys(sort_key, n * n - 1) if count > 1 else np.arange(count)
    ij, values = _columns_out(out_ij, out_v, final)
    stats = np.array([visited, tested], dtype=np.int64)
    return ij, values, stats, (wf_air, wi_air, wi_slot, out_ij, out_v)


@nb.njit(cache=True, nogil=True)
def detect_segments(  # pragma: no cover
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    alt_ft: np.ndarray,
    gs_kt: np.ndarray,
    track_deg: np.ndarray,
    vs_fpm: np.ndarray,
    bounds: np.ndarray,
    horizontal_nm: float,
    vertical_ft: float,
    lookahead_s: float,
    band_factor: float,
    all_pairs_max_n: int,
    workspace: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """``detect_pairs`` on each snapshot ``[bounds[k], bounds[k + 1])`` of the columns, one call.

    Returns ``(ij, values, workspace)``: ``ij``, ``values`` as ``detect_pairs`` returns them, with
    ``ij`` as row numbers of the columns (snapshot by snapshot, each sorted by ``(i, j)``), new
    arrays; snapshots of more than ``all_pairs_max_n`` aircraft run ``detect_pairs_ws`` on
    ``workspace`` (see there). A replay of many snapshots pays one compiled call.
    """
    cap = 64
    all_ij = np.empty((2, cap), dtype=np.int64)
    all_v = np.empty((_N_FLOAT, cap))
    total = 0
    for s in range(bounds.shape[0] - 1):
        start = bounds[s]
        end = bounds[s + 1]
        if end - start < 2:
            continue
        if end - start <= all_pairs_max_n:
            ij, values, _ = _detect_all_pairs(
                lat_deg[start:end],
                lon_deg[start:end],
                alt_ft[start:end],
                gs_kt[start:end],
                track_deg[start:end],
                vs_fpm[start:end],
                horizontal_nm,
                vertical_ft,
                lookahead_s,
            )
        else:
            ij, values, _, workspace = detect_pairs_ws(
                lat_deg[start:end],
                lon_deg[start:end],
                alt_ft[start:end],
                gs_kt[start:end],
                track_deg[start:end],
                vs_fpm[start:end],
                horizontal_nm,
                vertical_ft,
                lookahead_s,
                band_factor,
                workspace,
            )
        m = ij.shape[1]
        if total + m > cap:
            cap = max(2 * cap, total + m)
            grown_ij = np.empty((2, cap), dtype=np.int64)
            grown_v = np.empty((_N_FLOAT, cap))
            grown_ij[:, :total] = all_ij[:, :total]
            grown_v[:, :total] = all_v[:, :total]
            all_ij = grown_ij
            all_v = grown_v
        for k in range(m):
            all_ij[0, total + k] = ij[0, k] + start
            all_ij[1, total + k] = ij[1, k] + start
            for f in range(_N_FLOAT):
                all_v[f, total + k] = values[f, k]
        total += m
    return all_ij[:, :total].copy(), all_v[:, :total].copy(), workspace
