"""The duty officer's dashboard in headless Chromium against a real broker (``deconflict serve``).

Scenario (tests/e2e/dashboard_scenario.py): BLUE and RED with overlapping CAP notices (a disclosed
overlap on both sides), one private notice each, and live tracks: each side's fighters, two of
them head-on (a tactical alert on both sides). The tests check need-to-know on the screen, the
alert on both sides and its one-click acknowledgement, a hotline round trip, the ledger
verification in the browser, and the live-stream banner when the server stops. Screenshots of
both views go to test-artifacts/e2e/ (the README's come from the demo: test_dashboard_demo_e2e.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dashboard_browser import REPO, open_dashboard, wait_ready
from dashboard_scenario import (
    BLUE_CALLSIGNS,
    BLUE_PRIVATE,
    RED_CALLSIGNS,
    RED_PRIVATE,
    SHARED_TITLE,
    BrokerProcess,
    track_batch,
)

pytestmark = pytest.mark.e2e

IMG_DIR = REPO / "test-artifacts" / "e2e"


class TrackFeeder:
    """Posts both parties' tracks to ``POST /v1/tracks`` once a second (like their radars)."""

    def __init__(self, broker: BrokerProcess) -> None:
        self.broker = broker
        self.start = datetime.now(UTC)
        self.stop_event = threading.Event()
        self.errors: list[str] = []
        self.posted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def feed_once(self) -> None:
        now = datetime.now(UTC)
        elapsed = (now - self.start).total_seconds()
        for party in ("BLUE", "RED"):
            with self.broker.client(party) as c:
                r = c.post("/v1/tracks", json=track_batch(party, now, elapsed))
                if r.status_code >= 300:
                    self.errors.append(f"{party}: {r.status_code} {r.text[:300]}")
                else:
                    self.posted += 1

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.feed_once()
            except Exception as exc:  # the server may be stopping
                self.errors.append(repr(exc))
            self.stop_event.wait(1.0)

    def __enter__(self) -> TrackFeeder:
        # The live engine answers 503 while the server is still starting: retry briefly.
        deadline = time.monotonic() + 20
        while True:
            self.errors.clear()
            self.feed_once()
            if not self.errors or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def feeder(broker: BrokerProcess) -> Iterator[TrackFeeder]:
    """Live tracks for the whole module."""
    with TrackFeeder(broker) as f:
        assert not f.errors, f.errors
        yield f


@pytest.fixture(scope="module")
def blue(browser: Any, broker: BrokerProcess, feeder: TrackFeeder) -> Iterator[Any]:
    """BLUE's signed-in dashboard."""
    page = open_dashboard(browser, broker.url, broker.keys["BLUE"])
    wait_ready(page)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def red(browser: Any, broker: BrokerProcess, feeder: TrackFeeder) -> Iterator[Any]:
    """RED's signed-in dashboard."""
    page = open_dashboard(browser, broker.url, broker.keys["RED"])
    wait_ready(page)
    yield page
    page.context.close()


def own_callsigns(page: Any) -> set[str]:
    return set(page.evaluate("() => window.__deconflict.aircraft._own.map((t) => t.callsign)"))


def disclosed(page: Any) -> list[dict[str, Any]]:
    return list(
        page.evaluate(
            "() => window.__deconflict.aircraft._others.map((t) => ({id: t.id,"
            " callsign: t.callsign, lat: t.lat}))"
        )
    )


def test_operator_key_sees_no_party_data(browser: Any, broker: BrokerProcess) -> None:
    page = open_dashboard(browser, broker.url, broker.keys["operator"])
    page.wait_for_selector("[data-testid=operator-msg]", state="visible")
    assert page.inner_text("[data-testid=operator-msg]") == "operator: no party data"
    assert page.is_hidden("#screen")
    page.context.close()


def test_wrong_key_is_refused(browser: Any, broker: BrokerProcess) -> None:
    page = open_dashboard(browser, broker.url, "dk_nope_not-a-key")
    page.wait_for_function("document.getElementById('signin-error').textContent.length > 0")
    assert "not recognised" in page.inner_text("#signin-error")
    assert page.is_hidden("#screen")
    page.context.close()


@pytest.mark.parametrize("party", ["BLUE", "RED"])
def test_each_party_sees_own_aircraft_and_notices_only(
    party: str, blue: Any, red: Any, broker: BrokerProcess
) -> None:
    page = blue if party == "BLUE" else red
    mine, theirs = (
        (BLUE_CALLSIGNS, RED_CALLSIGNS) if party == "BLUE" else (RED_CALLSIGNS, BLUE_CALLSIGNS)
    )
    own_private, other_private = (
        (BLUE_PRIVATE, RED_PRIVATE) if party == "BLUE" else (RED_PRIVATE, BLUE_PRIVATE)
    )
    page.wait_for_function(
        f"() => window.__deconflict.aircraft._own.length === {len(mine)}", timeout=20000
    )
    assert own_callsigns(page) == set(mine)
    # Other parties' aircraft appear only under alert handles, never with their callsigns.
    for t in disclosed(page):
        assert t["callsign"] not in theirs and t["id"] not in theirs
    # Own notices on the timeline and the map; never the other side's.
    bars = page.inner_text("[data-testid=timeline]")
    assert SHARED_TITLE[party] in bars and own_private in bars
    ids: dict[str, str] = broker.notice_ids  # type: ignore[attr-defined]
    other = "RED" if party == "BLUE" else "BLUE"
    for title in (SHARED_TITLE[party], own_private):
        assert page.locator(f"[data-testid=timeline-bar][data-id='{ids[title]}']").count() == 1
    for title in (SHARED_TITLE[other], other_private):
        assert page.locator(f"[data-testid=timeline-bar][data-id='{ids[title]}']").count() == 0
    html = page.content()
    assert other_private not in html
    assert SHARED_TITLE[other] not in html
    for callsign in theirs:
        assert callsign not in html
    assert page.evaluate("() => window.__deconflict.state.notices.length") == 2


def test_disclosed_overlap_shown_on_both_sides(blue: Any, red: Any) -> None:
    for page in (blue, red):
        page.wait_for_selector("[data-testid=timeline-overlap]", timeout=15000)
        assert page.locator("[data-testid=timeline-overlap]").count() >= 1
        # The conflicting own bar is outlined red.
        assert page.locator("[data-testid=timeline-bar].conflict").count() >= 1
        page.click("button[data-tab=conflicts]")
        assert page.locator("[data-testid=conflict-item]").count() >= 1
        page.click("button[data-tab=hotline]")


def test_alert_appears_on_both_sides_and_ack_works(blue: Any, red: Any) -> None:
    conflict = "[data-testid=alert][data-kind=conflict]"
    for page in (blue, red):
        page.wait_for_selector(conflict, timeout=30000)
    blue_id = blue.locator(conflict).first.get_attribute("data-alert-id")
    red_id = red.locator(conflict).first.get_attribute("data-alert-id")
    assert blue_id == red_id  # one alert, shown to both parties
    row_of = f"[data-testid=alert][data-alert-id='{blue_id}']"
    for page, mine, theirs in (
        (blue, BLUE_CALLSIGNS[0], RED_CALLSIGNS[0]),
        (red, RED_CALLSIGNS[0], BLUE_CALLSIGNS[0]),
    ):
        row = page.locator(row_of)
        text = row.inner_text()
        assert mine in text and theirs not in text
        # The countdown runs (a time, or LoS once it has been reached).
        countdown = row.locator("[data-testid=alert-countdown]").inner_text()
        assert countdown == "LoS" or ":" in countdown
        # The other aircraft is disclosed by the alert (a handle, not its callsign).
        page.wait_for_function("() => window.__deconflict.aircraft._others.length >= 1")
    # Selecting the alert centres the map on the conflict geometry (paths + CPA).
    blue.locator(row_of).click()
    blue.wait_for_function("() => window.__deconflict.state.selectedAlert !== null")
    blue.wait_for_selector(".leaflet-tooltip:has-text('CPA')")
    # One click acknowledges; the other side's acknowledgement is its own.
    blue.locator(f"{row_of} [data-testid=alert-ack]").click()
    blue.wait_for_selector(f"{row_of} [data-testid=alert-acked]", timeout=10000)
    red.wait_for_timeout(2500)
    assert red.locator(f"{row_of} [data-testid=alert-ack]").count() == 1
    red.locator(f"{row_of} [data-testid=alert-ack]").click()
    red.wait_for_selector(f"{row_of} [data-testid=alert-acked]", timeout=10000)
    # The acknowledgement is the server's state: it survives a reload of the picture.
    blue.wait_for_timeout(2500)
    assert blue.locator(f"{row_of} [data-testid=alert-acked]").count() == 1


def test_hotline_message_crosses_and_is_acknowledged(blue: Any, red: Any) -> None:
    blue.click("button[data-tab=hotline]")
    red.click("button[data-tab=hotline]")
    blue.click("[data-testid=hotline-new]")
    form = blue.locator("[data-testid=hotline-form]")
    form.locator("[data-testid=hotline-template]").select_option("comm_check")
    form.locator("[data-testid=hotline-precedence]").select_option("immediate")
    recipient = form.locator("[data-testid=hotline-recipient]")
    if recipient.evaluate("(n) => n.tagName") == "SELECT":
        recipient.select_option(label="RED")
    else:
        recipient.fill("RED")
    for field in form.locator("input[required][data-field]").all():
        name = field.get_attribute("data-field") or ""
        if field.input_value():
            continue  # prefilled (times default to now)
        field.fill("E2E-1" if "id" in name or "ref" in name else "1")
    form.locator("[name=__subject]").fill("E2E comm check")
    form.locator("[data-testid=hotline-send]").click()
    # Other threads may exist (an advisory conflict opens one): follow this message's thread.
    subject = "E2E comm check"
    blue_thread = blue.locator("[data-testid=hotline-thread]", has_text=subject)
    blue_thread.locator("[data-testid=hotline-message]").first.wait_for(timeout=15000)
    assert blue.locator("[data-testid=hotline-form-error]").count() == 0
    # RED receives it (stream push) with an acknowledgement countdown, and acks. The event names
    # the thread by id (its subject is not in the message), so RED's thread is found by id.
    thread_id = blue_thread.get_attribute("data-thread-id")
    red_thread = red.locator(f"[data-testid=hotline-thread][data-thread-id='{thread_id}']")
    red_thread.locator("[data-testid=hotline-ack]").first.wait_for(timeout=20000)
    msg = red_thread.locator("[data-testid=hotline-message]").first
    assert "IMMEDIATE" in msg.inner_text()
    assert "ack due" in msg.locator("[data-testid=ack-countdown]").inner_text()
    red_thread.locator("[data-testid=hotline-ack]").first.click()
    red_thread.locator("[data-testid=hotline-acked]").first.wait_for(timeout=15000)
    # BLUE sees RED's acknowledgement.
    blue_thread.locator("[data-testid=hotline-acked]").first.wait_for(timeout=20000)
    # RED answers in the same thread (Reply): BLUE's thread now holds two messages.
    red_thread.locator("[data-testid=hotline-reply]").click()
    reply = red.locator("[data-testid=hotline-form]")
    reply.locator("[data-testid=hotline-template]").select_option("comm_check")
    for field in reply.locator("input[required][data-field]").all():
        if not field.input_value():
            field.fill("2")
    reply.locator("[data-testid=hotline-send]").click()
    blue.wait_for_function(
        """(subject) => {
          const mine = [...document.querySelectorAll('[data-testid=hotline-thread]')]
            .filter((t) => t.textContent.includes(subject));
          return mine.length === 1 &&
            mine[0].querySelectorAll('[data-testid=hotline-message]').length === 2;
        }""",
        arg=subject,
        timeout=20000,
    )
    # Russian rendering on request.
    red.click("[data-testid=lang-ru]")
    red.wait_for_function(
        "() => /[А-Яа-я]/.test(document.querySelector('[data-testid=hotline-body]').textContent)",
        timeout=15000,
    )
    red.click("[data-testid=lang-en]")


def test_ledger_head_verified_in_browser(blue: Any) -> None:
    blue.click("button[data-tab=ledger]")
    blue.wait_for_selector("[data-testid=ledger-verified]", timeout=15000)
    detail = blue.inner_text("[data-testid=ledger]")
    assert blue.get_attribute("[data-testid=ledger-verified]", "data-ok") == "1", detail
    assert blue.inner_text("[data-testid=ledger-method]") == "WebCrypto Ed25519"
    size = int(blue.inner_text("[data-testid=ledger-size]"))
    assert size >= 1
    # A later head must be a verified extension of the first (consistency proof, SHA-256).
    blue.evaluate("() => window.__deconflict.panels.ledger.refresh()")
    blue.wait_for_function(
        "() => /extends|first head/.test(document.querySelector('[data-testid=ledger-consistency]')"
        ".textContent)"
    )
    blue.click("button[data-tab=hotline]")


def test_screenshots(blue: Any, red: Any) -> None:
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    for name, page in (("blue", blue), ("red", red)):
        page.evaluate("() => window.__deconflict.panels.alertsPanel.select(null)")
        page.locator("[data-testid=alert][data-kind=conflict]").first.click()
        page.wait_for_timeout(1200)
        page.evaluate("() => window.__deconflict.fitAll()")
        page.wait_for_timeout(800)
        path = IMG_DIR / f"dashboard-{name}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 50_000
        assert page.errors == []


def test_stream_banner_when_server_stops(browser: Any, tmp_path: Path) -> None:
    b = BrokerProcess(tmp_path)
    b.setup()
    b.start()
    try:
        page = open_dashboard(browser, b.url, b.keys["BLUE"])
        wait_ready(page)
        page.wait_for_function("() => window.__deconflict.stream.isOpen()", timeout=15000)
        assert page.is_hidden("[data-testid=stream-banner]")
        b.stop()
        page.wait_for_selector("[data-testid=stream-banner]", state="visible", timeout=20000)
        text = page.inner_text("[data-testid=stream-banner]")
        assert "LIVE STREAM LOST" in text and "last update" in text
        started = time.monotonic()
        # The banner stays until the stream is back.
        page.wait_for_timeout(2000)
        assert page.is_visible("[data-testid=stream-banner]")
        assert time.monotonic() - started >= 2
        page.context.close()
    finally:
        b.stop()


def test_new_warning_sounds_unless_muted(blue: Any) -> None:
    inject = """(id) => {
        const dc = window.__deconflict;
        const fake = {id, kind: 'conflict', state: 'open', severity: 'warning',
                      losMs: Date.now() + 60000, ackedByMe: false, ackedByOther: false,
                      own: null, other: null};
        dc.panels.alertsPanel.setAlerts([...dc.state.alerts, fake]);
        return dc.tone.played;
    }"""
    before = blue.evaluate("() => window.__deconflict.tone.played")
    assert blue.evaluate(inject, "TEST-TONE-1") == before + 1
    blue.click("#mute")
    assert blue.get_attribute("#mute", "aria-pressed") == "true"
    assert blue.evaluate(inject, "TEST-TONE-2") == before + 1
    blue.click("#mute")
    assert blue.get_attribute("#mute", "aria-pressed") == "false"
    blue.evaluate(
        "() => window.__deconflict.panels.alertsPanel.setAlerts(window.__deconflict.state.alerts)"
    )
