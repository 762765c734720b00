"""Default thresholds of the tactical conflict detector, with their units and sources."""

from __future__ import annotations

from typing import Final

HORIZONTAL_NM: Final = 5.0
"""Horizontal separation minimum, nautical miles (ICAO Doc 4444 radar separation, en route)."""

VERTICAL_FT: Final = 1000.0
"""Vertical separation minimum, feet (ICAO Doc 4444; RVSM FL290-FL410 inclusive).

Two aircraft exactly this far apart are *separated*: the test is a strict ``<``.
"""

LOOKAHEAD_S: Final = 300.0
"""Prediction horizon, seconds (deconflict tactical default; straight-line extrapolation)."""

LEVEL_FLIGHT_VS_FPM: Final = 200.0
"""Largest ``|vs_fpm|`` (exclusive) still treated as level flight in flight-level mode, ft/min.

ADS-B reports vertical rate in 64 ft/min steps; an aircraft holding its level reads 0, +-64 or
+-128 ft/min (in the Swiss 2018 recording 90 % of all reports are within +-64 ft/min). 200 ft/min
admits that noise while any real climb or descent (typically >= 500 ft/min) is not level.
"""

LEVEL_GRID_FT: Final = 500
"""Grid of flight levels level aircraft are snapped to in flight-level mode, feet.

500 ft covers the IFR levels (whole thousands) and the VFR semicircular levels (thousands plus
500), so a 500 ft level bust is still compared at its true distance.
"""

LEVEL_TOLERANCE_FT: Final = 200
"""Largest distance (inclusive) from a grid level at which a level aircraft is snapped to it, feet.

ICAO Doc 9574 / Doc 4444: in RVSM airspace ATC accepts a reported level within +-200 ft of the
cleared level (the altimetry system error budget, |mean| + 3 sigma, is 200 ft); 300 ft off is a
large height deviation. Aircraft further than this from every grid level keep their reported
altitude.
"""
