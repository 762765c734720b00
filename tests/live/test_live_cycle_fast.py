"""Fast paths of the live cycle (issue 14, session 4) against slow, obviously correct references.

* DAA: ``band_intruders`` (trigonometry only inside a latitude band) equals the brute force over
  all aircraft; the compiled candidate-path loss test of coordinated guidance equals the numpy
  ``loss_interval`` over all samples; ``_near`` equals ``np.intersect1d``; ``annotate`` equals
  ``dataclasses.replace`` per conflict;
* density: the 4-search neighbourhood count equals the brute-force pair count; the largest cell
  equals ``np.unique(axis=0)``'s;
* tracks: id indexes and party rows provided by the latest-state store, derived through
  ``select`` and shared with dead-reckoned copies equal a fresh ``{id: row}`` / party scan;
* picture: ``visible_picture``'s traffic rows equal the per-row reference (same rounding).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.daa import AIRPROX, CYLINDER, DO365B, Profile, States
from deconflict.daa.bands import band_intruders, band_intruders_reference, fly, traffic_from
from deconflict.daa.guidance import SAMPLE_S, _near, _paths, _paths_lost, _paths_lost_numpy
from deconflict.daa.profiles import Volume
from deconflict.live.alerts import Alert, Observation, Subject
from deconflict.live.daa import LiveDaa
from deconflict.live.density import _cells, _max_per_cell, _pairs_of_columns, estimate_pairs
from deconflict.live.latest import LatestStates
from deconflict.live.observations import conflict_observations
from deconflict.live.picture import _rounded, _state_rows, handle, visible_picture
from deconflict.live.tracks import (
    FLOAT_COLUMNS,
    TrackStates,
    party_rows,
    row_index,
    share_indexes,
)
from deconflict.tactical import Conflicts

seeds = st.integers(min_value=0, max_value=2**32 - 1)
PROFILES = {"cylinder": CYLINDER, "do365b": DO365B, "airprox": AIRPROX}


def _states(seed: int, n: int, where: str) -> States:
    """Random traffic: spread over a continent, bunched in one latitude band, at a pole, or
    straddling the antimeridian."""
    rng = np.random.default_rng(seed)
    if where == "pole":
        lat = rng.uniform(88.5, 90.0, n) * rng.choice([-1.0, 1.0])
        lon = rng.uniform(-180.0, 180.0, n)
    elif where == "antimeridian":
        lat = rng.uniform(-1.0, 1.0, n)
        lon = (180.0 + rng.uniform(-1.0, 1.0, n) + 180.0) % 360.0 - 180.0
    elif where == "band":
        lat = 47.0 + rng.uniform(-0.3, 0.3, n)
        lon = rng.uniform(-20.0, 40.0, n)
    else:
        lat = rng.uniform(35.0, 60.0, n)
        lon = rng.uniform(-10.0, 30.0, n)
    alt = rng.choice([1_000.0, 20_000.0, 35_000.0], n) + rng.uniform(-3_000.0, 3_000.0, n)
    gs = rng.uniform(0.0, 600.0, n)
    vs = rng.choice([0.0, 1.0], n) * rng.uniform(-4_000.0, 4_000.0, n)
    return States.from_arrays(lat, lon, alt, gs, rng.uniform(0.0, 360.0, n), vs)


@settings(max_examples=40, deadline=None)
@given(
    seed=seeds,
    n=st.integers(2, 300),
    where=st.sampled_from(["continent", "band", "pole", "antimeridian"]),
    name=st.sampled_from(sorted(PROFILES)),
)
def test_band_intruders_equal_brute_force(seed: int, n: int, where: str, name: str) -> None:
    states = _states(seed, n, where)
    profile = PROFILES[name]
    for own in {0, n // 2, n - 1}:
        fast = band_intruders(profile, states, own)
        slow = band_intruders_reference(profile, states, own)
        assert fast.dtype == slow.dtype
        assert np.array_equal(fast, slow)
        other = (own + 1) % n
        everyone = np.arange(n, dtype=np.int64)
        candidates = everyone[(everyone != own) & (everyone != other)]
        assert np.array_equal(_near(profile, states, own, other), np.intersect1d(slow, candidates))


def _random_paths(rng: np.random.Generator, count: int, samples: int, level: bool) -> Any:
    px, py = rng.normal(0.0, 6_000.0, (2, count, samples))
    ux, uy = rng.normal(0.0, 150.0, (2, count, samples))
    z = rng.normal(30_000.0, 700.0, (count, samples))
    w = np.zeros((count, samples)) if level else rng.normal(0.0, 20.0, (count, samples))
    return (px, py, ux, uy, z, w)


@settings(max_examples=40, deadline=None)
@given(
    seed=seeds,
    sizes=st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 40)),
    level=st.booleans(),
    strict=st.booleans(),
    tthr=st.sampled_from([0.0, 35.0]),
    tcoa=st.sampled_from([0.0, 20.0]),
)
def test_compiled_path_losses_equal_numpy(
    seed: int, sizes: tuple[int, int, int], level: bool, strict: bool, tthr: float, tcoa: float
) -> None:
    rng = np.random.default_rng(seed)
    a_count, b_count, samples = sizes
    paths_a = _random_paths(rng, a_count, samples, level)
    paths_b = _random_paths(rng, b_count, samples, level)
    if seed % 4 == 0:  # the same velocities: no relative motion
        paths_b = tuple(x[:1].repeat(b_count, axis=0) for x in paths_a)
    duration = np.minimum(1.0, rng.uniform(0.2, 2.0, samples))
    volume = Volume(
        dthr_m=float(rng.uniform(100.0, 9_000.0)),
        zthr_ft=float(rng.uniform(100.0, 1_000.0)),
        tthr_s=tthr,
        tcoa_s=tcoa,
        strict=strict,
    )
    start = (float(rng.normal(0.0, 6_000.0)), float(rng.normal(0.0, 6_000.0)))
    fast = _paths_lost(start, paths_a, paths_b, duration, volume)
    assert np.array_equal(fast, _paths_lost_numpy(start, paths_a, paths_b, duration, volume))


@pytest.mark.parametrize("profile", [CYLINDER, DO365B], ids=lambda p: p.name)
def test_compiled_path_losses_on_flown_manoeuvres(profile: Profile) -> None:
    """Real candidate paths (turns, climbs, speed changes) of a head-on pair."""
    states = States.from_arrays(
        [47.0, 47.0], [8.0, 8.3], [35_000.0, 35_400.0], [450.0, 420.0], [90.0, 270.0], [0, -500.0]
    )
    own_a, traffic = traffic_from(profile, states, 0, np.array([1]))
    t = np.arange(0.0, profile.lookahead_s, SAMPLE_S)
    values = {"track_deg": [60.0, 90.0, 130.0], "gs_kt": [300.0, 500.0], "vs_fpm": [-2000.0, 0.0]}
    moves = [(dim, v) for dim, vals in values.items() for v in vals]
    paths_a = _paths([fly(own_a, d, v, profile.bands, t) for d, v in moves])
    paths_b = _paths([fly(own_a, d, (v + 180.0) % 360.0, profile.bands, t) for d, v in moves])
    duration = np.minimum(SAMPLE_S, profile.lookahead_s - t)
    start = (float(traffic.sx[0]), float(traffic.sy[0]))
    seen = set()
    for alerter in profile.alerters:
        for lv in alerter.levels:
            fast = _paths_lost(start, paths_a, paths_b, duration, lv.volume)
            assert np.array_equal(
                fast, _paths_lost_numpy(start, paths_a, paths_b, duration, lv.volume)
            )
            seen.update(fast.ravel().tolist())
    assert seen == {True, False}  # both outcomes exercised


def test_annotate_equals_replace_per_conflict() -> None:
    daa = LiveDaa.named("cylinder", guidance_per_cycle=0)
    obs = [
        Observation(
            kind="conflict",
            key=("conflict", f"a{k}", f"b{k}"),
            parties=("A", "B"),
            subjects=(Subject("aircraft", "A", f"a{k}"), Subject("aircraft", "B", f"b{k}")),
            t_in_s=float(k),
            metrics={"hmd_nm": 1.0, "t_out_s": 9.0},
        )
        for k in range(5)
    ]
    other = Observation("nonconforming", ("nonconforming", "a1"), ("A",), (), 0.0)
    tracks = TrackStates.from_columns({"ids": ["a0"], "party": ["A"]})
    got = daa.annotate([*obs, other], tracks, 0.0)
    want = [
        replace(o, metrics={**o.metrics, "level": 1.0, "warning_level": 1.0}, profile="cylinder")
        for o in obs
    ]
    assert got == [*want, other]
    assert [list(g.metrics) for g in got[:5]] == [list(w.metrics) for w in want]


CONFLICT_FIGURES = (
    "t_in_s", "t_out_s", "t_cpa_s", "hmd_nm", "vmd_ft", "range_nm", "vertical_ft", "bearing_deg",
    "reverse_bearing_deg",
)  # fmt: skip


@settings(max_examples=20, deadline=None)
@given(seed=seeds, n=st.integers(2, 30), k=st.integers(0, 40), agreement=st.booleans())
def test_observations_graded_once_equal_annotated_later(
    seed: int, n: int, k: int, agreement: bool
) -> None:
    """``conflict_observations(graded=...)`` + ``annotate`` (the cycle) equals
    ``conflict_observations`` + ``annotate`` (each observation rebuilt by ``replace``)."""
    rng = np.random.default_rng(seed)
    ids = [f"x{v:03d}" for v in rng.permutation(1000)[:n]]
    states = TrackStates.from_columns(
        {"ids": ids, "party": rng.choice(["A", "B", "C"], size=n).tolist()}, n=n
    )
    i = rng.integers(0, n, k)
    figures = {name: rng.normal(size=k) for name in CONFLICT_FIGURES}
    j = (i + rng.integers(1, n, k)) % n
    conflicts = Conflicts(i=i.astype(np.int64), j=j.astype(np.int64), **figures)
    daa = LiveDaa.named("cylinder", guidance_per_cycle=0)
    if agreement:
        daa.set_context([({"A", "B"}, "airprox")])
    graded, profile = daa.grading
    once = conflict_observations(conflicts, states, graded=graded, profile=profile)
    plain = conflict_observations(conflicts, states)
    assert [o.metrics for o in once] == [{**o.metrics, **graded} for o in plain]
    fast, slow = daa.annotate(once, states, 0.0), daa.annotate(plain, states, 0.0)
    assert fast == slow
    assert [list(o.metrics) for o in fast] == [list(o.metrics) for o in slow]


def _cells_reference_max(cells: np.ndarray[Any, Any]) -> int:
    return int(np.unique(cells, axis=0, return_counts=True)[1].max(initial=0))


def _pairs_reference(cells: np.ndarray[Any, Any]) -> int:
    diff = np.abs(cells[:, None, :] - cells[None, :, :]).max(axis=2)
    return int(((diff <= 1).sum(axis=1) - 1).sum() // 2)


@settings(max_examples=50, deadline=None)
@given(seed=seeds, n=st.integers(1, 150), spread=st.sampled_from([1, 3, 8, 2**40]))
def test_neighbourhood_pairs_and_largest_cell_equal_brute_force(
    seed: int, n: int, spread: int
) -> None:
    cells = np.random.default_rng(seed).integers(-spread, spread, size=(n, 3)).astype(np.int64)
    columns = (cells[:, 0].copy(), cells[:, 1].copy(), cells[:, 2].copy())
    assert _pairs_of_columns(columns) == _pairs_reference(cells) == estimate_pairs(cells)[0]
    assert _max_per_cell(columns) == _cells_reference_max(cells)


def test_cells_of_real_positions_pair_count() -> None:
    rng = np.random.default_rng(5)
    lat = np.r_[rng.uniform(46.0, 48.0, 300), rng.uniform(89.0, 90.0, 50)]
    lon = np.r_[rng.uniform(179.0, 181.0, 300), rng.uniform(-180.0, 180.0, 50)]
    alt = rng.uniform(30_000.0, 36_000.0, 350)
    cells = _cells(lat, lon, alt, 10.0, 2_000.0)
    columns = (cells[:, 0].copy(), cells[:, 1].copy(), cells[:, 2].copy())
    assert _pairs_of_columns(columns) == _pairs_reference(cells)


def _check_indexes(states: TrackStates) -> None:
    ids = [str(a) for a in states.ids.tolist()]
    want = {a: k for k, a in enumerate(ids)}
    index = row_index(states)
    assert dict(index) == want and len(index) == len(want)
    for a, k in want.items():
        assert index.get(a) == k and index[a] == k and a in index
    assert index.get("never-seen") is None and "never-seen" not in index
    groups = party_rows(states)
    parties = list(dict.fromkeys(str(p) for p in states.party.tolist()))
    assert list(groups) == parties  # first-appearance order, as a fresh scan
    for name, rows in groups.items():
        assert np.array_equal(rows, np.flatnonzero(states.party == name))


@settings(max_examples=25, deadline=None)
@given(seed=seeds, n=st.integers(0, 80), batches=st.integers(1, 4))
def test_store_indexes_through_selection_and_moves(seed: int, n: int, batches: int) -> None:
    rng = np.random.default_rng(seed)
    latest = LatestStates()
    for b in range(batches):
        k = int(rng.integers(0, n + 1))
        ids = [f"x{v}" for v in rng.integers(0, 2 * n + 1, k)]
        cols = {name: rng.uniform(0.0, 10.0, k) for name in FLOAT_COLUMNS}
        latest.update(str(rng.choice(["A", "B", "C"])), ids, cols)
        snap = latest.snapshot(10.0, 5.0 + b)
        _check_indexes(snap.states)
        # the store gains ids after the snapshot: the snapshot's index must not see them
        latest.update("D", [f"late{b}"], {name: np.ones(1) for name in FLOAT_COLUMNS})
        _check_indexes(snap.states)
        live = snap.states.select(~snap.stale)
        _check_indexes(live)
        moved = TrackStates(
            ids=live.ids, party=live.party, callsign=live.callsign,
            **{name: getattr(live, name) + 1.0 for name in FLOAT_COLUMNS},
        )  # fmt: skip
        share_indexes(live, moved)
        _check_indexes(moved)
        picked = rng.permutation(len(moved))[: len(moved) // 2]
        _check_indexes(moved.select(picked))  # index arrays in any order
        _check_indexes(moved.select(rng.uniform(size=len(moved)) < 0.5).select(np.arange(0)))
        if len(moved):
            _check_indexes(moved.select(np.array([-1, 0])[: min(2, len(moved))]))


def test_replace_all_resets_store_indexes() -> None:
    latest = LatestStates()
    latest.update("A", ["a", "b"], {name: np.ones(2) for name in FLOAT_COLUMNS})
    _check_indexes(latest.snapshot(1.0, 5.0).states)
    cols = {name: np.ones(3) for name in FLOAT_COLUMNS}
    latest.replace_all(["c", "a", "d"], ["B", "A", "B"], ["", "", ""], cols)
    _check_indexes(latest.snapshot(1.0, 5.0).states)
    latest.update("C", ["e", "a"], {name: np.full(2, 2.0) for name in FLOAT_COLUMNS})
    snap = latest.snapshot(1.0, 5.0)
    _check_indexes(snap.states)
    _check_indexes(snap.states.select(np.array([3, 1, 0])))


def _traffic_reference(
    states: TrackStates, alerts: list[Alert], party: str
) -> list[dict[str, Any]]:
    out = []
    ids = [str(a) for a in states.ids.tolist()]
    for alert in alerts:
        if not alert.is_open or party not in alert.parties:
            continue
        for n, s in enumerate(alert.subjects, start=1):
            if s.role != "aircraft" or s.party == party or s.ref not in ids:
                continue
            row = ids.index(s.ref)
            if states.party[row] != s.party:
                continue
            nan = float("nan")
            out.append(
                {
                    "handle": handle(alert, n),
                    "alert_id": alert.id,
                    "party": s.party,
                    **_state_rows(states, [row])[0],  # np.round, as before (display precision)
                    "t_in_s": _rounded([alert.t_in_s], 1)[0],
                    "hmd_nm": _rounded([alert.metrics.get("hmd_nm", nan)], 3)[0],
                    "vmd_ft": _rounded([alert.metrics.get("vmd_ft", nan)], 0)[0],
                }
            )
    return out


def test_picture_traffic_equals_per_row_reference() -> None:
    rng = np.random.default_rng(11)
    n = 60
    ids = [f"t{k}" for k in range(n)]
    party = [["A", "B", "C"][k % 3] for k in range(n)]
    cols = {name: np.round(rng.uniform(1.0, 100.0, n), 2) + 0.25 for name in FLOAT_COLUMNS}
    states = TrackStates.from_columns({"ids": ids, "party": party, **cols})
    now = datetime(2026, 12, 5, tzinfo=UTC)
    alerts = []
    for k in range(40):
        i, j = rng.choice(n, 2, replace=False)
        ref_j = ids[j] if k % 7 else "gone"  # an aircraft no longer in the states
        owner_j = party[j] if k % 11 else "Z"  # a subject whose party does not own the id
        alerts.append(
            Alert(
                id=f"al{k}",
                kind="conflict",
                key=("conflict", ids[i], ref_j),
                parties=tuple(sorted({party[i], owner_j})),
                subjects=(
                    Subject("aircraft", party[i], ids[i]),
                    Subject("aircraft", owner_j, ref_j),
                ),
                severity="caution",
                t_in_s=float(rng.uniform(0, 300)) + 0.25,
                metrics={"hmd_nm": 0.5 + k, "vmd_ft": 100.0 * k + 0.5},
                raised_at=now,
                updated_at=now,
                last_seen_at=now,
                acked={},
                state="open" if k % 5 else "resolved",
            )
        )
    for viewer in ("A", "B", "C"):
        got = visible_picture(states, alerts, viewer, now, include_alerts=False)["traffic"]
        assert got
        assert got == _traffic_reference(states, alerts, viewer)
        assert [list(row) for row in got] == [
            list(row) for row in _traffic_reference(states, alerts, viewer)
        ]
