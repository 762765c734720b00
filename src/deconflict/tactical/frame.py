"""The table surface of the detector: ``validate_states`` and ``detect`` on DataFrames.

Input columns: ``id`` (text; numbers are converted to text), ``lat``, ``lon`` (WGS84 degrees),
``alt_ft``, ``gs_kt``, ``track_deg``, ``vs_fpm`` and an optional ``party``; other columns are
ignored. Longitudes must lie in [-180, 180] (both ends accepted, nothing is wrapped silently);
``track_deg`` may be any finite number (it is periodic).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from deconflict.errors import InvalidInputError
from deconflict.tactical._vertical import VerticalMode
from deconflict.tactical.constants import HORIZONTAL_NM, LOOKAHEAD_S, VERTICAL_FT
from deconflict.tactical.kernel import detect_arrays

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

_RANGES: Final = {"lat": (-90.0, 90.0, "degrees"), "lon": (-180.0, 180.0, "degrees")}


def _first_bad(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _numeric(name: str, raw: pd.Series, row_offset: int) -> npt.NDArray[np.float64]:
    if raw.dtype == bool:
        raise InvalidInputError(
            field=name, reason="must be numeric, not boolean", row=row_offset + 1
        )
    values = pd.to_numeric(raw, errors="coerce")
    arr = np.asarray(values, dtype=np.float64)
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


def _text(name: str, raw: pd.Series, row_offset: int) -> npt.NDArray[np.object_]:
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
    frame = states if isinstance(states, pd.DataFrame) else pd.DataFrame(dict(states))
    for name in STATE_COLUMNS:
        if name not in frame.columns:
            raise InvalidInputError(field=name, reason="missing column")
    out: dict[str, npt.NDArray[np.float64] | npt.NDArray[np.object_]] = {}
    out["id"] = _text("id", frame["id"], row_offset)
    for name in NUMERIC_COLUMNS:
        out[name] = _numeric(name, frame[name], row_offset)
    if "party" in frame.columns:
        out["party"] = _text("party", frame["party"], row_offset)
    ids = pd.Series(out["id"])
    dup = np.asarray(ids.duplicated(keep="first"), dtype=bool)
    if dup.any():
        k = _first_bad(dup)
        first = int(np.flatnonzero(np.asarray(ids == ids.iloc[k]))[0])
        raise InvalidInputError(
            field="id",
            reason=f"duplicate id {ids.iloc[k]!r} (first at row {row_offset + first + 1})",
            row=row_offset + k + 1,
        )
    return pd.DataFrame(out)


def empty_conflicts(with_party: bool = False) -> pd.DataFrame:
    """An empty conflict table with the right columns and dtypes."""
    data: dict[str, pd.Series] = {
        name: pd.Series([], dtype=object if name in ("a", "b") else np.float64)
        for name in CONFLICT_COLUMNS
    }
    if with_party:
        data["party_a"] = pd.Series([], dtype=object)
        data["party_b"] = pd.Series([], dtype=object)
    return pd.DataFrame(data)


def detect(
    states: pd.DataFrame | Mapping[str, npt.ArrayLike],
    *,
    horizontal_nm: float = HORIZONTAL_NM,
    vertical_ft: float = VERTICAL_FT,
    lookahead_s: float = LOOKAHEAD_S,
    vertical_mode: VerticalMode | str = VerticalMode.STRICT,
) -> pd.DataFrame:
    """Predicted losses of separation in a snapshot table; one row per conflicting pair.

    Validates ``states`` (see ``validate_states``), runs ``detect_arrays`` and returns the
    ``CONFLICT_COLUMNS`` (plus ``party_a``, ``party_b`` when ``states`` has ``party``), with
    ``a < b`` (as text) and ``bearing_deg`` from ``a`` to ``b``, sorted by ``(a, b)``.

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
    table = validate_states(states)
    with_party = "party" in table.columns
    found = detect_arrays(
        table["lat"].to_numpy(),
        table["lon"].to_numpy(),
        table["alt_ft"].to_numpy(),
        table["gs_kt"].to_numpy(),
        table["track_deg"].to_numpy(),
        table["vs_fpm"].to_numpy(),
        horizontal_nm=horizontal_nm,
        vertical_ft=vertical_ft,
        lookahead_s=lookahead_s,
        vertical_mode=vertical_mode,
    )
    if len(found) == 0:
        return empty_conflicts(with_party)
    ids = table["id"].to_numpy()
    id_i, id_j = ids[found.i], ids[found.j]
    i_first = id_i < id_j
    result = pd.DataFrame(
        {
            "a": np.where(i_first, id_i, id_j),
            "b": np.where(i_first, id_j, id_i),
            "t_in_s": found.t_in_s,
            "t_out_s": found.t_out_s,
            "t_cpa_s": found.t_cpa_s,
            "hmd_nm": found.hmd_nm,
            "vmd_ft": found.vmd_ft,
            "range_nm": found.range_nm,
            "vertical_ft": found.vertical_ft,
            "bearing_deg": np.where(i_first, found.bearing_deg, found.reverse_bearing_deg),
        }
    )
    if with_party:
        parties = table["party"].to_numpy()
        p_i, p_j = parties[found.i], parties[found.j]
        result["party_a"] = np.where(i_first, p_i, p_j)
        result["party_b"] = np.where(i_first, p_j, p_i)
    return result.sort_values(["a", "b"], kind="stable").reset_index(drop=True)
