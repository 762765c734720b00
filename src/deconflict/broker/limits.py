"""Agreement-level limits on notice volumes, and priority from the agreement.

A notice volume is a probe as much as a plan: a 500 NM circle from the ground to FL990 for a
month overlaps, and so discloses, every plan of every counterpart. Each volume is therefore held
to limits before any geometry is computed with it; out of limits → :class:`InvalidInputError`
(422) naming the field and the limit. The defaults (:class:`VolumeLimits`) fit real activity
(the demo's air operations areas, orbits and corridors are well inside them); an agreement may
override any of them (stored on the agreement as ``limits``). A party in several agreements is
held to the **strictest** value of each limit over its agreements, so a lenient agreement with
one counterpart cannot be used to probe another.

Priority under an F3548 agreement comes from the agreement, never from the request: the
agreement's ``priorities`` = ``{"parties": {party_id: int}, "categories": {category: int}}``
(party first, then the activity category, else 0).

Also here, the request-rate bound the hotline applies: :class:`SlidingWindowLimiter` (messages
per sender and precedence → 429 with ``Retry-After``). Overload admission (503) is
:mod:`deconflict.web.hardening`.

No I/O and no clock: ``now`` is passed in.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any, Final

from pyproj import Geod
from sqlalchemy.orm import Session

from deconflict.broker.disclosure import geodesic_area_km2
from deconflict.errors import InvalidInputError, RateLimitedError
from deconflict.geo.footprints import CircleFootprint, CorridorFootprint, PolygonFootprint
from deconflict.store import disclosure_sql
from deconflict.strategic import Volume4D
from deconflict.units import m_to_nm

_GEOD = Geod(ellps="WGS84")
EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (m) to turn a core's angular radius into a distance."""


@dataclass(frozen=True)
class VolumeLimits:
    """Limits on one notice volume (units in the names).

    Attributes
    ----------
    max_area_km2:
        Footprint area (km^2, geodesic, without buffers).
    max_radius_nm:
        Distance from the footprint's centre to its farthest edge incl. the lateral buffer (NM).
    max_band_ft:
        Vertical band (ft, upper - lower in the band's reference).
    max_duration_h:
        Window (h, end - start).
    max_start_past_h:
        How long before the submission a volume may start (h): the lead-time limit (a volume
        "starting" in 1970 would be active at once).
    max_ahead_days:
        How far ahead a volume may start (days).
    max_lateral_buffer_nm, max_vertical_buffer_ft, max_time_buffer_min:
        Buffers (NM, ft, min before and after).
    """

    max_area_km2: float = 25_000.0
    max_radius_nm: float = 150.0
    max_band_ft: float = 40_000.0
    max_duration_h: float = 24.0
    max_start_past_h: float = 2.0
    max_ahead_days: float = 30.0
    max_lateral_buffer_nm: float = 10.0
    max_vertical_buffer_ft: float = 2000.0
    max_time_buffer_min: float = 60.0

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | None, where: str = "limits") -> VolumeLimits:
        """Defaults overridden by ``obj`` (an agreement's ``limits``); unknown keys → 422."""
        if not obj:
            return cls()
        names = {f.name for f in fields(cls)}
        out: dict[str, float] = {}
        for key, value in obj.items():
            if key not in names:
                raise InvalidInputError(field=f"{where}.{key}", reason="unknown limit")
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not math.isfinite(value)
                or value < 0
            ):
                raise InvalidInputError(field=f"{where}.{key}", reason="must be a number >= 0")
            out[key] = float(value)
        return replace(cls(), **out)

    def to_json(self) -> dict[str, float]:
        """Storage / wire form."""
        return asdict(self)

    @classmethod
    def strictest(cls, limits: Iterable[VolumeLimits]) -> VolumeLimits:
        """The smallest value of every limit (the defaults when ``limits`` is empty)."""
        items = list(limits)
        if not items:
            return cls()
        return cls(**{f.name: min(getattr(x, f.name) for x in items) for f in fields(cls)})


def _fail(field: str, reason: str) -> InvalidInputError:
    return InvalidInputError(field=field, reason=reason)


def footprint_area_km2(volume: Volume4D) -> float:
    """Geodesic area (km^2) of a volume's footprint without buffers (an upper bound for
    corridors: length x width + the round ends)."""
    fp = volume.footprint
    r_km = fp.width_m / 1000.0
    if isinstance(fp, PolygonFootprint):
        wire = fp.to_json()
        kind = "Polygon" if wire["type"] == "polygon" else "MultiPolygon"
        return geodesic_area_km2({"type": kind, "coordinates": wire["coordinates"]})
    if isinstance(fp, CircleFootprint):
        return math.pi * r_km**2
    points = fp.centerline if isinstance(fp, CorridorFootprint) else (fp.start, fp.end)
    length_km = 0.0
    if len(points) > 1:
        lons = [p[0] for p in points]
        lats = [p[1] for p in points]
        length_km = float(_GEOD.line_length(lons, lats)) / 1000.0
    return 2.0 * r_km * length_km + math.pi * r_km**2


def check_volume(volume: Volume4D, limits: VolumeLimits, *, now: datetime, where: str) -> None:
    """Raise a 422 naming ``where.<field>`` and the limit when ``volume`` exceeds ``limits``.

    Parameters
    ----------
    volume:
        The parsed volume.
    limits:
        The limits that apply to the submitting party (see :meth:`VolumeLimits.strictest`).
    now:
        Submission time (UTC).
    where:
        Field prefix, e.g. ``volumes[2]``.
    """
    b = volume.buffers
    if b.lateral_nm > limits.max_lateral_buffer_nm:
        raise _fail(
            f"{where}.buffers.lateral_nm",
            f"{b.lateral_nm:g} NM is above the agreement's limit of "
            f"{limits.max_lateral_buffer_nm:g} NM",
        )
    if b.vertical_ft > limits.max_vertical_buffer_ft:
        raise _fail(
            f"{where}.buffers.vertical_ft",
            f"{b.vertical_ft:g} ft is above the agreement's limit of "
            f"{limits.max_vertical_buffer_ft:g} ft",
        )
    for name in ("before_min", "after_min"):
        value = getattr(b, name)
        if value > limits.max_time_buffer_min:
            raise _fail(
                f"{where}.buffers.{name}",
                f"{value:g} min is above the agreement's limit of "
                f"{limits.max_time_buffer_min:g} min",
            )
    lo, hi = volume.altitude.native_ft()
    if hi - lo > limits.max_band_ft:
        raise _fail(
            f"{where}.altitude",
            f"band of {hi - lo:g} ft is above the agreement's limit of {limits.max_band_ft:g} ft",
        )
    hours = (volume.end - volume.start).total_seconds() / 3600.0
    if hours > limits.max_duration_h:
        raise _fail(
            f"{where}.end",
            f"window of {hours:g} h is above the agreement's limit of {limits.max_duration_h:g} h",
        )
    if volume.start < now - timedelta(hours=limits.max_start_past_h):
        raise _fail(
            f"{where}.start",
            f"starts more than the limit of {limits.max_start_past_h:g} h before submission",
        )
    if volume.start > now + timedelta(days=limits.max_ahead_days):
        raise _fail(
            f"{where}.start",
            f"starts more than the limit of {limits.max_ahead_days:g} days ahead",
        )
    core = volume.footprint.raw_core
    radius_nm = m_to_nm(core.radius_rad * EARTH_RADIUS_M + volume.buffered_width_m)
    if radius_nm > limits.max_radius_nm:
        raise _fail(
            f"{where}.footprint",
            f"extends {radius_nm:.0f} NM from its centre; the agreement's limit is "
            f"{limits.max_radius_nm:g} NM",
        )
    area = footprint_area_km2(volume)
    if area > limits.max_area_km2:
        raise _fail(
            f"{where}.footprint",
            f"area of {area:.0f} km2 is above the agreement's limit of {limits.max_area_km2:g} km2",
        )


def agreement_priority(priorities: Mapping[str, Any] | None, party_id: str, category: str) -> int:
    """A party's priority under one agreement: by party, else by activity category, else 0."""
    if not priorities:
        return 0
    by_party = priorities.get("parties") or {}
    if party_id in by_party:
        return int(by_party[party_id])
    by_category = priorities.get("categories") or {}
    return int(by_category.get(category, 0))


# ----------------------------------------------------------------------------- rate limits
HOTLINE_RATES: Final[Mapping[str, tuple[int, float]]] = {
    "flash": (5, 60.0),
    "immediate": (10, 60.0),
    "priority": (30, 60.0),
    "routine": (60, 60.0),
    "*": (90, 60.0),
}
"""Hotline messages a sending party may send per precedence: (count, per seconds); ``"*"`` is
the total over all precedences. FLASH starts an escalation clock on the other side, so it is
the scarcest."""


class SlidingWindowLimiter:
    """Per-key sliding-window counters (thread-safe; ``now_s`` is passed in, monotonic s).

    Parameters
    ----------
    rates:
        ``{kind: (count, window_s)}``; a ``"*"`` entry also limits the total per subject.
    """

    def __init__(self, rates: Mapping[str, tuple[int, float]] = HOTLINE_RATES) -> None:
        self.rates = dict(rates)
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _over(self, key: tuple[str, str], now_s: float) -> float:
        """Seconds until ``key`` has room again (0 when it has room now)."""
        count, window_s = self.rates[key[1]]
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now_s - window_s:
            hits.popleft()
        if len(hits) < count:
            return 0.0
        return max(0.001, hits[0] + window_s - now_s)

    def hit(self, subject: str, kind: str, now_s: float) -> None:
        """Count one event of ``kind`` by ``subject``, or raise :class:`RateLimitedError`.

        Raises
        ------
        RateLimitedError
            With ``retry_after_s`` when the kind's or the total window is full.
        """
        keys = [(subject, k) for k in (kind, "*") if k in self.rates]
        with self._lock:
            for key in keys:
                wait = self._over(key, now_s)
                if wait > 0:
                    count, window_s = self.rates[key[1]]
                    what = "messages" if key[1] == "*" else f"{key[1].upper()} messages"
                    raise RateLimitedError(
                        f"at most {count} {what} per {window_s:g} s; retry in {wait:.0f} s",
                        retry_after_s=wait,
                    )
            for key in keys:
                self._hits.setdefault(key, deque()).append(now_s)


# --------------------------------------------------------------------- agreement settings
def limits_for(session: Session, agreement_ids: Iterable[str]) -> VolumeLimits:
    """The limits a party in ``agreement_ids`` is held to: the strictest of each (defaults
    where an agreement sets none; the defaults when the party is in no agreement)."""
    ids = list(agreement_ids)
    if not ids:
        return VolumeLimits()
    stored = disclosure_sql.all_settings(session)
    return VolumeLimits.strictest(
        VolumeLimits.from_json((stored.get(a) or {}).get("limits")) for a in ids
    )


def priorities_of(session: Session) -> dict[str, Mapping[str, Any]]:
    """Every agreement's ``priorities`` setting, by agreement id (absent: none set)."""
    return {
        a: s["priorities"]
        for a, s in disclosure_sql.all_settings(session).items()
        if s["priorities"]
    }


def validate_settings(body: Mapping[str, Any], categories: Iterable[str]) -> dict[str, Any]:
    """Check an agreement's settings ``{"limits", "disclosure", "priorities"}`` (each optional)
    and return them normalised; errors name ``limits.<name>``, ``disclosure.<name>``,
    ``priorities.<...>``."""
    unknown = set(body) - {"limits", "disclosure", "priorities"}
    if unknown:
        raise InvalidInputError(field=sorted(unknown)[0], reason="unknown setting")
    out: dict[str, Any] = {"limits": None, "disclosure": None, "priorities": None}
    if body.get("limits") is not None:
        if not isinstance(body["limits"], Mapping):
            raise InvalidInputError(field="limits", reason="must be an object")
        VolumeLimits.from_json(body["limits"])
        out["limits"] = {k: float(v) for k, v in body["limits"].items()}
    if body.get("disclosure") is not None:
        d = body["disclosure"]
        names = {"fraction", "window_h", "h3_resolution", "floor_km2h"}
        if not isinstance(d, Mapping) or set(d) - names:
            raise InvalidInputError(field="disclosure", reason=f"an object of {sorted(names)}")
        checks = {
            "fraction": (0.0, 10.0),
            "window_h": (1.0, 24.0 * 30),
            "h3_resolution": (0, 15),
            "floor_km2h": (0.0, 1e7),
        }
        for key, (lo, hi) in checks.items():
            if key in d:
                v = d[key]
                if not isinstance(v, int | float) or isinstance(v, bool) or not lo <= v <= hi:
                    raise InvalidInputError(field=f"disclosure.{key}", reason=f"in [{lo}, {hi}]")
        out["disclosure"] = dict(d)
    if body.get("priorities") is not None:
        p = body["priorities"]
        known = set(categories)
        if not isinstance(p, Mapping) or set(p) - {"parties", "categories"}:
            raise InvalidInputError(field="priorities", reason="an object of parties, categories")
        for group in ("parties", "categories"):
            values = p.get(group) or {}
            if not isinstance(values, Mapping):
                raise InvalidInputError(field=f"priorities.{group}", reason="must be an object")
            for k, v in values.items():
                if group == "categories" and k not in known:
                    raise InvalidInputError(field=f"priorities.categories.{k}", reason="unknown")
                if not isinstance(v, int) or isinstance(v, bool) or abs(v) > 1000:
                    raise InvalidInputError(
                        field=f"priorities.{group}.{k}", reason="an integer in [-1000, 1000]"
                    )
        out["priorities"] = {g: dict(p.get(g) or {}) for g in ("parties", "categories")}
    return out


def settings_of(session: Session, agreement_id: str) -> dict[str, Any]:
    """The stored settings of one agreement (None where the defaults apply)."""
    return disclosure_sql.get_settings(session, agreement_id)


def put_settings_of(
    session: Session, agreement_id: str, values: Mapping[str, Any], *, now: datetime
) -> dict[str, Any]:
    """Store validated settings (:func:`validate_settings`) and return them."""
    disclosure_sql.put_settings(session, agreement_id, values, now=now)
    return disclosure_sql.get_settings(session, agreement_id)
