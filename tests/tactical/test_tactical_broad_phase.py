"""The broad phase is complete: with any slicing and banding, the narrow phase over its
candidates finds exactly the conflicts of the narrow phase over all pairs."""

from __future__ import annotations

import numpy as np
import pytest

from deconflict.tactical._broad import candidate_pairs
from deconflict.tactical._geometry import kinematics
from deconflict.tactical._narrow import PairGeometry, narrow_phase

PARAMS = {"horizontal_nm": 5.0, "vertical_ft": 1000.0, "lookahead_s": 300.0}


def dense_traffic(n: int, seed: int, lat0: float, lon0: float, vs_scale: float) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    lat = np.clip(lat0 + rng.uniform(-1.5, 1.5, n), -90.0, 90.0)
    lon = (lon0 + rng.uniform(-3.0, 3.0, n) + 180.0) % 360.0 - 180.0
    alt = 1000.0 * rng.integers(20, 26, n) + rng.choice([0.0, 25.0, -25.0, 500.0], n)
    gs = rng.choice([0.0, 250.0, 400.0, 550.0], n) + rng.uniform(0.0, 10.0, n)
    track = rng.uniform(0.0, 360.0, n)
    vs = np.where(rng.random(n) < 0.3, rng.uniform(-1.0, 1.0, n) * vs_scale, 0.0)
    return [lat, lon, alt, gs, track, vs]


def as_set(g: PairGeometry) -> dict[tuple[int, int], tuple[float, ...]]:
    return {
        (int(a), int(b)): (t_in, t_out, hmd)
        for a, b, t_in, t_out, hmd in zip(g.i, g.j, g.t_in_s, g.t_out_s, g.hmd_nm, strict=True)
    }


@pytest.mark.parametrize(
    ("lat0", "lon0", "vs_scale"),
    [(46.0, 8.0, 3000.0), (89.0, 180.0, 3000.0), (-10.0, -179.0, 40_000.0)],
)
def test_candidates_cover_all_conflicts(lat0: float, lon0: float, vs_scale: float) -> None:
    lat, lon, alt, gs, track, vs = dense_traffic(1200, 3, lat0, lon0, vs_scale)
    kin = kinematics(lat, lon, gs, track)
    n = lat.shape[0]
    all_i, all_j = np.triu_indices(n, k=1)
    truth = as_set(
        narrow_phase(kin, alt, vs, all_i.astype(np.int64), all_j.astype(np.int64), **PARAMS)
    )
    assert len(truth) > 100
    for slices in (1, 2, 3):
        for band_ft in (None, 1500.0, 50_000.0):
            ci, cj = candidate_pairs(kin, alt, vs, slices=slices, band_ft=band_ft, **PARAMS)
            keys = ci * n + cj
            assert np.unique(keys).shape[0] == keys.shape[0], "duplicate candidates"
            assert np.all(ci < cj)
            found = as_set(narrow_phase(kin, alt, vs, ci, cj, **PARAMS))
            assert found == truth
            # and the broad phase prunes: far fewer candidates than pairs
            assert ci.shape[0] < all_i.shape[0] / 5
