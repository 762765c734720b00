"""Agreed deconfliction lines (with a side per party) and zones requiring prior notice.

A line is a geodesic polyline; walking from its first to its last vertex, each party is
declared ``"left"`` or ``"right"``. A volume of party P *extends across the line* when part of
its buffered footprint lies on the other side, within :attr:`AgreedLine.extent_nm` of the line
(the side region is the one-sided buffer of the line in the pair's central plane). The verdict
counts a penetration deeper than :data:`LINE_TOLERANCE_M`; touching the line is allowed. Line
verdicts use the drawn outline (exact WGS84 vertices, round parts within 1 m), so they are
metre-accurate, not centimetre-accurate like volume-volume verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Final, Literal

import numpy as np
import shapely
from pyproj import Transformer

from deconflict.errors import InvalidInputError
from deconflict.geo.core import Core, pair_plane, provably_farther
from deconflict.geo.footprints import Footprint, LonLat
from deconflict.geo.overlap import buffered_planar, planar_to_geojson
from deconflict.strategic.altitude import AltitudeBand
from deconflict.strategic.conflicts import check_pair
from deconflict.strategic.volume import Volume4D, format_utc
from deconflict.units import M_PER_NM, FloatArray, m_to_nm, nm_to_m

Side = Literal["left", "right"]

LINE_TOLERANCE_M: Final = 0.5
"""Penetration (m) beyond the line below which a volume only touches it."""


@dataclass(frozen=True)
class AgreedLine:
    """A deconfliction line with each party's side.

    Parameters
    ----------
    id:
        Identifier.
    coordinates:
        ``(lon, lat)`` vertices (deg), at least 2 distinct.
    sides:
        ``{party: "left" | "right"}`` relative to the line's direction.
    extent_nm:
        How far from the line its sides are considered (NM).
    """

    id: str
    coordinates: tuple[LonLat, ...]
    sides: Mapping[str, Side] = field(default_factory=dict)
    extent_nm: float = 200.0

    def __post_init__(self) -> None:
        if len(self.coordinates) < 2:
            raise InvalidInputError(field="coordinates", reason="a line needs 2 points or more")
        for k, (lon, lat) in enumerate(self.coordinates):
            if not -90.0 <= lat <= 90.0 or not -540.0 <= lon <= 540.0:
                raise InvalidInputError(field=f"coordinates[{k}]", reason="out of range")
        for party, side in self.sides.items():
            if side not in ("left", "right"):
                raise InvalidInputError(field=f"sides.{party}", reason="must be left or right")
        if self.extent_nm <= 0.0:
            raise InvalidInputError(field="extent_nm", reason="must be > 0")

    @cached_property
    def core(self) -> Core:
        """The densified geodesic polyline."""
        return Core.line(np.asarray(self.coordinates, dtype=np.float64))

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], *, where: str = "line") -> AgreedLine:
        """``{"id", "coordinates": [[lon, lat], ...], "sides": {party: "left"|"right"}}``
        (:func:`agreed_line_from_json`)."""
        return agreed_line_from_json(obj, where=where)

    @cached_property
    def _plane(self) -> tuple[Transformer, FloatArray]:
        """An azimuthal-equidistant plane centred on the line, and its vertices in it (NM)."""
        lons = np.array([c[0] for c in self.coordinates])
        lats = np.array([c[1] for c in self.coordinates])
        frame = Transformer.from_proj(
            "EPSG:4326",
            f"+proj=aeqd +lat_0={lats.mean()} +lon_0={lons.mean()} +ellps=WGS84 +units=m",
            always_xy=True,
        )
        x, y = frame.transform(lons, lats)
        return frame, np.column_stack([x, y]) / M_PER_NM

    def project_nm(self, lat_deg: FloatArray, lon_deg: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Positions in the line's plane, NM east / north of its centre."""
        x, y = self._plane[0].transform(np.asarray(lon_deg), np.asarray(lat_deg))
        return np.asarray(x) / M_PER_NM, np.asarray(y) / M_PER_NM

    def side_of(self, x_nm: FloatArray, y_nm: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Signed side and distance to the polyline (NM) of plane points.

        The side is +1 (left), -1 (right) or 0 (beyond either end of the line: a line only
        separates what lies alongside it).
        """
        a = self._plane[1][:-1]
        d = self._plane[1][1:] - a
        px = x_nm[:, None] - a[None, :, 0]
        py = y_nm[:, None] - a[None, :, 1]
        seg_len2 = np.maximum((d**2).sum(axis=1), 1e-12)
        raw_u = (px * d[:, 0] + py * d[:, 1]) / seg_len2
        u = np.clip(raw_u, 0.0, 1.0)
        fx = px - u * d[:, 0]
        fy = py - u * d[:, 1]
        dist = np.hypot(fx, fy)
        seg = np.argmin(dist, axis=1)
        rows = np.arange(len(x_nm))
        ub = raw_u[rows, seg]
        # Pseudo-normal: at an interior vertex use the bisector of the two adjacent directions.
        unit = d / np.sqrt(seg_len2)[:, None]
        direction = unit[seg].copy()
        at_end = (ub >= 1.0) & (seg + 1 < len(d))
        at_start = (ub <= 0.0) & (seg > 0)
        direction[at_end] = unit[seg[at_end]] + unit[seg[at_end] + 1]
        direction[at_start] = unit[seg[at_start]] + unit[seg[at_start] - 1]
        cross = direction[:, 0] * py[rows, seg] - direction[:, 1] * px[rows, seg]
        sign = np.where(cross >= 0.0, 1.0, -1.0)
        beyond = ((seg == 0) & (ub < 0.0)) | ((seg == len(d) - 1) & (ub > 1.0))
        return np.where(beyond, 0.0, sign), dist[rows, seg]

    def first_crossing_s(
        self, x0: FloatArray, y0: FloatArray, vx: FloatArray, vy: FloatArray, horizon_s: float
    ) -> tuple[FloatArray, FloatArray]:
        """First crossing of each straight path ``p0 + v t`` (``v`` in NM/s) with the polyline
        within ``[0, horizon_s]``: its time (s, ``inf`` if none) and the side it crosses *into*
        (+1 left, -1 right, 0 none)."""
        a = self._plane[1][:-1]
        d = self._plane[1][1:] - a
        # Solve p0 + v t = a + d s  for t in [0, horizon], s in [0, 1].
        rx = a[None, :, 0] - x0[:, None]
        ry = a[None, :, 1] - y0[:, None]
        den = vx[:, None] * d[None, :, 1] - vy[:, None] * d[None, :, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (rx * d[None, :, 1] - ry * d[None, :, 0]) / den
            s = (rx * vy[:, None] - ry * vx[:, None]) / den
        ok = (np.abs(den) > 1e-15) & (t >= 0.0) & (t <= horizon_s) & (s >= 0.0) & (s <= 1.0)
        t = np.where(ok, t, np.inf)
        if t.size == 0:
            return np.full(len(x0), np.inf), np.zeros(len(x0))
        first = np.argmin(t, axis=1)
        rows = np.arange(len(x0))
        when = t[rows, first]
        # den = v x d; crossing into the left side of d when d x v > 0, i.e. den < 0.
        into = np.where(den[rows, first] < 0.0, 1.0, -1.0)
        return when, np.where(np.isfinite(when), into, 0.0)


@dataclass(frozen=True)
class LineConflict:
    """Volume ``volume`` of ``party`` extends across line ``line`` by ``depth_nm``."""

    line: str
    volume: str
    party: str
    depth_nm: float
    geometry: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Wire form."""
        return {
            "line": self.line,
            "volume": self.volume,
            "party": self.party,
            "depth_nm": self.depth_nm,
            "geometry": self.geometry,
        }


def line_conflicts(
    volume: Volume4D, party: str, lines: Sequence[AgreedLine], *, key: str = ""
) -> list[LineConflict]:
    """Lines that ``volume`` (of ``party``) extends across to the other side.

    Lines that declare no side for ``party`` are ignored.
    """
    out: list[LineConflict] = []
    for line in lines:
        side = line.sides.get(party)
        if side is None:
            continue
        extent = nm_to_m(line.extent_nm)
        if provably_farther(volume.core, line.core, extent + volume.buffered_width_m):
            continue
        plane = pair_plane(volume.core, line.core)
        line_xy = line.core.planar(plane)
        # shapely: positive single-sided buffer is on the left of the line direction
        wrong = shapely.buffer(line_xy, -extent if side == "left" else extent, single_sided=True)
        drawn = buffered_planar(volume.core, volume.buffered_width_m, plane)
        across = shapely.intersection(drawn, wrong)
        if across.is_empty or across.area == 0.0:
            continue
        pts = shapely.get_coordinates(across)
        depth = float(np.max(shapely.distance(line_xy, shapely.points(pts))))
        if depth <= LINE_TOLERANCE_M:
            continue
        out.append(
            LineConflict(
                line.id, key or volume.id, party, m_to_nm(depth), planar_to_geojson(across, plane)
            )
        )
    return out


@dataclass(frozen=True)
class NoticeZone:
    """A zone whose entry requires notice ``lead_min`` minutes before the activity starts."""

    id: str
    footprint: Footprint
    altitude: AltitudeBand
    lead_min: float
    start: datetime
    end: datetime

    def as_volume(self) -> Volume4D:
        """The zone as a volume (for the exact intersection test)."""
        return Volume4D(self.footprint, self.altitude, self.start, self.end, id=self.id)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any], *, where: str = "zone") -> NoticeZone:
        """Parse ``{"id", "footprint", "altitude", "lead_min", "start", "end"}``."""
        vol = Volume4D.from_json({k: v for k, v in obj.items() if k != "lead_min"}, where=where)
        lead = obj.get("lead_min", 0)
        if not isinstance(lead, int | float) or lead < 0:
            raise InvalidInputError(field=f"{where}.lead_min", reason="must be >= 0")
        return cls(vol.id, vol.footprint, vol.altitude, float(lead), vol.start, vol.end)


@dataclass(frozen=True)
class ZoneRequirement:
    """Volume enters zone ``zone``: notice was due by ``due``; ``late`` if submitted after."""

    zone: str
    due: datetime
    late: bool

    def to_json(self) -> dict[str, Any]:
        """Wire form."""
        return {"zone": self.zone, "due": format_utc(self.due), "late": self.late}


def zone_requirements(
    volume: Volume4D, zones: Sequence[NoticeZone], *, submitted_at: datetime
) -> list[ZoneRequirement]:
    """Zones the volume enters (exact 4D test) and whether its notice came too late."""
    out = []
    for zone in zones:
        if check_pair(volume, zone.as_volume()) is None:
            continue
        due = volume.start - timedelta(minutes=zone.lead_min)
        out.append(ZoneRequirement(zone.id, due, submitted_at > due))
    return out


def agreed_line_from_json(obj: Mapping[str, Any], *, where: str = "line") -> AgreedLine:
    """Parse ``{"id", "coordinates": [[lon, lat], ...], "sides": {party: side}}``."""
    coords = obj.get("coordinates")
    if not isinstance(coords, list):
        raise InvalidInputError(field=f"{where}.coordinates", reason="must be a list")
    pts: list[LonLat] = []
    for k, p in enumerate(coords):
        if not isinstance(p, list | tuple) or len(p) < 2:
            raise InvalidInputError(field=f"{where}.coordinates[{k}]", reason="must be [lon, lat]")
        pts.append((float(p[0]), float(p[1])))
    sides = obj.get("sides", {})
    if not isinstance(sides, Mapping):
        raise InvalidInputError(field=f"{where}.sides", reason="must be an object")
    try:
        return AgreedLine(str(obj.get("id", "")), tuple(pts), dict(sides))
    except InvalidInputError as exc:
        raise InvalidInputError(field=f"{where}.{exc.field}", reason=exc.reason) from None
