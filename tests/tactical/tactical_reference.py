"""Slow, obviously-correct reference detector for the tests (not part of the package).

All pairs in a Python loop. Geometry: an azimuthal equidistant projection centred at the
geodesic midpoint of each pair, built from ``pyproj.Geod`` (WGS84) alone: a point is placed at
``(s sin az, s cos az)`` where ``(az, s)`` is the geodesic from the midpoint to it; a velocity is
the central difference of the projected positions one second before and after along the
aircraft's own geodesic with its track. Then the closest approach and the loss-of-separation
interval are solved analytically in plain floats, and the vertical interval in feet.

Independence from the fast kernel: no ECEF, no tangent-plane projection, no numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyproj import Geod

GEOD = Geod(ellps="WGS84")
M_PER_NM = 1852.0
KT_TO_MPS = 1852.0 / 3600.0
STEP_S = 1.0


@dataclass(frozen=True)
class State:
    lat: float
    lon: float
    alt_ft: float
    gs_kt: float
    track_deg: float
    vs_fpm: float


@dataclass(frozen=True)
class RefConflict:
    i: int
    j: int
    t_in_s: float
    t_out_s: float
    t_cpa_s: float
    hmd_nm: float
    vmd_ft: float
    range_nm: float
    vertical_ft: float
    bearing_deg: float
    rel_speed_mps: float
    radial_rate_in_mps: float
    radial_rate_out_mps: float


def _wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def flight_level_state(s: State) -> State:
    """The flight-level mode rule, restated: level below 200 fpm, snap within 200 ft of 500 ft."""
    if abs(s.vs_fpm) >= 200.0:
        return s
    nearest = 500.0 * math.floor(s.alt_ft / 500.0 + 0.5)
    alt = nearest if abs(s.alt_ft - nearest) <= 200.0 else s.alt_ft
    return State(s.lat, s.lon, alt, s.gs_kt, s.track_deg, 0.0)


def _pair_plane(a: State, b: State) -> tuple[tuple[float, float, float, float], ...]:
    az_ab, _, dist = GEOD.inv(a.lon, a.lat, b.lon, b.lat)
    mlon, mlat, _ = GEOD.fwd(a.lon, a.lat, az_ab, dist / 2.0)

    def project(lon: float, lat: float) -> tuple[float, float]:
        az, _, s = GEOD.inv(mlon, mlat, lon, lat)
        if s == 0.0:
            return 0.0, 0.0
        return s * math.sin(math.radians(az)), s * math.cos(math.radians(az))

    out = []
    for s in (a, b):
        x, y = project(s.lon, s.lat)
        step = s.gs_kt * KT_TO_MPS * STEP_S
        if step == 0.0:
            out.append((x, y, 0.0, 0.0))
            continue
        lon_f, lat_f, _ = GEOD.fwd(s.lon, s.lat, s.track_deg, step)
        lon_b, lat_b, _ = GEOD.fwd(s.lon, s.lat, s.track_deg, -step)
        xf, yf = project(_wrap(lon_f), lat_f)
        xb, yb = project(_wrap(lon_b), lat_b)
        out.append((x, y, (xf - xb) / (2 * STEP_S), (yf - yb) / (2 * STEP_S)))
    return tuple(out)


def reference_pair(
    a: State, b: State, *, horizontal_nm: float, vertical_ft: float, lookahead_s: float
) -> RefConflict | None:
    """The conflict between ``a`` (index 0) and ``b`` (index 1), or None."""
    (xa, ya, vxa, vya), (xb, yb, vxb, vyb) = _pair_plane(a, b)
    dx, dy = xb - xa, yb - ya
    wx, wy = vxb - vxa, vyb - vya
    radius = horizontal_nm * M_PER_NM
    ww = wx * wx + wy * wy
    dw = dx * wx + dy * wy
    dd = dx * dx + dy * dy
    inf = math.inf
    # horizontal: |d + w t|^2 < R^2
    if ww <= 1e-12:
        h_lo, h_hi = (-inf, inf) if dd < radius * radius else (inf, -inf)
    else:
        disc = dw * dw - ww * (dd - radius * radius)
        if disc <= 0.0:
            h_lo, h_hi = inf, -inf
        else:
            h_lo = (-dw - math.sqrt(disc)) / ww
            h_hi = (-dw + math.sqrt(disc)) / ww
    # vertical: |dz + dvs t / 60| < V
    dz = b.alt_ft - a.alt_ft
    dvs = b.vs_fpm - a.vs_fpm
    if dvs == 0.0:
        v_lo, v_hi = (-inf, inf) if abs(dz) < vertical_ft else (inf, -inf)
    else:
        t1 = (-vertical_ft - dz) * 60.0 / dvs
        t2 = (vertical_ft - dz) * 60.0 / dvs
        v_lo, v_hi = min(t1, t2), max(t1, t2)
    lo, hi = max(h_lo, v_lo), min(h_hi, v_hi)
    if not (lo < hi and lo < lookahead_s and hi > 0.0):
        return None
    t_cpa = -dw / ww if (ww > 1e-12 and dw < 0.0) else 0.0
    tc = min(t_cpa, lookahead_s)
    hmd = math.hypot(dx + wx * tc, dy + wy * tc)
    vz = [dz + dvs * t / 60.0 for t in (0.0, lookahead_s)]
    vmd = 0.0 if vz[0] * vz[1] <= 0.0 else min(abs(vz[0]), abs(vz[1]))
    az_ab, _, dist = GEOD.inv(a.lon, a.lat, b.lon, b.lat)
    t_in, t_out = max(lo, 0.0), min(hi, lookahead_s)

    def radial(t: float) -> float:
        px, py = dx + wx * t, dy + wy * t
        r = math.hypot(px, py)
        return (px * wx + py * wy) / r if r > 0 else math.sqrt(ww)

    return RefConflict(
        i=0,
        j=1,
        t_in_s=t_in,
        t_out_s=t_out,
        t_cpa_s=t_cpa,
        hmd_nm=hmd / M_PER_NM,
        vmd_ft=vmd,
        range_nm=dist / M_PER_NM,
        vertical_ft=abs(dz),
        bearing_deg=0.0 if dist == 0.0 else az_ab % 360.0,
        rel_speed_mps=math.sqrt(ww),
        radial_rate_in_mps=radial(t_in),
        radial_rate_out_mps=radial(t_out),
    )


def reference_detect(
    states: list[State],
    *,
    horizontal_nm: float = 5.0,
    vertical_ft: float = 1000.0,
    lookahead_s: float = 300.0,
    flight_level: bool = False,
) -> dict[tuple[int, int], RefConflict]:
    """All conflicting pairs ``(i, j)``, ``i < j``, by brute force."""
    used = [flight_level_state(s) for s in states] if flight_level else states
    found: dict[tuple[int, int], RefConflict] = {}
    for i in range(len(used)):
        for j in range(i + 1, len(used)):
            c = reference_pair(
                used[i],
                used[j],
                horizontal_nm=horizontal_nm,
                vertical_ft=vertical_ft,
                lookahead_s=lookahead_s,
            )
            if c is not None:
                found[(i, j)] = RefConflict(i, j, *list(c.__dict__.values())[2:])
    return found
