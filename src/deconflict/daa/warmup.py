"""Load the DAA core's compiled kernels before any live cycle (issue 14: no JIT warm-up on the
first live cycle).

:func:`warm_up` runs the public entry points the live picture uses -- graded alerts
(:func:`~deconflict.daa.alerting.step_alerts`), bands (:func:`~deconflict.daa.bands.compute_bands`)
and coordinated guidance with a preference (:func:`~deconflict.daa.guidance.coordinate`) -- on a
small head-on encounter for every profile, so that numba compiles every kernel of
:mod:`deconflict.daa._jit` (cold: tens of seconds on two cores) or loads it from its on-disk
cache (``cache=True``: well under a second) here instead of inside the first cycle that raises an
alert. Idempotent and thread-safe: the work runs once per process.
"""

from __future__ import annotations

import threading

import numpy as np

from deconflict.daa.alerting import States, alert_pairs, step_alerts
from deconflict.daa.bands import band_intruders, compute_bands
from deconflict.daa.guidance import NoCoordinatedGuidance, coordinate
from deconflict.daa.profiles import PROFILES

_LOCK = threading.Lock()
_DONE = threading.Event()

_NM_DEG = 1.0 / 60.0
"""Degrees of latitude (and of longitude on the equator) per NM."""


def _encounter() -> States:
    """A head-on at 6 NM on the equator (300 kt each, same level), a third aircraft climbing
    2 NM north of the first, and a stationary one far away (the zero-speed branches)."""
    return States.from_arrays(
        lat_deg=[0.0, 0.0, 2.0 * _NM_DEG, 10.0],
        lon_deg=[0.0, 6.0 * _NM_DEG, 1.0 * _NM_DEG, 10.0],
        alt_ft=[10000.0, 10000.0, 9500.0, 1000.0],
        gs_kt=[300.0, 300.0, 250.0, 0.0],
        track_deg=[90.0, 270.0, 120.0, 0.0],
        vs_fpm=[0.0, 0.0, 1500.0, 0.0],
    )


def _south_of_equator(lat_deg: np.ndarray, lon_deg: np.ndarray, alt_ft: np.ndarray) -> np.ndarray:
    """A :data:`~deconflict.daa.guidance.Keep` preference: every sampled position of a
    candidate path (one row per candidate) stays south of 0.01 degrees N."""
    out: np.ndarray = np.all(np.asarray(lat_deg) < 0.01, axis=-1)
    return out


def warm_up() -> None:
    """Compile the DAA kernels or load them from numba's cache, once per process.

    Call at start-up (``deconflict serve`` and the detection process do, next to the tactical
    kernel's :func:`deconflict.tactical.warm_up`); later calls return at once.
    """
    if _DONE.is_set():
        return
    with _LOCK:
        if _DONE.is_set():
            return
        states = _encounter()
        ids = [f"w{i}" for i in range(states.lat_deg.shape[0])]
        for profile in PROFILES.values():
            step = step_alerts(profile, states, ids, 0.0, None)
            step_alerts(profile, states, ids, 1.0, step.memory)
            alert_pairs(profile, states)
            for own in (0, 3):
                compute_bands(profile, states, own, band_intruders(profile, states, own))
            try:
                coordinate(profile, states, 0, 1)
                coordinate(
                    profile, states, 0, 1, keep_a=_south_of_equator, keep_b=_south_of_equator
                )
            except NoCoordinatedGuidance:  # pragma: no cover - the encounter always resolves
                pass
        _DONE.set()
