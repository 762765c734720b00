"""Validation of a submitted batch of track states (columnar JSON), all or nothing.

Wire form (``POST /v1/tracks``): the detector's columns plus ``time``, as parallel arrays::

    {"time": ["2026-11-26T10:00:00Z", ...] | [1795000000.0, ...] | "2026-11-26T10:00:00Z",
     "id": ["b1", ...], "lat": [...], "lon": [...], "alt_ft": [...], "gs_kt": [...],
     "track_deg": [...], "vs_fpm": [...], "callsign": ["VIPER11", ...]}   # callsign optional

``time`` is one value for the whole batch or one per row, ISO 8601 with an offset or Unix
seconds. Any invalid value rejects the whole batch with the field and the 1-based row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np

from deconflict.errors import DeconflictError, InvalidInputError
from deconflict.units import FloatArray

ID_MAX_LEN: Final = 64
"""Longest accepted aircraft id, characters."""

MAX_ROWS: Final = 10_000
"""Hard cap on rows per batch (docs/live.md): a larger configured maximum is lowered to it."""

RANGES: Final[dict[str, tuple[str, float, float]]] = {
    "lat": ("lat_deg", -90.0, 90.0),
    "lon": ("lon_deg", -180.0, 180.0),
    "alt_ft": ("alt_ft", -2000.0, 100_000.0),
    "gs_kt": ("gs_kt", 0.0, 2000.0),
    "track_deg": ("track_deg", 0.0, 360.0),
    "vs_fpm": ("vs_fpm", -30_000.0, 30_000.0),
}
"""Wire column -> (internal column, lowest, highest accepted value)."""

_NUMBER_TYPES: Final = frozenset({int, float})


class BatchTooLargeError(DeconflictError):
    """More rows in one batch than the configured maximum."""

    status = 413
    title = "Batch too large"


@dataclass(frozen=True)
class TrackBatch:
    """A validated batch: ids, callsigns and float columns named as in ``TrackStates``."""

    ids: list[str]
    callsigns: list[str] | None
    columns: dict[str, FloatArray]

    def __len__(self) -> int:
        return len(self.ids)


def _time_value(value: Any, row: int) -> float:
    if isinstance(value, bool):
        raise InvalidInputError(field="time", reason="must be ISO 8601 or Unix seconds", row=row)
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            raise InvalidInputError(field="time", reason="out of range", row=row) from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInputError(field="time", reason="not an ISO 8601 time", row=row) from None
        if parsed.tzinfo is None:
            raise InvalidInputError(field="time", reason="needs a UTC offset ('Z')", row=row)
        return parsed.timestamp()
    raise InvalidInputError(field="time", reason="must be ISO 8601 or Unix seconds", row=row)


def parse_batch(
    payload: Any,
    *,
    now_s: float,
    max_rows: int,
    max_future_s: float,
    max_past_s: float,
) -> TrackBatch:
    """Validate ``payload`` (decoded JSON) into a :class:`TrackBatch` or raise.

    Parameters
    ----------
    payload:
        The decoded request body.
    now_s:
        Server time, Unix seconds (states later than ``now_s + max_future_s`` or earlier than
        ``now_s - max_past_s`` are refused).
    max_rows:
        Largest accepted batch (rows, never above :data:`MAX_ROWS`); more raises
        :class:`BatchTooLargeError` (413). An id given twice for the same time is refused
        (422); states of one aircraft at different times are all kept (history).
    """
    if not isinstance(payload, Mapping):
        raise InvalidInputError(field="body", reason="must be a JSON object of column arrays")
    ids = payload.get("id")
    if not isinstance(ids, list) or not ids:
        raise InvalidInputError(field="id", reason="must be a non-empty array of strings")
    n = len(ids)
    limit = min(max_rows, MAX_ROWS)
    if n > limit:
        raise BatchTooLargeError(f"{n} rows in one batch; at most {limit} are accepted")
    for k, value in enumerate(ids):
        if not isinstance(value, str) or not value or len(value) > ID_MAX_LEN:
            raise InvalidInputError(
                field="id", reason=f"must be a string of 1-{ID_MAX_LEN} characters", row=k + 1
            )
    unknown = set(payload) - {"id", "time", "callsign", *RANGES}
    if unknown:
        raise InvalidInputError(field=sorted(unknown)[0], reason="unknown column")
    columns: dict[str, FloatArray] = {}
    for wire, (name, low, high) in RANGES.items():
        raw = payload.get(wire)
        if not isinstance(raw, list) or len(raw) != n:
            raise InvalidInputError(field=wire, reason=f"must be an array of {n} numbers")
        if not set(map(type, raw)) <= _NUMBER_TYPES:  # C-speed check; bool is not a number
            bad = next(k for k, v in enumerate(raw) if type(v) not in _NUMBER_TYPES)
            raise InvalidInputError(field=wire, reason="must be a number", row=bad + 1)
        try:
            values = np.asarray(raw, dtype=np.float64)
        except (OverflowError, ValueError, TypeError):
            raise InvalidInputError(field=wire, reason="must be finite numbers") from None
        finite = np.isfinite(values)
        if not finite.all():
            bad_row = int(np.flatnonzero(~finite)[0]) + 1
            raise InvalidInputError(field=wire, reason="must be a finite number", row=bad_row)
        outside = (values < low) | (values > high)
        if outside.any():
            bad_row = int(np.flatnonzero(outside)[0]) + 1
            raise InvalidInputError(
                field=wire, reason=f"must be in [{low:g}, {high:g}]", row=bad_row
            )
        columns[name] = values
    columns["track_deg"] = columns["track_deg"] % 360.0
    raw_time = payload.get("time")
    if isinstance(raw_time, list):
        if len(raw_time) != n:
            raise InvalidInputError(field="time", reason=f"must have {n} values or be one value")
        times = np.array([_time_value(v, k + 1) for k, v in enumerate(raw_time)], dtype=np.float64)
    elif raw_time is None:
        raise InvalidInputError(field="time", reason="is required (ISO 8601 or Unix seconds)")
    else:
        times = np.full(n, _time_value(raw_time, 1))
    if not np.isfinite(times).all():
        raise InvalidInputError(field="time", reason="must be finite")
    future = times > now_s + max_future_s
    if future.any():
        raise InvalidInputError(
            field="time",
            reason=f"more than {max_future_s:g} s in the future",
            row=int(np.flatnonzero(future)[0]) + 1,
        )
    past = times < now_s - max_past_s
    if past.any():
        raise InvalidInputError(
            field="time",
            reason=f"more than {max_past_s:g} s in the past",
            row=int(np.flatnonzero(past)[0]) + 1,
        )
    columns["time_s"] = times
    if len(set(ids)) != n:  # one aircraft twice at one time: contradictory states
        seen: set[tuple[str, float]] = set()
        for k, (value, t) in enumerate(zip(ids, times.tolist(), strict=True)):
            if (value, t) in seen:
                raise InvalidInputError(
                    field="id",
                    reason=f"duplicate aircraft id {value!r} at the same time in one batch",
                    row=k + 1,
                )
            seen.add((value, t))
    callsigns = payload.get("callsign")
    if callsigns is not None:
        if not isinstance(callsigns, list) or len(callsigns) != n:
            raise InvalidInputError(field="callsign", reason=f"must be an array of {n} strings")
        for k, value in enumerate(callsigns):
            if not isinstance(value, str) or len(value) > 16:
                raise InvalidInputError(field="callsign", reason="at most 16 characters", row=k + 1)
    return TrackBatch(ids=list(ids), callsigns=callsigns, columns=columns)
