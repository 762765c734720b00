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

Narrow phase: exactly the formulas of ``_narrow.narrow_phase`` (pair frame at the ECEF midpoint,
open root intervals of the horizontal quadratic and of the vertical line, intersected with
``[0, T]``), evaluated per pair in the same operation order.

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
BAND_FACTOR = 3.0
"""Altitude band height of the broad phase in vertical thresholds (3000 ft for 1000 ft), chosen
by measurement on the benchmark traffic (2, 3, 4 and 6 tried: 3 visits the fewest pairs)."""
_N_FLOAT = 9  # t_in, t_out, t_cpa, hmd, vmd, range, vertical, bearing, reverse bearing
_MAX_ENTRIES_PER_AIRCRAFT = 4  # average band entries per aircraft before bands are widened
_MAX_BANDS = 4096  # altitude bands before they are widened (cell keys stay far below 2**63)


@nb.njit(cache=True, nogil=True)
def first_nonfinite(columns: tuple[np.ndarray, ...]) -> tuple[int, int]:  # pragma: no cover
    """``(column, row)`` of the first NaN or infinity (column order first), or ``(-1, -1)``."""
    for c in range(len(columns)):
        col = columns[c]
        for k in range(col.shape[0]):
            if not math.isfinite(col[k]):
                return c, k
    return -1, -1


@nb.njit(cache=True, nogil=True, inline="always")
def _sign(v: float) -> float:  # pragma: no cover
    if v > 0.0:
        return 1.0
    if v < 0.0:
        return -1.0
    return v


@nb.njit(cache=True, nogil=True, inline="always")
def _bearing(
    lat_deg: float, lon_deg: float, dx: float, dy: float, dz: float
) -> float:  # pragma: no cover
    """``_geometry.bearing_deg`` for one chord."""
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


@nb.njit(cache=True, nogil=True)
def _grow(
    cand_a: np.ndarray, cand_b: np.ndarray, used: int, need: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """Candidate buffers with room for at least ``need`` pairs (the first ``used`` kept)."""
    size = max(2 * cand_a.shape[0], need)
    new_a = np.empty(size, dtype=np.int64)
    new_b = np.empty(size, dtype=np.int64)
    new_a[:used] = cand_a[:used]
    new_b[:used] = cand_b[:used]
    return new_a, new_b


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conflicting pairs ``(i, j)`` (``i < j``, sorted), their values and the candidate count.

    Returns ``(ij, values, stats)``: ``ij`` int64 ``(2, m)``; ``values`` float64 ``(9, m)`` with
    rows t_in_s, t_out_s, t_cpa_s, hmd_nm, vmd_ft, range_nm, vertical_ft, bearing_deg,
    reverse_bearing_deg; ``stats`` int64 ``[pairs visited, candidates tested exactly]``.
    ``alt_ft`` and ``vs_fpm`` are the compared altitudes and rates (see ``_vertical``);
    ``band_factor`` is the altitude band height in vertical thresholds (``BAND_FACTOR``; any
    value gives the same answer, it only trades band entries against visited pairs).
    """
    n = lat_deg.shape[0]
    t_end = lookahead_s
    half = 0.5 * t_end
    # --- kinematics (as _geometry.kinematics) --------------------------------------------
    x = np.empty(n)
    y = np.empty(n)
    z = np.empty(n)
    vx = np.empty(n)
    vy = np.empty(n)
    vz = np.empty(n)
    speed = np.empty(n)
    max_speed = 0.0
    for k in range(n):
        lat = lat_deg[k] * _DEG
        lon = lon_deg[k] * _DEG
        sin_lat = math.sin(lat)
        cos_lat = math.cos(lat)
        sin_lon = math.sin(lon)
        cos_lon = math.cos(lon)
        prime_vertical_m = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
        r_xy = prime_vertical_m * cos_lat
        track = track_deg[k] * _DEG
        speed_mps = gs_kt[k] * MPS_PER_KT
        v_east = speed_mps * math.sin(track)
        v_north = speed_mps * math.cos(track)
        v_up_north = v_north * sin_lat
        x[k] = r_xy * cos_lon
        y[k] = r_xy * sin_lon
        z[k] = prime_vertical_m * (1.0 - WGS84_E2) * sin_lat
        vx[k] = -v_east * sin_lon - v_up_north * cos_lon
        vy[k] = v_east * cos_lon - v_up_north * sin_lon
        vz[k] = v_north * cos_lat
        s = math.sqrt(vx[k] ** 2 + vy[k] ** 2 + vz[k] ** 2)
        speed[k] = s
        if s > max_speed:
            max_speed = s
    radius_m = horizontal_nm * M_PER_NM
    reach_m = 2.0 * radius_m + 2.0 * max_speed * t_end
    theta = min(0.5 * reach_m / _EARTH_MIN_RADIUS_M, 1.0)
    base_m = radius_m + 2.0 * max_speed * t_end * theta + _MARGIN_M
    cell_m = (base_m + max_speed * t_end) * (1.0 + 1e-9) + 1.0
    # --- midpoint positions, altitude ranges, spatial cell keys ---------------------------
    px = np.empty(n)
    py = np.empty(n)
    pz = np.empty(n)
    lo = np.empty(n)
    hi = np.empty(n)
    widen = 0.5 * vertical_ft + _VERTICAL_SLACK_FT
    for k in range(n):
        px[k] = x[k] + vx[k] * half
        py[k] = y[k] + vy[k] * half
        pz[k] = z[k] + vz[k] * half
        z0 = alt_ft[k]
        z1 = alt_ft[k] + vs_fpm[k] * (t_end / 60.0)
        lo[k] = min(z0, z1) - widen
        hi[k] = max(z0, z1) + widen
    x0 = px.min()
    y0 = py.min()
    z0c = pz.min()
    nx = int((px.max() - x0) / cell_m) + 3
    ny = int((py.max() - y0) / cell_m) + 3
    nz = int((pz.max() - z0c) / cell_m) + 3
    keys = np.empty(n, dtype=np.int64)
    for k in range(n):
        cx = int((px[k] - x0) / cell_m) + 1
        cy = int((py[k] - y0) / cell_m) + 1
        cz = int((pz[k] - z0c) / cell_m) + 1
        keys[k] = (cx * ny + cy) * nz + cz
    order = np.argsort(keys)
    # --- altitude bands: one entry per (aircraft, band its widened range touches) ----------
    band_ft = band_factor * vertical_ft
    lo_min = lo.min()
    hi_max = hi.max()
    while True:
        band_lo = math.floor(lo_min / band_ft)
        span = int(math.floor(hi_max / band_ft) - band_lo) + 1
        total = 0
        for k in range(n):
            total += int(math.floor(hi[k] / band_ft) - math.floor(lo[k] / band_ft)) + 1
        if total <= _MAX_ENTRIES_PER_AIRCRAFT * n and span <= _MAX_BANDS:
            break
        band_ft *= 2.0
    band_size = np.zeros(span + 1, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    last = np.empty(n, dtype=np.int64)
    for r in range(n):
        k = order[r]
        first[r] = int(math.floor(lo[k] / band_ft) - band_lo)
        last[r] = int(math.floor(hi[k] / band_ft) - band_lo)
        for band in range(first[r], last[r] + 1):
            band_size[band + 1] += 1
    for band in range(span):
        band_size[band + 1] += band_size[band]
    # counting sort by band, stable: within a band, entries stay in spatial key order
    fill = band_size[:span].copy()
    e_rank = np.empty(total, dtype=np.int64)
    e_key = np.empty(total, dtype=np.int64)
    e_first = np.empty(total, dtype=np.bool_)
    block = nx * ny * nz
    for r in range(n):
        key = keys[order[r]]
        for band in range(first[r], last[r] + 1):
            e = fill[band]
            fill[band] += 1
            e_rank[e] = r
            e_key[e] = band * block + key
            e_first[e] = band == first[r]
    # per-entry copies in entry order (sequential access in the hot loop)
    qx = np.empty(total)
    qy = np.empty(total)
    qz = np.empty(total)
    qs = np.empty(total)
    qlo = np.empty(total)
    qhi = np.empty(total)
    for e in range(total):
        k = order[e_rank[e]]
        qx[e] = px[k]
        qy[e] = py[k]
        qz[e] = pz[k]
        qs[e] = speed[k]
        qlo[e] = lo[k]
        qhi[e] = hi[k]
    cell_key = np.empty(total, dtype=np.int64)
    cell_start = np.empty(total + 1, dtype=np.int64)
    n_cells = 0
    for e in range(total):
        if e == 0 or e_key[e] != e_key[e - 1]:
            cell_key[n_cells] = e_key[e]
            cell_start[n_cells] = e
            n_cells += 1
    cell_start[n_cells] = total
    # the 13 forward neighbour offsets (lexicographically positive), ascending; the padding
    # of one cell on every side keeps neighbours inside the band's block of keys
    offsets = np.empty(13, dtype=np.int64)
    m = 0
    for ddx in range(-1, 2):
        for ddy in range(-1, 2):
            for ddz in range(-1, 2):
                off = (ddx * ny + ddy) * nz + ddz
                if off > 0:
                    offsets[m] = off
                    m += 1
    offsets.sort()
    pointer = np.zeros(13, dtype=np.int64)
    # --- candidate pairs (as ranks in spatial order) -----------------------------------------
    cand_a = np.empty(4 * n + 64, dtype=np.int64)
    cand_b = np.empty(4 * n + 64, dtype=np.int64)
    visited = 0
    tested = 0
    r2 = radius_m * radius_m
    for c in range(n_cells):
        a0 = cell_start[c]
        a1 = cell_start[c + 1]
        for nb_index in range(14):
            if nb_index == 0:
                b_cell = c
            else:
                target = cell_key[c] + offsets[nb_index - 1]
                p = pointer[nb_index - 1]
                while p < n_cells and cell_key[p] < target:
                    p += 1
                pointer[nb_index - 1] = p
                if p >= n_cells or cell_key[p] != target:
                    continue
                b_cell = p
            b0 = cell_start[b_cell]
            b1 = cell_start[b_cell + 1]
            need = tested + (a1 - a0) * (b1 - b0)
            if need > cand_a.shape[0]:
                cand_a, cand_b = _grow(cand_a, cand_b, tested, need)
            for a in range(a0, a1):
                b_first = a + 1 if nb_index == 0 else b0
                visited += b1 - b_first
                ax = qx[a]
                ay = qy[a]
                az = qz[a]
                a_lo = qlo[a]
                a_hi = qhi[a]
                a_is_first = e_first[a]
                a_lim = base_m + qs[a] * half
                for b in range(b_first, b1):
                    ddx = qx[b] - ax
                    ddy = qy[b] - ay
                    ddz = qz[b] - az
                    lim = a_lim + qs[b] * half
                    close = (ddx * ddx + ddy * ddy + ddz * ddz) < lim * lim
                    # counted once: in the lowest band both touch (the first band of one)
                    if close & (a_lo < qhi[b]) & (qlo[b] < a_hi) & (a_is_first | e_first[b]):
                        cand_a[tested] = e_rank[a]
                        cand_b[tested] = e_rank[b]
                        tested += 1
    # --- narrow phase on the candidates, in sorted order (i < j in input order) -----------
    sx = x[order]
    sy = y[order]
    sz = z[order]
    svx = vx[order]
    svy = vy[order]
    svz = vz[order]
    salt = alt_ft[order]
    svs = vs_fpm[order]
    slat = lat_deg[order]
    slon = lon_deg[order]
    cap = 64
    out_ij = np.empty((cap, 2), dtype=np.int64)
    out_v = np.empty((cap, _N_FLOAT))
    count = 0
    for k in range(tested):
        a = cand_a[k]
        b = cand_b[k]
        if order[a] < order[b]:
            i = a
            j = b
        else:
            i = b
            j = a
        # --- vertical interval (as _narrow.vertical_interval) ----------------
        dz_ft = salt[j] - salt[i]
        dvs = svs[j] - svs[i]
        if dvs != 0.0:
            t_a = 60.0 * (-vertical_ft - dz_ft) / dvs
            t_b = 60.0 * (vertical_ft - dz_ft) / dvs
            v_lo = min(t_a, t_b)
            v_hi = max(t_a, t_b)
        elif abs(dz_ft) < vertical_ft:
            v_lo = -np.inf
            v_hi = np.inf
        else:
            v_lo = np.inf
            v_hi = -np.inf
        if not (v_lo < v_hi and v_lo < t_end and v_hi > 0.0):
            continue
        # --- horizontal (as _narrow.narrow_phase) ----------------------------
        dx = sx[j] - sx[i]
        dy = sy[j] - sy[i]
        dz = sz[j] - sz[i]
        ux = sx[j] + sx[i]
        uy = sy[j] + sy[i]
        uz = (sz[j] + sz[i]) / (1.0 - WGS84_E2)
        norm = math.sqrt(ux * ux + uy * uy + uz * uz)
        if not norm > 0.0:
            norm = 1.0
        ux /= norm
        uy /= norm
        uz /= norm
        wx = svx[j] - svx[i]
        wy = svy[j] - svy[i]
        wz = svz[j] - svz[i]
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
        qc = c0 - r2
        moving = qa > _RELATIVE_SPEED_EPS_MPS2
        disc = qb * qb - qa * qc
        if moving and disc > 0.0:
            sq = math.sqrt(disc)
            q = -(qb + sq) if qb >= 0.0 else sq - qb
            r1 = q / qa
            r2_ = qc / q
            h_lo = min(r1, r2_)
            h_hi = max(r1, r2_)
        elif (not moving) and qc < 0.0:
            h_lo = -np.inf
            h_hi = np.inf
        else:
            h_lo = np.inf
            h_hi = -np.inf
        t_lo = max(h_lo, v_lo)
        t_hi = min(h_hi, v_hi)
        if not (t_lo < t_hi and t_lo < t_end and t_hi > 0.0):
            continue
        t_cpa = -qb / qa if (moving and qb < 0.0) else 0.0
        t_clip = min(t_cpa, t_end)
        hmd_sq = max(c0 + t_clip * (2.0 * qb + qa * t_clip), 0.0)
        end = dz_ft + dvs * (t_end / 60.0)
        vmd = 0.0 if _sign(dz_ft) * _sign(end) <= 0.0 else min(abs(dz_ft), abs(end))
        if count == cap:
            cap *= 2
            grown_ij = np.empty((cap, 2), dtype=np.int64)
            grown_v = np.empty((cap, _N_FLOAT))
            grown_ij[:count] = out_ij[:count]
            grown_v[:count] = out_v[:count]
            out_ij = grown_ij
            out_v = grown_v
        out_ij[count, 0] = order[i]
        out_ij[count, 1] = order[j]
        out_v[count, 0] = max(t_lo, 0.0)
        out_v[count, 1] = min(t_hi, t_end)
        out_v[count, 2] = t_cpa
        out_v[count, 3] = math.sqrt(hmd_sq) / M_PER_NM
        out_v[count, 4] = vmd
        out_v[count, 5] = math.sqrt(c0) / M_PER_NM
        out_v[count, 6] = abs(dz_ft)
        out_v[count, 7] = _bearing(slat[i], slon[i], dx, dy, dz)
        out_v[count, 8] = _bearing(slat[j], slon[j], -dx, -dy, -dz)
        count += 1
    # --- sort by (i, j) ------------------------------------------------------------------
    sort_key = np.empty(count, dtype=np.int64)
    for k in range(count):
        sort_key[k] = out_ij[k, 0] * n + out_ij[k, 1]
    final = np.argsort(sort_key)
    ij = np.empty((2, count), dtype=np.int64)
    values = np.empty((_N_FLOAT, count))
    for k in range(count):
        src = final[k]
        ij[0, k] = out_ij[src, 0]
        ij[1, k] = out_ij[src, 1]
        for f in range(_N_FLOAT):
            values[f, k] = out_v[src, f]
    stats = np.array([visited, tested], dtype=np.int64)
    return ij, values, stats
