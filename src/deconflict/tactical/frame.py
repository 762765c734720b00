"""The table surface of the detector: ``validate_states`` and ``detect`` on DataFrames.

Input columns: ``id`` (text; numbers are converted to text), ``lat``, ``lon`` (WGS84 degrees),
``alt_ft``, ``gs_kt``, ``track_deg``, ``vs_fpm`` and an optional ``party``; other columns are
ignored. Longitudes must lie in [-180, 180] (both ends accepted, nothing is wrapped silently);
``track_deg`` may be any finite number (it is periodic).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from deconflict.errors import InvalidInputError
from deconflict.tactical._vertical import VerticalMode
from deconflict.tactical.constants import HORIZONTAL_NM, LOOKAHEAD_S, VERTICAL_FT
from deconflict.tactical.kernel import (
    Conflicts,
    detect_arrays,
    detect_arrays_segments,
    detect_validated,
)

ArraysKernel = Callable[..., Conflicts]
"""A detector with ``detect_arrays``'s signature and result (the compiled kernel, or the Ray
tiles of ``deconflict.cluster.ray_detect``)."""

STATE_COLUMNS: Final = ("id", "lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm")
"""Required input columns, in order."""

NUMERIC_COLUMNS: Final = STATE_COLUMNS[1:]

CONFLICT_COLUMNS: Final = (
    "a",
    "b",
    "t_in_s",
    "t_out_s",
    "t_cpa_s",
    "hmd_nm",
    "vmd_ft",
    "range_nm",
    "vertical_ft",
    "bearing_deg",
)
"""Output columns of ``detect`` (``party_a``, ``party_b`` follow when a party column is given)."""


class HasData(Protocol):
    """Anything with a ``.data`` DataFrame (e.g. ``traffic.core.Traffic``; never imported)."""

    @property
    def data(self) -> pd.DataFrame: ...


_RANGES: Final = {"lat": (-90.0, 90.0, "degrees"), "lon": (-180.0, 180.0, "degrees")}


def _first_bad(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _numeric(name: str, raw: pd.Series, row_offset: int) -> npt.NDArray[np.float64]:
    if raw.dtype == bool:
        raise InvalidInputError(
            field=name, reason="must be numeric, not boolean", row=row_offset + 1
        )
    if isinstance(raw.dtype, np.dtype) and raw.dtype.kind in "fiu":
        # plain numpy numbers (the common case): ``pd.to_numeric`` would return them unchanged
        arr = np.asarray(raw.to_numpy(), dtype=np.float64)
    else:
        arr = np.asarray(pd.to_numeric(raw, errors="coerce"), dtype=np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        k = _first_bad(~finite)
        original = raw.iloc[k]
        if pd.isna(original) or (isinstance(original, str) and not original.strip()):
            reason = "missing value"
        elif np.isnan(arr[k]):
            reason = f"not a number: {original!r}"
        else:
            reason = f"must be finite, not {original!r}"
        raise InvalidInputError(field=name, reason=reason, row=row_offset + k + 1)
    if name in _RANGES:
        lo, hi, unit = _RANGES[name]
        bad = (arr < lo) | (arr > hi)
        if bad.any():
            k = _first_bad(bad)
            raise InvalidInputError(
                field=name,
                reason=f"{arr[k]!r} is outside [{lo:g}, {hi:g}] {unit}",
                row=row_offset + k + 1,
            )
    if name == "gs_kt":
        bad = arr < 0.0
        if bad.any():
            k = _first_bad(bad)
            raise InvalidInputError(
                field=name,
                reason=f"ground speed must not be negative ({arr[k]!r})",
                row=row_offset + k + 1,
            )
    return arr


def _stored_values(frame: pd.DataFrame, name: str) -> object:
    """The values pandas stores for column ``name`` (no Series built), or None.

    ``frame[name]`` builds a Series (~30 us per column under pandas 3 on the benchmark VM, most
    of ``detect``'s cost on a 20-row snapshot); the block's own array is ~10x cheaper. Only
    read: numpy arrays come back as read-only views. None for a duplicated column name or a
    pandas without ``DataFrame._get_column_array`` (then callers take the Series path, which
    gives the same values and the exact error messages).
    """
    getter = getattr(frame, "_get_column_array", None)
    if getter is None:
        return None
    loc = frame.columns.get_loc(name)
    if not isinstance(loc, int):
        return None
    values = getter(loc)
    if type(values) is np.ndarray:
        view = values.view()
        view.flags.writeable = False
        return view
    return values


def _fast_numeric(name: str, values: object) -> npt.NDArray[np.float64] | None:
    """``values`` as float64 when they are plain numpy numbers that pass every check of
    ``_numeric`` (finite, ranges), else None (``_numeric`` then finds and names the problem)."""
    if not (isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "fiu"):
        return None
    arr = values if values.dtype == np.float64 else values.astype(np.float64)
    if name in _RANGES:
        lo, hi, _ = _RANGES[name]
        ok = bool(((arr >= lo) & (arr <= hi)).all())  # NaN fails both comparisons
    elif name == "gs_kt":
        ok = bool(np.isfinite(arr).all()) and bool((arr >= 0.0).all())
    else:
        ok = bool(np.isfinite(arr).all())
    return arr if ok else None


def _fast_text(values: object) -> npt.NDArray[np.object_] | None:
    """Stripped ids when every value is a non-blank ``str`` (``_text``'s fast path), else None."""
    if isinstance(values, np.ndarray):
        if values.dtype != object or values.ndim != 1:
            return None
        objects = values
    elif isinstance(values, pd.api.extensions.ExtensionArray) and isinstance(
        values.dtype, pd.StringDtype
    ):
        objects = values.to_numpy(dtype=object)
    else:
        return None
    if not all(type(v) is str for v in objects):
        return None
    stripped = np.array([v.strip() for v in objects], dtype=object)
    return stripped if all(stripped) else None


def _text(name: str, raw: pd.Series, row_offset: int) -> npt.NDArray[np.object_]:
    values = raw.to_numpy(dtype=object)
    if all(type(v) is str for v in values):
        # fast path, same result as below: no value is missing and ``astype(str)`` is a no-op
        stripped = np.array([v.strip() for v in values], dtype=object)
        if all(stripped):
            return stripped
    text = raw.astype(str).str.strip()
    missing = np.asarray(raw.isna(), dtype=bool) | np.asarray(text == "", dtype=bool)
    if missing.any():
        k = _first_bad(missing)
        raise InvalidInputError(field=name, reason="missing value", row=row_offset + k + 1)
    return np.asarray(text, dtype=object)


def validate_states(
    states: pd.DataFrame | Mapping[str, npt.ArrayLike], *, row_offset: int = 0
) -> pd.DataFrame:
    """Check a snapshot of aircraft states and return it normalised.

    Parameters
    ----------
    states:
        DataFrame or mapping of column name to array with the ``STATE_COLUMNS`` and an optional
        ``party``.
    row_offset:
        Added to the 1-based row numbers in error messages (for a snapshot taken from the
        middle of a file).

    Returns
    -------
    pandas.DataFrame
        A new frame with a default index: ``id`` (str), the numeric columns as float64 and
        ``party`` (str) when given.

    Raises
    ------
    InvalidInputError
        Naming the column (``field``), the 1-based ``row`` (position in ``states`` plus
        ``row_offset``) and the reason: missing column, missing or non-numeric value, NaN or
        infinity, latitude outside [-90, 90], longitude outside [-180, 180], negative ground
        speed, duplicate id.
    """
    return pd.DataFrame(_validated_columns(states, row_offset))


def _validated_columns(
    states: pd.DataFrame | Mapping[str, npt.ArrayLike], row_offset: int, *, unique: bool = True
) -> dict[str, npt.NDArray[np.float64] | npt.NDArray[np.object_]]:
    """The columns of ``validate_states`` as numpy arrays (no DataFrame built)."""
    frame = states if isinstance(states, pd.DataFrame) else pd.DataFrame(dict(states))
    labels = frame.columns
    for name in STATE_COLUMNS:
        if name not in labels:
            raise InvalidInputError(field=name, reason="missing column")
    out: dict[str, npt.NDArray[np.float64] | npt.NDArray[np.object_]] = {}
    fast_ids = _fast_text(_stored_values(frame, "id"))
    ids = _text("id", frame["id"], row_offset) if fast_ids is None else fast_ids
    out["id"] = ids
    for name in NUMERIC_COLUMNS:
        fast = _fast_numeric(name, _stored_values(frame, name))
        out[name] = _numeric(name, frame[name], row_offset) if fast is None else fast
    if "party" in labels:
        fast_party = _fast_text(_stored_values(frame, "party"))
        out["party"] = (
            _text("party", frame["party"], row_offset) if fast_party is None else fast_party
        )
    if unique:
        _check_unique_ids(ids, row_offset)
    return out


def _check_unique_ids(id_values: npt.NDArray[np.object_], row_offset: int) -> None:
    if len(set(id_values.tolist())) == len(id_values):
        return
    ids = pd.Series(id_values)
    dup = np.asarray(ids.duplicated(keep="first"), dtype=bool)
    if dup.any():
        k = _first_bad(dup)
        first = int(np.flatnonzero(np.asarray(ids == ids.iloc[k]))[0])
        raise InvalidInputError(
            field="id",
            reason=f"duplicate id {ids.iloc[k]!r} (first at row {row_offset + first + 1}); "
            "ids must be unique within one snapshot: for several snapshots in one table, "
            "add a 'time' column and detect() runs per time",
            row=row_offset + k + 1,
        )


@functools.cache
def _empty_template(with_party: bool) -> pd.DataFrame:
    """The empty conflict table, built once (never handed out: callers get a copy)."""
    data: dict[str, pd.Series] = {
        name: pd.Series([], dtype=object if name in ("a", "b") else np.float64)
        for name in CONFLICT_COLUMNS
    }
    if with_party:
        data["party_a"] = pd.Series([], dtype=object)
        data["party_b"] = pd.Series([], dtype=object)
    return pd.DataFrame(data)


_DEEP_EMPTY_COPY: Final = int(pd.__version__.split(".", 1)[0]) < 3
"""Whether the empty result must be a deep copy of the template (pandas < 3 without
copy-on-write; from pandas 3 a shallow copy cannot write through to the template)."""


@functools.cache
def _text_dtype() -> Any:
    """The dtype ``pd.DataFrame`` infers for a column of Python strings (``str`` in pandas 3)."""
    return pd.DataFrame({"a": np.array(["x"], dtype=object)}).dtypes.iloc[0]


def _table(
    columns: dict[str, npt.NDArray[np.float64] | npt.NDArray[np.object_]], rows: int
) -> pd.DataFrame:
    """``pd.DataFrame(columns)`` (float64 and all-``str`` object columns), built faster.

    ``pd.DataFrame`` on a dict infers every column's dtype (~0.4 ms for the ten conflict
    columns under pandas 3); here text columns get the inferred text dtype directly and the
    frame is assembled from its arrays (``DataFrame._from_arrays``, when this pandas has it):
    the same frame (tests/tactical/test_tactical_frame.py compares both).
    """
    build = getattr(pd.DataFrame, "_from_arrays", None)
    if build is None:
        return pd.DataFrame(columns)
    text = _text_dtype()
    arrays = [pd.array(v, dtype=text) if v.dtype == object else v for v in columns.values()]
    frame: pd.DataFrame = build(
        arrays, columns=_labels(tuple(columns)), index=pd.RangeIndex(rows), verify_integrity=False
    )
    return frame


@functools.cache
def _labels(names: tuple[str, ...]) -> pd.Index:
    """The column labels ``pd.DataFrame`` builds for ``names`` (immutable: shared, built once;
    building it infers a text dtype, ~0.1 ms per call under pandas 3)."""
    return pd.Index(list(names))


def detect(
    states: pd.DataFrame | Mapping[str, npt.ArrayLike] | HasData,
    *,
    horizontal_nm: float = HORIZONTAL_NM,
    vertical_ft: float = VERTICAL_FT,
    lookahead_s: float = LOOKAHEAD_S,
    vertical_mode: VerticalMode | str = VerticalMode.STRICT,
    kernel: ArraysKernel = detect_arrays,
) -> pd.DataFrame:
    """Predicted losses of separation in a states table; one row per conflicting pair.

    Validates ``states`` (see ``validate_states``; ``lat``/``lon`` deg, ``alt_ft`` ft, ``gs_kt``
    kt, ``track_deg`` deg, ``vs_fpm`` ft/min), runs ``detect_arrays`` and returns the
    ``CONFLICT_COLUMNS`` (times in s from the snapshot, ``hmd_nm``/``range_nm`` NM,
    ``vmd_ft``/``vertical_ft`` ft, ``bearing_deg`` deg; plus ``party_a``, ``party_b`` when
    ``states`` has ``party``), with ``a < b`` (as text) and ``bearing_deg`` from ``a`` to ``b``,
    sorted by ``(a, b)``. Thresholds: ``horizontal_nm`` NM, ``vertical_ft`` ft, ``lookahead_s`` s.
    ``kernel`` is the arrays detector (``detect_arrays``; e.g. the Ray-sharded one, which gives
    the same answer).

    Several snapshots: when ``states`` has a ``time`` column with more than one distinct
    (non-missing) value, each time is one snapshot, detected alone with the same parameters;
    the result starts with ``time`` (the snapshot's value, same dtype) and is sorted by time,
    then ``(a, b)``: exactly the per-snapshot results concatenated. Ids must be unique within
    each time; error rows are 1-based positions in ``states``. With one distinct time (or
    none) the ``time`` column is ignored. An object with a ``.data`` DataFrame (such as
    ``traffic.core.Traffic``) is read through ``.data``.

    Examples
    --------
    >>> import pandas as pd
    >>> states = pd.DataFrame({"id": ["B", "A"], "lat": [0.0, 0.0], "lon": [0.05, 0.0],
    ...     "alt_ft": [35000, 35000], "gs_kt": [450, 450], "track_deg": [270, 90],
    ...     "vs_fpm": [0, 0]})
    >>> row = detect(states).iloc[0]
    >>> row.a, row.b, round(float(row.range_nm), 2), round(float(row.bearing_deg))
    ('A', 'B', 3.01, 90)
    """
    if not isinstance(states, (pd.DataFrame, Mapping)):
        data = getattr(states, "data", None)
        if not isinstance(data, pd.DataFrame):
            raise TypeError(
                "detect() takes a DataFrame, a mapping of columns or an object with a "
                f".data DataFrame, not {type(states).__name__}"
            )
        states = data
    frame = states if isinstance(states, pd.DataFrame) else pd.DataFrame(dict(states))
    if "time" in frame.columns:
        try:
            codes, times = pd.factorize(frame["time"], sort=True)
        except TypeError as exc:
            raise InvalidInputError(
                field="time", reason=f"values cannot be ordered ({exc})"
            ) from exc
        if len(times) > 1:
            params = {
                "horizontal_nm": horizontal_nm,
                "vertical_ft": vertical_ft,
                "lookahead_s": lookahead_s,
                "vertical_mode": vertical_mode,
            }
            return _detect_times(frame, np.asarray(codes, dtype=np.intp), times, kernel, params)
    table = _validated_columns(frame, 0)
    numeric = [np.asarray(table[name], dtype=np.float64) for name in NUMERIC_COLUMNS]
    if kernel is detect_arrays:
        # the columns are validated float64 (finite, in range): skip detect_arrays' re-checks
        found = detect_validated(
            numeric,
            horizontal_nm=horizontal_nm,
            vertical_ft=vertical_ft,
            lookahead_s=lookahead_s,
            vertical_mode=vertical_mode,
        )
    else:
        found = kernel(
            *numeric,
            horizontal_nm=horizontal_nm,
            vertical_ft=vertical_ft,
            lookahead_s=lookahead_s,
            vertical_mode=vertical_mode,
        )
    if len(found) == 0:
        return _empty_template("party" in table).copy(deep=_DEEP_EMPTY_COPY)
    ids = table["id"]
    id_i, id_j = ids[found.i], ids[found.j]
    i_first = id_i < id_j
    a, b = np.where(i_first, id_i, id_j), np.where(i_first, id_j, id_i)
    # stable sort by (a, b) in Python string order (what ``sort_values`` gives on text)
    a_list, b_list = a.tolist(), b.tolist()
    order = np.array(
        sorted(range(len(a_list)), key=lambda k: (a_list[k], b_list[k])), dtype=np.intp
    )
    columns: dict[str, npt.NDArray[np.float64] | npt.NDArray[np.object_]] = {
        "a": a,
        "b": b,
        "t_in_s": found.t_in_s,
        "t_out_s": found.t_out_s,
        "t_cpa_s": found.t_cpa_s,
        "hmd_nm": found.hmd_nm,
        "vmd_ft": found.vmd_ft,
        "range_nm": found.range_nm,
        "vertical_ft": found.vertical_ft,
        "bearing_deg": np.where(i_first, found.bearing_deg, found.reverse_bearing_deg),
    }
    if "party" in table:
        parties = table["party"]
        p_i, p_j = parties[found.i], parties[found.j]
        columns["party_a"] = np.where(i_first, p_i, p_j)
        columns["party_b"] = np.where(i_first, p_j, p_i)
    return _table({name: values[order] for name, values in columns.items()}, len(order))


def _detect_times(
    frame: pd.DataFrame,
    codes: npt.NDArray[np.intp],
    times: pd.Index,
    kernel: ArraysKernel,
    params: Mapping[str, object],
) -> pd.DataFrame:
    """``detect`` per distinct time (``codes`` index ``times``, sorted), as one table."""
    missing = codes < 0
    if missing.any():
        raise InvalidInputError(field="time", reason="missing value", row=_first_bad(missing) + 1)
    table = _validated_columns(frame, 0, unique=False)
    ids = table["id"]
    keyed = pd.DataFrame({"time": codes, "id": ids})
    dup = np.asarray(keyed.duplicated(keep="first"), dtype=bool)
    if dup.any():
        k = _first_bad(dup)
        first = _first_bad((codes == codes[k]) & (ids == ids[k]))
        raise InvalidInputError(
            field="id",
            reason=f"duplicate id {ids[k]!r} at time {times[codes[k]]} (first at row "
            f"{first + 1}); ids must be unique within each time: drop or merge the repeats, "
            "e.g. frame.drop_duplicates(['time', 'id'], keep='last')",
            row=k + 1,
        )
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    cols = [table[name][order] for name in NUMERIC_COLUMNS]
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(sorted_codes)) + 1, [len(order)]))
    fields = ("t_in_s", "t_out_s", "t_cpa_s", "hmd_nm", "vmd_ft", "range_nm", "vertical_ft")
    pieces: dict[str, list[npt.NDArray[np.float64]]] = {
        name: [] for name in (*fields, "bearing_deg", "reverse_bearing_deg")
    }
    gi: list[npt.NDArray[np.intp]] = []
    gj: list[npt.NDArray[np.intp]] = []
    if kernel is detect_arrays:
        # the compiled kernel on every snapshot in one call (same answer as the loop below)
        lat, lon, alt, gs, track, vs = cols
        found = detect_arrays_segments(
            lat,
            lon,
            alt,
            gs,
            track,
            vs,
            bounds,
            **params,  # type: ignore[arg-type]
        )
        if len(found):
            gi.append(order[found.i])
            gj.append(order[found.j])
            for name, bucket in pieces.items():
                bucket.append(np.asarray(getattr(found, name), dtype=np.float64))
    else:
        for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            if end - start < 2:
                continue
            found = kernel(*(c[start:end] for c in cols), **params)
            if len(found):
                gi.append(order[found.i + start])
                gj.append(order[found.j + start])
                for name, bucket in pieces.items():
                    bucket.append(np.asarray(getattr(found, name), dtype=np.float64))
    with_party = "party" in table
    if not gi:
        empty = _empty_template(with_party).copy()
        empty.insert(0, "time", pd.Series(times[:0]))
        return empty
    i, j = np.concatenate(gi), np.concatenate(gj)
    values = {name: np.concatenate(bucket) for name, bucket in pieces.items()}
    id_i, id_j = ids[i], ids[j]
    i_first = id_i < id_j
    a, b = np.where(i_first, id_i, id_j), np.where(i_first, id_j, id_i)
    # (time, a, b) order; ids ranked in Python string order, as ``detect`` sorts them
    ranks, _ = pd.factorize(np.concatenate([a, b]), sort=True)
    final = np.lexsort((ranks[len(a) :], ranks[: len(a)], codes[i]))
    columns: dict[str, npt.NDArray[np.float64] | npt.NDArray[np.object_]] = {"a": a, "b": b}
    columns.update({name: values[name] for name in fields})
    columns["bearing_deg"] = np.where(i_first, values["bearing_deg"], values["reverse_bearing_deg"])
    if with_party:
        parties = table["party"]
        p_i, p_j = parties[i], parties[j]
        columns["party_a"] = np.where(i_first, p_i, p_j)
        columns["party_b"] = np.where(i_first, p_j, p_i)
    out = pd.DataFrame({name: column[final] for name, column in columns.items()})
    out.insert(0, "time", pd.Series(times.take(codes[i][final])))
    return out
