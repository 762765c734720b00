"""Alerting profiles: well-clear volumes, alert levels, alerters and hysteresis parameters.

A *profile* is what an agreement selects: ``cylinder`` (today's tactical 5 NM / 1000 ft / 300 s
cylinder, one level), ``airprox`` (0.5 NM / 300 ft, one level) or ``do365b`` (RTCA DO-365B as
configured by NASA DAIDALUS v2.0.4 ``DO_365B_no_SUM.conf``: three alerters with three levels
each). Every value is a frozen dataclass; units are in the field names.

Readings of DO-365B that had to be chosen are listed in ``docs/alerting.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Final

from deconflict.errors import InvalidInputError
from deconflict.tactical.constants import HORIZONTAL_NM, LOOKAHEAD_S, VERTICAL_FT
from deconflict.units import M_PER_FT, M_PER_NM

__all__ = [
    "AIRPROX",
    "ALERTER_NAMES",
    "CYLINDER",
    "DO365B",
    "PROFILES",
    "AlertLevel",
    "Alerter",
    "BandsParameters",
    "Profile",
    "Region",
    "Volume",
    "alerter_index",
    "get_profile",
]


class Region(IntEnum):
    """Band regions, ordered by severity (``RECOVERY`` ranks below ``NONE`` for sorting only).

    ``NONE``: no alert of any level within the look-ahead when flown; ``FAR``/``MID``/``NEAR``:
    flying it violates the volume of the level mapped to that region; ``RECOVERY``: no
    conflict-free value exists and this value recovers well clear the soonest (see ``bands``).
    """

    RECOVERY = -1
    NONE = 0
    FAR = 1
    MID = 2
    NEAR = 3


class ProfileName(StrEnum):
    """Names accepted by :func:`get_profile`."""

    cylinder = "cylinder"
    airprox = "airprox"
    do365b = "do365b"


@dataclass(frozen=True)
class Volume:
    """A well-clear volume (DAIDALUS ``WCV_TAUMOD`` with the ``WCV_TCOA`` vertical criterion).

    Horizontally violated at a state (relative position ``s``, velocity ``v``) when
    ``|s| <= dthr`` or (``dcpa <= dthr`` and ``0 <= taumod <= tthr``) with
    ``taumod = (dthr^2 - |s|^2) / (s . v)`` while closing (``s . v < 0``); vertically when
    ``|sz| <= zthr`` or (``0 <= tcoa <= tcoa_s``) with ``tcoa = -sz / vz`` while converging.
    Both at the same time is a violation. With ``tthr_s = tcoa_s = 0`` this is a plain cylinder.

    Attributes
    ----------
    dthr_m:
        Horizontal distance threshold DTHR (DMOD), metres.
    zthr_ft:
        Vertical threshold ZTHR, feet.
    tthr_s:
        Modified-tau threshold TTHR, seconds.
    tcoa_s:
        Time-to-co-altitude threshold TCOA, seconds.
    strict:
        ``True``: boundaries are *outside* (``|s| < dthr``, ``|sz| < zthr``, the tactical
        detector's convention: exactly 1000 ft apart is separated); ``False``: inside (DAIDALUS).
    """

    dthr_m: float
    zthr_ft: float
    tthr_s: float = 0.0
    tcoa_s: float = 0.0
    strict: bool = False

    def __post_init__(self) -> None:
        for name in ("dthr_m", "zthr_ft"):
            value = getattr(self, name)
            if not value > 0.0:
                raise InvalidInputError(field=name, reason=f"must be > 0, got {value!r}")
        for name in ("tthr_s", "tcoa_s"):
            value = getattr(self, name)
            if not value >= 0.0:
                raise InvalidInputError(field=name, reason=f"must be >= 0, got {value!r}")


@dataclass(frozen=True)
class AlertLevel:
    """One alert level of an alerter.

    Attributes
    ----------
    level:
        1 (preventive), 2 (corrective) or 3 (warning) for DO-365B; 1 for one-level profiles.
    volume:
        The volume whose violation this level predicts.
    alerting_time_s:
        A violation starting within this time (s) raises the level.
    early_alerting_time_s:
        The alerting time (s) used while this level is the pair's current (hysteresis) level.
    region:
        Band region painted for values that violate this level's volume.
    """

    level: int
    volume: Volume
    alerting_time_s: float
    early_alerting_time_s: float
    region: Region


@dataclass(frozen=True)
class Alerter:
    """An alerter: its levels, least severe first (``levels[k].level == k + 1``)."""

    name: str
    levels: tuple[AlertLevel, ...]

    @property
    def corrective(self) -> AlertLevel:
        """The level whose DTHR defines ``taumod_s`` in outputs (level 2, else the last)."""
        return self.levels[min(1, len(self.levels) - 1)]


@dataclass(frozen=True)
class BandsParameters:
    """Guidance (bands) parameters; defaults are DAIDALUS ``DO_365B_no_SUM.conf``.

    Ranges: track 0-360 deg (``step_track_deg``), ground speed ``min_gs_kt``-``max_gs_kt``,
    vertical speed ``+-max_vs_fpm``, altitude ``min_alt_ft``-``max_alt_ft``. Kinematics:
    ``turn_rate_dps`` (deg/s), ``horizontal_accel_mps2`` (m/s^2), ``vertical_accel_g`` (g),
    ``vertical_rate_fpm`` (climb/descent rate for altitude changes). Recovery volumes shrink
    towards the NMAC cylinder ``nmac_horizontal_ft`` x ``nmac_vertical_ft`` in steps of
    ``recovery_factor``. ``kinematic=False`` gives instantaneous bands.
    """

    kinematic: bool = True
    step_track_deg: float = 1.0
    min_gs_kt: float = 10.0
    max_gs_kt: float = 700.0
    step_gs_kt: float = 5.0
    max_vs_fpm: float = 6000.0
    step_vs_fpm: float = 100.0
    min_alt_ft: float = 100.0
    max_alt_ft: float = 50000.0
    step_alt_ft: float = 100.0
    turn_rate_dps: float = 3.0
    horizontal_accel_mps2: float = 2.0
    vertical_accel_g: float = 0.25
    vertical_rate_fpm: float = 500.0
    time_step_s: float = 1.0
    nmac_horizontal_ft: float = 500.0
    nmac_vertical_ft: float = 100.0
    recovery_factor: float = 0.1


@dataclass(frozen=True)
class Profile:
    """An alerting profile.

    Attributes
    ----------
    name:
        ``cylinder``, ``airprox`` or ``do365b``.
    alerters:
        Alerters by index 1.. (``alerters[0]`` is alerter 1). The *intruder's* alerter applies.
    lookahead_s:
        Prediction horizon, seconds.
    hysteresis_s, persistence_s, m, n:
        Hysteresis: state resets after a gap longer than ``hysteresis_s`` (or time going back);
        a level needs ``m`` of the last ``n`` samples; a raised level is held ``persistence_s``.
    bands:
        Bands parameters (instantaneous or kinematic).
    """

    name: str
    alerters: tuple[Alerter, ...]
    lookahead_s: float
    hysteresis_s: float
    persistence_s: float
    m: int
    n: int
    bands: BandsParameters

    @property
    def max_level(self) -> int:
        """The most severe level of any alerter."""
        return max(len(a.levels) for a in self.alerters)


HYSTERESIS_S: Final = 5.0
"""DAIDALUS DO_365B_no_SUM ``hysteresis_time``, seconds."""
PERSISTENCE_S: Final = 4.0
"""DAIDALUS DO_365B_no_SUM ``persistence_time``, seconds."""
ALERTING_M: Final = 2
"""DAIDALUS DO_365B_no_SUM ``alerting_m`` (M of N)."""
ALERTING_N: Final = 4
"""DAIDALUS DO_365B_no_SUM ``alerting_n`` (M of N)."""
DO365B_LOOKAHEAD_S: Final = 180.0
"""DAIDALUS DO_365B_no_SUM ``lookahead_time``, seconds."""

AIRPROX_HORIZONTAL_NM: Final = 0.5
"""Air proximity horizontal threshold, NM (EASA Baltic study; DOMAIN section 3)."""
AIRPROX_VERTICAL_FT: Final = 300.0
"""Air proximity vertical threshold, ft (EASA Baltic study; DOMAIN section 3)."""


def _one_level(name: str, horizontal_nm: float, vertical_ft: float) -> Profile:
    volume = Volume(dthr_m=horizontal_nm * M_PER_NM, zthr_ft=vertical_ft, strict=True)
    level = AlertLevel(1, volume, LOOKAHEAD_S, LOOKAHEAD_S, Region.NEAR)
    return Profile(
        name=name,
        alerters=(Alerter(name, (level,)),),
        lookahead_s=LOOKAHEAD_S,
        hysteresis_s=HYSTERESIS_S,
        persistence_s=PERSISTENCE_S,
        m=ALERTING_M,
        n=ALERTING_N,
        bands=BandsParameters(kinematic=False),
    )


CYLINDER: Final = _one_level("cylinder", HORIZONTAL_NM, VERTICAL_FT)
"""5 NM / 1000 ft cylinder, 300 s, one level (region NEAR), instantaneous bands."""

AIRPROX: Final = _one_level("airprox", AIRPROX_HORIZONTAL_NM, AIRPROX_VERTICAL_FT)
"""0.5 NM / 300 ft cylinder, 300 s, one level (region NEAR), instantaneous bands."""


def _do365b_alerter(
    name: str, dthr_m: float, tthr_s: float, times: tuple[tuple[float, float], ...]
) -> Alerter:
    zthr = (700.0, 450.0, 450.0) if name == "DWC_Phase_I" else (450.0, 450.0, 450.0)
    regions = (Region.FAR, Region.MID, Region.NEAR)
    levels = tuple(
        AlertLevel(
            level=k + 1,
            volume=Volume(dthr_m=dthr_m, zthr_ft=zthr[k], tthr_s=tthr_s, tcoa_s=0.0),
            alerting_time_s=times[k][0],
            early_alerting_time_s=times[k][1],
            region=regions[k],
        )
        for k in range(3)
    )
    return Alerter(name, levels)


DO365B: Final = Profile(
    name="do365b",
    alerters=(
        _do365b_alerter("DWC_Phase_I", 0.66 * M_PER_NM, 35.0, ((55, 75), (55, 75), (25, 55))),
        _do365b_alerter("DWC_Phase_II", 1500.0 * M_PER_FT, 0.0, ((45, 75), (45, 75), (45, 75))),
        _do365b_alerter("DWC_Non_Coop", 2200.0 * M_PER_FT, 0.0, ((55, 110), (55, 110), (25, 90))),
    ),
    lookahead_s=DO365B_LOOKAHEAD_S,
    hysteresis_s=HYSTERESIS_S,
    persistence_s=PERSISTENCE_S,
    m=ALERTING_M,
    n=ALERTING_N,
    bands=BandsParameters(kinematic=True),
)
"""RTCA DO-365B (DAIDALUS v2.0.4 ``DO_365B_no_SUM.conf``): alerters 1 DWC Phase I, 2 DWC Phase II,
3 DWC Non-Coop; levels 1 preventive (region FAR), 2 corrective (MID), 3 warning (NEAR)."""

PROFILES: Final[Mapping[str, Profile]] = MappingProxyType(
    {"cylinder": CYLINDER, "airprox": AIRPROX, "do365b": DO365B}
)
"""Profiles by name."""

ALERTER_NAMES: Final = ("DWC_Phase_I", "DWC_Phase_II", "DWC_Non_Coop")
"""DO-365B alerter names; index + 1 is the alerter number."""


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``cylinder``, ``airprox``, ``do365b``)."""
    try:
        return PROFILES[name]
    except KeyError:
        raise InvalidInputError(
            field="profile", reason=f"unknown profile {name!r}; use {', '.join(PROFILES)}"
        ) from None


def alerter_index(value: object, profile: Profile) -> int:
    """1-based alerter number for a cell of the optional ``alerter`` column.

    Accepts an alerter name (``DWC_Phase_I``...), a number 1..k, or empty/None (alerter 1).
    One-level profiles have a single alerter: every value maps to 1.
    """
    if len(profile.alerters) == 1:
        return 1
    if value is None:
        return 1
    if isinstance(value, float) and value != value:  # NaN
        return 1
    text = str(value).strip()
    if text == "":
        return 1
    names = [a.name.lower() for a in profile.alerters]
    if text.lower() in names:
        return names.index(text.lower()) + 1
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if number.is_integer() and 1 <= int(number) <= len(profile.alerters):
        return int(number)
    choices = ", ".join(a.name for a in profile.alerters)
    raise InvalidInputError(
        field="alerter", reason=f"unknown alerter {text!r}; use {choices} or 1..{len(names)}"
    )
