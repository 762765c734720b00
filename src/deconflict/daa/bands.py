"""Guidance bands: which tracks, ground speeds, vertical speeds and altitudes are conflict-free.

For one ownship against all its intruders at once, every candidate value of each dimension
(track 0-359 deg, ground speed 10-700 kt, vertical speed +-6000 fpm, altitude 100-50,000 ft on
the profile's grids) is *flown* and labelled with the band region of the most severe alert
level whose volume it violates within the look-ahead (``NONE`` when none).

Flying a value:

* **instantaneous** (``cylinder``, ``airprox``): the ownship takes the value now (altitude
  values: it is at that altitude now, level) and flies a straight line;
* **kinematic** (``do365b``): it turns at the turn rate (the shorter way round; a value exactly
  opposite is reached turning right), accelerates at the horizontal or vertical acceleration,
  or, for an altitude, ramps its vertical speed to the altitude-change rate (500 fpm), holds it
  and levels off at the value; then it flies straight. All values on one side share the same
  manoeuvre path, which is sampled every ``time_step_s``; each step is checked as a straight
  segment with the volume widened by the path's deviation from it (``a dt^2 / 2``), and the
  straight line after the manoeuvre is checked exactly (:mod:`deconflict.daa.wcv`).

Intruders fly straight at constant velocity. Geometry is the ownship's local east-north plane
(relative positions and the intruders' velocities projected on it).

**Recovery**: when no value of a dimension is below the corrective region, the corrective
volumes are shrunk step by step (``recovery_factor`` of DTHR, ZTHR and TTHR per step, never
below the NMAC cylinder 500 ft x 100 ft) until some values are free of them: those are labelled
``RECOVERY``. **Resolutions**: the nearest value each side whose region is below the corrective
region (``NONE``, ``FAR`` or ``RECOVERY``; the current value itself when it is); the preferred
side is the one needing the smaller change (right / up on a tie).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from deconflict.daa._jit import (
    band_rows_kernel,
    dimension_conflicts_kernel,
    finish_bands_kernel,
    linear_conflicts_kernel,
)
from deconflict.daa.alerting import States
from deconflict.daa.profiles import BandsParameters, Profile, Region
from deconflict.daa.wcv import loss_interval
from deconflict.tactical._geometry import east_north, kinematics
from deconflict.units import M_PER_FT, MPS_PER_KT, WGS84_A_M, WGS84_E2, FloatArray

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

G_MPS2: Final = 9.80665
"""Standard gravity, m/s^2 (vertical acceleration is given in g)."""

DIMENSIONS: Final = ("track_deg", "gs_kt", "vs_fpm", "alt_ft")
"""Band dimensions, in output order."""

SIDES: Final = {
    "track_deg": ("right", "left"),
    "gs_kt": ("up", "down"),
    "vs_fpm": ("up", "down"),
    "alt_ft": ("up", "down"),
}
"""Resolution sides per dimension: increasing value first."""


@dataclass(frozen=True)
class Traffic:
    """Intruders seen from the ownship (east-north plane, metres; vertical feet), with the
    parameters of each intruder's alert levels as ``(I, L)`` arrays."""

    sx: FloatArray
    sy: FloatArray
    vx: FloatArray
    vy: FloatArray
    z_ft: FloatArray
    w_fps: FloatArray
    dthr_m: FloatArray
    zthr_ft: FloatArray
    tthr_s: FloatArray
    tcoa_s: FloatArray
    region: IntArray
    present: BoolArray


@dataclass(frozen=True)
class Ownship:
    """The ownship at time 0: position (0, 0), velocity (m/s east/north), altitude, rate."""

    ux: float
    uy: float
    z_ft: float
    w_fps: float
    gs_kt: float
    track_deg: float
    vs_fpm: float


@dataclass(frozen=True)
class DimensionBands:
    """Bands of one dimension.

    ``values`` are the grid values (deg, kt, fpm or ft), ``regions`` their :class:`Region`
    numbers; ``current_region`` is the region of keeping the current state; ``recovery`` tells
    whether recovery bands were computed; ``resolution`` maps a side (``right``/``left`` or
    ``up``/``down``) to the nearest acceptable value (``+-inf`` when none);
    ``preferred`` is a side.
    """

    name: str
    values: FloatArray
    regions: IntArray
    current: float
    current_region: int
    recovery: bool
    resolution: dict[str, float]
    preferred: str

    def intervals(self) -> list[tuple[float, float, str]]:
        """Runs of equal region: ``(first value, last value, region name)``."""
        out: list[tuple[float, float, str]] = []
        if self.values.shape[0] == 0:
            return out
        cut = np.flatnonzero(np.diff(self.regions) != 0) + 1
        starts = np.concatenate(([0], cut))
        ends = np.concatenate((cut, [self.values.shape[0]])) - 1
        for a, b in zip(starts, ends, strict=True):
            out.append(
                (float(self.values[a]), float(self.values[b]), Region(int(self.regions[a])).name)
            )
        return out


@dataclass(frozen=True)
class Bands:
    """Bands of all four dimensions for one ownship."""

    track_deg: DimensionBands
    gs_kt: DimensionBands
    vs_fpm: DimensionBands
    alt_ft: DimensionBands

    def dimension(self, name: str) -> DimensionBands:
        """The bands of ``name`` (one of :data:`DIMENSIONS`)."""
        result: DimensionBands = getattr(self, name)
        return result


# --------------------------------------------------------------------------- geometry


def traffic_from(
    profile: Profile, states: States, own: int, intruders: IntArray
) -> tuple[Ownship, Traffic]:
    """Ownship state and its intruders projected on its local east-north plane."""
    i = np.asarray(intruders, dtype=np.int64)
    # kinematics of the ownship (row 0) and its intruders only (element-wise per aircraft)
    rows = np.concatenate([np.array([own], dtype=np.int64), i])
    kin = kinematics(
        states.lat_deg[rows], states.lon_deg[rows], states.gs_kt[rows], states.track_deg[rows]
    )
    (ex, ey, ez), (nx, ny, nz) = east_north(
        states.lat_deg[own : own + 1], states.lon_deg[own : own + 1]
    )
    e = np.array([float(ex[0]), float(ey[0]), float(ez[0])])
    n = np.array([float(nx[0]), float(ny[0]), float(nz[0])])
    d = np.stack(
        [kin.x_m[1:] - kin.x_m[0], kin.y_m[1:] - kin.y_m[0], kin.z_m[1:] - kin.z_m[0]], axis=1
    )
    v = np.stack([kin.vx_mps[1:], kin.vy_mps[1:], kin.vz_mps[1:]], axis=1)
    gs = float(states.gs_kt[own]) * MPS_PER_KT
    trk = math.radians(float(states.track_deg[own]))
    ownship = Ownship(
        ux=gs * math.sin(trk),
        uy=gs * math.cos(trk),
        z_ft=float(states.alt_ft[own]),
        w_fps=float(states.vs_fpm[own]) / 60.0,
        gs_kt=float(states.gs_kt[own]),
        track_deg=float(states.track_deg[own]) % 360.0,
        vs_fpm=float(states.vs_fpm[own]),
    )
    single = len(profile.alerters) == 1  # one-level profiles: every aircraft uses it
    row = np.zeros(i.shape[0], dtype=np.int64) if single else states.alerter[i] - 1
    t_dthr, t_zthr, t_tthr, t_tcoa, t_region, t_present = _level_parameters(profile)
    dthr, zthr, tthr, tcoa = t_dthr[row], t_zthr[row], t_tthr[row], t_tcoa[row]
    region, present = t_region[row], t_present[row]
    traffic = Traffic(
        sx=d @ e,
        sy=d @ n,
        vx=v @ e,
        vy=v @ n,
        z_ft=states.alt_ft[i].astype(np.float64),
        w_fps=states.vs_fpm[i] / 60.0,
        dthr_m=dthr,
        zthr_ft=zthr,
        tthr_s=tthr,
        tcoa_s=tcoa,
        region=region,
        present=present,
    )
    return ownship, traffic


@functools.lru_cache(maxsize=16)
def _level_parameters(
    profile: Profile,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, IntArray, BoolArray]:
    """Per alerter (rows) and level (columns): DTHR (m), ZTHR (ft), TTHR (s), TCOA (s), region,
    present (absent levels: 1 m / 1 ft placeholders, never present). Indexed by alerter - 1."""
    shape = (len(profile.alerters), profile.max_level)
    dthr = np.ones(shape)
    zthr = np.ones(shape)
    tthr = np.zeros(shape)
    tcoa = np.zeros(shape)
    region = np.zeros(shape, dtype=np.int64)
    present = np.zeros(shape, dtype=bool)
    for k, alerter in enumerate(profile.alerters):
        for lv in alerter.levels:
            c = lv.level - 1
            dthr[k, c] = lv.volume.dthr_m
            zthr[k, c] = lv.volume.zthr_ft
            tthr[k, c] = lv.volume.tthr_s
            tcoa[k, c] = lv.volume.tcoa_s
            region[k, c] = int(lv.region)
            present[k, c] = True
    for a in (dthr, zthr, tthr, tcoa, region, present):
        a.setflags(write=False)
    return dthr, zthr, tthr, tcoa, region, present


@dataclass(frozen=True)
class Trajectory:
    """Ownship states (arrays of shape ``(M,)``) at times ``t_s``: position (m), velocity
    (m/s), altitude (ft), vertical rate (ft/s)."""

    t_s: FloatArray
    px: FloatArray
    py: FloatArray
    ux: FloatArray
    uy: FloatArray
    z_ft: FloatArray
    w_fps: FloatArray


def linear_conflicts(
    traffic: Traffic,
    own: Trajectory,
    duration_s: FloatArray,
    strict: bool,
    margin_m: FloatArray | float = 0.0,
    margin_ft: FloatArray | float = 0.0,
) -> BoolArray:
    """``(M, I, L)``: from each ownship state, flying straight for ``duration_s``, is any
    intruder's level volume (widened by the margins, m and ft, scalars or per state) lost?
    Compiled; same results as :func:`linear_conflicts_numpy`."""
    return _run_kernel(traffic, own, duration_s, strict, margin_m, margin_ft, False, False)


def linear_conflicts_any(
    traffic: Traffic,
    own: Trajectory,
    duration_s: FloatArray,
    strict: bool,
    margin_m: FloatArray | float = 0.0,
    margin_ft: FloatArray | float = 0.0,
    nested: bool = False,
) -> BoolArray:
    """``(M, L)``: :func:`linear_conflicts` ORed over the intruders, in the kernel.
    ``nested``: every intruder's volumes shrink with the level index (the recovery volumes of
    :func:`_recovery_traffic`), so the kernel may bisect over the levels (same result)."""
    return _run_kernel(traffic, own, duration_s, strict, margin_m, margin_ft, True, nested)[:, 0, :]


def _run_kernel(
    traffic: Traffic,
    own: Trajectory,
    duration_s: FloatArray,
    strict: bool,
    margin_m: FloatArray | float,
    margin_ft: FloatArray | float,
    any_intruder: bool,
    nested: bool,
) -> BoolArray:
    """:func:`deconflict.daa._jit.linear_conflicts_kernel` on ``traffic`` and ``own`` (margins
    broadcast to one per ownship state, m and ft)."""
    m = own.t_s.shape[0]
    result: BoolArray = linear_conflicts_kernel(
        traffic.sx,
        traffic.sy,
        traffic.vx,
        traffic.vy,
        traffic.z_ft,
        traffic.w_fps,
        traffic.dthr_m,
        traffic.zthr_ft,
        traffic.tthr_s,
        traffic.tcoa_s,
        traffic.present,
        own.t_s,
        own.px,
        own.py,
        own.ux,
        own.uy,
        own.z_ft,
        own.w_fps,
        np.ascontiguousarray(duration_s, dtype=np.float64),
        strict,
        np.ascontiguousarray(np.broadcast_to(np.asarray(margin_m, dtype=np.float64), (m,))),
        np.ascontiguousarray(np.broadcast_to(np.asarray(margin_ft, dtype=np.float64), (m,))),
        any_intruder,
        nested,
    )
    return result


def linear_conflicts_numpy(
    traffic: Traffic,
    own: Trajectory,
    duration_s: FloatArray,
    strict: bool,
    margin_m: FloatArray | float = 0.0,
    margin_ft: FloatArray | float = 0.0,
) -> BoolArray:
    """The numpy oracle of :func:`linear_conflicts` (broadcast temporaries)."""
    mm = np.broadcast_to(np.asarray(margin_m, dtype=np.float64), own.t_s.shape)[:, None, None]
    mf = np.broadcast_to(np.asarray(margin_ft, dtype=np.float64), own.t_s.shape)[:, None, None]
    t0 = own.t_s[:, None]
    sx = traffic.sx[None, :] + traffic.vx[None, :] * t0 - own.px[:, None]
    sy = traffic.sy[None, :] + traffic.vy[None, :] * t0 - own.py[:, None]
    vx = traffic.vx[None, :] - own.ux[:, None]
    vy = traffic.vy[None, :] - own.uy[:, None]
    sz = traffic.z_ft[None, :] + traffic.w_fps[None, :] * t0 - own.z_ft[:, None]
    vz = traffic.w_fps[None, :] - own.w_fps[:, None]
    ss = (sx * sx + sy * sy)[:, :, None]
    sv = (sx * vx + sy * vy)[:, :, None]
    vv = (vx * vx + vy * vy)[:, :, None]
    _, _, hit = loss_interval(
        ss,
        sv,
        vv,
        sz[:, :, None],
        vz[:, :, None],
        dthr_m=traffic.dthr_m[None] + mm,
        zthr_ft=traffic.zthr_ft[None] + mf,
        tthr_s=traffic.tthr_s[None],
        tcoa_s=traffic.tcoa_s[None],
        lookahead_s=duration_s[:, None, None],
        strict=strict,
    )
    result: BoolArray = hit & traffic.present[None]
    return result


def _concat(parts: list[Trajectory]) -> Trajectory:
    return Trajectory(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Trajectory.__dataclass_fields__)
    )


# --------------------------------------------------------------------------- manoeuvres


@dataclass(frozen=True)
class _Dimension:
    """Candidate values of one dimension and how each is flown.

    ``final`` is the state at the end of each value's manoeuvre (time ``t_s`` = ``t_m``);
    ``path[k]`` indexes ``paths`` (-1: none); ``paths`` are sampled manoeuvre paths.
    """

    values: FloatArray
    final: Trajectory
    path: IntArray
    paths: list[Trajectory]
    margins: list[tuple[float, float]]


def _turn_states(
    own: Ownship, sign: float | FloatArray, rate_rps: float, t: FloatArray
) -> Trajectory:
    """Turning at ``rate_rps`` to the right (``sign`` +1) or left (-1; per element when an
    array) for ``t`` seconds."""
    v = math.hypot(own.ux, own.uy)
    psi0 = math.atan2(own.ux, own.uy)
    omega = sign * rate_rps
    psi = psi0 + omega * t
    return Trajectory(
        t_s=t,
        px=(v / omega) * (math.cos(psi0) - np.cos(psi)),
        py=(v / omega) * (np.sin(psi) - math.sin(psi0)),
        ux=v * np.sin(psi),
        uy=v * np.cos(psi),
        z_ft=own.z_ft + own.w_fps * t,
        w_fps=np.full_like(t, own.w_fps),
    )


def _straight(own: Ownship, t: FloatArray, ux: FloatArray, uy: FloatArray) -> Trajectory:
    return Trajectory(
        t_s=t,
        px=own.ux * t,
        py=own.uy * t,
        ux=ux,
        uy=uy,
        z_ft=own.z_ft + own.w_fps * t,
        w_fps=np.full_like(t, own.w_fps),
    )


def _samples(end_s: float, dt: float) -> FloatArray:
    count = max(1, math.ceil(end_s / dt - 1e-9))
    return np.arange(count, dtype=np.float64) * dt


def _track_dimension(own: Ownship, p: BandsParameters, lookahead_s: float) -> _Dimension:
    values = np.arange(0.0, 360.0, p.step_track_deg, dtype=np.float64)
    delta = (values - own.track_deg) % 360.0
    right = delta <= 180.0
    turn = np.where(right, delta, 360.0 - delta)
    sign = np.where(right, 1.0, -1.0)
    psi = np.radians(values)
    v = math.hypot(own.ux, own.uy)
    if not p.kinematic:
        t0 = np.zeros_like(values)
        final = _straight(own, t0, v * np.sin(psi), v * np.cos(psi))
        return _Dimension(values, final, np.full(values.shape, -1, np.int64), [], [])
    rate = math.radians(p.turn_rate_dps)
    t_m = np.radians(turn) / rate
    final = _turn_states(own, sign, rate, t_m)
    t = _samples(min(180.0 / p.turn_rate_dps, lookahead_s), p.time_step_s)
    paths = [_turn_states(own, 1.0, rate, t), _turn_states(own, -1.0, rate, t)]
    margin = 0.5 * v * rate * p.time_step_s**2
    path = np.where(right, 0, 1).astype(np.int64)
    return _Dimension(values, final, path, paths, [(margin, 0.0), (margin, 0.0)])


def _speed_states(own: Ownship, accel: float | FloatArray, t: FloatArray) -> Trajectory:
    v0 = math.hypot(own.ux, own.uy)
    ex, ey = (own.ux / v0, own.uy / v0) if v0 > 0 else _heading_unit(own.track_deg)
    speed = v0 + accel * t
    dist = v0 * t + 0.5 * accel * t * t
    return Trajectory(
        t_s=t,
        px=ex * dist,
        py=ey * dist,
        ux=ex * speed,
        uy=ey * speed,
        z_ft=own.z_ft + own.w_fps * t,
        w_fps=np.full_like(t, own.w_fps),
    )


def _heading_unit(track_deg: float) -> tuple[float, float]:
    r = math.radians(track_deg)
    return math.sin(r), math.cos(r)


def _gs_dimension(own: Ownship, p: BandsParameters, lookahead_s: float) -> _Dimension:
    count = round((p.max_gs_kt - p.min_gs_kt) / p.step_gs_kt) + 1
    values = (p.min_gs_kt + np.arange(count) * p.step_gs_kt).astype(np.float64)
    target = values * MPS_PER_KT
    v0 = math.hypot(own.ux, own.uy)
    ex, ey = (own.ux / v0, own.uy / v0) if v0 > 0 else _heading_unit(own.track_deg)
    if not p.kinematic:
        t0 = np.zeros_like(values)
        final = _straight(own, t0, ex * target, ey * target)
        return _Dimension(values, final, np.full(values.shape, -1, np.int64), [], [])
    a = p.horizontal_accel_mps2
    up = target >= v0
    t_m = np.abs(target - v0) / a
    final = _speed_states(own, np.where(up, a, -a), t_m)
    t_up = _samples(min((p.max_gs_kt * MPS_PER_KT - v0) / a, lookahead_s), p.time_step_s)
    t_down = _samples(min(max(v0 - p.min_gs_kt * MPS_PER_KT, 0.0) / a, lookahead_s), p.time_step_s)
    paths = [_speed_states(own, a, t_up), _speed_states(own, -a, t_down)]
    margin = 0.5 * a * p.time_step_s**2
    path = np.where(up, 0, 1).astype(np.int64)
    return _Dimension(values, final, path, paths, [(margin, 0.0), (margin, 0.0)])


def _vs_states(own: Ownship, accel_fps2: float | FloatArray, t: FloatArray) -> Trajectory:
    return Trajectory(
        t_s=t,
        px=own.ux * t,
        py=own.uy * t,
        ux=np.full_like(t, own.ux),
        uy=np.full_like(t, own.uy),
        z_ft=own.z_ft + own.w_fps * t + 0.5 * accel_fps2 * t * t,
        w_fps=own.w_fps + accel_fps2 * t,
    )


def _vertical_accel_fps2(p: BandsParameters) -> float:
    return p.vertical_accel_g * G_MPS2 / M_PER_FT


def _vs_dimension(own: Ownship, p: BandsParameters, lookahead_s: float) -> _Dimension:
    count = round(2 * p.max_vs_fpm / p.step_vs_fpm) + 1
    values = (-p.max_vs_fpm + np.arange(count) * p.step_vs_fpm).astype(np.float64)
    target = values / 60.0
    if not p.kinematic:
        t0 = np.zeros_like(values)
        final = Trajectory(
            t_s=t0,
            px=t0.copy(),
            py=t0.copy(),
            ux=np.full_like(t0, own.ux),
            uy=np.full_like(t0, own.uy),
            z_ft=np.full_like(t0, own.z_ft),
            w_fps=target,
        )
        return _Dimension(values, final, np.full(values.shape, -1, np.int64), [], [])
    a = _vertical_accel_fps2(p)
    up = target >= own.w_fps
    t_m = np.abs(target - own.w_fps) / a
    final = _vs_states(own, np.where(up, a, -a), t_m)
    top = p.max_vs_fpm / 60.0
    t_up = _samples(min(max(top - own.w_fps, 0.0) / a, lookahead_s), p.time_step_s)
    t_down = _samples(min(max(own.w_fps + top, 0.0) / a, lookahead_s), p.time_step_s)
    paths = [_vs_states(own, a, t_up), _vs_states(own, -a, t_down)]
    margin_ft = 0.5 * a * p.time_step_s**2
    path = np.where(up, 0, 1).astype(np.int64)
    return _Dimension(values, final, path, paths, [(0.0, margin_ft), (0.0, margin_ft)])


def _climb_profile(
    own: Ownship, sign: float, p: BandsParameters, t: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Altitude (ft) and rate (ft/s) at ``t`` when ramping to ``sign`` x the altitude rate."""
    a = _vertical_accel_fps2(p)
    rate = sign * p.vertical_rate_fpm / 60.0
    acc = a if rate >= own.w_fps else -a
    t_r = abs(rate - own.w_fps) / a
    in_ramp = t < t_r
    z_ramp = own.z_ft + own.w_fps * t + 0.5 * acc * t * t
    z_end = own.z_ft + own.w_fps * t_r + 0.5 * acc * t_r * t_r
    z = np.where(in_ramp, z_ramp, z_end + rate * (t - t_r))
    w = np.where(in_ramp, own.w_fps + acc * t, rate)
    return z, w


def _time_to_altitude(
    own: Ownship, sign: float, p: BandsParameters, h_ft: FloatArray
) -> FloatArray:
    """First time (s) the climb profile of ``sign`` reaches each altitude (inf: never)."""
    a = _vertical_accel_fps2(p)
    rate = sign * p.vertical_rate_fpm / 60.0
    acc = a if rate >= own.w_fps else -a
    t_r = abs(rate - own.w_fps) / a
    z_end = own.z_ft + own.w_fps * t_r + 0.5 * acc * t_r * t_r
    c = own.z_ft - h_ft
    disc = own.w_fps * own.w_fps - 2.0 * acc * c
    root = np.sqrt(np.maximum(disc, 0.0))
    r1 = (-own.w_fps - root) / acc
    r2 = (-own.w_fps + root) / acc
    ok1 = (disc >= 0.0) & (r1 >= 0.0) & (r1 <= t_r)
    ok2 = (disc >= 0.0) & (r2 >= 0.0) & (r2 <= t_r)
    ramp = np.minimum(np.where(ok1, r1, np.inf), np.where(ok2, r2, np.inf))
    linear = t_r + (h_ft - z_end) / rate if rate != 0.0 else np.full_like(h_ft, np.inf)
    linear = np.where(linear >= t_r, linear, np.inf)
    result: FloatArray = np.where(c == 0.0, 0.0, np.where(np.isfinite(ramp), ramp, linear))
    return result


def _alt_dimension(own: Ownship, p: BandsParameters, lookahead_s: float) -> _Dimension:
    count = round((p.max_alt_ft - p.min_alt_ft) / p.step_alt_ft) + 1
    values = (p.min_alt_ft + np.arange(count) * p.step_alt_ft).astype(np.float64)
    if not p.kinematic:
        t0 = np.zeros_like(values)
        final = Trajectory(
            t_s=t0,
            px=t0.copy(),
            py=t0.copy(),
            ux=np.full_like(t0, own.ux),
            uy=np.full_like(t0, own.uy),
            z_ft=values.copy(),
            w_fps=np.zeros_like(values),
        )
        return _Dimension(values, final, np.full(values.shape, -1, np.int64), [], [])
    up = values >= own.z_ft
    t_m = np.full(values.shape, np.inf)
    paths = []
    t = _samples(lookahead_s, p.time_step_s)
    for s, pick in ((1.0, up), (-1.0, ~up)):
        t_m[pick] = _time_to_altitude(own, s, p, values[pick])
        zs, ws = _climb_profile(own, s, p, t)
        paths.append(
            Trajectory(
                t_s=t,
                px=own.ux * t,
                py=own.uy * t,
                ux=np.full_like(t, own.ux),
                uy=np.full_like(t, own.uy),
                z_ft=zs,
                w_fps=ws,
            )
        )
    tm = np.where(np.isfinite(t_m), t_m, lookahead_s)
    final = Trajectory(
        t_s=tm,
        px=own.ux * tm,
        py=own.uy * tm,
        ux=np.full_like(tm, own.ux),
        uy=np.full_like(tm, own.uy),
        z_ft=values.copy(),
        w_fps=np.zeros_like(values),
    )
    margin_ft = 0.5 * _vertical_accel_fps2(p) * p.time_step_s**2
    path = np.where(up, 0, 1).astype(np.int64)
    return _Dimension(values, final, path, paths, [(0.0, margin_ft), (0.0, margin_ft)])


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class _Rows:
    """All ownship states to test for one ownship, stacked: for each dimension its final
    states, then the samples of its manoeuvre paths; with durations and margins per row."""

    states: Trajectory
    duration_s: FloatArray
    margin_m: FloatArray
    margin_ft: FloatArray
    final: list[slice]
    paths: list[list[slice]]


def _stack_rows(
    dims: list[_Dimension], lookahead_s: float, dt: float, hold: Trajectory | None = None
) -> _Rows:
    """All rows; ``hold`` (a state at time 0 flown straight for the look-ahead) goes last."""
    parts: list[Trajectory] = []
    durations: list[FloatArray] = []
    margins_m: list[FloatArray] = []
    margins_ft: list[FloatArray] = []
    finals: list[slice] = []
    paths: list[list[slice]] = []
    start = 0
    for dim in dims:
        k = dim.values.shape[0]
        parts.append(dim.final)
        durations.append(np.maximum(lookahead_s - dim.final.t_s, 0.0))
        margins_m.append(np.zeros(k))
        margins_ft.append(np.zeros(k))
        finals.append(slice(start, start + k))
        start += k
        own_paths = []
        for path, (m_m, m_ft) in zip(dim.paths, dim.margins, strict=True):
            q = path.t_s.shape[0]
            parts.append(path)
            durations.append(np.minimum(dt, np.maximum(lookahead_s - path.t_s, 0.0)))
            margins_m.append(np.full(q, m_m))
            margins_ft.append(np.full(q, m_ft))
            own_paths.append(slice(start, start + q))
            start += q
        paths.append(own_paths)
    if hold is not None:
        parts.append(hold)
        durations.append(np.full(1, lookahead_s))
        margins_m.append(np.zeros(1))
        margins_ft.append(np.zeros(1))
    return _Rows(
        states=_concat(parts),
        duration_s=np.concatenate(durations),
        margin_m=np.concatenate(margins_m),
        margin_ft=np.concatenate(margins_ft),
        final=finals,
        paths=paths,
    )


def _dimension_conflicts(
    dim: _Dimension, hit: BoolArray, final: slice, paths: list[slice], lookahead_s: float, dt: float
) -> BoolArray:
    """``(K, L)``: values of ``dim`` losing a level's volume of some intruder, from the row
    results ``hit`` (``(M, L)``, already reduced over intruders)."""
    out = hit[final].copy()
    for k, rows in enumerate(paths):
        pick = np.flatnonzero(dim.path == k)
        if pick.shape[0] == 0 or rows.stop == rows.start:
            continue
        cum = np.logical_or.accumulate(hit[rows], axis=0)
        t_m = np.minimum(dim.final.t_s[pick], lookahead_s)
        last = np.ceil(t_m / dt - 1e-9).astype(np.int64) - 1
        during = cum[np.clip(last, 0, cum.shape[0] - 1)] & (last >= 0)[:, None]
        out[pick] |= during
    return out


@dataclass(frozen=True)
class _ValueIndex:
    """Where every value of every dimension (concatenated, ``K`` in all) finds its rows: the
    row of its final state, its manoeuvre path (-1: none; rows ``path_start[p]`` ...
    ``+ path_len[p]``) and the time it is reached; ``offsets[d]`` starts dimension ``d``."""

    final_row: IntArray
    path_of: IntArray
    path_start: IntArray
    path_len: IntArray
    t_m: FloatArray
    offsets: list[int]


def _value_index(dims: list[_Dimension], rows: _Rows) -> _ValueIndex:
    final_row: list[IntArray] = []
    path_of: list[IntArray] = []
    starts: list[int] = []
    lengths: list[int] = []
    offsets = [0]
    for dim, final, paths in zip(dims, rows.final, rows.paths, strict=True):
        final_row.append(np.arange(final.start, final.stop, dtype=np.int64))
        base = len(starts)
        path_of.append(np.where(dim.path >= 0, dim.path + base, -1).astype(np.int64))
        for sl in paths:
            starts.append(sl.start)
            lengths.append(sl.stop - sl.start)
        offsets.append(offsets[-1] + dim.values.shape[0])
    return _ValueIndex(
        final_row=np.concatenate(final_row),
        path_of=np.concatenate(path_of),
        path_start=np.asarray(starts, dtype=np.int64),
        path_len=np.asarray(lengths, dtype=np.int64),
        t_m=np.ascontiguousarray(np.concatenate([d.final.t_s for d in dims]), dtype=np.float64),
        offsets=offsets,
    )


def _all_conflicts(index: _ValueIndex, hit: BoolArray, lookahead_s: float, dt: float) -> BoolArray:
    """``(K, L)`` conflicts of every value (compiled :func:`_dimension_conflicts`)."""
    result: BoolArray = dimension_conflicts_kernel(
        np.ascontiguousarray(hit),
        index.final_row,
        index.path_of,
        index.path_start,
        index.path_len,
        index.t_m,
        float(lookahead_s),
        float(dt),
    )
    return result


def _regions(hit: BoolArray, traffic: Traffic) -> IntArray:
    """Region of each value from its ``(K, L)`` conflicts: the most severe level region."""
    if traffic.region.shape[0] == 0:
        return np.zeros(hit.shape[0], dtype=np.int64)
    level_region = traffic.region.max(axis=0)  # regions depend on the level only
    region = np.where(hit, level_region[None, :], 0)
    result: IntArray = (
        region.max(axis=1).astype(np.int64)
        if hit.shape[1]
        else np.zeros(hit.shape[0], dtype=np.int64)
    )
    return result


def _corrective_region(profile: Profile) -> int:
    return min(int(a.corrective.region) for a in profile.alerters)


def _recovery_traffic(traffic: Traffic, profile: Profile) -> Traffic:
    """Traffic whose "levels" are the corrective volume shrunk by 1, 2, ... recovery steps
    (``recovery_factor`` of DTHR, ZTHR and TTHR each, floored at the NMAC cylinder; TCOA 0)."""
    p = profile.bands
    steps = max(1, math.ceil(1.0 / p.recovery_factor - 1e-9) - 1)
    factor = np.clip(1.0 - np.arange(1, steps + 1) * p.recovery_factor, 0.0, 1.0)[None, :]
    corrective = min(1, traffic.dthr_m.shape[1] - 1)
    dthr = traffic.dthr_m[:, corrective : corrective + 1]
    zthr = traffic.zthr_ft[:, corrective : corrective + 1]
    new_d = np.maximum(dthr * factor, p.nmac_horizontal_ft * M_PER_FT)
    new_z = np.maximum(zthr * factor, p.nmac_vertical_ft)
    return Traffic(
        sx=traffic.sx,
        sy=traffic.sy,
        vx=traffic.vx,
        vy=traffic.vy,
        z_ft=traffic.z_ft,
        w_fps=traffic.w_fps,
        dthr_m=np.ascontiguousarray(new_d),
        zthr_ft=np.ascontiguousarray(new_z),
        tthr_s=np.ascontiguousarray(traffic.tthr_s[:, corrective : corrective + 1] * factor),
        tcoa_s=np.zeros_like(new_d),
        region=np.full(new_d.shape, int(Region.RECOVERY), dtype=np.int64),
        present=np.ascontiguousarray(
            np.repeat(traffic.present[:, corrective : corrective + 1], steps, axis=1)
        ),
    )


def _resolve(
    name: str, values: FloatArray, ok: BoolArray, current: float, current_ok: bool
) -> tuple[dict[str, float], str]:
    hi_side, lo_side = SIDES[name]
    if current_ok:
        return {hi_side: current, lo_side: current}, hi_side
    if name == "track_deg":
        delta_up = (values - current) % 360.0
        delta_down = (current - values) % 360.0
    else:
        delta_up = np.where(values >= current, values - current, np.inf)
        delta_down = np.where(values <= current, current - values, np.inf)
    up = np.where(ok, delta_up, np.inf)
    down = np.where(ok, delta_down, np.inf)
    best_up = float(up.min()) if up.shape[0] else math.inf
    best_down = float(down.min()) if down.shape[0] else math.inf
    res = {
        hi_side: float(values[int(up.argmin())]) if math.isfinite(best_up) else math.inf,
        lo_side: float(values[int(down.argmin())]) if math.isfinite(best_down) else -math.inf,
    }
    preferred = hi_side if best_up <= best_down else lo_side
    return res, preferred


@functools.lru_cache(maxsize=16)
def _grids(p: BandsParameters) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The value grids of the four dimensions (deg, kt, fpm, ft), as the builders make them."""
    count_gs = round((p.max_gs_kt - p.min_gs_kt) / p.step_gs_kt) + 1
    count_vs = round(2 * p.max_vs_fpm / p.step_vs_fpm) + 1
    count_alt = round((p.max_alt_ft - p.min_alt_ft) / p.step_alt_ft) + 1
    grids = (
        np.arange(0.0, 360.0, p.step_track_deg, dtype=np.float64),
        (p.min_gs_kt + np.arange(count_gs) * p.step_gs_kt).astype(np.float64),
        (-p.max_vs_fpm + np.arange(count_vs) * p.step_vs_fpm).astype(np.float64),
        (p.min_alt_ft + np.arange(count_alt) * p.step_alt_ft).astype(np.float64),
    )
    for g in grids:
        g.setflags(write=False)
    return grids


@functools.lru_cache(maxsize=16)
def _grid_targets(p: BandsParameters) -> tuple[FloatArray, FloatArray]:
    """Ground-speed values in m/s and vertical-speed values in ft/s (the builders' targets)."""
    _, gs, vs, _ = _grids(p)
    targets = (gs * MPS_PER_KT, vs / 60.0)
    for g in targets:
        g.setflags(write=False)
    return targets


def _compiled_rows(
    own: Ownship, p: BandsParameters, lookahead_s: float
) -> tuple[list[FloatArray], tuple[Trajectory, FloatArray, FloatArray, FloatArray], _ValueIndex]:
    """The value grids, the rows (states, durations, margins m / ft) and the value index of
    :func:`_stack_rows` + :func:`_value_index` over the four builders (and holding last),
    built in one compiled pass (:func:`deconflict.daa._jit.band_rows_kernel`)."""
    track, gs, vs, alt = _grids(p)
    gs_mps, vs_fps = _grid_targets(p)
    (t_s, px, py, ux, uy, z, w, dur, mm, mf, final_row, path_of, start, length) = band_rows_kernel(
        p.kinematic,
        own.ux,
        own.uy,
        math.hypot(own.ux, own.uy),
        own.z_ft,
        own.w_fps,
        own.track_deg,
        float(lookahead_s),
        float(p.time_step_s),
        float(p.turn_rate_dps),
        float(p.horizontal_accel_mps2),
        _vertical_accel_fps2(p),
        p.vertical_rate_fpm / 60.0,
        p.max_gs_kt * MPS_PER_KT,
        p.min_gs_kt * MPS_PER_KT,
        p.max_vs_fpm / 60.0,
        track,
        gs_mps,
        vs_fps,
        alt,
    )
    grids = [track.copy(), gs.copy(), vs.copy(), alt.copy()]
    offsets = [0]
    for g in grids:
        offsets.append(offsets[-1] + g.shape[0])
    index = _ValueIndex(
        final_row=final_row,
        path_of=path_of,
        path_start=start,
        path_len=length,
        t_m=t_s[final_row],
        offsets=offsets,
    )
    return grids, (Trajectory(t_s, px, py, ux, uy, z, w), dur, mm, mf), index


def _rows_of(index: _ValueIndex, dimensions: list[int]) -> BoolArray:
    """Rows (final states and manoeuvre path samples) of the values of ``dimensions``."""
    needed = np.zeros(index.t_m.shape[0] + int(index.path_len.sum()) + 1, dtype=bool)
    for d in dimensions:
        a, b = index.offsets[d], index.offsets[d + 1]
        needed[index.final_row[a:b]] = True
        for path in np.unique(index.path_of[a:b]):
            if path >= 0:
                start = int(index.path_start[path])
                needed[start : start + int(index.path_len[path])] = True
    return needed


def compute_bands(profile: Profile, states: States, own: int, intruders: IntArray) -> Bands:
    """Bands of aircraft ``own`` against ``intruders`` (row indices into ``states``).

    All rows (every value's final state, every manoeuvre path sample, and holding) are built
    in one compiled pass, go through one compiled loss test ORed over the intruders (recovery
    steps bisected, only the stuck dimensions' rows), one compiled pass over the paths and one
    for recovery labels and resolutions (:func:`compute_bands_numpy` is the same computation
    through the numpy builders and oracles)."""
    return _compute_bands(profile, states, own, intruders, compiled=True)


def compute_bands_numpy(profile: Profile, states: States, own: int, intruders: IntArray) -> Bands:
    """:func:`compute_bands` through :func:`linear_conflicts_numpy` and
    :func:`_dimension_conflicts` (the oracle of the compiled path)."""
    return _compute_bands(profile, states, own, intruders, compiled=False)


def _compute_bands(
    profile: Profile, states: States, own: int, intruders: IntArray, *, compiled: bool
) -> Bands:
    p = profile.bands
    ownship, traffic = traffic_from(profile, states, own, intruders)
    strict = all(lv.volume.strict for a in profile.alerters for lv in a.levels)
    corrective = _corrective_region(profile)
    currents = (ownship.track_deg, ownship.gs_kt, ownship.vs_fpm, ownship.z_ft)
    dt = p.time_step_s
    look = profile.lookahead_s
    dims: list[_Dimension] = []
    rows: _Rows | None = None
    if compiled:
        values, (states_all, duration, margin_m, margin_ft), index = _compiled_rows(
            ownship, p, look
        )
    else:
        builders = (_track_dimension, _gs_dimension, _vs_dimension, _alt_dimension)
        dims = [b(ownship, p, look) for b in builders]
        values = [dim.values for dim in dims]
        # the last row: holding the current state (time 0, straight for the look-ahead)
        t0 = np.zeros(1)
        hold_state = _straight(ownship, t0, np.full(1, ownship.ux), np.full(1, ownship.uy))
        rows = _stack_rows(dims, look, dt, hold_state)
        states_all, duration = rows.states, rows.duration_s
        margin_m, margin_ft = rows.margin_m, rows.margin_ft
        index = _value_index(dims, rows)

    def lost(tr: Traffic) -> BoolArray:
        if compiled:
            return linear_conflicts_any(tr, states_all, duration, strict, margin_m, margin_ft)
        full = linear_conflicts_numpy(tr, states_all, duration, strict, margin_m, margin_ft)
        result: BoolArray = np.asarray(full.any(axis=1), dtype=bool)
        return result

    def per_value(hit: BoolArray) -> BoolArray:
        if compiled:
            return _all_conflicts(index, hit, look, dt)
        assert rows is not None
        return np.concatenate(
            [
                _dimension_conflicts(dim, hit, f, ps, look, dt)
                for dim, f, ps in zip(dims, rows.final, rows.paths, strict=True)
            ]
        )

    hit = lost(traffic)
    hold = int(_regions(hit[-1:], traffic)[0])
    regions_all = _regions(per_value(hit), traffic)
    cut = index.offsets
    all_regions = [regions_all[cut[k] : cut[k + 1]] for k in range(len(DIMENSIONS))]
    stuck = [r.shape[0] > 0 and not np.any(r < corrective) for r in all_regions]
    freed: list[BoolArray | None] = [None] * len(DIMENSIONS)
    lost_steps = np.zeros((regions_all.shape[0], 0), dtype=bool)
    if any(stuck):
        recovery_traffic = _recovery_traffic(traffic, profile)
        if compiled:
            recovery_duration = duration
            if not all(stuck):  # only the stuck dimensions' rows matter: no time for others
                needed = _rows_of(index, [k for k in range(len(DIMENSIONS)) if stuck[k]])
                recovery_duration = np.where(needed, duration, 0.0)
            steps = per_value(
                linear_conflicts_any(
                    recovery_traffic,
                    states_all,
                    recovery_duration,
                    strict,
                    margin_m,
                    margin_ft,
                    nested=True,
                )
            )
        else:
            steps = per_value(lost(recovery_traffic))
        lost_steps = steps
        for k in range(len(DIMENSIONS)):
            if stuck[k] and not compiled:
                freed[k] = ~steps[cut[k] : cut[k + 1]]  # (K, steps)
    if compiled:
        return _finish_compiled(
            values, regions_all, cut, corrective, lost_steps, stuck, currents, hold
        )
    out: list[DimensionBands] = []
    for k, (name, grid, current) in enumerate(zip(DIMENSIONS, values, currents, strict=True)):
        regions = all_regions[k]
        recovery = False
        free_steps = freed[k]
        if free_steps is not None:
            usable = np.flatnonzero(free_steps.any(axis=0))
            if usable.shape[0]:
                regions = np.where(free_steps[:, usable[0]], int(Region.RECOVERY), regions)
                recovery = True
        ok = regions < corrective
        resolution, preferred = _resolve(name, grid, ok, current, hold < corrective)
        out.append(
            DimensionBands(
                name=name,
                values=grid,
                regions=regions,
                current=current,
                current_region=hold,
                recovery=recovery,
                resolution=resolution,
                preferred=preferred,
            )
        )
    return Bands(*out)


def _finish_compiled(
    values: list[FloatArray],
    regions_all: IntArray,
    offsets: list[int],
    corrective: int,
    lost_steps: BoolArray,
    stuck: list[bool],
    currents: tuple[float, float, float, float],
    hold: int,
) -> Bands:
    """Recovery labels, resolutions and preferred sides in one compiled pass
    (:func:`deconflict.daa._jit.finish_bands_kernel`; the loop of :func:`_compute_bands` with
    :func:`_resolve` is its oracle)."""
    regions, recovery, res_up, res_down, prefer_up = finish_bands_kernel(
        np.ascontiguousarray(regions_all, dtype=np.int64),
        np.asarray(offsets, dtype=np.int64),
        int(corrective),
        np.ascontiguousarray(lost_steps),
        np.asarray(stuck, dtype=np.bool_),
        int(Region.RECOVERY),
        np.concatenate(values),
        np.asarray(currents, dtype=np.float64),
        hold < corrective,
    )
    out: list[DimensionBands] = []
    for k, (name, grid, current) in enumerate(zip(DIMENSIONS, values, currents, strict=True)):
        hi_side, lo_side = SIDES[name]
        out.append(
            DimensionBands(
                name=name,
                values=grid,
                regions=regions[offsets[k] : offsets[k + 1]],
                current=current,
                current_region=hold,
                recovery=bool(recovery[k]),
                resolution={hi_side: float(res_up[k]), lo_side: float(res_down[k])},
                preferred=hi_side if prefer_up[k] else lo_side,
            )
        )
    return Bands(*out)


def band_intruders(profile: Profile, states: States, own: int) -> IntArray:
    """Aircraft that some manoeuvre of ``own`` could bring into a volume within the look-ahead.

    Horizontal reach: (fastest band speed + intruder speed) x look-ahead + DTHR + TTHR x that
    closing speed (ECEF chord between surface positions, m); vertical reach: ZTHR + (fastest
    band vertical speed + intruder's) x look-ahead. O(n) comparisons per ownship, but the
    trigonometry runs only on the aircraft of a latitude band that holds every aircraft within
    the largest reach (:func:`_reach_band`); the answer equals :func:`band_intruders_reference`.
    """
    n = len(states)
    if n < 2:
        return np.empty(0, dtype=np.int64)
    p = profile.bands
    t = profile.lookahead_s
    own_speed = max(p.max_gs_kt, float(states.gs_kt[own])) * MPS_PER_KT
    dthr, tthr, zthr = _reach_thresholds(profile)
    max_reach = (own_speed + float(states.gs_kt.max()) * MPS_PER_KT) * (t + tthr) + dthr + 1000.0
    lat_lo, lat_hi = _reach_band(float(states.lat_deg[own]), max_reach)
    lat = states.lat_deg
    rows = np.flatnonzero((lat >= lat_lo) & (lat <= lat_hi))
    # the ownship first, then the candidates (kinematics is element-wise: the same values as
    # over all aircraft)
    rows = np.concatenate([np.array([own], dtype=np.int64), rows[rows != own].astype(np.int64)])
    kin = kinematics(
        states.lat_deg[rows], states.lon_deg[rows], states.gs_kt[rows], states.track_deg[rows]
    )
    dx = kin.x_m[1:] - kin.x_m[0]
    dy = kin.y_m[1:] - kin.y_m[0]
    dz = kin.z_m[1:] - kin.z_m[0]
    dist = np.sqrt(dx * dx + dy * dy + dz * dz)
    cand = rows[1:]
    gs = states.gs_kt[cand]
    closing = own_speed + gs * MPS_PER_KT
    reach_h = closing * (t + tthr) + dthr + 1000.0
    own_vs = max(p.max_vs_fpm, abs(float(states.vs_fpm[own]))) / 60.0
    alt = states.alt_ft[cand]
    near = dist <= reach_h
    if p.kinematic:  # (instantaneous altitude values jump anywhere: no vertical reach)
        reach_v = zthr + (own_vs + np.abs(states.vs_fpm[cand]) / 60.0) * t + 100.0
        near &= np.abs(alt - states.alt_ft[own]) <= reach_v
    found: IntArray = cand[near]  # ascending, like ``rows``
    return found


def band_intruders_reference(profile: Profile, states: States, own: int) -> IntArray:
    """Brute force over all aircraft (kinematics of every one): the slow, obviously correct
    reference of :func:`band_intruders`."""
    n = len(states)
    if n < 2:
        return np.empty(0, dtype=np.int64)
    kin = kinematics(states.lat_deg, states.lon_deg, states.gs_kt, states.track_deg)
    dx = kin.x_m - kin.x_m[own]
    dy = kin.y_m - kin.y_m[own]
    dz = kin.z_m - kin.z_m[own]
    dist = np.sqrt(dx * dx + dy * dy + dz * dz)
    p = profile.bands
    t = profile.lookahead_s
    own_speed = max(p.max_gs_kt, float(states.gs_kt[own])) * MPS_PER_KT
    closing = own_speed + states.gs_kt * MPS_PER_KT
    dthr, tthr, zthr = _reach_thresholds(profile)
    reach_h = closing * (t + tthr) + dthr + 1000.0
    own_vs = max(p.max_vs_fpm, abs(float(states.vs_fpm[own]))) / 60.0
    if not p.kinematic:
        reach_v = np.full(n, np.inf)  # instantaneous altitude values jump anywhere
    else:
        reach_v = zthr + (own_vs + np.abs(states.vs_fpm) / 60.0) * t + 100.0
    near = (dist <= reach_h) & (np.abs(states.alt_ft - states.alt_ft[own]) <= reach_v)
    near[own] = False
    return np.flatnonzero(near).astype(np.int64)


def _reach_thresholds(profile: Profile) -> tuple[float, float, float]:
    """Largest DTHR (m), TTHR (s) and ZTHR (ft) over the profile's alerters and levels."""
    levels = [lv.volume for a in profile.alerters for lv in a.levels]
    return (
        max(v.dthr_m for v in levels),
        max(v.tthr_s for v in levels),
        max(v.zthr_ft for v in levels),
    )


def _surface_z_m(lat_deg: float) -> float:
    """ECEF z of the WGS84 surface point at geodetic latitude ``lat_deg`` (m): the formula of
    :func:`deconflict.tactical._geometry.kinematics`, increasing with latitude."""
    s = math.sin(math.radians(lat_deg))
    return WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * s * s) * (1.0 - WGS84_E2) * s


def _reach_band(lat_deg: float, reach_m: float) -> tuple[float, float]:
    """Latitudes (deg) bounding every surface point within ECEF chord ``reach_m`` of the point
    at ``lat_deg``.

    A chord is at least its z component and z grows with latitude, so such a point lies
    between the latitudes where z = z(own) -/+ reach; both are found by bisection and widened
    (1 m of z and 1e-9 deg, far beyond rounding), so the band never drops an aircraft."""
    z0 = _surface_z_m(lat_deg)
    slack = 1.0 + 1e-9 * abs(reach_m)

    def solve(z: float) -> float:
        lo, hi = -90.0, 90.0
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            if _surface_z_m(mid) < z:
                lo = mid
            else:
                hi = mid
        return lo if z < z0 else hi

    z_lo, z_hi = z0 - reach_m - slack, z0 + reach_m + slack
    lat_lo = -90.0 if z_lo <= _surface_z_m(-90.0) else solve(z_lo) - 1e-9
    lat_hi = 90.0 if z_hi >= _surface_z_m(90.0) else solve(z_hi) + 1e-9
    return lat_lo, lat_hi


# --------------------------------------------------------------------------- flying one value


def fly(
    own: Ownship, dimension: str, value: float, p: BandsParameters, t_s: FloatArray
) -> Trajectory:
    """The ownship's states at times ``t_s`` (s >= 0) when it flies ``value`` of ``dimension``
    (``"hold"`` keeps the current state) the way :func:`compute_bands` assumes: the manoeuvre
    until it reaches the value, then straight. Positions relative to the start (m)."""
    t = np.asarray(t_s, dtype=np.float64)
    if dimension == "hold":
        return _straight(own, t, np.full_like(t, own.ux), np.full_like(t, own.uy))
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    t_m, end = _single_value(own, dimension, value, p)
    before = t < t_m
    path = _manoeuvre_at(own, dimension, value, p, np.where(before, t, 0.0))
    after = np.maximum(t - t_m, 0.0)
    return Trajectory(
        t_s=t,
        px=np.where(before, path.px, end.px[0] + end.ux[0] * after),
        py=np.where(before, path.py, end.py[0] + end.uy[0] * after),
        ux=np.where(before, path.ux, end.ux[0]),
        uy=np.where(before, path.uy, end.uy[0]),
        z_ft=np.where(before, path.z_ft, end.z_ft[0] + end.w_fps[0] * after),
        w_fps=np.where(before, path.w_fps, end.w_fps[0]),
    )


def _single_value(
    own: Ownship, dimension: str, value: float, p: BandsParameters
) -> tuple[float, Trajectory]:
    """Time (s) the value is reached and the state then, for a value on or off the grid."""
    one = np.array([float(value)])
    if dimension == "track_deg":
        psi = math.radians(value)
        v = math.hypot(own.ux, own.uy)
        if not p.kinematic:
            return 0.0, _straight(
                own, np.zeros(1), np.full(1, v * math.sin(psi)), np.full(1, v * math.cos(psi))
            )
        delta = (value - own.track_deg) % 360.0
        sign = 1.0 if delta <= 180.0 else -1.0
        turn = delta if delta <= 180.0 else 360.0 - delta
        rate = math.radians(p.turn_rate_dps)
        t_m = math.radians(turn) / rate
        return t_m, _turn_states(own, sign, rate, np.full(1, t_m))
    if dimension == "gs_kt":
        v0 = math.hypot(own.ux, own.uy)
        ex, ey = (own.ux / v0, own.uy / v0) if v0 > 0 else _heading_unit(own.track_deg)
        target = value * MPS_PER_KT
        if not p.kinematic:
            return 0.0, _straight(
                own, np.zeros(1), np.full(1, ex * target), np.full(1, ey * target)
            )
        a = p.horizontal_accel_mps2 * (1.0 if target >= v0 else -1.0)
        t_m = abs(target - v0) / p.horizontal_accel_mps2
        return t_m, _speed_states(own, a, np.full(1, t_m))
    if dimension == "vs_fpm":
        target = value / 60.0
        if not p.kinematic:
            z = np.zeros(1)
            return 0.0, Trajectory(
                z,
                z,
                z.copy(),
                np.full(1, own.ux),
                np.full(1, own.uy),
                np.full(1, own.z_ft),
                np.full(1, target),
            )
        acc = _vertical_accel_fps2(p) * (1.0 if target >= own.w_fps else -1.0)
        t_m = abs(target - own.w_fps) / _vertical_accel_fps2(p)
        return t_m, _vs_states(own, acc, np.full(1, t_m))
    # altitude
    if not p.kinematic:
        z = np.zeros(1)
        return 0.0, Trajectory(
            z, z, z.copy(), np.full(1, own.ux), np.full(1, own.uy), one.copy(), np.zeros(1)
        )
    sign = 1.0 if value >= own.z_ft else -1.0
    t_m = float(_time_to_altitude(own, sign, p, one)[0])
    tm = np.full(1, t_m if math.isfinite(t_m) else 0.0)
    end = Trajectory(
        tm,
        own.ux * tm,
        own.uy * tm,
        np.full(1, own.ux),
        np.full(1, own.uy),
        one.copy(),
        np.zeros(1),
    )
    return t_m, end


def _manoeuvre_at(
    own: Ownship, dimension: str, value: float, p: BandsParameters, t: FloatArray
) -> Trajectory:
    """States on the manoeuvre path towards ``value`` at times ``t`` (before it is reached)."""
    if not p.kinematic:
        return _straight(own, t, np.full_like(t, own.ux), np.full_like(t, own.uy))
    if dimension == "track_deg":
        delta = (value - own.track_deg) % 360.0
        return _turn_states(own, 1.0 if delta <= 180.0 else -1.0, math.radians(p.turn_rate_dps), t)
    if dimension == "gs_kt":
        v0 = math.hypot(own.ux, own.uy)
        sign = 1.0 if value * MPS_PER_KT >= v0 else -1.0
        return _speed_states(own, sign * p.horizontal_accel_mps2, t)
    if dimension == "vs_fpm":
        sign = 1.0 if value / 60.0 >= own.w_fps else -1.0
        return _vs_states(own, sign * _vertical_accel_fps2(p), t)
    sign = 1.0 if value >= own.z_ft else -1.0
    z, w = _climb_profile(own, sign, p, t)
    return Trajectory(
        t, own.ux * t, own.uy * t, np.full_like(t, own.ux), np.full_like(t, own.uy), z, w
    )
