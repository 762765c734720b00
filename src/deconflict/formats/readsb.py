"""readsb / dump1090 JSON: ``aircraft.json`` polls and tar1090 ``trace_full`` files.

``aircraft.json`` (readsb ``README-json.md``): ``now`` (Unix s) and ``aircraft``: objects with
``hex`` (ICAO address; ``~`` prefix for non-ICAO), ``flight`` (callsign), ``lat``, ``lon`` (deg),
``alt_baro`` (ft, or ``"ground"``), ``gs`` (kt), ``track`` (deg), ``baro_rate`` (ft/min;
``geom_rate`` when absent), ``seen_pos`` (s since the last position). Older dump1090 names
(``altitude``, ``speed``, ``vert_rate``) are accepted. The report time is ``now - seen_pos``.
A source may be one file, a directory of polls (``*.json``, read in name order) or an
``http(s)://`` URL (one poll per call; :func:`poll_aircraft_json`).

``trace_full`` (readsb globe history): ``icao``, ``timestamp`` (Unix s) and ``trace``: arrays
``[dt_s, lat, lon, alt_ft | "ground" | null, gs_kt, track_deg, flags, vrate_fpm, details,
...]``; ``details.flight`` is the callsign. ``flags & 8``: the altitude is geometric (dropped:
we keep barometric altitudes only).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from deconflict.errors import InvalidInputError
from deconflict.formats.states import empty_reports, make_reports

__all__ = [
    "aircraft_json_reports",
    "poll_aircraft_json",
    "read_aircraft_json",
    "read_readsb_trace",
    "trace_reports",
]


def _load(path: Path) -> Any:
    try:
        with open(path, "rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
    except FileNotFoundError as exc:
        raise InvalidInputError(field="FILE", reason=f"no such file: {path}") from exc
    opener: Any = gzip.open if gzipped else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError as exc:
        raise InvalidInputError(field="FILE", reason=f"no such file: {path}") from exc
    except (OSError, ValueError) as exc:
        raise InvalidInputError(field="FILE", reason=f"{path.name}: not JSON: {exc}") from exc


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return float("nan")
    return float(value)


def aircraft_json_reports(doc: Any, *, first_row: int = 1) -> pd.DataFrame:
    """Reports of one ``aircraft.json`` document (rows: position in ``aircraft``, from
    ``first_row``). Aircraft without a position are left out (they cannot be placed)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("aircraft"), list):
        raise InvalidInputError(
            field="aircraft", reason="expected an object with an 'aircraft' list"
        )
    now = _number(doc.get("now"))
    if not np.isfinite(now):
        raise InvalidInputError(field="now", reason="missing or not a number (Unix seconds)")
    cols: dict[str, list[Any]] = {k: [] for k in ("time", "id", "callsign", "lat", "lon",
                                                  "alt_ft", "gs_kt", "track_deg", "vs_fpm",
                                                  "onground")}  # fmt: skip
    rows: list[int] = []
    for k, plane in enumerate(doc["aircraft"]):
        if not isinstance(plane, dict) or "lat" not in plane or "lon" not in plane:
            continue
        alt = plane.get("alt_baro", plane.get("altitude"))
        ground = alt == "ground"
        seen = _number(plane.get("seen_pos", plane.get("seen", 0.0)))
        rate = plane.get("baro_rate", plane.get("geom_rate", plane.get("vert_rate")))
        cols["time"].append(now - (seen if np.isfinite(seen) else 0.0))
        cols["id"].append(str(plane.get("hex", "")).strip().lower())
        cols["callsign"].append(str(plane.get("flight", "") or "").strip())
        cols["lat"].append(_number(plane.get("lat")))
        cols["lon"].append(_number(plane.get("lon")))
        cols["alt_ft"].append(float("nan") if ground else _number(alt))
        cols["gs_kt"].append(_number(plane.get("gs", plane.get("speed"))))
        cols["track_deg"].append(_number(plane.get("track")))
        cols["vs_fpm"].append(_number(rate))
        cols["onground"].append(1.0 if ground else (0.0 if alt is not None else float("nan")))
        rows.append(first_row + k)
    if not rows:
        return empty_reports()
    return make_reports(cols, rows=np.asarray(rows, dtype=np.int64))


def read_aircraft_json(source: str) -> pd.DataFrame:
    """Reports from an ``aircraft.json`` file, a directory of polls, or a URL (one poll)."""
    if source.lower().startswith(("http://", "https://")):
        return poll_aircraft_json(source)
    path = Path(source)
    files = (
        sorted(path.glob("*.json")) + sorted(path.glob("*.json.gz")) if path.is_dir() else [path]
    )
    if path.is_dir() and not files:
        raise InvalidInputError(field="FILE", reason=f"no *.json polls in directory {source}")
    parts = []
    row = 1
    for file in files:
        doc = _load(file)
        part = aircraft_json_reports(doc, first_row=row)
        row += len(doc.get("aircraft", [])) if isinstance(doc, dict) else 0
        parts.append(part)
    parts = [p for p in parts if len(p)]
    return pd.concat(parts) if parts else empty_reports()


def poll_aircraft_json(
    url: str, *, client: httpx.Client | None = None, timeout_s: float = 5.0
) -> pd.DataFrame:
    """One poll of an ``aircraft.json`` URL (bounded: at most 32 MB read)."""
    owned = client is None
    http = client or httpx.Client(timeout=timeout_s)
    try:
        with http.stream("GET", url) as response:
            if response.status_code != 200:
                raise InvalidInputError(
                    field="SOURCE", reason=f"{url}: HTTP {response.status_code}"
                )
            body = bytearray()
            for piece in response.iter_bytes():
                body += piece
                if len(body) > 32 * 1024 * 1024:
                    raise InvalidInputError(field="SOURCE", reason=f"{url}: response over 32 MB")
    except httpx.HTTPError as exc:
        raise InvalidInputError(field="SOURCE", reason=f"{url}: {exc}") from exc
    finally:
        if owned:
            http.close()
    try:
        doc = json.loads(bytes(body))
    except ValueError as exc:
        raise InvalidInputError(field="SOURCE", reason=f"{url}: not JSON: {exc}") from exc
    return aircraft_json_reports(doc)


def trace_reports(doc: Any) -> pd.DataFrame:
    """Reports of one readsb ``trace_full`` document (rows: 1-based trace point)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("trace"), list):
        raise InvalidInputError(field="trace", reason="expected an object with a 'trace' list")
    base = _number(doc.get("timestamp"))
    if not np.isfinite(base):
        raise InvalidInputError(field="timestamp", reason="missing or not a number (Unix seconds)")
    ident = str(doc.get("icao", "")).strip().lower()
    points = [p for p in doc["trace"] if isinstance(p, list) and len(p) >= 8]
    if not points:
        return empty_reports()
    callsign = ""
    calls: list[str] = []
    alt: list[float] = []
    ground: list[float] = []
    for point in points:
        details = point[8] if len(point) > 8 and isinstance(point[8], dict) else None
        if details and details.get("flight"):
            callsign = str(details["flight"]).strip()
        calls.append(callsign)
        flags = int(point[6]) if isinstance(point[6], int) else 0
        is_ground = point[3] == "ground"
        geometric = bool(flags & 8)
        alt.append(float("nan") if is_ground or geometric else _number(point[3]))
        ground.append(1.0 if is_ground else (0.0 if point[3] is not None else float("nan")))
    column = list(zip(*[p[:8] for p in points], strict=True))
    return make_reports(
        {
            "time": base + np.asarray([_number(v) for v in column[0]]),
            "id": [ident] * len(points),
            "callsign": calls,
            "lat": [_number(v) for v in column[1]],
            "lon": [_number(v) for v in column[2]],
            "alt_ft": alt,
            "gs_kt": [_number(v) for v in column[4]],
            "track_deg": [_number(v) for v in column[5]],
            "vs_fpm": [_number(v) for v in column[7]],
            "onground": ground,
        }
    )


def read_readsb_trace(source: str) -> pd.DataFrame:
    """Reports from a readsb ``trace_full`` JSON file (plain or gzip)."""
    return trace_reports(_load(Path(source)))
