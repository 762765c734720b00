"""The dashboard on the demo scenario (``deconflict demo`` as a subprocess on a free port).

What ``make demo`` shows, checked in headless Chromium: BLUE and RED each sign in and see exactly
their own aircraft (the set the API gives that party) and notices, never the other side's call
signs or notice titles; an alert involving both appears on both screens and one side's
acknowledgement is its own; the live-stream banner appears when the demo stops. The README's
screenshots (docs/img/dashboard-blue.png, dashboard-red.png) are taken here.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_browser import REPO, open_dashboard, wait_ready
from dashboard_scenario import BIN, free_port

pytestmark = pytest.mark.e2e

IMG_DIR = REPO / "docs" / "img"


class Demo:
    """``deconflict demo`` running in a subprocess; keys parsed from its output."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.log_path = data_dir / "demo.log"
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                str(BIN),
                "demo",
                "--port",
                str(self.port),
                "--data-dir",
                str(data_dir),
                "--speed",
                "1",
                "--duration",
                "900",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.keys: dict[str, str] = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            for party, key in re.findall(r"(BLUE|RED|CIVIL)\s+duty officer key:\s*(\S+)", text):
                self.keys[party] = key
            if "submitted" in text and {"BLUE", "RED"} <= set(self.keys):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"demo exited: {text[-2000:]}")
            time.sleep(0.3)
        raise RuntimeError(f"demo not ready: {self.log_path.read_text()[-2000:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, party: str, path: str) -> Any:
        r = httpx.get(
            self.url + path, headers={"Authorization": f"Bearer {self.keys[party]}"}, timeout=15
        )
        r.raise_for_status()
        return r.json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    d = Demo(tmp_path_factory.mktemp("demo"))
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def pages(browser: Any, demo: Demo) -> Iterator[dict[str, Any]]:
    out = {}
    for party in ("BLUE", "RED"):
        page = open_dashboard(browser, demo.url, demo.keys[party])
        page.failed = []  # HTTP errors seen by the page (an endpoint the UI calls must exist)
        page.on(
            "response",
            lambda r, page=page: (
                page.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None
            ),
        )
        wait_ready(page)
        out[party] = page
    yield out
    for page in out.values():
        page.context.close()


def _own_ids(page: Any) -> set[str]:
    return set(page.evaluate("() => window.__deconflict.aircraft._own.map((t) => t.id)"))


def test_demo_each_party_sees_exactly_its_own_picture(demo: Demo, pages: dict[str, Any]) -> None:
    for party, other in (("BLUE", "RED"), ("RED", "BLUE")):
        page = pages[party]
        # The screen shows the very set of aircraft the API gives this party (retry: 1 Hz feed).
        deadline = time.monotonic() + 20
        while True:
            api_own = {str(t["id"]) for t in demo.get(party, "/v1/picture")["own"]}
            shown = _own_ids(page)
            if (shown == api_own and shown) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert shown == api_own and len(shown) > 3
        # Nothing of the other party beyond what its alerts disclose: no call sign, no id,
        # no notice title, anywhere in the page (DOM, tooltips) or in the aircraft layer.
        other_pic = demo.get(other, "/v1/picture")["own"]
        other_names = {str(t["id"]) for t in other_pic} | {str(t["callsign"]) for t in other_pic}
        other_titles = {str(n["title"]) for n in demo.get(other, "/v1/notices")}
        own_titles = {str(n["title"]) for n in demo.get(party, "/v1/notices")}
        html = page.content()
        for name in other_names:
            assert not re.search(rf"\b{re.escape(name)}\b", html), name
        for title in other_titles:
            assert title not in html, title
        disclosed = page.evaluate(
            "() => window.__deconflict.aircraft._others.map((t) => [t.id, t.callsign])"
        )
        for ident, label in disclosed:
            assert ident not in other_names and label not in other_names
        timeline = page.inner_text("[data-testid=timeline]")
        assert own_titles and all(t[:24] in timeline for t in own_titles)


def test_demo_alert_on_both_sides(demo: Demo, pages: dict[str, Any]) -> None:
    blue, red = pages["BLUE"], pages["RED"]
    ids_js = (
        "() => window.__deconflict.state.alerts.filter((a) => a.state === 'open').map((a) => a.id)"
    )
    deadline = time.monotonic() + 120
    common: set[str] = set()
    while time.monotonic() < deadline:
        common = set(blue.evaluate(ids_js)) & set(red.evaluate(ids_js))
        if common:
            break
        time.sleep(1)
    assert common, "no alert shared by BLUE and RED within 120 s of the demo"
    alert_id = sorted(common)[0]
    row = f"[data-testid=alert][data-alert-id='{alert_id}']"
    for page in (blue, red):
        page.wait_for_selector(row, timeout=10000)
    blue.locator(f"{row} [data-testid=alert-ack]").click()
    blue.wait_for_selector(f"{row} [data-testid=alert-acked]", timeout=10000)
    acked = [a for a in demo.get("BLUE", "/v1/alerts") if a["id"] == alert_id]
    assert acked and acked[0]["acknowledged"] is True
    # RED's acknowledgement is RED's own act: its screen still asks for it.
    red_view = [a for a in demo.get("RED", "/v1/alerts") if a["id"] == alert_id]
    if red_view and red_view[0]["state"] == "open":
        assert red_view[0]["acknowledged"] is False
        assert red.locator(f"{row} [data-testid=alert-ack]").count() == 1


def test_demo_screenshots(pages: dict[str, Any]) -> None:
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    for party, page in pages.items():
        page.evaluate("() => window.__deconflict.fitAll()")
        conflict = page.locator("[data-testid=alert][data-kind=conflict]")
        if conflict.count():
            conflict.first.click()
            page.wait_for_timeout(1500)
            page.evaluate("() => window.__deconflict.fitAll()")
        page.wait_for_timeout(1200)
        path = IMG_DIR / f"dashboard-{party.lower()}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 100_000
        assert page.errors == []
        assert page.failed == []


def test_demo_stream_banner_when_demo_stops(demo: Demo, pages: dict[str, Any]) -> None:
    page = pages["BLUE"]
    page.wait_for_function("() => window.__deconflict.stream.isOpen()", timeout=15000)
    assert page.is_hidden("[data-testid=stream-banner]")
    demo.stop()
    page.wait_for_selector("[data-testid=stream-banner]", state="visible", timeout=20000)
    assert "last update" in page.inner_text("[data-testid=stream-banner]")
