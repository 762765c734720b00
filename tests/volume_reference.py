"""An independent containment reference for the live tests (not used by the product).

:class:`JsonVolume` answers "is each point inside this volume at ``t``?" straight from the volume
JSON (docs/strategic.md) in an azimuthal-equidistant plane centred on the volume (pyproj): exact
distances from the centre, less than 0.1 % distortion within 150 NM, straight edges in that plane.
The product parses volumes once, with ``deconflict.strategic.Volume4D.from_json``, and tests its
exact geodesic containment (``deconflict.live.volumes.StrategicVolume``) against this reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from deconflict.errors import InvalidInputError
from deconflict.live.tracks import BoolArray
from deconflict.times import parse_iso
from deconflict.units import FT_PER_FL, M_PER_FT, M_PER_NM, FloatArray


def _parse_time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidInputError(field=where, reason="must be an ISO 8601 UTC time string")
    try:
        parsed = parse_iso(value)
    except ValueError as exc:
        raise InvalidInputError(field=where, reason=f"not an ISO 8601 time: {exc}") from None
    if parsed.tzinfo is None:
        raise InvalidInputError(field=where, reason="must carry a UTC offset (e.g. 'Z')")
    return parsed


def _lonlat_list(value: Any, where: str) -> list[tuple[float, float]]:
    try:
        points = [(float(p[0]), float(p[1])) for p in value]
    except (TypeError, ValueError, IndexError):
        raise InvalidInputError(field=where, reason="must be a list of [lon, lat] pairs") from None
    if not points:
        raise InvalidInputError(field=where, reason="must not be empty")
    for lon, lat in points:
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise InvalidInputError(field=where, reason="lon/lat out of range")
    return points


def _to_ft(value: Any, reference: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(field=where, reason="must be a number") from None
    if reference == "fl":
        return number * FT_PER_FL
    if reference == "m_w84":
        return number / M_PER_FT
    if reference == "ft_amsl":
        return number
    raise InvalidInputError(field=where, reason=f"unknown altitude reference {reference!r}")


@dataclass(frozen=True)
class _Frame:
    center_lon: float
    center_lat: float

    def transformer(self) -> Transformer:
        return Transformer.from_proj(
            "EPSG:4326",
            f"+proj=aeqd +lat_0={self.center_lat} +lon_0={self.center_lon} +ellps=WGS84 +units=m",
            always_xy=True,
        )


class JsonVolume:
    """A volume from the volume JSON (docs/strategic.md), with optional extra tolerance.

    Parameters
    ----------
    obj:
        One volume in the wire format.
    extra_lateral_nm, extra_vertical_ft:
        Tolerance added to the volume's own buffers (used for conformance of own tracks).
    """

    def __init__(
        self,
        obj: Mapping[str, Any],
        *,
        extra_lateral_nm: float = 0.0,
        extra_vertical_ft: float = 0.0,
        where: str = "volume",
    ) -> None:
        footprint = obj.get("footprint")
        if not isinstance(footprint, Mapping):
            raise InvalidInputError(field=f"{where}.footprint", reason="must be an object")
        buffers = obj.get("buffers") or {}
        lateral_nm = float(buffers.get("lateral_nm", 0.0)) + extra_lateral_nm
        vertical_ft = float(buffers.get("vertical_ft", 0.0)) + extra_vertical_ft
        altitude = obj.get("altitude")
        if not isinstance(altitude, Mapping):
            raise InvalidInputError(field=f"{where}.altitude", reason="must be an object")
        reference = str(altitude.get("reference", "ft_amsl"))
        self._lower_ft = _to_ft(altitude.get("lower"), reference, f"{where}.altitude.lower")
        self._upper_ft = _to_ft(altitude.get("upper"), reference, f"{where}.altitude.upper")
        self._lower_ft -= vertical_ft
        self._upper_ft += vertical_ft
        before = timedelta(minutes=float(buffers.get("before_min", 0.0)))
        after = timedelta(minutes=float(buffers.get("after_min", 0.0)))
        self._from = _parse_time(obj.get("start"), f"{where}.start") - before
        self._until = _parse_time(obj.get("end"), f"{where}.end") + after
        kind = footprint.get("type")
        fwhere = f"{where}.footprint"
        if kind == "polygon":
            rings = footprint.get("coordinates")
            if not isinstance(rings, list) or not rings:
                raise InvalidInputError(field=f"{fwhere}.coordinates", reason="must be rings")
            points = _lonlat_list(rings[0], f"{fwhere}.coordinates")
            width_nm = 0.0
            core_kind = "polygon"
            holes = [_lonlat_list(r, f"{fwhere}.coordinates") for r in rings[1:]]
        elif kind == "circle":
            points = _lonlat_list([footprint.get("center")], f"{fwhere}.center")
            width_nm = float(footprint.get("radius_nm", float("nan")))
            core_kind, holes = "point", []
        elif kind == "corridor":
            points = _lonlat_list(footprint.get("centerline"), f"{fwhere}.centerline")
            width_nm = float(footprint.get("half_width_nm", float("nan")))
            core_kind, holes = "line", []
        elif kind == "orbit":
            points = _lonlat_list(
                [footprint.get("start"), footprint.get("end")], f"{fwhere}.start/end"
            )
            width_nm = float(footprint.get("radius_nm", float("nan")))
            core_kind, holes = "line", []
        else:
            raise InvalidInputError(field=f"{fwhere}.type", reason=f"unknown type {kind!r}")
        if not np.isfinite(width_nm) or width_nm < 0:
            raise InvalidInputError(field=fwhere, reason="radius / half-width must be >= 0 NM")
        lons = np.array([p[0] for p in points])
        lats = np.array([p[1] for p in points])
        self._center = (float(lons.mean()), float(lats.mean()))
        self._transformer = _Frame(*self._center).transformer()
        xs, ys = self._transformer.transform(lons, lats)
        width_m = (width_nm + lateral_nm) * M_PER_NM
        if core_kind == "polygon":
            hole_xy = [
                self._transformer.transform([p[0] for p in h], [p[1] for p in h]) for h in holes
            ]
            core = shapely.make_valid(
                shapely.Polygon(
                    list(zip(xs, ys, strict=True)),
                    [list(zip(hx, hy, strict=True)) for hx, hy in hole_xy],
                )
            )
        elif core_kind == "point":
            core = shapely.Point(xs[0], ys[0])
        else:
            core = shapely.LineString(list(zip(xs, ys, strict=True)))
        self._core = core
        self._width_m = width_m
        shapely.prepare(core)
        far = float(shapely.hausdorff_distance(shapely.Point(0.0, 0.0), shapely.convex_hull(core)))
        self._radius_nm = (far + width_m) / M_PER_NM

    @property
    def active_from(self) -> datetime:
        """Start of activity including the time buffer (UTC)."""
        return self._from

    @property
    def active_until(self) -> datetime:
        """End of activity including the time buffer (UTC)."""
        return self._until

    @property
    def alt_lower_ft(self) -> float:
        """Lower limit including buffers, feet."""
        return self._lower_ft

    @property
    def alt_upper_ft(self) -> float:
        """Upper limit including buffers, feet."""
        return self._upper_ft

    @property
    def center_lonlat(self) -> tuple[float, float]:
        """Centre of the footprint's vertices (lon, lat), degrees."""
        return self._center

    @property
    def radius_nm(self) -> float:
        """Radius around the centre enclosing the footprint and its buffer, NM."""
        return self._radius_nm

    def contains(
        self, lat_deg: FloatArray, lon_deg: FloatArray, alt_ft: FloatArray, t: datetime
    ) -> BoolArray:
        """Element-wise: inside the footprint (+buffer), the altitude band and active at ``t``."""
        lat = np.asarray(lat_deg, dtype=np.float64)
        out = np.zeros(lat.shape, dtype=bool)
        if not (self._from <= t < self._until) or lat.size == 0:
            return out
        alt = np.asarray(alt_ft, dtype=np.float64)
        in_band = (alt >= self._lower_ft) & (alt <= self._upper_ft)
        if not in_band.any():
            return out
        x, y = self._transformer.transform(
            np.asarray(lon_deg, dtype=np.float64)[in_band], lat[in_band]
        )
        if self._width_m > 0:
            inside = shapely.dwithin(self._core, shapely.points(x, y), self._width_m)
        else:
            inside = shapely.intersects_xy(self._core, x, y)
        out[in_band] = np.asarray(inside, dtype=bool)
        return out
