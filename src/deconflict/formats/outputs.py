"""Writing conflict records and encounters: JSON lines, CSV, Parquet, GeoJSON and KML.

:func:`output_format_of` maps an ``--out`` suffix to a format and refuses unknown ones.
GeoJSON and KML need positions: :func:`write_table` takes an optional ``positions`` table
(``time``, ``id``, ``lat``, ``lon``, ``alt_ft``) and places each record at the midpoint of its two
aircraft at the record's time (``time``, or ``min_range_time`` for encounters); records without a
position are written without geometry (GeoJSON ``null``) or skipped (KML).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TextIO

import numpy as np
import pandas as pd

from deconflict.errors import InvalidInputError
from deconflict.units import M_PER_FT

__all__ = ["OUTPUT_FORMATS", "output_format_of", "write_table"]

OUTPUT_FORMATS: Final[Mapping[str, str]] = MappingProxyType(
    {
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "jsonl",
        ".csv": "csv",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".geojson": "geojson",
        ".kml": "kml",
    }
)
"""``--out`` suffix -> format."""


def output_format_of(path: Path) -> str:
    """The output format for ``path`` by its suffix; an error naming the choices otherwise."""
    kind = OUTPUT_FORMATS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(OUTPUT_FORMATS)
        raise InvalidInputError(
            field="--out", reason=f"unknown output type {path.suffix or path.name!r}; use {known}"
        )
    return kind


def _json_value(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NaT:
        return None
    return value


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    columns = list(table.columns)
    return [
        {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        for row in table.itertuples(index=False, name=None)
    ]


def write_jsonl(table: pd.DataFrame, out: TextIO) -> None:
    """One JSON object per record (NaN -> null)."""
    for record in _records(table):
        out.write(json.dumps(record, allow_nan=False))
        out.write("\n")


def _midpoints(table: pd.DataFrame, positions: pd.DataFrame | None) -> pd.DataFrame:
    """lat, lon, alt_ft of the midpoint of a and b at the record's time (NaN when unknown)."""
    n = len(table)
    empty = pd.DataFrame({"lat": np.full(n, np.nan), "lon": np.full(n, np.nan),
                          "alt_ft": np.full(n, np.nan)})  # fmt: skip
    if positions is None or n == 0 or "time" not in positions.columns:
        return empty
    when_col = "time" if "time" in table.columns else "min_range_time"
    if when_col not in table.columns:
        return empty
    when = pd.to_datetime(table[when_col], utc=True, format="ISO8601", errors="coerce")
    index = positions.assign(_t=pd.to_datetime(positions["time"], utc=True))
    index = index.drop_duplicates(["_t", "id"]).set_index(["_t", "id"])[["lat", "lon", "alt_ft"]]
    ends = []
    for side in ("a", "b"):
        keys = pd.MultiIndex.from_arrays([when, table[side].astype(str)])
        ends.append(index.reindex(keys).to_numpy(dtype=np.float64))
    mid = (ends[0] + ends[1]) / 2
    dlon = ends[1][:, 1] - ends[0][:, 1]
    mid[:, 1] = np.where(np.abs(dlon) > 180, ((mid[:, 1] + 360) % 360) - 180, mid[:, 1])
    return pd.DataFrame(mid, columns=["lat", "lon", "alt_ft"])


def write_table(
    table: pd.DataFrame,
    path: Path | None,
    kind: str,
    *,
    out: TextIO | None = None,
    positions: pd.DataFrame | None = None,
    name_column: str = "a",
) -> None:
    """Write ``table`` to ``path`` (or the text stream ``out`` for jsonl/csv) as ``kind``."""
    try:
        if kind == "parquet":
            if path is None:
                raise InvalidInputError(
                    field="--out", reason="Parquet needs a file (--out x.parquet)"
                )
            table.to_parquet(path, index=False)
            return
        if kind == "kml":
            if path is None:
                raise InvalidInputError(field="--out", reason="KML needs a file (--out x.kml)")
            _write_kml(table, path, _midpoints(table, positions))
            return
        if path is None:
            assert out is not None
            _write_text(table, out, kind, positions)
            return
        with path.open("w", encoding="utf-8", newline="") as handle:
            _write_text(table, handle, kind, positions)
    except OSError as exc:
        raise InvalidInputError(field="--out", reason=f"cannot write {path}: {exc}") from exc


def _write_text(
    table: pd.DataFrame, out: TextIO, kind: str, positions: pd.DataFrame | None
) -> None:
    if kind == "csv":
        table.to_csv(out, index=False, lineterminator="\n")
    elif kind == "jsonl":
        write_jsonl(table, out)
    elif kind == "geojson":
        mid = _midpoints(table, positions)
        features = []
        for k, record in enumerate(_records(table)):
            lat, lon, alt = (float(x) for x in mid.iloc[k])
            geometry = None
            if math.isfinite(lat) and math.isfinite(lon):
                coords = [round(lon, 6), round(lat, 6)]
                if math.isfinite(alt):
                    coords.append(round(alt * M_PER_FT, 1))  # RFC 7946: metres
                geometry = {"type": "Point", "coordinates": coords}
            features.append({"type": "Feature", "geometry": geometry, "properties": record})
        json.dump({"type": "FeatureCollection", "features": features}, out, allow_nan=False)
        out.write("\n")
    else:
        raise InvalidInputError(field="--out", reason=f"unknown output format {kind!r}")


def _write_kml(table: pd.DataFrame, path: Path, mid: pd.DataFrame) -> None:
    try:  # the optional "plot" extra (pip install 'deconflict[plot]')
        import simplekml
    except ImportError as exc:  # pragma: no cover - installed with the test extra
        raise InvalidInputError(
            field="--out", reason="KML needs simplekml: pip install 'deconflict[plot]'"
        ) from exc
    kml = simplekml.Kml(name="deconflict conflicts")
    for k, record in enumerate(_records(table)):
        lat, lon, alt = (float(x) for x in mid.iloc[k])
        if not (math.isfinite(lat) and math.isfinite(lon)):
            continue
        label = f"{record.get('a', '')} / {record.get('b', '')}"
        point = kml.newpoint(name=label)
        point.coords = [(lon, lat, alt * M_PER_FT if math.isfinite(alt) else 0.0)]
        point.altitudemode = simplekml.AltitudeMode.absolute
        point.description = "\n".join(f"{key}: {value}" for key, value in record.items())
        when = record.get("time") or record.get("min_range_time")
        if when:
            point.timestamp.when = str(when)
    kml.save(str(path))
