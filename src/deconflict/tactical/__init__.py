"""Tactical conflict detection: predicted losses of separation between live aircraft.

Public surface: ``detect`` (DataFrame in, DataFrame out, validated), ``detect_arrays`` (the
compiled numba kernel on column arrays, returning ``Conflicts``; ``warm_up`` loads it at
start-up), ``detect_arrays_numpy`` (the numpy implementation, kept as the test oracle),
``validate_states``, ``VerticalMode``, ``CONFLICT_COLUMNS`` and the default thresholds (ICAO
en-route radar separation: 5 NM and 1000 ft; 300 s look-ahead).
"""

from __future__ import annotations

from deconflict.tactical._vertical import VerticalMode
from deconflict.tactical.constants import (
    HORIZONTAL_NM,
    LEVEL_FLIGHT_VS_FPM,
    LEVEL_GRID_FT,
    LEVEL_TOLERANCE_FT,
    LOOKAHEAD_S,
    VERTICAL_FT,
)
from deconflict.tactical.frame import CONFLICT_COLUMNS, STATE_COLUMNS, detect, validate_states
from deconflict.tactical.kernel import Conflicts, detect_arrays, detect_arrays_numpy, warm_up

__all__ = [
    "CONFLICT_COLUMNS",
    "HORIZONTAL_NM",
    "LEVEL_FLIGHT_VS_FPM",
    "LEVEL_GRID_FT",
    "LEVEL_TOLERANCE_FT",
    "LOOKAHEAD_S",
    "STATE_COLUMNS",
    "VERTICAL_FT",
    "Conflicts",
    "VerticalMode",
    "detect",
    "detect_arrays",
    "detect_arrays_numpy",
    "validate_states",
    "warm_up",
]
