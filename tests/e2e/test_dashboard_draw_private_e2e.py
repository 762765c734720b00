"""Forms drawn on the map and the private-mode view, in real Chromium on the shared broker fixture.

* A circle is drawn on the map (press on the centre, drag to the edge) into an activity
  notification: the form holds the centre (degrees) and the radius (NM, rounded up), both equal
  to what Leaflet says of those screen points; sent, the other side (RED) receives that very
  circle. A polygon drawn with clicks and closed with a double-click becomes the circle that
  contains all its corners; Escape cancels a drawing.
* Private mode: the agreement is put in private mode, BLUE and RED run the real
  ``deconflict private push`` / ``sync --reveal`` clients against the broker, and BLUE's
  dashboard (which gets only the agreement from the broker) imports BLUE's sync output: one
  hexagon per listed H3 cell and the revealed exact overlap are drawn, read in the browser only;
  switched to Russian, nothing of the tab, its tooltips or a drawing hint is left in English.
* The polygon-to-circle conversion of draw.js equals a plain Python reference on random polygons
  at the poles and across ±180°.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_browser import open_dashboard, wait_ready
from dashboard_scenario import BrokerProcess
from test_dashboard_i18n_e2e import SCAN_JS, allowed_words

from deconflict.cli import main

pytestmark = pytest.mark.e2e

EXAMPLE = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "deconflict"
    / "examples"
    / "corridor_vs_exercise.geojson"
)


def _api(broker: BrokerProcess, who: str, method: str, path: str, body: Any = None) -> Any:
    r = httpx.request(
        method,
        broker.url + path,
        json=body,
        headers={"Authorization": f"Bearer {broker.keys[who]}"},
        timeout=15,
    )
    r.raise_for_status()
    return r.json()


def _run_cli(*argv: str) -> list[dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    assert code == 0, err.getvalue()
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def blue_sync(broker: BrokerProcess, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The agreement in private mode; BLUE's output of the real ``private sync --reveal``."""
    agreement = _api(broker, "BLUE", "GET", "/v1/agreements")[0]["id"]
    grid = {"resolution": 5, "slot_s": 900, "layer_ft": 2000}
    _api(broker, "operator", "PUT", f"/v1/private/agreements/{agreement}/mode", {"grid": grid})
    tmp = tmp_path_factory.mktemp("private")
    common = {p: ["--broker", broker.url, "--key", broker.keys[p]] for p in ("BLUE", "RED")}
    state = {p: ["--state", str(tmp / p)] for p in ("BLUE", "RED")}
    for party in ("BLUE", "RED"):
        pushed = _run_cli(
            "private", "push", str(EXAMPLE), *common[party], *state[party],
            "--party", party.lower(),
        )  # fmt: skip
        assert pushed and pushed[0]["cells"] > 0
    lines: list[dict[str, Any]] = []
    for party in ("RED", "BLUE", "RED", "BLUE"):  # answer, reveal, verdicts
        lines = _run_cli("private", "sync", *common[party], *state[party], "--reveal")
    assert any("cells" in x for x in lines) and any("overlap" in x for x in lines)
    return "".join(json.dumps(x) + "\n" for x in lines)


@pytest.fixture(scope="module")
def blue(browser: Any, broker: BrokerProcess, blue_sync: str) -> Iterator[Any]:
    page = open_dashboard(browser, broker.url, broker.keys["BLUE"])
    wait_ready(page)
    yield page
    page.context.close()


def _haversine_nm(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371008.8 * math.asin(math.sqrt(h)) / 1852


def _latlng(page: Any, x: float, y: float) -> tuple[float, float]:
    """What Leaflet says is under the page point (x, y)."""
    ll = page.evaluate(
        """([x, y]) => { const m = window.__deconflict.map;
           const r = m.getContainer().getBoundingClientRect();
           const p = m.containerPointToLatLng([x - r.left, y - r.top]); return [p.lat, p.lng]; }""",
        [x, y],
    )
    return float(ll[0]), float(ll[1])


def _value(form: Any, name: str) -> float:
    return float(form.locator(f"[name='{name}']").input_value())


def test_circle_drawn_on_the_map_is_sent_and_received(blue: Any, broker: BrokerProcess) -> None:
    page = blue
    page.click("[data-testid=hotline-new]")
    form = page.locator("[data-testid=hotline-form]")
    form.locator("[data-testid=hotline-template]").select_option("activity_notification")
    box = page.locator("#map").bounding_box()
    assert box
    # Whole pixels: mouse events carry integer client coordinates.
    cx, cy = round(box["x"] + box["width"] * 0.45), round(box["y"] + box["height"] * 0.5)
    # Escape cancels: nothing is written.
    form.locator("[data-testid=draw-circle-area]").click()
    assert "Esc" in form.locator("[data-testid=draw-hint]").first.inner_text()
    page.keyboard.press("Escape")
    page.mouse.click(cx, cy)
    assert form.locator("[name='area.center.lat_deg']").input_value() == ""
    # Press on the centre, drag to the edge.
    form.locator("[data-testid=draw-circle-area]").click()
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 60, cy + 10, steps=4)
    page.mouse.move(cx + 120, cy, steps=4)
    page.mouse.up()
    centre, edge = _latlng(page, cx, cy), _latlng(page, cx + 120, cy)
    lat, lon = _value(form, "area.center.lat_deg"), _value(form, "area.center.lon_deg")
    radius = _value(form, "area.radius_nm")
    assert abs(lat - centre[0]) <= 1e-4 and abs(lon - centre[1]) <= 1e-4, (lat, lon, centre)
    want = _haversine_nm(centre, edge)
    assert want - 1e-6 <= radius <= want + 0.1 + 1e-6, (radius, want)
    assert page.evaluate("() => window.__deconflict.drawer.active") is False
    # The rest of the notification, then send.
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)
    form.locator("[name='altitude.lower_ft']").fill("5000")
    form.locator("[name='altitude.upper_ft']").fill("15000")
    form.locator("[name=start]").fill(start.strftime("%Y-%m-%dT%H:%MZ"))
    form.locator("[name=end]").fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%MZ"))
    form.locator("[data-testid=hotline-send]").click()
    page.wait_for_selector("[data-testid=hotline-form]", state="detached", timeout=15000)
    sent = page.locator(
        "[data-testid=hotline-message][data-template=activity_notification].outgoing"
    ).last
    message_id = sent.get_attribute("data-message-id")
    got = _api(broker, "RED", "GET", f"/v1/hotline/messages/{message_id}")
    area = got["fields"]["area"]
    assert area == {"center": {"lat_deg": lat, "lon_deg": lon}, "radius_nm": radius}
    assert got["recipient"]["name"] == "RED"


def test_polygon_drawn_becomes_the_circle_around_it(blue: Any) -> None:
    page = blue
    page.click("[data-testid=hotline-new]")
    form = page.locator("[data-testid=hotline-form]")
    form.locator("[data-testid=hotline-template]").select_option("laser_ew_notice")
    box = page.locator("#map").bounding_box()
    assert box
    x0, y0 = round(box["x"] + box["width"] * 0.4), round(box["y"] + box["height"] * 0.4)
    corners = [(x0, y0), (x0 + 150, y0 + 20), (x0 + 90, y0 + 130)]
    form.locator("[data-testid=draw-polygon-area]").click()
    for x, y in corners[:-1]:
        page.mouse.click(x, y)
    page.mouse.dblclick(*corners[-1])
    lat, lon = _value(form, "area.center.lat_deg"), _value(form, "area.center.lon_deg")
    radius = _value(form, "area.radius_nm")
    far = max(_haversine_nm((lat, lon), _latlng(page, x, y)) for x, y in corners)
    # Every corner inside the circle (centre rounded to 1e-4 deg: ~0.006 NM), none far inside.
    assert far <= radius + 0.01 and radius <= far + 0.12, (far, radius)
    page.click("[data-testid=hotline-new]")  # close the form: the drawing goes too
    assert page.evaluate("() => window.__deconflict.drawer.layer.getLayers().length") == 0
    assert page.errors == []


def test_private_conflicts_shown_as_cells_then_exact_overlap(
    blue: Any, blue_sync: str, broker: BrokerProcess
) -> None:
    page = blue
    tab = page.locator("[data-testid=tab-private]")
    tab.wait_for(state="visible", timeout=10000)  # the broker says: an agreement in private mode
    tab.click()
    assert page.locator("[data-testid=private-agreement]").count() == 1
    lines = [json.loads(x) for x in blue_sync.splitlines()]
    cells = {c["h3"] for x in lines if "cells" in x for c in x["cells"]}
    overlaps = [x for x in lines if "overlap" in x]
    page.locator("[data-testid=private-import]").set_input_files(
        files=[{"name": "sync.jsonl", "mimeType": "application/json", "buffer": blue_sync.encode()}]
    )
    page.wait_for_selector("[data-testid=private-conflict]", timeout=10000)
    assert page.locator("[data-testid=private-conflict]").count() == sum(
        1 for x in lines if "cells" in x
    )
    assert page.locator("[data-testid=private-overlap]").count() == len(overlaps)
    assert page.locator("[data-testid=private-agreed]").first.inner_text().startswith("✔")
    drawn = page.evaluate(
        """() => { const v = window.__deconflict.privateView;
           return {hex: v.cellsLayer.getLayers().map((l) => l.getLatLngs()[0].length),
                   overlaps: v.overlapLayer.getLayers().length}; }"""
    )
    assert len(drawn["hex"]) == len(cells) and all(n in (5, 6) for n in drawn["hex"])
    assert drawn["overlaps"] == len(overlaps)
    # The hexagons lie where the plans are (the example is in southern France).
    bounds = page.evaluate(
        """() => { const b = window.__deconflict.privateView.cellsLayer.getLayers()
           .reduce((a, l) => a.extend(l.getBounds()), L.latLngBounds([]));
           return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; }"""
    )
    assert 43.0 < bounds[0] < bounds[2] < 44.3 and 1.0 < bounds[1] < bounds[3] < 3.6, bounds
    page.locator("[data-testid=private-conflict]").first.click()
    page.wait_for_selector(".leaflet-tooltip", timeout=5000)
    # In Russian: nothing of the tab (or of a drawing hint) left in English.
    page.click("[data-testid=lang-ru]")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    words = allowed_words(broker)
    bad = page.evaluate(SCAN_JS, words)
    page.click("button[data-tab=hotline]")
    page.click("[data-testid=hotline-new]")
    page.locator("[data-testid=hotline-template]").select_option("safety_of_flight_warning")
    page.locator("[data-testid=draw-polygon-area]").click()
    bad += page.evaluate(SCAN_JS, words)
    page.keyboard.press("Escape")
    page.click("[data-testid=hotline-new]")
    page.click("[data-testid=lang-en]")
    assert not bad, bad
    assert page.errors == []


def _reference_circle(vertices: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Slow and plain: the mean of the corners' unit vectors, the farthest corner (NM)."""
    x = sum(math.cos(math.radians(a)) * math.cos(math.radians(o)) for a, o in vertices)
    y = sum(math.cos(math.radians(a)) * math.sin(math.radians(o)) for a, o in vertices)
    z = sum(math.sin(math.radians(a)) for a, _ in vertices)
    lat = math.degrees(math.atan2(z, math.hypot(x, y)))
    lon = math.degrees(math.atan2(y, x))
    return lat, lon, max(_haversine_nm((lat, lon), v) for v in vertices)


def test_polygon_circle_matches_a_reference_across_the_antimeridian_and_poles(blue: Any) -> None:
    rng = random.Random(16)
    cases = []
    for _ in range(60):
        lat0 = rng.choice([rng.uniform(-80, 80), rng.uniform(80, 89), rng.uniform(-89, -80)])
        lon0 = rng.choice([rng.uniform(-180, 180), 179.9, -179.9])
        n = rng.randint(3, 8)
        cases.append(
            [
                (
                    max(-89.9, min(89.9, lat0 + rng.uniform(-1, 1))),
                    (lon0 + rng.uniform(-1, 1) + 180) % 360 - 180,
                )
                for _ in range(n)
            ]
        )
    got = blue.evaluate(
        """async (cases) => { const d = await import('./static/js/draw.js');
           return cases.map((vs) => {
             const c = d.polygonCircle(vs.map(([lat, lon]) => ({lat, lon})));
             return [c.center.lat, c.center.lon, c.radiusNm]; }); }""",
        cases,
    )
    for vertices, (lat, lon, radius) in zip(cases, got, strict=True):
        rlat, rlon, rfar = _reference_circle(vertices)
        assert abs(lat - rlat) < 1e-9 and abs((lon - rlon + 180) % 360 - 180) < 1e-9
        assert -180 <= lon < 180
        assert rfar - 1e-6 <= radius <= rfar + 0.1 + 1e-6  # rounded up to 0.1 NM
