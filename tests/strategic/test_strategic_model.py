"""Model: JSON round trips and errors, notice lifecycle, policies, index maintenance, zones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from deconflict.errors import InvalidInputError
from deconflict.strategic import (
    ALLOWED_TRANSITIONS,
    AdvisoryPolicy,
    AltitudeReference,
    Buffers,
    F3548Policy,
    Notice,
    NoticeState,
    NoticeZone,
    Volume4D,
    VolumeIndex,
    check_pair,
    find_conflicts,
    zone_requirements,
)
from geodesy_builders import T0, at, circle, corridor, orbit, square, vol

VOLUME_JSON: dict[str, Any] = {
    "id": "v1",
    "footprint": {"type": "circle", "center": [2.0, 45.0], "radius_nm": 5},
    "altitude": {"lower": 0, "upper": 24000, "reference": "ft_amsl"},
    "start": "2026-11-26T10:00:00Z",
    "end": "2026-11-26T12:00:00+01:00",
    "buffers": {"lateral_nm": 1, "vertical_ft": 500, "before_min": 5, "after_min": 5},
}


@pytest.mark.parametrize(
    "fp",
    [
        square(2.0, 45.0, 5000.0).to_json(),
        circle(2.0, 45.0, 5000.0).to_json(),
        corridor([(1.0, 44.0), (1.5, 44.2), (2.0, 44.1)], 2000.0).to_json(),
        orbit((1.0, 44.0), (1.5, 44.0), 9000.0).to_json(),
        {
            "type": "multipolygon",
            "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[2, 0], [3, 0], [3, 1], [2, 0]]]],
        },
        {
            "type": "polygon",
            "coordinates": [
                [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
                [[1, 1], [1, 2], [2, 2], [2, 1], [1, 1]],
            ],
        },
    ],
)
def test_volume_json_round_trip(fp: dict[str, Any]) -> None:
    obj = {**VOLUME_JSON, "footprint": fp}
    v = Volume4D.from_json(obj)
    again = Volume4D.from_json(v.to_json())
    assert again == v
    assert v.end == at(60)  # 12:00+01:00 is 11:00Z


def test_hole_is_not_part_of_the_polygon() -> None:
    holed = Volume4D.from_json(
        {
            **VOLUME_JSON,
            "buffers": {},
            "footprint": {
                "type": "polygon",
                "coordinates": [
                    [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
                    [[1, 1], [1, 3], [3, 3], [3, 1], [1, 1]],
                ],
            },
        }
    )
    assert not holed.contains(2.0, 2.0, 100.0, holed.start, alt_reference=AltitudeReference.FT_AMSL)
    assert holed.contains(0.5, 0.5, 100.0, holed.start, alt_reference=AltitudeReference.FT_AMSL)
    assert check_pair(holed, vol(circle(2.0, 2.0, 10_000.0))) is None
    assert check_pair(holed, vol(circle(2.0, 2.0, 120_000.0))) is not None


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        (
            {"footprint": {"type": "circle", "center": [2, 45], "radius_nm": 5, "coordinates": []}},
            "volume.footprint.coordinates",
        ),
        ({"footprint": {"type": "hexagon"}}, "volume.footprint.type"),
        ({"altitude": {"lower": 0, "upper": 1, "reference": "qnh"}}, "volume.altitude.reference"),
        ({"altitude": {"lower": 5, "upper": 1}}, "volume.altitude.lower"),
        ({"start": "2026-11-26T10:00:00"}, "volume.start"),
        ({"end": "2026-11-26T09:00:00Z"}, "volume.start"),
        ({"buffers": {"lateral_nm": -1}}, "volume.buffers.lateral_nm"),
        ({"colour": "red"}, "volume.colour"),
    ],
)
def test_volume_json_errors_name_the_field(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        Volume4D.from_json({**VOLUME_JSON, **patch})
    assert info.value.field == field


def test_contains_vectorised_matches_scalar() -> None:
    import numpy as np

    v = vol(corridor([(1.0, 44.0), (1.5, 44.2)], 2000.0), 10, 50, reference=AltitudeReference.FL)
    rng = np.random.default_rng(0)
    lat = rng.uniform(43.9, 44.3, 300)
    lon = rng.uniform(0.9, 1.6, 300)
    alt = rng.uniform(0, 6_000, 300)  # pressure altitude, ft
    times = [T0 + timedelta(minutes=float(m)) for m in rng.uniform(-10, 70, 300)]
    many = v.contains_many(lat, lon, alt, times)
    assert many.any() and not many.all()
    assert list(many) == [
        v.contains(a, b, c, t) for a, b, c, t in zip(lat, lon, alt, times, strict=True)
    ]


def test_notice_lifecycle_state_machine() -> None:
    n = Notice("n1", "blue", (vol(square(0, 0, 1000), start_min=0, end_min=60),))
    assert n.state is NoticeState.DRAFT and not n.is_live
    n2 = n.transition(NoticeState.NOTIFIED, now=at(-60))
    assert n2.version == 2 and n2.is_live
    with pytest.raises(InvalidInputError):
        n2.transition(NoticeState.ACTIVE, now=at(-30))  # too early to activate
    n3 = n2.transition(NoticeState.ACTIVE, now=at(1))
    with pytest.raises(InvalidInputError):
        n3.transition(NoticeState.NOTIFIED, now=at(2))  # active never returns to notified
    with pytest.raises(InvalidInputError):
        n3.transition(NoticeState.EXPIRED, now=at(30))  # not over yet
    done = n3.transition(NoticeState.COMPLETED, now=at(59))
    assert done.version == 4
    for target in NoticeState:
        assert not done.can_transition(target)
    with pytest.raises(InvalidInputError):
        done.with_volumes(n.volumes)
    assert ALLOWED_TRANSITIONS[NoticeState.DRAFT] == {NoticeState.NOTIFIED, NoticeState.CANCELLED}
    assert Notice.from_json(n3.to_json()) == n3


def test_policies() -> None:
    early, late = at(0), at(1)
    adv = AdvisoryPolicy()
    assert adv.decide(0, 9, late, early) == "accept"
    f = F3548Policy()
    assert f.decide(1, 2, early, late) == "reject"
    assert f.decide(3, 2, late, early) == "accept"
    assert f.decide(2, 2, late, early) == "reject"  # first come, first served
    assert f.decide(2, 2, early, late) == "accept"
    assert F3548Policy(allow_equal_priority_conflicts=True).decide(2, 2, late, early) == "accept"
    assert f.decide(1, 2, late, early, new_is_active_modification=True) == "accept"


def test_index_add_remove_rebuild_and_query_is_not_a_scan() -> None:
    idx = VolumeIndex()
    items = []
    for i in range(40):
        for j in range(40):
            items.append(
                (
                    f"v{i}-{j}",
                    "blue" if (i + j) % 2 else "red",
                    vol(circle(-5.0 + i * 0.3, 40.0 + j * 0.3, 5_000.0)),
                )
            )
    idx.add_many(items[:1000])
    for item in items[1000:]:
        idx.add(*item)  # goes through the delta, then rebuilds
    assert len(idx) == 1600
    probe = vol(circle(-5.0 + 10 * 0.3, 40.0 + 10 * 0.3, 1_000.0))
    assert idx.query(probe) == ["v10-10"]
    assert idx.query(probe, exclude_party="red") == []
    assert idx.query(vol(circle(100.0, 0.0, 1000.0))) == []
    assert idx.query(vol(circle(-5.0 + 3.0, 43.0, 1_000.0), start_min=61, end_min=90)) == []
    for k in range(0, 1600, 2):
        idx.remove(items[k][0])
    assert len(idx) == 800
    assert "v10-10" not in idx
    assert idx.query(probe) == []
    with pytest.raises(InvalidInputError):
        idx.remove("v10-10")
    with pytest.raises(InvalidInputError):
        idx.add(items[1][0], "red", items[1][2])
    idx.add(
        "new", "green", probe.__class__(probe.footprint, probe.altitude, probe.start, probe.end)
    )
    got = find_conflicts([("n", "red", vol(circle(-5.0 + 3.0, 43.0, 40_000.0)))], idx)
    assert {c.b for c in got} >= {"new"}
    assert all(c.party_b != "red" for c in got)


def test_notice_zone_requirements() -> None:
    zone = NoticeZone(
        "Z1", square(0, 0, 10_000.0), vol(square(0, 0, 1)).altitude, 120.0, at(-600), at(600)
    )
    v = vol(circle(0.05, 0.0, 2_000.0), start_min=180, end_min=240, buffers=Buffers())
    req = zone_requirements(v, [zone], submitted_at=at(0))
    assert [(r.zone, r.late) for r in req] == [("Z1", False)]
    assert zone_requirements(v, [zone], submitted_at=at(61))[0].late
    assert zone_requirements(vol(circle(5.0, 5.0, 100.0)), [zone], submitted_at=at(0)) == []
