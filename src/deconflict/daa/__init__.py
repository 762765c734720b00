"""Detect-and-avoid alerting and guidance (RTCA DO-365B as implemented by NASA DAIDALUS v2).

A pure core: numpy arrays and frozen dataclasses in and out, no I/O, no clock.

* :mod:`~deconflict.daa.profiles`: ``cylinder``, ``airprox`` and ``do365b`` profiles.
* :mod:`~deconflict.daa.wcv`: vectorised well-clear volumes (``WCV_TAUMOD`` / ``WCV_TCOA``).
* :mod:`~deconflict.daa.alerting`: levels for all ordered pairs of a snapshot, hysteresis.
* :mod:`~deconflict.daa.bands`: track / ground-speed / vertical-speed / altitude bands.
* :mod:`~deconflict.daa.guidance`: coordinated guidance for both aircraft of an alert.
"""

from __future__ import annotations

from deconflict.daa.alerting import (
    AlertMemory,
    AlertStep,
    PairAlerts,
    States,
    alert_pairs,
    evaluate_pairs,
    step_alerts,
)
from deconflict.daa.profiles import (
    AIRPROX,
    CYLINDER,
    DO365B,
    PROFILES,
    Alerter,
    AlertLevel,
    BandsParameters,
    Profile,
    Region,
    Volume,
    alerter_index,
    get_profile,
)

__all__ = [
    "AIRPROX",
    "CYLINDER",
    "DO365B",
    "PROFILES",
    "AlertLevel",
    "AlertMemory",
    "AlertStep",
    "Alerter",
    "BandsParameters",
    "PairAlerts",
    "Profile",
    "Region",
    "States",
    "Volume",
    "alert_pairs",
    "alerter_index",
    "evaluate_pairs",
    "get_profile",
    "step_alerts",
]
