"""Vectorised live-cycle stages against slow, obviously correct references (issue 14 load).

* density: cell grouping through one int64 code per cell equals ``np.unique(axis=0)``;
  the members of each cell equal ``flatnonzero(inverse == cell)``;
* observations: :func:`conflict_observations` equals the pair-by-pair reference;
* picture: rounded state rows equal :func:`_state_row` (within one unit of the last decimal).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.live.density import DensityPolicy, _members, _unique_rows, estimate_pairs, thin
from deconflict.live.observations import (
    conflict_observations,
    conflict_observations_reference,
)
from deconflict.live.picture import STATE_FIELDS, _state_row, _state_rows
from deconflict.live.tracks import TrackStates, party_rows, row_index
from deconflict.tactical import Conflicts

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(1, 300), spread=st.sampled_from([2, 50, 2**40]))
def test_unique_rows_equal_row_unique(seed: int, n: int, spread: int) -> None:
    rng = np.random.default_rng(seed)
    cells = rng.integers(-spread, spread, size=(n, 3)).astype(np.int64)
    uniq, inverse, counts = _unique_rows(cells)
    ref_u, ref_inv, ref_c = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    assert np.array_equal(uniq, ref_u)
    assert np.array_equal(inverse, ref_inv.reshape(-1))
    assert np.array_equal(counts, ref_c)
    picked = np.flatnonzero(counts > 1)
    members = _members(inverse, picked)
    assert set(members) == {int(c) for c in picked}
    for cell, rows in members.items():
        assert np.array_equal(rows, np.flatnonzero(inverse == cell))


def _estimate_reference(cells: np.ndarray[Any, Any]) -> int:
    """Pairs within the 27-cell neighbourhood, by brute force over all rows."""
    diff = np.abs(cells[:, None, :] - cells[None, :, :]).max(axis=2)
    near = (diff <= 1).sum(axis=1)
    return int((near - 1).sum() // 2)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, n=st.integers(1, 120))
def test_estimate_pairs_matches_brute_force(seed: int, n: int) -> None:
    cells = np.random.default_rng(seed).integers(-4, 4, size=(n, 3)).astype(np.int64)
    pairs, _near = estimate_pairs(cells)
    assert pairs == _estimate_reference(cells)


def test_thin_groups_a_dense_cell_and_a_dense_region() -> None:
    rng = np.random.default_rng(3)
    n = 400
    lat = np.r_[np.full(20, 47.0), 47.0 + rng.uniform(0, 0.1, n)]
    lon = np.r_[np.full(20, 8.0), 8.0 + rng.uniform(0, 0.1, n)]
    alt = np.r_[np.full(20, 30_000.0), rng.uniform(30_000, 31_000, n)]
    party = np.array(["A", "B"] * ((n + 20) // 2), dtype=object)
    pol = DensityPolicy(max_pairs=2_000, max_per_region=50)
    result = thin(lat, lon, alt, party, pol)
    assert not result.keep[8:20].any() and result.keep[:8].all()
    assert result.estimated_pairs <= pol.max_pairs
    assert {c.key.split(":")[1] for c in result.clusters} == {"0.5", "10"}
    assert sum(c.grouped for c in result.clusters) == int((~result.keep).sum())


def _random_case(seed: int, n: int, k: int) -> tuple[Conflicts, TrackStates]:
    rng = np.random.default_rng(seed)
    ids = [f"x{v:04d}" for v in rng.permutation(10_000)[:n]]
    party = rng.choice(["A", "B", "C", ""], size=n).tolist()
    states = TrackStates.from_columns({"ids": ids, "party": party}, n=n)
    i = rng.integers(0, n, k)
    j = (i + rng.integers(1, n, k)) % n if n > 1 else i
    values = {
        name: rng.normal(size=k)
        for name in (
            "t_in_s", "t_out_s", "t_cpa_s", "hmd_nm", "vmd_ft", "range_nm", "vertical_ft",
            "bearing_deg", "reverse_bearing_deg",
        )
    }  # fmt: skip
    return Conflicts(i=i.astype(np.int64), j=j.astype(np.int64), **values), states


@settings(max_examples=40, deadline=None)
@given(
    seed=seeds,
    n=st.integers(2, 40),
    k=st.integers(0, 60),
    opt_in=st.sets(st.sampled_from(["A", "B", "C"])),
)
def test_conflict_observations_equal_reference(seed: int, n: int, k: int, opt_in: set[str]) -> None:
    conflicts, states = _random_case(seed, n, k)
    fast = conflict_observations(conflicts, states, same_party_opt_in=opt_in)
    slow = conflict_observations_reference(conflicts, states, same_party_opt_in=opt_in)
    assert fast == slow


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.floats(min_value=-1e6, max_value=1e6),
            st.sampled_from([float("nan"), float("inf"), -float("inf")]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_state_rows_equal_per_row_reference(values: list[float]) -> None:
    n = len(values)
    arr = np.asarray(values, dtype=np.float64)
    cols = {name: np.roll(arr, s) for s, (_, name, _) in enumerate(STATE_FIELDS)}
    states = TrackStates.from_columns({"ids": [str(v) for v in range(n)], **cols}, n=n)
    rows = list(range(n))[::-1]
    fast = _state_rows(states, rows)
    for got, i in zip(fast, rows, strict=True):
        want = _state_row(states, i)
        for name, _, digits in STATE_FIELDS:
            a, b = got[name], want[name]
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                assert abs(a - b) <= 10.0**-digits * 1.000001


@settings(max_examples=30, deadline=None)
@given(seed=seeds, n=st.integers(0, 60))
def test_row_index_and_party_rows_equal_reference(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    ids = [f"id{v}" for v in rng.permutation(1000)[:n]]
    party = rng.choice(["A", "B", "", "C"], size=n).tolist()
    states = TrackStates.from_columns({"ids": ids, "party": party}, n=n)
    assert row_index(states) == {a: k for k, a in enumerate(ids)}
    assert row_index(states) is row_index(states)  # cached per object
    groups = party_rows(states)
    assert set(groups) == set(party)
    for name, rows in groups.items():
        assert np.array_equal(rows, np.flatnonzero(states.party == name))
