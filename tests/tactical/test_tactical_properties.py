"""Properties: input order, pair swap, longitude rotation, threshold monotonicity, tiling."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tactical_reference import State
from tactical_strategies import states

from deconflict.tactical import Conflicts, detect, detect_arrays


def frame(traffic: list[State]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"ac{k:03d}" for k in range(len(traffic))],
            "lat": [s.lat for s in traffic],
            "lon": [s.lon for s in traffic],
            "alt_ft": [s.alt_ft for s in traffic],
            "gs_kt": [s.gs_kt for s in traffic],
            "track_deg": [s.track_deg for s in traffic],
            "vs_fpm": [s.vs_fpm for s in traffic],
            "party": [f"p{k % 3}" for k in range(len(traffic))],
        }
    )


def arrays(traffic: list[State]) -> list[np.ndarray]:
    f = frame(traffic)
    return [f[c].to_numpy() for c in ("lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm")]


@settings(max_examples=80, deadline=None)
@given(data=st.data(), traffic=states(max_n=10))
def test_input_order_does_not_matter(data: st.DataObject, traffic: list[State]) -> None:
    table = frame(traffic)
    order = data.draw(st.permutations(range(len(traffic))))
    base = detect(table)
    shuffled = detect(table.iloc[list(order)].reset_index(drop=True))
    pd.testing.assert_frame_equal(base, shuffled, check_exact=True)


@settings(max_examples=60, deadline=None)
@given(traffic=states(max_n=10))
def test_swapping_a_pair_swaps_bearings_only(traffic: list[State]) -> None:
    forward = detect_arrays(*arrays(traffic))
    backward = detect_arrays(*[a[::-1].copy() for a in arrays(traffic)])
    n = len(traffic)
    index = {
        (int(i), int(j)): k for k, (i, j) in enumerate(zip(backward.i, backward.j, strict=True))
    }
    assert len(forward) == len(backward)
    for k, (i, j) in enumerate(zip(forward.i, forward.j, strict=True)):
        m = index[(n - 1 - int(j), n - 1 - int(i))]
        for name in ("t_in_s", "t_out_s", "t_cpa_s", "hmd_nm", "vmd_ft", "range_nm", "vertical_ft"):
            assert getattr(forward, name)[k] == getattr(backward, name)[m], name
        assert forward.bearing_deg[k] == backward.reverse_bearing_deg[m]
        assert forward.reverse_bearing_deg[k] == backward.bearing_deg[m]


@settings(max_examples=60, deadline=None)
@given(traffic=states(max_n=8), shift=st.floats(-180.0, 180.0))
def test_longitude_rotation_keeps_conflicts(traffic: list[State], shift: float) -> None:
    cols = arrays(traffic)
    base = detect_arrays(*cols)
    rotated_cols = list(cols)
    rotated_cols[1] = (cols[1] + shift + 180.0) % 360.0 - 180.0
    rotated = detect_arrays(*rotated_cols)
    # the ellipsoid is symmetric about its axis: only rounding differs
    base_set = set(zip(base.i.tolist(), base.j.tolist(), strict=True))
    rot_set = set(zip(rotated.i.tolist(), rotated.j.tolist(), strict=True))
    for pair in base_set ^ rot_set:
        k = base if pair in base_set else rotated
        idx = list(zip(k.i.tolist(), k.j.tolist(), strict=True)).index(pair)
        # only a numerically touching encounter may flip
        assert k.t_out_s[idx] - k.t_in_s[idx] < 1e-3 or abs(k.hmd_nm[idx] - 5.0) < 1e-6
    common = base_set & rot_set
    for name in ("range_nm", "hmd_nm"):
        a = dict(
            zip(
                zip(base.i.tolist(), base.j.tolist(), strict=True),
                getattr(base, name).tolist(),
                strict=True,
            )
        )
        b = dict(
            zip(
                zip(rotated.i.tolist(), rotated.j.tolist(), strict=True),
                getattr(rotated, name).tolist(),
                strict=True,
            )
        )
        for pair in common:
            assert abs(a[pair] - b[pair]) < 1e-6


@settings(max_examples=60, deadline=None)
@given(traffic=states(max_n=8), grow=st.floats(1.0, 3.0))
def test_larger_thresholds_give_a_superset(traffic: list[State], grow: float) -> None:
    cols = arrays(traffic)
    small = detect_arrays(*cols, horizontal_nm=3.0, vertical_ft=800.0, lookahead_s=200.0)
    large = detect_arrays(
        *cols, horizontal_nm=3.0 * grow, vertical_ft=800.0 * grow, lookahead_s=200.0 * grow
    )
    assert set(zip(small.i.tolist(), small.j.tolist(), strict=True)) <= set(
        zip(large.i.tolist(), large.j.tolist(), strict=True)
    )
    for k in range(len(small)):
        assert small.range_nm[k] < 3.0 + 200.0 * 2 * 600 / 3600


def synthetic(n: int, seed: int) -> list[np.ndarray]:
    """Dense traffic straddling the antimeridian (lon 170 E .. 170 W, lat 40..60 N)."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(40.0, 60.0, n)
    lon = (rng.uniform(170.0, 190.0, n) + 180.0) % 360.0 - 180.0
    alt = 100.0 * rng.integers(100, 411, n) + rng.choice([0.0, 25.0, -25.0, 0.0], n)
    gs = rng.uniform(250.0, 550.0, n)
    track = rng.uniform(0.0, 360.0, n)
    vs = np.where(rng.random(n) < 0.25, rng.uniform(-3000.0, 3000.0, n), 0.0)
    return [lat, lon, alt, gs, track, vs]


def as_table(c: Conflicts, ids: np.ndarray) -> dict[tuple[int, int], tuple[float, ...]]:
    names = ("t_in_s", "t_out_s", "t_cpa_s", "hmd_nm", "vmd_ft", "range_nm", "vertical_ft")
    out = {}
    for k in range(len(c)):
        a, b = int(ids[c.i[k]]), int(ids[c.j[k]])
        vals = tuple(float(getattr(c, name)[k]) for name in names)
        if a < b:
            out[(a, b)] = (*vals, float(c.bearing_deg[k]), float(c.reverse_bearing_deg[k]))
        else:
            out[(b, a)] = (*vals, float(c.reverse_bearing_deg[k]), float(c.bearing_deg[k]))
    return out


def test_two_tiles_with_halo_equal_the_whole() -> None:
    cols = synthetic(6000, seed=7)
    whole = as_table(detect_arrays(*cols), np.arange(6000))
    assert len(whole) > 50
    # split at 180 deg: tile W = lon >= 170 (east longitudes), tile E = lon < -170 ... and a halo
    # wide enough for any pair: 5 NM + 2 * 550 kt * 300 s = 96.7 NM, i.e. < 3.3 deg of
    # longitude at 60 N
    lon = cols[1]
    east_of_line = lon < 0.0  # west longitudes, just east of the date line
    halo_deg = 3.3
    dist_to_line = np.where(east_of_line, lon + 180.0, 180.0 - lon)
    merged: dict[tuple[int, int], tuple[float, ...]] = {}
    for core in (east_of_line, ~east_of_line):
        member = core | (dist_to_line < halo_deg)
        ids = np.flatnonzero(member)
        part = as_table(detect_arrays(*[c[ids] for c in cols]), ids)
        for (a, b), values in part.items():
            if core[a]:  # the tile owning the lower id reports the pair
                merged[(a, b)] = values
    assert merged == whole
    assert any(east_of_line[a] != east_of_line[b] for a, b in whole)
