"""Reveal on consent: the parts of the conflicting volumes each party shows the other (pure).

After the PSI, a party knows which of its cells the counterpart also occupies. With its consent
(``deconflict private sync --reveal``) its client sends the counterpart, sealed end-to-end, the
volumes that own those cells **clipped to those cells** (:func:`reveal_part`): the window to the
span of the intersecting time slots, the footprint to the union of the intersecting H3 cells
(dilated by :data:`CLIP_MARGIN_M`). Both clients then run the exact engine on the two revealed
sets (:func:`exact_overlaps`) and exchange a digest of the result (:func:`verdict_digest`):
equal digests mean both sides computed the same overlaps; a difference is reported to both.

Soundness: every point and instant of an exact overlap of volumes ``v`` and ``w`` lies in a
cell that ``v`` and ``w`` share (:mod:`deconflict.private.cells`), so it lies in both clipped
parts: the exact engine finds the same conflicts, windows and bands on the revealed parts as
in open mode. The clipped footprint is a polygon drawn around the buffered footprint from
outside (:data:`OUTLINE_MARGIN_M`, more than the outline's chord sag and the simplification),
so overlap outlines agree with open mode to about a metre, and footprints less than ~2 m apart
may be reported as touching. The altitude band of a revealed volume is shown whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import h3
import numpy as np
import shapely

from deconflict.errors import InvalidInputError
from deconflict.geo.ellipsoid import CentralPlane, lonlat_to_unit, unit_to_lonlat
from deconflict.geo.footprints import footprint_from_json
from deconflict.geo.overlap import buffered_planar
from deconflict.private.cells import Grid, cell_window
from deconflict.strategic.conflicts import check_pair
from deconflict.strategic.volume import Buffers, Volume4D, format_utc

CLIP_MARGIN_M: Final = 50.0
"""The union of intersecting H3 cells is dilated by this much (m) before clipping a footprint
(covers the difference between H3's spherical cell edges and the planar clip)."""

OUTLINE_MARGIN_M: Final = 1.5
"""The buffered footprint is drawn this much (m) larger than it is before clipping, so that the
drawn polygon (chord sag <= 1 m, simplified by <= 0.25 m) still contains it."""


def clip_to_slots(volume: Volume4D, grid: Grid, slots: Iterable[int]) -> Volume4D:
    """The volume with its buffered window clipped to the span of ``slots``.

    The unbuffered window is kept where it lies inside the span; the rest of the span inside
    the buffered window is expressed as before/after buffers. Footprint, band and lateral and
    vertical buffers are unchanged.
    """
    span_start, span_end = cell_window(grid, slots)
    bs = max(volume.buffered_start, span_start)
    be = min(volume.buffered_end, span_end)
    if be < bs:  # the span misses the volume (not for its own slots); show the nearest instant
        bs = be = min(max(volume.buffered_start, span_start), volume.buffered_end)
    start = max(volume.start, bs)
    end = min(volume.end, be)
    if start >= end:  # the unbuffered window is (almost) outside the span: show the span flat
        # (at least 1 us long, but never past the volume's own buffered window: a window
        # touching another at an instant must overlap it at that instant only)
        tick = timedelta(microseconds=1)
        if be - bs < tick:
            if bs + tick <= volume.buffered_end:
                be = bs + tick
            else:
                bs = be - tick
        start, end = bs, be
    buffers = Buffers(
        lateral_nm=volume.buffers.lateral_nm,
        vertical_ft=volume.buffers.vertical_ft,
        before_min=_minutes(start - bs),
        after_min=_minutes(be - end),
    )
    return Volume4D(volume.footprint, volume.altitude, start, end, buffers, volume.id)


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60.0


def exact_overlaps(
    own: Sequence[tuple[str, Volume4D]], theirs: Sequence[tuple[str, Volume4D]]
) -> list[dict[str, Any]]:
    """Exact conflicts between every own and every revealed counterpart volume.

    Returns
    -------
    ``[{"own_volume", "counterpart_volume", "overlap": {...}}]`` sorted by the two keys;
    ``overlap`` is :meth:`deconflict.strategic.Overlap.to_json`.
    """
    out: list[dict[str, Any]] = []
    for key_a, va in own:
        for key_b, vb in theirs:
            overlap = check_pair(va, vb)
            if overlap is not None:
                out.append(
                    {"own_volume": key_a, "counterpart_volume": key_b, "overlap": overlap.to_json()}
                )
    out.sort(key=lambda r: (r["own_volume"], r["counterpart_volume"]))
    return out


def verdict_digest(records: Sequence[dict[str, Any]], *, own_first: bool) -> str:
    """Orientation-free digest of :func:`exact_overlaps` results.

    ``own_first`` says whether this side's keys are the first of the agreement's ordered pair,
    so both clients hash ``(first key, second key, window, band, approximate)`` in one order.
    """
    rows = []
    for r in records:
        own, other = r["own_volume"], r["counterpart_volume"]
        first, second = (own, other) if own_first else (other, own)
        o = r["overlap"]
        rows.append(
            [
                first,
                second,
                o["start"],
                o["end"],
                round(float(o["alt_lower_ft"]), 3),
                round(float(o["alt_upper_ft"]), 3),
                o["alt_reference"],
                bool(o["approximate"]),
            ]
        )
    rows.sort()
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def window_json(start: datetime, end: datetime) -> dict[str, str]:
    """``{"start", "end"}`` in RFC 3339 UTC."""
    return {"start": format_utc(start), "end": format_utc(end)}


def clip_footprint(volume: Volume4D, h3_cells: Iterable[int]) -> Volume4D:
    """The volume with its buffered footprint clipped to the given H3 cells (a polygon footprint
    with the lateral buffer folded in); the volume unchanged if the clip cannot be expressed."""
    cells = sorted(set(h3_cells))
    if not cells:
        return volume
    core = volume.footprint.core
    plane = CentralPlane(core.centre)
    width = volume.buffered_width_m
    outline = (
        buffered_planar(core, width + OUTLINE_MARGIN_M, plane)
        if width > 0.0
        else shapely.buffer(core.planar(plane), OUTLINE_MARGIN_M)
    )
    hexes = []
    for cell in cells:
        b = np.asarray(h3.cell_to_boundary(h3.int_to_str(cell)), dtype=np.float64)
        hexes.append(shapely.polygons(plane.to_plane(lonlat_to_unit(b[:, 1], b[:, 0]))))
    cover = shapely.buffer(shapely.union_all(hexes), CLIP_MARGIN_M)
    clipped = shapely.simplify(shapely.intersection(outline, cover), 0.25)
    parts = [g for g in shapely.get_parts(clipped) if g.geom_type == "Polygon" and g.area > 0]
    if not parts:
        return volume
    coordinates = []
    for poly in parts:
        rings = []
        for ring in (poly.exterior, *poly.interiors):
            # raw longitudes in [-180, 180]: an edge across the antimeridian (179 -> -179) is
            # the short geodesic edge. Unwrapping (adding multiples of 360) would round the
            # closing vertex differently from the first one, leaving the ring unclosed.
            lon, lat = unit_to_lonlat(plane.to_unit(np.asarray(ring.coords)))
            rings.append([[float(x), float(y)] for x, y in zip(lon, lat, strict=True)])
        coordinates.append(rings)
    try:
        footprint = footprint_from_json({"type": "multipolygon", "coordinates": coordinates})
        buffers = Buffers(
            lateral_nm=0.0,
            vertical_ft=volume.buffers.vertical_ft,
            before_min=volume.buffers.before_min,
            after_min=volume.buffers.after_min,
        )
        return Volume4D(footprint, volume.altitude, volume.start, volume.end, buffers, volume.id)
    except InvalidInputError:  # e.g. too many vertices: show the (time-clipped) volume
        return volume


def reveal_part(volume: Volume4D, grid: Grid, cells: Iterable[tuple[int, int, int]]) -> Volume4D:
    """What a party reveals of ``volume`` given its intersecting cells ``(h3, slot, layer)``."""
    keys = list(cells)
    timed = clip_to_slots(volume, grid, [k[1] for k in keys])
    return clip_footprint(timed, [k[0] for k in keys])


def cell_km2h(grid: Grid) -> float:
    """Area x time of one (H3 cell, time slot) of ``grid`` (km^2 x h; average hexagon area).

    The unit in which private-mode reveals are charged to the disclosure budget."""
    return float(h3.average_hexagon_area(grid.resolution, "km^2")) * grid.slot_s / 3600.0


def reveal_cell_slots(parts: Iterable[Iterable[tuple[int, int, int]]]) -> int:
    """What a reveal shows, in (H3 cell, slot) units: for each revealed volume part (given by
    its intersecting cells ``(h3, slot, layer)``), its distinct H3 cells times the span of its
    slots (a part is clipped to the union of those cells and to that span,
    :func:`reveal_part`). The altitude band is not counted (the budget is area x time)."""
    total = 0
    for cells in parts:
        keys = list(cells)
        if not keys:
            continue
        slots = [k[1] for k in keys]
        total += len({k[0] for k in keys}) * (max(slots) - min(slots) + 1)
    return total
