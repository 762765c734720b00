"""The columnar *reports* table every feed reader yields, and per-aircraft message assembly.

A report is one observation of one aircraft at one time. Every reader in
:mod:`deconflict.formats` returns a :class:`pandas.DataFrame` with these columns (index ``row``:
the 1-based record number in the source: line, message or frame)::

    time       datetime64[ns, UTC]   when the report was valid
    id         str                   24-bit ICAO address as 6 lowercase hex (or the source's id)
    callsign   str                   ATC callsign, '' when unknown
    lat, lon   float64               WGS84 degrees
    alt_ft     float64               barometric (pressure) altitude, ft (1013.25 hPa reference)
    gs_kt      float64               ground speed, kt
    track_deg  float64               track over ground, degrees true
    vs_fpm     float64               vertical rate, ft/min (+ climb)
    onground   float64               1.0 on the ground, 0.0 airborne, NaN unknown

Unknown numbers are NaN. Feeds whose messages carry only part of a state (SBS-1, Mode S:
position, velocity and identity arrive separately) go through :class:`Assembler`, which carries
each aircraft's latest velocity, altitude and identity forward onto its position reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "NUMBER_COLUMNS",
    "REPORT_COLUMNS",
    "Assembler",
    "empty_reports",
    "make_reports",
]

NUMBER_COLUMNS: Final = ("lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm", "onground")
"""Float64 columns of a reports table (``onground`` is 1.0 / 0.0 / NaN)."""

REPORT_COLUMNS: Final = ("time", "id", "callsign", *NUMBER_COLUMNS)
"""Columns of a reports table, in order."""

_CARRIED: Final = ("callsign", "alt_ft", "gs_kt", "track_deg", "vs_fpm", "onground")
"""Fields an :class:`Assembler` carries forward from earlier messages of the same aircraft."""


def empty_reports() -> pd.DataFrame:
    """A reports table with no rows (right columns and dtypes)."""
    return make_reports({}, rows=np.empty(0, dtype=np.int64))


def make_reports(
    columns: Mapping[str, Any], *, rows: npt.ArrayLike | None = None, party: Any = None
) -> pd.DataFrame:
    """Build a reports table from column arrays; absent columns become NaN / ''.

    ``columns["time"]`` may be Unix seconds (float) or datetimes; ``rows`` defaults to 1..n.
    """
    n = len(next(iter(columns.values()))) if columns else 0
    out: dict[str, Any] = {}
    raw_time = columns.get("time")
    if raw_time is None:
        out["time"] = pd.DatetimeIndex(np.full(n, np.datetime64("NaT"), "datetime64[ns]"), tz="UTC")
    else:
        out["time"] = _as_utc(raw_time)
    ids = columns.get("id")
    out["id"] = _text(ids, n)
    out["callsign"] = _text(columns.get("callsign"), n)
    for name in NUMBER_COLUMNS:
        value = columns.get(name)
        if value is None:
            out[name] = np.full(n, np.nan)
        else:
            out[name] = pd.to_numeric(pd.Series(value, copy=False), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
    if party is not None:
        out["party"] = party
    index = np.arange(1, n + 1, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    return pd.DataFrame(out, index=pd.Index(index, dtype=np.int64, name="row"))


def _as_utc(values: Any) -> pd.DatetimeIndex:
    series = pd.Series(values, copy=False)
    if pd.api.types.is_numeric_dtype(series.dtype):
        seconds = series.to_numpy(dtype=np.float64, na_value=np.nan)
        whole = np.floor(seconds)
        micros = np.round((seconds - whole) * 1e6)
        nanos = whole * 1e9 + micros * 1e3
        ok = np.isfinite(nanos)
        ints = np.where(ok, nanos, 0).astype(np.int64)
        stamps = ints.view("datetime64[ns]").copy()
        stamps[~ok] = np.datetime64("NaT")
        return pd.DatetimeIndex(stamps, tz=None).tz_localize("UTC")
    parsed = pd.to_datetime(series, utc=True, errors="coerce")
    return pd.DatetimeIndex(parsed).as_unit("ns")


def _text(values: Any, n: int) -> npt.NDArray[np.object_]:
    if values is None:
        return np.full(n, "", dtype=object)
    series = pd.Series(values, dtype=object, copy=False)
    return series.fillna("").astype(str).str.strip().to_numpy(dtype=object)


class Assembler:
    """Per-aircraft assembly of partial messages into complete position reports.

    Feed it message tables in arrival order (:meth:`push`); it forward-fills each aircraft's
    callsign, altitude, velocity and ground flag onto later messages, carries them across
    pushes (so a stream can be processed in bounded chunks), and returns only the messages that
    carry a position. A carried field older than ``max_field_age_s`` (s) is not used.
    """

    def __init__(self, *, max_field_age_s: float = 60.0) -> None:
        self.max_field_age_s = max_field_age_s
        self._carry = pd.DataFrame()

    def push(self, messages: pd.DataFrame) -> pd.DataFrame:
        """Assemble ``messages`` (a reports table; NaN where a message lacks a field)."""
        if len(messages) == 0:
            return messages
        frame = messages.reset_index()
        frame["_new"] = True
        stamp = frame["time"].to_numpy(dtype="datetime64[ns]").view(np.int64).astype(np.float64)
        for name in _CARRIED:
            if name == "callsign":
                known = frame[name].ne("").to_numpy(dtype=bool)
                frame[name] = frame[name].where(known, None)
            else:
                known = frame[name].notna().to_numpy(dtype=bool)
            frame[f"_t_{name}"] = np.where(known, stamp, np.nan)
        if len(self._carry):
            frame = pd.concat([self._carry, frame], ignore_index=True)
        carried = [*_CARRIED, *(f"_t_{n}" for n in _CARRIED)]
        filled = frame[carried].groupby(frame["id"].to_numpy(), sort=False).ffill()
        frame[carried] = filled
        last = frame.groupby("id", sort=False).tail(1)
        self._carry = last[["id", *carried]].assign(_new=False, row=0).reset_index(drop=True)
        now = frame["time"].to_numpy(dtype="datetime64[ns]").view(np.int64).astype(np.float64)
        limit_ns = self.max_field_age_s * 1e9
        for name in _CARRIED:
            stale = ~(now - frame[f"_t_{name}"].to_numpy(dtype=np.float64) <= limit_ns)
            if name == "callsign":
                frame.loc[stale, name] = ""
                frame[name] = frame[name].fillna("")
            else:
                frame.loc[stale, name] = np.nan
        keep = np.array(frame["_new"].to_numpy(dtype=bool), copy=True)
        keep &= frame["lat"].notna().to_numpy() & frame["lon"].notna().to_numpy()
        out = frame.loc[keep]
        out = out.astype({"row": np.int64}).set_index("row")[list(messages.columns)]
        out["callsign"] = out["callsign"].astype(object)
        return out
