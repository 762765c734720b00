"""Altitude bands and the explicit conversions between vertical references.

Every band carries *(lower, upper, reference)*; values are stored in the reference's own unit:
feet for ``ft_amsl`` and ``fl`` (flight level *numbers*, FL65 -> 65), metres for ``m_w84``.

Comparison rule (DOMAIN.md section 4):

* same reference: compared directly and exactly (``approximate = False``);
* different references: both bands are converted to feet AMSL and **widened** by the stated
  uncertainty of each conversion, and the result is marked ``approximate``:

  - ``fl`` -> ft AMSL: pressure altitude equals altitude AMSL in the ICAO standard atmosphere
    (QNH 1013.25 hPa, ISA temperature). Real QNH moves it ~30 ft/hPa and temperature ~4 % per
    10 degC, so the band is widened by :data:`FL_AMSL_UNCERTAINTY_FT` on each side.
  - ``m_w84`` -> ft AMSL: needs the geoid undulation N (EGM2008 ranges -106 m .. +85 m). With
    no geoid model in the engine the band is widened by :data:`W84_AMSL_UNCERTAINTY_FT` on
    each side unless the band carries an explicit ``geoid_undulation_m`` (then exact:
    AMSL = h_W84 - N).

Pure module: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from deconflict.errors import InvalidInputError
from deconflict.units import M_PER_FT, fl_to_ft

FL_AMSL_UNCERTAINTY_FT: Final = 1500.0
"""Widening (ft, each side) when comparing flight levels with AMSL altitudes.

Covers QNH 983-1043 hPa (+-30 hPa x 30 ft/hPa = 900 ft) plus a 15 % cold/hot-air error at
4,000 ft-class heights; beyond that the operator must state a common reference."""

W84_AMSL_UNCERTAINTY_FT: Final = 361.0
"""Widening (ft, each side) for WGS84-ellipsoid vs AMSL without a geoid: 110 m, which bounds
the EGM2008 undulation (-106 m .. +85 m) worldwide."""


class AltitudeReference(StrEnum):
    """Vertical reference of an altitude band (the value's unit follows from it)."""

    FT_AMSL = "ft_amsl"
    """Feet above mean sea level (QNH altitude)."""
    FL = "fl"
    """Flight level number (hundreds of feet of pressure altitude, 1013.25 hPa)."""
    M_W84 = "m_w84"
    """Metres above the WGS84 ellipsoid (GNSS height, F3548 ``W84``)."""


@dataclass(frozen=True)
class AltitudeBand:
    """A closed vertical interval ``[lower, upper]`` in ``reference`` (its own unit).

    Parameters
    ----------
    lower, upper:
        Bounds in the reference's unit (ft for ``ft_amsl``, FL number for ``fl``, m for
        ``m_w84``); ``lower <= upper``.
    reference:
        The vertical reference.
    geoid_undulation_m:
        Optional geoid height N (m) at the volume, making ``m_w84`` -> AMSL exact.
    """

    lower: float
    upper: float
    reference: AltitudeReference = AltitudeReference.FT_AMSL
    geoid_undulation_m: float | None = None

    def __post_init__(self) -> None:
        if not (self.lower == self.lower and self.upper == self.upper):
            raise InvalidInputError(field="altitude", reason="bounds must be numbers, not NaN")
        if self.lower > self.upper:
            raise InvalidInputError(
                field="altitude.lower",
                reason=f"lower ({self.lower}) is above upper ({self.upper})",
            )

    def native_ft(self) -> tuple[float, float]:
        """Bounds in feet *of this reference* (no change of reference): (lower_ft, upper_ft)."""
        if self.reference is AltitudeReference.FL:
            return (self._fl_ft(self.lower), self._fl_ft(self.upper))
        if self.reference is AltitudeReference.M_W84:
            return (self.lower / M_PER_FT, self.upper / M_PER_FT)
        return (float(self.lower), float(self.upper))

    @staticmethod
    def _fl_ft(level: float) -> float:
        return float(fl_to_ft(int(level))) if float(level).is_integer() else level * 100.0

    def amsl_ft(self) -> tuple[float, float, bool]:
        """Bounds converted to ft AMSL, widened by the conversion uncertainty.

        Returns
        -------
        (lower_ft, upper_ft, approximate)
        """
        lo, hi = self.native_ft()
        if self.reference is AltitudeReference.FL:
            return (lo - FL_AMSL_UNCERTAINTY_FT, hi + FL_AMSL_UNCERTAINTY_FT, True)
        if self.reference is AltitudeReference.M_W84:
            if self.geoid_undulation_m is not None:
                n_ft = self.geoid_undulation_m / M_PER_FT
                return (lo - n_ft, hi - n_ft, False)
            return (lo - W84_AMSL_UNCERTAINTY_FT, hi + W84_AMSL_UNCERTAINTY_FT, True)
        return (lo, hi, False)

    def comparable_ft(self, other: AltitudeBand) -> tuple[float, float, float, float, bool]:
        """Both bands in one frame: same reference -> native ft, else widened ft AMSL.

        Returns
        -------
        (self_lower_ft, self_upper_ft, other_lower_ft, other_upper_ft, approximate)
        """
        if self.reference is other.reference and (
            self.reference is not AltitudeReference.M_W84
            or self.geoid_undulation_m == other.geoid_undulation_m
        ):
            a_lo, a_hi = self.native_ft()
            b_lo, b_hi = other.native_ft()
            return (a_lo, a_hi, b_lo, b_hi, False)
        a_lo, a_hi, a_apx = self.amsl_ft()
        b_lo, b_hi, b_apx = other.amsl_ft()
        return (a_lo, a_hi, b_lo, b_hi, a_apx or b_apx)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready mapping ``{"lower", "upper", "reference"[, "geoid_undulation_m"]}``."""
        out: dict[str, Any] = {
            "lower": self.lower,
            "upper": self.upper,
            "reference": self.reference.value,
        }
        if self.geoid_undulation_m is not None:
            out["geoid_undulation_m"] = self.geoid_undulation_m
        return out
