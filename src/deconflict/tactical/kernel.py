"""The array kernel of the tactical detector: ``detect_arrays`` and its result ``Conflicts``.

A pure function of numpy arrays (no I/O, no clock; the only module state is a pool of scratch
buffers that never carries results between calls): a snapshot split into geographic tiles with a
halo and run tile by tile gives exactly the pairs and values of the whole snapshot, because every
result depends only on the two aircraft of its pair.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from deconflict.errors import InvalidInputError
from deconflict.tactical._broad import candidate_pairs
from deconflict.tactical._geometry import bearing_deg, kinematics
from deconflict.tactical._jit import (
    ALL_PAIRS_MAX_N,
    BAND_FACTOR,
    detect_pairs,
    detect_pairs_ws,
    detect_segments,
    first_nonfinite,
    new_workspace,
)
from deconflict.tactical._narrow import narrow_phase
from deconflict.tactical._vertical import VerticalMode, compared_altitudes
from deconflict.tactical.constants import HORIZONTAL_NM, LOOKAHEAD_S, VERTICAL_FT
from deconflict.units import FloatArray

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Conflicts:
    """Conflicting pairs of one snapshot, as equal-length arrays sorted by ``(i, j)``.

    Attributes
    ----------
    i, j:
        Row indices of the two aircraft (int64, ``i < j``).
    t_in_s, t_out_s:
        Start and end of the predicted loss of separation, seconds from the snapshot, within
        ``[0, lookahead_s]`` (``t_in_s == 0`` for a current loss of separation).
    t_cpa_s:
        Time of the unbounded horizontal closest point of approach, seconds; 0 when the
        horizontal distance is not decreasing.
    hmd_nm:
        Smallest horizontal distance within ``[0, lookahead_s]``, nautical miles.
    vmd_ft:
        Smallest vertical distance within ``[0, lookahead_s]``, feet (not necessarily at the
        same time as ``hmd_nm``).
    range_nm:
        Horizontal distance now, nautical miles.
    vertical_ft:
        Vertical distance now (absolute), feet; in flight-level mode between compared levels.
    bearing_deg:
        True bearing of j seen from i, degrees in ``[0, 360)``.
    reverse_bearing_deg:
        True bearing of i seen from j, degrees in ``[0, 360)`` (not exactly ``bearing + 180``
        on the ellipsoid or near a pole).
    """

    i: IntArray
    j: IntArray
    t_in_s: FloatArray
    t_out_s: FloatArray
    t_cpa_s: FloatArray
    hmd_nm: FloatArray
    vmd_ft: FloatArray
    range_nm: FloatArray
    vertical_ft: FloatArray
    bearing_deg: FloatArray
    reverse_bearing_deg: FloatArray

    def __len__(self) -> int:
        return int(self.i.shape[0])

    @classmethod
    def empty(cls) -> Conflicts:
        """No conflicts."""
        no_rows = np.empty(0, dtype=np.int64)
        no_values = np.empty(0, dtype=np.float64)
        values = {f.name: no_values for f in fields(cls) if f.name not in ("i", "j")}
        return cls(i=no_rows, j=no_rows, **values)


Workspace = tuple[np.ndarray, ...]

WORKSPACE_KEEP_BYTES: int = 128 * 2**20
"""Largest kernel workspace (bytes) kept for the next call: about 300,000 aircraft. Larger ones
are freed after the call (at N = 10^6 allocating them is a small part of the ~1 s call)."""
WORKSPACE_POOL_SIZE: int = 2
"""Most idle workspaces kept (one per concurrently calling thread up to this many; more threads
at once still work, their extra workspaces are freed after the call)."""


class _WorkspacePool:
    """Idle kernel workspaces (``_jit.new_workspace``), handed to one call at a time.

    ``take`` gives a workspace no other call holds (a new one when none is idle); ``give``
    returns it after the call. The kernel only ever writes a call's temporaries into it and
    copies results out into new arrays, so reuse cannot carry results from one call to the next
    (tests/tactical/test_tactical_workspace.py). Thread-safe: the live engine and Ray workers
    may call ``detect_arrays`` from several threads (the kernel releases the GIL).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[Workspace] = []

    def take(self) -> Workspace:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return new_workspace()

    def give(self, workspace: Workspace) -> None:
        if sum(a.nbytes for a in workspace) > WORKSPACE_KEEP_BYTES:
            return
        with self._lock:
            if len(self._idle) < WORKSPACE_POOL_SIZE:
                self._idle.append(workspace)

    def reset(self) -> None:
        """A fresh lock and no idle workspaces (a forked child must not inherit a held lock)."""
        self._lock = threading.Lock()
        self._idle = []


_POOL = _WorkspacePool()
os.register_at_fork(after_in_child=_POOL.reset)


_COLUMN_NAMES = ("lat_deg", "lon_deg", "alt_ft", "gs_kt", "track_deg", "vs_fpm")


def _as_float(name: str, values: npt.ArrayLike) -> FloatArray:
    if type(values) is np.ndarray and values.dtype == np.float64 and values.ndim == 1:
        return values  # the common case, no conversion
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(field=name, reason=f"must be numeric ({exc})") from None
    if arr.ndim != 1:
        raise InvalidInputError(field=name, reason="must be a one-dimensional array")
    return arr


def _kernel_array(arr: FloatArray) -> FloatArray:
    """A C-contiguous, writeable float64 array (the one type the compiled kernel is built for)."""
    if arr.flags.c_contiguous and arr.flags.writeable:
        return arr
    return np.array(arr, dtype=np.float64, order="C", copy=True)


def _columns(raw: tuple[npt.ArrayLike, ...]) -> list[FloatArray]:
    """The six input columns as contiguous float64 arrays of one length, all finite."""
    columns = [_kernel_array(_as_float(n, v)) for n, v in zip(_COLUMN_NAMES, raw, strict=True)]
    n = columns[0].shape[0]
    for name, col in zip(_COLUMN_NAMES, columns, strict=True):
        if col.shape[0] != n:
            raise InvalidInputError(
                field=name, reason=f"has {col.shape[0]} values, expected {n} like lat_deg"
            )
    bad_col, bad_row = first_nonfinite(tuple(columns))
    if bad_col >= 0:
        raise InvalidInputError(
            field=_COLUMN_NAMES[bad_col], reason="must be finite", row=bad_row + 1
        )
    return columns


SPATIAL_CELL_DEG: float = 0.5
"""Latitude band height of the spatial sort, degrees (about 30 NM)."""


def _spatial_order(lat_deg: FloatArray, lon_deg: FloatArray) -> IntArray:
    """Permutation sorting aircraft by latitude band, then longitude (memory locality only)."""
    band = np.floor((lat_deg + 90.0) / SPATIAL_CELL_DEG)
    return np.argsort(band * 1000.0 + lon_deg, kind="stable").astype(np.int64, copy=False)


def _check_parameters(horizontal_nm: float, vertical_ft: float, lookahead_s: float) -> None:
    for name, value in (
        ("horizontal_nm", horizontal_nm),
        ("vertical_ft", vertical_ft),
        ("lookahead_s", lookahead_s),
    ):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and number > 0.0):
            raise InvalidInputError(field=name, reason=f"must be a positive number, not {value!r}")


def detect_arrays(
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    alt_ft: npt.ArrayLike,
    gs_kt: npt.ArrayLike,
    track_deg: npt.ArrayLike,
    vs_fpm: npt.ArrayLike,
    *,
    horizontal_nm: float = HORIZONTAL_NM,
    vertical_ft: float = VERTICAL_FT,
    lookahead_s: float = LOOKAHEAD_S,
    vertical_mode: VerticalMode | str = VerticalMode.STRICT,
) -> Conflicts:
    """Predicted losses of separation among aircraft given as column arrays.

    Straight-line extrapolation of every aircraft (constant ground velocity, constant vertical
    rate) over ``[0, lookahead_s]``; a pair conflicts when its horizontal distance is below
    ``horizontal_nm`` *and* its vertical distance below ``vertical_ft`` at the same moment
    (strict ``<``: exactly 1000 ft apart is separated).

    Parameters
    ----------
    lat_deg, lon_deg:
        WGS84 latitude in [-90, 90] and longitude, degrees (any longitude; it is periodic).
    alt_ft:
        Altitude, feet (pressure altitude for flight-level mode).
    gs_kt:
        Ground speed, knots (>= 0).
    track_deg:
        Track over ground, degrees true, clockwise from north.
    vs_fpm:
        Vertical rate, feet per minute, positive up.
    horizontal_nm, vertical_ft, lookahead_s:
        Protected-zone radius (NM), half-height (ft) and look-ahead (s).
    vertical_mode:
        ``"strict"`` (the cylinder) or ``"flight-level"`` (see ``VerticalMode``).

    Returns
    -------
    Conflicts
        One entry per conflicting unordered pair, sorted by ``(i, j)``.

    This is the fast path: it checks array shapes, parameters and finiteness, not ranges (use
    ``validate_states`` or ``detect`` for untrusted input).

    Examples
    --------
    >>> c = detect_arrays([0.0, 0.0], [0.0, 0.05], [35000, 35500], [450, 450], [90, 270], [0, 0])
    >>> len(c), round(float(c.t_in_s[0]))
    (1, 0)
    """
    _check_parameters(horizontal_nm, vertical_ft, lookahead_s)
    mode = VerticalMode.parse(vertical_mode)
    lat, lon, alt, gs, track, vs = _columns((lat_deg, lon_deg, alt_ft, gs_kt, track_deg, vs_fpm))
    return _detect_columns(
        lat, lon, alt, gs, track, vs, horizontal_nm, vertical_ft, lookahead_s, mode
    )


def detect_validated(
    columns: Sequence[FloatArray],
    *,
    horizontal_nm: float,
    vertical_ft: float,
    lookahead_s: float,
    vertical_mode: VerticalMode | str,
) -> Conflicts:
    """``detect_arrays`` on the six columns already proven 1-D float64, of one length, finite.

    For callers that validated the columns themselves (``frame.detect`` after
    ``validate_states``' checks): skips ``detect_arrays``' per-column conversion and finiteness
    scan (the parameters are still checked). Same answer as ``detect_arrays``.
    """
    _check_parameters(horizontal_nm, vertical_ft, lookahead_s)
    mode = VerticalMode.parse(vertical_mode)
    if len(columns) != len(_COLUMN_NAMES):
        raise ValueError(f"expected {len(_COLUMN_NAMES)} columns, got {len(columns)}")
    lat, lon, alt, gs, track, vs = (_kernel_array(c) for c in columns)
    return _detect_columns(
        lat, lon, alt, gs, track, vs, horizontal_nm, vertical_ft, lookahead_s, mode
    )


def _detect_columns(
    lat: FloatArray,
    lon: FloatArray,
    alt: FloatArray,
    gs: FloatArray,
    track: FloatArray,
    vs: FloatArray,
    horizontal_nm: float,
    vertical_ft: float,
    lookahead_s: float,
    mode: VerticalMode,
) -> Conflicts:
    """The kernel call of ``detect_arrays`` on checked contiguous float64 columns."""
    if lat.shape[0] < 2:
        return Conflicts.empty()
    alt_c, vs_c = compared_altitudes(alt, vs, mode)
    args = (lat, lon, alt_c, gs, track, vs_c, float(horizontal_nm), float(vertical_ft))
    if lat.shape[0] <= ALL_PAIRS_MAX_N:
        ij, values, _ = detect_pairs(*args, float(lookahead_s), BAND_FACTOR, ALL_PAIRS_MAX_N)
        return _conflicts(ij, values)
    workspace = _POOL.take()
    try:
        ij, values, _, workspace = detect_pairs_ws(
            *args, float(lookahead_s), BAND_FACTOR, workspace
        )
    finally:
        _POOL.give(workspace)
    return _conflicts(ij, values)


def detect_arrays_segments(
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    alt_ft: npt.ArrayLike,
    gs_kt: npt.ArrayLike,
    track_deg: npt.ArrayLike,
    vs_fpm: npt.ArrayLike,
    bounds: npt.ArrayLike,
    *,
    horizontal_nm: float = HORIZONTAL_NM,
    vertical_ft: float = VERTICAL_FT,
    lookahead_s: float = LOOKAHEAD_S,
    vertical_mode: VerticalMode | str = VerticalMode.STRICT,
) -> Conflicts:
    """``detect_arrays`` on each snapshot ``rows bounds[k] .. bounds[k + 1] - 1``, in one call.

    ``bounds`` is non-decreasing from 0 to the number of rows. The result holds every
    snapshot's pairs, snapshot by snapshot, with ``i``, ``j`` as row numbers of the columns:
    exactly the per-snapshot ``detect_arrays`` results with each snapshot's first row added.
    Checks are done once for all rows (a replay of many small snapshots pays them once).
    """
    _check_parameters(horizontal_nm, vertical_ft, lookahead_s)
    mode = VerticalMode.parse(vertical_mode)
    lat, lon, alt, gs, track, vs = _columns((lat_deg, lon_deg, alt_ft, gs_kt, track_deg, vs_fpm))
    edges = np.ascontiguousarray(bounds, dtype=np.int64)
    n = lat.shape[0]
    if (
        edges.ndim != 1
        or edges.shape[0] < 1
        or edges[0] != 0
        or edges[-1] != n
        or bool((np.diff(edges) < 0).any())
    ):
        raise InvalidInputError(
            field="bounds", reason=f"must rise from 0 to the number of rows ({n})"
        )
    alt_c, vs_c = compared_altitudes(alt, vs, mode)
    workspace = _POOL.take()
    try:
        ij, values, workspace = detect_segments(
            lat,
            lon,
            np.ascontiguousarray(alt_c),
            gs,
            track,
            np.ascontiguousarray(vs_c),
            edges,
            float(horizontal_nm),
            float(vertical_ft),
            float(lookahead_s),
            BAND_FACTOR,
            ALL_PAIRS_MAX_N,
            workspace,
        )
    finally:
        _POOL.give(workspace)
    return _conflicts(ij, values)


def warm_up() -> None:
    """Compile the kernel, or load it from numba's on-disk cache, before any timed or live use.

    Call once at start-up (``deconflict serve`` and ``deconflict detect`` do): the first call
    in a process otherwise pays the compilation (~20 s cold) or the cache load (~0.2 s).
    """
    lat = np.array([0.0, 0.0, 89.99])
    lon = np.array([0.0, 0.05, 180.0])
    alt = np.array([35000.0, 35500.0, 1000.0])
    gs = np.array([450.0, 450.0, 0.0])
    track = np.array([90.0, 270.0, 0.0])
    vs = np.array([0.0, 64.0, 0.0])
    first_nonfinite((lat, lon, alt, gs, track, vs))
    # a grid-sized snapshot too (ALL_PAIRS_MAX_N + 2 aircraft): the workspace path
    k = np.arange(ALL_PAIRS_MAX_N + 2, dtype=np.float64)
    grid = (0.01 * k, 0.01 * k, 30000.0 + 10.0 * k, 400.0 + k, 3.0 * k, 0.0 * k)
    for mode in VerticalMode:
        detect_arrays(lat, lon, alt, gs, track, vs, vertical_mode=mode)
        detect_arrays(*grid, vertical_mode=mode)
        detect_arrays_segments(lat, lon, alt, gs, track, vs, [0, 2, 3], vertical_mode=mode)


def _conflicts(ij: npt.NDArray[np.int64], values: FloatArray) -> Conflicts:
    """``Conflicts`` from the compiled kernel's output rows (contiguous views, no copies)."""
    return Conflicts(
        i=ij[0],
        j=ij[1],
        t_in_s=values[0],
        t_out_s=values[1],
        t_cpa_s=values[2],
        hmd_nm=values[3],
        vmd_ft=values[4],
        range_nm=values[5],
        vertical_ft=values[6],
        bearing_deg=values[7],
        reverse_bearing_deg=values[8],
    )


def detect_arrays_numpy(
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    alt_ft: npt.ArrayLike,
    gs_kt: npt.ArrayLike,
    track_deg: npt.ArrayLike,
    vs_fpm: npt.ArrayLike,
    *,
    horizontal_nm: float = HORIZONTAL_NM,
    vertical_ft: float = VERTICAL_FT,
    lookahead_s: float = LOOKAHEAD_S,
    vertical_mode: VerticalMode | str = VerticalMode.STRICT,
) -> Conflicts:
    """The vectorised numpy implementation of ``detect_arrays`` (k-d tree broad phase).

    Same contract and results as ``detect_arrays``; kept as the test oracle of the compiled
    kernel (it is never chosen at run time).
    """
    _check_parameters(horizontal_nm, vertical_ft, lookahead_s)
    mode = VerticalMode.parse(vertical_mode)
    lat, lon, alt, gs, track, vs = _columns((lat_deg, lon_deg, alt_ft, gs_kt, track_deg, vs_fpm))
    n = lat.shape[0]
    if n < 2:
        return Conflicts.empty()
    alt_c, vs_c = compared_altitudes(alt, vs, mode)
    h_nm, v_ft, t_s = float(horizontal_nm), float(vertical_ft), float(lookahead_s)
    # work in a spatially sorted order: pairs are then close in memory (cache-friendly gathers)
    perm = _spatial_order(lat, lon)
    kin = kinematics(lat[perm], lon[perm], gs[perm], track[perm])
    alt_p, vs_p = alt_c[perm], vs_c[perm]
    ci, cj = candidate_pairs(
        kin, alt_p, vs_p, horizontal_nm=h_nm, vertical_ft=v_ft, lookahead_s=t_s
    )
    geo = narrow_phase(
        kin, alt_p, vs_p, ci, cj, horizontal_nm=h_nm, vertical_ft=v_ft, lookahead_s=t_s
    )
    gi, gj = perm[geo.i], perm[geo.j]
    swap = gi > gj
    i, j = np.where(swap, gj, gi), np.where(swap, gi, gj)
    sign = np.where(swap, -1.0, 1.0)
    dx, dy, dz = geo.dx_m * sign, geo.dy_m * sign, geo.dz_m * sign
    order = np.lexsort((j, i))
    i, j, dx, dy, dz = i[order], j[order], dx[order], dy[order], dz[order]
    return Conflicts(
        i=i,
        j=j,
        t_in_s=geo.t_in_s[order],
        t_out_s=geo.t_out_s[order],
        t_cpa_s=geo.t_cpa_s[order],
        hmd_nm=geo.hmd_nm[order],
        vmd_ft=geo.vmd_ft[order],
        range_nm=geo.range_nm[order],
        vertical_ft=geo.vertical_ft[order],
        bearing_deg=bearing_deg(lat[i], lon[i], dx, dy, dz),
        reverse_bearing_deg=bearing_deg(lat[j], lon[j], -dx, -dy, -dz),
    )
