"""Earth-centred geometry of the tactical detector: WGS84 ECEF positions and velocities.

Every aircraft is placed on the WGS84 ellipsoid surface (height 0: altitude is handled
separately, in feet, so that pressure altitudes compare exactly) and its ground velocity, given
as ground speed and true track in its own local east-north frame, is rotated into ECEF. Pairs are
then compared in the tangent plane at their midpoint (see ``_narrow``), which works the same at
the poles and across the antimeridian because no longitude difference is ever taken.

At a pole the local east-north frame is defined by the given longitude (north is the direction
of the meridian ``lon``), the convention of ``pyproj.Geod``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deconflict.units import MPS_PER_KT, WGS84_A_M, WGS84_E2, FloatArray


@dataclass(frozen=True, slots=True)
class Kinematics:
    """Per-aircraft ECEF state, struct of arrays (all shape ``(n,)``).

    Attributes
    ----------
    x_m, y_m, z_m:
        ECEF position of the point on the ellipsoid surface below the aircraft, metres.
    vx_mps, vy_mps, vz_mps:
        ECEF ground velocity (tangent to the ellipsoid at the aircraft), metres per second.
    """

    x_m: FloatArray
    y_m: FloatArray
    z_m: FloatArray
    vx_mps: FloatArray
    vy_mps: FloatArray
    vz_mps: FloatArray


def east_north(
    lat_deg: FloatArray, lon_deg: FloatArray
) -> tuple[tuple[FloatArray, FloatArray, FloatArray], tuple[FloatArray, FloatArray, FloatArray]]:
    """Unit east and north vectors (ECEF components) of the local frame at each point."""
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    sin_lat = np.sin(lat)
    cos_lat = np.cos(lat)
    sin_lon = np.sin(lon)
    cos_lon = np.cos(lon)
    east = (-sin_lon, cos_lon, np.zeros_like(lon))
    north = (-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat)
    return east, north


def kinematics(
    lat_deg: FloatArray, lon_deg: FloatArray, gs_kt: FloatArray, track_deg: FloatArray
) -> Kinematics:
    """ECEF surface positions and ground velocities of every aircraft."""
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    sin_lat = np.sin(lat)
    cos_lat = np.cos(lat)
    sin_lon = np.sin(lon)
    cos_lon = np.cos(lon)
    prime_vertical_m = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    r_xy = prime_vertical_m * cos_lat
    track = np.radians(track_deg)
    speed_mps = gs_kt * MPS_PER_KT
    v_east = speed_mps * np.sin(track)
    v_north = speed_mps * np.cos(track)
    # east = (-sin_lon, cos_lon, 0); north = (-sin_lat cos_lon, -sin_lat sin_lon, cos_lat)
    v_up_north = v_north * sin_lat
    return Kinematics(
        x_m=r_xy * cos_lon,
        y_m=r_xy * sin_lon,
        z_m=prime_vertical_m * (1.0 - WGS84_E2) * sin_lat,
        vx_mps=-v_east * sin_lon - v_up_north * cos_lon,
        vy_mps=v_east * cos_lon - v_up_north * sin_lon,
        vz_mps=v_north * cos_lat,
    )


def bearing_deg(
    lat_from_deg: FloatArray,
    lon_from_deg: FloatArray,
    dx_m: FloatArray,
    dy_m: FloatArray,
    dz_m: FloatArray,
) -> FloatArray:
    """True bearing (degrees in [0, 360)) of the ECEF chord ``d`` seen from the point ``from``.

    The chord is projected on the local east-north plane of the origin. Co-located points
    (a zero chord) get bearing 0.
    """
    (ex, ey, ez), (nx, ny, nz) = east_north(lat_from_deg, lon_from_deg)
    east = dx_m * ex + dy_m * ey + dz_m * ez
    north = dx_m * nx + dy_m * ny + dz_m * nz
    out = np.degrees(np.arctan2(east, north)) % 360.0
    # tiny negatives round to exactly 360.0; a zero chord (atan2 of signed zeros) has bearing 0
    return np.where((out >= 360.0) | ((east == 0.0) & (north == 0.0)), 0.0, out)
