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
4. **Choice**: the lowest total cost (turn / 30 deg, speed / 50 kt, vertical speed / 1500
   fpm, altitude / 1000 ft; hold costs 0), so one aircraft holds whenever that suffices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

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
from deconflict.daa.profiles import Profile
from deconflict.daa.wcv import loss_interval
from deconflict.units import FloatArray

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
    holding is already clear of every level.
    """

    a: int
    b: int
    for_a: Manoeuvre
    for_b: Manoeuvre
    clear_of: str
    needed: bool


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


def coordinate(profile: Profile, states: States, a: int, b: int) -> CoordinatedGuidance:
    """Compatible manoeuvres for aircraft rows ``a`` and ``b`` of ``states``.

    Raises :class:`NoCoordinatedGuidance` when no candidate pair is clear of the corrective
    volumes together.
    """
    n = len(states)
    others_a = np.asarray([k for k in range(n) if k not in (a, b)], dtype=np.int64)
    corrective = min(int(al.corrective.region) for al in profile.alerters)
    bands_a = compute_bands(profile, states, a, _near(profile, states, a, others_a))
    bands_b = compute_bands(profile, states, b, _near(profile, states, b, others_a))
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
    pax, pay, uax, uay, za, wa = (
        _stack(ta, f)[:, None, :] for f in ("px", "py", "ux", "uy", "z_ft", "w_fps")
    )
    pbx, pby, ubx, uby, zb, wb = (
        _stack(tb, f)[None, :, :] for f in ("px", "py", "ux", "uy", "z_ft", "w_fps")
    )
    sx = float(traffic.sx[0]) + pbx - pax
    sy = float(traffic.sy[0]) + pby - pay
    vx = ubx - uax
    vy = uby - uay
    sz = zb - za
    vz = wb - wa
    ss, sv, vv = sx * sx + sy * sy, sx * vx + sy * vy, vx * vx + vy * vy
    dur = np.minimum(SAMPLE_S, profile.lookahead_s - t)[None, None, :]
    lost = {}
    for lv in range(profile.max_level):
        hit = np.zeros(ss.shape[:2], dtype=bool)
        for who in (a, b):
            alerter = profile.alerters[int(states.alerter[b if who == a else a]) - 1]
            if lv >= len(alerter.levels):
                continue
            vol = alerter.levels[lv].volume
            _, _, h = loss_interval(
                ss,
                sv,
                vv,
                sz,
                vz,
                dthr_m=vol.dthr_m + MARGIN_M,
                zthr_ft=vol.zthr_ft + MARGIN_FT,
                tthr_s=vol.tthr_s,
                tcoa_s=vol.tcoa_s,
                lookahead_s=dur,
                strict=vol.strict,
            )
            hit |= h.any(axis=2)
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
    hold_a = [k for k, m in enumerate(moves_a) if m.dimension == "hold"]
    hold_b = [k for k, m in enumerate(moves_b) if m.dimension == "hold"]
    if hold_a and hold_b and all_clear[hold_a[0], hold_b[0]]:
        return CoordinatedGuidance(a, b, moves_a[hold_a[0]], moves_b[hold_b[0]], "all", False)
    for clear, label in ((all_clear, "all"), (corrective_clear, "corrective")):
        ok = clear & allowed
        if ok.any():
            masked = np.where(ok, cost, np.inf)
            ia, ib = np.unravel_index(int(masked.argmin()), masked.shape)
            return CoordinatedGuidance(a, b, moves_a[int(ia)], moves_b[int(ib)], label, True)
    raise NoCoordinatedGuidance("no compatible pair of manoeuvres clears the encounter")


def _near(profile: Profile, states: States, own: int, candidates: IntArray) -> IntArray:
    """The ``candidates`` within reach of any manoeuvre of ``own`` (its band intruders)."""
    near: IntArray = np.intersect1d(band_intruders(profile, states, own), candidates).astype(
        np.int64
    )
    return near


_TEMPLATE_MANOEUVRE: Final = {
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
    name, target = _TEMPLATE_MANOEUVRE[(manoeuvre.dimension, manoeuvre.side)]
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
