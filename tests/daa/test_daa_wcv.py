"""Well-clear intervals against pointwise brute force; the compiled kernel against numpy."""

from __future__ import annotations

import math

import numpy as np
from daa_reference import violated
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deconflict.daa.bands import Traffic, Trajectory, linear_conflicts, linear_conflicts_numpy
from deconflict.daa.wcv import loss_interval, violation

coord = st.floats(-20_000, 20_000)
speed = st.floats(-400, 400)
alt = st.floats(-3000, 3000)
rate = st.floats(-60, 60)


@settings(max_examples=150, deadline=None)
@given(
    sx=coord,
    sy=coord,
    vx=speed,
    vy=speed,
    sz=alt,
    vz=rate,
    d=st.floats(100, 10_000),
    z=st.floats(50, 1500),
    tthr=st.sampled_from([0.0, 20.0, 35.0]),
)
def test_loss_interval_matches_pointwise_violation(
    sx: float,
    sy: float,
    vx: float,
    vy: float,
    sz: float,
    vz: float,
    d: float,
    z: float,
    tthr: float,
) -> None:
    # a rate below the "moving" threshold (1e-9) exactly on the vertical boundary: the closed
    # form holds the state still, the sampled reference drifts off it (no physical meaning)
    assume(abs(vz) > 1e-6 or abs(abs(sz) - z) > 1e-3)
    # and a path exactly tangent to the DTHR circle (dcpa == DTHR): a touching instant that the
    # 10 ms samples of the reference see as a run (the sampled tangent is flat to 1e-9 m)
    vv = vx * vx + vy * vy
    # likewise a horizontal speed below the "moving" threshold exactly on the DTHR circle
    assume(vv > 1e-9 or abs(math.hypot(sx, sy) - d) > 1e-3)
    if vv > 1e-9:
        dcpa = math.sqrt(max(sx * sx + sy * sy - (sx * vx + sy * vy) ** 2 / vv, 0.0))
        assume(abs(dcpa - d) > 1e-3)
    horizon, dt = 180.0, 0.01
    t = np.arange(0.0, horizon + dt / 2, dt)
    bad = violated(
        sx + vx * t,
        sy + vy * t,
        np.full_like(t, vx),
        np.full_like(t, vy),
        sz + vz * t,
        np.full_like(t, vz),
        d,
        z,
        tthr,
    )
    one = np.ones(1)
    t_in, t_out, hit = loss_interval(
        one * (sx * sx + sy * sy),
        one * (sx * vx + sy * vy),
        one * (vx * vx + vy * vy),
        one * sz,
        one * vz,
        dthr_m=d,
        zthr_ft=z,
        tthr_s=tthr,
        tcoa_s=0.0,
        lookahead_s=horizon,
    )
    if bad.sum() >= 5:  # clearly violated somewhere: the interval covers the sampled run
        idx = np.flatnonzero(bad)
        assert hit[0]
        assert abs(t_in[0] - t[idx[0]]) <= 2 * dt
        assert abs(t_out[0] - t[idx[-1]]) <= 2 * dt
    elif not bad.any():
        # never sampled in violation: at most a touching instant between samples
        assert not hit[0] or (t_out[0] - t_in[0]) <= 2 * dt
    # pointwise violation at t = 0 agrees with the interval starting at 0
    now = violation(
        one * (sx * sx + sy * sy),
        one * (sx * vx + sy * vy),
        one * (vx * vx + vy * vy),
        one * sz,
        one * vz,
        dthr_m=d,
        zthr_ft=z,
        tthr_s=tthr,
        tcoa_s=0.0,
    )
    assert bool(now[0]) == bool(bad[0])


def test_tcoa_vertical_criterion() -> None:
    """TCOA: converging 2000 ft apart at 50 ft/s is violated vertically with TCOA 45 s, not 30 s."""
    one = np.ones(1)
    args = dict(dthr_m=1000.0, zthr_ft=450.0, tthr_s=0.0)
    assert violation(one * 0, one * 0, one * 0, one * 2000, -one * 50, tcoa_s=45.0, **args)[0]
    assert not violation(one * 0, one * 0, one * 0, one * 2000, -one * 50, tcoa_s=30.0, **args)[0]
    # interval: entry at |sz| = max(ZTHR, |vz| TCOA) = 1500 ft -> t = 10 s; exit at sz = -450
    t_in, t_out, hit = loss_interval(
        one * 0, one * 0, one * 0, one * 2000, -one * 50, tcoa_s=30.0, lookahead_s=180.0, **args
    )
    assert hit[0] and math.isclose(t_in[0], 10.0) and math.isclose(t_out[0], 49.0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), strict=st.booleans())
def test_compiled_kernel_equals_numpy(seed: int, strict: bool) -> None:
    rng = np.random.default_rng(seed)
    i, m, lv = 4, 30, 3
    traffic = Traffic(
        sx=rng.uniform(-15000, 15000, i),
        sy=rng.uniform(-15000, 15000, i),
        vx=rng.uniform(-250, 250, i),
        vy=rng.uniform(-250, 250, i),
        z_ft=rng.uniform(-1500, 1500, i),
        w_fps=rng.uniform(-50, 50, i),
        dthr_m=rng.uniform(300, 9000, (i, lv)),
        zthr_ft=rng.uniform(100, 1000, (i, lv)),
        tthr_s=rng.choice([0.0, 35.0], (i, lv)),
        tcoa_s=rng.choice([0.0, 20.0], (i, lv)),
        region=np.ones((i, lv), dtype=np.int64),
        present=rng.random((i, lv)) < 0.9,
    )
    own = Trajectory(
        t_s=rng.uniform(0, 100, m),
        px=rng.uniform(-3000, 3000, m),
        py=rng.uniform(-3000, 3000, m),
        ux=rng.uniform(-250, 250, m),
        uy=rng.uniform(-250, 250, m),
        z_ft=rng.uniform(-500, 500, m),
        w_fps=rng.uniform(-50, 50, m),
    )
    duration = rng.uniform(0, 180, m)
    fast = linear_conflicts(traffic, own, duration, strict, 5.0, 2.0)
    slow = linear_conflicts_numpy(traffic, own, duration, strict, 5.0, 2.0)
    assume(slow.any())
    assert np.array_equal(fast, slow)
