"""The pure policy cores behind the adversarial defences, against slow obvious references."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import h3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.broker import disclosure, limits
from deconflict.errors import InvalidInputError
from deconflict.geo import footprints
from deconflict.live.batch import parse_batch
from deconflict.live.density import DensityPolicy, estimate_pairs, thin
from deconflict.strategic import Volume4D

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _distinct_reference(points: list[tuple[float, float]]) -> int:
    seen: list[tuple[float, float]] = []
    for p in points:
        if not any(footprints._same(p, q) for q in seen):
            seen.append(p)
    return len(seen)


COORD = st.tuples(
    st.sampled_from([-540.0, -180.0, -179.5, 0.0, -0.0, 10.0, 180.0, 190.0, 370.0]),
    st.sampled_from([-90.0, -45.0, 0.0, 12.5, 90.0]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(COORD, max_size=30))
def test_distinct_matches_the_quadratic_reference(points: list[tuple[float, float]]) -> None:
    assert footprints._distinct(points) == _distinct_reference(points)


def _vol(**over: object) -> Volume4D:
    body = {
        "footprint": {"type": "circle", "center": [20.0, 50.0], "radius_nm": 5},
        "altitude": {"lower": 0, "upper": 10_000, "reference": "ft_amsl"},
        "start": "2026-12-06T10:00:00Z",
        "end": "2026-12-06T12:00:00Z",
        **over,
    }
    return Volume4D.from_json(body, where="volumes[0]")


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"footprint": {"type": "circle", "center": [20, 50], "radius_nm": 500}}, "footprint"),
        ({"altitude": {"lower": -1000, "upper": 99_000, "reference": "ft_amsl"}}, "altitude"),
        ({"end": "2026-12-20T12:00:00Z"}, "end"),
        ({"start": "2026-12-05T08:00:00Z", "end": "2026-12-05T10:00:00Z"}, "start"),
        ({"start": "2027-02-01T08:00:00Z", "end": "2027-02-01T09:00:00Z"}, "start"),
        ({"buffers": {"lateral_nm": 10.5}}, "buffers.lateral_nm"),
        ({"buffers": {"vertical_ft": 2001}}, "buffers.vertical_ft"),
        ({"buffers": {"after_min": 61}}, "buffers.after_min"),
    ],
)
def test_limits_name_the_field_and_the_limit(over: dict[str, object], field: str) -> None:
    vol = _vol(**over)
    with pytest.raises(InvalidInputError) as info:
        limits.check_volume(vol, limits.VolumeLimits(), now=NOW, where="volumes[0]")
    assert info.value.field == f"volumes[0].{field}"
    assert "limit" in info.value.reason


def test_defaults_accept_an_ordinary_volume_and_strictest_wins() -> None:
    limits.check_volume(_vol(), limits.VolumeLimits(), now=NOW, where="v")
    strict = limits.VolumeLimits.strictest(
        [limits.VolumeLimits(), limits.VolumeLimits.from_json({"max_band_ft": 5000})]
    )
    assert strict.max_band_ft == 5000 and strict.max_area_km2 == 25_000
    with pytest.raises(InvalidInputError):
        limits.check_volume(_vol(), strict, now=NOW, where="v")
    with pytest.raises(InvalidInputError) as info:
        limits.VolumeLimits.from_json({"max_whatever": 1})
    assert info.value.field == "limits.max_whatever"


def test_model_caps_poison_before_any_projection() -> None:
    for buffers, field in (
        ({"lateral_nm": 1e9}, "buffers.lateral_nm"),
        ({"vertical_ft": 1e9}, "buffers.vertical_ft"),
        ({"before_min": 1e9}, "buffers.before_min"),
    ):
        with pytest.raises(InvalidInputError) as info:
            _vol(buffers=buffers)
        assert info.value.field == f"volumes[0].{field}"
    with pytest.raises(InvalidInputError) as info:
        _vol(altitude={"lower": 0, "upper": 1e308, "reference": "ft_amsl"})
    assert info.value.field == "volumes[0].altitude.upper"
    for over, field in (
        ({"end": "2026-12-06T10:00:00Z"}, "end"),
        ({"end": "9999-12-31T00:00:00Z"}, "end"),
        ({"start": "1970-01-01T00:00:00Z"}, "start"),
    ):
        with pytest.raises(InvalidInputError) as info:
            _vol(**over)
        assert info.value.field == f"volumes[0].{field}"


def test_area_matches_geodesic_reference() -> None:
    vol = _vol()
    assert limits.footprint_area_km2(vol) == pytest.approx(math.pi * 9.26**2, rel=1e-3)
    square = {
        "type": "polygon",
        "coordinates": [[[20, 50], [21, 50], [21, 51], [20, 51], [20, 50]]],
    }
    vol = _vol(footprint=square)
    # 1 deg x 1 deg at 50.5 N: ~111.2 km x ~70.9 km
    assert limits.footprint_area_km2(vol) == pytest.approx(111.2 * 70.9, rel=0.01)


def test_budget_counts_the_charge_and_coarse_hides_geometry() -> None:
    pol = disclosure.DisclosurePolicy()
    notified = 8000.0 * 2.0
    overlap = {
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[20.1, 50.1], [20.2, 50.1], [20.2, 50.2], [20.1, 50.2], [20.1, 50.1]]],
        },
        "alt_lower_ft": 1234.0,
        "alt_upper_ft": 8765.0,
        "alt_reference": "ft_amsl",
        "start": "2026-12-06T10:17:00Z",
        "end": "2026-12-06T10:43:00Z",
    }
    exact_area = disclosure.overlap_km2h(overlap)
    charge = disclosure.charge_km2h(overlap)
    assert charge > exact_area  # grown by 1 NM, charged at least one hour
    learned = 0.0
    n = 0
    while disclosure.is_exact(learned, charge, notified, pol):
        learned += charge
        n += 1
    assert learned <= 0.1 * notified and n >= 1
    coarse = disclosure.coarse_overlap(overlap, pol)
    assert "geometry" not in coarse
    assert coarse["start"] == "2026-12-06T10:00:00Z" and coarse["end"] == "2026-12-06T11:00:00Z"
    assert coarse["alt_lower_ft"] == 0 and coarse["alt_upper_ft"] == 10_000
    cells = coarse["coarse_area"]["h3_cells"]
    assert cells and all(h3.get_resolution(c) == 4 for c in cells)
    # the cover contains every vertex of the overlap
    for lon, lat in overlap["geometry"]["coordinates"][0]:  # type: ignore[index]
        assert h3.latlng_to_cell(lat, lon, 4) in cells
    assert disclosure.unaffiliated_overlap(overlap) == {
        "start": "2026-12-06T10:00:00Z",
        "end": "2026-12-06T11:00:00Z",
        "coarse": True,
    }


def test_coarse_cover_is_capped() -> None:
    big = {"type": "Polygon", "coordinates": [[[0, 0], [5, 0], [5, 5], [0, 5], [0, 0]]]}
    cells, res = disclosure.coarse_cells(big, 4)
    assert len(cells) <= disclosure.MAX_COARSE_CELLS and res < 4


def _pairs_reference(cells: np.ndarray) -> int:
    n = len(cells)
    total = 0
    for a in range(n):
        near = sum(1 for b in range(n) if np.abs(cells[a] - cells[b]).max() <= 1)
        total += near - 1
    return total // 2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3), st.integers(-2, 2)), max_size=40))
def test_pair_estimate_matches_brute_force(cells: list[tuple[int, int, int]]) -> None:
    arr = np.asarray(cells, dtype=np.int64).reshape(-1, 3)
    assert estimate_pairs(arr)[0] == _pairs_reference(arr)


def test_thin_bounds_colocated_and_dense_traffic() -> None:
    n = 10_000
    party = np.array(["A"] * n)
    res = thin(np.full(n, 35.0), np.full(n, 30.0), np.full(n, 20_000.0), party)
    assert res.keep.sum() == DensityPolicy().max_per_cell
    assert len(res.clusters) == 1 and res.clusters[0].grouped == n - DensityPolicy().max_per_cell
    rng = np.random.default_rng(3)
    lat = 50 + rng.uniform(0, 1.5, n)
    lon = 10 + rng.uniform(0, 2.5, n)
    res = thin(lat, lon, np.full(n, 5000.0), party)
    assert res.estimated_pairs <= DensityPolicy().max_pairs
    # ordinary traffic is untouched
    lat = rng.uniform(-60, 60, 3000)
    lon = rng.uniform(-180, 180, 3000)
    res = thin(lat, lon, rng.uniform(0, 40_000, 3000), np.array(["A"] * 3000))
    assert res.keep.all() and not res.clusters


def test_batch_refuses_duplicate_ids_and_caps_rows() -> None:
    now = NOW.timestamp()
    body = {
        "time": now,
        "id": ["a", "b", "a"],
        **{k: [1.0] * 3 for k in ("lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm")},
    }
    with pytest.raises(InvalidInputError) as info:
        parse_batch(body, now_s=now, max_rows=20_000, max_future_s=10, max_past_s=120)
    assert info.value.field == "id" and info.value.row == 3
    n = 10_001
    big = {**body, "id": [f"x{k}" for k in range(n)]}
    with pytest.raises(Exception) as too:
        parse_batch(big, now_s=now, max_rows=20_000, max_future_s=10, max_past_s=120)
    assert getattr(too.value, "status", None) == 413


def test_vertex_caps_answer_fast() -> None:
    import time

    ring = [
        [10 + 0.001 * math.cos(k / 1000), 50 + 0.001 * math.sin(k / 1000)] for k in range(50_000)
    ]
    t0 = time.perf_counter()
    with pytest.raises(InvalidInputError) as info:
        footprints.footprint_from_json({"type": "polygon", "coordinates": [[*ring, ring[0]]]})
    assert info.value.field == "footprint.coordinates"
    assert time.perf_counter() - t0 < 1.0
    _ = timedelta


def test_hotline_limiter_counts_per_sender_and_precedence() -> None:
    from deconflict.broker.limits import SlidingWindowLimiter
    from deconflict.errors import RateLimitedError

    lim = SlidingWindowLimiter({"flash": (5, 60.0), "*": (6, 60.0)})
    for k in range(5):
        lim.hit("A", "flash", 100.0 + k)
    with pytest.raises(RateLimitedError) as info:
        lim.hit("A", "flash", 105.0)
    assert info.value.retry_after_s == pytest.approx(55.0)
    lim.hit("B", "flash", 105.0)  # another sender is not affected
    lim.hit("A", "flash", 160.5)  # the window slid past the first message
    lim.hit("A", "routine", 161.0)
    lim.hit("A", "routine", 161.1)
    with pytest.raises(RateLimitedError):
        lim.hit("A", "routine", 161.2)  # the total over precedences
