"""Bounded live work whatever the traffic density: co-located aircraft are grouped.

A detection cycle compares aircraft pairwise; a party that reports thousands of aircraft at one
point (a probe, a broken feed, or poison) would turn that into N^2 candidate pairs, conflicts,
alert objects and memory. This module, a pure core, runs *before* the tactical detector:

1. **Co-location cells.** Aircraft are binned into cells of ``cell_nm`` x ``cell_nm`` (north and
   east, NM) x ``cell_ft`` (ft). A cell holding more than ``max_per_cell`` aircraft is a
   *dense cluster*: its first ``max_per_cell`` aircraft (in input order) stay in detection, the
   rest are grouped out of it and the cluster is reported once (one ``dense_cluster`` alert per
   cell, to every party with aircraft in it) instead of as N^2 pair conflicts.
2. **Pair budget.** Over coarse cells of ``region_nm`` x ``region_nm`` x ``region_ft`` the
   number of aircraft pairs that can be near each other is estimated (aircraft of one region
   and its 26 neighbours); while the estimate exceeds ``max_pairs``, every region is grouped
   down to ``max_per_region`` aircraft, then half that, and so on (each grouped region is
   reported as a dense cluster too).

Both steps are O(n log n) (sorting cell keys), so the cycle's memory and time are bounded by
``max_pairs`` rather than by what a party sends. Grouped-out aircraft keep their latest state
(their own picture shows them) and come back into detection as soon as the density drops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from deconflict.live._jit import neighbour_totals
from deconflict.live.alerts import Observation, Subject
from deconflict.units import FloatArray

NM_PER_DEG_LAT: Final = 60.0
"""Nautical miles per degree of latitude (cell sizing only; cells need not be exact)."""


@dataclass(frozen=True)
class DensityPolicy:
    """Limits of the live layer's density guard (units in the names).

    The defaults allow 8 aircraft in one 0.5 NM x 0.5 NM x 500 ft cell (formation flights, a
    tanker with receivers) and about 500,000 candidate pairs per cycle.
    """

    cell_nm: float = 0.5
    cell_ft: float = 500.0
    max_per_cell: int = 8
    region_nm: float = 10.0
    region_ft: float = 2000.0
    max_per_region: int = 200
    max_pairs: int = 500_000


@dataclass(frozen=True)
class Cluster:
    """A dense cell: where, how many, which parties (a grouped-out set of aircraft).

    Attributes
    ----------
    key:
        Stable identity of the cell (``"c:<scale>:<i>:<j>:<k>"``).
    lat_deg, lon_deg, alt_ft:
        Mean position of the cell's aircraft (deg, deg, ft).
    count:
        Aircraft in the cell.
    grouped:
        Of those, how many were left out of pairwise detection.
    parties:
        Parties with aircraft in the cell, sorted.
    """

    key: str
    lat_deg: float
    lon_deg: float
    alt_ft: float
    count: int
    grouped: int
    parties: tuple[str, ...]


@dataclass(frozen=True)
class DensityResult:
    """Which rows go to pairwise detection, and the clusters that were grouped."""

    keep: npt.NDArray[np.bool_]
    clusters: list[Cluster]
    estimated_pairs: int


Int64Array = npt.NDArray[np.int64]


def _cell_columns(
    lat: FloatArray, lon: FloatArray, alt: FloatArray, size_nm: float, size_ft: float
) -> tuple[Int64Array, Int64Array, Int64Array]:
    """Integer cell indices north, east (scaled by cos of the row's latitude), up: the three
    columns of :func:`_cells`, each contiguous."""
    i = np.floor(lat * NM_PER_DEG_LAT / size_nm)
    coslat = np.cos(np.radians((i + 0.5) * size_nm / NM_PER_DEG_LAT))
    lon_w = ((lon + 180.0) % 360.0) - 180.0
    j = np.floor(lon_w * NM_PER_DEG_LAT * np.maximum(coslat, 1e-6) / size_nm)
    k = np.floor(alt / size_ft)
    return i.astype(np.int64), j.astype(np.int64), k.astype(np.int64)


def _cells(
    lat: FloatArray, lon: FloatArray, alt: FloatArray, size_nm: float, size_ft: float
) -> npt.NDArray[np.int64]:
    """Integer cell indices ``(n, 3)``: north, east (scaled by cos of the row's latitude), up."""
    return np.stack(_cell_columns(lat, lon, alt, size_nm, size_ft), axis=1)


def _padded_codes(
    columns: tuple[Int64Array, Int64Array, Int64Array],
) -> tuple[Int64Array, tuple[int, int, int]] | None:
    """One int64 per row, ordered like the rows' lexicographic order, with one empty cell of
    padding around the occupied box (so a neighbour's code is the row's code plus a fixed
    offset), and the padded spans; ``None`` when the box is too large for one int64."""
    i, j, k = columns
    lo = [int(c.min()) - 1 for c in columns]
    span = [int(c.max()) - low + 2 for c, low in zip(columns, lo, strict=True)]
    if float(span[0]) * float(span[1]) * float(span[2]) >= 2**62:
        return None
    codes = ((i - lo[0]) * span[1] + (j - lo[1])) * span[2] + (k - lo[2])
    return np.asarray(codes, dtype=np.int64), (span[0], span[1], span[2])


def _max_per_cell(columns: tuple[Int64Array, Int64Array, Int64Array]) -> int:
    """The largest number of rows sharing one cell (one sort of the rows' cell codes)."""
    coded = _padded_codes(columns)
    if coded is None:
        return int(_group(np.stack(columns, axis=1))[1].max(initial=0))
    ordered = np.sort(coded[0])
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return int(np.diff(np.r_[starts, len(ordered)]).max(initial=0))


_FORWARD: Final = ((0, 1), (1, -1), (1, 0), (1, 1))
"""(di, dj) of the neighbour columns with larger codes (the other four are their mirrors)."""


def _pairs_of_columns(columns: tuple[Int64Array, Int64Array, Int64Array]) -> int:
    """``estimate_pairs(np.stack(columns, axis=1))[0]`` without the per-row counts.

    Cells are sorted codes (:func:`_padded_codes`); every neighbour relation is found once,
    from the cell with the smaller code, and counted on both sides, by merge walks over the
    sorted codes (:func:`deconflict.live._jit.neighbour_totals`, compiled): O(m) after one
    sort instead of 18 binary searches per cell."""
    n = len(columns[0])
    if n == 0:
        return 0
    coded = _padded_codes(columns)
    if coded is None:
        return estimate_pairs(np.stack(columns, axis=1))[0]
    codes_all, (_s0, span_j, span_k) = coded
    ordered = np.sort(codes_all)
    first = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    codes = ordered[first]
    counts = np.diff(np.r_[first, n]).astype(np.int64)
    steps = np.array([(di * span_j + dj) * span_k for di, dj in _FORWARD], dtype=np.int64)
    total = neighbour_totals(codes, counts, steps)
    return int((counts * total - counts).sum() // 2)


def _row_codes(cells: npt.NDArray[np.int64]) -> npt.NDArray[np.int64] | None:
    """One int64 per row of ``cells`` ``(n, 3)`` ordered like the rows' lexicographic order, or
    ``None`` when the cells span too much for one int64 (then rows are compared as rows)."""
    lo = cells.min(axis=0)
    span = cells.max(axis=0) - lo + 1
    if float(span[0]) * float(span[1]) * float(span[2]) >= 2**62:
        return None
    rel = cells - lo
    return np.asarray((rel[:, 0] * span[1] + rel[:, 1]) * span[2] + rel[:, 2], dtype=np.int64)


def _unique_rows(
    cells: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``np.unique(cells, axis=0, return_inverse=True, return_counts=True)`` for non-empty
    ``(n, 3)`` cells, through one int64 code per row (a 1-D sort, ~20x faster than a row sort):
    the same sorted unique rows, inverse and counts."""
    codes = _row_codes(cells)
    if codes is None:
        uniq, inverse, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
        return uniq, inverse.reshape(-1).astype(np.int64), counts.astype(np.int64)
    order = np.argsort(codes)  # any order within a cell: every member has the same row
    ordered = codes[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    inverse = np.empty(len(codes), dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    counts = np.diff(np.r_[first, len(codes)]).astype(np.int64)
    return cells[order[first]], inverse, counts


def _group(cells: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(inverse, counts)``: each row's cell number and the size of every cell."""
    if len(cells) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    _, inverse, counts = _unique_rows(cells)
    return inverse, counts


def _members(
    inverse: npt.NDArray[np.int64], cells: npt.NDArray[np.int64]
) -> dict[int, npt.NDArray[np.int64]]:
    """Rows of each cell in ``cells`` (ascending row order), from one stable sort."""
    if cells.size == 0:
        return {}
    order = np.argsort(inverse, kind="stable")
    sorted_cells = inverse[order]
    starts = np.searchsorted(sorted_cells, cells, side="left")
    ends = np.searchsorted(sorted_cells, cells, side="right")
    return {
        int(c): order[a:b].astype(np.int64)
        for c, a, b in zip(cells.tolist(), starts.tolist(), ends.tolist(), strict=True)
    }


def _rank_in_cell(inverse: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """0-based order of each row among the rows of its cell (input order, stable)."""
    order = np.argsort(inverse, kind="stable")
    sorted_cells = inverse[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_cells)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - run_start
    return rank


def estimate_pairs(cells: npt.NDArray[np.int64]) -> tuple[int, npt.NDArray[np.int64]]:
    """Pairs of aircraft in the same or adjacent coarse cells, and per-row neighbour counts.

    Parameters
    ----------
    cells:
        ``(n, 3)`` cell indices of each row.

    Returns
    -------
    (pairs, near)
        ``pairs`` = sum over rows of (aircraft in the row's 27-cell neighbourhood - 1) / 2;
        ``near[r]`` = that neighbourhood count for row ``r``.
    """
    n = len(cells)
    if n == 0:
        return 0, np.zeros(0, dtype=np.int64)
    uniq, inverse, counts = _unique_rows(cells)
    # Encode cells as sortable scalars to look neighbours up with searchsorted: O(m log m).
    lo = uniq.min(axis=0) - 1
    span = uniq.max(axis=0) - lo + 2
    if float(span[0]) * float(span[1]) * float(span[2]) >= 2**62:
        # Cells so spread out that no two can be neighbours except along a dimension: fall back
        # to a per-cell estimate (same cell only), still an upper bound on co-location.
        near = counts[inverse]
        return int((near.astype(np.float64) - 1).sum() // 2), near

    rel = uniq - lo
    # np.unique sorted rows lexicographically: the codes are sorted too. With one cell of
    # padding on every side, the code of a neighbour is the cell's code plus a fixed offset,
    # and the three cells k-1..k+1 of one (i, j) column are the codes base-1..base+1: two
    # searches per (di, dj) and a prefix sum of the counts give the 27-cell totals.
    codes = np.asarray((rel[:, 0] * span[1] + rel[:, 1]) * span[2] + rel[:, 2], dtype=np.int64)
    cum = np.r_[0, np.cumsum(counts)]
    total = np.zeros(len(uniq), dtype=np.int64)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            base = codes + (di * int(span[1]) + dj) * int(span[2])
            first = np.searchsorted(codes, base - 1, side="left")
            after = np.searchsorted(codes, base + 1, side="right")
            total += cum[after] - cum[first]
    near = total[inverse]
    return int((near.astype(np.float64) - 1).sum() // 2), near


def _cluster(
    key: str, rows: npt.NDArray[np.int64], grouped: int, lat: FloatArray, lon: FloatArray,
    alt: FloatArray, party: npt.NDArray[Any],
) -> Cluster:  # fmt: skip
    return Cluster(
        key=key,
        lat_deg=float(lat[rows].mean()),
        lon_deg=float(lon[rows].mean()),
        alt_ft=float(alt[rows].mean()),
        count=len(rows),
        grouped=grouped,
        parties=tuple(sorted({str(p) for p in party[rows] if str(p)})),
    )


def thin(
    lat_deg: FloatArray,
    lon_deg: FloatArray,
    alt_ft: FloatArray,
    party: npt.NDArray[Any],
    policy: DensityPolicy | None = None,
) -> DensityResult:
    """Choose the rows pairwise detection may see and the dense clusters to report.

    Parameters
    ----------
    lat_deg, lon_deg, alt_ft:
        Positions (deg, deg, ft) of the cycle's aircraft.
    party:
        Owning party of each row.
    policy:
        Limits (default :class:`DensityPolicy`).

    Returns
    -------
    DensityResult
        ``keep`` (rows for detection), the clusters grouped this cycle and the pair estimate
        of the kept rows.
    """
    pol = policy or DensityPolicy()
    lat = np.asarray(lat_deg, dtype=np.float64)
    lon = np.asarray(lon_deg, dtype=np.float64)
    alt = np.asarray(alt_ft, dtype=np.float64)
    n = len(lat)
    keep = np.ones(n, dtype=bool)
    clusters: list[Cluster] = []
    if n == 0:
        return DensityResult(keep, clusters, 0)
    fine_columns = _cell_columns(lat, lon, alt, pol.cell_nm, pol.cell_ft)
    if _max_per_cell(fine_columns) > pol.max_per_cell:  # rare: group the dense cells
        fine = np.stack(fine_columns, axis=1)
        inverse, counts = _group(fine)
        rank = _rank_in_cell(inverse)
        keep &= rank < pol.max_per_cell
        dense_cells = np.flatnonzero(counts > pol.max_per_cell)
        members = _members(inverse, dense_cells)
        for cell in dense_cells:
            rows = members[int(cell)]
            i, j, k = (int(x) for x in fine[rows[0]])
            clusters.append(
                _cluster(
                    f"c:{pol.cell_nm:g}:{i}:{j}:{k}",
                    rows,
                    len(rows) - pol.max_per_cell,
                    lat,
                    lon,
                    alt,
                    party,
                )
            )
    kept = np.flatnonzero(keep)
    whole = len(kept) == n
    coarse_columns = _cell_columns(
        lat if whole else lat[kept],
        lon if whole else lon[kept],
        alt if whole else alt[kept],
        pol.region_nm,
        pol.region_ft,
    )
    pairs = _pairs_of_columns(coarse_columns)
    cap = pol.max_per_region
    grouped_regions: dict[str, Cluster] = {}
    while pairs > pol.max_pairs and cap >= 1:  # rare: group regions until the estimate fits
        coarse = np.stack(coarse_columns, axis=1)
        c_inverse, c_counts = _group(coarse)
        rank = _rank_in_cell(c_inverse)
        over = np.flatnonzero(c_counts > cap)
        members = _members(c_inverse, over)
        for cell in over:
            local = members[int(cell)]
            drop = local[rank[local] >= cap]
            i, j, k = (int(x) for x in coarse[local[0]])
            key = f"c:{pol.region_nm:g}:{i}:{j}:{k}"
            before = grouped_regions.get(key)
            rows = kept[local]
            grouped_regions[key] = _cluster(
                key,
                rows if before is None else np.union1d(rows, kept[drop]),
                len(drop) + (before.grouped if before else 0),
                lat, lon, alt, party,
            )  # fmt: skip
            keep[kept[drop]] = False
        kept = np.flatnonzero(keep)
        coarse_columns = _cell_columns(
            lat[kept], lon[kept], alt[kept], pol.region_nm, pol.region_ft
        )
        pairs = _pairs_of_columns(coarse_columns)
        cap //= 2
    clusters.extend(grouped_regions.values())
    return DensityResult(keep, clusters, pairs)


def cluster_observations(clusters: list[Cluster]) -> list[Observation]:
    """One ``dense_cluster`` alert observation per cluster, to every party with aircraft in
    it: one subject per party (role ``cluster``, ref = the cell key), never the aircraft ids,
    so other parties learn only that the cluster exists; ``t_in_s`` = 0 (now)."""
    out: list[Observation] = []
    for c in clusters:
        if not c.parties:
            continue
        out.append(
            Observation(
                kind="dense_cluster",
                key=("dense_cluster", c.key),
                parties=c.parties,
                subjects=tuple(Subject("cluster", p, c.key) for p in c.parties),
                t_in_s=0.0,
                metrics={"aircraft": float(c.count), "grouped": float(c.grouped)},
            )
        )
    return out
