"""GeoJSON profile for plans: one Feature per 4D volume, plus agreed lines.

Layout of a volume Feature (RFC 7946 FeatureCollection)::

    geometry   Polygon | MultiPolygon          -> polygon footprint (geodesic edges, holes ok)
               LineString + half_width_nm|_m   -> corridor
               LineString (2 points) + kind "orbit" + radius_nm|_m -> racetrack orbit
               Point + radius_nm | radius_m    -> geodesic circle
    properties id (unique), party, notice?, priority? (int), category?,
               alt_lower_ft + alt_upper_ft | alt_lower_m + alt_upper_m
               | alt_lower_fl + alt_upper_fl,
               alt_reference? "amsl" (default) | "fl" (pressure altitude) | "w84" (ellipsoid),
               start, end (RFC 3339 with a zone),
               buffers? {lateral_nm, vertical_ft, before_min, after_min}
               (or flat buffer_lateral_nm, buffer_vertical_ft, buffer_before_min, buffer_after_min)

An agreed line is a LineString Feature with ``kind: "deconfliction_line"`` and
``sides: {party: "left" | "right"}`` (relative to the line's direction).

The reader validates the *whole* file before returning anything; any error raises
:class:`~deconflict.errors.InvalidInputError` naming the feature (``row="feature <id>"``) and
the field. The writer emits volumes back in the same profile.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from deconflict.errors import InvalidInputError
from deconflict.geo.footprints import Footprint, footprint_from_json
from deconflict.strategic.altitude import AltitudeBand, AltitudeReference
from deconflict.strategic.lines import AgreedLine, agreed_line_from_json
from deconflict.strategic.notice import ActivityCategory
from deconflict.strategic.volume import Buffers, Volume4D, parse_utc
from deconflict.units import M_PER_FT

ALT_REFERENCES: Final = {
    "amsl": "amsl",
    "ft_amsl": "amsl",
    "msl": "amsl",
    "fl": "fl",
    "pressure": "fl",
    "w84": "w84",
    "m_w84": "w84",
    "wgs84": "w84",
}
"""Accepted ``alt_reference`` spellings -> canonical reference."""

_ALT_UNITS: Final = ("ft", "m", "fl")

_FLAT_BUFFERS: Final = {
    "buffer_lateral_nm": "lateral_nm",
    "buffer_vertical_ft": "vertical_ft",
    "buffer_before_min": "before_min",
    "buffer_after_min": "after_min",
}


@dataclass(frozen=True)
class PlannedVolume:
    """One volume Feature: key (feature id), party, optional notice grouping and priority."""

    key: str
    party: str
    notice: str
    priority: int
    category: ActivityCategory
    order: int
    volume: Volume4D


@dataclass(frozen=True)
class PlanFile:
    """A parsed plan file: volumes and agreed lines, in file order."""

    volumes: tuple[PlannedVolume, ...]
    lines: tuple[AgreedLine, ...]


def read_plan(text: str) -> PlanFile:
    """Parse a plan GeoJSON text (whole file validated first; nothing partial returned)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            field="file", reason=f"not JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    return plan_from_geojson(doc)


def plan_from_geojson(doc: Any) -> PlanFile:
    """Parse a FeatureCollection mapping (see the module docstring)."""
    if not isinstance(doc, Mapping) or doc.get("type") != "FeatureCollection":
        raise InvalidInputError(field="type", reason="must be a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        raise InvalidInputError(field="features", reason="must be a list")
    volumes: list[PlannedVolume] = []
    lines: list[AgreedLine] = []
    seen: set[str] = set()
    for k, feature in enumerate(features):
        label = f"feature {k}"
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            raise InvalidInputError(field="type", reason="must be a Feature", row=label)
        props = feature.get("properties") or {}
        if not isinstance(props, Mapping):
            raise InvalidInputError(field="properties", reason="must be an object", row=label)
        fid = props.get("id", feature.get("id"))
        if fid is not None:
            label = f"feature {fid!s}"
        if fid is None or not isinstance(fid, str | int) or str(fid) == "":
            raise InvalidInputError(field="id", reason="every feature needs an id", row=label)
        key = str(fid)
        if key in seen:
            raise InvalidInputError(field="id", reason=f"duplicate id {key!r}", row=label)
        seen.add(key)
        try:
            if props.get("kind") == "deconfliction_line":
                lines.append(_line(key, feature.get("geometry"), props))
            else:
                volumes.append(_volume(key, k, feature.get("geometry"), props))
        except InvalidInputError as exc:
            raise InvalidInputError(field=exc.field, reason=exc.reason, row=label) from None
    return PlanFile(tuple(volumes), tuple(lines))


def _line(key: str, geometry: Any, props: Mapping[str, Any]) -> AgreedLine:
    if not isinstance(geometry, Mapping) or geometry.get("type") != "LineString":
        raise InvalidInputError(field="geometry", reason="a deconfliction line is a LineString")
    return agreed_line_from_json(
        {"id": key, "coordinates": geometry.get("coordinates"), "sides": props.get("sides", {})},
        where="geometry",
    )


def _footprint(geometry: Any, props: Mapping[str, Any]) -> Footprint:
    if not isinstance(geometry, Mapping):
        raise InvalidInputError(field="geometry", reason="missing geometry")
    gtype = geometry.get("type")
    coords = geometry.get("coordinates")
    widths = {
        k: props[k]
        for k in ("radius_nm", "radius_m", "half_width_nm", "half_width_m")
        if k in props
    }
    if gtype in ("Polygon", "MultiPolygon"):
        if widths:
            raise InvalidInputError(
                field=sorted(widths)[0],
                reason="both a circle/corridor width and a polygon: give one shape per feature",
            )
        return footprint_from_json({"type": gtype.lower(), "coordinates": coords}, "geometry")
    if gtype == "Point":
        if "half_width_nm" in widths or "half_width_m" in widths:
            raise InvalidInputError(field="half_width_nm", reason="a Point takes radius_nm/_m")
        if not widths:
            raise InvalidInputError(field="radius_nm", reason="a Point needs radius_nm or radius_m")
        return footprint_from_json({"type": "circle", "center": coords, **widths}, "geometry")
    if gtype == "LineString":
        if props.get("kind") == "orbit":
            if not isinstance(coords, list) or len(coords) != 2:
                raise InvalidInputError(
                    field="geometry.coordinates", reason="an orbit is a 2-point LineString"
                )
            return footprint_from_json(
                {"type": "orbit", "start": coords[0], "end": coords[1], **widths}, "geometry"
            )
        if "radius_nm" in widths or "radius_m" in widths:
            raise InvalidInputError(field="radius_nm", reason="a corridor takes half_width_nm/_m")
        if not widths:
            raise InvalidInputError(
                field="half_width_nm", reason="a LineString corridor needs half_width_nm or _m"
            )
        return footprint_from_json({"type": "corridor", "centerline": coords, **widths}, "geometry")
    raise InvalidInputError(field="geometry.type", reason=f"unsupported geometry {gtype!r}")


def _altitude(props: Mapping[str, Any]) -> AltitudeBand:
    present = [u for u in _ALT_UNITS if f"alt_lower_{u}" in props or f"alt_upper_{u}" in props]
    stray = [
        k
        for k in props
        if (k.startswith(("alt_lower_", "alt_upper_"))) and k.rsplit("_", 1)[-1] not in _ALT_UNITS
    ]
    if stray:
        raise InvalidInputError(field=stray[0], reason="unknown altitude unit; use _ft, _m or _fl")
    if len(present) != 1:
        raise InvalidInputError(
            field="alt_lower_ft",
            reason="give the altitude band once: alt_lower_ft/alt_upper_ft, _m or _fl",
        )
    unit = present[0]
    values = []
    for bound in ("lower", "upper"):
        key = f"alt_{bound}_{unit}"
        value = props.get(key)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise InvalidInputError(field=key, reason="must be a finite number")
        values.append(float(value))
    raw_ref = props.get("alt_reference", "fl" if unit == "fl" else "amsl")
    ref = ALT_REFERENCES.get(str(raw_ref).lower()) if isinstance(raw_ref, str) else None
    if ref is None:
        raise InvalidInputError(
            field="alt_reference",
            reason=f"unknown altitude reference {raw_ref!r}; use amsl, fl, w84",
        )
    lo, hi = values
    if unit == "fl" and ref != "fl":
        raise InvalidInputError(field="alt_reference", reason="_fl values are flight levels")
    try:
        if ref == "fl":
            scale = {"fl": 1.0, "ft": 0.01, "m": 0.01 / M_PER_FT}[unit]
            return AltitudeBand(lo * scale, hi * scale, AltitudeReference.FL)
        if ref == "w84":
            scale = 1.0 if unit == "m" else M_PER_FT
            return AltitudeBand(lo * scale, hi * scale, AltitudeReference.M_W84)
        scale = 1.0 if unit == "ft" else 1.0 / M_PER_FT
        return AltitudeBand(lo * scale, hi * scale, AltitudeReference.FT_AMSL)
    except InvalidInputError as exc:
        field = f"alt_lower_{unit}" if "lower" in exc.field else exc.field
        raise InvalidInputError(field=field, reason=exc.reason) from None


def _buffers(props: Mapping[str, Any]) -> Buffers:
    flat = {v: props[k] for k, v in _FLAT_BUFFERS.items() if k in props}
    nested = props.get("buffers")
    if flat and nested is not None:
        raise InvalidInputError(field="buffers", reason="give buffers either nested or flat")
    return Buffers.from_json(nested if nested is not None else (flat or None), "buffers")


def _volume(key: str, order: int, geometry: Any, props: Mapping[str, Any]) -> PlannedVolume:
    party = props.get("party")
    if not isinstance(party, str) or not party:
        raise InvalidInputError(field="party", reason="every volume needs a party")
    footprint = _footprint(geometry, props)
    altitude = _altitude(props)
    start = parse_utc(props.get("start"), "start")
    end = parse_utc(props.get("end"), "end")
    buffers = _buffers(props)
    priority = props.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise InvalidInputError(field="priority", reason="must be an integer")
    try:
        category = ActivityCategory(props.get("category", "other"))
    except ValueError:
        raise InvalidInputError(
            field="category", reason="use one of " + ", ".join(c.value for c in ActivityCategory)
        ) from None
    notice = props.get("notice", key)
    volume = Volume4D(footprint, altitude, start, end, buffers, key)
    return PlannedVolume(key, party, str(notice), priority, category, order, volume)


def volume_to_feature(planned: PlannedVolume) -> dict[str, Any]:
    """A planned volume as a Feature of this profile (round-trips through the reader)."""
    v = planned.volume
    fp = v.footprint.to_json()
    props: dict[str, Any] = {
        "id": planned.key,
        "party": planned.party,
        "notice": planned.notice,
        "priority": planned.priority,
        "category": planned.category.value,
        "start": v.to_json()["start"],
        "end": v.to_json()["end"],
        "buffers": v.buffers.to_json(),
    }
    ref = v.altitude.reference
    if ref is AltitudeReference.FL:
        props.update(alt_lower_fl=v.altitude.lower, alt_upper_fl=v.altitude.upper)
        props["alt_reference"] = "fl"
    elif ref is AltitudeReference.M_W84:
        props.update(alt_lower_m=v.altitude.lower, alt_upper_m=v.altitude.upper)
        props["alt_reference"] = "w84"
    else:
        props.update(alt_lower_ft=v.altitude.lower, alt_upper_ft=v.altitude.upper)
        props["alt_reference"] = "amsl"
    if fp["type"] in ("polygon", "multipolygon"):
        geometry = {
            "type": "Polygon" if fp["type"] == "polygon" else "MultiPolygon",
            "coordinates": fp["coordinates"],
        }
    elif fp["type"] == "circle":
        geometry = {"type": "Point", "coordinates": fp["center"]}
        props["radius_nm"] = fp["radius_nm"]
    elif fp["type"] == "corridor":
        geometry = {"type": "LineString", "coordinates": fp["centerline"]}
        props["half_width_nm"] = fp["half_width_nm"]
    else:
        geometry = {"type": "LineString", "coordinates": [fp["start"], fp["end"]]}
        props.update(kind="orbit", radius_nm=fp["radius_nm"])
    return {"type": "Feature", "geometry": geometry, "properties": props}


def plan_to_geojson(plan: PlanFile) -> dict[str, Any]:
    """A FeatureCollection of the plan's volumes and lines."""
    features = [volume_to_feature(p) for p in plan.volumes]
    for line in plan.lines:
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [list(p) for p in line.coordinates],
                },
                "properties": {
                    "id": line.id,
                    "kind": "deconfliction_line",
                    "sides": dict(line.sides),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
