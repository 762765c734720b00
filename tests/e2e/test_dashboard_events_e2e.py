"""The dashboard applies stream events as they come: no re-fetch, exactly the server's schemas.

Against a real broker (``deconflict serve``) in headless Chromium, BLUE's screen is watched while
RED files an overlapping notice (a strategic conflict), both sides' radars report a head-on pair
(a tactical alert) and RED sends a hotline message. A MutationObserver in the page records, for
every conflict, alert and message the moment its element first appears, how many stream events
about it the page had received: each must appear after exactly **one** event, and the page must
make **no HTTP request** at all meanwhile (``page.on('request')``; the event stream itself is the
only connection). The payloads are applied as the broker sends them (``broker/events.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dashboard_browser import open_dashboard, wait_ready
from dashboard_scenario import BrokerProcess
from test_dashboard_e2e import TrackFeeder

pytestmark = pytest.mark.e2e

OBSERVE_JS = """() => {
  const h = window.__deconflict;
  h.seenAt = {};
  const count = (key) => h.events.filter((e) => e.key === key).length;
  const scan = () => {
    const sel = '[data-conflict-id],[data-alert-id],[data-message-id]';
    for (const n of document.querySelectorAll(sel)) {
      const key = n.dataset.conflictId || n.dataset.alertId || n.dataset.messageId;
      if (!(key in h.seenAt)) h.seenAt[key] = {events: count(key), atMs: Date.now()};
    }
  };
  scan();
  new MutationObserver(scan).observe(document.body, {childList: true, subtree: true});
}"""


#: [lon, lat] ring inside BLUE's CAP NORTH area (tests/e2e/dashboard_scenario.py).
SWEEP_RING = [[34.0, 35.0], [34.4, 35.0], [34.4, 35.4], [34.0, 35.4], [34.0, 35.0]]


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@pytest.fixture(scope="module")
def watched(browser: Any, broker: BrokerProcess) -> Iterator[tuple[Any, list[str]]]:
    """BLUE's screen, loaded, observed; with the list of HTTP requests it makes from now on."""
    page = open_dashboard(browser, broker.url, broker.keys["BLUE"])
    wait_ready(page)
    page.wait_for_function("() => window.__deconflict.stream.isOpen()")
    page.wait_for_timeout(500)  # let the initial loads finish
    page.evaluate(OBSERVE_JS)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/v1/stream" not in r.url else None)
    yield page, requests
    page.context.close()


def seen(page: Any, key: str) -> dict[str, Any] | None:
    return page.evaluate("(k) => window.__deconflict.seenAt[k] || null", key)


def events_about(page: Any, key: str) -> list[str]:
    return list(
        page.evaluate(
            "(k) => window.__deconflict.events.filter((e) => e.key === k).map((e) => e.kind)", key
        )
    )


def test_conflict_arrives_with_one_event_and_no_request(
    watched: tuple[Any, list[str]], broker: BrokerProcess
) -> None:
    page, requests = watched
    before = set(page.evaluate("() => window.__deconflict.state.conflictList.map((c) => c.id)"))
    # RED files a notice over BLUE's CAP area (same hours, overlapping band): a new conflict.
    start = datetime.now(UTC) + timedelta(hours=2)
    body = {
        "title": "RED LATE SWEEP",
        "category": "air_operations",
        "priority": 0,
        "volumes": [
            {
                "id": "red-sweep",
                "footprint": {"type": "polygon", "coordinates": [SWEEP_RING]},
                "altitude": {"lower": 22000, "upper": 26000, "reference": "ft_amsl"},
                "start": _iso(start),
                "end": _iso(start + timedelta(hours=1)),
            }
        ],
    }
    with broker.client("RED") as c:
        r = c.post("/v1/notices", json=body)
        assert r.status_code in (200, 201), r.text
    page.wait_for_function(
        "(n) => window.__deconflict.state.conflictList.length > n", arg=len(before), timeout=15000
    )
    new = [
        c
        for c in page.evaluate("() => window.__deconflict.state.conflictList")
        if c["id"] not in before
    ]
    assert new, "no new conflict reached BLUE"
    for c in new:
        item = page.locator(f"[data-testid=conflict-item][data-conflict-id='{c['id']}']")
        item.wait_for(state="attached", timeout=10000)
        assert events_about(page, c["id"]) == ["conflict"]
        first = seen(page, c["id"])
        assert first is not None and first["events"] == 1, first
        assert c["counterpart"] == "RED" and c["status"] == "active"
    # The overlap is on the map and on BLUE's notice row of the timeline, from the event alone.
    volume = [c for c in new if c["kind"] == "volume"]
    assert volume, new
    cid = volume[0]["id"]
    assert page.locator(f"[data-testid=timeline-overlap][data-conflict-id='{cid}']").count() >= 2
    assert requests == [], requests


def test_alert_arrives_with_one_event_and_no_request(
    watched: tuple[Any, list[str]], broker: BrokerProcess
) -> None:
    page, requests = watched
    with TrackFeeder(broker) as feeder:
        row = page.locator("[data-testid=alert][data-kind=conflict]").first
        try:
            row.wait_for(timeout=30000)
        except Exception:
            state = page.evaluate(
                "() => ({ev: window.__deconflict.events.slice(-20), errors: window.__deconflict"
                ".state.errors, open: window.__deconflict.stream.isOpen()})"
            )
            raise AssertionError(f"{state} {page.errors} {feeder.errors}") from None
        alert_id = row.get_attribute("data-alert-id")
        assert alert_id
        first = seen(page, alert_id)
        assert first is not None and first["events"] == 1, (first, events_about(page, alert_id))
        assert events_about(page, alert_id)[0] == "alert"
        # The other aircraft is drawn from the picture event (handle, never its call sign).
        page.wait_for_function(
            "(id) => window.__deconflict.aircraft._others.some((t) => t.alertId === id)",
            arg=alert_id,
            timeout=10000,
        )
        assert not feeder.errors, feeder.errors
    assert requests == [], requests


def test_hotline_message_arrives_with_one_event_and_no_request(
    watched: tuple[Any, list[str]], broker: BrokerProcess
) -> None:
    page, requests = watched
    body = {
        "recipient": "BLUE",
        "template": "query",
        "precedence": "priority",
        "subject": "RED asks",
        "fields": {"subject": "intentions", "position": {"lat_deg": 34.5, "lon_deg": 35.25}},
    }
    with broker.client("RED") as c:
        r = c.post("/v1/hotline/messages", json=body)
        assert r.status_code == 201, r.text
        message_id = r.json()["id"]
    msg = page.locator(f"[data-testid=hotline-message][data-message-id='{message_id}']")
    msg.wait_for(timeout=15000)
    first = seen(page, message_id)
    assert first is not None and first["events"] == 1, first
    assert events_about(page, message_id) == ["message"]
    text = msg.inner_text()
    # Rendered in the browser from the structured fields, with the hotline catalogue.
    assert "Query" in text and "Intentions" in text and "34.5000° N, 035.2500° E" in text, text
    assert msg.locator("[data-testid=hotline-ack]").count() == 1
    assert requests == [], requests
