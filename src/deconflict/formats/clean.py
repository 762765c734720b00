"""Cleaning and time alignment of aircraft reports (vectorised; no per-row Python).

Real feeds report each aircraft at its own uneven times, with ground movements, gaps, missing
fields and glitches. The tactical detector wants *snapshots*: every aircraft's state at one
instant. This module turns a reports table (:mod:`deconflict.formats.states`, or the output of
:func:`deconflict.formats.tracks.read_tracks`) into such snapshots:

1. :func:`clean_reports` drops and counts, in this order of precedence, reports that are
   ``ground`` (``onground`` true), ``incomplete`` (no id or time, or any of lat, lon, alt_ft,
   gs_kt, track_deg, vs_fpm missing), ``implausible_position`` (|lat| > 90 or |lon| > 180),
   ``implausible_altitude`` (outside [min_alt_ft, max_alt_ft]), ``implausible_speed``
   (gs > max_gs_kt or negative), ``implausible_climb`` (|vs| > max_vs_fpm), ``duplicate`` (a
   second report of one aircraft at the same time: the later record wins) and ``jump`` (a
   single-report spike: implied speed or climb from *both* neighbours beyond the limits above
   plus a slack). With ``strict=True`` the first such report raises instead, naming its row.
2. :func:`align_reports` puts the survivors on a common clock: ticks every ``interval_s``
   seconds (multiples of ``interval_s`` since the Unix epoch); at each tick every aircraft's
   latest report at or before the tick is extrapolated along its track (a local tangent plane
   with the WGS84 radii of curvature: within 1 m of the geodesic at 600 kt over 15 s) and
   kept only when that report is at most ``max_age_s`` old.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from deconflict.errors import InvalidInputError
from deconflict.geo.ellipsoid import GEOD
from deconflict.units import MPS_PER_KT

__all__ = [
    "DROP_REASONS",
    "CleanLimits",
    "CleanReport",
    "align_reports",
    "clean_reports",
    "extrapolate",
    "prepare_states",
]

DROP_REASONS: Final = (
    "ground",
    "incomplete",
    "implausible_position",
    "implausible_altitude",
    "implausible_speed",
    "implausible_climb",
    "duplicate",
    "jump",
)
"""Reasons a report is dropped, in order of precedence."""

_REQUIRED: Final = ("lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm")
_EARTH_R_NM: Final = 3440.065
_NS: Final = 1_000_000_000


@dataclass(frozen=True)
class CleanLimits:
    """Plausibility limits (units in the names)."""

    min_alt_ft: float = -1500.0
    max_alt_ft: float = 60000.0
    max_gs_kt: float = 1200.0
    max_vs_fpm: float = 15000.0
    jump_slack_nm: float = 1.0
    jump_slack_ft: float = 500.0


@dataclass
class CleanReport:
    """How many reports were read, kept and dropped (per reason), and alignment counts."""

    read: int = 0
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    gaps: int = 0
    """Times an aircraft's next report came more than max_age_s after the previous one (it is
    left out of the ticks in between)."""

    def summary(self) -> str:
        """``read R reports, kept K, dropped D (ground 3, incomplete 2, ...)``."""
        total = sum(self.dropped.values())
        reasons = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.dropped.items() if v)
        text = f"read {self.read} reports, kept {self.kept}, dropped {total}"
        if reasons:
            text += f" ({reasons})"
        if self.gaps:
            text += f"; {self.gaps} gaps longer than --max-age"
        return text

    def merge(self, other: CleanReport) -> None:
        """Add ``other``'s counts to this one."""
        self.read += other.read
        self.kept += other.kept
        self.gaps += other.gaps
        for key, value in other.dropped.items():
            self.dropped[key] = self.dropped.get(key, 0) + value


def clean_reports(
    reports: pd.DataFrame,
    *,
    limits: CleanLimits = CleanLimits(),
    strict: bool = False,
) -> tuple[pd.DataFrame, CleanReport]:
    """Drop (or, with ``strict``, reject) unusable reports; see the module docstring.

    Returns the kept reports sorted by ``(id, time)`` (index unchanged: source rows) and the
    counts. Without a ``time`` column no duplicate or jump test is made. ``track_deg`` is
    normalised into [0, 360).
    """
    n = len(reports)
    report = CleanReport(read=n)
    reason = np.full(n, -1, dtype=np.int8)

    def mark(code: str, mask: npt.NDArray[np.bool_]) -> None:
        k = DROP_REASONS.index(code)
        reason[(reason < 0) & mask] = k

    ids = reports["id"].to_numpy(dtype=object)
    if "onground" in reports.columns:
        ground = reports["onground"]
        if ground.dtype == object:
            ground = ground.map(lambda v: str(v).strip().lower() in ("true", "1", "1.0"))
        mark("ground", ground.fillna(0).to_numpy(dtype=np.float64) > 0.5)
    values = {c: reports[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in _REQUIRED}
    no_id = pd.Series(ids, dtype=object).fillna("").astype(str).eq("").to_numpy(dtype=bool)
    incomplete = np.array(no_id, dtype=bool, copy=True)
    for column in _REQUIRED:
        incomplete |= ~np.isfinite(values[column])
    timed = "time" in reports.columns
    if timed:
        time_ns = reports["time"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        incomplete |= time_ns == np.iinfo(np.int64).min
    mark("incomplete", incomplete)
    with np.errstate(invalid="ignore"):
        mark("implausible_position", (np.abs(values["lat"]) > 90) | (np.abs(values["lon"]) > 180))
        alt = values["alt_ft"]
        mark("implausible_altitude", (alt < limits.min_alt_ft) | (alt > limits.max_alt_ft))
        gs = values["gs_kt"]
        mark("implausible_speed", (gs < 0) | (gs > limits.max_gs_kt))
        mark("implausible_climb", np.abs(values["vs_fpm"]) > limits.max_vs_fpm)
    if timed:
        _mark_time_faults(reason, ids, time_ns, values, limits)
    dropped = reason >= 0
    if strict and dropped.any():
        first = int(np.flatnonzero(dropped)[0])
        code = DROP_REASONS[int(reason[first])]
        raise InvalidInputError(
            field=_field_of(code, reports.iloc[first]),
            reason=f"{code.replace('_', ' ')} report (drop such reports: omit --strict)",
            row=int(reports.index[first]),
        )
    counts = np.bincount(reason[dropped], minlength=len(DROP_REASONS))
    report.dropped = {code: int(counts[k]) for k, code in enumerate(DROP_REASONS)}
    kept = reports.loc[~dropped].copy()
    kept["track_deg"] = np.mod(kept["track_deg"].to_numpy(dtype=np.float64), 360.0)
    if timed and len(kept):
        order = np.lexsort(
            (
                kept["time"].to_numpy(dtype="datetime64[ns]").view(np.int64),
                kept["id"].to_numpy(dtype=str),
            )
        )
        kept = kept.iloc[order]
    report.kept = len(kept)
    return kept, report


def _field_of(code: str, row: pd.Series) -> str:
    if code == "ground":
        return "onground"
    if code == "incomplete":
        for column in ("id", "time", *_REQUIRED):
            if column in row.index and (pd.isna(row[column]) or row[column] == ""):
                return column
        return "id"
    return {
        "implausible_position": "lat",
        "implausible_altitude": "alt_ft",
        "implausible_speed": "gs_kt",
        "implausible_climb": "vs_fpm",
        "duplicate": "time",
        "jump": "lat",
    }[code]


def _mark_time_faults(
    reason: npt.NDArray[np.int8],
    ids: npt.NDArray[np.object_],
    time_ns: npt.NDArray[np.int64],
    values: Mapping[str, npt.NDArray[np.float64]],
    limits: CleanLimits,
) -> None:
    """Mark duplicates and single-report spikes among the not-yet-dropped reports."""
    alive = np.flatnonzero(reason < 0)
    if alive.size < 2:
        return
    keys = ids[alive].astype(str)
    order = alive[np.lexsort((np.arange(alive.size), time_ns[alive], keys))]
    sorted_ids = ids[order].astype(str)
    t = time_ns[order]
    same_prev = np.zeros(order.size, dtype=bool)
    same_prev[1:] = sorted_ids[1:] == sorted_ids[:-1]
    dup = np.zeros(order.size, dtype=bool)  # a later record at the same time wins
    dup[:-1] = same_prev[1:] & (t[1:] == t[:-1])
    reason[order[dup]] = DROP_REASONS.index("duplicate")
    order = order[~dup]
    sorted_ids = ids[order].astype(str)
    t = time_ns[order]
    same = sorted_ids[1:] == sorted_ids[:-1]
    lat = np.radians(values["lat"][order])
    lon = np.radians(values["lon"][order])
    alt = values["alt_ft"][order]
    dt_s = (t[1:] - t[:-1]) / _NS
    h = (
        np.sin((lat[1:] - lat[:-1]) / 2) ** 2
        + np.cos(lat[1:]) * np.cos(lat[:-1]) * np.sin((lon[1:] - lon[:-1]) / 2) ** 2
    )
    dist_nm = 2 * _EARTH_R_NM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    reach_nm = limits.max_gs_kt * dt_s / 3600.0 + limits.jump_slack_nm
    climb_ft = limits.max_vs_fpm * dt_s / 60.0 + limits.jump_slack_ft
    step = same & ((dist_nm > reach_nm) | (np.abs(alt[1:] - alt[:-1]) > climb_ft))
    # step[k]: a jump between sorted reports k and k+1 of one aircraft
    into = np.zeros(order.size, dtype=bool)
    into[1:] = step
    out_of = np.zeros(order.size, dtype=bool)
    out_of[:-1] = step
    has_next = np.zeros(order.size, dtype=bool)
    has_next[:-1] = same
    has_prev = np.zeros(order.size, dtype=bool)
    has_prev[1:] = same
    # a spike: jumps both in and out; or at a track end, a jump from its only neighbour
    spike = (into & out_of) | (into & ~has_next) | (out_of & ~has_prev & _next_is_smooth(step))
    reason[order[spike]] = DROP_REASONS.index("jump")


def _next_is_smooth(step: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """``out[k]`` is True when the step k+1 -> k+2 exists and is not a jump (or is absent)."""
    out = np.ones(step.size + 1, dtype=bool)
    out[: step.size - 1] = ~step[1:]
    return out


def align_reports(
    reports: pd.DataFrame,
    *,
    interval_s: float = 1.0,
    max_age_s: float = 15.0,
    report: CleanReport | None = None,
) -> pd.DataFrame:
    """Aircraft states on a common clock, extrapolated from each aircraft's latest report.

    Parameters
    ----------
    reports:
        Clean reports with a ``time`` column (see :func:`clean_reports`): one row per report.
    interval_s:
        Tick spacing, s (> 0). Ticks are the multiples of ``interval_s`` since the Unix epoch.
    max_age_s:
        A report is used at ticks up to ``max_age_s`` s after it (and before the aircraft's
        next report).
    report:
        When given, its ``gaps`` is increased by the reporting gaps longer than ``max_age_s``.

    Returns
    -------
    pandas.DataFrame
        The same columns, one row per (tick, aircraft), sorted by time then id; ``time`` is the
        tick, and ``age_s`` (s) how old the underlying report was. The index holds the source
        row of that report.
    """
    if not (np.isfinite(interval_s) and interval_s > 0):
        raise InvalidInputError(field="--align", reason=f"must be > 0 s, got {interval_s}")
    if not (np.isfinite(max_age_s) and max_age_s >= 0):
        raise InvalidInputError(field="--max-age", reason=f"must be >= 0 s, got {max_age_s}")
    if len(reports) == 0:
        return reports.assign(age_s=np.empty(0))
    step = round(interval_s * _NS)
    max_age = round(max_age_s * _NS)
    t = reports["time"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    keys = reports["id"].to_numpy(dtype=str)
    order = np.lexsort((t, keys))
    t, keys = t[order], keys[order]
    same_next = np.zeros(t.size, dtype=bool)
    same_next[:-1] = keys[1:] == keys[:-1]
    big = np.iinfo(np.int64).max // 2
    t_next = np.where(same_next, np.concatenate((t[1:], [0])), big)
    first_tick = -((-t) // step) * step  # ceil to the grid
    last_by_next = ((t_next - 1) // step) * step
    last_by_age = ((t + max_age) // step) * step
    last_tick = np.minimum(last_by_next, last_by_age)
    count = np.maximum((last_tick - first_tick) // step + 1, 0)
    if report is not None:
        report.gaps += int(np.count_nonzero(same_next & (t_next - t > max_age)))
    source = np.repeat(order, count)
    starts = np.repeat(first_tick, count)
    within = np.arange(source.size, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    tick = starts + within * step
    base = reports.iloc[source]
    dt_s = (tick - t[np.repeat(np.arange(t.size), count)]) / _NS
    out = extrapolate(base, dt_s).assign(
        time=pd.DatetimeIndex(tick.view("datetime64[ns]")).tz_localize("UTC"), age_s=dt_s
    )
    final = np.lexsort((out["id"].to_numpy(dtype=str), tick))
    return out.iloc[final]


def extrapolate(states: pd.DataFrame, dt_s: npt.NDArray[np.float64]) -> pd.DataFrame:
    """``states`` moved ``dt_s`` seconds (per row) along their track at constant ground speed
    and vertical rate: lat, lon (deg) and alt_ft (ft) change, everything else is kept.

    The exact WGS84 direct geodesic problem (pyproj, vectorised): the aircraft flies the
    geodesic that starts on its track, as the tactical detector's reference does.
    """
    gs = states["gs_kt"].to_numpy(dtype=np.float64)
    track = states["track_deg"].to_numpy(dtype=np.float64)
    lat0 = states["lat"].to_numpy(dtype=np.float64)
    lon0 = states["lon"].to_numpy(dtype=np.float64)
    dist_m = gs * np.asarray(dt_s, dtype=np.float64) * MPS_PER_KT
    lon, lat, _ = GEOD.fwd(lon0, lat0, track, dist_m)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    alt = (
        states["alt_ft"].to_numpy(dtype=np.float64)
        + states["vs_fpm"].to_numpy(np.float64) * dt_s / 60
    )
    return states.assign(
        lat=np.clip(lat, -90.0, 90.0), lon=(lon + 180.0) % 360.0 - 180.0, alt_ft=alt
    )


def prepare_states(
    reports: pd.DataFrame,
    *,
    align_s: float = 1.0,
    max_age_s: float = 15.0,
    strict: bool = False,
    limits: CleanLimits = CleanLimits(),
) -> tuple[pd.DataFrame, CleanReport]:
    """Clean (unless ``strict``) and align (when timed and ``align_s > 0``) a reports table.

    With ``strict`` nothing is dropped: the detector's validation later stops at the first bad
    row. Returns the states and the counts.
    """
    if strict:
        kept, counts = reports, CleanReport(read=len(reports), kept=len(reports))
    else:
        kept, counts = clean_reports(reports, limits=limits)
    if "time" in kept.columns and align_s > 0:
        kept = align_reports(kept, interval_s=align_s, max_age_s=max_age_s, report=counts)
    return kept, counts
