"""Rebuild ``levant_snapshot.csv``: ``python -m deconflict.examples._build_levant OUT.csv``.

The snapshot is synthetic but realistic: 30 aircraft over the eastern Mediterranean (Cyprus,
Lebanon, Israel, Jordan) at one instant, reported the way ADS-B reports them (pressure altitude in
25 ft steps, vertical rate in 64 ft/min steps). Six pairs are built around a chosen closest point
of approach (CPA); the other 18 aircraft are drawn with a fixed seed and kept only if they come
no closer than 8 NM / 2,000 ft to anyone within 6 minutes.

Built pairs (``right``: how far right of the other's track point the second aircraft passes;
the detector's miss distance differs where the speeds differ):

- MEA231 / BLUE11: crossing at FL350, 90 deg, right 1.0 NM, in 150 s. Alerts in both modes.
- AEE934 / ELY315: head-on at FL370, 0.3 NM offset, CPA in 200 s. Both modes.
- CYP402 / RED21: vertical only. RED21 flies 0.2 NM abeam with the same velocity, 2,500 ft
  below, climbing 2,496 ft/min through FL310. Both modes (a climbing aircraft is never snapped).
- THY6RM / UAE957: crossing at 34,975 vs 34,000 ft (adjacent levels), right 1.5 NM. Strict only.
- MSR781 / RJA503: opposite tracks at 38,000 vs 37,025 ft, 3 NM apart, in 120 s. Strict only.
- BLUE12 / RED22: crossing at exactly 36,000 vs 35,000 ft. Never (1,000 ft is separated).
"""

from __future__ import annotations

import csv
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from pyproj import Geod

GEOD = Geod(ellps="WGS84")
M_PER_NM = 1852.0


@dataclass(frozen=True)
class State:
    """One aircraft state row."""

    id: str
    party: str
    lat: float
    lon: float
    alt_ft: float
    gs_kt: float
    track_deg: float
    vs_fpm: float


def toward_cpa(
    ident: str,
    party: str,
    cpa: tuple[float, float],
    track_deg: float,
    gs_kt: float,
    t_cpa_s: float,
    alt_ft: float,
    vs_fpm: float = 0.0,
    right_nm: float = 0.0,
) -> State:
    """The state now of an aircraft that passes ``right_nm`` right of ``cpa`` in ``t_cpa_s``."""
    lat_c, lon_c = cpa
    lon1, lat1, _ = GEOD.fwd(lon_c, lat_c, track_deg + 90.0, right_nm * M_PER_NM)
    back_m = gs_kt * M_PER_NM / 3600.0 * t_cpa_s
    lon0, lat0, back_az = GEOD.fwd(lon1, lat1, track_deg + 180.0, back_m)
    return State(ident, party, lat0, lon0, alt_ft, gs_kt, back_az % 360.0, vs_fpm)


def built_pairs() -> list[State]:
    """The six constructed pairs (see the module docstring)."""
    return [
        toward_cpa("MEA231", "civil", (34.20, 33.60), 300.0, 462.0, 150.0, 35000.0),
        toward_cpa("BLUE11", "blue", (34.20, 33.60), 210.0, 418.0, 150.0, 35000.0, right_nm=1.0),
        toward_cpa("ELY315", "civil", (33.20, 34.60), 340.0, 471.0, 200.0, 37000.0),
        toward_cpa("AEE934", "civil", (33.20, 34.60), 160.0, 449.0, 200.0, 37000.0, right_nm=0.3),
        toward_cpa("CYP402", "civil", (35.00, 33.20), 90.0, 431.0, 60.0, 31000.0),
        toward_cpa(
            "RED21", "red", (35.00, 33.20), 90.0, 431.0, 60.0, 28500.0, 2496.0, right_nm=0.2
        ),
        toward_cpa("THY6RM", "civil", (34.60, 32.60), 135.0, 455.0, 130.0, 34975.0),
        toward_cpa("UAE957", "civil", (34.60, 32.60), 65.0, 488.0, 130.0, 34000.0, right_nm=1.5),
        toward_cpa("MSR781", "civil", (32.60, 33.70), 20.0, 440.0, 120.0, 38000.0),
        toward_cpa("RJA503", "civil", (32.60, 33.70), 200.0, 452.0, 120.0, 37025.0, right_nm=3.0),
        toward_cpa("BLUE12", "blue", (33.70, 35.10), 250.0, 400.0, 90.0, 36000.0),
        toward_cpa("RED22", "red", (33.70, 35.10), 170.0, 410.0, 90.0, 35000.0),
    ]


def min_separation(a: State, b: State, horizon_s: float = 360.0) -> tuple[float, float]:
    """Smallest horizontal distance (NM) while vertically within 2,000 ft, and smallest
    vertical distance (ft) overall, over ``[0, horizon_s]`` (local flat frame, 1 s steps)."""
    az, _, dist_m = GEOD.inv(a.lon, a.lat, b.lon, b.lat)
    rel_e = dist_m * math.sin(math.radians(az))
    rel_n = dist_m * math.cos(math.radians(az))

    def vel(s: State) -> tuple[float, float]:
        v = s.gs_kt * M_PER_NM / 3600.0
        return v * math.sin(math.radians(s.track_deg)), v * math.cos(math.radians(s.track_deg))

    (ae, an), (be, bn) = vel(a), vel(b)
    best_h = math.inf
    best_v = math.inf
    for t in range(int(horizon_s) + 1):
        de = rel_e + (be - ae) * t
        dn = rel_n + (bn - an) * t
        dz = abs(b.alt_ft + b.vs_fpm * t / 60.0 - a.alt_ft - a.vs_fpm * t / 60.0)
        best_v = min(best_v, dz)
        if dz < 2000.0:
            best_h = min(best_h, math.hypot(de, dn) / M_PER_NM)
    return best_h, best_v


def background(existing: list[State], count: int, seed: int = 20181) -> list[State]:
    """``count`` aircraft drawn with ``seed`` that stay clear of each other and ``existing``."""
    rng = random.Random(seed)
    airlines = ["AEE", "CYP", "ELY", "MEA", "RJA", "THY", "PGT", "UAE", "QTR", "WZZ", "AIZ", "SVA"]
    airports = {  # lat, lon, elevation ft: Larnaca, Beirut, Tel Aviv, Amman
        "LCLK": (34.875, 33.625),
        "OLBA": (33.821, 35.488),
        "LLBG": (32.011, 34.887),
        "OJAI": (31.723, 35.993),
    }
    chosen: list[State] = []
    used_ids = {s.id for s in existing}
    while len(chosen) < count:
        ident = f"{rng.choice(airlines)}{rng.randint(100, 989)}"
        if ident in used_ids:
            continue
        if rng.random() < 0.25:  # climbing out of / descending into an airport
            ap_lat, ap_lon = rng.choice(list(airports.values()))
            brg = rng.uniform(0.0, 360.0)
            dist_nm = rng.uniform(15.0, 45.0)
            lon, lat, _ = GEOD.fwd(ap_lon, ap_lat, brg, dist_nm * M_PER_NM)
            alt = round(rng.uniform(7000.0, 22000.0) / 25.0) * 25.0
            climbing = rng.random() < 0.5
            track = brg if climbing else (brg + 180.0) % 360.0
            vs = (1 if climbing else -1) * 64.0 * rng.randint(20, 40)
            gs = rng.uniform(280.0, 380.0)
        else:
            lat = rng.uniform(31.3, 36.3)
            lon = rng.uniform(31.8, 36.6)
            alt = 1000.0 * rng.randint(29, 41) + rng.choice([-25.0, 0.0, 0.0, 0.0, 25.0])
            track = rng.uniform(0.0, 360.0)
            vs = rng.choice([0.0, 0.0, 0.0, 64.0, -64.0])
            gs = rng.uniform(400.0, 500.0)
        party = "civil" if rng.random() < 0.8 else rng.choice(["blue", "red"])
        if party != "civil":
            ident = f"{party.upper()}{rng.randint(30, 89)}"
            if ident in used_ids:
                continue
        cand = State(ident, party, lat, lon, alt, round(gs, 1), round(track, 1), vs)
        if all(_clear(cand, other) for other in existing + chosen):
            chosen.append(cand)
            used_ids.add(ident)
    return chosen


def _clear(a: State, b: State) -> bool:
    horizontal_nm, vertical_ft = min_separation(a, b)
    return horizontal_nm > 8.0 or vertical_ft >= 2000.0


def build() -> list[State]:
    """Every state, pairs first then background, sorted by id."""
    pairs = built_pairs()
    return sorted(pairs + background(pairs, 18), key=lambda s: s.id)


def write(path: Path) -> None:
    """Write the snapshot CSV to ``path``."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["id", "party", "lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm"])
        for s in build():
            out.writerow(
                [
                    s.id,
                    s.party,
                    f"{s.lat:.5f}",
                    f"{s.lon:.5f}",
                    f"{s.alt_ft:.0f}",
                    f"{s.gs_kt:.1f}",
                    f"{s.track_deg:.1f}",
                    f"{s.vs_fpm:.0f}",
                ]
            )


if __name__ == "__main__":
    write(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("levant_snapshot.csv")
    )
