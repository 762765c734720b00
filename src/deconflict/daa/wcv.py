"""Vectorised well-clear geometry: violation tests and loss intervals of ``Volume``s.

Everything works on the scalar invariants of a pair's relative horizontal motion, so that
swapping the two aircraft gives bit-identical results:

* ``ss = |s|^2`` (m^2), ``sv = s . v`` (m^2/s), ``vv = |v|^2`` (m^2/s^2): relative horizontal
  position ``s`` and velocity ``v``;
* ``sz`` (ft) and ``vz`` (ft/s): relative altitude and vertical rate.

Horizontal (DAIDALUS ``WCV_TAUMOD``): violated when ``|s| <= D`` or (``dcpa <= D`` and
``0 <= taumod <= TTHR``), ``taumod = (D^2 - |s|^2) / (s . v)`` while closing. Along a straight
line the violated times form one interval ``[t1, t_exit]``: ``t_exit`` leaves the ``D`` circle,
``t1`` is the smaller root of ``|s(t)|^2 + TTHR s(t).v - D^2 = 0`` (``taumod(t) = TTHR``),
which is never later than the entry into the ``D`` circle (``taumod >= `` time to entry).
Vertical (DAIDALUS ``WCV_TCOA``): ``|sz| <= ZTHR`` or ``0 <= tcoa <= TCOA``, entered at
``|sz(t)| = max(ZTHR, |vz| TCOA)`` and left at ``|sz(t)| = ZTHR``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from deconflict.units import FloatArray

BoolArray = npt.NDArray[np.bool_]

MOVING_EPS: float = 1e-9
"""Squared horizontal relative speed (m^2/s^2) or vertical rate (ft/s) below which two
aircraft are taken to move together (DAIDALUS ``almost_equals(a, 0)``)."""


def horizontal_interval(
    ss: FloatArray,
    sv: FloatArray,
    vv: FloatArray,
    dthr_m: FloatArray | float,
    tthr_s: FloatArray | float,
    strict: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Times ``t`` (s, any sign) at which the state ``(s + v t, v)`` violates horizontally.

    Returns ``(lo, hi)``; empty is ``(inf, -inf)``, always is ``(-inf, inf)``.
    """
    d2 = np.asarray(dthr_m, dtype=np.float64) ** 2
    tthr = np.asarray(tthr_s, dtype=np.float64)
    moving = vv > MOVING_EPS
    vv_safe = np.where(moving, vv, 1.0)
    dcpa2 = ss - sv * sv / vv_safe
    reach = (dcpa2 < d2) if strict else (dcpa2 <= d2)
    ok = moving & reach
    exit_disc = np.maximum(vv_safe * (d2 - dcpa2), 0.0)
    t_exit = (-sv + np.sqrt(exit_disc)) / vv_safe
    b = 2.0 * sv + tthr * vv_safe
    c = ss + tthr * sv - d2
    disc = np.maximum(b * b - 4.0 * vv_safe * c, 0.0)
    # stable smaller root of vv t^2 + b t + c
    q = -0.5 * (b + np.where(b >= 0.0, 1.0, -1.0) * np.sqrt(disc))
    r_a = q / vv_safe
    r_b = np.divide(c, q, out=np.full_like(q, np.inf), where=q != 0.0)
    t_first = np.minimum(r_a, r_b)
    t_first = np.where(np.isfinite(t_first), t_first, np.minimum(r_a, t_exit))
    inside_still = (ss < d2) if strict else (ss <= d2)
    lo = np.where(ok, t_first, np.where(~moving & inside_still, -np.inf, np.inf))
    hi = np.where(ok, t_exit, np.where(~moving & inside_still, np.inf, -np.inf))
    return lo, hi


def vertical_interval(
    sz_ft: FloatArray,
    vz_fps: FloatArray,
    zthr_ft: FloatArray | float,
    tcoa_s: FloatArray | float,
    strict: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Times ``t`` (s) at which ``(sz + vz t, vz)`` violates vertically; ``(lo, hi)``."""
    zthr = np.asarray(zthr_ft, dtype=np.float64)
    tcoa = np.asarray(tcoa_s, dtype=np.float64)
    moving = np.abs(vz_fps) > MOVING_EPS
    vz_safe = np.where(moving, vz_fps, 1.0)
    sign = np.where(vz_safe > 0.0, 1.0, -1.0)
    act_h = np.maximum(zthr, np.abs(vz_safe) * tcoa)
    entry = (-sz_ft - sign * act_h) / vz_safe
    leave = (-sz_ft + sign * zthr) / vz_safe
    inside = (np.abs(sz_ft) < zthr) if strict else (np.abs(sz_ft) <= zthr)
    lo = np.where(moving, entry, np.where(inside, -np.inf, np.inf))
    hi = np.where(moving, leave, np.where(inside, np.inf, -np.inf))
    return lo, hi


def loss_interval(
    ss: FloatArray,
    sv: FloatArray,
    vv: FloatArray,
    sz_ft: FloatArray,
    vz_fps: FloatArray,
    *,
    dthr_m: FloatArray | float,
    zthr_ft: FloatArray | float,
    tthr_s: FloatArray | float,
    tcoa_s: FloatArray | float,
    lookahead_s: FloatArray | float,
    strict: bool = False,
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Loss-of-well-clear interval within ``[0, lookahead_s]``: ``(t_in, t_out, conflict)``.

    ``conflict`` is ``t_in < t_out`` (a touching instant is no conflict, DAIDALUS
    ``LossData.conflict``); ``t_in``/``t_out`` are NaN where there is none.
    """
    h_lo, h_hi = horizontal_interval(ss, sv, vv, dthr_m, tthr_s, strict)
    v_lo, v_hi = vertical_interval(sz_ft, vz_fps, zthr_ft, tcoa_s, strict)
    lo = np.maximum(np.maximum(h_lo, v_lo), 0.0)
    hi = np.minimum(np.minimum(h_hi, v_hi), lookahead_s)
    conflict = lo < hi
    return np.where(conflict, lo, np.nan), np.where(conflict, hi, np.nan), conflict


def violation(
    ss: FloatArray,
    sv: FloatArray,
    vv: FloatArray,
    sz_ft: FloatArray,
    vz_fps: FloatArray,
    *,
    dthr_m: FloatArray | float,
    zthr_ft: FloatArray | float,
    tthr_s: FloatArray | float,
    tcoa_s: FloatArray | float,
    strict: bool = False,
) -> BoolArray:
    """Is the current state in violation of the volume (DAIDALUS ``violation``)?"""
    d2 = np.asarray(dthr_m, dtype=np.float64) ** 2
    tthr = np.asarray(tthr_s, dtype=np.float64)
    zthr = np.asarray(zthr_ft, dtype=np.float64)
    tcoa = np.asarray(tcoa_s, dtype=np.float64)
    if strict:
        h_close = ss < d2
        v_close = np.abs(sz_ft) < zthr
    else:
        h_close = ss <= d2
        v_close = np.abs(sz_ft) <= zthr
    moving = vv > MOVING_EPS
    vv_safe = np.where(moving, vv, 1.0)
    dcpa2 = ss - sv * sv / vv_safe
    closing = moving & (sv < 0.0)
    taumod = np.where(closing, (d2 - ss) / np.where(closing, sv, -1.0), -1.0)
    h_tau = closing & (dcpa2 <= d2) & (taumod >= 0.0) & (taumod <= tthr)
    vz_moving = np.abs(vz_fps) > MOVING_EPS
    v_tcoa = (
        vz_moving & (sz_ft * vz_fps <= 0.0) & (-sz_ft / np.where(vz_moving, vz_fps, 1.0) <= tcoa)
    )
    result: BoolArray = (h_close | h_tau) & (v_close | v_tcoa)
    return result


def cpa_metrics(
    ss: FloatArray,
    sv: FloatArray,
    vv: FloatArray,
    sz_ft: FloatArray,
    vz_fps: FloatArray,
    *,
    dthr_m: FloatArray | float,
    lookahead_s: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Closest-approach figures of straight-line motion.

    Returns ``(tcpa_s, dcpa_m, hmd_m, vmd_ft, taumod_s, tcoa_s)``: horizontal time of closest
    approach (s, negative when diverging) and distance there (m); horizontal and vertical miss
    distances over ``[0, lookahead_s]`` (m, ft); modified tau with DTHR ``dthr_m`` (s, NaN when
    not closing); time to co-altitude (s, NaN when not converging).
    """
    moving = vv > MOVING_EPS
    vv_safe = np.where(moving, vv, 1.0)
    tcpa = np.where(moving, -sv / vv_safe, 0.0)
    dcpa = np.sqrt(np.maximum(np.where(moving, ss - sv * sv / vv_safe, ss), 0.0))
    t_h = np.clip(tcpa, 0.0, lookahead_s)
    hmd = np.sqrt(np.maximum(ss + 2.0 * sv * t_h + vv * t_h * t_h, 0.0))
    end = sz_ft + vz_fps * lookahead_s
    crosses = np.sign(sz_ft) * np.sign(end) <= 0.0
    vmd = np.where(crosses, 0.0, np.minimum(np.abs(sz_ft), np.abs(end)))
    d2 = np.asarray(dthr_m, dtype=np.float64) ** 2
    closing = moving & (sv < 0.0)
    taumod = np.where(closing, (d2 - ss) / np.where(closing, sv, -1.0), np.nan)
    vz_moving = np.abs(vz_fps) > MOVING_EPS
    converging = vz_moving & (sz_ft * vz_fps <= 0.0)
    tcoa = np.where(converging, -sz_ft / np.where(vz_moving, vz_fps, 1.0), np.nan)
    return tcpa, dcpa, hmd, vmd, taumod, tcoa
