"""The fast detector agrees with the brute-force reference on random worldwide traffic.

Tolerances (documented in docs/tactical.md):

- Pair sets: every pair the reference finds with a 0.5 % smaller radius and a 2 s shorter
  look-ahead must be found, and every pair found must be found by the reference with a 0.5 %
  larger radius and a 2 s longer look-ahead. The vertical threshold is *not* relaxed: both compute
  it exactly, so pairs exactly 1000 ft apart must agree.
- Values: range within 0.1 % of the WGS84 geodesic (+1e-6 NM); vertical values within 1e-6 ft;
  hmd within 0.002 NM + 5e-4 of the distance scale of the encounter; times within 1 s + 100 m
  divided by the relevant closing rate (a grazing encounter has an ill-conditioned boundary time);
  bearing within 0.05 deg + the angle subtended by 20 m.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tactical_reference import RefConflict, State, reference_detect
from tactical_strategies import states

from deconflict.tactical import Conflicts, detect_arrays

RADIUS_SLACK = 0.005
TIME_SLACK_S = 2.0


def run_fast(traffic: list[State], mode: str, **kw: float) -> Conflicts:
    cols = list(
        zip(
            *[(s.lat, s.lon, s.alt_ft, s.gs_kt, s.track_deg, s.vs_fpm) for s in traffic],
            strict=True,
        )
    )
    if not cols:
        cols = [[] for _ in range(6)]
    return detect_arrays(*cols, vertical_mode=mode, **kw)


def angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def check_values(fast: Conflicts, k: int, ref: RefConflict, lookahead_s: float) -> None:
    scale_nm = ref.range_nm + ref.rel_speed_mps * lookahead_s / 1852.0
    assert math.isclose(fast.range_nm[k], ref.range_nm, rel_tol=1e-3, abs_tol=1e-6)
    assert abs(fast.vertical_ft[k] - ref.vertical_ft) <= 1e-6
    assert abs(fast.vmd_ft[k] - ref.vmd_ft) <= 1e-6
    assert abs(fast.hmd_nm[k] - ref.hmd_nm) <= 0.002 + 5e-4 * scale_nm
    cpa_tol = 1.0 + 100.0 / max(ref.rel_speed_mps, 1e-9)
    assert abs(fast.t_cpa_s[k] - ref.t_cpa_s) <= cpa_tol
    in_tol = 1.0 + 100.0 / max(abs(ref.radial_rate_in_mps), 1e-9)
    out_tol = 1.0 + 100.0 / max(abs(ref.radial_rate_out_mps), 1e-9)
    assert abs(fast.t_in_s[k] - ref.t_in_s) <= in_tol
    assert abs(fast.t_out_s[k] - ref.t_out_s) <= out_tol
    if ref.range_nm > 0.01:
        bearing_tol = 0.05 + math.degrees(math.atan2(20.0, ref.range_nm * 1852.0))
        assert angle_diff(fast.bearing_deg[k], ref.bearing_deg) <= bearing_tol
    for arr in (fast.t_in_s, fast.t_out_s, fast.t_cpa_s, fast.hmd_nm, fast.bearing_deg):
        assert np.isfinite(arr[k])
    assert 0.0 <= fast.t_in_s[k] < fast.t_out_s[k] <= lookahead_s


def compare(traffic: list[State], mode: str, h_nm: float, v_ft: float, t_s: float) -> None:
    fast = run_fast(traffic, mode, horizontal_nm=h_nm, vertical_ft=v_ft, lookahead_s=t_s)
    fl = mode == "flight-level"
    nominal = reference_detect(
        traffic, horizontal_nm=h_nm, vertical_ft=v_ft, lookahead_s=t_s, flight_level=fl
    )
    tight = reference_detect(
        traffic,
        horizontal_nm=h_nm * (1 - RADIUS_SLACK),
        vertical_ft=v_ft,
        lookahead_s=t_s - TIME_SLACK_S,
        flight_level=fl,
    )
    loose = reference_detect(
        traffic,
        horizontal_nm=h_nm * (1 + RADIUS_SLACK),
        vertical_ft=v_ft,
        lookahead_s=t_s + TIME_SLACK_S,
        flight_level=fl,
    )
    found = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(fast.i, fast.j, strict=True))}
    assert len(found) == len(fast), "a pair reported twice"
    assert all(a < b for a, b in found)
    missing = set(tight) - set(found)
    assert not missing, f"missed pairs {missing}"
    extra = set(found) - set(loose)
    assert not extra, f"spurious pairs {extra}"
    for pair, k in found.items():
        if pair in nominal:
            check_values(fast, k, nominal[pair], t_s)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traffic=states())
def test_strict_mode_matches_reference(traffic: list[State]) -> None:
    compare(traffic, "strict", 5.0, 1000.0, 300.0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traffic=states())
def test_flight_level_mode_matches_reference(traffic: list[State]) -> None:
    compare(traffic, "flight-level", 5.0, 1000.0, 300.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    traffic=states(max_n=6),
    h_nm=st.sampled_from([0.5, 3.0, 10.0]),
    v_ft=st.sampled_from([300.0, 500.0, 2000.0]),
    t_s=st.sampled_from([60.0, 120.0, 600.0]),
)
def test_other_thresholds_match_reference(
    traffic: list[State], h_nm: float, v_ft: float, t_s: float
) -> None:
    compare(traffic, "strict", h_nm, v_ft, t_s)


def dense_cluster(n: int, seed: int, lat0: float, lon0: float) -> list[State]:
    """``n`` aircraft within ~25 NM of a centre, on and between flight levels."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        lat = float(np.clip(lat0 + rng.uniform(-0.4, 0.4), -90.0, 90.0))
        lon = float((lon0 + rng.uniform(-0.6, 0.6) + 180.0) % 360.0 - 180.0)
        alt = float(100 * rng.integers(300, 306) + rng.choice([0, 0, 25, -25]))
        vs = float(rng.choice([0.0, 0.0, 0.0, 1500.0, -2000.0, 64.0]))
        out.append(State(lat, lon, alt, float(rng.uniform(0, 520)), float(rng.uniform(0, 360)), vs))
    return out


def test_dense_clusters_match_reference() -> None:
    total = 0
    for seed, (lat0, lon0) in enumerate([(89.8, 180.0), (0.0, -180.0), (-89.9, 45.0), (52.0, 4.0)]):
        traffic = dense_cluster(70, seed, lat0, lon0)
        compare(traffic, "strict", 5.0, 1000.0, 300.0)
        compare(traffic, "flight-level", 5.0, 1000.0, 300.0)
        total += len(reference_detect(traffic))
    assert total > 200  # the clusters are dense enough to test something
