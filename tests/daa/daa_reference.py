"""Slow, obviously-correct references for the DAA tests (not part of the package).

* Geometry in a flat east-north frame (metres, seconds, feet): scenarios are built there and
  placed on the WGS84 ellipsoid near the equator with ``pyproj.Geod`` (no ECEF, no projection).
* Well-clear violation restated from the DO-365B / DAIDALUS definitions, evaluated pointwise.
* Flights simulated by small explicit time steps (no closed forms), including turns at a rate,
  accelerations and climbs at 500 fpm with a ramp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyproj import Geod

from deconflict.daa import States

GEOD = Geod(ellps="WGS84")
KT = 1852.0 / 3600.0
FT = 0.3048
G = 9.80665


@dataclass(frozen=True)
class Flat:
    """An aircraft in the flat frame: x east, y north (m), alt (ft), gs (kt), track, vs (fpm)."""

    x: float
    y: float
    alt: float
    gs: float
    trk: float
    vs: float = 0.0

    @property
    def vx(self) -> float:
        return self.gs * KT * math.sin(math.radians(self.trk))

    @property
    def vy(self) -> float:
        return self.gs * KT * math.cos(math.radians(self.trk))


def to_states(aircraft: list[Flat], alerters: list[int] | None = None) -> States:
    """Place flat-frame aircraft on the ellipsoid around (0, 0) with pyproj geodesics."""
    lats, lons = [], []
    for a in aircraft:
        dist = math.hypot(a.x, a.y)
        az = math.degrees(math.atan2(a.x, a.y))
        lon, lat, _ = GEOD.fwd(0.0, 0.0, az, dist)
        lats.append(lat)
        lons.append(lon)
    return States.from_arrays(
        lats,
        lons,
        [a.alt for a in aircraft],
        [a.gs for a in aircraft],
        [a.trk for a in aircraft],
        [a.vs for a in aircraft],
        alerters,
    )


def violated(
    sx: np.ndarray,
    sy: np.ndarray,
    vx: np.ndarray,
    vy: np.ndarray,
    sz: np.ndarray,
    vz: np.ndarray,
    d: float,
    z: float,
    tthr: float,
    tcoa: float = 0.0,
) -> np.ndarray:
    """Pointwise DO-365B well-clear violation (inclusive boundaries), all in m, m/s, ft, ft/s."""
    r2 = sx * sx + sy * sy
    sdotv = sx * vx + sy * vy
    v2 = vx * vx + vy * vy
    with np.errstate(divide="ignore", invalid="ignore"):
        dcpa2 = np.where(v2 > 0, r2 - sdotv * sdotv / np.where(v2 > 0, v2, 1), r2)
        tau = np.where(sdotv < 0, (d * d - r2) / np.where(sdotv < 0, sdotv, -1), -1.0)
        tc = np.where((vz != 0) & (sz * vz <= 0), -sz / np.where(vz != 0, vz, 1), np.inf)
    horizontal = (r2 <= d * d) | ((dcpa2 <= d * d) & (tau >= 0) & (tau <= tthr))
    vertical = (np.abs(sz) <= z) | (tc <= tcoa)
    return horizontal & vertical


def straight_first_violation(
    own: Flat, intruder: Flat, d: float, z: float, tthr: float, horizon: float, dt: float = 0.01
) -> tuple[float, float]:
    """First and last sampled time of violation along straight lines (nan, nan when none)."""
    t = np.arange(0.0, horizon + dt / 2, dt)
    sx = intruder.x - own.x + (intruder.vx - own.vx) * t
    sy = intruder.y - own.y + (intruder.vy - own.vy) * t
    sz = intruder.alt - own.alt + (intruder.vs - own.vs) / 60.0 * t
    vx = np.full_like(t, intruder.vx - own.vx)
    vy = np.full_like(t, intruder.vy - own.vy)
    vz = np.full_like(t, (intruder.vs - own.vs) / 60.0)
    bad = violated(sx, sy, vx, vy, sz, vz, d, z, tthr)
    if not bad.any():
        return math.nan, math.nan
    idx = np.flatnonzero(bad)
    return float(t[idx[0]]), float(t[idx[-1]])


@dataclass(frozen=True)
class Track:
    """Sampled flight: times (s), positions (m), velocities (m/s), altitude (ft), rate (ft/s)."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    z: np.ndarray
    w: np.ndarray


def simulate(
    a: Flat,
    dimension: str,
    value: float,
    horizon: float,
    dt: float = 0.02,
    *,
    kinematic: bool = True,
    turn_rate: float = 3.0,
    accel: float = 2.0,
    vaccel_g: float = 0.25,
    climb_fpm: float = 500.0,
) -> Track:
    """Fly ``a`` towards ``value`` of ``dimension`` by explicit small steps; 'hold' flies on."""
    n = round(horizon / dt) + 1
    t = np.arange(n) * dt
    x = np.empty(n)
    y = np.empty(n)
    vxs = np.empty(n)
    vys = np.empty(n)
    z = np.empty(n)
    w = np.empty(n)
    heading = a.trk
    speed = a.gs * KT
    alt = a.alt
    rate = a.vs / 60.0
    px, py = a.x, a.y
    if not kinematic or dimension == "hold":
        if dimension == "track_deg":
            heading = value
        elif dimension == "gs_kt":
            speed = value * KT
        elif dimension == "vs_fpm":
            rate = value / 60.0
        elif dimension == "alt_ft":
            alt, rate = value, 0.0
        vx = speed * math.sin(math.radians(heading))
        vy = speed * math.cos(math.radians(heading))
        return Track(
            t,
            px + vx * t,
            py + vy * t,
            np.full(n, vx),
            np.full(n, vy),
            alt + rate * t,
            np.full(n, rate),
        )
    va = vaccel_g * G / FT  # ft/s^2
    levelled = False
    for k in range(n):
        x[k], y[k] = px, py
        vxs[k] = speed * math.sin(math.radians(heading))
        vys[k] = speed * math.cos(math.radians(heading))
        z[k], w[k] = alt, rate
        # advance one step: controls first (explicit), then integrate with the mean velocity
        h0, s0, r0 = heading, speed, rate
        if kinematic and dimension == "track_deg":
            diff = (value - heading) % 360.0
            step = turn_rate * dt
            if diff <= 180.0:
                heading += min(step, diff)
            else:
                heading -= min(step, 360.0 - diff)
        elif kinematic and dimension == "gs_kt":
            target = value * KT
            speed += max(-accel * dt, min(accel * dt, target - speed))
        elif kinematic and dimension == "vs_fpm":
            target = value / 60.0
            rate += max(-va * dt, min(va * dt, target - rate))
        elif kinematic and dimension == "alt_ft" and not levelled:
            target = math.copysign(climb_fpm / 60.0, value - a.alt)
            rate += max(-va * dt, min(va * dt, target - rate))
        hm = math.radians(0.5 * (h0 + heading))
        sm = 0.5 * (s0 + speed)
        px += sm * math.sin(hm) * dt
        py += sm * math.cos(hm) * dt
        new_alt = alt + 0.5 * (r0 + rate) * dt
        reached = (value - alt) * (value - new_alt) <= 0.0 or value == a.alt
        if kinematic and dimension == "alt_ft" and not levelled and reached:
            new_alt, rate, levelled = value, 0.0, True
        alt = new_alt
    return Track(t, x, y, vxs, vys, z, w)


def pair_violations(a: Track, b: Track, d: float, zthr: float, tthr: float) -> np.ndarray:
    """Pointwise violation between two sampled flights (b relative to a)."""
    return violated(
        b.x - a.x, b.y - a.y, b.vx - a.vx, b.vy - a.vy, b.z - a.z, b.w - a.w, d, zthr, tthr
    )


class HysteresisRef:
    """Line-by-line port of DAIDALUS ``HysteresisData`` + ``MofN`` (Java, Apache-2.0)."""

    def __init__(self, hysteresis: float, persistence: float, m: int, n: int) -> None:
        self.h, self.p, self.m, self.n = hysteresis, persistence, m, n
        self.queue: list[int] = []
        self.max = -1
        self.init = math.nan
        self.last_time = math.nan
        self.last_value = -1

    def _reset(self, val: int) -> None:
        self.queue = [val if i < self.m else -1 for i in range(self.n)]
        self.max = val
        self.init = math.nan
        self.last_time = math.nan
        self.last_value = -1

    def _m_of_n(self, value: int) -> int:
        if value > self.max:
            self.max = value
        self.queue.pop(0)
        self.queue.append(value)
        if self.max < 0:
            return self.max
        count = [0] * (self.max + 1)
        for val in self.queue:
            for i in range(val, -1, -1):
                count[i] += 1
        for i in range(self.max, -1, -1):
            if count[i] >= self.m:
                return i
        return -1

    def apply(self, value: int, now: float) -> int:
        if math.isnan(self.last_time) or now <= self.last_time or now - self.last_time > self.h:
            self._reset(value)
        v = self._m_of_n(value)
        if (
            not math.isnan(self.init)
            and self.last_value > 0
            and v < self.last_value
            and now >= self.init
            and now - self.init < self.p
        ):
            pass
        else:
            if v > 0 and v > self.last_value:
                self.init = now
            self.last_value = max(0, v)
        self.last_time = now
        return self.last_value
