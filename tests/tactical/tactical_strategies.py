"""Hypothesis strategies for random traffic that reaches the hard cases.

Clusters of aircraft within ~40 NM of a centre that may be a pole, on the antimeridian or
anywhere; altitudes on flight levels with offsets of exactly 1000, 975 and 500 ft; zero speeds,
co-located aircraft and identical velocities.
"""

from __future__ import annotations

from hypothesis import strategies as st
from pyproj import Geod
from tactical_reference import State

GEOD = Geod(ellps="WGS84")

CENTRE_LATS = [90.0, -90.0, 89.97, -89.99, 89.5, 0.0, 47.0, -33.0]
CENTRE_LONS = [180.0, -180.0, 179.99, -179.995, 0.0, 8.5]
ALT_OFFSETS_FT = [0, 1000, -1000, 975, -975, 500, -500, 25, 999, 1001]


@st.composite
def states(draw: st.DrawFn, max_n: int = 8, spread_nm: float = 40.0) -> list[State]:
    lat0 = draw(st.one_of(st.sampled_from(CENTRE_LATS), st.floats(-90.0, 90.0)))
    lon0 = draw(st.one_of(st.sampled_from(CENTRE_LONS), st.floats(-180.0, 180.0)))
    base_ft = 100 * draw(st.integers(100, 410))
    n = draw(st.integers(0, max_n))
    out: list[State] = []
    for _ in range(n):
        kind = draw(
            st.sampled_from(["free", "converging", "colocated", "same_velocity", "formation"])
        )
        if kind == "converging" and out:
            # aim at another aircraft's position at a random future time, with a small offset
            ref = draw(st.sampled_from(out))
            meet_s = draw(st.floats(0.0, 400.0))
            lon_m, lat_m, _ = GEOD.fwd(
                ref.lon, ref.lat, ref.track_deg, ref.gs_kt * 0.514444 * meet_s
            )
            offset_nm = draw(st.floats(0.0, 7.0))
            lon_m, lat_m, _ = GEOD.fwd(lon_m, lat_m, draw(st.floats(0.0, 360.0)), offset_nm * 1852)
            gs_new = draw(st.floats(100.0, 600.0))
            track_new = draw(st.floats(0.0, 360.0))
            lon, lat, _ = GEOD.fwd(lon_m, lat_m, track_new, -gs_new * 0.514444 * meet_s)
            lon = (lon + 180.0) % 360.0 - 180.0
            lat = max(-90.0, min(90.0, lat))
        elif kind == "colocated" and out:
            ref = draw(st.sampled_from(out))
            lat, lon = ref.lat, ref.lon
        else:
            az = draw(st.floats(0.0, 360.0))
            dist_nm = draw(st.one_of(st.floats(0.0, spread_nm), st.floats(0.0, 6.0)))
            lon, lat, _ = GEOD.fwd(lon0, lat0, az, dist_nm * 1852.0)
            lon = (lon + 180.0) % 360.0 - 180.0
            lat = max(-90.0, min(90.0, lat))
        alt = base_ft + draw(st.one_of(st.sampled_from(ALT_OFFSETS_FT), st.integers(-3000, 3000)))
        if kind == "converging" and out:
            gs, track = gs_new, track_new
            vs = float(draw(st.integers(-3000, 3000)))
        elif kind in ("same_velocity", "formation") and out:
            ref = draw(st.sampled_from(out))
            gs, track, vs = ref.gs_kt, ref.track_deg, ref.vs_fpm
            if kind == "formation":
                alt = ref.alt_ft + draw(st.sampled_from([0, 500, 1000, -1000, 975]))
        else:
            gs = draw(st.one_of(st.just(0.0), st.floats(0.0, 600.0)))
            track = draw(st.floats(0.0, 360.0))
            vs = draw(
                st.one_of(
                    st.just(0.0),
                    st.integers(-4000, 4000).map(float),
                    st.sampled_from([64.0, -64.0, 128.0, 192.0, -192.0, 256.0]),
                )
            )
        out.append(State(lat, lon, float(alt), gs, track, vs))
    return out
