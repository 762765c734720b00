"""Narrow phase: exact loss-of-separation intervals of candidate pairs, fully vectorised.

For a pair (i, j) the relative motion is projected on the tangent plane of the WGS84 ellipsoid
at the ECEF midpoint of the two surface points (the "pair frame"); there the horizontal distance
is ``|d + w t|`` with ``d`` the projected chord and ``w`` the projected relative velocity, and the
horizontal loss-of-separation interval is the open root interval of a quadratic. The vertical
interval is solved separately in feet and minutes (exact for integer-valued altitudes and rates
when the rate difference is 0). A pair conflicts when the open intersection of both intervals
meets the closed window ``[0, lookahead_s]``.

Everything is computed from differences of per-aircraft values, so swapping i and j gives
bit-identical results (the chord and relative velocity change sign only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from deconflict.tactical._geometry import Kinematics
from deconflict.units import M_PER_NM, WGS84_E2, FloatArray

IntArray = npt.NDArray[np.int64]

RELATIVE_SPEED_EPS_MPS2: float = 1e-12
"""Squared relative horizontal speed (m^2/s^2) below which two aircraft are taken to move
together (1 micrometre per second): the horizontal distance is then constant."""


@dataclass(frozen=True, slots=True)
class PairGeometry:
    """Results for the conflicting subset of the candidates (all arrays aligned)."""

    i: IntArray
    j: IntArray
    t_in_s: FloatArray
    t_out_s: FloatArray
    t_cpa_s: FloatArray
    hmd_nm: FloatArray
    vmd_ft: FloatArray
    range_nm: FloatArray
    vertical_ft: FloatArray
    dx_m: FloatArray
    dy_m: FloatArray
    dz_m: FloatArray


def vertical_interval(
    dz_ft: FloatArray, dvs_fpm: FloatArray, vertical_ft: float
) -> tuple[FloatArray, FloatArray]:
    """Open time interval (s) in which ``|dz_ft + dvs_fpm * t / 60| < vertical_ft``.

    Empty intervals are ``(inf, -inf)``; a permanent overlap is ``(-inf, inf)``.
    """
    moving = dvs_fpm != 0.0
    safe = np.where(moving, dvs_fpm, 1.0)
    t_a = 60.0 * (-vertical_ft - dz_ft) / safe
    t_b = 60.0 * (vertical_ft - dz_ft) / safe
    inside = np.abs(dz_ft) < vertical_ft
    lo = np.where(moving, np.minimum(t_a, t_b), np.where(inside, -np.inf, np.inf))
    hi = np.where(moving, np.maximum(t_a, t_b), np.where(inside, np.inf, -np.inf))
    return lo, hi


def vertical_miss_ft(dz_ft: FloatArray, dvs_fpm: FloatArray, lookahead_s: float) -> FloatArray:
    """Smallest ``|dz + dvs t / 60|`` over ``t`` in ``[0, lookahead_s]``, feet."""
    end = dz_ft + dvs_fpm * (lookahead_s / 60.0)
    crosses = (np.sign(dz_ft) * np.sign(end)) <= 0.0
    return np.where(crosses, 0.0, np.minimum(np.abs(dz_ft), np.abs(end)))


def narrow_phase(
    kin: Kinematics,
    alt_ft: FloatArray,
    vs_fpm: FloatArray,
    i: IntArray,
    j: IntArray,
    *,
    horizontal_nm: float,
    vertical_ft: float,
    lookahead_s: float,
) -> PairGeometry:
    """Exact conflict test of candidate pairs ``(i[k], j[k])``; returns the conflicting ones."""
    # vertical first: cheap, and rejects most candidates in layered traffic
    dz_ft = alt_ft[j] - alt_ft[i]
    dvs_fpm = vs_fpm[j] - vs_fpm[i]
    v_lo, v_hi = vertical_interval(dz_ft, dvs_fpm, vertical_ft)
    keep = (v_lo < v_hi) & (v_lo < lookahead_s) & (v_hi > 0.0)
    idx = np.flatnonzero(keep)
    i, j = i[idx], j[idx]
    dz_ft, dvs_fpm, v_lo, v_hi = dz_ft[idx], dvs_fpm[idx], v_lo[idx], v_hi[idx]

    x, y, z = kin.x_m, kin.y_m, kin.z_m
    dx = x[j] - x[i]
    dy = y[j] - y[i]
    dz = z[j] - z[i]
    # geodetic normal at the ECEF midpoint (gradient of the ellipsoid equation)
    ux = x[j] + x[i]
    uy = y[j] + y[i]
    uz = (z[j] + z[i]) / (1.0 - WGS84_E2)
    norm = np.sqrt(ux * ux + uy * uy + uz * uz)
    norm = np.where(norm > 0.0, norm, 1.0)
    ux /= norm
    uy /= norm
    uz /= norm
    wx = kin.vx_mps[j] - kin.vx_mps[i]
    wy = kin.vy_mps[j] - kin.vy_mps[i]
    wz = kin.vz_mps[j] - kin.vz_mps[i]
    d_up = dx * ux + dy * uy + dz * uz
    w_up = wx * ux + wy * uy + wz * uz
    hx = dx - d_up * ux
    hy = dy - d_up * uy
    hz = dz - d_up * uz
    gx = wx - w_up * ux
    gy = wy - w_up * uy
    gz = wz - w_up * uz
    a = gx * gx + gy * gy + gz * gz
    b = hx * gx + hy * gy + hz * gz
    c0 = hx * hx + hy * hy + hz * hz
    radius_m = horizontal_nm * M_PER_NM
    c = c0 - radius_m * radius_m

    moving = a > RELATIVE_SPEED_EPS_MPS2
    disc = b * b - a * c
    crossing = moving & (disc > 0.0)
    sq = np.sqrt(np.where(crossing, disc, 0.0))
    # numerically stable roots: q = -(b + sign(b) sqrt(disc)), roots q/a and c/q
    q = np.where(b >= 0.0, -(b + sq), sq - b)
    q_safe = np.where(crossing, q, 1.0)
    a_safe = np.where(crossing, a, 1.0)
    r1 = q_safe / a_safe
    r2 = c / q_safe
    inside = c < 0.0
    h_lo = np.where(crossing, np.minimum(r1, r2), np.where(~moving & inside, -np.inf, np.inf))
    h_hi = np.where(crossing, np.maximum(r1, r2), np.where(~moving & inside, np.inf, -np.inf))

    lo = np.maximum(h_lo, v_lo)
    hi = np.minimum(h_hi, v_hi)
    conflict = (lo < hi) & (lo < lookahead_s) & (hi > 0.0)
    sel = np.flatnonzero(conflict)

    a, b, c0 = a[sel], b[sel], c0[sel]
    moving = moving[sel]
    t_cpa = np.where(moving & (b < 0.0), -b / np.where(moving, a, 1.0), 0.0)
    t_clip = np.minimum(t_cpa, lookahead_s)
    hmd_sq = np.maximum(c0 + t_clip * (2.0 * b + a * t_clip), 0.0)
    dz_sel = dz_ft[sel]
    return PairGeometry(
        i=i[sel],
        j=j[sel],
        t_in_s=np.maximum(lo[sel], 0.0),
        t_out_s=np.minimum(hi[sel], lookahead_s),
        t_cpa_s=t_cpa,
        hmd_nm=np.sqrt(hmd_sq) / M_PER_NM,
        vmd_ft=vertical_miss_ft(dz_sel, dvs_fpm[sel], lookahead_s),
        range_nm=np.sqrt(c0) / M_PER_NM,
        vertical_ft=np.abs(dz_sel),
        dx_m=dx[sel],
        dy_m=dy[sel],
        dz_m=dz[sel],
    )
