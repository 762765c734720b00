"""Real geometry: the SIV Toulouse volume (French AIP via traffic) and the 58 EUROCONTROL FIRs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from shapely.geometry import shape

from deconflict.strategic import (
    AltitudeReference,
    brute_force_conflicts,
    check_pair,
    find_all_conflicts,
    footprint_from_json,
)
from geodesy_builders import corridor, vol


def _siv_volumes(shared_data: Path) -> list:  # type: ignore[type-arg]
    doc = json.loads((shared_data / "airspace_LFBOTMA_toulouse.json").read_text(encoding="utf-8"))
    out = []
    for k, s in enumerate(doc["shapes"]):
        fp = footprint_from_json({"type": "polygon", "coordinates": s["polygon"]["coordinates"]})
        out.append((f"siv{k}", vol(fp, s["lower"], s["upper"], reference=AltitudeReference.FL), s))
    return out


def test_corridor_through_siv_toulouse(shared_data: Path) -> None:
    sivs = _siv_volumes(shared_data)
    assert len(sivs) >= 2
    # a transit corridor from Agen to Carcassonne, crossing the SIV, FL30-FL50
    route = corridor([(0.62, 44.17), (1.37, 43.63), (2.35, 43.21)], 3_704.0)
    low = vol(route, 30, 50, reference=AltitudeReference.FL)
    high = vol(route, 300, 350, reference=AltitudeReference.FL)
    hits = [key for key, v, _ in sivs if check_pair(low, v) is not None]
    assert hits  # the route crosses the SIV at FL30-50
    for _key, v, raw in sivs:
        ov = check_pair(low, v)
        if ov is None:
            continue
        assert raw["lower"] * 100 <= ov.alt_lower_ft <= ov.alt_upper_ft <= raw["upper"] * 100
        inter = shape(ov.geometry)
        siv_poly = shape(raw["polygon"])
        # the overlap lies inside the SIV (up to the 4 km corridor width at the boundary)
        assert inter.area > 0 and inter.difference(siv_poly.buffer(0.001)).area < 1e-9
    assert all(check_pair(high, v) is None for _, v, _ in sivs if v.altitude.upper < 300)


@pytest.mark.slow
def test_fir_pairs_index_matches_brute_force(shared_data: Path) -> None:
    with gzip.open(shared_data / "geo/eurocontrol_firs_traffic.geojson.gz", "rt") as fh:
        doc = json.load(fh)
    items = []
    for f in doc["features"][:16]:
        g = f["geometry"]
        fp = footprint_from_json({"type": g["type"].lower(), "coordinates": g["coordinates"]})
        ident = f["properties"]["ICAO"] + f["properties"].get("IDENT", "")
        items.append((ident, f"state-{ident}", vol(fp, 0, 66_000)))
    fast = [(c.a, c.b) for c in find_all_conflicts(items)]
    slow = [(c.a, c.b) for c in brute_force_conflicts(items)]
    assert fast == slow
    assert len(fast) >= 5  # neighbouring FIRs share borders: touching counts
