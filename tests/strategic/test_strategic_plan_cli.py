"""`deconflict plan check` and the GeoJSON plan profile: output, policies, bad input (exit 2)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import shape

from deconflict.cli import main
from deconflict.errors import InvalidInputError
from deconflict.formats.geojson import plan_from_geojson, plan_to_geojson, read_plan

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "src/deconflict/examples/corridor_vs_exercise.geojson"
)


def _feature(geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    base = {
        "id": "f1",
        "party": "red",
        "alt_lower_ft": 0,
        "alt_upper_ft": 5000,
        "start": "2026-11-26T10:00:00Z",
        "end": "2026-11-26T11:00:00Z",
    }
    base.update(props)
    return {"type": "Feature", "geometry": geometry, "properties": base}


SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1], [0, 0]]]}


def _run(tmp_path: Path, doc: dict[str, Any], *args: str, capsys: Any) -> tuple[int, str, str]:
    path = tmp_path / "plan.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code = main(["plan", "check", str(path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_example_file_reports_the_corridor_crossing(tmp_path: Path, capsys: Any) -> None:
    code = main(["plan", "check", str(EXAMPLE)])
    out, err = capsys.readouterr()
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["a"], r["b"], r["parties"]) for r in records] == [
        ("BLUE-EX-1", "RED-TR-1", ["blue", "red"])
    ]
    ov = records[0]["overlap"]
    assert set(ov) >= {"geometry", "alt_lower_ft", "alt_upper_ft", "start", "end"}
    assert (ov["alt_lower_ft"], ov["alt_upper_ft"]) == (8000.0, 10000.0)
    assert (ov["start"], ov["end"]) == ("2026-11-26T11:30:00Z", "2026-11-26T12:15:00Z")
    assert ov["margins"] == {"lateral_nm": 0.0, "vertical_ft": 0.0, "time_min": 0.0}
    geom = shape(ov["geometry"])
    assert geom.is_valid and geom.area > 0
    assert "checked 4 volumes of 2 parties: 1 conflicts" in err
    code = main(["plan", "check", str(EXAMPLE), "--policy", "f3548"])
    rec = json.loads(capsys.readouterr()[0].splitlines()[0])
    assert rec["outcome"]["decision"] == "reject" and rec["outcome"]["rejected"] == "RED-TR-1"


def test_half_open_switch(tmp_path: Path, capsys: Any) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            _feature(SQUARE, id="a", party="red"),
            _feature(
                SQUARE,
                id="b",
                party="blue",
                start="2026-11-26T11:00:00Z",
                end="2026-11-26T12:00:00Z",
            ),
        ],
    }
    code, out, _ = _run(tmp_path, doc, capsys=capsys)
    assert code == 0 and len(out.splitlines()) == 1
    code, out, _ = _run(tmp_path, doc, "--half-open-time", capsys=capsys)
    assert code == 0 and out == ""


def test_agreed_line_crossing(tmp_path: Path, capsys: Any) -> None:
    line = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[0.05, -1], [0.05, 1]]},
        "properties": {
            "id": "L1",
            "kind": "deconfliction_line",
            "sides": {"red": "left", "blue": "right"},
        },
    }
    west = {
        "type": "Polygon",
        "coordinates": [[[-0.2, 0], [0.0, 0], [0.0, 0.1], [-0.2, 0.1], [-0.2, 0]]],
    }
    doc = {
        "type": "FeatureCollection",
        "features": [
            line,
            _feature(SQUARE, id="red-over", party="red"),  # 0..0.1 crosses x=0.05 to the east
            _feature(west, id="red-ok", party="red"),
            _feature(west, id="blue-wrong", party="blue"),
        ],
    }
    code, out, _ = _run(tmp_path, doc, capsys=capsys)
    assert code == 0
    recs = [json.loads(x) for x in out.splitlines() if '"line"' in x]
    got = sorted((r["line"], r["volume"], r["party"]) for r in recs)
    assert got == [("L1", "blue-wrong", "blue"), ("L1", "red-over", "red")]
    red = next(r for r in recs if r["volume"] == "red-over")
    assert red["depth_nm"] == pytest.approx(0.05 * 60.0, rel=0.01)


BAD_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "bow-tie",
        _feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}),
        "geometry.coordinates[0]",
    ),
    (
        "two vertices",
        _feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0], [0, 0]]]}),
        "geometry.coordinates[0][0]",
    ),
    (
        "unclosed",
        _feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
        "geometry.coordinates[0][0]",
    ),
    (
        "lat>90",
        _feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 91], [0, 0]]]}),
        "geometry.coordinates[0][0][2]",
    ),
    (
        "radius<=0",
        _feature({"type": "Point", "coordinates": [0, 0]}, radius_nm=0),
        "geometry.radius_nm",
    ),
    (
        "negative radius_m",
        _feature({"type": "Point", "coordinates": [0, 0]}, radius_m=-5),
        "geometry.radius_m",
    ),
    ("circle+polygon", _feature(SQUARE, radius_nm=5), "radius_nm"),
    ("lower>upper", _feature(SQUARE, alt_lower_ft=6000, alt_upper_ft=5000), "alt_lower_ft"),
    ("unknown reference", _feature(SQUARE, alt_reference="qfe"), "alt_reference"),
    ("unknown unit", _feature(SQUARE, alt_lower_km=1, alt_upper_km=2), "alt_lower_km"),
    ("start after end", _feature(SQUARE, start="2026-11-26T12:00:00Z"), "start"),
    ("naive time", _feature(SQUARE, start="2026-11-26T10:00:00"), "start"),
    (
        "corridor without width",
        _feature({"type": "LineString", "coordinates": [[0, 0], [1, 0]]}),
        "half_width_nm",
    ),
    ("no party", _feature(SQUARE, party=""), "party"),
]


@pytest.mark.parametrize(("name", "bad", "field"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_is_rejected_naming_feature_and_field(
    name: str, bad: dict[str, Any], field: str, tmp_path: Path, capsys: Any
) -> None:
    good = _feature(SQUARE, id="ok", party="blue")
    other = _feature(SQUARE, id="ok2", party="red")
    bad = copy.deepcopy(bad)
    bad["properties"]["id"] = "BAD-7"
    doc = {"type": "FeatureCollection", "features": [good, other, bad]}
    with pytest.raises(InvalidInputError) as info:
        plan_from_geojson(doc)
    assert info.value.field == field
    assert info.value.row == "feature BAD-7"
    code, out, err = _run(tmp_path, doc, capsys=capsys)
    assert code == 2
    assert out == ""  # nothing partial: the good pair conflicts but is not reported
    assert err.startswith("deconflict: error: feature BAD-7, field ") and field in err


def test_antimeridian_written_both_ways_is_accepted(tmp_path: Path, capsys: Any) -> None:
    a = {
        "type": "Polygon",
        "coordinates": [[[179.5, 10], [-179.5, 10], [-179.5, 11], [179.5, 11], [179.5, 10]]],
    }
    b = {
        "type": "Polygon",
        "coordinates": [
            [[179.9, 10.2], [180.4, 10.2], [180.4, 10.4], [179.9, 10.4], [179.9, 10.2]]
        ],
    }
    doc = {
        "type": "FeatureCollection",
        "features": [_feature(a, id="a", party="red"), _feature(b, id="b", party="blue")],
    }
    code, out, _ = _run(tmp_path, doc, capsys=capsys)
    assert code == 0 and len(out.splitlines()) == 1
    geom = json.loads(out)["overlap"]["geometry"]
    assert geom["type"] == "MultiPolygon"


def test_geojson_round_trip() -> None:
    plan = read_plan(EXAMPLE.read_text(encoding="utf-8"))
    again = plan_from_geojson(plan_to_geojson(plan))
    assert [p.volume for p in again.volumes] == [p.volume for p in plan.volumes]
    assert [(p.key, p.party, p.notice, p.priority) for p in again.volumes] == [
        (p.key, p.party, p.notice, p.priority) for p in plan.volumes
    ]


def test_unknown_policy_and_missing_file(tmp_path: Path, capsys: Any) -> None:
    assert main(["plan", "check", str(EXAMPLE), "--policy", "loudest"]) == 2
    assert "policy" in capsys.readouterr()[1]
    assert main(["plan", "check", str(tmp_path / "nope.geojson")]) == 2


def test_output_schema_does_not_drift(capsys: Any) -> None:
    """Consumers (broker, dashboards) parse these keys: changing them must be deliberate."""
    assert main(["plan", "check", str(EXAMPLE)]) == 0
    record = json.loads(capsys.readouterr()[0].splitlines()[0])
    assert set(record) == {"a", "b", "parties", "overlap", "outcome"}
    assert set(record["overlap"]) == {
        "geometry",
        "alt_lower_ft",
        "alt_upper_ft",
        "alt_reference",
        "approximate",
        "start",
        "end",
        "margins",
    }
    assert set(record["overlap"]["margins"]) == {"lateral_nm", "vertical_ft", "time_min"}
    assert set(record["outcome"]) == {"policy", "decision", "notify"}
