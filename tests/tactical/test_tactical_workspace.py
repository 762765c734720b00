"""The kernel's reusable workspace and its degree-reduced trigonometry (session 4, issue 14).

``detect_arrays`` runs snapshots of more than ``ALL_PAIRS_MAX_N`` aircraft on a workspace taken
from a pool and given back after the call. These tests prove reuse cannot leak: snapshots of
different sizes alternate on the same workspace and every answer equals a call on a brand-new
workspace; earlier results stay unchanged after later calls (they are new arrays, never views of
the workspace); threads calling at the same time get the single-thread answers. ``sincos_rad``
(the kinematics' sine and cosine) is checked against libm's and extended-precision values.
"""

from __future__ import annotations

import math
import threading
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.tactical import Conflicts, detect_arrays, detect_arrays_numpy
from deconflict.tactical import kernel as kernel_module
from deconflict.tactical._jit import (
    ALL_PAIRS_MAX_N,
    BAND_FACTOR,
    detect_pairs_ws,
    new_workspace,
    sincos_rad,
)
from deconflict.tactical.kernel import detect_arrays_segments


def snapshot(n: int, seed: int) -> list[np.ndarray]:
    """``n`` aircraft within ~1 degree of 46 N 8 E: dense enough for many conflicts."""
    rng = np.random.default_rng(seed)
    return [
        rng.uniform(45.5, 46.5, n),
        rng.uniform(7.3, 8.7, n),
        1000.0 * rng.integers(200, 260, n) + rng.choice([0.0, 25.0, 400.0], n),
        rng.uniform(0.0, 520.0, n),
        rng.uniform(0.0, 360.0, n),
        np.where(rng.random(n) < 0.3, rng.uniform(-2500.0, 2500.0, n), 0.0),
    ]


def on_new_workspace(cols: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The grid kernel on a brand-new workspace (nothing reused)."""
    ij, values, _, _ = detect_pairs_ws(*cols, 5.0, 1000.0, 300.0, BAND_FACTOR, new_workspace())
    return ij, values


def as_rows(found: Conflicts) -> tuple[np.ndarray, np.ndarray]:
    arrays = [getattr(found, f.name) for f in fields(Conflicts)]
    return np.stack(arrays[:2]), np.stack(arrays[2:]).reshape(9, -1)


def copy_of(found: Conflicts) -> dict[str, np.ndarray]:
    return {f.name: getattr(found, f.name).copy() for f in fields(Conflicts)}


def test_reused_workspace_gives_fresh_answers_and_never_leaks() -> None:
    small, large, mid = snapshot(300, 1), snapshot(1500, 2), snapshot(700, 3)
    expected = {id(c): on_new_workspace(c) for c in (small, large, mid)}
    assert all(e[0].shape[1] > 10 for e in expected.values())  # something to leak
    kept: list[tuple[Conflicts, dict[str, np.ndarray]]] = []
    # grow (small -> large), then run smaller snapshots on the larger, dirty buffers
    for cols in (small, large, small, mid, large, small, mid):
        found = detect_arrays(*cols)
        ij, values = as_rows(found)
        want_ij, want_values = expected[id(cols)]
        assert np.array_equal(ij, want_ij) and np.array_equal(values, want_values)
        kept.append((found, copy_of(found)))
    for found, snapshot_copy in kept:  # results of earlier calls unchanged by later calls
        for name, values in snapshot_copy.items():
            assert np.array_equal(getattr(found, name), values), name
    idle = [a for ws in kernel_module._POOL._idle for a in ws]
    assert idle, "the workspace went back to the pool"
    for found, _ in kept:
        for f in fields(Conflicts):
            assert not any(np.shares_memory(getattr(found, f.name), a) for a in idle)
    # and the answer is the oracle's (libm trigonometry there: rounding-level differences)
    oracle = detect_arrays_numpy(*large)
    found = detect_arrays(*large)
    assert np.array_equal(found.i, oracle.i) and np.array_equal(found.j, oracle.j)
    np.testing.assert_allclose(found.t_in_s, oracle.t_in_s, rtol=1e-9, atol=1e-9)


def test_segments_reuse_the_workspace_without_leaks() -> None:
    a, b = snapshot(200, 4), snapshot(60, 5)
    cols = [np.concatenate([x, y, x]) for x, y in zip(a, b, strict=True)]
    found = detect_arrays_segments(*cols, [0, 200, 260, 460])
    parts = [detect_arrays(*c) for c in (a, b, a)]
    offsets = (0, 200, 260)
    assert np.array_equal(
        found.i, np.concatenate([p.i + o for p, o in zip(parts, offsets, strict=True)])
    )
    assert np.array_equal(
        found.j, np.concatenate([p.j + o for p, o in zip(parts, offsets, strict=True)])
    )
    assert np.array_equal(found.hmd_nm, np.concatenate([p.hmd_nm for p in parts]))


def test_threads_calling_at_once_get_the_single_thread_answers() -> None:
    snapshots = [snapshot(900, 10 + k) for k in range(3)]
    expected = [as_rows(detect_arrays(*c)) for c in snapshots]
    threads_n, rounds = 4, 12
    start = threading.Barrier(threads_n)
    failures: list[str] = []

    def work(t: int) -> None:
        start.wait()
        for r in range(rounds):
            k = (t + r) % len(snapshots)
            ij, values = as_rows(detect_arrays(*snapshots[k]))
            if not (np.array_equal(ij, expected[k][0]) and np.array_equal(values, expected[k][1])):
                failures.append(f"thread {t} round {r} snapshot {k}")

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not any(w.is_alive() for w in workers)
    assert failures == []
    assert len(kernel_module._POOL._idle) <= kernel_module.WORKSPACE_POOL_SIZE


def test_large_workspaces_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel_module, "_POOL", kernel_module._WorkspacePool())
    monkeypatch.setattr(kernel_module, "WORKSPACE_KEEP_BYTES", 10_000)
    cols = snapshot(ALL_PAIRS_MAX_N + 50, 6)
    first = as_rows(detect_arrays(*cols))
    assert kernel_module._POOL._idle == []  # too large to keep: freed after the call
    monkeypatch.setattr(kernel_module, "WORKSPACE_KEEP_BYTES", 2**30)
    second = as_rows(detect_arrays(*cols))
    assert len(kernel_module._POOL._idle) == 1
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])


def test_sincos_rad_is_libm_to_the_last_unit() -> None:
    rng = np.random.default_rng(3)
    special = [0.0, -0.0, 30.0, 45.0, -45.0, 89.999999, 90.0, -90.0, 135.0, 180.0, -180.0]
    special += [225.0, 270.0, 315.0, 360.0, 719.5, 1e-300, 5e-324, 44.999999999999, 45.000000001]
    degrees = np.concatenate(
        [
            rng.uniform(-90.0, 90.0, 4000),
            rng.uniform(-180.0, 180.0, 4000),
            rng.uniform(0.0, 360.0, 4000),
            np.arange(-720.0, 720.5, 0.5),
            np.array(special),
        ]
    )
    radians = degrees * (math.pi / 180.0)  # the kernel's (and numpy's) rounded argument
    got = np.array([sincos_rad(float(x)) for x in radians])
    libm = np.array([(math.sin(x), math.cos(x)) for x in radians.tolist()])
    # at most one unit in the last place apart (ulp of a value in [0.5, 1] is 1.1e-16)
    assert float(np.max(np.abs(got - libm))) <= 1.12e-16
    assert float(np.mean(got == libm)) > 0.9  # mostly bit-identical
    long = np.longdouble
    if np.finfo(long).eps < 1e-18:  # x87 extended (64-bit mantissa): an exact-enough reference
        x = radians.astype(long)
        assert float(np.max(np.abs(got[:, 0].astype(long) - np.sin(x)))) < 1.2e-16
        assert float(np.max(np.abs(got[:, 1].astype(long) - np.cos(x)))) < 1.2e-16
    # libm's values where they are structural: the pole and the antimeridian
    assert sincos_rad(math.radians(90.0)) == (math.sin(math.pi / 2), math.cos(math.pi / 2))
    assert sincos_rad(math.radians(-180.0)) == (math.sin(-math.pi), math.cos(-math.pi))
    assert sincos_rad(0.0) == (0.0, 1.0)


@settings(max_examples=300, deadline=None)
@given(x=st.floats(min_value=-2e5, max_value=2e5, allow_nan=False))
def test_sincos_rad_matches_libm(x: float) -> None:
    s, c = sincos_rad(x)
    assert abs(s - math.sin(x)) <= 1.12e-16 and abs(c - math.cos(x)) <= 1.12e-16
