"""Vertical models: the strict cylinder and the flight-level comparison of level traffic."""

from __future__ import annotations

import enum

import numpy as np

from deconflict.errors import InvalidInputError
from deconflict.tactical.constants import LEVEL_FLIGHT_VS_FPM, LEVEL_GRID_FT, LEVEL_TOLERANCE_FT
from deconflict.units import FloatArray


class VerticalMode(enum.Enum):
    """How altitudes are compared.

    ``STRICT``
        Exactly the cylinder: reported altitudes (feet, compared exactly) extrapolated with the
        reported vertical rate.
    ``FLIGHT_LEVEL``
        An aircraft in level flight (``|vs_fpm| < LEVEL_FLIGHT_VS_FPM``) is taken to hold a level:
        its vertical rate is set to 0 and, if its altitude lies within ``LEVEL_TOLERANCE_FT``
        (inclusive) of a multiple of ``LEVEL_GRID_FT``, it is compared at that level. So adjacent
        RVSM levels read 975 ft apart (34,975 vs 34,000 ft) are 1000 ft apart and separated,
        while a 500 ft level bust, or an aircraft 250 ft off its level, still conflicts.
        Climbing and descending aircraft are compared by their reported altitude.
    """

    STRICT = "strict"
    FLIGHT_LEVEL = "flight-level"

    @classmethod
    def parse(cls, value: VerticalMode | str) -> VerticalMode:
        """Accept an enum member or its value (``"strict"``, ``"flight-level"``)."""
        if isinstance(value, VerticalMode):
            return value
        for member in cls:
            if value == member.value or str(value).lower().replace("_", "-") == member.value:
                return member
        raise InvalidInputError(
            field="vertical_mode",
            reason=f"must be one of {', '.join(m.value for m in cls)}, not {value!r}",
        )


def compared_altitudes(
    alt_ft: FloatArray, vs_fpm: FloatArray, mode: VerticalMode
) -> tuple[FloatArray, FloatArray]:
    """Altitudes (ft) and vertical rates (ft/min) the detector compares under ``mode``."""
    if mode is VerticalMode.STRICT:
        return alt_ft, vs_fpm
    level = np.abs(vs_fpm) < LEVEL_FLIGHT_VS_FPM
    grid_ft = np.round(alt_ft / LEVEL_GRID_FT) * LEVEL_GRID_FT
    snap = level & (np.abs(alt_ft - grid_ft) <= LEVEL_TOLERANCE_FT)
    return np.where(snap, grid_ft, alt_ft), np.where(level, 0.0, vs_fpm)
