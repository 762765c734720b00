"""Real geography of the demo scenario: the eastern Mediterranean and the Levant.

Airports are the real ones (positions and elevations from the ``airportsdata`` list shipped in
``../shared/data/geo``). The activity volumes and the deconfliction line are invented for the
demo and carry neutral party names, BLUE (west) and RED (east): a line running north-south over
the sea between Cyprus and the Syrian coast separates their air operations areas; each party
has patrol orbits (racetracks), tanker and AEW tracks, transit corridors and an exercise area.
Civil airways link Larnaca, Beirut, Tel Aviv and Amman with the west. All coordinates are
``(lon, lat)`` degrees, WGS84; altitudes in feet or flight levels as named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

Lonlat = tuple[float, float]


@dataclass(frozen=True)
class Airport:
    """An aerodrome: ICAO code, position, elevation (ft)."""

    icao: str
    lonlat: Lonlat
    elevation_ft: float


AIRPORTS: Final[dict[str, Airport]] = {
    a.icao: a
    for a in (
        Airport("LCLK", (33.6249, 34.8751), 8),
        Airport("LCRA", (32.9879, 34.5904), 76),
        Airport("OLBA", (35.4884, 33.8209), 87),
        Airport("LLBG", (34.8867, 32.0114), 135),
        Airport("OJAI", (35.9932, 31.7226), 2395),
        Airport("OSDI", (36.5156, 33.4115), 2020),
        Airport("OSLK", (35.9487, 35.4011), 157),
    )
}
"""Aerodromes used by the scenario (real positions and elevations)."""

CENTRE: Final[Lonlat] = (34.6, 34.4)
"""Centre of the scenario's projection plane."""

LINE_ID: Final = "L1"
LINE: Final[tuple[Lonlat, ...]] = ((35.15, 35.75), (35.15, 35.0), (35.05, 34.6))
"""The agreed deconfliction line, digitised north to south."""

LINE_SIDES: Final[dict[str, Literal["left", "right"]]] = {"BLUE": "right", "RED": "left"}
"""Walking south along the line, BLUE's side (west) is on the right, RED's (east) on the left."""


@dataclass(frozen=True)
class VolumeSpec:
    """One invented activity volume: footprint JSON and a vertical band in feet."""

    id: str
    party: str
    category: str
    footprint: dict[str, Any]
    lower_ft: float
    upper_ft: float


def _poly(points: list[Lonlat]) -> dict[str, Any]:
    ring = [list(p) for p in points]
    return {"type": "polygon", "coordinates": [[*ring, ring[0]]]}


def _orbit(start: Lonlat, end: Lonlat, radius_nm: float) -> dict[str, Any]:
    return {"type": "orbit", "start": list(start), "end": list(end), "radius_nm": radius_nm}


def _corridor(points: list[Lonlat], half_width_nm: float) -> dict[str, Any]:
    return {
        "type": "corridor",
        "centerline": [list(p) for p in points],
        "half_width_nm": half_width_nm,
    }


BLUE_CORRIDOR_EAST: Final[list[Lonlat]] = [
    AIRPORTS["LCRA"].lonlat,
    (32.75, 34.95),
    (33.2, 35.45),
    (34.0, 35.55),
    (34.5, 35.8),
]
BLUE_CORRIDOR_WEST: Final[list[Lonlat]] = [AIRPORTS["LCRA"].lonlat, (31.8, 34.58), (30.3, 34.6)]
RED_CORRIDOR_SOUTH: Final[list[Lonlat]] = [
    AIRPORTS["OSDI"].lonlat,
    (36.75, 34.0),
    (36.72, 34.73),
    (36.2, 35.25),
    AIRPORTS["OSLK"].lonlat,
]
RED_CORRIDOR_WEST: Final[list[Lonlat]] = [AIRPORTS["OSLK"].lonlat, (35.65, 35.85)]

VOLUMES: Final[tuple[VolumeSpec, ...]] = (
    VolumeSpec(
        "BLUE-AOA-1",
        "BLUE",
        "air operations area",
        _poly([(34.45, 36.25), (35.12, 36.25), (35.12, 35.0), (34.45, 35.0)]),
        15000,
        30000,
    ),
    VolumeSpec(
        "BLUE-CAP-1", "BLUE", "patrol orbit", _orbit((34.2, 35.7), (34.2, 35.2), 9), 20000, 30000
    ),
    VolumeSpec(
        "BLUE-AAR-1", "BLUE", "tanker track", _orbit((32.0, 35.45), (32.7, 35.75), 12), 24000, 30000
    ),
    VolumeSpec(
        "BLUE-AEW-1", "BLUE", "AEW orbit", _orbit((31.4, 34.9), (31.7, 35.35), 12), 24000, 31000
    ),
    VolumeSpec(
        "BLUE-TRANSIT-1", "BLUE", "transit corridor", _corridor(BLUE_CORRIDOR_EAST, 4), 0, 30000
    ),
    VolumeSpec(
        "BLUE-TRANSIT-2", "BLUE", "transit corridor", _corridor(BLUE_CORRIDOR_WEST, 4), 0, 25000
    ),
    VolumeSpec(
        "BLUE-EX-1",
        "BLUE",
        "exercise area",
        {"type": "circle", "center": [31.5, 34.05], "radius_nm": 25},
        5000,
        25000,
    ),
    VolumeSpec(
        "RED-AOA-1",
        "RED",
        "air operations area",
        _poly([(35.18, 36.25), (35.7, 36.25), (35.7, 35.0), (35.18, 35.0)]),
        15000,
        30000,
    ),
    VolumeSpec(
        "RED-CAP-1", "RED", "patrol orbit", _orbit((36.05, 35.75), (36.15, 35.2), 9), 20000, 30000
    ),
    VolumeSpec(
        "RED-AEW-1", "RED", "AEW orbit", _orbit((36.4, 34.9), (36.6, 35.4), 12), 24000, 31000
    ),
    VolumeSpec(
        "RED-AAR-1", "RED", "tanker track", _orbit((37.0, 35.5), (37.5, 35.8), 12), 24000, 30000
    ),
    VolumeSpec(
        "RED-TRANSIT-1", "RED", "transit corridor", _corridor(RED_CORRIDOR_SOUTH, 4), 0, 30000
    ),
    VolumeSpec(
        "RED-TRANSIT-2", "RED", "transit corridor", _corridor(RED_CORRIDOR_WEST, 4), 0, 30000
    ),
    VolumeSpec(
        "RED-EX-1",
        "RED",
        "exercise area",
        _poly([(36.8, 35.05), (37.4, 35.05), (37.4, 34.55), (36.8, 34.55)]),
        5000,
        25000,
    ),
)
"""Every party's standing activity volumes (flown by the scenario's standing traffic)."""

LATER_VOLUMES: Final[tuple[VolumeSpec, ...]] = (
    VolumeSpec(
        "BLUE-EX-2",
        "BLUE",
        "exercise area (afternoon air combat training)",
        {"type": "circle", "center": [34.8, 34.2], "radius_nm": 18},
        15000,
        25000,
    ),
    VolumeSpec(
        "UAS-1",
        "UAS",
        "drone inspection of an offshore installation",
        {"type": "circle", "center": [35.82, 34.78], "radius_nm": 6},
        0,
        1500,
    ),
    VolumeSpec(
        "RED-EX-2",
        "RED",
        "exercise area (maritime patrol and search and rescue)",
        {"type": "circle", "center": [35.2, 34.25], "radius_nm": 18},
        12000,
        20000,
    ),
    VolumeSpec(
        "RED-HELO-1",
        "RED",
        "helicopter gunnery range",
        {"type": "circle", "center": [35.78, 34.72], "radius_nm": 8},
        0,
        3000,
    ),
)
"""Activities planned for later in the day (not flown by the scenario): BLUE-EX-2 and RED-EX-2
overlap (15,000-20,000 ft, one hour) under the advisory BLUE-RED agreement; RED-HELO-1 overlaps
the drone operator's UAS-1, filed first, under the F3548 RED-UAS agreement."""

WEST_ENTRY_NORTH: Final[Lonlat] = (30.0, 33.9)
WEST_ENTRY_SOUTH: Final[Lonlat] = (30.0, 33.3)
SOUTH_CYPRUS: Final[Lonlat] = (32.9, 34.15)

CIVIL_ROUTES: Final[tuple[tuple[str, str | None, tuple[Lonlat, ...], str | None], ...]] = (
    ("W-OLBA", None, (WEST_ENTRY_NORTH, SOUTH_CYPRUS, AIRPORTS["OLBA"].lonlat), "OLBA"),
    ("OLBA-W", "OLBA", (AIRPORTS["OLBA"].lonlat, SOUTH_CYPRUS, WEST_ENTRY_SOUTH), None),
    ("LCLK-LLBG", "LCLK", (AIRPORTS["LCLK"].lonlat, AIRPORTS["LLBG"].lonlat), "LLBG"),
    ("LLBG-LCLK", "LLBG", (AIRPORTS["LLBG"].lonlat, AIRPORTS["LCLK"].lonlat), "LCLK"),
    ("LCLK-OJAI", "LCLK", (AIRPORTS["LCLK"].lonlat, AIRPORTS["OJAI"].lonlat), "OJAI"),
    ("OJAI-LCLK", "OJAI", (AIRPORTS["OJAI"].lonlat, AIRPORTS["LCLK"].lonlat), "LCLK"),
    ("W-LCLK", None, (WEST_ENTRY_SOUTH, SOUTH_CYPRUS, AIRPORTS["LCLK"].lonlat), "LCLK"),
    ("LCLK-OLBA", "LCLK", (AIRPORTS["LCLK"].lonlat, AIRPORTS["OLBA"].lonlat), "OLBA"),
    ("W-OJAI", None, (WEST_ENTRY_NORTH, SOUTH_CYPRUS, AIRPORTS["OJAI"].lonlat), "OJAI"),
)
"""Civil flows: name, departure aerodrome (None = enters cruising), route, arrival aerodrome."""
