"""Bulk preparation of cores and their planar forms (vectorised; same results as one by one).

Checking thousands of pairs is dominated by per-object numpy overhead when every footprint's
core is densified and projected on its own. :func:`prepare_cores` densifies all rings of many
footprints with one ``Geod.inv`` and one ``Geod.fwd`` call and converts all vertices to ECEF in
one pass; :func:`prepare_planar` projects every core needed in a cell plane at once and builds
the shapely geometries with the vectorised constructors. Both only fill caches: verdicts are
identical to the scalar path (tested). (``prepare_planar`` lives in :mod:`deconflict.geo.core`,
whose batch distance bounds use it; it is re-exported here.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from deconflict.geo.core import Core, prepare_planar
from deconflict.geo.ellipsoid import GEOD, MAX_SEGMENT_M, lonlat_to_unit
from deconflict.units import FloatArray


def densify_many(rings: Sequence[FloatArray], closed: Sequence[bool]) -> list[FloatArray]:
    """:func:`~deconflict.geo.ellipsoid.densify_geodesic` for many rings/lines at once."""
    if not rings:
        return []
    lon1s, lat1s, lon2s, lat2s, owner = [], [], [], [], []
    for k, (ring, is_closed) in enumerate(zip(rings, closed, strict=True)):
        nxt = np.roll(ring, -1, axis=0) if is_closed else ring[1:]
        cur = ring if is_closed else ring[:-1]
        lon1s.append(cur[:, 0])
        lat1s.append(cur[:, 1])
        lon2s.append(nxt[:, 0])
        lat2s.append(nxt[:, 1])
        owner.append(np.full(len(cur), k, dtype=np.int64))
    lon1 = np.concatenate(lon1s)
    lat1 = np.concatenate(lat1s)
    edge_owner = np.concatenate(owner)
    az, _, dist = GEOD.inv(lon1, lat1, np.concatenate(lon2s), np.concatenate(lat2s))
    dist = np.asarray(dist, dtype=np.float64)
    pieces = np.maximum(np.ceil(dist / MAX_SEGMENT_M), 1).astype(np.int64)
    edge = np.repeat(np.arange(len(lon1)), pieces)
    step = np.arange(len(edge)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    plon, plat, _ = GEOD.fwd(
        lon1[edge],
        lat1[edge],
        np.asarray(az, dtype=np.float64)[edge],
        dist[edge] * step / pieces[edge],
    )
    pts = np.stack(
        [np.where(step == 0, lon1[edge], plon), np.where(step == 0, lat1[edge], plat)], axis=-1
    )
    point_owner = edge_owner[edge]
    bounds = np.searchsorted(point_owner, np.arange(len(rings) + 1))
    out = []
    for k, (ring, is_closed) in enumerate(zip(rings, closed, strict=True)):
        dense = pts[bounds[k] : bounds[k + 1]]
        if not is_closed:
            dense = np.concatenate([dense, ring[-1:]])
        out.append(dense)
    return out


def prepare_cores(footprints: Iterable[Any]) -> None:
    """Fill the ``core`` cache of every footprint that has none (polygons, corridors, orbits)."""
    jobs: list[tuple[Any, str, list[FloatArray], tuple[int, ...]]] = []
    rings: list[FloatArray] = []
    closed: list[bool] = []
    for fp in footprints:
        if "core" in fp.__dict__:
            continue
        kind = type(fp).__name__
        if kind == "PolygonFootprint":
            mine = [np.asarray(r, dtype=np.float64) for poly in fp.polygons for r in poly]
            jobs.append((fp, "polygon", mine, tuple(len(p) for p in fp.polygons)))
            closed.extend([True] * len(mine))
        elif kind == "CorridorFootprint":
            mine = [np.asarray(fp.centerline, dtype=np.float64)]
            jobs.append((fp, "line", mine, ()))
            closed.append(False)
        else:
            continue  # circles and orbits are cheap one by one
        rings.extend(mine)
    if not jobs:
        return
    dense = densify_many(rings, closed)
    units_all = lonlat_to_unit(
        np.concatenate([d[:, 0] for d in dense]), np.concatenate([d[:, 1] for d in dense])
    )
    cursor = 0
    ring_cursor = 0
    for fp, kind, mine, parts in jobs:
        mine_dense = dense[ring_cursor : ring_cursor + len(mine)]
        ring_cursor += len(mine)
        sizes = [len(d) for d in mine_dense]
        total = sum(sizes)
        starts = tuple(int(x) for x in np.cumsum([0, *sizes[:-1]]))
        core = Core(
            kind,  # type: ignore[arg-type]
            np.concatenate(mine_dense),
            starts,
            parts,
            units_hint=units_all[cursor : cursor + total],
        )
        cursor += total
        fp.__dict__["core"] = core


__all__ = ["densify_many", "prepare_cores", "prepare_planar"]
