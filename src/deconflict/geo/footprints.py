"""Horizontal footprints of 4D volumes: polygon, circle, corridor, orbit (racetrack).

Each footprint is immutable, validated on construction, and exposes its exact geometry as a
:class:`~deconflict.geo.core.Core` plus a width (see :mod:`deconflict.geo.core`): a circle is a
true geodesic circle (all points within ``radius_m`` of the centre), a corridor a true geodesic
buffer of its centreline, an orbit the buffer of the geodesic segment between its two turn
points. Polygon edges are geodesics. Coordinates are ``(lon, lat)`` in degrees WGS84; longitudes
may be written beyond +-180 (``179 -> 181``) or across the antimeridian (``179 -> -179``): both
describe the same short geodesic edge.

JSON (wire and storage) forms, distances in NM on the wire::

    {"type": "polygon", "coordinates": [[[lon, lat], ...], <holes>...]}      # rings closed
    {"type": "multipolygon", "coordinates": [<polygon coordinates>, ...]}
    {"type": "circle", "center": [lon, lat], "radius_nm": 5}                # or "radius_m"
    {"type": "corridor", "centerline": [[lon, lat], ...], "half_width_nm": 2}
    {"type": "orbit", "start": [lon, lat], "end": [lon, lat], "radius_nm": 10}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

import numpy as np
import shapely

from deconflict.errors import InvalidInputError
from deconflict.geo.core import Core
from deconflict.geo.ellipsoid import CentralPlane
from deconflict.units import m_to_nm, nm_to_m

LonLat = tuple[float, float]
Ring = tuple[LonLat, ...]

MAX_CORE_RADIUS_DEG: Final = 30.0
"""Largest angular radius (deg, ~3,300 km) of a footprint core; beyond, a planar pair
projection would degrade, so such footprints are rejected (split them)."""

MAX_WIDTH_M: Final = 1_000_000.0
"""Largest radius / half-width (m, 540 NM)."""

MAX_VERTICES: Final = 20_000
"""Most vertices in one polygon/multipolygon footprint (all rings together; the largest
EUROCONTROL FIR has ~9,700). Validation is O(n log n), so this bounds work per volume."""

MAX_CENTERLINE_POINTS: Final = 5_000
"""Most points on one corridor centreline."""


def _point(value: Any, field: str) -> LonLat:
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or len(value) not in (2, 3)
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in value)
    ):
        raise InvalidInputError(field=field, reason="must be a [lon, lat] pair of numbers")
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidInputError(field=field, reason="coordinates must be finite")
    if not -90.0 <= lat <= 90.0:
        raise InvalidInputError(field=field, reason=f"latitude {lat} is outside -90..90 deg")
    if not -540.0 <= lon <= 540.0:
        raise InvalidInputError(field=field, reason=f"longitude {lon} is outside -540..540 deg")
    return (lon, lat)


def _same(a: LonLat, b: LonLat) -> bool:
    """Same position (longitudes compared modulo 360; any longitude at a pole)."""
    if a[1] != b[1]:
        return False
    return abs(a[1]) == 90.0 or (a[0] - b[0]) % 360.0 == 0.0


def _distinct(points: Sequence[LonLat]) -> int:
    """Number of distinct positions in ``points`` (as :func:`_same`): O(n) with a hash set.

    Positions are keyed by latitude and longitude modulo 360 (``-0.0`` folded into ``0.0``);
    every longitude at a pole is one position.
    """
    seen: set[LonLat] = set()
    for lon, lat in points:
        seen.add((0.0, lat) if abs(lat) == 90.0 else ((lon % 360.0) + 0.0, lat + 0.0))
    return len(seen)


def _check_width(value: float, field: str) -> None:
    if not math.isfinite(value) or value <= 0.0:
        raise InvalidInputError(field=field, reason=f"must be > 0, got {value}")
    if value > MAX_WIDTH_M:
        raise InvalidInputError(field=field, reason=f"must be <= {m_to_nm(MAX_WIDTH_M):.0f} NM")


def _check_core_size(core: Core, field: str) -> None:
    if math.degrees(core.radius_rad) > MAX_CORE_RADIUS_DEG:
        raise InvalidInputError(
            field=field, reason=f"footprint spans more than {MAX_CORE_RADIUS_DEG} deg; split it"
        )


def _width_from_json(obj: Mapping[str, Any], base: str, where: str) -> float:
    nm_key, m_key = f"{base}_nm", f"{base}_m"
    if (nm_key in obj) == (m_key in obj):
        raise InvalidInputError(
            field=f"{where}.{nm_key}", reason=f"give exactly one of {nm_key}, {m_key}"
        )
    key = nm_key if nm_key in obj else m_key
    value = obj[key]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidInputError(field=f"{where}.{key}", reason="must be a number")
    metres = nm_to_m(float(value)) if key == nm_key else float(value)
    _check_width(metres, f"{where}.{key}")
    return metres


def _ring_from_json(value: Any, field: str) -> Ring:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidInputError(field=field, reason="a ring must be a list of [lon, lat]")
    pts = [_point(p, f"{field}[{k}]") for k, p in enumerate(value)]
    if len(pts) < 2 or not _same(pts[0], pts[-1]):
        raise InvalidInputError(field=field, reason="ring is not closed (first != last vertex)")
    return tuple(pts[:-1])


@dataclass(frozen=True)
class PolygonFootprint:
    """One or more polygons with geodesic edges; each is an exterior ring plus optional holes.

    Parameters
    ----------
    polygons:
        ``((exterior, hole, ...), ...)``; each ring is a tuple of ``(lon, lat)`` (deg) *without*
        the closing vertex. At least 3 distinct vertices per ring, no self-intersection.
    """

    polygons: tuple[tuple[Ring, ...], ...]

    def __post_init__(self) -> None:
        if not self.polygons:
            raise InvalidInputError(field="footprint.coordinates", reason="no polygon given")
        total = sum(len(r) for rings in self.polygons for r in rings)
        if total > MAX_VERTICES:
            raise InvalidInputError(
                field="footprint.coordinates",
                reason=f"{total} vertices; at most {MAX_VERTICES} per footprint (split it)",
            )
        for i, rings in enumerate(self.polygons):
            if not rings:
                raise InvalidInputError(field=f"footprint.coordinates[{i}]", reason="no ring")
            for j, ring in enumerate(rings):
                field = f"footprint.coordinates[{i}][{j}]"
                for k, p in enumerate(ring):
                    _point(p, f"{field}[{k}]")
                if _distinct(ring) < 3:
                    raise InvalidInputError(field=field, reason="fewer than 3 distinct vertices")
        raw = self.raw_core
        _check_core_size(raw, "footprint.coordinates")
        plane = CentralPlane(raw.centre)
        for i, rings in enumerate(self.polygons):
            if len(self.polygons) == 1:
                geom = raw.planar(plane)
            else:
                geom = Core(
                    "polygon",
                    np.concatenate([np.asarray(r, dtype=np.float64) for r in rings]),
                    tuple(int(x) for x in np.cumsum([0, *(len(r) for r in rings[:-1])])),
                ).planar(plane)
            if not shapely.is_valid(geom):
                reason = shapely.is_valid_reason(geom)
                raise InvalidInputError(
                    field=f"footprint.coordinates[{i}]",
                    reason=f"invalid polygon (self-intersecting or bad holes): {reason}",
                )
        if len(self.polygons) > 1 and not shapely.is_valid(raw.planar(plane)):
            raise InvalidInputError(
                field="footprint.coordinates", reason="the polygons of a multipolygon overlap"
            )

    @cached_property
    def raw_core(self) -> Core:
        """The core on the given vertices only (not densified): for validation and bounds."""
        rings = [np.asarray(r, dtype=np.float64) for poly in self.polygons for r in poly]
        starts = np.cumsum([0, *(len(r) for r in rings[:-1])])
        parts = tuple(len(poly) for poly in self.polygons)
        return Core("polygon", np.concatenate(rings), tuple(int(x) for x in starts), parts)

    @cached_property
    def core(self) -> Core:
        """The exact core (all polygons, densified)."""
        return Core.polygon(
            [[np.asarray(r, dtype=np.float64) for r in poly] for poly in self.polygons]
        )

    @property
    def width_m(self) -> float:
        """Width added around the core (m): 0 for a polygon."""
        return 0.0

    def to_json(self) -> dict[str, Any]:
        """Wire form (rings closed, GeoJSON-like)."""

        def ring(r: Ring) -> list[list[float]]:
            return [[p[0], p[1]] for p in (*r, r[0])]

        if len(self.polygons) == 1:
            return {"type": "polygon", "coordinates": [ring(r) for r in self.polygons[0]]}
        return {
            "type": "multipolygon",
            "coordinates": [[ring(r) for r in poly] for poly in self.polygons],
        }


@dataclass(frozen=True)
class CircleFootprint:
    """A true geodesic circle: every point within ``radius_m`` of ``center`` on WGS84."""

    center: LonLat
    radius_m: float

    def __post_init__(self) -> None:
        _point(self.center, "footprint.center")
        _check_width(self.radius_m, "footprint.radius_nm")

    @cached_property
    def core(self) -> Core:
        """The centre point."""
        return Core.point(self.center[0], self.center[1])

    @property
    def raw_core(self) -> Core:
        """Same as :attr:`core` (nothing to densify)."""
        return self.core

    @property
    def width_m(self) -> float:
        """The radius (m)."""
        return self.radius_m

    def to_json(self) -> dict[str, Any]:
        """Wire form."""
        return {
            "type": "circle",
            "center": [self.center[0], self.center[1]],
            "radius_nm": m_to_nm(self.radius_m),
        }


@dataclass(frozen=True)
class CorridorFootprint:
    """A transit corridor: all points within ``half_width_m`` of a geodesic polyline."""

    centerline: tuple[LonLat, ...]
    half_width_m: float

    def __post_init__(self) -> None:
        if len(self.centerline) > MAX_CENTERLINE_POINTS:
            raise InvalidInputError(
                field="footprint.centerline",
                reason=f"{len(self.centerline)} points; at most {MAX_CENTERLINE_POINTS} (split it)",
            )
        for k, p in enumerate(self.centerline):
            _point(p, f"footprint.centerline[{k}]")
        if _distinct(self.centerline) < 2:
            raise InvalidInputError(
                field="footprint.centerline", reason="needs at least 2 distinct points"
            )
        _check_width(self.half_width_m, "footprint.half_width_nm")
        _check_core_size(self.raw_core, "footprint.centerline")

    @cached_property
    def core(self) -> Core:
        """The densified centreline."""
        return Core.line(np.asarray(self.centerline, dtype=np.float64))

    @cached_property
    def raw_core(self) -> Core:
        """The centreline on its given points only (validation and bounds)."""
        return Core("line", np.asarray(self.centerline, dtype=np.float64), (0,))

    @property
    def width_m(self) -> float:
        """The half-width (m)."""
        return self.half_width_m

    def to_json(self) -> dict[str, Any]:
        """Wire form."""
        return {
            "type": "corridor",
            "centerline": [[p[0], p[1]] for p in self.centerline],
            "half_width_nm": m_to_nm(self.half_width_m),
        }


@dataclass(frozen=True)
class OrbitFootprint:
    """A racetrack orbit: all points within ``radius_m`` of the geodesic ``start``-``end``."""

    start: LonLat
    end: LonLat
    radius_m: float

    def __post_init__(self) -> None:
        _point(self.start, "footprint.start")
        _point(self.end, "footprint.end")
        _check_width(self.radius_m, "footprint.radius_nm")
        _check_core_size(self.raw_core, "footprint")

    @cached_property
    def core(self) -> Core:
        """The geodesic segment between the turn points (a point if they coincide)."""
        if _same(self.start, self.end):
            return Core.point(self.start[0], self.start[1])
        return Core.line(np.asarray([self.start, self.end], dtype=np.float64))

    @cached_property
    def raw_core(self) -> Core:
        """The two turn points only (validation and bounds)."""
        if _same(self.start, self.end):
            return self.core
        return Core("line", np.asarray([self.start, self.end], dtype=np.float64), (0,))

    @property
    def width_m(self) -> float:
        """The turn radius (m)."""
        return self.radius_m

    def to_json(self) -> dict[str, Any]:
        """Wire form."""
        return {
            "type": "orbit",
            "start": [self.start[0], self.start[1]],
            "end": [self.end[0], self.end[1]],
            "radius_nm": m_to_nm(self.radius_m),
        }


Footprint = PolygonFootprint | CircleFootprint | CorridorFootprint | OrbitFootprint
"""Any horizontal footprint."""


def footprint_from_json(obj: Any, where: str = "footprint") -> Footprint:
    """Parse a footprint's wire form; errors name ``where.<field>``.

    Raises
    ------
    InvalidInputError
        Unknown type, missing or extra geometry keys, bad coordinates or widths.
    """
    if not isinstance(obj, Mapping):
        raise InvalidInputError(field=where, reason="must be an object")
    kind = obj.get("type")
    allowed = {
        "polygon": {"coordinates"},
        "multipolygon": {"coordinates"},
        "circle": {"center", "radius_nm", "radius_m"},
        "corridor": {"centerline", "half_width_nm", "half_width_m"},
        "orbit": {"start", "end", "radius_nm", "radius_m"},
    }
    if kind not in allowed:
        raise InvalidInputError(
            field=f"{where}.type", reason=f"unknown footprint type {kind!r}; use {sorted(allowed)}"
        )
    extra = set(obj) - allowed[str(kind)] - {"type"}
    if extra:
        raise InvalidInputError(
            field=f"{where}.{sorted(extra)[0]}",
            reason=f"not allowed for a {kind} footprint (one shape per volume)",
        )
    try:
        if kind in ("polygon", "multipolygon"):
            coords = obj.get("coordinates")
            polys_raw = [coords] if kind == "polygon" else coords
            if not isinstance(polys_raw, Sequence) or not polys_raw:
                raise InvalidInputError(field="footprint.coordinates", reason="must be a list")
            polys: list[tuple[Ring, ...]] = []
            total = 0  # vertices given, without each ring's closing vertex
            for i, poly in enumerate(polys_raw):
                if not isinstance(poly, Sequence) or not poly:
                    raise InvalidInputError(
                        field=f"footprint.coordinates[{i}]", reason="must be a list of rings"
                    )
                total += sum(len(r) - 1 if isinstance(r, Sequence) else 0 for r in poly)
                if total > MAX_VERTICES:
                    raise InvalidInputError(
                        field="footprint.coordinates",
                        reason=f"more than {MAX_VERTICES} vertices per footprint (split it)",
                    )
                polys.append(
                    tuple(
                        _ring_from_json(r, f"footprint.coordinates[{i}][{j}]")
                        for j, r in enumerate(poly)
                    )
                )
            return PolygonFootprint(tuple(polys))
        if kind == "circle":
            center = _point(obj.get("center"), "footprint.center")
            return CircleFootprint(center, _width_from_json(obj, "radius", "footprint"))
        if kind == "corridor":
            line = obj.get("centerline")
            if not isinstance(line, Sequence) or isinstance(line, str):
                raise InvalidInputError(field="footprint.centerline", reason="must be a list")
            if len(line) > MAX_CENTERLINE_POINTS:
                raise InvalidInputError(
                    field="footprint.centerline",
                    reason=f"{len(line)} points; at most {MAX_CENTERLINE_POINTS} (split it)",
                )
            pts = tuple(_point(p, f"footprint.centerline[{k}]") for k, p in enumerate(line))
            return CorridorFootprint(pts, _width_from_json(obj, "half_width", "footprint"))
        start = _point(obj.get("start"), "footprint.start")
        end = _point(obj.get("end"), "footprint.end")
        return OrbitFootprint(start, end, _width_from_json(obj, "radius", "footprint"))
    except InvalidInputError as exc:
        field = exc.field.removeprefix("footprint")
        raise InvalidInputError(field=f"{where}{field}", reason=exc.reason, row=exc.row) from None
