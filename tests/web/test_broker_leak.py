"""Need-to-know: after A and B submit overlapping notices, nothing B can read reveals A's plan
beyond the disclosed overlap (footprint, band and window)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from broker_testkit import BrokerEnv, circle, iso, notice
from sqlalchemy import select

from deconflict.store.base import Database
from deconflict.store.tables import outbox

# A's plan: a distinctive polygon whose vertices all lie far outside B's circle, a long window
# and a wide band that contain B's, a rare category, a priority value and a title.
A_VERTS = [
    [9.713571, 49.611113],
    [10.391733, 49.627919],
    [10.377791, 50.381157],
    [9.69613, 50.37777],
]
A_LOWER, A_UPPER, A_PRIORITY, A_TITLE = 1234.5, 23456.5, 937, "Operation Zanzibar-7Q"


def walk(obj: Any) -> list[Any]:
    """Every scalar in a JSON document."""
    if isinstance(obj, dict):
        return [x for k, v in obj.items() for x in [k, *walk(v)]]
    if isinstance(obj, list):
        return [x for v in obj for x in walk(v)]
    return [obj]


def test_no_response_to_b_reveals_a_beyond_the_overlap(env: BrokerEnv) -> None:
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=100)
    a_start, a_end = base - timedelta(hours=3, minutes=17), base + timedelta(hours=6, minutes=41)
    a_volume = {
        "footprint": {"type": "polygon", "coordinates": [[*A_VERTS, A_VERTS[0]]]},
        "altitude": {"lower": A_LOWER, "upper": A_UPPER, "reference": "ft_amsl"},
        "start": iso(a_start),
        "end": iso(a_end),
    }
    a = env.client.post(
        "/v1/notices",
        json={"title": A_TITLE, "category": "missile_launch", "priority": A_PRIORITY,
              "volumes": [a_volume]},
        headers=env.h("A.duty_officer"),
    )  # fmt: skip
    assert a.status_code == 201
    a_id = a.json()["id"]
    b_volume = circle(10.05, 50.0, radius_nm=3, lower_ft=5000, upper_ft=9000, start_h=100)
    b = env.client.post("/v1/notices", json=notice(b_volume), headers=env.h("B.duty_officer"))
    assert b.status_code == 201 and len(b.json()["conflicts"]) == 1

    seen: list[Any] = [b.json()]
    for path in ("/v1/conflicts", "/v1/conflicts?status=all", "/v1/notices?state=all",
                 "/v1/agreements", "/v1/me", f"/v1/agreements/{env.agreement_id}/lines",
                 "/v1/ledger/export", "/v1/ledger/head"):  # fmt: skip
        for role in ("B.viewer", "B.duty_officer", "B.party_admin"):
            r = env.client.get(path, headers=env.h(role))
            assert r.status_code == 200, (path, r.text)
            seen.append(r.json())
    cid = b.json()["conflicts"][0]["id"]
    seen.append(env.client.get(f"/v1/conflicts/{cid}", headers=env.h("B.viewer")).json())
    db = Database(env.url)  # what /v1/stream serves to B: B's outbox rows
    try:
        with db.read() as s:
            rows = s.execute(
                select(outbox.c.payload).where(outbox.c.party_id == env.party_ids["B"])
            )
            seen.extend(r.payload for r in rows)
    finally:
        db.dispose()

    text = json.dumps(seen)
    scalars = walk(seen)
    assert a_id not in text
    assert A_TITLE not in text and "missile_launch" not in text and "Zanzibar" not in text
    assert A_PRIORITY not in scalars
    assert A_LOWER not in scalars and A_UPPER not in scalars
    for t in (a_start, a_end):
        assert iso(t) not in text and iso(t).replace("Z", "+00:00") not in text
    numbers = [x for x in scalars if isinstance(x, float)]
    for lon, lat in A_VERTS:
        assert not any(abs(x - lon) < 1e-6 for x in numbers), lon
        assert not any(abs(x - lat) < 1e-6 for x in numbers), lat
    # what *is* disclosed: the overlap, inside both plans
    overlap = b.json()["conflicts"][0]["overlap"]
    assert overlap["alt_lower_ft"] == 5000 and overlap["alt_upper_ft"] == 9000
    assert overlap["start"] == b_volume["start"] and overlap["end"] == b_volume["end"]
    assert b.json()["conflicts"][0]["counterpart"] == "Party A"
