"""Track-versus-plan checks: nonconformance and incursions, vectorised over track arrays.

Rules (the ones the alerts and the docs quote)
----------------------------------------------
* **Nonconforming**: a track of a party that has at least one volume active *now* is outside
  every one of those volumes, each widened by ``lateral_tolerance_nm`` and
  ``vertical_tolerance_ft``, continuously for at least ``nonconforming_after_s``. Tracks of a
  party with no active volume (e.g. civil traffic) are not checked: there is no plan to conform to.
* **Incursion into a volume**: a track is inside another party's active volume now
  (``t_entry_s == 0``), or its straight-line extrapolation enters it within ``lookahead_s``.
  The extrapolation is sampled every ``sample_s`` seconds and the entry time refined by bisection
  to better than 0.1 s; a trajectory that clips a corner between two samples (a chord shorter
  than ``gs * sample_s``, 0.5 NM at 480 kt and 4 s) can be missed.
* **Line incursion**: a track of a party that has a declared side of an agreed line is on the
  other side now (alongside the line, not beyond its ends, and within ``line_zone_nm`` of it), or
  its straight-line path crosses the line into the other side within ``lookahead_s`` (solved
  exactly, segment against segment, in a plane centred on the line). Sides are relative to the
  line's direction of digitisation: ``left`` is to the left when walking from the first to the
  last point.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import numpy as np

from deconflict.live.tracks import BoolArray, TrackStates, extrapolate
from deconflict.live.volumes import Containment, containment_from_json
from deconflict.strategic.lines import AgreedLine
from deconflict.units import FloatArray

Side = Literal["left", "right"]

BISECTION_STEPS: Final = 7
"""Bisection steps refining a sampled entry time (``sample_s / 2**7`` resolution)."""


@dataclass(frozen=True)
class ConformancePolicy:
    """Tolerances and horizons of the conformance checks (units in the names)."""

    lateral_tolerance_nm: float = 1.0
    vertical_tolerance_ft: float = 300.0
    nonconforming_after_s: float = 30.0
    lookahead_s: float = 300.0
    sample_s: float = 4.0
    line_zone_nm: float = 60.0


@dataclass(frozen=True)
class PartyVolume:
    """One active-or-not volume of a party: the exact shape and the tolerant one."""

    key: str
    party: str
    exact: Containment
    tolerant: Containment

    @classmethod
    def from_json(
        cls, key: str, party: str, obj: Mapping[str, Any], policy: ConformancePolicy
    ) -> PartyVolume:
        """Build both containment adapters from the wire-format volume."""
        return cls(
            key=key,
            party=party,
            exact=containment_from_json(obj),
            tolerant=containment_from_json(
                obj,
                extra_lateral_nm=policy.lateral_tolerance_nm,
                extra_vertical_ft=policy.vertical_tolerance_ft,
            ),
        )


@dataclass(frozen=True)
class Incursion:
    """A track inside, or predicted to enter, another party's volume or to cross a line.

    ``t_entry_s`` is 0 when it is already inside / across; ``target_party`` is the volume's owner
    (for a line: the parties on the other side, comma-separated).
    """

    track_id: str
    party: str
    target_kind: Literal["volume", "line"]
    target_key: str
    target_parties: tuple[str, ...]
    t_entry_s: float


@dataclass(frozen=True)
class Nonconformance:
    """A track outside all its own party's active volumes for ``outside_s`` seconds."""

    track_id: str
    party: str
    outside_s: float


def _active(volume: Containment, t0: datetime, t1: datetime) -> bool:
    return volume.active_from < t1 and volume.active_until > t0


def _velocity_nm_s(states: TrackStates) -> tuple[FloatArray, FloatArray]:
    rad = np.radians(states.track_deg)
    speed = states.gs_kt / 3600.0
    return speed * np.sin(rad), speed * np.cos(rad)


def _prefilter(states: TrackStates, volume: Containment, lookahead_s: float) -> BoolArray:
    """Tracks that could reach the volume within the look-ahead (conservative)."""
    lon0, lat0 = volume.center_lonlat
    dlat_nm = (states.lat_deg - lat0) * 60.0
    dlon = (states.lon_deg - lon0 + 180.0) % 360.0 - 180.0
    dlon_nm = dlon * 60.0 * np.cos(np.radians((states.lat_deg + lat0) / 2.0))
    reach_nm = states.gs_kt * lookahead_s / 3600.0
    near = np.hypot(dlat_nm, dlon_nm) <= 1.02 * (volume.radius_nm + reach_nm) + 1.0
    climb_ft = states.vs_fpm * lookahead_s / 60.0
    lo = np.minimum(states.alt_ft, states.alt_ft + climb_ft)
    hi = np.maximum(states.alt_ft, states.alt_ft + climb_ft)
    return np.asarray(near & (hi >= volume.alt_lower_ft) & (lo <= volume.alt_upper_ft))


def volume_entry_times(
    states: TrackStates, volume: Containment, now: datetime, policy: ConformancePolicy
) -> FloatArray:
    """Predicted time (s) each track enters ``volume`` (0 inside now, ``inf`` not within
    ``policy.lookahead_s``), by sampling every ``policy.sample_s`` and bisecting."""
    out = np.full(len(states), np.inf)
    horizon = now + timedelta(seconds=policy.lookahead_s)
    if len(states) == 0 or not _active(volume, now, horizon):
        return out
    cand = np.flatnonzero(_prefilter(states, volume, policy.lookahead_s))
    if cand.size == 0:
        return out
    sub = states.select(cand)
    n_steps = int(np.ceil(policy.lookahead_s / policy.sample_s))
    dts = np.minimum(np.arange(n_steps + 1) * policy.sample_s, policy.lookahead_s)
    shape = (len(sub), dts.size)

    def column(values: FloatArray) -> FloatArray:
        return np.broadcast_to(values[:, None], shape)

    lat, lon, alt = extrapolate(
        column(sub.lat_deg),
        column(sub.lon_deg),
        column(sub.alt_ft),
        column(sub.gs_kt),
        column(sub.track_deg),
        column(sub.vs_fpm),
        np.broadcast_to(dts[None, :], shape),
    )
    if volume.active_from <= now and volume.active_until > horizon:
        inside = volume.contains(lat.ravel(), lon.ravel(), alt.ravel(), now).reshape(shape)
    else:  # activity starts or ends within the look-ahead: test each sample at its own time
        inside = np.zeros(shape, dtype=bool)
        for k, dt in enumerate(dts):
            when = now + timedelta(seconds=float(dt))
            inside[:, k] = volume.contains(lat[:, k], lon[:, k], alt[:, k], when)
    any_inside = inside.any(axis=1)
    first = np.argmax(inside, axis=1)
    found = np.full(len(sub), np.inf)
    found[any_inside & (first == 0)] = 0.0
    hit = np.flatnonzero(any_inside & (first > 0))
    if hit.size:
        hi = dts[first[hit]]
        lo = dts[first[hit] - 1]
        part = sub.select(hit)
        for _ in range(BISECTION_STEPS):
            mid = (lo + hi) / 2.0
            mlat, mlon, malt = part.extrapolated(mid)
            # Activity is judged at the sample time that first tested inside.
            mid_in = np.zeros(hit.size, dtype=bool)
            for when_s in np.unique(dts[first[hit]]):
                rows = dts[first[hit]] == when_s
                when = now + timedelta(seconds=float(when_s))
                mid_in[rows] = volume.contains(mlat[rows], mlon[rows], malt[rows], when)
            hi = np.where(mid_in, mid, hi)
            lo = np.where(mid_in, lo, mid)
        found[hit] = hi
    out[cand] = found
    return out


def find_incursions(
    states: TrackStates,
    volumes: Sequence[PartyVolume],
    lines: Sequence[AgreedLine],
    now: datetime,
    policy: ConformancePolicy | None = None,
) -> list[Incursion]:
    """All volume and line incursions (current or predicted within the look-ahead).

    Parameters
    ----------
    states:
        Latest (non-stale) states; ``party`` must be set.
    volumes:
        Every party's volumes (inactive ones are skipped by time).
    lines:
        Agreed lines; only parties with a declared side are checked against a line.
    now:
        Time of the check (UTC); states are treated as valid at ``now``.
    """
    policy = policy or ConformancePolicy()
    result: list[Incursion] = []
    parties = states.party
    for volume in volumes:
        others = np.flatnonzero((parties != volume.party) & (parties != ""))
        if others.size == 0:
            continue
        times = volume_entry_times(states.select(others), volume.exact, now, policy)
        for row in np.flatnonzero(np.isfinite(times)):
            i = others[row]
            result.append(
                Incursion(
                    track_id=str(states.ids[i]),
                    party=str(parties[i]),
                    target_kind="volume",
                    target_key=volume.key,
                    target_parties=(volume.party,),
                    t_entry_s=float(times[row]),
                )
            )
    vx, vy = _velocity_nm_s(states)
    for line in lines:
        for party, side in line.sides.items():
            rows = np.flatnonzero(parties == party)
            if rows.size == 0:
                continue
            others_t = tuple(sorted(p for p in line.sides if p != party))
            x, y = line.project_nm(states.lat_deg[rows], states.lon_deg[rows])
            sign, dist = line.side_of(x, y)
            own_sign = 1.0 if side == "left" else -1.0
            across = (sign == -own_sign) & (dist <= policy.line_zone_nm)
            crossing, into = line.first_crossing_s(x, y, vx[rows], vy[rows], policy.lookahead_s)
            predicted = np.where(into == -own_sign, crossing, np.inf)
            t_entry = np.where(across, 0.0, predicted)
            for k in np.flatnonzero(np.isfinite(t_entry)):
                i = rows[k]
                result.append(
                    Incursion(
                        track_id=str(states.ids[i]),
                        party=party,
                        target_kind="line",
                        target_key=line.id,
                        target_parties=others_t,
                        t_entry_s=float(t_entry[k]),
                    )
                )
    return result


class ConformanceMonitor:
    """Remembers since when each track has been outside its party's volumes (pure: pass ``now``)."""

    def __init__(self, policy: ConformancePolicy | None = None) -> None:
        self.policy = policy or ConformancePolicy()
        self._outside_since: dict[str, datetime] = {}

    def update(
        self, states: TrackStates, volumes: Iterable[PartyVolume], now: datetime
    ) -> list[Nonconformance]:
        """Check one cycle; return the tracks nonconforming for at least the time threshold."""
        by_party: dict[str, list[PartyVolume]] = {}
        for volume in volumes:
            if volume.tolerant.active_from <= now < volume.tolerant.active_until:
                by_party.setdefault(volume.party, []).append(volume)
        outside = np.zeros(len(states), dtype=bool)
        for party, own in by_party.items():
            rows = np.flatnonzero(states.party == party)
            if rows.size == 0:
                continue
            part = states.select(rows)
            inside = np.zeros(rows.size, dtype=bool)
            for volume in own:
                todo = np.flatnonzero(~inside)
                if todo.size == 0:
                    break
                inside[todo] = volume.tolerant.contains(
                    part.lat_deg[todo], part.lon_deg[todo], part.alt_ft[todo], now
                )
            outside[rows] = ~inside
        result: list[Nonconformance] = []
        since = self._outside_since
        current: dict[str, datetime] = {}
        for i in np.flatnonzero(outside):
            track_id = str(states.ids[i])
            start = since.get(track_id, now)
            current[track_id] = start
            outside_s = (now - start).total_seconds()
            if outside_s >= self.policy.nonconforming_after_s:
                result.append(Nonconformance(track_id, str(states.party[i]), outside_s))
        self._outside_since = current
        return result
