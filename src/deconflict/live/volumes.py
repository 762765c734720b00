"""Containment of track positions in 4D activity volumes, behind a small Protocol.

Live conformance needs one question answered fast for arrays of positions: "is each point inside
this volume at time ``t``?" :class:`Containment` is that question. Conformance answers it with
the strategic model's exact ``Volume4D.contains_many`` (:class:`StrategicVolume`, what
:func:`containment_from_json` returns); the volume JSON is parsed once, by
:meth:`deconflict.strategic.Volume4D.from_json` (the one volume parser).

Altitude references: ``ft_amsl`` and ``fl`` are compared with the track's pressure altitude in
feet (no QNH correction: the live feed reports pressure altitude and the difference is a known,
documented approximation below the transition altitude); ``m_w84`` is converted to feet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from deconflict.geo.ellipsoid import MEAN_RADIUS_M, unit_to_lonlat
from deconflict.live.tracks import BoolArray
from deconflict.strategic import Volume4D
from deconflict.units import M_PER_NM, FloatArray


class Containment(Protocol):
    """Anything that can say whether positions are inside it at a time."""

    @property
    def active_from(self) -> datetime:
        """Start of activity including the time buffer (UTC)."""
        ...

    @property
    def active_until(self) -> datetime:
        """End of activity including the time buffer (UTC)."""
        ...

    @property
    def alt_lower_ft(self) -> float:
        """Lower limit including the vertical buffer, feet."""
        ...

    @property
    def alt_upper_ft(self) -> float:
        """Upper limit including the vertical buffer, feet."""
        ...

    @property
    def center_lonlat(self) -> tuple[float, float]:
        """A centre point (lon, lat), degrees."""
        ...

    @property
    def radius_nm(self) -> float:
        """Radius around :attr:`center_lonlat` enclosing the whole footprint, NM."""
        ...

    def contains(
        self, lat_deg: FloatArray, lon_deg: FloatArray, alt_ft: FloatArray, t: datetime
    ) -> BoolArray:
        """Element-wise containment of positions at time ``t``."""
        ...


class StrategicVolume:
    """The strategic model's exact containment (:meth:`Volume4D.contains_many`: geodesic edges,
    exact near the boundary) behind the :class:`Containment` Protocol.

    The volume JSON is parsed by the one volume parser, :meth:`Volume4D.from_json`. The track's
    pressure altitude is compared with the band in the volume's own reference (see the module
    docstring). ``extra_*`` tolerances are added to the volume's buffers. The prefilter bounds
    (centre, radius, band) come from the volume's geometric core: a spherical cap around the
    core's centre holding every vertex, widened by the buffered footprint width.
    """

    def __init__(
        self,
        obj: Mapping[str, Any],
        *,
        extra_lateral_nm: float = 0.0,
        extra_vertical_ft: float = 0.0,
        where: str = "volume",
    ) -> None:

        widened = dict(obj)
        buffers = dict(obj.get("buffers") or {})
        buffers["lateral_nm"] = float(buffers.get("lateral_nm", 0.0)) + extra_lateral_nm
        buffers["vertical_ft"] = float(buffers.get("vertical_ft", 0.0)) + extra_vertical_ft
        widened["buffers"] = buffers
        self._volume = volume = Volume4D.from_json(widened, where=where)
        core = volume.core
        lon, lat = unit_to_lonlat(core.centre)
        self._center = (float(lon[0]), float(lat[0]))
        # great-circle cap radius (sphere) + 0.5 % for the ellipsoid, plus the buffered width
        cap_m = core.radius_rad * MEAN_RADIUS_M * 1.005
        self._radius_nm = (cap_m + volume.buffered_width_m) / M_PER_NM
        lo, hi = volume.altitude.native_ft()
        self._lower_ft = lo - volume.buffers.vertical_ft
        self._upper_ft = hi + volume.buffers.vertical_ft

    @property
    def active_from(self) -> datetime:
        """Start of activity including the time buffer (UTC)."""
        return self._volume.buffered_start

    @property
    def active_until(self) -> datetime:
        """End of activity including the time buffer (UTC)."""
        return self._volume.buffered_end

    @property
    def alt_lower_ft(self) -> float:
        """Lower limit including buffers, feet."""
        return self._lower_ft

    @property
    def alt_upper_ft(self) -> float:
        """Upper limit including buffers, feet."""
        return self._upper_ft

    @property
    def center_lonlat(self) -> tuple[float, float]:
        """Centre of the footprint's core (lon, lat), degrees."""
        return self._center

    @property
    def radius_nm(self) -> float:
        """Radius around the centre enclosing the footprint and its buffer, NM."""
        return self._radius_nm

    def contains(
        self, lat_deg: FloatArray, lon_deg: FloatArray, alt_ft: FloatArray, t: datetime
    ) -> BoolArray:
        """Element-wise containment at ``t`` (buffers included)."""
        lat = np.asarray(lat_deg, dtype=np.float64)
        if lat.size == 0:
            return np.zeros(lat.shape, dtype=bool)
        stamp = np.datetime64(round(t.timestamp() * 1e6), "us")
        times = np.full(lat.shape, stamp, dtype="datetime64[us]")
        return np.asarray(
            self._volume.contains_many(
                lat,
                np.asarray(lon_deg, dtype=np.float64),
                np.asarray(alt_ft, dtype=np.float64),
                times,
                alt_reference=self._volume.altitude.reference,
                with_buffers=True,
            ),
            dtype=bool,
        )


def containment_from_json(
    obj: Mapping[str, Any],
    *,
    extra_lateral_nm: float = 0.0,
    extra_vertical_ft: float = 0.0,
    where: str = "volume",
) -> Containment:
    """The containment used by live conformance: the strategic model's exact test
    (:class:`StrategicVolume`); the tests cross-check it against an independent AEQD reference
    (``tests/volume_reference.py``)."""
    return StrategicVolume(
        obj, extra_lateral_nm=extra_lateral_nm, extra_vertical_ft=extra_vertical_ft, where=where
    )
