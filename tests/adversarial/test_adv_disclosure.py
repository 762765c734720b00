"""Attack 1 (and 9's validation gaps): a hostile party A probing B's and C's plans.

A shares an advisory agreement with B and an F3548 agreement with D; C shares none with A.
Every test asserts the bounded outcome: out-of-limit volumes get a 422 naming the field and the
limit, the exact geometry A can learn of B stays within the disclosure budget, nothing of C's
geometry ever reaches A, and each party can list what its counterparts learned.
"""

from __future__ import annotations

from typing import Any

import pytest
import shapely
from adv_kit import World, circle, fields_of, notice, square
from pyproj import Geod

from deconflict.ledger import Verifier, verify_bundle

GEOD = Geod(ellps="WGS84")


def _area_km2(geometry: dict[str, Any]) -> float:
    geom = shapely.geometry.shape(geometry)
    area, _ = GEOD.geometry_area_perimeter(shapely.geometry.polygon.orient(geom, 1.0)
                                           if geom.geom_type == "Polygon" else geom)  # fmt: skip
    return abs(float(area)) / 1e6


def _conflicts(world: World, who: str) -> list[dict[str, Any]]:
    r = world.get(who, "/v1/conflicts?limit=1000&status=all")
    assert r.status_code == 200, r.text
    body = r.json()
    return list(body["conflicts"] if isinstance(body, dict) else body)


def test_whole_area_notice_is_refused_naming_the_limit(world: World) -> None:
    """A 500 NM circle, -1000..99,000 ft, for a month: each out-of-limit field gets a 422."""
    cases = {
        "volumes[0].footprint": circle(20.5, 50.5, 500.0),
        "volumes[0].altitude": circle(20.5, 50.5, 5.0, lower=-1000, upper=99_000),
        "volumes[0].end": circle(20.5, 50.5, 5.0, hours=24 * 30),
    }
    for field, vol in cases.items():
        r = world.post("A.duty_officer", "/v1/notices", notice(vol))
        assert r.status_code == 422, (field, r.status_code, r.text)
        assert any(f.startswith(field) for f in fields_of(r)), (field, r.json())
        assert "limit" in r.text.lower() or "at most" in r.text.lower(), r.text


def test_unbounded_buffers_are_refused(world: World) -> None:
    """The 1,500 NM / 60,000 ft / 20,000 min buffer probe: 422 naming each buffer."""
    huge = {"lateral_nm": 1500, "vertical_ft": 60_000, "before_min": 20_000, "after_min": 20_000}
    r = world.post("A.duty_officer", "/v1/notices", notice(circle(40.0, 10.0, 1.0, buffers=huge)))
    assert r.status_code == 422, r.text
    assert any(f.startswith("volumes[0].buffers.") for f in fields_of(r)), r.json()
    for name, value in (("lateral_nm", 11), ("vertical_ft", 2100), ("before_min", 61)):
        r = world.post(
            "A.duty_officer", "/v1/notices", notice(circle(40.0, 10.0, 1.0, buffers={name: value}))
        )
        assert r.status_code == 422, (name, r.text)
        assert f"volumes[0].buffers.{name}" in fields_of(r), r.json()


def test_validation_gaps_are_422(world: World) -> None:
    """start == end, end in 9999, start in 1970, upper 1e308: each a 422 naming the field."""
    base = circle(41.0, 11.0, 2.0)
    bad = [
        ({"end": base["start"]}, "volumes[0].end"),
        ({"end": "9999-12-31T00:00:00Z"}, "volumes[0].end"),
        ({"start": "1970-01-01T00:00:00Z"}, "volumes[0].start"),
        ({"altitude": {"lower": 0, "upper": 1e308, "reference": "ft_amsl"}}, "volumes[0].altitude"),
    ]
    for patch, field in bad:
        r = world.post("A.duty_officer", "/v1/notices", notice({**base, **patch}))
        assert r.status_code == 422, (patch, r.text)
        assert any(f.startswith(field) for f in fields_of(r)), (patch, r.json())


def test_priority_comes_from_the_agreement_not_the_request(world: World) -> None:
    """Under A–D's F3548 agreement a self-declared priority 1000 does not beat D's notice."""
    r = world.post("D.duty_officer", "/v1/notices", notice(square(30.0, 40.0, 0.2)))
    assert r.status_code == 201, r.text
    r = world.post(
        "A.duty_officer", "/v1/notices", notice(square(30.05, 40.05, 0.05), priority=1000)
    )
    assert r.status_code in (409, 422), r.text
    if r.status_code == 409:
        # the refusal tells A only what the budget allows; never D's whole square
        text = r.text
        assert "30.2" not in text and "40.2" not in text


def test_scan_reconstructs_at_most_the_budget(world: World) -> None:
    """Squares tiling B's and C's 1 x 1 deg areas: accepted, but A learns the exact geometry of
    at most the budgeted fraction of B's area x time, and nothing of C's."""
    b_area = square(20.0, 50.0, 1.0)
    c_area = square(22.0, 50.0, 1.0)
    assert world.post("B.duty_officer", "/v1/notices", notice(b_area)).status_code == 201
    assert world.post("C.duty_officer", "/v1/notices", notice(c_area)).status_code == 201
    # the scan used 200 squares of 0.1 deg; 50 of 0.2 deg tile the same areas
    probes = [square(x0 + 0.2 * i, 50.0 + 0.2 * j, 0.2) for x0 in (20.0, 22.0)
              for i in range(5) for j in range(5)]  # fmt: skip
    r = world.post("A.duty_officer", "/v1/notices", notice(*probes))
    assert r.status_code == 201, r.text
    b_total = _area_km2(b_area["footprint"]) * 2.0  # km2 x h (2-hour window)
    exact = coarse = unaffiliated = 0
    learned = 0.0
    for c in _conflicts(world, "A.duty_officer"):
        overlap = c.get("overlap") or {}
        if overlap.get("unaffiliated"):
            unaffiliated += 1
            assert "geometry" not in overlap and "coarse_area" not in overlap, c
            continue
        if overlap.get("geometry"):
            exact += 1
            hours = (_t(overlap["end"]) - _t(overlap["start"])) / 3600.0
            learned += _area_km2(overlap["geometry"]) * hours
        else:
            coarse += 1
            assert overlap.get("coarse_area", {}).get("h3_cells"), c
    assert unaffiliated >= 1, "the conflicts with C must still be reported (window only)"
    assert coarse >= 1, "past the budget conflicts are still found (coarse)"
    assert learned <= 0.1 * b_total * 1.02, (learned, b_total, exact)
    # B sees every exact disclosure in its accountability list, with the counterpart's label
    r = world.get("B.duty_officer", "/v1/disclosures")
    assert r.status_code == 200, r.text
    items = r.json()["disclosures"]
    assert sum(1 for d in items if d["exact"]) == exact
    assert all(d["counterpart"] for d in items)
    # C is told too, without geometry, and sees nothing of A's exact plans
    for c in _conflicts(world, "C.duty_officer"):
        assert "geometry" not in (c.get("overlap") or {}), c
    # Every disclosure (exact, coarse, unaffiliated) is a ledger entry its owner can open.
    for owner in ("B", "C"):
        _disclosures_are_ledger_entries(world, owner)


def _disclosures_are_ledger_entries(world: World, owner: str) -> None:
    """``owner``'s ``GET /v1/disclosures`` and the ``disclosure`` entries of its verified
    ledger export list the same disclosures (notice, kind, counterpart label, window)."""
    r = world.get(f"{owner}.viewer", "/v1/disclosures")
    assert r.status_code == 200, r.text
    listed = sorted(
        (d["own_notice_id"], d["kind"], d["counterpart"], d["start"], d["end"])
        for d in r.json()["disclosures"]
    )
    assert listed, owner
    log_key = Verifier.from_vkey(world.get(f"{owner}.viewer", "/v1/ledger/head").json()["log_key"])
    r = world.get(f"{owner}.viewer", "/v1/ledger/export?limit=10000")
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert bundle["next_index"] is None
    assert verify_bundle(bundle, log_keys=[log_key]).ok
    payloads = [e["event"]["payload"] for e in bundle["entries"]
                if e["event"]["kind"] == "disclosure"]  # fmt: skip
    logged = sorted(
        (p["own_notice_id"], p["kind"], p["counterpart"], _t(p["start"]), _t(p["end"]))
        for p in payloads
    )
    assert logged == sorted((n, k, c, _t(s), _t(e)) for n, k, c, s, e in listed), (
        owner,
        len(logged),
        len(listed),
    )


def _t(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize("n", [1])
def test_unaffiliated_conflict_raises_an_operator_event(world: World, n: int) -> None:
    """A conflict between A and C (no agreement): both told 'unaffiliated', window only."""
    assert world.post("C.duty_officer", "/v1/notices", notice(square(25.0, 45.0, 0.5))).is_success
    r = world.post("A.duty_officer", "/v1/notices", notice(square(25.1, 45.1, 0.1)))
    assert r.status_code == 201, r.text
    mine = [c for c in _conflicts(world, "A.duty_officer") if c["overlap"].get("unaffiliated")]
    assert len(mine) >= n
    assert all("geometry" not in (c.get("overlap") or {}) for c in mine)
    assert all("start" in c["overlap"] and "end" in c["overlap"] for c in mine)
    r = world.get("operator", "/v1/operator/events")
    assert r.status_code == 200, r.text
    assert any(e["kind"] == "unaffiliated_conflict" for e in r.json()["events"])
