"""Exact 4D conflicts between two volumes, and the overlap a party may learn.

Two volumes conflict when, *after each one's buffers*, their footprints, altitude bands and time
windows all intersect. Boundaries are inclusive (touching is a conflict: the lateral test allows
:data:`TOUCH_TOLERANCE_M`, half the F3548 1 cm precision); ``half_open_time=True`` makes time
windows ``[start, end)`` so back-to-back bookings do not conflict.

The :class:`Overlap` carries only the intersection (footprint as GeoJSON, common band, common
window) and the margins by which the *unbuffered* volumes are apart in each dimension: a
positive margin means the buffers caused the conflict. Pure module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Final

import numpy as np

from deconflict.geo.batch import prepare_cores
from deconflict.geo.core import core_distance_m, distance_bounds_m
from deconflict.geo.overlap import overlap_planar, planar_to_geojson
from deconflict.strategic.volume import Volume4D, format_utc
from deconflict.units import m_to_nm

TOUCH_TOLERANCE_M: Final = 0.005
"""Lateral tolerance (m): footprints closer than this count as touching (F3548: overlaps
beyond 1 cm must be flagged, gaps beyond 1 cm must not)."""


@dataclass(frozen=True)
class Margins:
    """How far apart the *unbuffered* volumes are in each dimension (0 = they overlap).

    Attributes
    ----------
    lateral_nm:
        Geodesic gap between the unbuffered footprints (NM).
    vertical_ft:
        Gap between the unbuffered altitude bands (ft).
    time_min:
        Gap between the unbuffered time windows (minutes).
    """

    lateral_nm: float
    vertical_ft: float
    time_min: float

    @property
    def caused_by_buffers(self) -> bool:
        """True when the volumes only conflict because of buffers."""
        return self.lateral_nm > 0.0 or self.vertical_ft > 0.0 or self.time_min > 0.0

    def to_json(self) -> dict[str, float]:
        """Wire form."""
        return {
            "lateral_nm": self.lateral_nm,
            "vertical_ft": self.vertical_ft,
            "time_min": self.time_min,
        }


@dataclass(frozen=True)
class Overlap:
    """Where and when two volumes overlap: all that one party may learn of the other's plan.

    Attributes
    ----------
    alt_lower_ft, alt_upper_ft:
        Common altitude band (ft) in ``alt_reference`` (``"ft_amsl"`` when the two volumes used
        different references; then ``approximate`` is True and the band includes the stated
        conversion uncertainty).
    start, end:
        Common (buffered) time window, UTC.
    vertical_gap_ft, time_gap_min:
        Unbuffered vertical and time gaps (0 when the unbuffered volumes overlap).
    margins:
        Unbuffered gaps incl. the exact lateral one (see :class:`Margins`; computed on access).
    geometry:
        Intersection footprint as RFC 7946 GeoJSON (computed on first access).
    """

    alt_lower_ft: float
    alt_upper_ft: float
    alt_reference: str
    approximate: bool
    start: datetime
    end: datetime
    vertical_gap_ft: float
    time_gap_min: float
    _a: Volume4D = field(repr=False, compare=False)
    _b: Volume4D = field(repr=False, compare=False)

    @cached_property
    def margins(self) -> Margins:
        """Unbuffered gaps; the lateral one is an exact geodesic distance (computed on access)."""
        unbuffered = self._a.width_m + self._b.width_m
        limit = self._a.buffered_width_m + self._b.buffered_width_m + TOUCH_TOLERANCE_M
        distance = core_distance_m(self._a.core, self._b.core, limit)
        gap_m = max(0.0, distance - unbuffered)
        return Margins(
            lateral_nm=0.0 if gap_m <= TOUCH_TOLERANCE_M else m_to_nm(gap_m),
            vertical_ft=self.vertical_gap_ft,
            time_min=self.time_gap_min,
        )

    @cached_property
    def geometry(self) -> dict[str, Any]:
        """Intersection of the buffered footprints (GeoJSON geometry, lon/lat deg)."""
        geom, plane = overlap_planar(
            self._a.core, self._a.buffered_width_m, self._b.core, self._b.buffered_width_m
        )
        return planar_to_geojson(geom, plane)

    def to_json(self) -> dict[str, Any]:
        """``{"geometry", "alt_lower_ft", "alt_upper_ft", "alt_reference", "approximate",
        "start", "end", "margins"}``."""
        return {
            "geometry": self.geometry,
            "alt_lower_ft": self.alt_lower_ft,
            "alt_upper_ft": self.alt_upper_ft,
            "alt_reference": self.alt_reference,
            "approximate": self.approximate,
            "start": format_utc(self.start),
            "end": format_utc(self.end),
            "margins": self.margins.to_json(),
        }


@dataclass(frozen=True)
class VolumeConflict:
    """A conflict between volume ``a`` (party ``party_a``) and ``b`` (party ``party_b``)."""

    a: str
    b: str
    party_a: str
    party_b: str
    overlap: Overlap

    def to_json(self) -> dict[str, Any]:
        """``{"a", "b", "parties": [party_a, party_b], "overlap": {...}}``."""
        return {
            "a": self.a,
            "b": self.b,
            "parties": [self.party_a, self.party_b],
            "overlap": self.overlap.to_json(),
        }


def time_overlaps(a: Volume4D, b: Volume4D, *, half_open_time: bool = False) -> bool:
    """Buffered time windows intersect (closed, or half-open ``[start, end)``)."""
    if half_open_time:
        return a.buffered_start < b.buffered_end and b.buffered_start < a.buffered_end
    return a.buffered_start <= b.buffered_end and b.buffered_start <= a.buffered_end


def check_pair(a: Volume4D, b: Volume4D, *, half_open_time: bool = False) -> Overlap | None:
    """Exact 4D check of two volumes; the :class:`Overlap` if they conflict, else None.

    Symmetric: swapping ``a`` and ``b`` gives the same verdict, band, window and margins.
    """
    return check_pairs([(a, b)], half_open_time=half_open_time)[0]


def check_pairs(
    pairs: Sequence[tuple[Volume4D, Volume4D]], *, half_open_time: bool = False
) -> list[Overlap | None]:
    """:func:`check_pair` for many pairs at once (vectorised planar stage, same verdicts)."""
    out: list[Overlap | None] = [None] * len(pairs)
    live: list[int] = []
    bands: list[tuple[float, float, float, float, float, float, bool]] = []
    for k, (a, b) in enumerate(pairs):
        if not time_overlaps(a, b, half_open_time=half_open_time):
            continue
        a_lo, a_hi, b_lo, b_hi, approximate = a.altitude.comparable_ft(b.altitude)
        va, vb = a.buffers.vertical_ft, b.buffers.vertical_ft
        lo = max(a_lo - va, b_lo - vb)
        hi = min(a_hi + va, b_hi + vb)
        if lo > hi:
            continue
        live.append(k)
        bands.append((lo, hi, a_lo, a_hi, b_lo, b_hi, approximate))
    if not live:
        return out
    if len(live) > 8:
        prepare_cores({id(v.footprint): v.footprint for k in live for v in pairs[k]}.values())
    cores = [(pairs[k][0].core, pairs[k][1].core) for k in live]
    threshold = np.array(
        [pairs[k][0].buffered_width_m + pairs[k][1].buffered_width_m for k in live]
    )
    limit = threshold + TOUCH_TOLERANCE_M
    distance = distance_bounds_m(cores, limit, limit)
    for n, k in enumerate(live):
        if distance[n] > threshold[n] + TOUCH_TOLERANCE_M:
            continue
        a, b = pairs[k]
        lo, hi, a_lo, a_hi, b_lo, b_hi, approximate = bands[n]
        if approximate or a.altitude.reference is not b.altitude.reference:
            reference = "ft_amsl"
        else:
            reference = a.altitude.reference.value
        out[k] = Overlap(
            lo,
            hi,
            reference,
            approximate,
            max(a.buffered_start, b.buffered_start),
            min(a.buffered_end, b.buffered_end),
            max(0.0, max(a_lo, b_lo) - min(a_hi, b_hi)),
            max(0.0, (max(a.start, b.start) - min(a.end, b.end)).total_seconds() / 60.0),
            a,
            b,
        )
    return out
