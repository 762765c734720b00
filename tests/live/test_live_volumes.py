"""Live containment uses the one volume parser (Volume4D.from_json): its prefilter bounds are
sound (every point the exact test finds inside passes the conformance prefilter) and its verdicts
agree with the independent AEQD reference (tests/volume_reference.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.live.volumes import StrategicVolume, containment_from_json
from volume_reference import JsonVolume

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def _times() -> dict[str, str]:
    return {
        "start": T0.isoformat().replace("+00:00", "Z"),
        "end": (T0 + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
    }


def footprint(kind: str, lon: float, lat: float, size_nm: float) -> dict[str, Any]:
    d = size_nm / 60.0
    if kind == "circle":
        return {"type": "circle", "center": [lon, lat], "radius_nm": size_nm}
    if kind == "corridor":
        return {
            "type": "corridor",
            "centerline": [[lon - d, lat - d / 2], [lon, lat + d / 3], [lon + d, lat]],
            "half_width_nm": size_nm / 4,
        }
    ring = [[lon - d, lat - d], [lon + d, lat - d / 2], [lon + d / 2, lat + d], [lon - d, lat - d]]
    return {"type": "polygon", "coordinates": [ring]}


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["circle", "corridor", "polygon"]),
    lon=st.floats(-170, 170),
    lat=st.floats(-70, 70),
    size_nm=st.floats(1, 80),
    lateral_nm=st.floats(0, 5),
    seed=st.integers(0, 2**31 - 1),
)
def test_prefilter_is_sound_and_verdicts_agree_with_the_reference(
    kind: str, lon: float, lat: float, size_nm: float, lateral_nm: float, seed: int
) -> None:
    obj = {
        "footprint": footprint(kind, lon, lat, size_nm),
        "altitude": {"lower": 100, "upper": 250, "reference": "fl"},
        "buffers": {"lateral_nm": lateral_nm, "vertical_ft": 500},
        **_times(),
    }
    volume = containment_from_json(obj)
    assert isinstance(volume, StrategicVolume)
    reference = JsonVolume(obj)
    assert (volume.alt_lower_ft, volume.alt_upper_ft) == (9500.0, 25500.0)
    assert (volume.alt_lower_ft, volume.alt_upper_ft) == (
        reference.alt_lower_ft,
        reference.alt_upper_ft,
    )
    rng = np.random.default_rng(seed)
    span = (size_nm + lateral_nm) / 60.0 * 1.6
    n = 300
    lats = np.clip(lat + rng.uniform(-span, span, n), -89.0, 89.0)
    lons = lon + rng.uniform(-span, span, n) / np.cos(np.radians(lat))
    alts = rng.uniform(9000, 26000, n)
    when = T0 + timedelta(minutes=30)
    inside = volume.contains(lats, lons, alts, when)
    # soundness of the bounds the conformance prefilter uses (zero speed: no reach)
    lon0, lat0 = volume.center_lonlat
    dlat_nm = (lats - lat0) * 60.0
    dlon_nm = ((lons - lon0 + 180.0) % 360.0 - 180.0) * 60.0 * np.cos(np.radians((lats + lat0) / 2))
    near = np.hypot(dlat_nm, dlon_nm) <= 1.02 * volume.radius_nm + 1.0
    assert not (inside & ~near).any()
    # geodesic edges vs straight AEQD edges differ only in a thin sliver near the boundary
    agree = np.mean(inside == reference.contains(lats, lons, alts, when))
    assert agree >= 0.97


def test_a_bad_volume_names_the_field_once_parsed() -> None:
    obj = {
        "footprint": {"type": "blob"},
        "altitude": {"lower": 0, "upper": 1000, "reference": "ft_amsl"},
        **_times(),
    }
    try:
        containment_from_json(obj, where="notices[0].volumes[0]")
    except ValueError as exc:
        assert "notices[0].volumes[0].footprint.type" in str(exc)
    else:
        raise AssertionError("a bad footprint type was accepted")
