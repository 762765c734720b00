"""Tile-sharded detection: split a snapshot into geographic tiles with halos, detect, merge.

Exactness. Over the look-ahead ``[0, T]`` every aircraft stays within ``s T / 2`` of its
straight-line ECEF position at ``T / 2`` (``s`` its ground speed), so a conflicting pair is
closer than ``D = R + margin + s_max T`` at that midpoint (the same bound the kernel's broad
phase uses, see ``_jit``). The midpoint positions are hashed into cubic ECEF cells of edge
``>= D``; the cells are ordered geographically (latitude band, then longitude of the cell
centre) and cut into tiles of about equal aircraft counts. A tile *owns* the aircraft of its
cells (its core) and also receives, as a halo, every aircraft of the 26 neighbouring cells. The
pair ``(i, j)``, ``i < j``, is reported only by the tile that owns ``i``; ``j`` is in that
tile's core or halo because it is closer than ``D``. Each pair's values depend only on the two
aircraft, so the merged answer is exactly (bit for bit) the single-process one. ECEF cells make
this hold at the poles and across the antimeridian.

This module is pure (no I/O, no Ray): ``detect_sharded`` takes a ``mapper`` that runs
``detect_tile`` on every ``TileJob`` (the built-in ``map`` runs them in this process; the Ray
adapter in ``deconflict.cluster`` runs them as Ray tasks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from deconflict.tactical._broad import curvature_margin_m
from deconflict.tactical._geometry import kinematics
from deconflict.tactical._vertical import VerticalMode
from deconflict.tactical.constants import HORIZONTAL_NM, LOOKAHEAD_S, VERTICAL_FT
from deconflict.tactical.kernel import Conflicts, _check_parameters, _columns, detect_arrays
from deconflict.units import M_PER_NM, FloatArray

IntArray = npt.NDArray[np.int64]

LAT_BAND_DEG: float = 10.0
"""Height of the latitude bands in which cells are ordered into tiles, degrees."""


@dataclass(frozen=True, slots=True)
class DetectParams:
    """Thresholds of one detection: radius (NM), half-height (ft), look-ahead (s), mode."""

    horizontal_nm: float = HORIZONTAL_NM
    vertical_ft: float = VERTICAL_FT
    lookahead_s: float = LOOKAHEAD_S
    vertical_mode: str = VerticalMode.STRICT.value


@dataclass(frozen=True, slots=True)
class TileJob:
    """One tile: the global row numbers of its members (core then halo, ascending within each)
    and how many of them (the first ``n_core``) it owns."""

    members: IntArray
    n_core: int


def halo_distance_m(gs_kt: FloatArray, horizontal_nm: float, lookahead_s: float) -> float:
    """``D``: an upper bound (m) on the midpoint ECEF distance of any conflicting pair."""
    max_speed = float(np.abs(gs_kt).max()) * (M_PER_NM / 3600.0) if gs_kt.shape[0] else 0.0
    radius_m = horizontal_nm * M_PER_NM
    margin = curvature_margin_m(
        2.0 * radius_m + 2.0 * max_speed * lookahead_s, max_speed, lookahead_s
    )
    # a little slack over the kernel's bound: tiles may only ever be too generous
    return (radius_m + margin + max_speed * lookahead_s) * 1.001 + 10.0


def plan_tiles(
    lat_deg: FloatArray,
    lon_deg: FloatArray,
    gs_kt: FloatArray,
    track_deg: FloatArray,
    n_tiles: int,
    *,
    horizontal_nm: float = HORIZONTAL_NM,
    lookahead_s: float = LOOKAHEAD_S,
) -> list[TileJob]:
    """Cut a snapshot into at most ``n_tiles`` geographic tiles with halos (see module doc)."""
    n = lat_deg.shape[0]
    if n == 0:
        return []
    cell_m = halo_distance_m(gs_kt, horizontal_nm, lookahead_s)
    kin = kinematics(lat_deg, lon_deg, gs_kt, track_deg)
    half = 0.5 * lookahead_s
    p = np.stack(
        (kin.x_m + kin.vx_mps * half, kin.y_m + kin.vy_mps * half, kin.z_m + kin.vz_mps * half)
    )
    origin = p.min(axis=1)
    cells = np.floor((p - origin[:, None]) / cell_m).astype(np.int64) + 1
    dims = cells.max(axis=1) + 2
    key = (cells[0] * dims[1] + cells[1]) * dims[2] + cells[2]
    cell_keys, cell_of, cell_count = np.unique(key, return_inverse=True, return_counts=True)
    cell_of = cell_of.reshape(-1)
    # geographic order of the cells: latitude band, then longitude of the cell centre
    centre = np.stack(
        [np.bincount(cell_of, weights=p[k], minlength=cell_keys.shape[0]) for k in range(3)]
    )
    lat_c = np.degrees(np.arctan2(centre[2], np.hypot(centre[0], centre[1])))
    lon_c = np.degrees(np.arctan2(centre[1], centre[0]))
    band = np.floor((lat_c + 90.0) / LAT_BAND_DEG)
    geo_order = np.lexsort((lon_c, band))
    cumulative = np.cumsum(cell_count[geo_order])
    n_tiles = max(1, min(int(n_tiles), cell_keys.shape[0]))
    tile_of_ordered = np.minimum((cumulative - 1) * n_tiles // n, n_tiles - 1)
    tile_of_cell = np.empty(cell_keys.shape[0], dtype=np.int64)
    tile_of_cell[geo_order] = tile_of_ordered
    tile_of_aircraft = tile_of_cell[cell_of]
    offsets = np.array(
        [
            (dx * dims[1] + dy) * dims[2] + dz
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for dz in (-1, 0, 1)
        ],
        dtype=np.int64,
    )
    jobs: list[TileJob] = []
    for tile in range(n_tiles):
        core = np.flatnonzero(tile_of_aircraft == tile).astype(np.int64)
        if core.shape[0] == 0:
            continue
        core_cells = cell_keys[tile_of_cell == tile]
        near = np.unique((core_cells[:, None] + offsets[None, :]).reshape(-1))
        halo = np.flatnonzero(np.isin(key, near) & (tile_of_aircraft != tile)).astype(np.int64)
        jobs.append(TileJob(members=np.concatenate((core, halo)), n_core=int(core.shape[0])))
    return jobs


def detect_tile(columns: FloatArray, job: TileJob, params: DetectParams) -> Conflicts:
    """Detect within one tile; keep the pairs whose lower global row the tile owns.

    ``columns`` is the ``(6, n)`` matrix of the whole snapshot (lat, lon, alt_ft, gs_kt,
    track_deg, vs_fpm); the returned rows ``i``, ``j`` are global.
    """
    sub = columns[:, job.members]
    found = detect_arrays(
        *sub,
        horizontal_nm=params.horizontal_nm,
        vertical_ft=params.vertical_ft,
        lookahead_s=params.lookahead_s,
        vertical_mode=params.vertical_mode,
    )
    gi, gj = job.members[found.i], job.members[found.j]
    swap = gi > gj
    lower = np.where(swap, found.j, found.i)
    keep = np.flatnonzero(lower < job.n_core)
    swap_k = swap[keep]
    t = {
        name: getattr(found, name)[keep]
        for name in (
            "t_in_s",
            "t_out_s",
            "t_cpa_s",
            "hmd_nm",
            "vmd_ft",
            "range_nm",
            "vertical_ft",
        )
    }
    bearing = found.bearing_deg[keep]
    reverse = found.reverse_bearing_deg[keep]
    return Conflicts(
        i=np.where(swap_k, gj[keep], gi[keep]),
        j=np.where(swap_k, gi[keep], gj[keep]),
        bearing_deg=np.where(swap_k, reverse, bearing),
        reverse_bearing_deg=np.where(swap_k, bearing, reverse),
        **t,
    )


def merge_tiles(parts: Iterable[Conflicts]) -> Conflicts:
    """One ``Conflicts`` sorted by ``(i, j)`` from the tiles' disjoint results."""
    chunks = [p for p in parts if len(p)]
    if not chunks:
        return Conflicts.empty()
    cat = {
        name: np.concatenate([getattr(c, name) for c in chunks])
        for name in Conflicts.__dataclass_fields__
    }
    order = np.lexsort((cat["j"], cat["i"]))
    return Conflicts(**{name: values[order] for name, values in cat.items()})


Mapper = Callable[[FloatArray, Sequence[TileJob], DetectParams], Iterable[Conflicts]]
"""Runs ``detect_tile(columns, job, params)`` for every job and yields the results."""


def local_mapper(
    columns: FloatArray, jobs: Sequence[TileJob], params: DetectParams
) -> list[Conflicts]:
    """The in-process ``Mapper``: the tiles one after another."""
    return [detect_tile(columns, job, params) for job in jobs]


def detect_sharded(
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    alt_ft: npt.ArrayLike,
    gs_kt: npt.ArrayLike,
    track_deg: npt.ArrayLike,
    vs_fpm: npt.ArrayLike,
    *,
    n_tiles: int,
    mapper: Mapper = local_mapper,
    horizontal_nm: float = HORIZONTAL_NM,
    vertical_ft: float = VERTICAL_FT,
    lookahead_s: float = LOOKAHEAD_S,
    vertical_mode: VerticalMode | str = VerticalMode.STRICT,
) -> Conflicts:
    """``detect_arrays`` computed tile by tile (same arguments, exactly the same result).

    ``n_tiles`` is an upper bound (never more tiles than occupied cells); ``mapper`` runs the
    tiles (in this process by default).
    """
    _check_parameters(horizontal_nm, vertical_ft, lookahead_s)
    mode = VerticalMode.parse(vertical_mode)
    cols = _columns((lat_deg, lon_deg, alt_ft, gs_kt, track_deg, vs_fpm))
    if cols[0].shape[0] < 2:
        return Conflicts.empty()
    if not math.isfinite(float(n_tiles)) or int(n_tiles) < 1:
        raise ValueError(f"n_tiles must be a positive integer, not {n_tiles!r}")
    params = DetectParams(float(horizontal_nm), float(vertical_ft), float(lookahead_s), mode.value)
    jobs = plan_tiles(
        cols[0],
        cols[1],
        cols[3],
        cols[4],
        n_tiles,
        horizontal_nm=params.horizontal_nm,
        lookahead_s=params.lookahead_s,
    )
    return merge_tiles(mapper(np.stack(cols), jobs, params))
