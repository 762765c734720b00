"""OpenSky state vectors (REST JSON, SI units) and the ``traffic`` / OpenSky table layouts.

**REST JSON** (``/api/states/all``): ``{"time": s, "states": [[icao24, callsign, origin_country,
time_position, last_contact, longitude, latitude, baro_altitude, on_ground, velocity,
true_track, vertical_rate, sensors, geo_altitude, squawk, spi, position_source, (category)],
...]}``. Units: metres (``baro_altitude``), m/s (``velocity``, ``vertical_rate``), degrees.
Converted here through :mod:`deconflict.units` to ft, kt and ft/min. The report time is
``time_position`` (``last_contact`` when null). A file may hold one response or JSON lines of
responses (one per poll).

**Table layouts** (Parquet or CSV), recognised by their column names:

* ``traffic`` (``traffic.core.Traffic.data``): ``timestamp``, ``icao24``, ``callsign``,
  ``latitude``, ``longitude``, ``altitude`` (ft), ``groundspeed`` (kt), ``track`` (deg),
  ``vertical_rate`` (ft/min), ``onground``: renamed, no conversion (traffic works in ft/kt).
* OpenSky Impala ``state_vectors_data4`` / pyopensky: ``time`` (Unix s), ``icao24``, ``lat``,
  ``lon``, ``baroaltitude`` (m), ``velocity`` (m/s), ``heading`` (deg), ``vertrate`` (m/s),
  ``callsign``, ``onground``: renamed and converted from SI.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from deconflict.errors import InvalidInputError
from deconflict.formats.states import empty_reports, make_reports
from deconflict.formats.tracks import read_tracks
from deconflict.units import M_PER_FT, MPS_PER_FPM, MPS_PER_KT

__all__ = ["TRAFFIC_MAPPING", "read_layout_table", "read_opensky_json", "states_reports"]

TRAFFIC_MAPPING: Final = {
    "timestamp": "time",
    "icao24": "id",
    "latitude": "lat",
    "longitude": "lon",
    "altitude": "alt_ft",
    "groundspeed": "gs_kt",
    "track": "track_deg",
    "vertical_rate": "vs_fpm",
}
"""``traffic`` column -> ours (same units)."""

OPENSKY_MAPPING: Final = {
    "time": "time",
    "icao24": "id",
    "lat": "lat",
    "lon": "lon",
    "baroaltitude": "alt_ft",
    "velocity": "gs_kt",
    "heading": "track_deg",
    "vertrate": "vs_fpm",
}
"""OpenSky Impala column -> ours; ``alt_ft``, ``gs_kt`` and ``vs_fpm`` are converted from SI."""


def _flag(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float("nan")


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return float("nan")
    return float(value)


def states_reports(doc: Any, *, first_row: int = 1) -> pd.DataFrame:
    """Reports of one OpenSky ``/states/all`` response (SI converted to ft, kt, ft/min)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("states"), list | type(None)):
        raise InvalidInputError(field="states", reason="expected an object with a 'states' list")
    rows_in = doc.get("states") or []
    good = [(k, s) for k, s in enumerate(rows_in) if isinstance(s, list) and len(s) >= 17]
    if not good:
        return empty_reports()
    rows = np.asarray([first_row + k for k, _ in good], dtype=np.int64)
    states = [s for _, s in good]
    when = np.asarray(
        [_num(s[3]) if s[3] is not None else _num(s[4]) for s in states], dtype=np.float64
    )
    alt_m = np.asarray([_num(s[7]) for s in states])
    vel = np.asarray([_num(s[9]) for s in states])
    vrate = np.asarray([_num(s[11]) for s in states])
    return make_reports(
        {
            "time": when,
            "id": [str(s[0] or "").strip().lower() for s in states],
            "callsign": [str(s[1] or "").strip() for s in states],
            "lon": [_num(s[5]) for s in states],
            "lat": [_num(s[6]) for s in states],
            "alt_ft": alt_m / M_PER_FT,
            "gs_kt": vel / MPS_PER_KT,
            "track_deg": [_num(s[10]) for s in states],
            "vs_fpm": vrate / MPS_PER_FPM,
            "onground": [_flag(s[8]) for s in states],
        },
        rows=rows,
    )


def read_opensky_json(source: str) -> pd.DataFrame:
    """Reports from a file of one OpenSky response or JSON lines of responses."""
    path = Path(source)
    if not path.is_file():
        raise InvalidInputError(field="FILE", reason=f"no such file: {source}")
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    opener: Any = gzip.open if gzipped else open
    with opener(path, "rt", encoding="utf-8") as handle:
        text = handle.read()
    try:
        docs = [json.loads(text)]
    except ValueError:
        docs = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    docs.append(json.loads(line))
                except ValueError as exc:
                    raise InvalidInputError(
                        field="json", reason=f"not JSON: {exc}", row=number
                    ) from exc
    parts = []
    row = 1
    for doc in docs:
        parts.append(states_reports(doc, first_row=row))
        row += len(doc.get("states") or []) if isinstance(doc, dict) else 0
    parts = [p for p in parts if len(p)]
    return pd.concat(parts) if parts else empty_reports()


def layout_of(columns: list[str]) -> str | None:
    """``"traffic"``, ``"opensky"`` or None (our own columns) from a table's column names."""
    names = set(columns)
    if {"latitude", "longitude", "groundspeed"} <= names and "lat" not in names:
        return "traffic"
    if {"baroaltitude", "velocity", "vertrate"} <= names:
        return "opensky"
    return None


def table_columns(path: Path, kind: str) -> list[str]:
    """Column names of a CSV or Parquet file (reads only the header / schema)."""
    if kind == "parquet":
        return list(pq.read_schema(path).names)
    if kind == "csv":
        try:
            header = pd.read_csv(path, nrows=0, compression="infer")
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
            return []  # the full reader reports what is wrong, with the row
        return [str(c).strip() for c in header.columns]
    return []


def read_layout_table(source: str, kind: str) -> pd.DataFrame:
    """A CSV/JSONL/Parquet file in our layout, the ``traffic`` layout or OpenSky's SI layout."""
    path = Path(source)
    layout = layout_of(table_columns(path, kind)) if path.is_file() else None
    if layout is None:
        return read_tracks(source, file_format=kind)
    mapping = TRAFFIC_MAPPING if layout == "traffic" else OPENSKY_MAPPING
    frame = read_tracks(source, file_format=kind, column_mapping=mapping)
    if layout == "opensky":
        frame["alt_ft"] = frame["alt_ft"] / M_PER_FT
        frame["gs_kt"] = frame["gs_kt"] / MPS_PER_KT
        frame["vs_fpm"] = frame["vs_fpm"] / MPS_PER_FPM
    return frame
