"""Browser checks of the guidance panel (bands arcs, scales, proposed manoeuvre; issue 13) and of
the Disclosures tab (issue 11), run inside the RU/EN module's broker and pages
(tests/e2e/test_dashboard_i18n_e2e.py) so they cost no extra server start.

Every figure the screen shows is checked against the broker's own answer for the same party
(``GET /v1/aircraft/{id}/bands``, ``GET /v1/picture``, ``GET /v1/disclosures``,
``GET /v1/key-events``) and against the scenario (dashboard_scenario.py: the head-on BLUE fighter
flies 420 kt at 25,000 ft, level).
"""

from __future__ import annotations

import re
from typing import Any

from dashboard_browser import REPO
from dashboard_scenario import BLUE_CALLSIGNS, RED_CALLSIGNS, SHARED_TITLE, BrokerProcess

IMG_DIR = REPO / "test-artifacts" / "e2e"

#: The hotline template's manoeuvre of each (dimension, side) (daa/guidance.py).
MANOEUVRE = {
    ("hold", "hold"): "maintain",
    ("track_deg", "right"): "turn_right",
    ("track_deg", "left"): "turn_left",
    ("gs_kt", "up"): "increase_speed",
    ("gs_kt", "down"): "reduce_speed",
    ("vs_fpm", "up"): "set_vertical_speed",
    ("vs_fpm", "down"): "set_vertical_speed",
    ("alt_ft", "up"): "change_altitude",
    ("alt_ft", "down"): "change_altitude",
}

_REGION_COUNTS = """() => {
  const counts = {};
  for (const p of document.querySelectorAll('.leaflet-overlay-pane path.dc-band')) {
    const cls = [...p.classList].find((c) => c.startsWith('dc-band-'));
    counts[cls.slice('dc-band-'.length)] = (counts[cls.slice('dc-band-'.length)] || 0) + 1;
  }
  return {counts, bands: window.__deconflict.guidance.bands};
}"""


def _alert_view(broker: BrokerProcess, party: str, alert_id: str) -> dict[str, Any]:
    with broker.client(party) as c:
        r = c.get("/v1/picture")
        assert r.status_code == 200, r.text
        views = [a for a in r.json()["alerts"] or [] if a["id"] == alert_id]
    assert views, f"alert {alert_id} not open for {party}"
    return dict(views[0])


def check_guidance_panel(page: Any, broker: BrokerProcess, alert_id: str) -> None:
    """BLUE selects the head-on alert: arcs by region around its aircraft, three scales with the
    current values marked, the proposed manoeuvre, and the hotline form it opens."""
    own = BLUE_CALLSIGNS[0]
    # The broker's answer for the same aircraft: the head-on run-in has conflicting tracks.
    with broker.client("BLUE") as c:
        r = c.get(f"/v1/aircraft/{own}/bands")
        assert r.status_code == 200, r.text
        bands = r.json()
        # Another party's aircraft is "not found" (need to know).
        assert c.get(f"/v1/aircraft/{RED_CALLSIGNS[0]}/bands").status_code == 404
    regions = {iv["region"] for iv in bands["track_deg"]["intervals"]}
    assert "NONE" in regions and regions - {"NONE"}, bands["track_deg"]
    view = _alert_view(broker, "BLUE", alert_id)
    mine = [g for g in view["guidance"] if g["aircraft"] == own]
    assert mine, view  # a cylinder conflict gets coordinated guidance at level 1
    assert view["level"] >= 1

    row = page.locator(f"[data-testid=alert][data-alert-id='{alert_id}']")
    row.click()
    panel = page.locator("[data-testid=guidance]")
    panel.wait_for(state="visible", timeout=10000)
    page.wait_for_selector("[data-testid=band-scale-alt_ft]", timeout=60000)
    # Arcs: one SVG path per track interval, classed by region (shape and colour per region).
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-overlay-pane path.dc-band').length > 0"
    )
    got = page.evaluate(_REGION_COUNTS)  # the arcs and the bands they were drawn from, at once
    counts, shown = got["counts"], got["bands"]
    assert sum(counts.values()) == len(shown["track_deg"]["intervals"]), (counts, shown)
    assert counts.get("none", 0) >= 1 and sum(v for k, v in counts.items() if k != "none") >= 1
    for region, n in counts.items():
        want = [iv for iv in shown["track_deg"]["intervals"] if iv["region"].lower() == region]
        assert len(want) == n, (region, counts)
    # Scales: ground speed, vertical speed, altitude, each with its current value marked.
    for name, value in (("gs_kt", 420.0), ("vs_fpm", 0.0), ("alt_ft", 25000.0)):
        marker = page.locator(f"[data-testid=band-current-{name}]")
        assert abs(float(marker.get_attribute("data-value") or "nan") - value) < 1.0, name
        assert page.locator(f"[data-testid=band-scale-{name}] rect.band-seg").count() >= 1
    assert "420 kt" in panel.locator("[data-testid=band-value-gs_kt]").inner_text()
    assert "25,000 ft" in panel.locator("[data-testid=band-value-alt_ft]").inner_text()
    # The legend names every region (text as well as colour).
    legend = panel.locator("[data-testid=band-legend]").inner_text()
    for word in ("conflict-free", "far", "mid", "near", "recovery"):
        assert word in legend, legend
    # The proposed manoeuvre, worded with the hotline catalogue's label.
    g, text = page.evaluate(
        """(id) => [window.__deconflict.guidance.alert.raw.guidance[0],
          document.querySelector('[data-testid=guidance-manoeuvre]').innerText]""",
        alert_id,
    )
    assert g["aircraft"] == own
    name = MANOEUVRE[(g["dimension"], g["side"])]
    labels = broker_labels(broker)
    assert labels[name] in text, (text, g)
    counterpart = panel.locator("[data-testid=guidance-counterpart]").inner_text()
    assert ("compatible manoeuvre" in counterpart) == bool(view["counterpart_guided"])
    # Readable at 1366x768: the panel lies inside the map, nothing spills sideways.
    box = panel.bounding_box()
    map_box = page.locator("#map").bounding_box()
    assert box and map_box and box["x"] >= map_box["x"] and box["y"] >= map_box["y"]
    assert box["x"] + box["width"] <= map_box["x"] + map_box["width"] + 1
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1366
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG_DIR / "dashboard-guidance-1366.png"))
    check_same_numbers_in_russian(page, panel)
    # Send / confirm via hotline: the coordinated_guidance template, prefilled, accepted.
    # Keyboard: key G focuses the confirm button, Enter presses it.
    page.keyboard.press("g")
    focused = page.evaluate("() => document.activeElement.dataset.testid")
    assert focused == "guidance-confirm", focused
    page.keyboard.press("Enter")
    form = page.locator("[data-testid=hotline-form]")
    form.wait_for(timeout=10000)
    assert form.locator("[data-testid=hotline-template]").input_value() == "coordinated_guidance"
    assert form.locator("[name=manoeuvre]").input_value() == name
    assert form.locator("[name=alert_ref]").input_value() == alert_id
    # To the other party our aircraft is its alert handle, never its id (hotline.js ownHandle).
    handle = form.locator("[name=track_ref]").input_value()
    assert handle != own and handle.startswith(f"{alert_id}-"), handle
    assert form.locator("[name=status]").input_value() == "guidance_confirmed"
    form.locator("[data-testid=hotline-send]").click()
    page.wait_for_selector("[data-testid=hotline-form]", state="detached", timeout=15000)
    page.wait_for_selector(
        "[data-testid=hotline-message][data-template=coordinated_guidance].outgoing",
        timeout=15000,
    )
    # Deselecting hides the panel and removes the arcs.
    row.click()
    panel.wait_for(state="hidden", timeout=5000)
    assert page.locator(".leaflet-overlay-pane path.dc-band").count() == 0
    assert not page.errors, page.errors


_STATE = """() => JSON.stringify([window.__deconflict.guidance.bands,
  window.__deconflict.guidance.alert && window.__deconflict.guidance.alert.raw.guidance])"""
_NUMBERS = {
    "en": re.compile(r"-?\d[\d,]*(?:\.\d+)?"),
    "ru": re.compile(r"-?\d[\d\u00a0\u202f]*(?:,\d+)?"),
}


def _figures(text: str, lang: str) -> list[float]:
    """The numbers of a text, read with ``lang``'s group and decimal separators."""
    if lang == "en":
        return [float(x.replace(",", "")) for x in _NUMBERS["en"].findall(text)]
    return [
        float(re.sub(r"[\u00a0\u202f]", "", x).replace(",", "."))
        for x in _NUMBERS["ru"].findall(text)
    ]


def check_same_numbers_in_russian(page: Any, panel: Any) -> None:
    """The panel in Russian: translated words, the same numbers and units as in English."""
    parts = ("guidance-manoeuvre", "band-track", "band-value-gs_kt", "band-value-alt_ft")
    for _attempt in range(4):  # both languages read from one state of bands and guidance
        before = page.evaluate(_STATE)
        en = [panel.locator(f"[data-testid={p}]").inner_text() for p in parts]
        page.click("[data-testid=lang-ru]")
        page.wait_for_function("() => document.documentElement.lang === 'ru'")
        ru = [panel.locator(f"[data-testid={p}]").inner_text() for p in parts]
        page.screenshot(path=str(IMG_DIR / "dashboard-guidance-ru-1366.png"))
        page.click("[data-testid=lang-en]")
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        if page.evaluate(_STATE) == before:
            break
    assert re.search("[А-Яа-я]", ru[0]) and "→" in ru[0], ru
    for e, r in zip(en, ru, strict=True):
        assert _figures(e, "en") == _figures(r, "ru"), (e, r)
    assert "фт" in ru[3] and "уз" in ru[2], ru


def broker_labels(broker: BrokerProcess, lang: str = "en") -> dict[str, str]:
    """The hotline catalogue's value labels the dashboard uses (``/i18n/<lang>.json``)."""
    with broker.client("BLUE") as c:
        r = c.get(f"/i18n/{lang}.json")
        assert r.status_code == 200
        return dict(r.json()["hotline"]["values"])


def check_disclosures_tab(page: Any, broker: BrokerProcess, party: str) -> None:
    """The party's Disclosures tab lists what the other side learned of its conflicting notice
    (the CAP areas overlap) and every key issuance, as the broker reports them."""
    with broker.client(party) as c:
        disclosures = c.get("/v1/disclosures").json()["disclosures"]
        keys = c.get("/v1/key-events").json()["events"]
    assert disclosures, "the overlapping CAP notices disclosed nothing"
    ids: dict[str, str] = broker.notice_ids  # type: ignore[attr-defined]
    assert {d["own_notice_id"] for d in disclosures} == {ids[SHARED_TITLE[party]]}
    page.click("[data-testid=tab-disclosures]")
    page.wait_for_selector("[data-testid=disclosure-row]", timeout=15000)
    page.wait_for_function(
        "(n) => document.querySelectorAll('[data-testid=disclosure-row]').length === n",
        arg=len(disclosures),
        timeout=10000,
    )
    rows = page.locator("[data-testid=disclosure-row]")
    first = rows.first.inner_text()
    assert SHARED_TITLE[party] in first, first
    assert disclosures[0]["counterpart"] in first, first
    exact = "1" if disclosures[0]["exact"] else "0"
    assert rows.first.get_attribute("data-exact") == exact
    assert page.locator("[data-testid=key-event-row]").count() == len(keys)
    assert page.inner_text("#disclosure-badge") == str(len(disclosures))
