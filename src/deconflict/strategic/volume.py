"""Volume4D: a horizontal footprint x an altitude band x a UTC time window, with buffers.

Wire / storage JSON (see ``docs/strategic.md``)::

    {"id": "v1",
     "footprint": {...},                       # deconflict.geo.footprints
     "altitude": {"lower": 0, "upper": 24000, "reference": "ft_amsl" | "fl" | "m_w84"},
     "start": "2026-11-26T10:00:00Z", "end": "2026-11-26T12:00:00Z",
     "buffers": {"lateral_nm": 0, "vertical_ft": 0, "before_min": 0, "after_min": 0}}

Times must carry a zone (naive times are rejected) and are normalised to UTC. Pure module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import shapely

from deconflict.errors import InvalidInputError
from deconflict.geo.core import Core, core_distance_m
from deconflict.geo.ellipsoid import CentralPlane, lonlat_to_unit
from deconflict.geo.footprints import MAX_WIDTH_M, Footprint, footprint_from_json
from deconflict.strategic.altitude import (
    FL_AMSL_UNCERTAINTY_FT,
    W84_AMSL_UNCERTAINTY_FT,
    AltitudeBand,
    AltitudeReference,
)
from deconflict.times import utc_iso
from deconflict.units import FloatArray, m_to_nm, nm_to_m

POINT_UNCERTAINTY_FT: dict[AltitudeReference, float] = {
    AltitudeReference.FT_AMSL: 0.0,
    AltitudeReference.FL: FL_AMSL_UNCERTAINTY_FT,
    AltitudeReference.M_W84: W84_AMSL_UNCERTAINTY_FT,
}
"""Widening (ft) of a point altitude given in a reference when compared in ft AMSL."""


MAX_BUFFER_LATERAL_NM: Final = 540.0
"""Hard cap on the lateral buffer (NM); footprint width + buffer must also stay within
:data:`deconflict.geo.footprints.MAX_WIDTH_M`. Checked before any projection, so no buffer can
push a stored volume beyond what the planar pair projection supports. Agreements set far
smaller limits (``deconflict.broker.limits``)."""

MAX_BUFFER_VERTICAL_FT: Final = 20_000.0
"""Hard cap on the vertical buffer (ft)."""

MAX_BUFFER_MIN: Final = 7 * 24 * 60.0
"""Hard cap on each time buffer (minutes, 7 days)."""

ALTITUDE_RANGE_FT: Final = (-2_000.0, 1_000_000.0)
"""Accepted altitude limits in feet of the band's own reference (below the lowest airfield to
FL 10000; agreements set tighter vertical limits); 1e308 and the like are refused."""

EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)
"""Accepted range of volume start/end times (UTC); buffers stay representable."""


def parse_utc(value: Any, field: str) -> datetime:
    """Parse an RFC 3339 time (or accept an aware datetime) into a UTC datetime.

    Raises
    ------
    InvalidInputError
        Not a string/datetime, unparseable, or without a zone ("naive").
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInputError(
                field=field, reason=f"not an RFC 3339 time: {value!r}"
            ) from None
    else:
        raise InvalidInputError(field=field, reason="must be an RFC 3339 time string")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise InvalidInputError(
            field=field, reason="time has no zone; write it with Z or an offset (RFC 3339)"
        )
    return dt.astimezone(UTC)


def format_utc(dt: datetime) -> str:
    """RFC 3339 with ``Z`` (seconds, or microseconds when present); see :mod:`deconflict.times`."""
    return utc_iso(dt)


def _number(obj: Mapping[str, Any], key: str, field: str, default: float | None = None) -> float:
    if key not in obj:
        if default is None:
            raise InvalidInputError(field=field, reason="is required")
        return default
    value = obj[key]
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidInputError(field=field, reason="must be a finite number")
    return float(value)


@dataclass(frozen=True)
class Buffers:
    """Safety buffers added around a volume before checking conflicts.

    Parameters
    ----------
    lateral_nm:
        Horizontal buffer (NM) added around the footprint.
    vertical_ft:
        Added below the lower and above the upper limit (ft).
    before_min, after_min:
        Added before the start and after the end (minutes).
    """

    lateral_nm: float = 0.0
    vertical_ft: float = 0.0
    before_min: float = 0.0
    after_min: float = 0.0

    def __post_init__(self) -> None:
        caps = {
            "lateral_nm": MAX_BUFFER_LATERAL_NM,
            "vertical_ft": MAX_BUFFER_VERTICAL_FT,
            "before_min": MAX_BUFFER_MIN,
            "after_min": MAX_BUFFER_MIN,
        }
        for name, cap in caps.items():
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0.0:
                raise InvalidInputError(field=f"buffers.{name}", reason="must be >= 0")
            if value > cap:
                raise InvalidInputError(field=f"buffers.{name}", reason=f"must be <= {cap:g}")

    @classmethod
    def from_json(cls, obj: Any, where: str = "buffers") -> Buffers:
        """Parse ``{"lateral_nm", "vertical_ft", "before_min", "after_min"}`` (all optional)."""
        if obj is None:
            return cls()
        if not isinstance(obj, Mapping):
            raise InvalidInputError(field=where, reason="must be an object")
        unknown = set(obj) - {"lateral_nm", "vertical_ft", "before_min", "after_min"}
        if unknown:
            raise InvalidInputError(field=f"{where}.{sorted(unknown)[0]}", reason="unknown buffer")
        try:
            return cls(
                **{k: _number(obj, k, f"{where}.{k}", 0.0) for k in obj},
            )
        except InvalidInputError as exc:
            raise InvalidInputError(
                field=f"{where}.{exc.field.removeprefix('buffers.')}", reason=exc.reason
            ) from None

    def to_json(self) -> dict[str, float]:
        """Wire form."""
        return {
            "lateral_nm": self.lateral_nm,
            "vertical_ft": self.vertical_ft,
            "before_min": self.before_min,
            "after_min": self.after_min,
        }


@dataclass(frozen=True)
class Volume4D:
    """A 4D activity volume.

    Parameters
    ----------
    footprint:
        Polygon, circle, corridor or orbit (:mod:`deconflict.geo.footprints`).
    altitude:
        Closed vertical band with its reference.
    start, end:
        Timezone-aware UTC datetimes, ``start <= end``.
    buffers:
        Optional safety buffers.
    id:
        Optional identifier (echoed in JSON).
    """

    footprint: Footprint
    altitude: AltitudeBand
    start: datetime
    end: datetime
    buffers: Buffers = field(default_factory=Buffers)
    id: str = ""

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise InvalidInputError(field=name, reason="must be a timezone-aware datetime")
            object.__setattr__(self, name, value.astimezone(UTC))
            if not EARLIEST <= getattr(self, name) <= LATEST:
                raise InvalidInputError(
                    field=name,
                    reason=f"must be between {format_utc(EARLIEST)} and {format_utc(LATEST)}",
                )
        if self.start > self.end:
            raise InvalidInputError(
                field="start",
                reason=f"start {format_utc(self.start)} is after end {format_utc(self.end)}",
            )
        if self.start == self.end:
            raise InvalidInputError(
                field="end",
                reason=f"equals start {format_utc(self.start)}; a volume needs a window",
            )
        lo, hi = self.altitude.native_ft()
        for name, value in (("lower", lo), ("upper", hi)):
            if not ALTITUDE_RANGE_FT[0] <= value <= ALTITUDE_RANGE_FT[1]:
                raise InvalidInputError(
                    field=f"altitude.{name}",
                    reason=f"must be within {ALTITUDE_RANGE_FT[0]:g}..{ALTITUDE_RANGE_FT[1]:g} ft",
                )
        if self.footprint.width_m + nm_to_m(self.buffers.lateral_nm) > MAX_WIDTH_M:
            raise InvalidInputError(
                field="buffers.lateral_nm",
                reason=f"footprint width plus lateral buffer exceeds {m_to_nm(MAX_WIDTH_M):.0f} NM",
            )

    # ----------------------------------------------------------------------------- derived
    @property
    def core(self) -> Core:
        """Exact geometric core of the footprint."""
        return self.footprint.core

    @property
    def width_m(self) -> float:
        """Footprint width around the core, without buffer (m)."""
        return self.footprint.width_m

    @property
    def buffered_width_m(self) -> float:
        """Footprint width plus the lateral buffer (m)."""
        return self.footprint.width_m + nm_to_m(self.buffers.lateral_nm)

    @property
    def buffered_start(self) -> datetime:
        """Start minus the before-buffer (UTC)."""
        return self.start - timedelta(minutes=self.buffers.before_min)

    @property
    def buffered_end(self) -> datetime:
        """End plus the after-buffer (UTC)."""
        return self.end + timedelta(minutes=self.buffers.after_min)

    # -------------------------------------------------------------------------- membership
    def contains(
        self,
        lat_deg: float,
        lon_deg: float,
        alt_ft: float,
        t: datetime,
        *,
        alt_reference: AltitudeReference = AltitudeReference.FL,
        with_buffers: bool = False,
    ) -> bool:
        """Whether a point (deg, ft in ``alt_reference``, aware time) is inside the volume.

        ``alt_ft`` is feet of ``alt_reference`` (default: pressure altitude, what Mode C and
        ADS-B barometric report). Across references the band is widened as documented in
        :mod:`deconflict.strategic.altitude`. Time bounds are inclusive.
        """
        out = self.contains_many(
            np.array([lat_deg]),
            np.array([lon_deg]),
            np.array([alt_ft]),
            [t],
            alt_reference=alt_reference,
            with_buffers=with_buffers,
        )
        return bool(out[0])

    def contains_many(
        self,
        lat_deg: npt.ArrayLike,
        lon_deg: npt.ArrayLike,
        alt_ft: npt.ArrayLike,
        times: list[datetime] | npt.NDArray[np.datetime64],
        *,
        alt_reference: AltitudeReference = AltitudeReference.FL,
        with_buffers: bool = False,
    ) -> npt.NDArray[np.bool_]:
        """Vectorised :meth:`contains` over arrays of points; returns a boolean array.

        Points far inside or outside are classified in the plane; only those within the
        plane's distortion band of the boundary are finished with exact geodesics.
        """
        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = np.asarray(lon_deg, dtype=np.float64)
        alt = np.asarray(alt_ft, dtype=np.float64)
        t_ns = _to_ns(times)
        start = self.buffered_start if with_buffers else self.start
        end = self.buffered_end if with_buffers else self.end
        ok = (t_ns >= _dt_ns(start)) & (t_ns <= _dt_ns(end))
        if alt_reference is self.altitude.reference:
            lo, hi = self.altitude.native_ft()
        else:
            lo, hi, _ = self.altitude.amsl_ft()
            widen = POINT_UNCERTAINTY_FT[alt_reference]
            lo, hi = lo - widen, hi + widen
        vb = self.buffers.vertical_ft if with_buffers else 0.0
        ok &= (alt >= lo - vb) & (alt <= hi + vb)
        width = self.buffered_width_m if with_buffers else self.width_m
        idx = np.nonzero(ok)[0]
        if len(idx):
            ok[idx] = _within(self.core, width, lon[idx], lat[idx])
        return ok

    # --------------------------------------------------------------------------------- JSON
    @classmethod
    def from_json(cls, obj: Mapping[str, Any], *, where: str = "volume") -> Volume4D:
        """Parse the wire form; every error names ``f"{where}.<field>"``."""
        if not isinstance(obj, Mapping):
            raise InvalidInputError(field=where, reason="must be an object")
        unknown = set(obj) - {"id", "footprint", "altitude", "start", "end", "buffers"}
        if unknown:
            raise InvalidInputError(field=f"{where}.{sorted(unknown)[0]}", reason="unknown field")
        vid = obj.get("id", "")
        if not isinstance(vid, str):
            raise InvalidInputError(field=f"{where}.id", reason="must be a string")
        footprint = footprint_from_json(obj.get("footprint"), f"{where}.footprint")
        altitude = altitude_from_json(obj.get("altitude"), f"{where}.altitude")
        start = parse_utc(obj.get("start"), f"{where}.start")
        end = parse_utc(obj.get("end"), f"{where}.end")
        buffers = Buffers.from_json(obj.get("buffers"), f"{where}.buffers")
        try:
            return cls(footprint, altitude, start, end, buffers, vid)
        except InvalidInputError as exc:
            raise InvalidInputError(field=f"{where}.{exc.field}", reason=exc.reason) from None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready wire form; round-trips through :meth:`from_json`."""
        out: dict[str, Any] = {
            "footprint": self.footprint.to_json(),
            "altitude": self.altitude.to_json(),
            "start": format_utc(self.start),
            "end": format_utc(self.end),
            "buffers": self.buffers.to_json(),
        }
        if self.id:
            out = {"id": self.id, **out}
        return out


def altitude_from_json(obj: Any, where: str = "altitude") -> AltitudeBand:
    """Parse ``{"lower", "upper", "reference"[, "geoid_undulation_m"]}``."""
    if not isinstance(obj, Mapping):
        raise InvalidInputError(field=where, reason="must be an object with lower/upper/reference")
    unknown = set(obj) - {"lower", "upper", "reference", "geoid_undulation_m"}
    if unknown:
        raise InvalidInputError(field=f"{where}.{sorted(unknown)[0]}", reason="unknown field")
    ref_raw = obj.get("reference", "ft_amsl")
    try:
        reference = AltitudeReference(ref_raw)
    except ValueError:
        raise InvalidInputError(
            field=f"{where}.reference",
            reason=f"unknown altitude reference {ref_raw!r}; use "
            + ", ".join(r.value for r in AltitudeReference),
        ) from None
    lower = _number(obj, "lower", f"{where}.lower")
    upper = _number(obj, "upper", f"{where}.upper")
    geoid = obj.get("geoid_undulation_m")
    if geoid is not None:
        geoid = _number(obj, "geoid_undulation_m", f"{where}.geoid_undulation_m")
    try:
        return AltitudeBand(lower, upper, reference, geoid)
    except InvalidInputError as exc:
        raise InvalidInputError(
            field=f"{where}.{exc.field.removeprefix('altitude.')}", reason=exc.reason
        ) from None


def _dt_ns(dt: datetime) -> int:
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _to_ns(times: list[datetime] | npt.NDArray[np.datetime64]) -> npt.NDArray[np.int64]:
    if isinstance(times, np.ndarray):
        return times.astype("datetime64[ns]").astype(np.int64)
    out = []
    for t in times:
        if t.tzinfo is None:
            raise InvalidInputError(field="t", reason="time must be timezone-aware")
        out.append(_dt_ns(t))
    return np.asarray(out, dtype=np.int64)


def _within(core: Core, width_m: float, lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    """Points within ``width_m`` of ``core``: planar triage, exact geodesics near the edge."""
    plane = CentralPlane(core.centre)
    units = lonlat_to_unit(lon, lat)
    result = np.zeros(len(lon), dtype=bool)
    near = units @ plane.centre > 0.5
    near_idx = np.nonzero(near)[0]
    if len(near_idx) == 0:
        return result
    xy = plane.to_plane(units[near_idx])
    geom = core.planar(plane)
    theta = max(plane.max_angle_rad(core.units), plane.max_angle_rad(units[near_idx]))
    d_plane = shapely.distance(geom, shapely.points(xy))
    high = (1.01 / math.cos(theta) ** 2) * width_m + 0.01
    low = 0.99 * width_m - 0.01
    inside = d_plane <= max(low, 0.0) if width_m > 0 else np.zeros(len(xy), dtype=bool)
    if core.kind == "polygon":
        inside |= shapely.contains_xy(geom, xy[:, 0], xy[:, 1])
    unsure = ~inside & (d_plane <= high)
    res = inside.copy()
    for k in np.nonzero(unsure)[0]:
        i = near_idx[k]
        d = core_distance_m(core, Core.point(float(lon[i]), float(lat[i])), width_m + 0.01)
        res[k] = d <= width_m + 0.005
    result[near_idx] = res
    return result
