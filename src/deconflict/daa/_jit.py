"""Compiled (numba) kernels of the DAA core: the formulas of :mod:`deconflict.daa.wcv`, fused.

One inline helper (``_loss``) holds the loss-interval formulas; the bands' loss test
(``linear_conflicts_kernel``, oracle ``bands.linear_conflicts_numpy``), the bands' per-value
reduction over manoeuvre paths (``dimension_conflicts_kernel``, oracle
``bands._dimension_conflicts``) and the all-pairs levels (``evaluate_pairs_kernel``, oracle
``alerting.evaluate_pairs_numpy``) use it. The bands' rows themselves (every value's final
state and the sampled manoeuvre paths, ``band_rows_kernel``, oracle: the numpy dimension
builders of :mod:`deconflict.daa.bands`) and their recovery labels and resolutions
(``finish_bands_kernel``, oracle: ``bands._resolve``) are built here too. Compiled with
``cache=True``.
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
    nested: bool,
) -> np.ndarray:  # pragma: no cover - compiled
    """Loss of each intruder's level volume from each ownship state ``m`` over
    ``[0, duration_s[m]]``, volumes widened by ``margin_m[m]`` / ``margin_ft[m]``: ``(M, I, L)``
    booleans, or ``(M, 1, L)`` ORed over the intruders when ``any_intruder``.

    ``nested``: the caller guarantees that each intruder's volumes shrink with the level index
    (DTHR, ZTHR, TTHR non-increasing, TCOA 0, ``present`` the same for all levels: the
    recovery volumes), so that losing level ``l`` implies losing every level below it; the
    last lost level is then found by bisection (same result, fewer loss tests)."""
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
            if any_intruder:
                done = True
                for lv in range(l_count):
                    if not out[m, 0, lv]:
                        done = False
                        break
                if done:  # every level already lost: the other intruders change nothing
                    break
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
            if nested:
                lo_lv = 0  # levels below are already lost (a prefix, as every set is nested)
                while lo_lv < l_count and out[m, slot, lo_lv]:
                    lo_lv += 1
                hi_lv = l_count
                while lo_lv < hi_lv:  # invariant: lost below lo_lv, not lost from hi_lv
                    mid = (lo_lv + hi_lv) // 2
                    lost = False
                    if present[i, mid]:
                        lost, _, _ = _loss(
                            ss,
                            sv,
                            vv_safe,
                            moving,
                            sz,
                            vz_safe,
                            vz_moving,
                            dthr_m[i, mid] + margin_m[m],
                            zthr_ft[i, mid] + margin_ft[m],
                            tthr_s[i, mid],
                            tcoa_s[i, mid],
                            dur,
                            strict,
                        )
                    if lost:
                        lo_lv = mid + 1
                    else:
                        hi_lv = mid
                for lv in range(lo_lv):
                    out[m, slot, lv] = True
                continue
            known = False  # whether ``prev`` holds this intruder's result for level lv - 1
            prev = False
            for lv in range(l_count):
                if not present[i, lv] or out[m, slot, lv]:
                    known = False
                    continue
                if (
                    known
                    and dthr_m[i, lv] == dthr_m[i, lv - 1]
                    and zthr_ft[i, lv] == zthr_ft[i, lv - 1]
                    and tthr_s[i, lv] == tthr_s[i, lv - 1]
                    and tcoa_s[i, lv] == tcoa_s[i, lv - 1]
                ):
                    lost = prev  # the same volume as the level below (DO-365B 2 and 3)
                else:
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
                known = True
                prev = lost
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


@nb.njit(cache=True, nogil=True, inline="always")
def _sample_count(end_s: float, dt: float) -> int:  # pragma: no cover - compiled
    """``bands._samples(end_s, dt).shape[0]``."""
    return max(1, math.ceil(end_s / dt - 1e-9))


@nb.njit(cache=True, nogil=True, inline="always")
def _time_to_altitude1(
    z0: float, w0: float, sign: float, a: float, vrate_fps: float, h: float
) -> float:  # pragma: no cover - compiled
    """``bands._time_to_altitude`` for one altitude ``h`` (ft); inf: never."""
    rate = sign * vrate_fps
    acc = a if rate >= w0 else -a
    t_r = abs(rate - w0) / a
    z_end = z0 + w0 * t_r + 0.5 * acc * t_r * t_r
    c = z0 - h
    if c == 0.0:
        return 0.0
    disc = w0 * w0 - 2.0 * acc * c
    root = math.sqrt(max(disc, 0.0))
    r1 = (-w0 - root) / acc
    r2 = (-w0 + root) / acc
    ramp = math.inf
    if disc >= 0.0 and r1 >= 0.0 and r1 <= t_r:
        ramp = r1
    if disc >= 0.0 and r2 >= 0.0 and r2 <= t_r:
        ramp = min(ramp, r2)
    if math.isfinite(ramp):
        return ramp
    if rate == 0.0:
        return math.inf
    linear = t_r + (h - z_end) / rate
    return linear if linear >= t_r else math.inf


@nb.njit(cache=True, nogil=True)
def band_rows_kernel(
    kinematic: bool,
    ux: float,
    uy: float,
    v_mps: float,
    z0: float,
    w0: float,
    track_deg: float,
    lookahead_s: float,
    dt: float,
    turn_rate_dps: float,
    accel_mps2: float,
    vaccel_fps2: float,
    vrate_fps: float,
    max_gs_mps: float,
    min_gs_mps: float,
    max_vs_fps: float,
    v_track: np.ndarray,
    v_gs: np.ndarray,
    v_vs: np.ndarray,
    v_alt: np.ndarray,
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
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
]:  # pragma: no cover - compiled
    """Every row ``bands._compute_bands`` tests for one ownship, built in one pass: the same
    rows, in the same order, as ``bands._stack_rows`` over the four ``bands._*_dimension``
    builders plus holding (their numpy construction is the oracle), and the value index of
    ``bands._value_index``.

    Returns ``(t_s, px, py, ux, uy, z_ft, w_fps, duration_s, margin_m, margin_ft, final_row,
    path_of, path_start, path_len)`` (path ``2 d`` / ``2 d + 1``: the up/right and down/left
    path of dimension ``d``; ``t_s[final_row]`` is each value's ``t_m``)."""
    v = v_mps  # math.hypot(ux, uy) from the caller, bit-identical to the numpy builders'
    if v > 0.0:
        ex = ux / v
        ey = uy / v
    else:
        r = math.radians(track_deg)
        ex = math.sin(r)
        ey = math.cos(r)
    rate = math.radians(turn_rate_dps)
    nt, ng, nv, na = v_track.shape[0], v_gs.shape[0], v_vs.shape[0], v_alt.shape[0]
    plen = np.zeros(8, dtype=np.int64)
    if kinematic:
        q = _sample_count(min(180.0 / turn_rate_dps, lookahead_s), dt)
        plen[0] = q
        plen[1] = q
        plen[2] = _sample_count(min((max_gs_mps - v) / accel_mps2, lookahead_s), dt)
        plen[3] = _sample_count(min(max(v - min_gs_mps, 0.0) / accel_mps2, lookahead_s), dt)
        plen[4] = _sample_count(min(max(max_vs_fps - w0, 0.0) / vaccel_fps2, lookahead_s), dt)
        plen[5] = _sample_count(min(max(w0 + max_vs_fps, 0.0) / vaccel_fps2, lookahead_s), dt)
        q = _sample_count(lookahead_s, dt)
        plen[6] = q
        plen[7] = q
    counts = (nt, ng, nv, na)
    total = nt + ng + nv + na + 1
    for k in range(8):
        total += plen[k]
    t_s = np.zeros(total)
    px = np.zeros(total)
    py = np.zeros(total)
    oux = np.empty(total)
    ouy = np.empty(total)
    oz = np.empty(total)
    ow = np.empty(total)
    dur = np.empty(total)
    mm = np.zeros(total)
    mf = np.zeros(total)
    final_row = np.empty(nt + ng + nv + na, dtype=np.int64)
    path_of = np.full(nt + ng + nv + na, -1, dtype=np.int64)
    path_start = np.zeros(8 if kinematic else 0, dtype=np.int64)
    path_len = np.zeros(8 if kinematic else 0, dtype=np.int64)
    psi0 = math.atan2(ux, uy)
    row = 0
    kk = 0
    for d in range(4):
        # final states of every value of dimension d
        for j in range(counts[d]):
            final_row[kk] = row
            tm = 0.0
            if d == 0:
                val = v_track[j]
                if kinematic:
                    delta = (val - track_deg) % 360.0
                    right = delta <= 180.0
                    turn = delta if right else 360.0 - delta
                    omega = (1.0 if right else -1.0) * rate
                    tm = math.radians(turn) / rate
                    psi = psi0 + omega * tm
                    px[row] = (v / omega) * (math.cos(psi0) - math.cos(psi))
                    py[row] = (v / omega) * (math.sin(psi) - math.sin(psi0))
                    oux[row] = v * math.sin(psi)
                    ouy[row] = v * math.cos(psi)
                    path_of[kk] = 0 if right else 1
                else:
                    psi = math.radians(val)
                    oux[row] = v * math.sin(psi)
                    ouy[row] = v * math.cos(psi)
                oz[row] = z0 + w0 * tm
                ow[row] = w0
            elif d == 1:
                target = v_gs[j]
                if kinematic:
                    up = target >= v
                    acc = accel_mps2 if up else -accel_mps2
                    tm = abs(target - v) / accel_mps2
                    dist = v * tm + 0.5 * acc * tm * tm
                    speed = v + acc * tm
                    px[row] = ex * dist
                    py[row] = ey * dist
                    oux[row] = ex * speed
                    ouy[row] = ey * speed
                    path_of[kk] = 2 if up else 3
                else:
                    oux[row] = ex * target
                    ouy[row] = ey * target
                oz[row] = z0 + w0 * tm
                ow[row] = w0
            elif d == 2:
                target = v_vs[j]
                oux[row] = ux
                ouy[row] = uy
                if kinematic:
                    up = target >= w0
                    acc = vaccel_fps2 if up else -vaccel_fps2
                    tm = abs(target - w0) / vaccel_fps2
                    px[row] = ux * tm
                    py[row] = uy * tm
                    oz[row] = z0 + w0 * tm + 0.5 * acc * tm * tm
                    ow[row] = w0 + acc * tm
                    path_of[kk] = 4 if up else 5
                else:
                    oz[row] = z0
                    ow[row] = target
            else:
                h = v_alt[j]
                oux[row] = ux
                ouy[row] = uy
                if kinematic:
                    up = h >= z0
                    tm = _time_to_altitude1(z0, w0, 1.0 if up else -1.0, vaccel_fps2, vrate_fps, h)
                    if not math.isfinite(tm):
                        tm = lookahead_s
                    px[row] = ux * tm
                    py[row] = uy * tm
                    path_of[kk] = 6 if up else 7
                oz[row] = h
                ow[row] = 0.0
            t_s[row] = tm
            dur[row] = max(lookahead_s - tm, 0.0)
            row += 1
            kk += 1
        if not kinematic:
            continue
        # the two sampled manoeuvre paths of dimension d (up/right first)
        for s in range(2):
            p = 2 * d + s
            path_start[p] = row
            path_len[p] = plen[p]
            sign = 1.0 if s == 0 else -1.0
            for q in range(plen[p]):
                t = q * dt
                t_s[row] = t
                dur[row] = min(dt, max(lookahead_s - t, 0.0))
                if d == 0:
                    omega = sign * rate
                    psi = psi0 + omega * t
                    px[row] = (v / omega) * (math.cos(psi0) - math.cos(psi))
                    py[row] = (v / omega) * (math.sin(psi) - math.sin(psi0))
                    oux[row] = v * math.sin(psi)
                    ouy[row] = v * math.cos(psi)
                    oz[row] = z0 + w0 * t
                    ow[row] = w0
                    mm[row] = 0.5 * v * rate * dt**2
                elif d == 1:
                    acc = sign * accel_mps2
                    dist = v * t + 0.5 * acc * t * t
                    speed = v + acc * t
                    px[row] = ex * dist
                    py[row] = ey * dist
                    oux[row] = ex * speed
                    ouy[row] = ey * speed
                    oz[row] = z0 + w0 * t
                    ow[row] = w0
                    mm[row] = 0.5 * accel_mps2 * dt**2
                elif d == 2:
                    acc = sign * vaccel_fps2
                    px[row] = ux * t
                    py[row] = uy * t
                    oux[row] = ux
                    ouy[row] = uy
                    oz[row] = z0 + w0 * t + 0.5 * acc * t * t
                    ow[row] = w0 + acc * t
                    mf[row] = 0.5 * vaccel_fps2 * dt**2
                else:
                    crate = sign * vrate_fps
                    acc = vaccel_fps2 if crate >= w0 else -vaccel_fps2
                    t_r = abs(crate - w0) / vaccel_fps2
                    px[row] = ux * t
                    py[row] = uy * t
                    oux[row] = ux
                    ouy[row] = uy
                    if t < t_r:
                        oz[row] = z0 + w0 * t + 0.5 * acc * t * t
                        ow[row] = w0 + acc * t
                    else:
                        z_end = z0 + w0 * t_r + 0.5 * acc * t_r * t_r
                        oz[row] = z_end + crate * (t - t_r)
                        ow[row] = crate
                    mf[row] = 0.5 * vaccel_fps2 * dt**2
                row += 1
    # holding the current state: time 0, straight for the look-ahead
    oux[row] = ux
    ouy[row] = uy
    oz[row] = z0
    ow[row] = w0
    dur[row] = lookahead_s
    return (
        t_s,
        px,
        py,
        oux,
        ouy,
        oz,
        ow,
        dur,
        mm,
        mf,
        final_row,
        path_of,
        path_start,
        path_len,
    )


@nb.njit(cache=True, nogil=True)
def finish_bands_kernel(
    regions: np.ndarray,
    offsets: np.ndarray,
    corrective: int,
    lost_steps: np.ndarray,
    stuck: np.ndarray,
    recovery_region: int,
    values: np.ndarray,
    currents: np.ndarray,
    hold_ok: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """Recovery labels and resolutions of the four dimensions (values ``offsets[d]`` ...
    ``offsets[d + 1]`` of the concatenated ``regions`` and ``values``), as the numpy loop of
    ``bands._compute_bands`` and ``bands._resolve`` do them.

    A stuck dimension takes the first recovery step (column of ``lost_steps``, ``(K, S)``)
    that frees some value and labels those values ``recovery_region``. Resolution per
    dimension: the nearest value below ``corrective`` on the increasing side (track: clockwise,
    modulo 360) and on the decreasing side (``+inf`` / ``-inf`` when none; the current value
    both ways when holding is fine), the first grid value on a tie; the increasing side is
    preferred unless the decreasing one needs a smaller change.

    Returns ``(regions, recovery, res_up, res_down, prefer_up)``."""
    out = regions.copy()
    recovery = np.zeros(4, dtype=np.bool_)
    res_up = np.empty(4)
    res_down = np.empty(4)
    prefer_up = np.ones(4, dtype=np.bool_)
    n_steps = lost_steps.shape[1]
    for d in range(4):
        a = offsets[d]
        b = offsets[d + 1]
        if stuck[d]:
            for s in range(n_steps):
                usable = False
                for j in range(a, b):
                    if not lost_steps[j, s]:
                        usable = True
                        break
                if usable:
                    for j in range(a, b):
                        if not lost_steps[j, s]:
                            out[j] = recovery_region
                    recovery[d] = True
                    break
        current = currents[d]
        if hold_ok:
            res_up[d] = current
            res_down[d] = current
            continue
        best_up = math.inf
        best_down = math.inf
        arg_up = -1
        arg_down = -1
        for j in range(a, b):
            if out[j] >= corrective:
                continue
            v = values[j]
            if d == 0:
                du = (v - current) % 360.0
                dd = (current - v) % 360.0
            else:
                du = v - current if v >= current else math.inf
                dd = current - v if v <= current else math.inf
            if du < best_up:
                best_up = du
                arg_up = j
            if dd < best_down:
                best_down = dd
                arg_down = j
        res_up[d] = values[arg_up] if math.isfinite(best_up) else math.inf
        res_down[d] = values[arg_down] if math.isfinite(best_down) else -math.inf
        prefer_up[d] = best_up <= best_down
    return out, recovery, res_up, res_down, prefer_up


@nb.njit(cache=True, nogil=True)
def paths_lost_kernel(
    sx0: float,
    sy0: float,
    pax: np.ndarray,
    pay: np.ndarray,
    uax: np.ndarray,
    uay: np.ndarray,
    za: np.ndarray,
    wa: np.ndarray,
    pbx: np.ndarray,
    pby: np.ndarray,
    ubx: np.ndarray,
    uby: np.ndarray,
    zb: np.ndarray,
    wb: np.ndarray,
    duration_s: np.ndarray,
    dthr_m: float,
    zthr_ft: float,
    tthr_s: float,
    tcoa_s: float,
    strict: bool,
) -> np.ndarray:  # pragma: no cover - compiled
    """Whether candidate path ``ia`` of aircraft A (rows of ``pax`` ... ``wa``, ``(A, T)``:
    position m, velocity m/s, altitude ft, vertical rate ft/s at each sample) and path ``ib``
    of B (``(B, T)``, B's start ``(sx0, sy0)`` m from A) lose the volume in some sample ``t``
    over ``[0, duration_s[t]]``: ``(A, B)`` booleans. Oracle:
    ``guidance._paths_lost_numpy`` (the same arithmetic, element by element)."""
    a_count = pax.shape[0]
    b_count = pbx.shape[0]
    t_count = duration_s.shape[0]
    out = np.zeros((a_count, b_count), dtype=np.bool_)
    for ia in range(a_count):
        for ib in range(b_count):
            for t in range(t_count):
                sx = sx0 + pbx[ib, t] - pax[ia, t]
                sy = sy0 + pby[ib, t] - pay[ia, t]
                vx = ubx[ib, t] - uax[ia, t]
                vy = uby[ib, t] - uay[ia, t]
                sz = zb[ib, t] - za[ia, t]
                vz = wb[ib, t] - wa[ia, t]
                ss = sx * sx + sy * sy
                sv = sx * vx + sy * vy
                vv = vx * vx + vy * vy
                moving = vv > _MOVING_EPS
                vv_safe = vv if moving else 1.0
                vz_moving = abs(vz) > _MOVING_EPS
                vz_safe = vz if vz_moving else 1.0
                lost, _, _ = _loss(
                    ss,
                    sv,
                    vv_safe,
                    moving,
                    sz,
                    vz_safe,
                    vz_moving,
                    dthr_m,
                    zthr_ft,
                    tthr_s,
                    tcoa_s,
                    duration_s[t],
                    strict,
                )
                if lost:
                    out[ia, ib] = True
                    break
    return out
