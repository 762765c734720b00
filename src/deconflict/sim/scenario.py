"""The demo scenario: BLUE, RED and civil traffic over the eastern Mediterranean and the Levant.

A pure, seeded function of scenario time: ``Scenario(seed=...).states_at(t_s)`` returns every
airborne aircraft's state ``t_s`` seconds after the scenario start, identical for the same seed
(no clock, no I/O, no global random state). Time scaling is the caller's business.

What flies (see :mod:`deconflict.sim.geography` for the places):

* **Standing activity**: per party two fighters in the patrol orbit (350-480 kt, FL200-FL300),
  a tanker and an AEW aircraft in their racetracks (310-380 kt, FL250-FL300), two fighters
  circling in the exercise area (FL100-FL240).
* **Transports** (280-320 kt, FL180-FL240) shuttling along each party's rear transit corridor.
* **Civil airliners** on the airways Cyprus-Beirut / Tel Aviv / Amman and from the west: they
  climb out of and descend into LCLK, OLBA, LLBG and OJAI and cruise at 420-480 kt between
  FL330 and FL390 (semicircular levels) where the route is long enough.
* **Scripted near-conflicts** every ``encounter_period_s``: a BLUE and a RED fighter launch
  from LCRA and OSLK, run head-on at FL250 (RED 0-500 ft higher) on parallel tracks 4 NM apart
  just north of the deconfliction line's end (so their run-in is a predicted loss of separation
  with a horizontal miss distance of 4 NM), break away 60 s before the closest point of
  approach, and fly home. :meth:`Scenario.encounters` lists them with their times.
* **Scripted incursions** every ``incursion_period_s`` (offset by half a period): a fighter,
  alternately BLUE and RED, runs perpendicular at the line, crosses it at a scripted time,
  penetrates 6 NM into the other party's area, turns back and flies home.
  :meth:`Scenario.incursions` lists them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, Literal

import numpy as np

from deconflict.sim import geography as geo
from deconflict.sim.paths import (
    LoopPath,
    Plane,
    TimedPath,
    racetrack,
    rounded,
    turn_radius_nm,
)
from deconflict.units import FloatArray

Role = Literal["fighter", "tanker", "aew", "transport", "airliner"]
PARTIES: Final = ("BLUE", "RED", "CIVIL")
"""Parties of the scenario: two military parties and the civil traffic's reporting party."""

ENCOUNTER_OFFSET_NM: Final = 4.0
"""Lateral offset of the scripted head-on run-ins, NM (the predicted horizontal miss)."""

RUN_IN_NM: Final = 20.0
"""Distance from a run-in start to the scripted closest point of approach, NM."""

BREAK_BEFORE_CPA_S: Final = 60.0
"""The scripted fighters break away this long before the closest point of approach, s."""

PENETRATION_NM: Final = 6.0
"""How far a scripted incursion goes past the line, NM."""

CLIMB_FT_PER_NM: Final = 500.0
"""Climb gradient of airliners and transports at the runway, ft/NM."""

CLIMB_DECAY_PER_NM: Final = 0.0075
"""Loss of climb gradient per foot of altitude, (ft/NM)/ft, i.e. 1/NM."""

SORTIE_MAX_S: Final = 2.0 * 3600.0
"""Upper bound of a sortie's or a civil flight's duration, s (for finding active ones)."""

STANDING_WINDOWS_MIN: Final[dict[str, tuple[float, float]]] = {
    "AOA": (-30.0, 240.0),
    "CAP": (-20.0, 160.0),
    "AAR": (-15.0, 135.0),
    "AEW": (-30.0, 200.0),
    "TRANSIT": (-15.0, 180.0),
    "EX": (-10.0, 110.0),
}
"""Window of the first notice of each kind of standing volume, minutes from the scenario start
(RED's end 10 min later than BLUE's)."""

FOLLOW_ON_OVERLAP_MIN: Final = 15.0
"""A standing volume's next notice starts this long before the previous one ends, min."""

CATEGORY_BY_KIND: Final[dict[str, str]] = {
    "AOA": "air_operations",
    "CAP": "air_operations",
    "AAR": "air_operations",
    "AEW": "air_operations",
    "TRANSIT": "transit",
    "EX": "exercise",
}
"""Notice category of each kind of standing volume (the middle part of its id)."""


@dataclass(frozen=True)
class Flight:
    """One simulated aircraft and its path."""

    id: str
    party: str
    callsign: str
    role: Role
    path: TimedPath | LoopPath

    def active(self, t_s: float) -> bool:
        """True while airborne at scenario time ``t_s``."""
        if isinstance(self.path, LoopPath):
            return True
        return self.path.start_s <= t_s <= self.path.end_s


@dataclass(frozen=True)
class Encounter:
    """A scripted BLUE-RED near-conflict (times in scenario seconds)."""

    index: int
    blue_id: str
    red_id: str
    t_cpa_s: float
    t_break_s: float
    blue_gs_kt: float
    red_gs_kt: float
    vertical_ft: float


@dataclass(frozen=True)
class ScriptedIncursion:
    """A scripted line crossing: ``track_id`` of ``party`` crosses at ``t_cross_s``."""

    index: int
    track_id: str
    party: str
    t_cross_s: float
    gs_kt: float


Outcome = Literal["accepted", "conflict", "refused"]


@dataclass(frozen=True)
class PlannedNotice:
    """A notice the demo files: party, title, category, volumes (volume JSON), the outcome the
    broker is expected to give (``accepted``; ``conflict``: accepted with an advisory
    conflict; ``refused`` under the F3548 policy) and a description."""

    party: str
    title: str
    category: str
    volumes: tuple[dict[str, Any], ...]
    expect: Outcome
    description: str

    def body(self) -> dict[str, Any]:
        """The ``POST /v1/notices`` body."""
        return {"title": self.title, "category": self.category, "volumes": list(self.volumes)}


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, *(k + 2**31 for k in key)])


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Scenario:
    """The seeded demo scenario.

    Parameters
    ----------
    seed:
        Random seed: the same seed gives the same traffic.
    start:
        Scenario time 0 (UTC); the standing notices start 10 to 30 min before it and last
        2 to 4.5 hours (:meth:`standing_window`), later activities start 3 to 5 hours after it.
    encounter_period_s, incursion_period_s:
        Scripted near-conflict / incursion period, seconds of scenario time.
    civil_interval_s:
        Mean interval between civil flights (all flows together), s.
    transport_interval_s:
        Interval between a party's transport flights, s.
    """

    def __init__(
        self,
        seed: int = 1,
        *,
        start: datetime | None = None,
        encounter_period_s: float = 300.0,
        incursion_period_s: float = 300.0,
        civil_interval_s: float = 120.0,
        transport_interval_s: float = 900.0,
    ) -> None:
        self.seed = int(seed)
        self.start = start or datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.anchor = self.start.replace(second=0, microsecond=0)
        """The scenario start rounded down to the minute: notice windows count from it."""
        self.encounter_period_s = encounter_period_s
        self.incursion_period_s = incursion_period_s
        self.civil_interval_s = civil_interval_s
        self.transport_interval_s = transport_interval_s
        self.plane = Plane(*geo.CENTRE)
        self._standing = self._build_standing()
        self._sortie = lru_cache(maxsize=4096)(self._build_sortie)
        self._civil = lru_cache(maxsize=4096)(self._build_civil)
        self._transport = lru_cache(maxsize=4096)(self._build_transport)

    # ------------------------------------------------------------------------ data for the broker
    def standing_window(self, volume_id: str, block: int = 0) -> tuple[datetime, datetime]:
        """UTC window of block ``block`` of a standing volume's notice.

        Block 0 starts shortly before the scenario start and lasts a few hours
        (:data:`STANDING_WINDOWS_MIN`); each following block starts 15 min before the previous
        one ends and lasts as long, so the standing traffic always has an active volume."""
        kind = volume_id.split("-")[1]
        first_min, last_min = STANDING_WINDOWS_MIN[kind]
        if volume_id.startswith("RED"):
            last_min += 10.0
        length = last_min - first_min
        start_min = first_min + block * (length - FOLLOW_ON_OVERLAP_MIN)
        start = self.anchor + timedelta(minutes=start_min)
        return start, start + timedelta(minutes=length)

    def _volume_json(self, spec: geo.VolumeSpec, start: datetime, end: datetime) -> dict[str, Any]:
        return {
            "id": spec.id,
            "footprint": spec.footprint,
            "altitude": {"lower": spec.lower_ft, "upper": spec.upper_ft, "reference": "ft_amsl"},
            "start": _iso(start),
            "end": _iso(end),
            "buffers": {"lateral_nm": 0, "vertical_ft": 0, "before_min": 0, "after_min": 0},
        }

    def standing_notice(self, volume_id: str, block: int = 0) -> PlannedNotice:
        """Block ``block`` of the notice of a standing volume (block 0 filed at the start; the
        demo files block ``k`` an hour before block ``k - 1`` ends)."""
        spec = {v.id: v for v in geo.VOLUMES}[volume_id]
        start, end = self.standing_window(volume_id, block)
        title = spec.id if block == 0 else f"{spec.id} #{block + 1}"
        return PlannedNotice(
            spec.party,
            title,
            CATEGORY_BY_KIND[spec.id.split("-")[1]],
            (self._volume_json(spec, start, end),),
            "accepted",
            spec.category,
        )

    def notices(self) -> dict[str, list[dict[str, Any]]]:
        """Every party's standing volumes (block 0) in the volume JSON format
        (docs/strategic.md), keyed by party."""
        out: dict[str, list[dict[str, Any]]] = {"BLUE": [], "RED": []}
        for spec in geo.VOLUMES:
            out[spec.party].extend(self.standing_notice(spec.id).volumes)
        return out

    def plan(self) -> list[PlannedNotice]:
        """Every notice the demo files at the start, in filing order, with the expected outcome.

        The standing volumes (block 0) of BLUE then RED; then the day's later activities:
        BLUE-EX-2 (+4 h to +6 h), the drone operator's UAS-1 (+3 h to +5 h), RED-EX-2
        (+5 h to +7 h: overlaps BLUE-EX-2 between 15,000 and 20,000 ft for an hour -- an
        advisory conflict both sides see), RED-PATROL-1 (RED-EX-2's area, +4 h to +5 h:
        a second advisory conflict with BLUE-EX-2, past the demo's disclosure budget, so both
        sides are shown it coarse), RED-HELO-1 (+3 h 30 to +4 h 30: overlaps UAS-1, filed
        first, so the F3548 agreement refuses it) and RED-HELO-1 re-filed after the drones
        (+5 h 15 to +6 h 45)."""
        out = [self.standing_notice(spec.id) for spec in geo.VOLUMES]
        later = {v.id: v for v in geo.LATER_VOLUMES}

        def later_notice(
            vid: str, category: str, h0: float, h1: float, expect: str, title: str = ""
        ) -> PlannedNotice:
            spec = later[vid]
            start = self.anchor + timedelta(hours=h0)
            end = self.anchor + timedelta(hours=h1)
            return PlannedNotice(
                spec.party,
                title or spec.id,
                category,
                (self._volume_json(spec, start, end),),
                expect,  # type: ignore[arg-type]
                spec.category,
            )

        out += [
            later_notice("BLUE-EX-2", "exercise", 4.0, 6.0, "accepted"),
            later_notice("UAS-1", "uas", 3.0, 5.0, "accepted"),
            later_notice("RED-EX-2", "exercise", 5.0, 7.0, "conflict"),
            later_notice("RED-EX-2", "exercise", 4.0, 5.0, "conflict", "RED-PATROL-1"),
            later_notice("RED-HELO-1", "live_fire", 3.5, 4.5, "refused"),
            later_notice("RED-HELO-1", "live_fire", 5.25, 6.75, "accepted", "RED-HELO-1 (moved)"),
        ]
        return out

    def lines(self) -> list[dict[str, Any]]:
        """The agreed line(s): ``{"id", "coordinates": [[lon, lat], ...], "sides": {...}}``."""
        return [
            {
                "id": geo.LINE_ID,
                "coordinates": [list(p) for p in geo.LINE],
                "sides": dict(geo.LINE_SIDES),
            }
        ]

    # ------------------------------------------------------------------------ traffic
    def flights_at(self, t_s: float) -> list[Flight]:
        """Every flight airborne at scenario time ``t_s``."""
        flights = [f for f in self._standing if f.active(t_s)]
        for k in self._indices(t_s, self.encounter_period_s, 0.0):
            flights.extend(f for f in self._sortie("enc", k) if f.active(t_s))
        offset = self.incursion_period_s / 2.0
        for k in self._indices(t_s, self.incursion_period_s, offset):
            flights.extend(f for f in self._sortie("inc", k) if f.active(t_s))
        for n in self._indices(t_s, self.civil_interval_s, 0.0):
            civil = self._civil(n)
            if civil.active(t_s):
                flights.append(civil)
        for n in self._indices(t_s, self.transport_interval_s / 2.0, 0.0):
            transport = self._transport(n)
            if transport.active(t_s):
                flights.append(transport)
        return flights

    def states_at(self, t_s: float) -> dict[str, Any]:
        """States of every airborne aircraft at scenario time ``t_s`` (all parties), as columns.

        Keys: ``ids``, ``party``, ``callsign`` (lists of str) and the numpy arrays ``lat_deg``,
        ``lon_deg``, ``alt_ft``, ``gs_kt``, ``track_deg``, ``vs_fpm``, ``time_s`` (Unix s) —
        what :meth:`deconflict.live.tracks.TrackStates.from_columns` takes.
        """
        flights = self.flights_at(t_s)
        n = len(flights)
        x = np.empty((3, n))
        y = np.empty((3, n))
        alt = np.empty((3, n))
        for k, flight in enumerate(flights):
            centre = t_s
            if isinstance(flight.path, TimedPath):  # one-sided difference at the path's ends
                centre = min(max(t_s, flight.path.start_s + 0.5), flight.path.end_s - 0.5)
            times = np.array([centre - 0.5, t_s, centre + 0.5])
            kin = flight.path.at(times)
            x[:, k], y[:, k], alt[:, k] = kin.x_nm, kin.y_nm, kin.alt_ft
        lon, lat = self.plane.to_lonlat(x.ravel(), y.ravel())
        lon = lon.reshape(3, n)
        lat = lat.reshape(3, n)
        coslat = np.cos(np.radians(lat[1]))
        north_nm = (lat[2] - lat[0]) * 60.0
        east_nm = ((lon[2] - lon[0] + 180.0) % 360.0 - 180.0) * 60.0 * coslat
        gs = np.hypot(north_nm, east_nm) * 3600.0
        track = np.degrees(np.arctan2(east_nm, north_nm)) % 360.0
        vs = (alt[2] - alt[0]) * 60.0
        return {
            "ids": [f.id for f in flights],
            "party": [f.party for f in flights],
            "callsign": [f.callsign for f in flights],
            "lat_deg": lat[1],
            "lon_deg": lon[1],
            "alt_ft": np.round(alt[1]),
            "gs_kt": gs,
            "track_deg": track,
            "vs_fpm": vs,
            "time_s": np.full(n, self.start.timestamp() + t_s),
        }

    def encounters(self, t0_s: float, t1_s: float) -> list[Encounter]:
        """Scripted near-conflicts whose closest point of approach is in ``[t0_s, t1_s]``."""
        out = []
        period = self.encounter_period_s
        for k in range(int(np.ceil((t0_s - self._cpa0()) / period)), 10**9):
            t_cpa = self._cpa0() + k * period
            if t_cpa > t1_s:
                break
            blue, red = self._sortie("enc", k)
            params = self._encounter_params(k)
            out.append(
                Encounter(
                    k,
                    blue.id,
                    red.id,
                    t_cpa,
                    t_cpa - BREAK_BEFORE_CPA_S,
                    params["blue_gs"],
                    params["red_gs"],
                    params["dz"],
                )
            )
        return out

    def incursions(self, t0_s: float, t1_s: float) -> list[ScriptedIncursion]:
        """Scripted line crossings whose crossing time is in ``[t0_s, t1_s]``."""
        out = []
        period = self.incursion_period_s
        first = self._cross0()
        for k in range(int(np.ceil((t0_s - first) / period)), 10**9):
            t_cross = first + k * period
            if t_cross > t1_s:
                break
            (flight,) = self._sortie("inc", k)
            party = "BLUE" if k % 2 == 0 else "RED"
            gs = float(_rng(self.seed, 21, k).uniform(400.0, 460.0))
            out.append(ScriptedIncursion(k, flight.id, party, t_cross, gs))
        return out

    # ------------------------------------------------------------------------ builders
    def _cpa0(self) -> float:
        return 180.0

    def _cross0(self) -> float:
        return 180.0 + self.incursion_period_s / 2.0

    def _indices(self, t_s: float, period: float, offset: float) -> Iterator[int]:
        lo = int(np.floor((t_s - offset - SORTIE_MAX_S) / period))
        hi = int(np.ceil((t_s - offset + SORTIE_MAX_S) / period))
        return iter(range(lo, hi + 1))

    def _xy(self, lonlat: tuple[float, float]) -> tuple[float, float]:
        x, y = self.plane.to_xy(np.array([lonlat[0]]), np.array([lonlat[1]]))
        return float(x[0]), float(y[0])

    def _timed(
        self,
        waypoints: list[tuple[float, float]],
        alts_ft: list[float],
        speeds_kt: list[float],
        radius_nm: float,
    ) -> TimedPath:
        line = rounded(waypoints, radius_nm, closed=False)
        s = np.unique(np.concatenate([np.linspace(0.0, line.length_nm, 400), line.marks]))
        alt = np.interp(s, line.marks, alts_ft)
        gs = np.interp(s, line.marks, speeds_kt)
        return TimedPath(line, s, alt, gs, 0.0)

    def _build_standing(self) -> list[Flight]:
        rng = _rng(self.seed, 1)
        flights: list[Flight] = []
        callsigns = {
            "BLUE": {"fighter": "VIPER", "tanker": "SHELL", "aew": "MAGIC", "transport": "ATLAS"},
            "RED": {"fighter": "FALCON", "tanker": "SABLE", "aew": "OWL", "transport": "CRANE"},
        }
        specs = {v.id: v for v in geo.VOLUMES}
        for party in ("BLUE", "RED"):
            number = 1000 if party == "BLUE" else 2000
            prefix = "BL" if party == "BLUE" else "RD"
            names = callsigns[party]
            jobs: list[tuple[str, Role, float, float, int]] = [
                (f"{party}-CAP-1", "fighter", 380.0, 460.0, 2),
                (f"{party}-AAR-1", "tanker", 310.0, 360.0, 1),
                (f"{party}-AEW-1", "aew", 320.0, 380.0, 1),
            ]
            for volume_id, role, vmin, vmax, count in jobs:
                fp = specs[volume_id].footprint
                a, b = self._xy(tuple(fp["start"])), self._xy(tuple(fp["end"]))
                radius = min(float(fp["radius_nm"]) * 0.6, 7.0)
                line = racetrack(a, b, radius)
                for c in range(count):
                    number += 1
                    gs = float(rng.uniform(vmin, vmax))
                    fl = (
                        int(rng.integers(21, 29))
                        if role == "fighter"
                        else int(rng.integers(25, 30))
                    )
                    path = LoopPath(line, gs, fl * 1000.0, c / count + float(rng.uniform(0, 0.2)))
                    cs = f"{names[role]}{number % 100:02d}"
                    flights.append(Flight(f"{prefix}{number}", party, cs, role, path))
            # Exercise area: two fighters circling at different levels.
            ex = specs[f"{party}-EX-1"].footprint
            if ex["type"] == "circle":
                centre = self._xy(tuple(ex["center"]))
            else:
                ring = np.asarray(ex["coordinates"][0][:-1])
                centre = self._xy((float(ring[:, 0].mean()), float(ring[:, 1].mean())))
            for c, fl in enumerate((120, 190)):
                number += 1
                gs = float(rng.uniform(360.0, 450.0))
                offset = 5.0 if c else -5.0
                centre_c = (centre[0] + offset, centre[1])
                line = racetrack(centre_c, centre_c, turn_radius_nm(gs, 30.0) + 3.0)
                path = LoopPath(line, gs, float(fl * 100), float(rng.uniform(0, 1)))
                cs = f"{names['fighter']}{number % 100:02d}"
                flights.append(Flight(f"{prefix}{number}", party, cs, "fighter", path))
        return flights

    def _encounter_params(self, k: int) -> dict[str, float]:
        rng = _rng(self.seed, 11, k)
        return {
            "blue_gs": float(rng.uniform(420.0, 470.0)),
            "red_gs": float(rng.uniform(420.0, 470.0)),
            "dz": float(rng.choice([0.0, 200.0, 300.0, 500.0])),
            "lat": float(rng.uniform(35.98, 36.05)),
        }

    def _sortie_path(
        self,
        party: str,
        run_in: list[tuple[float, float]],
        run_alt: float,
        gs: float,
        key_index: int,
        key_s_nm: float | None = None,
    ) -> tuple[TimedPath, int]:
        """Base -> corridor -> ``run_in`` waypoints -> corridor -> base; index of ``key_index``."""
        if party == "BLUE":
            out = [self._xy(p) for p in geo.BLUE_CORRIDOR_EAST]
            base = geo.AIRPORTS["LCRA"]
        else:
            out = [self._xy(p) for p in geo.RED_CORRIDOR_WEST]
            base = geo.AIRPORTS["OSLK"]
        home = list(reversed(out))
        points = [*out, *run_in, *home]
        n_out = len(out)
        alts = [base.elevation_ft] + [run_alt - 5000.0] * (n_out - 1)
        alts += [run_alt] * len(run_in)
        alts += [run_alt - 5000.0] * (len(home) - 1) + [base.elevation_ft]
        speeds = [250.0] + [gs] * (len(points) - 2) + [250.0]
        path = self._timed(points, alts, speeds, turn_radius_nm(gs, 45.0))
        return path, n_out + key_index

    def _build_sortie(self, kind: str, k: int) -> tuple[Flight, ...]:
        if kind == "enc":
            p = self._encounter_params(k)
            lat_b = p["lat"]
            cpa_b = self._xy((geo.LINE[0][0], lat_b))
            lat_r_point = self.plane.to_lonlat(
                np.array([cpa_b[0]]), np.array([cpa_b[1] + ENCOUNTER_OFFSET_NM])
            )
            cpa_r = self._xy((geo.LINE[0][0], float(lat_r_point[1][0])))
            t_cpa = self._cpa0() + k * self.encounter_period_s
            flights = []
            for party, cpa, sign, gs, dz, turn in (
                ("BLUE", cpa_b, -1.0, p["blue_gs"], 0.0, 1.0),
                ("RED", cpa_r, 1.0, p["red_gs"], p["dz"], 1.0),
            ):
                brk_nm = gs * BREAK_BEFORE_CPA_S / 3600.0
                start = (cpa[0] + sign * RUN_IN_NM, cpa[1])
                brk = (cpa[0] + sign * brk_nm, cpa[1])
                away = (brk[0], brk[1] + turn * 10.0)
                run_in = [(start[0], start[1] - 4.0), start, brk, away]
                path, key = self._sortie_path(party, run_in, 25000.0 + dz, gs, 1)
                # On the straight run-in, 120 s before the (virtual) closest point of approach.
                x_ref = cpa[0] + sign * gs * 120.0 / 3600.0
                s_ref = _s_at_x(path, x_ref, float(path.line.marks[key]))
                path = path.shifted(t_cpa - 120.0 - path.time_at_distance(s_ref))
                number = 3 * k + (1 if party == "BLUE" else 2)
                prefix = "BLE" if party == "BLUE" else "RDE"
                cs = ("COBRA" if party == "BLUE" else "TALON") + f"{number % 90 + 10}"
                flights.append(Flight(f"{prefix}{k % 100000:05d}", party, cs, "fighter", path))
            return tuple(flights)
        party = "BLUE" if k % 2 == 0 else "RED"
        rng = _rng(self.seed, 21, k)
        gs = float(rng.uniform(400.0, 460.0))
        lat_q = float(rng.uniform(35.2, 35.55))
        cross = self._xy((geo.LINE[0][0], lat_q))
        sign = -1.0 if party == "BLUE" else 1.0
        start = (cross[0] + sign * 20.0, cross[1])
        deep = (cross[0] - sign * PENETRATION_NM, cross[1])
        back = (cross[0] - sign * PENETRATION_NM, cross[1] + 8.0)
        ret = (cross[0] + sign * 12.0, cross[1] + 10.0)
        run_in = [(start[0], start[1] + 10.0), start, deep, back, ret]
        fl = float(rng.integers(21, 28)) * 1000.0
        path, key = self._sortie_path(party, run_in, fl, gs, 1)
        s_cross = _s_at_x(path, cross[0], float(path.line.marks[key]))
        t_cross = self._cross0() + k * self.incursion_period_s
        path = path.shifted(t_cross - path.time_at_distance(s_cross))
        prefix = "BLX" if party == "BLUE" else "RDX"
        cs = ("HAWK" if party == "BLUE" else "RAVEN") + f"{k % 90 + 10}"
        return (Flight(f"{prefix}{k % 100000:05d}", party, cs, "fighter", path),)

    def _profile_path(
        self,
        route: tuple[tuple[float, float], ...],
        dep_elev_ft: float | None,
        arr_elev_ft: float | None,
        cruise_ft: float,
        cruise_gs: float,
        t0_s: float,
        climb_gs: float,
    ) -> TimedPath:
        """A flight from A to B: climb out of an aerodrome (500 ft/NM at first, less higher up),
        descend 318 ft/NM (3 deg)
        into one, cruise level lowered to what the route length allows; ``None`` elevations mean
        the flight enters or leaves the region already cruising."""
        line = rounded([self._xy(p) for p in route], 6.0, closed=False)
        length = line.length_nm
        s = np.linspace(0.0, length, max(50, int(length * 2)))
        flat = np.full_like(s, cruise_ft)
        # Climb gradient 500 ft/NM at the runway, falling linearly with altitude (237 ft/NM at
        # FL350): dh/ds = a - b h  =>  h(s) = a/b - (a/b - h0) exp(-b s).
        ceiling = CLIMB_FT_PER_NM / CLIMB_DECAY_PER_NM
        climb = (
            ceiling - (ceiling - dep_elev_ft) * np.exp(-CLIMB_DECAY_PER_NM * s)
            if dep_elev_ft is not None
            else flat
        )
        descent = arr_elev_ft + 318.0 * (length - s) if arr_elev_ft is not None else flat
        top = float(np.max(np.minimum(climb, descent)))
        if top < cruise_ft:
            cruise_ft = float(np.floor(top / 1000.0) * 1000.0)
        alt = np.minimum(np.minimum(climb, descent), cruise_ft)
        gs = _profile_speed(alt, cruise_ft, cruise_gs, climb_gs)
        return TimedPath(line, s, alt, gs, t0_s)

    def _build_transport(self, n: int) -> Flight:
        rng = _rng(self.seed, 41, n)
        party = "BLUE" if n % 2 == 0 else "RED"
        if party == "BLUE":
            route = tuple(geo.BLUE_CORRIDOR_WEST)
            dep: float | None = geo.AIRPORTS["LCRA"].elevation_ft
            arr: float | None = None
        else:
            route = tuple(geo.RED_CORRIDOR_SOUTH)
            dep, arr = geo.AIRPORTS["OSDI"].elevation_ft, geo.AIRPORTS["OSLK"].elevation_ft
        if (n // 2) % 2 == 1:
            route, dep, arr = tuple(reversed(route)), arr, dep
        cruise_ft = float(rng.integers(18, 25)) * 1000.0
        gs = float(rng.uniform(280.0, 320.0))
        t0 = n * self.transport_interval_s / 2.0 + float(rng.uniform(0, 120))
        path = self._profile_path(route, dep, arr, cruise_ft, gs, t0, 220.0)
        prefix = "BLT" if party == "BLUE" else "RDT"
        cs = ("ATLAS" if party == "BLUE" else "CRANE") + f"{n % 90 + 10}"
        return Flight(f"{prefix}{n % 100000:05d}", party, cs, "transport", path)

    def _build_civil(self, n: int) -> Flight:
        rng = _rng(self.seed, 31, n)
        _, dep, route, arr = geo.CIVIL_ROUTES[int(rng.integers(len(geo.CIVIL_ROUTES)))]
        eastbound = route[-1][0] > route[0][0]
        levels = [330, 350, 370, 390] if eastbound else [340, 360, 380]
        cruise_ft = float(rng.choice(levels)) * 100.0
        cruise_gs = float(rng.uniform(425.0, 475.0))
        t0 = n * self.civil_interval_s + float(rng.uniform(0, self.civil_interval_s))
        path = self._profile_path(
            route,
            geo.AIRPORTS[dep].elevation_ft if dep else None,
            geo.AIRPORTS[arr].elevation_ft if arr else None,
            cruise_ft,
            cruise_gs,
            t0,
            300.0,
        )
        airline = str(rng.choice(["CYP", "MEA", "ELY", "RJA", "AEE", "TUI", "WZZ"]))
        code = f"{int(rng.integers(0, 2**24)):06x}"
        return Flight(code, "CIVIL", f"{airline}{int(rng.integers(100, 999))}", "airliner", path)


def _s_at_x(path: TimedPath, x_nm: float, s_from: float) -> float:
    """First distance along ``path`` after ``s_from`` where the plane x equals ``x_nm``."""
    line = path.line
    d = line.x_nm - x_nm
    for i in np.flatnonzero(line.s_nm[:-1] >= s_from):
        if d[i] == 0.0 or d[i] * d[i + 1] < 0.0:
            frac = d[i] / (d[i] - d[i + 1]) if d[i] != d[i + 1] else 0.0
            return float(line.s_nm[i] + frac * (line.s_nm[i + 1] - line.s_nm[i]))
    raise ValueError("path never reaches the requested x")


def _profile_speed(
    alt_ft: FloatArray, cruise_ft: float, cruise_gs: float, climb_gs: float
) -> FloatArray:
    """Ground speed along a climb-cruise-descent profile, kt: 150 kt at the runway, rising to
    ``min(250, climb_gs)`` at 10,000 ft, ``climb_gs`` above it, ``cruise_gs`` at cruise level."""
    low_top = min(250.0, climb_gs)
    low = 150.0 + (low_top - 150.0) * np.clip(alt_ft / 10000.0, 0.0, 1.0)
    high_frac = np.clip((alt_ft - 10000.0) / max(cruise_ft - 10000.0, 1.0), 0.0, 1.0)
    high = climb_gs + (cruise_gs - climb_gs) * high_frac**4
    at_cruise = alt_ft >= cruise_ft - 1.0
    out = np.where(alt_ft <= 10000.0, low, high)
    return np.asarray(np.where(at_cruise, cruise_gs, out), dtype=np.float64)
