"""Exact geodesic constructions with pyproj.Geod, shared by the geo and strategic tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from deconflict.geo.ellipsoid import GEOD
from deconflict.strategic import (
    AltitudeBand,
    AltitudeReference,
    Buffers,
    CircleFootprint,
    CorridorFootprint,
    Footprint,
    OrbitFootprint,
    PolygonFootprint,
    Volume4D,
)

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """T0 plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)


def vol(
    footprint: Footprint,
    lower: float = 0.0,
    upper: float = 10_000.0,
    start_min: float = 0.0,
    end_min: float = 60.0,
    *,
    reference: AltitudeReference = AltitudeReference.FT_AMSL,
    buffers: Buffers | None = None,
    vid: str = "",
) -> Volume4D:
    """A volume with a band in ``reference`` and a window in minutes after T0."""
    return Volume4D(
        footprint,
        AltitudeBand(lower, upper, reference),
        at(start_min),
        at(end_min),
        buffers or Buffers(),
        vid,
    )


def circle(lon: float, lat: float, radius_m: float) -> CircleFootprint:
    """Geodesic circle."""
    return CircleFootprint((lon, lat), radius_m)


def square(lon: float, lat: float, half_m: float, rotation_deg: float = 0.0) -> PolygonFootprint:
    """A 4-vertex polygon with vertices ``half_m * sqrt(2)`` from the centre (geodesic)."""
    ring = []
    for k in range(4):
        az = rotation_deg + 45.0 + 90.0 * k
        plon, plat, _ = GEOD.fwd(lon, lat, az, half_m * 2**0.5)
        ring.append((float(plon), float(plat)))
    return PolygonFootprint(((tuple(ring),),))


def corridor(points: list[tuple[float, float]], half_width_m: float) -> CorridorFootprint:
    """Corridor footprint."""
    return CorridorFootprint(tuple(points), half_width_m)


def orbit(a: tuple[float, float], b: tuple[float, float], radius_m: float) -> OrbitFootprint:
    """Racetrack footprint."""
    return OrbitFootprint(a, b, radius_m)


def offset(lon: float, lat: float, az_deg: float, dist_m: float) -> tuple[float, float]:
    """The point ``dist_m`` from (lon, lat) along azimuth ``az_deg`` (geodesic)."""
    plon, plat, _ = GEOD.fwd(lon, lat, az_deg, dist_m)
    return float(plon), float(plat)
