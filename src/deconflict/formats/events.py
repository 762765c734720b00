"""Encounters: per-snapshot conflict records of one pair merged into one event.

Consecutive alerts of one pair (``a``, ``b``) at most ``gap_s`` seconds apart form one encounter.
For each encounter :func:`merge_encounters` reports (times ISO-8601 UTC, distances NM, ft):

``first_alert``, ``last_alert``
    First and last snapshot that alerted.
``los_start``, ``los_end``
    First and last snapshot in a current loss of separation (``t_in_s == 0``: both minima
    infringed now); empty when the pair never lost separation.
``warning_s``
    ``los_start - first_alert``, s: how far ahead the detector warned (empty without a LoS).
``min_range_nm``, ``min_range_time``, ``vertical_at_min_ft``
    Smallest current horizontal distance over the encounter, when, and the vertical distance
    then.
``min_hmd_nm``, ``min_vmd_ft``
    Smallest *predicted* horizontal and vertical miss distances over the encounter.
``alerts``
    Number of alerting snapshots.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

__all__ = ["ENCOUNTER_COLUMNS", "merge_encounters"]

ENCOUNTER_COLUMNS: Final = (
    "a",
    "b",
    "callsign_a",
    "callsign_b",
    "first_alert",
    "last_alert",
    "los_start",
    "los_end",
    "warning_s",
    "min_range_nm",
    "min_range_time",
    "vertical_at_min_ft",
    "min_hmd_nm",
    "min_vmd_ft",
    "alerts",
)
"""Columns of :func:`merge_encounters` (``party_a``/``party_b`` follow when present)."""


def merge_encounters(conflicts: pd.DataFrame, *, gap_s: float = 60.0) -> pd.DataFrame:
    """Merge per-snapshot conflict records (``time``, ``a``, ``b``, ...) into encounters.

    Parameters
    ----------
    conflicts:
        Output of :func:`deconflict.formats.frames.detect_frames` (``time`` as ISO-8601 text or
        datetimes).
    gap_s:
        Alerts of one pair more than this many seconds apart start a new encounter, s.

    Returns
    -------
    pandas.DataFrame
        :data:`ENCOUNTER_COLUMNS`, sorted by ``first_alert`` then pair.
    """
    extra = [c for c in ("party_a", "party_b") if c in conflicts.columns]
    if len(conflicts) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in (*ENCOUNTER_COLUMNS, *extra)})
    frame = conflicts.copy()
    frame["_t"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    for column in ("callsign_a", "callsign_b"):
        if column not in frame.columns:
            frame[column] = ""
    frame = frame.sort_values(["a", "b", "_t"], kind="stable").reset_index(drop=True)
    t_s = frame["_t"].to_numpy(dtype="datetime64[ns]").view(np.int64) / 1e9
    same = (frame["a"].to_numpy()[1:] == frame["a"].to_numpy()[:-1]) & (
        frame["b"].to_numpy()[1:] == frame["b"].to_numpy()[:-1]
    )
    new = np.ones(len(frame), dtype=bool)
    new[1:] = ~same | (np.diff(t_s) > gap_s)
    frame["_enc"] = np.cumsum(new)
    frame["_los"] = frame["t_in_s"].to_numpy(dtype=np.float64) <= 0.0
    groups = frame.groupby("_enc", sort=False)
    first = groups.first()
    out = pd.DataFrame(
        {
            "a": first["a"],
            "b": first["b"],
            "callsign_a": groups["callsign_a"].agg(_last_nonempty),
            "callsign_b": groups["callsign_b"].agg(_last_nonempty),
            "first_alert": groups["_t"].min(),
            "last_alert": groups["_t"].max(),
        }
    )
    los = frame[frame["_los"]].groupby("_enc")["_t"]
    out["los_start"] = los.min()
    out["los_end"] = los.max()
    out["warning_s"] = (out["los_start"] - out["first_alert"]).dt.total_seconds()
    at_min = frame.loc[groups["range_nm"].idxmin().to_numpy()].set_index("_enc")
    out["min_range_nm"] = at_min["range_nm"]
    out["min_range_time"] = at_min["_t"]
    out["vertical_at_min_ft"] = at_min["vertical_ft"]
    out["min_hmd_nm"] = groups["hmd_nm"].min()
    out["min_vmd_ft"] = groups["vmd_ft"].min()
    out["alerts"] = groups.size()
    for column in extra:
        out[column] = first[column]
    out = out.sort_values(["first_alert", "a", "b"], kind="stable").reset_index(drop=True)
    for column in ("first_alert", "last_alert", "los_start", "los_end", "min_range_time"):
        stamps = pd.DatetimeIndex(out[column])
        text = stamps.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(dtype=object)
        out[column] = np.where(stamps.isna(), "", text)
    return out


def _last_nonempty(values: pd.Series) -> str:
    texts = [str(v) for v in values if isinstance(v, str) and v]
    return texts[-1] if texts else ""
