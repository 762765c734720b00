"""Flight paths for the demo simulator: polylines with rounded turns, timed or looped.

Geometry lives in one azimuthal-equidistant plane (NM east/north of the scenario centre) so that
distances along a path are true to better than 0.1 % across the region. Turns are flown as
circular arcs (``turn_radius_nm``) tangent to both legs, so the track changes smoothly, not in
jumps. A path is a function of time: :class:`TimedPath` is flown once (a sortie, a flight from A
to B: speed and altitude follow the distance flown), :class:`LoopPath` forever (an orbit).
Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pyproj import Transformer

from deconflict.units import M_PER_NM, FloatArray

ARC_STEP_DEG = 5.0
"""Angular step used to draw turn arcs, degrees."""


class Plane:
    """The scenario's local plane: AEQD centred at ``(lon0, lat0)``, units NM."""

    def __init__(self, lon0: float, lat0: float) -> None:
        proj = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m"
        self._fwd = Transformer.from_proj("EPSG:4326", proj, always_xy=True)
        self._inv = Transformer.from_proj(proj, "EPSG:4326", always_xy=True)

    def to_xy(self, lon_deg: FloatArray, lat_deg: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(lon, lat) degrees -> (x, y) NM."""
        x, y = self._fwd.transform(np.asarray(lon_deg), np.asarray(lat_deg))
        return np.asarray(x) / M_PER_NM, np.asarray(y) / M_PER_NM

    def to_lonlat(self, x_nm: FloatArray, y_nm: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(x, y) NM -> (lon, lat) degrees."""
        lon, lat = self._inv.transform(np.asarray(x_nm) * M_PER_NM, np.asarray(y_nm) * M_PER_NM)
        return np.asarray(lon), np.asarray(lat)


def turn_radius_nm(gs_kt: float, bank_deg: float) -> float:
    """Radius of a level coordinated turn, NM: ``v**2 / (g tan(bank))``."""
    v_mps = gs_kt * M_PER_NM / 3600.0
    return float(v_mps**2 / (9.80665 * np.tan(np.radians(bank_deg))) / M_PER_NM)


@dataclass(frozen=True)
class Polyline:
    """Dense points of a path in the plane, with cumulative distance ``s_nm``.

    ``marks`` maps each input waypoint to the distance at which the path is *nearest* to it
    (for a rounded corner: the middle of the arc).
    """

    x_nm: FloatArray
    y_nm: FloatArray
    s_nm: FloatArray
    marks: FloatArray

    @property
    def length_nm(self) -> float:
        """Total length, NM."""
        return float(self.s_nm[-1])

    def at(self, s_nm: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Points at distances ``s_nm`` along the path."""
        return np.interp(s_nm, self.s_nm, self.x_nm), np.interp(s_nm, self.s_nm, self.y_nm)


def rounded(points: Sequence[tuple[float, float]], radius_nm: float, *, closed: bool) -> Polyline:
    """A polyline through ``points`` (plane NM) with every corner replaced by a tangent arc.

    The arc radius shrinks where legs are too short for ``radius_nm``.
    """
    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    out: list[tuple[float, float]] = []
    mark_index: list[int] = []
    corners = range(n) if closed else range(1, n - 1)
    if not closed:
        out.append((pts[0, 0], pts[0, 1]))
        mark_index.append(0)
    for k in corners:
        prev, here, nxt = pts[(k - 1) % n], pts[k], pts[(k + 1) % n]
        u1 = here - prev
        u2 = nxt - here
        l1, l2 = float(np.hypot(*u1)), float(np.hypot(*u2))
        if l1 < 1e-9 or l2 < 1e-9:
            out.append((here[0], here[1]))
            mark_index.append(len(out) - 1)
            continue
        u1, u2 = u1 / l1, u2 / l2
        cos_turn = float(np.clip(np.dot(u1, u2), -1.0, 1.0))
        turn = float(np.arccos(cos_turn))
        if turn < np.radians(1.0):
            out.append((here[0], here[1]))
            mark_index.append(len(out) - 1)
            continue
        tan_half = np.tan(turn / 2.0) if turn < np.pi - 1e-6 else 1e6
        r = min(radius_nm, 0.49 * min(l1, l2) / tan_half)
        d = r * tan_half
        a = here - u1 * d
        left = u1[0] * u2[1] - u1[1] * u2[0] > 0
        normal = np.array([-u1[1], u1[0]]) if left else np.array([u1[1], -u1[0]])
        centre = a + normal * r
        start_angle = np.arctan2(a[1] - centre[1], a[0] - centre[0])
        steps = max(2, int(np.degrees(turn) / ARC_STEP_DEG) + 1)
        sign = 1.0 if left else -1.0
        angles = start_angle + sign * np.linspace(0.0, turn, steps)
        first = len(out)
        for ang in angles:
            out.append((centre[0] + r * np.cos(ang), centre[1] + r * np.sin(ang)))
        mark_index.append(first + steps // 2)
    if closed:
        out.append(out[0])
    else:
        out.append((pts[-1, 0], pts[-1, 1]))
        mark_index.append(len(out) - 1)
    arr = np.asarray(out)
    seg = np.hypot(np.diff(arr[:, 0]), np.diff(arr[:, 1]))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    return Polyline(arr[:, 0], arr[:, 1], s, s[np.asarray(mark_index)])


@dataclass(frozen=True)
class Kinematics:
    """Positions and altitudes of one path at several times."""

    x_nm: FloatArray
    y_nm: FloatArray
    alt_ft: FloatArray


class TimedPath:
    """A path flown once: distance, time and altitude tabulated along the way.

    Parameters
    ----------
    line:
        The rounded polyline.
    s_nm, alt_ft, gs_kt:
        Profile samples along the path (increasing ``s_nm`` from 0 to the length): altitude and
        ground speed at each. Time follows from ``dt = ds / gs``.
    t0_s:
        Scenario time at ``s = 0``.
    """

    def __init__(
        self,
        line: Polyline,
        s_nm: FloatArray,
        alt_ft: FloatArray,
        gs_kt: FloatArray,
        t0_s: float,
    ) -> None:
        self.line = line
        self.s_nm = np.asarray(s_nm, dtype=np.float64)
        self.alt_ft = np.asarray(alt_ft, dtype=np.float64)
        speed = np.asarray(gs_kt, dtype=np.float64)
        mean_speed = (speed[1:] + speed[:-1]) / 2.0
        dt = np.diff(self.s_nm) / mean_speed * 3600.0
        self.t_s = t0_s + np.concatenate([[0.0], np.cumsum(dt)])

    @property
    def start_s(self) -> float:
        """Scenario time of departure, s."""
        return float(self.t_s[0])

    @property
    def end_s(self) -> float:
        """Scenario time of arrival, s."""
        return float(self.t_s[-1])

    def time_at_distance(self, s_nm: float) -> float:
        """Scenario time at which the path reaches distance ``s_nm``."""
        return float(np.interp(s_nm, self.s_nm, self.t_s))

    def shifted(self, dt_s: float) -> TimedPath:
        """The same path flown ``dt_s`` seconds later."""
        out = TimedPath.__new__(TimedPath)
        out.line, out.s_nm, out.alt_ft = self.line, self.s_nm, self.alt_ft
        out.t_s = self.t_s + dt_s
        return out

    def at(self, t_s: FloatArray) -> Kinematics:
        """Position and altitude at scenario times ``t_s`` (clamped to the path's ends)."""
        s = np.interp(t_s, self.t_s, self.s_nm)
        x, y = self.line.at(s)
        return Kinematics(x, y, np.interp(t_s, self.t_s, self.alt_ft))


class LoopPath:
    """A closed path flown forever at constant speed and altitude (orbit, racetrack, circle)."""

    def __init__(self, line: Polyline, gs_kt: float, alt_ft: float, phase: float) -> None:
        self.line = line
        self.gs_kt = gs_kt
        self.alt = alt_ft
        self.phase_nm = phase * line.length_nm

    def at(self, t_s: FloatArray) -> Kinematics:
        """Position and altitude at scenario times ``t_s``."""
        s = (np.asarray(t_s) * self.gs_kt / 3600.0 + self.phase_nm) % self.line.length_nm
        x, y = self.line.at(s)
        return Kinematics(x, y, np.full(np.shape(t_s), self.alt))


def racetrack(start: tuple[float, float], end: tuple[float, float], radius_nm: float) -> Polyline:
    """A racetrack (plane NM) around the axis ``start``-``end``, turns of ``radius_nm``."""
    a, b = np.asarray(start), np.asarray(end)
    axis = b - a
    length = float(np.hypot(*axis))
    u = axis / length if length > 1e-9 else np.array([1.0, 0.0])
    normal = np.array([-u[1], u[0]])
    base = np.arctan2(normal[1], normal[0])
    pts: list[tuple[float, float]] = []
    for centre, offset in ((b, base - np.pi), (a, base)):
        for ang in offset + np.linspace(0.0, np.pi, 37):
            pts.append((centre[0] + radius_nm * np.cos(ang), centre[1] + radius_nm * np.sin(ang)))
    pts.append(pts[0])
    arr = np.asarray(pts)
    seg = np.hypot(np.diff(arr[:, 0]), np.diff(arr[:, 1]))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    return Polyline(arr[:, 0], arr[:, 1], s, np.array([0.0]))
