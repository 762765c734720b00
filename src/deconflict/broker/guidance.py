"""Bands of a party's own live aircraft (``GET /v1/aircraft/{aircraft_id}/bands``).

Need-to-know: a party asks only for its own aircraft (another party's or an unknown id is the
same "not found"); the answer is its own bands against every live aircraft, which reveals no
other aircraft's identity, position or intent beyond what avoiding it requires.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from deconflict.daa import CYLINDER
from deconflict.daa.bands import DIMENSIONS, band_intruders, compute_bands
from deconflict.errors import NotFoundError
from deconflict.live.daa import states_of
from deconflict.live.engine import LiveCore
from deconflict.times import utc_iso

Region = Literal["NONE", "FAR", "MID", "NEAR", "RECOVERY"]


class BandInterval(BaseModel):
    """A run of grid values ``[low, high]`` (inclusive, in the dimension's unit) in one region."""

    model_config = ConfigDict(extra="forbid")
    low: float
    high: float
    region: Region


class DimensionView(BaseModel):
    """Bands of one dimension: intervals, nearest resolution per side (``"+inf"``/``"-inf"``
    when none), preferred side, current value and whether recovery bands were computed."""

    model_config = ConfigDict(extra="forbid")
    intervals: list[BandInterval]
    resolution: dict[str, float | str]
    preferred: str
    current: float
    recovery: bool


class BandsView(BaseModel):
    """Bands of one of the caller's aircraft: track (deg true), ground speed (kt), vertical
    speed (fpm) and altitude (ft) at ``at``, computed with ``profile``: the agreement profile of
    the pairs it can meet (the most protective when several; the engine's when none)."""

    model_config = ConfigDict(extra="forbid")
    aircraft: str
    at: str
    profile: str
    track_deg: DimensionView
    gs_kt: DimensionView
    vs_fpm: DimensionView
    alt_ft: DimensionView


def _side(value: float) -> float | str:
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return round(value, 2)


def own_bands(core: LiveCore, party: str, aircraft: str, now: datetime) -> BandsView:
    """Bands of ``party``'s live aircraft ``aircraft`` at ``now``.

    Raises ``NotFoundError`` when the aircraft is not live or not ``party``'s.
    """
    tracks, _ = core.current_states(now)
    ids = [str(x) for x in tracks.ids]
    try:
        row = ids.index(aircraft)
    except ValueError:
        raise NotFoundError(f"aircraft {aircraft!r} not found") from None
    if str(tracks.party[row]) != party:
        raise NotFoundError(f"aircraft {aircraft!r} not found")
    states = states_of(tracks)
    # the profile of the pairs this aircraft can meet (per agreement, docs/alerting.md); the
    # cylinder's reach (300 s, any altitude) bounds every profile's
    reach = band_intruders(CYLINDER, states, row)
    profile = core.daa.profile_for(party, {str(p) for p in tracks.party[reach]})
    bands = compute_bands(profile, states, row, band_intruders(profile, states, row))
    views = {}
    for name in DIMENSIONS:
        dim = bands.dimension(name)
        views[name] = DimensionView(
            intervals=[BandInterval(low=lo, high=hi, region=r) for lo, hi, r in dim.intervals()],
            resolution={side: _side(v) for side, v in dim.resolution.items()},
            preferred=dim.preferred,
            current=round(float(np.float64(dim.current)), 2),
            recovery=dim.recovery,
        )
    return BandsView(
        aircraft=aircraft,
        at=utc_iso(now),
        profile=profile.name,
        track_deg=views["track_deg"],
        gs_kt=views["gs_kt"],
        vs_fpm=views["vs_fpm"],
        alt_ft=views["alt_ft"],
    )
