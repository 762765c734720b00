"""VolumeIndex under random inserts/removes equals a linear scan of the same filters."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.strategic import Volume4D, VolumeIndex, check_pair
from deconflict.strategic.index import volume_boxes, volume_filter_row
from geodesy_builders import circle, corridor, offset, square, vol


def _boxes_meet(a: list, b: list) -> bool:  # type: ignore[type-arg]
    return any(
        x[0] <= y[2] and y[0] <= x[2] and x[1] <= y[3] and y[1] <= x[3] for x in a for y in b
    )


def _linear(live: dict[str, tuple[str, Volume4D]], q: Volume4D, party: str) -> set[str]:
    t0, t1, lo, hi = volume_filter_row(q)
    out = set()
    for key, (p, v) in live.items():
        s0, s1, vlo, vhi = volume_filter_row(v)
        meets = p != party and s0 <= t1 and t0 <= s1 and vlo <= hi and lo <= vhi
        if meets and _boxes_meet(volume_boxes(q), volume_boxes(v)):
            out.add(key)
    return out


@st.composite
def volumes(draw: st.DrawFn) -> Volume4D:
    lon = draw(st.one_of(st.floats(-2.0, 2.0), st.floats(179.0, 181.0)))
    lat = draw(st.floats(40.0, 42.0))
    start = draw(st.integers(0, 10)) * 10
    kind = draw(st.integers(0, 2))
    fp = (
        circle(lon, lat, draw(st.floats(500.0, 30_000.0)))
        if kind == 0
        else square(lon, lat, draw(st.floats(500.0, 30_000.0)))
        if kind == 1
        else corridor([(lon, lat), offset(lon, lat, draw(st.floats(0, 360)), 40_000.0)], 2_000.0)
    )
    low = draw(st.integers(0, 20)) * 1000
    return vol(fp, low, low + 3000, start, start + draw(st.integers(1, 9)) * 10)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), volumes(), st.sampled_from("abc")), min_size=5, max_size=60)
)
def test_index_equals_linear_scan(ops: list[tuple[bool, Volume4D, str]]) -> None:
    idx = VolumeIndex()
    live: dict[str, tuple[str, Volume4D]] = {}
    for n, (remove, v, party) in enumerate(ops):
        if remove and live:
            key = sorted(live)[n % len(live)]
            idx.remove(key)
            del live[key]
        else:
            idx.add(f"k{n}", party, v)
            live[f"k{n}"] = (party, v)
    for _, q, party in ops[:8]:
        got = set(idx.query(q, exclude_party=party))
        assert got == _linear(live, q, party)
        exact = {k for k, (p, v) in live.items() if p != party and check_pair(q, v) is not None}
        assert exact <= got
    idx.rebuild()
    for _, q, party in ops[:8]:
        assert set(idx.query(q, exclude_party=party)) == _linear(live, q, party)
