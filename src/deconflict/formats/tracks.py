"""Aircraft-state files: read CSV, JSON lines and Parquet snapshots into a pandas DataFrame.

This module owns the *file* side of tactical detection: it turns bytes into typed columns and
reports parse errors with the file's row number. Range checks (latitude within ±90°, negative
speeds, NaN, duplicate ids within a snapshot) belong to the tactical kernel, which validates
every snapshot it is given; :func:`split_snapshots` keeps the file row numbers so that the caller
can translate the kernel's snapshot-relative row back to the file.

Layout (one aircraft state per row; column order is free, extra columns are ignored)::

    id     lat      lon      alt_ft  gs_kt  track_deg  vs_fpm  [party]  [time]
    str    deg N    deg E    ft      kt     deg true   ft/min  str      ISO-8601 UTC
           WGS84    WGS84    pressure       clockwise  + climb          with offset,
                                            from N                      or Unix seconds

Formats, chosen by the file name's suffix: ``.csv`` / ``.csv.gz`` (header row), ``.jsonl`` /
``.jsonl.gz`` / ``.ndjson`` (one JSON object per line) and ``.parquet`` / ``.pq``.

Row numbers are 1-based *data* row numbers: row 1 is the first record after the CSV header, the
first line of a JSON-lines file, the first row of a Parquet file. The returned frame's index
(named ``row``) holds them.

The shared data's normalised track schema (``timestamp, icao24, callsign, lat, lon, alt_ft, gs_kt,
track_deg, vs_fpm, ...``) is read through :data:`NORMALISED_SCHEMA_MAPPING`: ``icao24`` becomes
``id`` and ``timestamp`` becomes ``time`` unless the file already has those columns.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from deconflict.errors import InvalidInputError

__all__ = [
    "NORMALISED_SCHEMA_MAPPING",
    "NUMERIC_COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "Snapshot",
    "read_tracks",
    "split_snapshots",
]

REQUIRED_COLUMNS: Final = ("id", "lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm")
"""Columns every aircraft-state file must have (after the column mapping)."""

NUMERIC_COLUMNS: Final = ("lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm")
"""Columns parsed as float64: degrees, feet, knots, degrees, feet per minute."""

OPTIONAL_COLUMNS: Final = ("party", "time", "callsign", "onground", "alerter")
"""Optional columns: ``party`` (text), ``time`` (splits the file into snapshots), ``callsign``
(text, passed through to the output) and ``onground`` (``True``/``False``/empty: 1.0/0.0/NaN)."""

NORMALISED_SCHEMA_MAPPING: Final[Mapping[str, str]] = MappingProxyType(
    {"icao24": "id", "timestamp": "time"}
)
"""Default column mapping (source name -> our name) for the shared normalised track schema.

Applied only where the target column is absent, so a file that has both ``id`` and ``icao24``
keeps its ``id``.
"""

_NA_TOKENS: Final = frozenset({"", "nan", "na", "n/a", "null", "none"})
"""Cell texts (lower-cased, stripped) read as a missing number (NaN), left to range validation."""

_NA_CELLS: Final = (
    "",
    "nan",
    "NaN",
    "NAN",
    "na",
    "NA",
    "n/a",
    "N/A",
    "null",
    "NULL",
    "None",
    "none",
)
"""The same tokens, as the CSV parser matches them (exactly)."""

_TZ_SUFFIX = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")
_CSV_LINE = re.compile(r"line (\d+)")

_SUFFIXES: Final[Mapping[str, str]] = MappingProxyType(
    {
        ".csv": "csv",
        ".csv.gz": "csv",
        ".jsonl": "jsonl",
        ".jsonl.gz": "jsonl",
        ".ndjson": "jsonl",
        ".ndjson.gz": "jsonl",
        ".parquet": "parquet",
        ".pq": "parquet",
    }
)


@dataclass(frozen=True)
class Snapshot:
    """The aircraft states of one instant, as the tactical kernel takes them.

    Attributes
    ----------
    time:
        The snapshot time (timezone-aware UTC), or ``None`` when the file has no ``time`` column.
    states:
        The states: columns ``id, lat, lon, alt_ft, gs_kt, track_deg, vs_fpm`` (+ ``party``), a
        fresh 0-based ``RangeIndex`` in file order.
    rows:
        ``rows[k]`` is the 1-based file data row of ``states.iloc[k]``.
    """

    time: pd.Timestamp | None
    states: pd.DataFrame
    rows: npt.NDArray[np.int64]

    def file_row(self, snapshot_row: int) -> int:
        """Translate a 1-based row of :attr:`states` to the 1-based file data row."""
        return int(self.rows[snapshot_row - 1])


def read_tracks(
    path: str | Path,
    *,
    column_mapping: Mapping[str, str] | None = None,
    file_format: str | None = None,
) -> pd.DataFrame:
    """Read an aircraft-state file into a DataFrame.

    Parameters
    ----------
    path:
        A ``.csv``, ``.csv.gz``, ``.jsonl``, ``.jsonl.gz``, ``.ndjson`` or ``.parquet`` file.
    column_mapping:
        Extra renames, source column -> our column (``{"hex": "id"}``), applied on top of
        :data:`NORMALISED_SCHEMA_MAPPING`. A rename never overwrites a column the file already has.
    file_format:
        ``"csv"``, ``"jsonl"`` or ``"parquet"`` to override the suffix.

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (str), ``lat``, ``lon`` (deg), ``alt_ft``, ``gs_kt``, ``track_deg``,
        ``vs_fpm`` (float64), then ``party`` (str) and ``time`` (``datetime64[ns, UTC]``) when
        present. The index, named ``row``, holds the 1-based file data row numbers.

    Raises
    ------
    InvalidInputError
        Missing columns, non-numeric values, unparseable or zone-less times, unreadable files;
        the error names the column and the 1-based data row.
    """
    source = Path(path)
    kind = file_format or _format_of(source)
    mapping = dict(NORMALISED_SCHEMA_MAPPING)
    mapping.update(column_mapping or {})
    wanted = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS) | set(mapping)
    try:
        if kind == "csv":
            numeric = {c for c in wanted if mapping.get(c, c) in NUMERIC_COLUMNS}
            raw, where = _read_csv(source, wanted, numeric), "header"
        elif kind == "jsonl":
            raw, where = _read_jsonl(source, wanted), "line 1"
        elif kind == "parquet":
            raw, where = _read_parquet(source, wanted), "schema"
        else:
            raise InvalidInputError(
                field="file_format", reason=f"unknown format {kind!r}; use csv, jsonl or parquet"
            )
    except FileNotFoundError as exc:
        raise InvalidInputError(field="FILE", reason=f"no such file: {source}") from exc
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InvalidInputError(field="FILE", reason=f"cannot read {source}: {exc}") from exc
    return _normalise(raw, mapping, missing_where=where)


def split_snapshots(tracks: pd.DataFrame) -> list[Snapshot]:
    """Split the output of :func:`read_tracks` into snapshots, one per distinct ``time``.

    Without a ``time`` column the whole frame is one snapshot (``time=None``); an empty frame
    gives no snapshot. Snapshots come in increasing time; states keep file order within each.
    """
    rows = np.asarray(tracks.index, dtype=np.int64)
    state_columns = [c for c in (*REQUIRED_COLUMNS, "party") if c in tracks.columns]
    if len(tracks) == 0:
        return []
    if "time" not in tracks.columns:
        states = tracks[state_columns].reset_index(drop=True)
        return [Snapshot(time=None, states=states, rows=rows)]
    times_ns = tracks["time"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    order = np.argsort(times_ns, kind="stable")
    sorted_ns = times_ns[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(sorted_ns)) + 1))
    ends = np.concatenate((starts[1:], [len(order)]))
    # one take in time order, then contiguous slices (cheaper than a take per snapshot)
    body = tracks[state_columns].iloc[order].reset_index(drop=True)
    snapshots = []
    for start, end in zip(starts, ends, strict=True):
        take = order[start:end]
        states = body.iloc[start:end].reset_index(drop=True)
        when = pd.Timestamp(int(sorted_ns[start]), unit="ns", tz="UTC")
        snapshots.append(Snapshot(time=when, states=states, rows=rows[take]))
    return snapshots


# --------------------------------------------------------------------------- readers


def _format_of(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return _SUFFIXES[suffix]
    known = ", ".join(_SUFFIXES)
    raise InvalidInputError(field="FILE", reason=f"unknown file type {path.name!r}; use {known}")


def _read_csv(path: Path, wanted: set[str], numeric: set[str]) -> pd.DataFrame:
    """Wanted columns (index = data row number): ``numeric`` ones as float64 when every cell
    parses, everything else as text; missing trailing cells become ''.

    The fast path lets the C parser convert numbers. If any numeric cell does not parse, the
    file is read again as text so that the error can name the row.
    """
    dtypes: defaultdict[str, str] = defaultdict(lambda: "str", {c: "float64" for c in numeric})
    try:
        raw = _parse_csv(path, dtype=dtypes, na_values={c: list(_NA_CELLS) for c in numeric})
    except pd.errors.ParserError:
        raise
    except ValueError:  # a numeric cell that is not a number: find it on the text path
        raw = _parse_csv(path, dtype=defaultdict(lambda: "str"), na_values=None)
    if raw is None:
        return pd.DataFrame()
    raw.columns = [str(c).strip() for c in raw.columns]
    if raw.columns.duplicated().any():
        twice = sorted({str(c) for c in raw.columns[raw.columns.duplicated()]})
        raise InvalidInputError(field=twice[0], reason="column appears twice", row="header")
    raw = raw[[c for c in raw.columns if c in wanted]]
    raw.index = pd.RangeIndex(1, len(raw) + 1)
    return raw.fillna({c: "" for c in raw.columns if raw[c].dtype != np.float64})


def _parse_csv(
    path: Path, *, dtype: defaultdict[str, str], na_values: dict[str, list[str]] | None
) -> pd.DataFrame | None:
    """``pandas.read_csv`` with our settings; None for a file without even a header.

    Every column is tokenised (``usecols`` would silently drop surplus cells of ragged rows).
    """
    try:
        frame: pd.DataFrame = pd.read_csv(
            path,
            dtype=dtype,
            keep_default_na=False,
            na_values=na_values,
            compression="infer",
            skipinitialspace=True,
        )
    except pd.errors.EmptyDataError:
        return None
    except pd.errors.ParserError as exc:
        match = _CSV_LINE.search(str(exc))
        row = int(match.group(1)) - 1 if match else None
        detail = str(exc).split("C error: ")[-1].strip()
        raise InvalidInputError(
            field="columns", reason=f"malformed CSV: {detail}", row=row
        ) from exc
    return frame


def _read_jsonl(path: Path, wanted: set[str]) -> pd.DataFrame:
    """One JSON object per line (index = line number); blank lines are skipped.

    A wanted key absent from one record but present in others is kept as ``_ABSENT`` so the
    error can name that line.
    """
    opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
    columns: dict[str, list[Any]] = {}
    seen = 0
    lines: list[int] = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(
                    field="json",
                    reason=f"not valid JSON: {exc.msg} (column {exc.colno})",
                    row=line_no,
                ) from exc
            if not isinstance(record, dict):
                raise InvalidInputError(
                    field="json", reason="each line must be a JSON object", row=line_no
                )
            for key in wanted:
                if key in record:
                    if key not in columns:
                        columns[key] = [_ABSENT] * seen
                    columns[key].append(record[key])
                elif key in columns:
                    columns[key].append(_ABSENT)
            seen += 1
            lines.append(line_no)
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
    if not columns:
        frame = pd.DataFrame(index=pd.RangeIndex(seen))
    frame.index = pd.Index(lines, dtype=np.int64)
    return frame


class _Absent:
    """Marker for a key missing from a JSON-lines record."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "<absent>"


_ABSENT: Final = _Absent()


def _read_parquet(path: Path, wanted: set[str]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        names = [n for n in schema.names if n in wanted]
        table = pq.read_table(path, columns=names)
    except pa.ArrowInvalid as exc:
        raise InvalidInputError(field="FILE", reason=f"not a Parquet file: {exc}") from exc
    frame: pd.DataFrame = table.to_pandas()
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


# --------------------------------------------------------------------------- normalising


def _normalise(
    raw: pd.DataFrame, mapping: Mapping[str, str], *, missing_where: str
) -> pd.DataFrame:
    if len(raw) == 0 and len(raw.columns) == 0:  # an empty file: no aircraft, no header
        empty: dict[str, Any] = {c: np.empty(0, dtype=np.float64) for c in NUMERIC_COLUMNS}
        empty["id"] = np.empty(0, dtype=object)
        frame = pd.DataFrame(empty, index=pd.Index([], dtype=np.int64, name="row"))
        return frame[list(REQUIRED_COLUMNS)]
    renames = {src: dst for src, dst in mapping.items() if src in raw.columns and dst not in raw}
    raw = raw.rename(columns=renames)
    for column in REQUIRED_COLUMNS:
        if column not in raw.columns:
            sources = [src for src, dst in mapping.items() if dst == column]
            also = f" (or {', '.join(repr(s) for s in sources)})" if sources else ""
            found = ", ".join(map(str, raw.columns)) or "none"
            raise InvalidInputError(
                field=column,
                reason=f"required column{also} is missing; columns found: {found}",
                row=missing_where,
            )
    rows = np.asarray(raw.index, dtype=np.int64)
    out: dict[str, Any] = {"id": _text_column(raw["id"], "id", rows, required=True)}
    for column in NUMERIC_COLUMNS:
        out[column] = _numeric_column(raw[column], column, rows)
    if "party" in raw.columns:
        out["party"] = _text_column(raw["party"], "party", rows, required=False)
    if "time" in raw.columns:
        out["time"] = _time_column(raw["time"], rows)
    if "callsign" in raw.columns:
        out["callsign"] = raw["callsign"].map(_cell_text).to_numpy(dtype=object)
    if "onground" in raw.columns:
        out["onground"] = _flag_column(raw["onground"])
    if "alerter" in raw.columns:  # DO-365B alerter per aircraft (deconflict.daa), text
        out["alerter"] = raw["alerter"].map(_cell_text).to_numpy(dtype=object)
    frame = pd.DataFrame(out, index=pd.Index(rows, dtype=np.int64, name="row"))
    return frame


_TRUE: Final = frozenset({"true", "1", "1.0", "yes", "t"})
_FALSE: Final = frozenset({"false", "0", "0.0", "no", "f"})


def _flag_column(values: pd.Series[Any]) -> npt.NDArray[np.float64]:
    """A boolean-ish column as 1.0 / 0.0, NaN where empty or unrecognised."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
        return np.asarray(numbers, dtype=np.float64)
    text = values.map(_cell_text).str.lower()
    flags = np.where(text.isin(_TRUE), 1.0, np.where(text.isin(_FALSE), 0.0, np.nan))
    return np.asarray(flags, dtype=np.float64)


def _cell_text(value: Any) -> str:
    """A cell as stripped text; None, pandas NA and float NaN become ''."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _first_bad(mask: npt.NDArray[np.bool_], rows: npt.NDArray[np.int64]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(rows[hits[0]]) if hits.size else None


def _check_absent(values: pd.Series[Any], column: str, rows: npt.NDArray[np.int64]) -> None:
    if values.dtype == object:
        absent = values.map(lambda v: v is _ABSENT).to_numpy(dtype=bool)
        row = _first_bad(absent, rows)
        if row is not None:
            raise InvalidInputError(field=column, reason="key is missing from this record", row=row)


def _text_column(
    values: pd.Series[Any], column: str, rows: npt.NDArray[np.int64], *, required: bool
) -> npt.NDArray[np.object_]:
    _check_absent(values, column, rows)
    as_list = values.tolist()
    out = np.empty(len(as_list), dtype=object)
    for k, value in enumerate(as_list):
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            text = ""
        elif isinstance(value, bool) or not isinstance(value, str | int | np.integer):
            raise InvalidInputError(
                field=column, reason=f"must be text, got {value!r}", row=int(rows[k])
            )
        else:
            text = str(value).strip()
        if required and not text:
            raise InvalidInputError(field=column, reason="is empty", row=int(rows[k]))
        out[k] = text
    return out


def _numeric_column(
    values: pd.Series[Any], column: str, rows: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    if pd.api.types.is_bool_dtype(values.dtype):
        row = int(rows[0]) if len(rows) else None
        raise InvalidInputError(field=column, reason="must be a number, got a boolean", row=row)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    _check_absent(values, column, rows)
    is_bool = values.map(lambda v: isinstance(v, bool)).to_numpy(dtype=bool)
    row = _first_bad(is_bool, rows)
    if row is not None:
        raise InvalidInputError(field=column, reason="must be a number, got a boolean", row=row)
    text = values.map(_cell_text)
    is_na = text.str.lower().isin(_NA_TOKENS).to_numpy(dtype=bool)
    parsed = pd.to_numeric(text.where(~is_na, "nan"), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    bad = np.isnan(parsed) & ~is_na
    row = _first_bad(bad, rows)
    if row is not None:
        shown = text.iloc[int(np.flatnonzero(bad)[0])]
        raise InvalidInputError(field=column, reason=f"not a number: {shown!r}", row=row)
    return parsed


def _time_column(values: pd.Series[Any], rows: npt.NDArray[np.int64]) -> pd.DatetimeIndex:
    """ISO-8601 texts with a UTC offset (``Z``, ``+02:00``), Unix seconds, or aware datetimes."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        missing = values.isna().to_numpy(dtype=bool)
        _raise_missing_time(missing, rows)
        return pd.DatetimeIndex(values.dt.tz_convert("UTC")).as_unit("ns")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        row = int(rows[0]) if len(rows) else None
        raise InvalidInputError(
            field="time", reason="timestamps have no time zone; store them in UTC", row=row
        )
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        seconds = values.to_numpy(dtype=np.float64, na_value=np.nan)
        _raise_missing_time(np.isnan(seconds), rows)
        return _from_unix_seconds(seconds)
    _check_absent(values, "time", rows)
    text = values.map(_cell_text)
    _raise_missing_time(text.eq("").to_numpy(dtype=bool), rows)
    numeric = pd.to_numeric(text, errors="coerce")
    if len(text) and numeric.notna().all():
        return _from_unix_seconds(numeric.to_numpy(dtype=np.float64))
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna().to_numpy(dtype=bool)
    row = _first_bad(bad, rows)
    if row is not None:
        shown = text.iloc[int(np.flatnonzero(bad)[0])]
        raise InvalidInputError(field="time", reason=f"not an ISO-8601 time: {shown!r}", row=row)
    zoneless = ~text.str.contains(_TZ_SUFFIX).to_numpy(dtype=bool)
    row = _first_bad(zoneless, rows)
    if row is not None:
        shown = text.iloc[int(np.flatnonzero(zoneless)[0])]
        raise InvalidInputError(
            field="time",
            reason=f"{shown!r} has no UTC offset; write e.g. 2018-08-01T05:00:00Z",
            row=row,
        )
    return pd.DatetimeIndex(parsed).as_unit("ns")


def _raise_missing_time(missing: npt.NDArray[np.bool_], rows: npt.NDArray[np.int64]) -> None:
    row = _first_bad(missing, rows)
    if row is not None:
        raise InvalidInputError(field="time", reason="is empty", row=row)


def _from_unix_seconds(seconds: npt.NDArray[np.float64]) -> pd.DatetimeIndex:
    # Split whole and fractional seconds: seconds * 1e9 in float64 would lose ~256 ns at 1.5e9 s.
    # Float64 holds Unix seconds to about 0.2 us today, so the fraction is kept to microseconds.
    whole = np.floor(seconds)
    micros = np.round((seconds - whole) * 1e6).astype(np.int64)
    nanos = whole.astype(np.int64) * 1_000_000_000 + micros * 1000
    return pd.DatetimeIndex(pd.to_datetime(nanos, unit="ns", utc=True)).as_unit("ns")
