"""Coordinated guidance: one manoeuvre per aircraft of an alert, conflict-free *together*.

Each party flies its own aircraft and neither shares its intent, so guidance computed for
each side alone can cancel out (both turn into each other). For a pair (A, B) in alert this
module proposes one manoeuvre for each, chosen together:

1. **Candidates** per aircraft: hold, turns of 10-90 deg right/left, ground speed +-20/50/100
   kt, vertical speed +-1000/2000 fpm, altitude +-500/1000 ft; kept only when the value is below
   the corrective band region against every *other* intruder of that aircraft (its bands
   without the partner), so the manoeuvre creates no new conflict with third aircraft.
2. **Forbidden pairs**: both turning towards each other (each turns to the side the other is
   on) and both moving vertically towards each other (the lower climbs while the upper
   descends).
3. **Joint check**: both candidate trajectories (flown as :func:`deconflict.daa.bands.fly`
   flies them: turn rate, accelerations, 500 fpm altitude changes for ``do365b``) are sampled
   every second over the look-ahead; every step is tested as a straight segment for a loss of
   the pair's volumes in both directions (A's alerter for B -> A, B's for A -> B), widened by a
   margin covering the curvature inside a step. Pairs free of every level are preferred; else
   pairs free of the corrective and warning levels.
4. **Preference** (optional, per aircraft): a :data:`Keep` predicate over the sampled positions
   of each candidate path (latitude, longitude, altitude every :data:`KEEP_SAMPLE_S` over the
   look-ahead) says whether the path keeps to what the aircraft agreed: its side of the agreed
   lines, its declared active volumes (built by ``deconflict.live.daa.keep_to``). Pairs where
   both manoeuvres keep to it are preferred.
5. **Choice**: the lowest total cost (turn / 30 deg, speed / 50 kt, vertical speed / 1500
   fpm, altitude / 1000 ft; hold costs 0), so one aircraft holds whenever that suffices, in
   this order: clear of every level and preference met; clear of the corrective and warning
   levels and preference met; clear of every level; clear of the corrective levels. A
   preference is never bought with a corrective alert: when it cannot be met the conflict-free
   choice is returned with ``preference_met`` False for the aircraft whose manoeuvre breaks it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from deconflict.daa._jit import paths_lost_kernel
from deconflict.daa.alerting import States
from deconflict.daa.bands import (
    DIMENSIONS,
    Bands,
    IntArray,
    Ownship,
    Trajectory,
    band_intruders,
    compute_bands,
    fly,
    traffic_from,
)
from deconflict.daa.profiles import Profile, Volume
from deconflict.daa.wcv import loss_interval
from deconflict.units import FloatArray

BoolArray = npt.NDArray[np.bool_]

Keep = Callable[[FloatArray, FloatArray, FloatArray], BoolArray]
"""A preference of one aircraft: given the sampled positions of ``K`` candidate paths as
``(K, T)`` arrays of latitude (deg), longitude (deg) and altitude (ft), ``(K,)`` booleans: the
path keeps to the aircraft's agreed side of every line and stays in its active volumes."""

KEEP_SAMPLE_S: Final = 5.0
"""Sampling interval of the positions a :data:`Keep` predicate is given, seconds."""

BROKEN_PENALTY: Final = 1000.0
"""Cost added per broken preference in the fallback tiers (far above any manoeuvre's cost)."""

EARTH_RADIUS_M: Final = 6_371_008.8
"""Mean Earth radius, metres (local plane -> latitude / longitude of sampled positions)."""

STEPS: Final = {
    "track_deg": (10.0, 20.0, 30.0, 45.0, 60.0, 90.0),
    "gs_kt": (20.0, 50.0, 100.0),
    "vs_fpm": (1000.0, 2000.0),
    "alt_ft": (500.0, 1000.0),
}
"""Manoeuvre sizes tried per dimension (deg, kt, target fpm, ft)."""

COST_UNIT: Final = {"track_deg": 30.0, "gs_kt": 50.0, "vs_fpm": 1500.0, "alt_ft": 1000.0}
"""Change that costs 1 in each dimension (deg, kt, fpm, ft)."""

SAMPLE_S: Final = 1.0
"""Joint-check step, seconds."""

MARGIN_M: Final = 30.0
"""Horizontal widening of the volumes in the joint check, metres (covers the deviation of a
3 deg/s turn or a 2 m/s^2 acceleration from a straight 1 s segment, ~10 m, with room)."""

MARGIN_FT: Final = 10.0
"""Vertical widening of the volumes in the joint check, feet (0.25 g over 1 s: ~4 ft)."""


@dataclass(frozen=True)
class Manoeuvre:
    """One aircraft's manoeuvre: fly ``value`` of ``dimension`` (``"hold"``: keep going).

    ``side`` is ``right``/``left`` (track), ``up``/``down`` or ``hold``; ``current`` is the
    present value (deg, kt, fpm or ft).
    """

    dimension: str
    side: str
    value: float
    current: float
    cost: float

    def describe(self) -> str:
        """Plain words (never RA wording): ``turn right to track 120 deg``."""
        if self.dimension == "hold":
            return "maintain current track, speed and altitude"
        units = {"track_deg": "deg", "gs_kt": "kt", "vs_fpm": "fpm", "alt_ft": "ft"}[self.dimension]
        what = {
            "track_deg": f"turn {self.side} to track",
            "gs_kt": "increase ground speed to" if self.side == "up" else "reduce ground speed to",
            "vs_fpm": "vertical speed",
            "alt_ft": "change altitude to",
        }[self.dimension]
        return f"{what} {self.value:g} {units}"


@dataclass(frozen=True)
class CoordinatedGuidance:
    """Guidance for the pair (``a``, ``b``): ``for_a`` and ``for_b`` are compatible.

    ``clear_of`` is ``"all"`` (no level's volume is lost when both fly their manoeuvre) or
    ``"corrective"`` (no corrective or warning volume is lost); ``needed`` is False when both
    holding is already clear of every level. ``preference_a`` / ``preference_b``: whether each
    manoeuvre keeps to that aircraft's :data:`Keep` preference (True when none was given).
    """

    a: int
    b: int
    for_a: Manoeuvre
    for_b: Manoeuvre
    clear_of: str
    needed: bool
    preference_a: bool = True
    preference_b: bool = True

    @property
    def preference_met(self) -> bool:
        """Both manoeuvres keep to their aircraft's preference."""
        return self.preference_a and self.preference_b


class NoCoordinatedGuidance(Exception):
    """No pair of candidate manoeuvres resolves the encounter (the caller falls back to bands)."""


def _candidates(own: Ownship, bands: Bands, profile: Profile, corrective: int) -> list[Manoeuvre]:
    found: list[Manoeuvre] = []
    hold_ok = bands.track_deg.current_region < corrective
    if hold_ok:
        found.append(Manoeuvre("hold", "hold", 0.0, 0.0, 0.0))
    currents = {
        "track_deg": own.track_deg,
        "gs_kt": own.gs_kt,
        "vs_fpm": own.vs_fpm,
        "alt_ft": own.z_ft,
    }
    p = profile.bands
    for name in DIMENSIONS:
        dim = bands.dimension(name)
        cur = currents[name]
        for step in STEPS[name]:
            for sign in (1.0, -1.0):
                if name == "track_deg":
                    value = float(round(cur + sign * step) % 360)
                    side = "right" if sign > 0 else "left"
                elif name == "vs_fpm":
                    value = sign * step
                    side = "up" if value > cur else "down"
                    if value == cur:
                        continue
                elif name == "alt_ft":
                    value = float(round((cur + sign * step) / 100.0) * 100.0)
                    side = "up" if sign > 0 else "down"
                    if not p.min_alt_ft <= value <= p.max_alt_ft:
                        continue
                else:
                    value = float(round((cur + sign * step) / 5.0) * 5.0)
                    side = "up" if sign > 0 else "down"
                    if not p.min_gs_kt <= value <= p.max_gs_kt:
                        continue
                k = (
                    int(np.abs(dim.values - value).argmin())
                    if name != "track_deg"
                    else int(np.abs(((dim.values - value + 180.0) % 360.0) - 180.0).argmin())
                )
                if dim.regions[k] >= corrective:
                    continue
                change = (
                    abs(((value - cur + 180.0) % 360.0) - 180.0)
                    if name == "track_deg"
                    else abs(value - cur)
                )
                found.append(Manoeuvre(name, side, value, cur, change / COST_UNIT[name]))
    return found


def _trajectories(
    own: Ownship, moves: list[Manoeuvre], profile: Profile, t: FloatArray
) -> list[Trajectory]:
    return [fly(own, m.dimension, m.value, profile.bands, t) for m in moves]


def _stack(trajs: list[Trajectory], field: str) -> FloatArray:
    return np.stack([getattr(tr, field) for tr in trajs])


def _towards(
    a_side: str,
    b_side: str,
    a_dim: str,
    b_dim: str,
    b_right_of_a: bool,
    a_right_of_b: bool,
    b_above: bool,
) -> bool:
    if a_dim == "track_deg" and b_dim == "track_deg":
        a_towards = (a_side == "right") == b_right_of_a
        b_towards = (b_side == "right") == a_right_of_b
        return a_towards and b_towards
    vertical = ("vs_fpm", "alt_ft")
    if a_dim in vertical and b_dim in vertical:
        a_towards = (a_side == "up") == b_above
        b_towards = (b_side == "up") != b_above
        return a_towards and b_towards
    return False


def _lat_lon(
    lat0_deg: float, lon0_deg: float, east_m: FloatArray, north_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Latitude / longitude (deg) of points east / north (m) of a reference point: the local
    plane of the guidance (a spherical approximation, < 0.2 % over the look-ahead's reach)."""
    lat = lat0_deg + np.degrees(north_m / EARTH_RADIUS_M)
    coslat = max(math.cos(math.radians(lat0_deg)), 1e-6)
    lon = lon0_deg + np.degrees(east_m / (EARTH_RADIUS_M * coslat))
    return lat, (lon + 180.0) % 360.0 - 180.0


def _kept(
    keep: Keep | None,
    lat0_deg: float,
    lon0_deg: float,
    trajs: list[Trajectory],
    offset_m: tuple[float, float],
    every: int,
) -> BoolArray:
    """Whether each candidate path keeps to ``keep`` (all True when there is no preference)."""
    if keep is None or not trajs:
        return np.ones(len(trajs), dtype=bool)
    px = _stack(trajs, "px")[:, ::every] + offset_m[0]
    py = _stack(trajs, "py")[:, ::every] + offset_m[1]
    z = _stack(trajs, "z_ft")[:, ::every]
    lat, lon = _lat_lon(lat0_deg, lon0_deg, px, py)
    return np.asarray(keep(lat, lon, z), dtype=bool).reshape(len(trajs))


def choose(
    cost: FloatArray,
    allowed: BoolArray,
    all_clear: BoolArray,
    corrective_clear: BoolArray,
    kept_a: BoolArray,
    kept_b: BoolArray,
) -> tuple[int, int, str, bool] | None:
    """The chosen candidate pair ``(i_a, i_b, clear_of, preference_met)`` or None.

    Order: clear of every level with the preference met, clear of the corrective levels with
    it, then the same without the preference, where pairs breaking fewer of the two
    preferences come first; within a tier the lowest ``cost`` (first on ties). ``cost``,
    ``allowed`` and the clear masks are ``(K_a, K_b)``; ``kept_*`` ``(K_*,)``.
    """
    kept = kept_a[:, None] & kept_b[None, :]
    broken = (~kept_a).astype(np.float64)[:, None] + (~kept_b).astype(np.float64)[None, :]
    tiers = (
        (all_clear & kept, "all", True),
        (corrective_clear & kept, "corrective", True),
        (all_clear, "all", False),
        (corrective_clear, "corrective", False),
    )
    for clear, label, met in tiers:
        ok = clear & allowed
        if ok.any():
            weight = cost if met else cost + BROKEN_PENALTY * broken
            masked = np.where(ok, weight, np.inf)
            ia, ib = np.unravel_index(int(masked.argmin()), masked.shape)
            return int(ia), int(ib), label, met
    return None


def coordinate(
    profile: Profile,
    states: States,
    a: int,
    b: int,
    *,
    keep_a: Keep | None = None,
    keep_b: Keep | None = None,
) -> CoordinatedGuidance:
    """Compatible manoeuvres for aircraft rows ``a`` and ``b`` of ``states``.

    ``keep_a`` / ``keep_b`` are optional preferences (agreed lines, active volumes) of each
    aircraft: met where possible, never at the price of a corrective alert.
    Raises :class:`NoCoordinatedGuidance` when no candidate pair is clear of the corrective
    volumes together.
    """
    corrective = min(int(al.corrective.region) for al in profile.alerters)
    bands_a = compute_bands(profile, states, a, _near(profile, states, a, b))
    bands_b = compute_bands(profile, states, b, _near(profile, states, b, a))
    own_a, traffic = traffic_from(profile, states, a, np.asarray([b], dtype=np.int64))
    own_b_self, _ = traffic_from(profile, states, b, np.asarray([a], dtype=np.int64))
    # B seen in A's frame: its velocity projected on A's plane
    vbx, vby = float(traffic.vx[0]), float(traffic.vy[0])
    own_b = Ownship(
        ux=vbx,
        uy=vby,
        z_ft=own_b_self.z_ft,
        w_fps=own_b_self.w_fps,
        gs_kt=own_b_self.gs_kt,
        track_deg=math.degrees(math.atan2(vbx, vby)) % 360.0
        if (vbx or vby)
        else own_b_self.track_deg,
        vs_fpm=own_b_self.vs_fpm,
    )
    moves_a = _candidates(own_a, bands_a, profile, corrective)
    moves_b = _candidates(own_b_self, bands_b, profile, corrective)
    # B's manoeuvres are defined in its own frame (track values); fly them in A's frame by
    # rotating the track values by the frame difference.
    rot = own_b.track_deg - own_b_self.track_deg
    t = np.arange(0.0, profile.lookahead_s, SAMPLE_S)
    ta = _trajectories(own_a, moves_a, profile, t)
    tb = [
        fly(
            own_b,
            m.dimension,
            (m.value + rot) % 360.0 if m.dimension == "track_deg" else m.value,
            profile.bands,
            t,
        )
        for m in moves_b
    ]
    if not moves_a or not moves_b:
        raise NoCoordinatedGuidance("no candidate manoeuvre is clear of third aircraft")
    paths_a, paths_b = _paths(ta), _paths(tb)
    start = (float(traffic.sx[0]), float(traffic.sy[0]))
    dur = np.minimum(SAMPLE_S, profile.lookahead_s - t)
    lost = {}
    for lv in range(profile.max_level):
        hit = np.zeros((len(ta), len(tb)), dtype=bool)
        for who in (a, b):
            alerter = profile.alerters[int(states.alerter[b if who == a else a]) - 1]
            if lv >= len(alerter.levels):
                continue
            hit |= _paths_lost(start, paths_a, paths_b, dur, alerter.levels[lv].volume)
        lost[lv] = hit
    all_clear = ~np.any(np.stack(list(lost.values())), axis=0)
    corr_index = min(1, profile.max_level - 1)
    corrective_clear = ~np.any(np.stack([lost[k] for k in lost if k >= corr_index]), axis=0)
    bearing = math.degrees(math.atan2(float(traffic.sx[0]), float(traffic.sy[0])))
    b_right_of_a = 0.0 < (bearing - own_a.track_deg) % 360.0 < 180.0
    a_right_of_b = 0.0 < (bearing + 180.0 - own_b.track_deg) % 360.0 < 180.0
    b_above = float(states.alt_ft[b]) > float(states.alt_ft[a])
    cost = np.array([[ma.cost + mb.cost for mb in moves_b] for ma in moves_a])
    allowed = np.array(
        [
            [
                not _towards(
                    ma.side,
                    mb.side,
                    ma.dimension,
                    mb.dimension,
                    b_right_of_a,
                    a_right_of_b,
                    b_above,
                )
                for mb in moves_b
            ]
            for ma in moves_a
        ]
    )
    every = max(1, round(KEEP_SAMPLE_S / SAMPLE_S))
    lat_a, lon_a = float(states.lat_deg[a]), float(states.lon_deg[a])
    kept_a = _kept(keep_a, lat_a, lon_a, ta, (0.0, 0.0), every)
    kept_b = _kept(keep_b, lat_a, lon_a, tb, (float(traffic.sx[0]), float(traffic.sy[0])), every)
    hold_a = [k for k, m in enumerate(moves_a) if m.dimension == "hold"]
    hold_b = [k for k, m in enumerate(moves_b) if m.dimension == "hold"]
    if hold_a and hold_b and all_clear[hold_a[0], hold_b[0]]:
        ha, hb = hold_a[0], hold_b[0]
        return CoordinatedGuidance(
            a, b, moves_a[ha], moves_b[hb], "all", False, bool(kept_a[ha]), bool(kept_b[hb])
        )
    chosen = choose(cost, allowed, all_clear, corrective_clear, kept_a, kept_b)
    if chosen is None:
        raise NoCoordinatedGuidance("no compatible pair of manoeuvres clears the encounter")
    ia, ib, label, _ = chosen
    return CoordinatedGuidance(
        a, b, moves_a[ia], moves_b[ib], label, True, bool(kept_a[ia]), bool(kept_b[ib])
    )


Paths = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]
"""Candidate paths of one aircraft, ``(paths, samples)`` each: east and north position (m),
east and north velocity (m/s), altitude (ft), vertical rate (ft/s)."""


def _paths(trajectories: list[Trajectory]) -> Paths:
    """The candidate paths' samples, one ``(paths, samples)`` array per field."""
    return (
        _stack(trajectories, "px"),
        _stack(trajectories, "py"),
        _stack(trajectories, "ux"),
        _stack(trajectories, "uy"),
        _stack(trajectories, "z_ft"),
        _stack(trajectories, "w_fps"),
    )


def _paths_lost(
    start: tuple[float, float],
    paths_a: Paths,
    paths_b: Paths,
    duration_s: FloatArray,
    volume: Volume,
) -> BoolArray:
    """``(A, B)``: whether A's path ``ia`` and B's path ``ib`` (B starting ``start`` m east and
    north of A) lose ``volume`` (widened by :data:`MARGIN_M` / :data:`MARGIN_FT`) in some
    sample ``t`` within ``duration_s[t]`` (compiled; equal to :func:`_paths_lost_numpy`)."""
    pax, pay, uax, uay, za, wa = (np.ascontiguousarray(x, dtype=np.float64) for x in paths_a)
    pbx, pby, ubx, uby, zb, wb = (np.ascontiguousarray(x, dtype=np.float64) for x in paths_b)
    out: BoolArray = paths_lost_kernel(
        start[0],
        start[1],
        pax,
        pay,
        uax,
        uay,
        za,
        wa,
        pbx,
        pby,
        ubx,
        uby,
        zb,
        wb,
        np.ascontiguousarray(duration_s, dtype=np.float64),
        float(volume.dthr_m + MARGIN_M),
        float(volume.zthr_ft + MARGIN_FT),
        float(volume.tthr_s),
        float(volume.tcoa_s),
        bool(volume.strict),
    )
    return out


def _paths_lost_numpy(
    start: tuple[float, float],
    paths_a: Paths,
    paths_b: Paths,
    duration_s: FloatArray,
    volume: Volume,
) -> BoolArray:
    """All ``(A, B, T)`` samples at once with :func:`deconflict.daa.wcv.loss_interval`: the
    oracle of :func:`_paths_lost`."""
    pax, pay, uax, uay, za, wa = (x[:, None, :] for x in paths_a)
    pbx, pby, ubx, uby, zb, wb = (x[None, :, :] for x in paths_b)
    sx = start[0] + pbx - pax
    sy = start[1] + pby - pay
    vx = ubx - uax
    vy = uby - uay
    sz = zb - za
    vz = wb - wa
    ss, sv, vv = sx * sx + sy * sy, sx * vx + sy * vy, vx * vx + vy * vy
    _, _, h = loss_interval(
        ss,
        sv,
        vv,
        sz,
        vz,
        dthr_m=volume.dthr_m + MARGIN_M,
        zthr_ft=volume.zthr_ft + MARGIN_FT,
        tthr_s=volume.tthr_s,
        tcoa_s=volume.tcoa_s,
        lookahead_s=duration_s[None, None, :],
        strict=volume.strict,
    )
    lost: BoolArray = np.asarray(h.any(axis=2), dtype=bool)
    return lost


def _near(profile: Profile, states: States, own: int, other: int) -> IntArray:
    """The aircraft but ``own`` and ``other`` within reach of any manoeuvre of ``own`` (its
    band intruders, ascending): ``np.intersect1d`` of the band intruders and every row but
    those two, without hashing all n rows."""
    found = band_intruders(profile, states, own)
    near: IntArray = found[found != other].astype(np.int64)
    return near


TEMPLATE_MANOEUVRE: Final[dict[tuple[str, str], tuple[str, str | None]]] = {
    ("hold", "hold"): ("maintain", None),
    ("track_deg", "right"): ("turn_right", "target_track_deg"),
    ("track_deg", "left"): ("turn_left", "target_track_deg"),
    ("gs_kt", "up"): ("increase_speed", "target_gs_kt"),
    ("gs_kt", "down"): ("reduce_speed", "target_gs_kt"),
    ("vs_fpm", "up"): ("set_vertical_speed", "target_vs_fpm"),
    ("vs_fpm", "down"): ("set_vertical_speed", "target_vs_fpm"),
    ("alt_ft", "up"): ("change_altitude", "target_altitude_ft"),
    ("alt_ft", "down"): ("change_altitude", "target_altitude_ft"),
}
"""(dimension, side) of a manoeuvre -> the ``coordinated_guidance`` template's manoeuvre and its
target field (deg, kt, fpm, ft); the simulated officer and the dashboard use the same table."""


def guidance_template_fields(
    manoeuvre: Manoeuvre,
    *,
    alert_ref: str,
    track_ref: str,
    profile: str,
    alert_level: int,
    counterpart_guided: bool,
    confirmed: bool = False,
) -> dict[str, object]:
    """Fields of the hotline template ``coordinated_guidance`` for one party's manoeuvre.

    Only the receiving party's own manoeuvre and whether the other side was guided: never the
    other side's manoeuvre (need to know).
    """
    name, target = TEMPLATE_MANOEUVRE[(manoeuvre.dimension, manoeuvre.side)]
    fields: dict[str, object] = {
        "status": "guidance_confirmed" if confirmed else "guidance_proposed",
        "alert_ref": alert_ref,
        "track_ref": track_ref,
        "manoeuvre": name,
        "counterpart": "counterpart_guided" if counterpart_guided else "counterpart_not_guided",
        "profile": profile,
        "alert_level": int(alert_level),
    }
    if target is not None:
        fields[target] = float(manoeuvre.value)
    return fields
