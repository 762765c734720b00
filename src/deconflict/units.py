"""Units and the only conversion functions in deconflict.

Every quantity crossing a module boundary carries its unit in its name (``alt_ft``, ``gs_kt``,
``range_nm``) or in one of the ``Annotated`` aliases below. Conversions happen at the edges and
only through this module. Constants are exact by definition (international foot and nautical
mile) unless stated.
"""

from __future__ import annotations

from typing import Annotated, Final

import numpy as np
import numpy.typing as npt

Feet = Annotated[float, "ft"]
Metres = Annotated[float, "m"]
NauticalMiles = Annotated[float, "NM"]
Knots = Annotated[float, "kt"]
FeetPerMinute = Annotated[float, "ft/min"]
Seconds = Annotated[float, "s"]
Degrees = Annotated[float, "deg"]

FloatArray = npt.NDArray[np.float64]

M_PER_FT: Final = 0.3048
"""Metres per international foot (exact)."""

M_PER_NM: Final = 1852.0
"""Metres per international nautical mile (exact)."""

S_PER_H: Final = 3600.0
"""Seconds per hour."""

MPS_PER_KT: Final = M_PER_NM / S_PER_H
"""Metres per second per knot (1852/3600, exact)."""

MPS_PER_FPM: Final = M_PER_FT / 60.0
"""Metres per second per foot per minute (exact)."""

FT_PER_FL: Final = 100
"""Feet of pressure altitude per flight level (FL330 = 33,000 ft), an integer on purpose."""

WGS84_A_M: Final = 6378137.0
"""WGS84 semi-major axis, metres."""

WGS84_F: Final = 1.0 / 298.257223563
"""WGS84 flattening."""

WGS84_E2: Final = WGS84_F * (2.0 - WGS84_F)
"""WGS84 first eccentricity squared."""


def nm_to_m(nm: float) -> float:
    """Nautical miles to metres."""
    return nm * M_PER_NM


def m_to_nm(m: float) -> float:
    """Metres to nautical miles."""
    return m / M_PER_NM


def fl_to_ft(fl: int) -> int:
    """Flight level to pressure altitude in feet (integer arithmetic: FL350 -> 35000)."""
    return int(fl) * FT_PER_FL
