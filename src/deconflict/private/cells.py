"""Discretisation: a 4D volume -> a conservative set of 4D cells (H3 x time slot x layer).

A *cell* is ``(h3, slot, layer)``:

* ``h3``: an H3 cell (v4, as an unsigned 64-bit integer) at the agreement's resolution;
* ``slot``: ``floor(t / slot_s)`` for a UTC time ``t`` in seconds since the Unix epoch;
* ``layer``: ``floor(z / layer_ft)`` for an altitude ``z`` in ft AMSL.

**Conservative** (the property the private protocol relies on): if two volumes conflict in the
exact engine (:func:`deconflict.strategic.check_pair`), their cell sets share at least one cell.

* Time: the engine compares the *buffered* windows, closed. A common instant ``t`` lies in slot
  ``floor(t / slot_s)``, which is in both sets because each set holds every slot from the one of
  its buffered start to the one of its buffered end (integer nanoseconds, no rounding).
* Altitude: the engine compares two bands natively when they share a reference, else in ft AMSL
  widened by the conversion uncertainty. Each volume is discretised in the *widened* ft AMSL
  band plus its vertical buffer (the broad-phase filter band of the strategic index), a superset
  of every frame the engine may compare it in; a common altitude therefore falls in a common
  layer (bounds are rounded outwards by :data:`ALT_SLACK_FT`).
* Footprint: the engine reports a conflict when the core-to-core geodesic distance is at most
  the sum of the buffered widths plus :data:`~deconflict.strategic.TOUCH_TOLERANCE_M`; then
  some point ``p`` lies within ``width + tolerance`` of both cores. ``p`` belongs to one H3 cell
  whose centre is within the cell's circumradius of ``p``; that radius is at most
  ``1.104 x`` the average edge length at every resolution (measured over all cells of
  resolutions 2 and 4, see ``tests/private``), bounded here by :data:`RADIUS_FACTOR` ``x`` edge.
  Every cell whose centre lies within ``width + R + 1 m`` of the core is kept, so the cell of
  ``p`` is in both sets. Centres are tested in the core's central (gnomonic) plane with the
  plane's proven scale bound (planar <= 1.01 / cos(theta)**2 x true), never with longitudes as
  numbers: the poles and the antimeridian need no special case.
* The cells are found by a flood fill over H3 neighbours from the cells of the core's vertices,
  exploring one radius further than the kept set (every kept cell is joined to a seed through
  explored cells), so no polygon-fill convention of H3 is relied upon.

Work is bounded: a volume whose cell count would exceed ``max_cells`` raises
:class:`CellLimitError` before the cells are enumerated (time x layer product first, then during
the flood fill). Pure module: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import h3
import numpy as np
import numpy.typing as npt
import shapely

from deconflict.errors import InvalidInputError
from deconflict.geo.core import Core
from deconflict.geo.ellipsoid import CentralPlane, lonlat_to_unit
from deconflict.strategic.volume import Volume4D

RADIUS_FACTOR: Final = 1.25
"""Bound on an H3 cell's centre-to-boundary distance as a multiple of the resolution's average
hexagon edge length (measured maximum over all cells: 1.104)."""

LATERAL_SLACK_M: Final = 1.0
"""Extra lateral margin (m) covering the engine's touch tolerance and edge approximations."""

ALT_SLACK_FT: Final = 0.01
"""Altitude bounds are rounded outwards by this much (ft) before taking layers."""

MIN_RESOLUTION: Final = 2
MAX_RESOLUTION: Final = 12
MIN_SLOT_S: Final = 60
MAX_SLOT_S: Final = 86_400
MIN_LAYER_FT: Final = 100
MAX_LAYER_FT: Final = 50_000

DEFAULT_MAX_CELLS: Final = 200_000
"""Default cap on the 4D cells of one volume."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NS: Final = 1_000_000_000

UIntArray = npt.NDArray[np.uint64]
IntArray = npt.NDArray[np.int64]


class CellLimitError(InvalidInputError):
    """A volume discretises to more cells than allowed (bounded work)."""

    status = 422
    title = "Too many cells"


@dataclass(frozen=True)
class Grid:
    """The 4D grid an agreement uses (both parties must use the same).

    Parameters
    ----------
    resolution:
        H3 resolution (2..12; 5 ~ 8.5 km edges, 6 ~ 3.2 km, 7 ~ 1.2 km).
    slot_s:
        Time slot length (s, 60..86400).
    layer_ft:
        Altitude layer thickness (ft, 100..50000).
    """

    resolution: int = 6
    slot_s: int = 300
    layer_ft: int = 1000

    def __post_init__(self) -> None:
        checks = (
            ("resolution", self.resolution, MIN_RESOLUTION, MAX_RESOLUTION),
            ("slot_s", self.slot_s, MIN_SLOT_S, MAX_SLOT_S),
            ("layer_ft", self.layer_ft, MIN_LAYER_FT, MAX_LAYER_FT),
        )
        for name, value, lo, hi in checks:
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise InvalidInputError(
                    field=f"grid.{name}", reason=f"must be an integer in {lo}..{hi}"
                )

    @property
    def radius_m(self) -> float:
        """Bound (m) on the distance from an H3 cell's centre to any of its points."""
        return RADIUS_FACTOR * float(h3.average_hexagon_edge_length(self.resolution, "m"))

    def to_json(self) -> dict[str, int]:
        """``{"resolution", "slot_s", "layer_ft"}``."""
        return {"resolution": self.resolution, "slot_s": self.slot_s, "layer_ft": self.layer_ft}

    @classmethod
    def from_json(cls, obj: Any, where: str = "grid") -> Grid:
        """Parse ``{"resolution", "slot_s", "layer_ft"}`` (missing keys take the defaults)."""
        if obj is None:
            return cls()
        if not isinstance(obj, Mapping):
            raise InvalidInputError(field=where, reason="must be an object")
        unknown = set(obj) - {"resolution", "slot_s", "layer_ft"}
        if unknown:
            raise InvalidInputError(field=f"{where}.{sorted(unknown)[0]}", reason="unknown field")
        try:
            return cls(**{k: obj[k] for k in obj})
        except InvalidInputError as exc:
            raise InvalidInputError(
                field=f"{where}.{exc.field.removeprefix('grid.')}", reason=exc.reason
            ) from None


@dataclass(frozen=True)
class Cells:
    """A set of 4D cells as three equal-length columns, sorted and unique by (h3, slot, layer).

    Attributes
    ----------
    h3:
        H3 cell ids (uint64).
    slot:
        Time slot numbers (int64, ``floor(t_s / slot_s)``).
    layer:
        Altitude layer numbers (int64, ``floor(z_ft / layer_ft)``, ft AMSL).
    """

    h3: UIntArray
    slot: IntArray
    layer: IntArray

    def __len__(self) -> int:
        return len(self.h3)

    @classmethod
    def empty(cls) -> Cells:
        """No cells."""
        return cls(np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def records(self) -> npt.NDArray[np.void]:
        """A structured array (h3, slot, layer) of big-endian fields, one row per cell."""
        rec = np.empty(len(self), dtype=CELL_DTYPE)
        rec["h3"] = self.h3
        rec["slot"] = self.slot
        rec["layer"] = self.layer
        return rec

    def keys(self) -> list[tuple[int, int, int]]:
        """Python tuples ``(h3, slot, layer)`` (for set operations in tests and reports)."""
        return list(zip(self.h3.tolist(), self.slot.tolist(), self.layer.tolist(), strict=True))

    @classmethod
    def union(cls, parts: Iterable[Cells]) -> Cells:
        """Sorted unique union of cell sets."""
        chunks = [p.records() for p in parts if len(p)]
        if not chunks:
            return cls.empty()
        rec = np.unique(np.concatenate(chunks))
        return cls(
            rec["h3"].astype(np.uint64), rec["slot"].astype(np.int64), rec["layer"].astype(np.int64)
        )


CELL_DTYPE: Final = np.dtype([("h3", ">u8"), ("slot", ">i8"), ("layer", ">i8")])
"""Canonical cell record: 24 bytes, big-endian (the bytes hashed by the PSI)."""


def time_slots(volume: Volume4D, grid: Grid) -> tuple[int, int]:
    """(first, last) slot numbers covering the volume's *buffered* window, inclusive."""
    slot_ns = grid.slot_s * _NS
    return (_ns(volume.buffered_start) // slot_ns, _ns(volume.buffered_end) // slot_ns)


def altitude_layers(volume: Volume4D, grid: Grid) -> tuple[int, int]:
    """(first, last) layer numbers covering the widened ft AMSL band + vertical buffer."""
    lo, hi, _ = volume.altitude.amsl_ft()
    vb = volume.buffers.vertical_ft
    first = math.floor((lo - vb - ALT_SLACK_FT) / grid.layer_ft)
    last = math.floor((hi + vb + ALT_SLACK_FT) / grid.layer_ft)
    return (first, last)


def footprint_h3(core: Core, width_m: float, grid: Grid, max_cells: int) -> UIntArray:
    """Sorted H3 cells whose centre is within ``width_m + R + 1 m`` of ``core`` (see module doc).

    Raises
    ------
    CellLimitError
        More than ``max_cells`` cells.
    """
    res = grid.resolution
    radius = grid.radius_m
    include_m = width_m + radius + LATERAL_SLACK_M
    explore_m = include_m + radius
    plane = CentralPlane(core.centre)
    geom = core.planar(plane)
    shapely.prepare(geom)
    theta_core = plane.max_angle_rad(core.units)
    lon = ((core.lonlat[:, 0] + 180.0) % 360.0) - 180.0
    lat = core.lonlat[:, 1]
    seeds = {h3.latlng_to_cell(float(la), float(lo), res) for lo, la in zip(lon, lat, strict=True)}
    visited: set[str] = set(seeds)
    kept: list[str] = []
    frontier = sorted(seeds)
    visit_cap = 4 * max_cells + 10_000
    while frontier:
        centres = np.array([h3.cell_to_latlng(c) for c in frontier], dtype=np.float64)
        units = lonlat_to_unit(centres[:, 1], centres[:, 0])
        cos_c = np.clip(units @ plane.centre, -1.0, 1.0)
        if np.any(cos_c < 0.35):
            raise CellLimitError(
                field="footprint", reason="footprint too large to discretise (split it)"
            )
        theta = np.maximum(np.arccos(cos_c), theta_core)
        scale = 1.01 / np.cos(theta) ** 2
        d_plane = shapely.distance(geom, shapely.points(plane.to_plane(units)))
        keep = d_plane <= scale * include_m
        explore = d_plane <= scale * explore_m
        kept.extend(c for c, k in zip(frontier, keep, strict=True) if k)
        if len(kept) > max_cells:
            raise CellLimitError(
                field="footprint",
                reason=f"covers more than {max_cells} H3 cells at resolution {res}",
            )
        nxt: set[str] = set()
        for c, e in zip(frontier, explore, strict=True):
            if not e:
                continue
            for nb in h3.grid_ring(c, 1):
                if nb not in visited:
                    visited.add(nb)
                    nxt.add(nb)
        if len(visited) > visit_cap:
            raise CellLimitError(
                field="footprint",
                reason=f"covers more than {max_cells} H3 cells at resolution {res}",
            )
        frontier = sorted(nxt)
    out = np.array([h3.str_to_int(c) for c in kept], dtype=np.uint64)
    out.sort()
    return out


def discretise(
    volume: Volume4D, grid: Grid, *, max_cells: int = DEFAULT_MAX_CELLS, where: str = "volume"
) -> Cells:
    """The conservative 4D cell set of one volume (buffers included).

    Parameters
    ----------
    volume:
        The volume (any footprint kind, any altitude reference).
    grid:
        The agreement's grid.
    max_cells:
        Cap on the 4D cells (h3 x slots x layers) of this volume.
    where:
        Prefix of the field named by errors (e.g. ``"feature BLUE-1"``).

    Raises
    ------
    CellLimitError
        The volume would discretise to more than ``max_cells`` cells.
    """
    s0, s1 = time_slots(volume, grid)
    l0, l1 = altitude_layers(volume, grid)
    per_cell = (s1 - s0 + 1) * (l1 - l0 + 1)
    if per_cell > max_cells:
        raise CellLimitError(
            field=where,
            reason=f"{s1 - s0 + 1} time slots x {l1 - l0 + 1} altitude layers exceed the cap of "
            f"{max_cells} cells; use a coarser grid or split the volume",
        )
    try:
        cells_2d = footprint_h3(
            volume.footprint.core, volume.buffered_width_m, grid, max(1, max_cells // per_cell)
        )
    except CellLimitError as exc:
        raise CellLimitError(
            field=f"{where}.{exc.field}",
            reason=f"{exc.reason} x {s1 - s0 + 1} slots x {l1 - l0 + 1} layers exceeds the cap "
            f"of {max_cells} cells; use a coarser grid or split the volume",
        ) from None
    slots = np.arange(s0, s1 + 1, dtype=np.int64)
    layers = np.arange(l0, l1 + 1, dtype=np.int64)
    hh, ss, ll = np.meshgrid(cells_2d, slots, layers, indexing="ij")
    return Cells(hh.ravel(), ss.ravel(), ll.ravel())


def cell_window(grid: Grid, slots: Iterable[int]) -> tuple[datetime, datetime]:
    """UTC (start, end) spanned by the given slot numbers (end exclusive)."""
    values = list(slots)
    first, last = min(values), max(values)
    return (_from_s(first * grid.slot_s), _from_s((last + 1) * grid.slot_s))


def cell_band_ft(grid: Grid, layers: Iterable[int]) -> tuple[float, float]:
    """(lower, upper) ft AMSL spanned by the given layer numbers."""
    values = list(layers)
    return (float(min(values) * grid.layer_ft), float((max(values) + 1) * grid.layer_ft))


def _ns(dt: datetime) -> int:
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000


def _from_s(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
