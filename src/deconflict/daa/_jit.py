"""Compiled (numba) kernels of the DAA core: the formulas of :mod:`deconflict.daa.wcv`, fused.

One inline helper (``_loss``) holds the loss-interval formulas; the bands' loss test
(``linear_conflicts_kernel``, oracle ``bands.linear_conflicts_numpy``), the bands' per-value
reduction over manoeuvre paths (``dimension_conflicts_kernel``, oracle
``bands._dimension_conflicts``) and the all-pairs levels (``evaluate_pairs_kernel``, oracle
``alerting.evaluate_pairs_numpy``) use it. Compiled with ``cache=True``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_MOVING_EPS = 1e-9  # same value as wcv.MOVING_EPS


@nb.njit(cache=True, nogil=True, inline="always")
def _loss(
    ss: float,
    sv: float,
    vv_safe: float,
    moving: bool,
    sz: float,
    vz_safe: float,
    vz_moving: bool,
    d: float,
    zthr: float,
    tthr: float,
    tcoa: float,
    horizon: float,
    strict: bool,
) -> tuple[bool, float, float]:  # pragma: no cover - compiled
    """``wcv.loss_interval`` for one pair and one volume: ``(lost, t_in, t_out)`` within
    ``[0, horizon]`` (s); ``d`` DTHR (m), ``zthr`` ZTHR (ft), ``tthr`` TTHR and ``tcoa`` TCOA (s).
    The one copy of these formulas shared by every kernel of this module."""
    d2 = d * d
    if moving:
        dcpa2 = ss - sv * sv / vv_safe
        reach = dcpa2 < d2 if strict else dcpa2 <= d2
        if not reach:
            return False, math.nan, math.nan
        exit_disc = max(vv_safe * (d2 - dcpa2), 0.0)
        h_hi = (-sv + math.sqrt(exit_disc)) / vv_safe
        b = 2.0 * sv + tthr * vv_safe
        c = ss + tthr * sv - d2
        disc = max(b * b - 4.0 * vv_safe * c, 0.0)
        q = -0.5 * (b + (1.0 if b >= 0.0 else -1.0) * math.sqrt(disc))
        r_a = q / vv_safe
        r_b = c / q if q != 0.0 else math.inf
        h_lo = min(r_a, r_b)
    else:
        inside = ss < d2 if strict else ss <= d2
        if not inside:
            return False, math.nan, math.nan
        h_lo = -math.inf
        h_hi = math.inf
    if vz_moving:
        sign = 1.0 if vz_safe > 0.0 else -1.0
        act_h = max(zthr, abs(vz_safe) * tcoa)
        v_lo = (-sz - sign * act_h) / vz_safe
        v_hi = (-sz + sign * zthr) / vz_safe
    else:
        inside_v = abs(sz) < zthr if strict else abs(sz) <= zthr
        if not inside_v:
            return False, math.nan, math.nan
        v_lo = -math.inf
        v_hi = math.inf
    lo = max(max(h_lo, v_lo), 0.0)
    hi = min(min(h_hi, v_hi), horizon)
    return lo < hi, lo, hi


@nb.njit(cache=True, nogil=True)
def linear_conflicts_kernel(
    sx: np.ndarray,
    sy: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    z_ft: np.ndarray,
    w_fps: np.ndarray,
    dthr_m: np.ndarray,
    zthr_ft: np.ndarray,
    tthr_s: np.ndarray,
    tcoa_s: np.ndarray,
    present: np.ndarray,
    t_s: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    ux: np.ndarray,
    uy: np.ndarray,
    oz_ft: np.ndarray,
    ow_fps: np.ndarray,
    duration_s: np.ndarray,
    strict: bool,
    margin_m: np.ndarray,
    margin_ft: np.ndarray,
    any_intruder: bool,
) -> np.ndarray:  # pragma: no cover - compiled
    """Loss of each intruder's level volume from each ownship state ``m`` over
    ``[0, duration_s[m]]``, volumes widened by ``margin_m[m]`` / ``margin_ft[m]``: ``(M, I, L)``
    booleans, or ``(M, 1, L)`` ORed over the intruders when ``any_intruder``."""
    m_count = t_s.shape[0]
    i_count = sx.shape[0]
    l_count = dthr_m.shape[1]
    out = np.zeros((m_count, 1 if any_intruder else i_count, l_count), dtype=np.bool_)
    for m in range(m_count):
        t0 = t_s[m]
        dur = duration_s[m]
        if dur <= 0.0:
            continue
        for i in range(i_count):
            rx = sx[i] + vx[i] * t0 - px[m]
            ry = sy[i] + vy[i] * t0 - py[m]
            wx = vx[i] - ux[m]
            wy = vy[i] - uy[m]
            sz = z_ft[i] + w_fps[i] * t0 - oz_ft[m]
            vz = w_fps[i] - ow_fps[m]
            ss = rx * rx + ry * ry
            sv = rx * wx + ry * wy
            vv = wx * wx + wy * wy
            moving = vv > _MOVING_EPS
            vv_safe = vv if moving else 1.0
            vz_moving = abs(vz) > _MOVING_EPS
            vz_safe = vz if vz_moving else 1.0
            slot = 0 if any_intruder else i
            for lv in range(l_count):
                if not present[i, lv] or out[m, slot, lv]:
                    continue
                lost, _, _ = _loss(
                    ss,
                    sv,
                    vv_safe,
                    moving,
                    sz,
                    vz_safe,
                    vz_moving,
                    dthr_m[i, lv] + margin_m[m],
                    zthr_ft[i, lv] + margin_ft[m],
                    tthr_s[i, lv],
                    tcoa_s[i, lv],
                    dur,
                    strict,
                )
                if lost:
                    out[m, slot, lv] = True
    return out


@nb.njit(cache=True, nogil=True)
def dimension_conflicts_kernel(
    hit: np.ndarray,
    final_row: np.ndarray,
    path_of: np.ndarray,
    path_start: np.ndarray,
    path_len: np.ndarray,
    t_m: np.ndarray,
    lookahead_s: float,
    dt: float,
) -> np.ndarray:  # pragma: no cover - compiled
    """``(K, L)``: value ``k`` loses level ``l`` when its final state's row ``final_row[k]`` of
    ``hit`` (``(M, L)``) does, or any sampled row of its manoeuvre path ``path_of[k]`` (rows
    ``path_start[p]`` ... ``+ path_len[p]``) flown before the value is reached (``t_m[k]``, s;
    the first ``ceil(min(t_m, lookahead) / dt)`` samples). ``bands._dimension_conflicts`` in
    one pass."""
    l_count = hit.shape[1]
    cum = np.zeros_like(hit)
    for p in range(path_start.shape[0]):
        s0 = path_start[p]
        for q in range(path_len[p]):
            for lv in range(l_count):
                cum[s0 + q, lv] = hit[s0 + q, lv] or (q > 0 and cum[s0 + q - 1, lv])
    k_count = final_row.shape[0]
    out = np.zeros((k_count, l_count), dtype=np.bool_)
    for k in range(k_count):
        r = final_row[k]
        for lv in range(l_count):
            out[k, lv] = hit[r, lv]
        p = path_of[k]
        if p < 0 or path_len[p] == 0:
            continue
        last = math.ceil(min(t_m[k], lookahead_s) / dt - 1e-9) - 1
        if last < 0:
            continue
        row = path_start[p] + min(last, path_len[p] - 1)
        for lv in range(l_count):
            out[k, lv] = out[k, lv] or cum[row, lv]
    return out


@nb.njit(cache=True, nogil=True)
def evaluate_pairs_kernel(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    vz: np.ndarray,
    alt_ft: np.ndarray,
    vs_fpm: np.ndarray,
    own: np.ndarray,
    intruder: np.ndarray,
    row: np.ndarray,
    dthr_m: np.ndarray,
    zthr_ft: np.ndarray,
    tthr_s: np.ndarray,
    tcoa_s: np.ndarray,
    alerting_s: np.ndarray,
    corrective_dthr_m: np.ndarray,
    lookahead_s: float,
    strict: bool,
    e2: float,
) -> tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
]:  # pragma: no cover - compiled
    """The formulas of ``alerting.pair_geometry``, ``wcv.loss_interval`` and
    ``wcv.cpa_metrics`` fused per ordered pair (same operation order as the numpy oracle)."""
    p = own.shape[0]
    n_levels = dthr_m.shape[1]
    conflict = np.zeros((p, n_levels), dtype=np.bool_)
    t_in = np.full((p, n_levels), np.nan)
    t_out = np.full((p, n_levels), np.nan)
    level = np.zeros(p, dtype=np.int64)
    tcpa_o = np.empty(p)
    dcpa_o = np.empty(p)
    hmd_o = np.empty(p)
    vmd_o = np.empty(p)
    tau_o = np.empty(p)
    tcoa_o = np.empty(p)
    for k in range(p):
        i = own[k]
        j = intruder[k]
        dx = x[j] - x[i]
        dy = y[j] - y[i]
        dz = z[j] - z[i]
        ux = x[j] + x[i]
        uy = y[j] + y[i]
        uz = (z[j] + z[i]) / (1.0 - e2)
        norm = math.sqrt(ux * ux + uy * uy + uz * uz)
        if not norm > 0.0:
            norm = 1.0
        ux /= norm
        uy /= norm
        uz /= norm
        wx = vx[j] - vx[i]
        wy = vy[j] - vy[i]
        wz = vz[j] - vz[i]
        d_up = dx * ux + dy * uy + dz * uz
        w_up = wx * ux + wy * uy + wz * uz
        hx = dx - d_up * ux
        hy = dy - d_up * uy
        hz = dz - d_up * uz
        gx = wx - w_up * ux
        gy = wy - w_up * uy
        gz = wz - w_up * uz
        ss = hx * hx + hy * hy + hz * hz
        sv = hx * gx + hy * gy + hz * gz
        vv = gx * gx + gy * gy + gz * gz
        sz = alt_ft[j] - alt_ft[i]
        wzf = (vs_fpm[j] - vs_fpm[i]) / 60.0
        moving = vv > _MOVING_EPS
        vv_safe = vv if moving else 1.0
        vz_moving = abs(wzf) > _MOVING_EPS
        vz_safe = wzf if vz_moving else 1.0
        r = row[k]
        for lv in range(n_levels):
            d = dthr_m[r, lv]
            if math.isnan(d):  # the alerter has no such level
                continue
            lost, lo, hi = _loss(
                ss,
                sv,
                vv_safe,
                moving,
                sz,
                vz_safe,
                vz_moving,
                d,
                zthr_ft[r, lv],
                tthr_s[r, lv],
                tcoa_s[r, lv],
                lookahead_s,
                strict,
            )
            if lost:
                conflict[k, lv] = True
                t_in[k, lv] = lo
                t_out[k, lv] = hi
                if lo == 0.0 or lo < alerting_s[r, lv]:
                    level[k] = lv + 1
        tcpa = -sv / vv_safe if moving else 0.0
        dcpa2 = ss - sv * sv / vv_safe if moving else ss
        t_h = min(max(tcpa, 0.0), lookahead_s)
        tcpa_o[k] = tcpa
        dcpa_o[k] = math.sqrt(max(dcpa2, 0.0))
        hmd_o[k] = math.sqrt(max(ss + 2.0 * sv * t_h + vv * t_h * t_h, 0.0))
        end = sz + wzf * lookahead_s
        s0 = 1.0 if sz > 0.0 else (-1.0 if sz < 0.0 else 0.0)
        s1 = 1.0 if end > 0.0 else (-1.0 if end < 0.0 else 0.0)
        vmd_o[k] = 0.0 if s0 * s1 <= 0.0 else min(abs(sz), abs(end))
        cd = corrective_dthr_m[r]
        tau_o[k] = (cd * cd - ss) / sv if (moving and sv < 0.0) else math.nan
        tcoa_o[k] = -sz / vz_safe if (vz_moving and sz * wzf <= 0.0) else math.nan
    return conflict, t_in, t_out, level, tcpa_o, dcpa_o, hmd_o, vmd_o, tau_o, tcoa_o
