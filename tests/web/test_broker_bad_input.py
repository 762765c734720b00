"""Bad input from the strategic issue reaches the API as 422 naming the field; nothing stored."""

from __future__ import annotations

import copy
from typing import Any

from broker_testkit import BrokerEnv, circle, notice

POLY = {
    "type": "polygon",
    "coordinates": [[[10, 50], [10.5, 50], [10.5, 50.5], [10, 50.5], [10, 50]]],
}


def _with(path: list[Any], value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    body = copy.deepcopy(base or notice(circle(10.0, 50.0)))
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


V = ["volumes", 0]
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("bow-tie polygon",
     _with([*V, "footprint"], {"type": "polygon",
           "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}), "volumes[0].footprint"),
    ("fewer than 3 distinct vertices",
     _with([*V, "footprint"], {"type": "polygon",
           "coordinates": [[[0, 0], [1, 1], [0, 0], [0, 0]]]}), "volumes[0].footprint"),
    ("unclosed ring",
     _with([*V, "footprint"], {"type": "polygon",
           "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}), "volumes[0].footprint"),
    ("lat > 90", _with([*V, "footprint", "center"], [10.0, 91.0]), "volumes[0].footprint"),
    ("radius <= 0", _with([*V, "footprint", "radius_nm"], 0), "volumes[0].footprint"),
    ("circle and polygon at once",
     _with([*V, "footprint", "coordinates"], POLY["coordinates"]), "volumes[0].footprint"),
    ("lower > upper", _with([*V, "altitude", "lower"], 20_000), "volumes[0].altitude"),
    ("unknown altitude reference", _with([*V, "altitude", "reference"], "furlongs"),
     "volumes[0].altitude"),
    ("start after end", _with([*V, "start"], "2099-01-01T00:00:00Z"), "volumes[0]"),
    ("time without a zone", _with([*V, "start"], "2030-01-01T10:00:00"), "volumes[0].start"),
    ("no volumes", _with(["volumes"], []), "volumes"),
    ("unknown category", _with(["category"], "picnic"), "category"),
    ("unknown volume field", _with([*V, "colour"], "red"), "volumes[0].colour"),
    ("second volume broken",
     _with(["volumes"], [circle(1, 1), {**circle(2, 2), "end": "yesterday"}]), "volumes[1].end"),
    ("in the past", _with(["volumes"], [circle(1, 1, start_h=-10)]), "volumes[0].end"),
    ("beyond the planning horizon", _with(["volumes"], [circle(1, 1, start_h=24 * 40)]),
     "volumes[0].start"),
]  # fmt: skip


def test_bad_notices_are_422_with_field_pointers_and_nothing_is_stored(env: BrokerEnv) -> None:
    failures = []
    for name, body, field_prefix in CASES:
        r = env.client.post("/v1/notices", json=body, headers=env.h("A.duty_officer"))
        errors = r.json().get("errors") or [{}]
        field = str(errors[0].get("field", ""))
        ok = (
            r.status_code == 422
            and r.headers["content-type"].startswith("application/problem+json")
            and field.startswith(field_prefix)
            and errors[0].get("reason")
        )
        if not ok:
            failures.append(f"{name}: {r.status_code} {r.text[:200]}")
    assert failures == []
    assert env.client.get("/v1/notices?state=all", headers=env.h("A.viewer")).json() == []
    # the antimeridian is handled, not refused: a polygon written either way is accepted
    for ring in ([[179.5, 0], [-179.5, 0], [-179.5, 1], [179.5, 1], [179.5, 0]],
                 [[179.5, 0], [180.5, 0], [180.5, 1], [179.5, 1], [179.5, 0]]):  # fmt: skip
        body = _with([*V, "footprint"], {"type": "polygon", "coordinates": [ring]})
        r = env.client.post("/v1/notices", json=body, headers=env.h("A.duty_officer"))
        assert r.status_code == 201, r.text
