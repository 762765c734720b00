"""Alert levels for every ordered pair of a snapshot, vectorised; hysteresis over snapshots.

Pipeline for one snapshot (all arrays, no Python loop over pairs):

1. **Pair search**: the compiled tactical detector (``deconflict.tactical.detect_arrays``: grid
   broad phase and exact cylinder narrow phase in the same pair frame) with a cylinder that
   contains every volume of the profile: a horizontal violation at ``t`` implies
   ``|s(t)| <= DTHR + TTHR |v|`` and ``|v|`` is at most twice the fastest ground speed;
   vertically ``|sz| <= max(ZTHR, |vz| TCOA)``. A pair that loses some volume at ``t`` within
   the look-ahead therefore loses that cylinder at the same ``t``: the cylinder's conflicts
   are a superset of the profile's, and far fewer than a broad phase's candidates.
2. **Pair frame**: relative position and velocity projected on the tangent plane at the
   ECEF midpoint (the tactical narrow phase's frame), reduced to the invariants of
   :mod:`deconflict.daa.wcv`, so that (A, B) and (B, A) get identical geometry.
3. **Levels**: each ordered pair (ownship, intruder) uses the *intruder's* alerter; per level,
   the loss interval of its volume within the look-ahead; ``level_instant`` is the most severe
   level whose loss starts within its alerting time.
4. **Hysteresis** (:class:`AlertMemory`): DAIDALUS ``HysteresisData``: M of N, persistence,
   early alerting time for the level a pair currently holds, reset after a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from deconflict.daa._jit import evaluate_pairs_kernel
from deconflict.daa.profiles import Profile
from deconflict.daa.wcv import cpa_metrics, loss_interval
from deconflict.errors import InvalidInputError
from deconflict.tactical import detect_arrays
from deconflict.tactical._broad import candidate_pairs
from deconflict.tactical._geometry import Kinematics, kinematics
from deconflict.units import M_PER_NM, MPS_PER_KT, WGS84_E2, FloatArray

IntArray = npt.NDArray[np.int64]

BROAD_SLACK_M: float = 100.0
"""Extra broad-phase radius, metres (rounding; the broad phase adds its own curvature margin)."""

BROAD_SLACK_FT: float = 1.0
"""Extra broad-phase half-height, feet (the broad phase's vertical test is strict)."""


@dataclass(frozen=True)
class States:
    """Aircraft states of one snapshot, struct of arrays (all shape ``(n,)``).

    ``lat_deg``/``lon_deg`` WGS84 degrees, ``alt_ft`` feet, ``gs_kt`` knots, ``track_deg``
    degrees true, ``vs_fpm`` feet per minute, ``alerter`` 1-based alerter numbers.
    """

    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_ft: FloatArray
    gs_kt: FloatArray
    track_deg: FloatArray
    vs_fpm: FloatArray
    alerter: IntArray

    def __post_init__(self) -> None:
        n = self.lat_deg.shape[0]
        for name in ("lon_deg", "alt_ft", "gs_kt", "track_deg", "vs_fpm", "alerter"):
            if getattr(self, name).shape != (n,):
                raise InvalidInputError(field=name, reason=f"expected shape ({n},)")
        for name in ("lat_deg", "lon_deg", "alt_ft", "gs_kt", "track_deg", "vs_fpm"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise InvalidInputError(field=name, reason="must be finite numbers")
        if n and (np.abs(self.lat_deg).max() > 90.0):
            raise InvalidInputError(field="lat_deg", reason="must be within [-90, 90]")
        if n and self.gs_kt.min() < 0.0:
            raise InvalidInputError(field="gs_kt", reason="must be >= 0")

    @classmethod
    def from_arrays(
        cls,
        lat_deg: npt.ArrayLike,
        lon_deg: npt.ArrayLike,
        alt_ft: npt.ArrayLike,
        gs_kt: npt.ArrayLike,
        track_deg: npt.ArrayLike,
        vs_fpm: npt.ArrayLike,
        alerter: npt.ArrayLike | None = None,
    ) -> States:
        """Build from array-likes; ``alerter`` defaults to 1 (DWC Phase I)."""
        lat = np.asarray(lat_deg, dtype=np.float64).reshape(-1)
        al = (
            np.ones(lat.shape[0], dtype=np.int64)
            if alerter is None
            else np.asarray(alerter, dtype=np.int64).reshape(-1)
        )
        return cls(
            lat,
            np.asarray(lon_deg, dtype=np.float64).reshape(-1),
            np.asarray(alt_ft, dtype=np.float64).reshape(-1),
            np.asarray(gs_kt, dtype=np.float64).reshape(-1),
            np.asarray(track_deg, dtype=np.float64).reshape(-1),
            np.asarray(vs_fpm, dtype=np.float64).reshape(-1),
            al,
        )

    def __len__(self) -> int:
        return int(self.lat_deg.shape[0])


@dataclass(frozen=True)
class PairGeometry:
    """Relative motion invariants of pairs ``(i, j)`` (see :mod:`deconflict.daa.wcv`)."""

    ss: FloatArray
    sv: FloatArray
    vv: FloatArray
    sz_ft: FloatArray
    vz_fps: FloatArray


def pair_geometry(kin: Kinematics, states: States, i: IntArray, j: IntArray) -> PairGeometry:
    """Project the pairs' relative motion on the tangent plane at their ECEF midpoint."""
    x, y, z = kin.x_m, kin.y_m, kin.z_m
    dx, dy, dz = x[j] - x[i], y[j] - y[i], z[j] - z[i]
    ux, uy, uz = x[j] + x[i], y[j] + y[i], (z[j] + z[i]) / (1.0 - WGS84_E2)
    norm = np.sqrt(ux * ux + uy * uy + uz * uz)
    norm = np.where(norm > 0.0, norm, 1.0)
    ux, uy, uz = ux / norm, uy / norm, uz / norm
    wx = kin.vx_mps[j] - kin.vx_mps[i]
    wy = kin.vy_mps[j] - kin.vy_mps[i]
    wz = kin.vz_mps[j] - kin.vz_mps[i]
    d_up = dx * ux + dy * uy + dz * uz
    w_up = wx * ux + wy * uy + wz * uz
    hx, hy, hz = dx - d_up * ux, dy - d_up * uy, dz - d_up * uz
    gx, gy, gz = wx - w_up * ux, wy - w_up * uy, wz - w_up * uz
    return PairGeometry(
        ss=hx * hx + hy * hy + hz * hz,
        sv=hx * gx + hy * gy + hz * gz,
        vv=gx * gx + gy * gy + gz * gz,
        sz_ft=states.alt_ft[j] - states.alt_ft[i],
        vz_fps=(states.vs_fpm[j] - states.vs_fpm[i]) / 60.0,
    )


def search_radius(profile: Profile, states: States) -> tuple[float, float]:
    """Broad-phase radius (NM) and half-height (ft) covering every volume of ``profile``."""
    max_speed = float(states.gs_kt.max()) * MPS_PER_KT if len(states) else 0.0
    max_rel = 2.0 * max_speed
    max_dvs_fps = float(np.ptp(states.vs_fpm)) / 60.0 if len(states) else 0.0
    reach_m = 0.0
    half_ft = 0.0
    for alerter in profile.alerters:
        for level in alerter.levels:
            v = level.volume
            reach_m = max(reach_m, v.dthr_m + v.tthr_s * max_rel)
            half_ft = max(half_ft, v.zthr_ft, max_dvs_fps * v.tcoa_s)
    return (reach_m + BROAD_SLACK_M) / M_PER_NM, half_ft + BROAD_SLACK_FT


def candidate_ordered_pairs(profile: Profile, states: States) -> tuple[IntArray, IntArray]:
    """Unordered candidate pairs ``(i < j)`` that may violate any volume within the look-ahead:
    the conflicts of the bounding cylinder (:func:`search_radius`), compiled."""
    if len(states) < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    radius_nm, half_ft = search_radius(profile, states)
    found = detect_arrays(
        states.lat_deg,
        states.lon_deg,
        states.alt_ft,
        states.gs_kt,
        states.track_deg,
        states.vs_fpm,
        horizontal_nm=radius_nm,
        vertical_ft=half_ft,
        lookahead_s=profile.lookahead_s,
    )
    return found.i.astype(np.int64, copy=False), found.j.astype(np.int64, copy=False)


def candidate_ordered_pairs_broad(profile: Profile, states: States) -> tuple[IntArray, IntArray]:
    """The numpy broad phase's candidates (k-d tree, a looser superset); the oracle of
    :func:`candidate_ordered_pairs` in the tests."""
    if len(states) < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    radius_nm, half_ft = search_radius(profile, states)
    kin = kinematics(states.lat_deg, states.lon_deg, states.gs_kt, states.track_deg)
    return candidate_pairs(
        kin,
        states.alt_ft,
        states.vs_fpm,
        horizontal_nm=radius_nm,
        vertical_ft=half_ft,
        lookahead_s=profile.lookahead_s,
    )


@dataclass(frozen=True)
class PairAlerts:
    """Alert figures per ordered pair ``(own[k], intruder[k])`` of one snapshot.

    Attributes
    ----------
    own, intruder:
        Row indices into the snapshot's states.
    alerter:
        The intruder's alerter number (1-based).
    conflict:
        ``(P, L)``: a loss of the level's volume within the look-ahead.
    t_in_s, t_out_s:
        ``(P, L)``: the loss interval per level (s from the snapshot; NaN where none).
    level_instant:
        Memory-less level: the most severe level whose loss starts within its alerting time.
    hmd_nm, vmd_ft, tcpa_s, dcpa_nm, taumod_s, tcoa_s:
        Horizontal / vertical miss distance over the look-ahead (NM, ft), horizontal time of
        and distance at closest approach (s, NM), modified tau with the corrective DTHR and time
        to co-altitude (s; NaN when not closing / converging).
    """

    own: IntArray
    intruder: IntArray
    alerter: IntArray
    conflict: npt.NDArray[np.bool_]
    t_in_s: FloatArray
    t_out_s: FloatArray
    level_instant: IntArray
    hmd_nm: FloatArray
    vmd_ft: FloatArray
    tcpa_s: FloatArray
    dcpa_nm: FloatArray
    taumod_s: FloatArray
    tcoa_s: FloatArray

    def __len__(self) -> int:
        return int(self.own.shape[0])


@dataclass(frozen=True)
class _LevelTable:
    """Per-(alerter, level) parameters as arrays indexed ``[alerter - 1, level - 1]``."""

    dthr_m: FloatArray
    zthr_ft: FloatArray
    tthr_s: FloatArray
    tcoa_s: FloatArray
    alerting_s: FloatArray
    early_s: FloatArray
    corrective_dthr_m: FloatArray


def _level_table(profile: Profile) -> _LevelTable:
    a = len(profile.alerters)
    levels = profile.max_level
    shape = (a, levels)
    dthr = np.full(shape, np.nan)
    zthr = np.full(shape, np.nan)
    tthr = np.zeros(shape)
    tcoa = np.zeros(shape)
    alerting = np.full(shape, -np.inf)  # missing levels never alert
    early = np.full(shape, -np.inf)
    corrective = np.zeros(a)
    for k, alerter in enumerate(profile.alerters):
        corrective[k] = alerter.corrective.volume.dthr_m
        for lv in alerter.levels:
            dthr[k, lv.level - 1] = lv.volume.dthr_m
            zthr[k, lv.level - 1] = lv.volume.zthr_ft
            tthr[k, lv.level - 1] = lv.volume.tthr_s
            tcoa[k, lv.level - 1] = lv.volume.tcoa_s
            alerting[k, lv.level - 1] = lv.alerting_time_s
            early[k, lv.level - 1] = lv.early_alerting_time_s
    return _LevelTable(dthr, zthr, tthr, tcoa, alerting, early, corrective)


def _strict(profile: Profile) -> bool:
    return all(lv.volume.strict for a in profile.alerters for lv in a.levels)


def evaluate_pairs(
    profile: Profile,
    states: States,
    own: IntArray,
    intruder: IntArray,
    kin: Kinematics | None = None,
) -> PairAlerts:
    """Alert figures of the given ordered pairs (no pair search). Compiled; the same results
    as :func:`evaluate_pairs_numpy` (the oracle)."""
    if kin is None:
        kin = kinematics(states.lat_deg, states.lon_deg, states.gs_kt, states.track_deg)
    single = len(profile.alerters) == 1
    if not single and (
        np.any(states.alerter < 1) or np.any(states.alerter > len(profile.alerters))
    ):
        raise InvalidInputError(
            field="alerter", reason=f"must be within 1..{len(profile.alerters)}"
        )
    table = _level_table(profile)
    own = np.ascontiguousarray(own, dtype=np.int64)
    intruder = np.ascontiguousarray(intruder, dtype=np.int64)
    alerter = np.ones_like(intruder) if single else states.alerter[intruder]
    conflict, t_in, t_out, level, tcpa, dcpa, hmd, vmd, taumod, tcoa = evaluate_pairs_kernel(
        kin.x_m,
        kin.y_m,
        kin.z_m,
        kin.vx_mps,
        kin.vy_mps,
        kin.vz_mps,
        states.alt_ft,
        states.vs_fpm,
        own,
        intruder,
        np.ascontiguousarray(alerter - 1, dtype=np.int64),
        table.dthr_m,
        table.zthr_ft,
        table.tthr_s,
        table.tcoa_s,
        table.alerting_s,
        table.corrective_dthr_m,
        float(profile.lookahead_s),
        _strict(profile),
        WGS84_E2,
    )
    return PairAlerts(
        own=own,
        intruder=intruder,
        alerter=alerter,
        conflict=conflict,
        t_in_s=t_in,
        t_out_s=t_out,
        level_instant=level,
        hmd_nm=hmd / M_PER_NM,
        vmd_ft=vmd,
        tcpa_s=tcpa,
        dcpa_nm=dcpa / M_PER_NM,
        taumod_s=taumod,
        tcoa_s=tcoa,
    )


def evaluate_pairs_numpy(
    profile: Profile,
    states: States,
    own: IntArray,
    intruder: IntArray,
    kin: Kinematics | None = None,
) -> PairAlerts:
    """The numpy oracle of :func:`evaluate_pairs` (array formulas of :mod:`.wcv`)."""
    if kin is None:
        kin = kinematics(states.lat_deg, states.lon_deg, states.gs_kt, states.track_deg)
    single = len(profile.alerters) == 1  # one-level profiles: every aircraft uses it
    if not single and (
        np.any(states.alerter < 1) or np.any(states.alerter > len(profile.alerters))
    ):
        raise InvalidInputError(
            field="alerter", reason=f"must be within 1..{len(profile.alerters)}"
        )
    table = _level_table(profile)
    geo = pair_geometry(kin, states, own, intruder)
    alerter = np.ones_like(intruder) if single else states.alerter[intruder]
    row = alerter - 1
    strict = _strict(profile)
    n_levels = profile.max_level
    p = own.shape[0]
    conflict = np.zeros((p, n_levels), dtype=bool)
    t_in = np.full((p, n_levels), np.nan)
    t_out = np.full((p, n_levels), np.nan)
    level_instant = np.zeros(p, dtype=np.int64)
    for lv in range(n_levels):
        dthr = table.dthr_m[row, lv]
        present = np.isfinite(dthr)
        lo, hi, hit = loss_interval(
            geo.ss,
            geo.sv,
            geo.vv,
            geo.sz_ft,
            geo.vz_fps,
            dthr_m=np.where(present, dthr, 1.0),
            zthr_ft=np.where(present, table.zthr_ft[row, lv], 1.0),
            tthr_s=table.tthr_s[row, lv],
            tcoa_s=table.tcoa_s[row, lv],
            lookahead_s=profile.lookahead_s,
            strict=strict,
        )
        hit &= present
        conflict[:, lv] = hit
        t_in[:, lv] = np.where(hit, lo, np.nan)
        t_out[:, lv] = np.where(hit, hi, np.nan)
        alerts = hit & ((lo == 0.0) | (lo < table.alerting_s[row, lv]))
        level_instant = np.where(alerts, lv + 1, level_instant)
    tcpa, dcpa, hmd, vmd, taumod, tcoa = cpa_metrics(
        geo.ss,
        geo.sv,
        geo.vv,
        geo.sz_ft,
        geo.vz_fps,
        dthr_m=table.corrective_dthr_m[row],
        lookahead_s=profile.lookahead_s,
    )
    return PairAlerts(
        own=own,
        intruder=intruder,
        alerter=alerter,
        conflict=conflict,
        t_in_s=t_in,
        t_out_s=t_out,
        level_instant=level_instant,
        hmd_nm=hmd / M_PER_NM,
        vmd_ft=vmd,
        tcpa_s=tcpa,
        dcpa_nm=dcpa / M_PER_NM,
        taumod_s=taumod,
        tcoa_s=tcoa,
    )


def alert_pairs(profile: Profile, states: States) -> PairAlerts:
    """Alert figures of every ordered pair of ``states`` that may violate a volume.

    Both directions of each candidate pair are returned, ``(i, j)`` then ``(j, i)``; pairs
    whose ``level_instant`` is 0 are kept (their ``conflict`` may still be set beyond the
    alerting time). Filter with ``level_instant >= 1`` for alerts.
    """
    i, j = candidate_ordered_pairs(profile, states)
    own = np.concatenate([i, j])
    intruder = np.concatenate([j, i])
    return evaluate_pairs(profile, states, own, intruder)


def raw_levels(
    profile: Profile, alerts: PairAlerts, early_level: IntArray | None = None
) -> IntArray:
    """Levels of ``alerts`` when ``early_level[k]`` (0 = none) uses its early alerting time."""
    if early_level is None:
        return alerts.level_instant
    table = _level_table(profile)
    row = alerts.alerter - 1
    level = np.zeros(len(alerts), dtype=np.int64)
    for lv in range(profile.max_level):
        limit = np.where(early_level == lv + 1, table.early_s[row, lv], table.alerting_s[row, lv])
        lo = alerts.t_in_s[:, lv]
        hit = alerts.conflict[:, lv] & ((lo == 0.0) | (lo < limit))
        level = np.where(hit, lv + 1, level)
    return level


@dataclass(frozen=True)
class AlertMemory:
    """Hysteresis state of ordered pairs (DAIDALUS ``HysteresisData`` + ``MofN``), immutable.

    ``keys[k]`` is ``(ownship id, intruder id)``; ``queue[k]`` the last ``n`` raw levels
    (-1 = empty slot); ``init_time_s`` when the current level was raised (NaN: none);
    ``last_time_s`` the last update; ``last_value`` the last output level.
    """

    keys: tuple[tuple[str, str], ...] = ()
    queue: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty((0, 0), np.int64))
    init_time_s: FloatArray = field(default_factory=lambda: np.empty(0))
    last_time_s: FloatArray = field(default_factory=lambda: np.empty(0))
    last_value: IntArray = field(default_factory=lambda: np.empty(0, np.int64))

    def lookup(self, keys: Sequence[tuple[str, str]]) -> IntArray:
        """Index of each key in this memory, -1 when absent."""
        where = {k: n for n, k in enumerate(self.keys)}
        return np.fromiter((where.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))


def apply_hysteresis(
    profile: Profile,
    memory: AlertMemory,
    keys: Sequence[tuple[str, str]],
    raw: IntArray,
    time_s: float,
    slots: IntArray | None = None,
) -> tuple[IntArray, AlertMemory]:
    """One hysteresis step at ``time_s`` for the pairs ``keys`` with raw levels ``raw``.

    Returns the output levels and the new memory, which holds the given pairs only (a pair
    that is absent from ``keys`` is forgotten: the caller passes raw level 0 for a pair it
    still tracks). ``slots`` (from ``memory.lookup(keys)``) may be passed to skip the lookup.
    """
    m, n = profile.m, profile.n
    p = len(keys)
    idx = memory.lookup(keys) if slots is None else slots
    known = idx >= 0
    safe = np.where(known, idx, 0)
    has = memory.queue.shape[0] > 0
    last_time = np.where(known & has, memory.last_time_s[safe] if has else np.nan, np.nan)
    init_time = np.where(known & has, memory.init_time_s[safe] if has else np.nan, np.nan)
    last_value = np.where(known & has, memory.last_value[safe] if has else -1, -1)
    queue = memory.queue[safe].copy() if has and p else np.full((p, n), -1, dtype=np.int64)
    reset = (
        ~known
        | np.isnan(last_time)
        | (time_s <= last_time)
        | (time_s - last_time > profile.hysteresis_s)
    )
    fresh = np.where(np.arange(n) < m, 0, -1)
    queue = np.where(reset[:, None], np.where(fresh[None, :] == 0, raw[:, None], -1), queue)
    init_time = np.where(reset, np.nan, init_time)
    last_value = np.where(reset, -1, last_value)
    queue = np.concatenate([queue[:, 1:], raw[:, None]], axis=1) if n else queue
    mofn = np.full(p, -1, dtype=np.int64)
    top = int(max(profile.max_level, int(raw.max()) if p else 0))
    for level in range(0, top + 1):
        enough = (queue >= level).sum(axis=1) >= m
        mofn = np.where(enough, level, mofn)
    hold = (
        ~np.isnan(init_time)
        & (last_value > 0)
        & (mofn < last_value)
        & (time_s >= init_time)
        & (time_s - init_time < profile.persistence_s)
    )
    raise_now = ~hold & (mofn > 0) & (mofn > last_value)
    init_time = np.where(raise_now, time_s, init_time)
    out = np.where(hold, last_value, np.maximum(0, mofn))
    new = AlertMemory(
        keys=tuple(keys),
        queue=queue,
        init_time_s=init_time,
        last_time_s=np.full(p, time_s),
        last_value=out,
    )
    return out.astype(np.int64), new


def early_levels(memory: AlertMemory, slots: IntArray, time_s: float, profile: Profile) -> IntArray:
    """The level each pair currently holds, for the early alerting time (0 when none).

    A pair holds its last output level when it was updated before ``time_s`` and the gap is
    within the hysteresis time (a reset pair starts with the normal alerting times).
    """
    if memory.last_value.shape[0] == 0:
        return np.zeros(slots.shape[0], dtype=np.int64)
    safe = np.where(slots >= 0, slots, 0)
    last_t = memory.last_time_s[safe]
    ok = (slots >= 0) & (last_t < time_s) & (time_s - last_t <= profile.hysteresis_s)
    return np.where(ok, np.maximum(memory.last_value[safe], 0), 0).astype(np.int64)


@dataclass(frozen=True)
class AlertStep:
    """The result of :func:`step_alerts`: figures, hysteresis levels and the next memory."""

    alerts: PairAlerts
    level: IntArray
    memory: AlertMemory


def step_alerts(
    profile: Profile,
    states: States,
    ids: Sequence[str],
    time_s: float,
    memory: AlertMemory | None = None,
) -> AlertStep:
    """Alerts of one snapshot at ``time_s`` (s, any epoch), continuing ``memory``.

    The pairs evaluated are the broad-phase candidates plus every pair the memory still holds
    at a level or with raised samples (both aircraft present), so that a pair leaving the
    search radius decays through the hysteresis instead of vanishing.
    """
    if len(ids) != len(states):
        raise InvalidInputError(field="ids", reason=f"expected {len(states)} ids")
    if len(set(ids)) != len(ids):
        raise InvalidInputError(field="id", reason="duplicate aircraft id in one snapshot")
    memory = memory if memory is not None else AlertMemory()
    kin = kinematics(states.lat_deg, states.lon_deg, states.gs_kt, states.track_deg)
    i, j = candidate_ordered_pairs(profile, states)
    own = np.concatenate([i, j])
    intruder = np.concatenate([j, i])
    id_array = np.asarray(list(ids), dtype=object)
    if memory.keys:
        active = (memory.last_value > 0) | (memory.queue.max(axis=1) > 0)
        position = {name: k for k, name in enumerate(ids)}
        have = {(int(a), int(b)) for a, b in zip(own, intruder, strict=True)}
        extra_own: list[int] = []
        extra_intruder: list[int] = []
        for k in np.flatnonzero(active):
            a, b = memory.keys[int(k)]
            pa, pb = position.get(a), position.get(b)
            if pa is not None and pb is not None and (pa, pb) not in have:
                extra_own.append(pa)
                extra_intruder.append(pb)
        if extra_own:
            own = np.concatenate([own, np.asarray(extra_own, dtype=np.int64)])
            intruder = np.concatenate([intruder, np.asarray(extra_intruder, dtype=np.int64)])
    alerts = evaluate_pairs(profile, states, own, intruder, kin)
    keys = list(zip(id_array[own].tolist(), id_array[intruder].tolist(), strict=True))
    slots = memory.lookup(keys)
    raw = raw_levels(profile, alerts, early_levels(memory, slots, time_s, profile))
    level, new_memory = apply_hysteresis(profile, memory, keys, raw, time_s, slots)
    return AlertStep(alerts=alerts, level=level, memory=new_memory)
