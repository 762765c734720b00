"""Cursor-on-Target (CoT) XML: read ``<event>`` tracks (parsed with ``defusedxml``) and write
events for TAK displays.

An event (CoT 2.0 schema, as MITRE and the TAK products use it)::

    <event version="2.0" uid="ICAO-4CA2D6" type="a-n-A-C-F" how="m-g"
           time="2026-12-05T10:00:00Z" start="2026-12-05T10:00:00Z" stale="2026-12-05T10:00:30Z">
      <point lat="51.45735" lon="-1.02826" hae="11277.6" ce="50" le="50"/>
      <detail><track course="103.2" speed="148.5"/><contact callsign="RJA1118"/></detail>
    </event>

Read: ``uid`` -> ``id`` (an ``ICAO-`` prefix is removed), ``time`` (or ``start``) -> ``time``,
``point@lat/lon`` (deg), ``point@hae`` (**metres above the WGS84 ellipsoid**, converted to ft:
geometric, not pressure altitude; differs from a flight level by up to several hundred feet),
``track@course`` (deg), ``track@speed`` (m/s -> kt), ``contact@callsign``. CoT carries no
vertical rate: ``vs_fpm`` is 0. Input is a file of concatenated events (optionally inside one root
element), or a stream of them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final
from xml.etree.ElementTree import Element, SubElement, tostring

import numpy as np
import pandas as pd
from defusedxml import ElementTree as SafeET

from deconflict.errors import InvalidInputError
from deconflict.formats.states import empty_reports, make_reports
from deconflict.units import M_PER_FT, MPS_PER_KT

__all__ = ["cot_event", "parse_cot", "read_cot"]

_EVENT: Final = re.compile(rb"<event\b.*?</event>|<event\b[^>]*/>", re.DOTALL)
MAX_EVENT_BYTES: Final = 64 * 1024
"""Largest single event accepted, bytes."""


def _f(element: Any, name: str) -> float:
    if element is None:
        return float("nan")
    try:
        return float(element.get(name, "nan"))
    except ValueError:
        return float("nan")


def parse_cot(data: bytes, *, first_row: int = 1) -> pd.DataFrame:
    """Reports of every ``<event>`` with a ``<point>`` in ``data`` (rows: event number)."""
    names = ("time", "id", "callsign", "lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm")
    cols: dict[str, list[Any]] = {k: [] for k in names}
    rows: list[int] = []
    for k, match in enumerate(_EVENT.finditer(data)):
        raw = match.group(0)
        if len(raw) > MAX_EVENT_BYTES:
            raise InvalidInputError(field="event", reason="event over 64 KiB", row=first_row + k)
        try:
            event = SafeET.fromstring(raw)
        except Exception as exc:  # defusedxml raises ParseError or its own DefusedXmlException
            raise InvalidInputError(
                field="event", reason=f"not valid CoT XML: {exc}", row=first_row + k
            ) from exc
        point = event.find("point")
        if point is None:
            continue
        detail = event.find("detail")
        track = detail.find("track") if detail is not None else None
        contact = detail.find("contact") if detail is not None else None
        uid = str(event.get("uid", "")).strip()
        cols["id"].append(uid[5:].lower() if uid.upper().startswith("ICAO-") else uid)
        cols["time"].append(event.get("time") or event.get("start"))
        cols["callsign"].append(contact.get("callsign", "") if contact is not None else "")
        cols["lat"].append(_f(point, "lat"))
        cols["lon"].append(_f(point, "lon"))
        hae = _f(point, "hae")
        cols["alt_ft"].append(hae / M_PER_FT if hae < 9_999_999 else float("nan"))
        cols["gs_kt"].append(_f(track, "speed") / MPS_PER_KT)
        cols["track_deg"].append(_f(track, "course"))
        cols["vs_fpm"].append(0.0)
        rows.append(first_row + k)
    if not rows:
        return empty_reports()
    return make_reports(cols, rows=np.asarray(rows, dtype=np.int64))


def read_cot(source: str) -> pd.DataFrame:
    """Reports from a file of CoT events."""
    path = Path(source)
    if not path.is_file():
        raise InvalidInputError(field="FILE", reason=f"no such file: {source}")
    return parse_cot(path.read_bytes())


def _iso(when: pd.Timestamp) -> str:
    return (
        when.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    )


def cot_event(
    *,
    uid: str,
    cot_type: str,
    when: pd.Timestamp,
    stale_s: float,
    lat: float,
    lon: float,
    hae_m: float | None = None,
    callsign: str | None = None,
    course_deg: float | None = None,
    speed_mps: float | None = None,
    remarks: str | None = None,
    how: str = "m-g",
) -> bytes:
    """One CoT event as UTF-8 XML bytes (built with ElementTree: attribute values are escaped).

    ``hae_m`` is height above the WGS84 ellipsoid in metres; None writes CoT's "unknown"
    (9999999.0). ``stale_s``: seconds until the display drops the event.
    """
    event = Element(
        "event",
        {
            "version": "2.0",
            "uid": uid,
            "type": cot_type,
            "how": how,
            "time": _iso(when),
            "start": _iso(when),
            "stale": _iso(when + pd.Timedelta(seconds=stale_s)),
        },
    )
    SubElement(
        event,
        "point",
        {
            "lat": f"{lat:.6f}",
            "lon": f"{lon:.6f}",
            "hae": f"{hae_m:.1f}" if hae_m is not None else "9999999.0",
            "ce": "9999999.0",
            "le": "9999999.0",
        },
    )
    detail = SubElement(event, "detail")
    if callsign:
        SubElement(detail, "contact", {"callsign": callsign})
    if course_deg is not None and speed_mps is not None:
        SubElement(detail, "track", {"course": f"{course_deg:.1f}", "speed": f"{speed_mps:.1f}"})
    if remarks:
        SubElement(detail, "remarks").text = remarks
    return bytes(tostring(event, encoding="utf-8", xml_declaration=False))
