"""The whole screen in Russian, the same numbers in both languages, forms from the picture.

One broker (``deconflict serve``) and two duty officers at 1366×768: BLUE (English) and RED
(Russian, remembered per key). The tests walk every panel of the Russian screen and fail on any
visible untranslated string (text nodes and title / placeholder / aria-label attributes; data
such as call signs, notice titles and ids is marked ``translate="no"`` or contains digits); check
that one alert shows the same numbers and times in English and Russian; and send a hotline
message from the form "Message about this" prefilled from the alert (position picked on the map,
a field error from the server shown next to its field first), which RED reads in Russian.
Screenshots of both languages go to test-artifacts/e2e/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from dashboard_browser import REPO, open_dashboard, wait_ready
from dashboard_guidance_checks import check_disclosures_tab, check_guidance_panel
from dashboard_scenario import BLUE_CALLSIGNS, SHARED_TITLE, BrokerProcess
from test_dashboard_e2e import TrackFeeder

pytestmark = pytest.mark.e2e

VIEWPORT = {"width": 1366, "height": 768}
IMG_DIR = REPO / "test-artifacts" / "e2e"
#: Names that are the same in every language (product, data source, language codes, UTC).
SAME_IN_EVERY_LANGUAGE = {"deconflict", "Natural", "Earth", "EN", "RU", "UTC", "WebCrypto", "Z"}

SCAN_JS = """(allowed) => {
  const ok = new Set(allowed);
  const bad = [];
  const visible = (node) => {
    if (!node || node.closest('[translate=no]')) return false;
    if (node.closest('[hidden]')) return false;
    return node.getClientRects().length > 0 && getComputedStyle(node).visibility !== 'hidden';
  };
  const check = (text, where) => {
    for (const token of text.split(/[^A-Za-z0-9_\\-\\u00B7.]+/)) {
      const word = token.replace(/^[.\\-]+|[.\\-]+$/g, '');
      if (!/[A-Za-z]/.test(word) || /\\d/.test(word) || word.length < 2) continue;
      if (word.split(/[-\\u00B7.]/).every((w) => ok.has(w) || w.length < 2)) continue;
      bad.push(`${word} <- "${text.trim().slice(0, 80)}" (${where})`);
    }
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const parent = n.parentElement;
    if (!parent || ['SCRIPT', 'STYLE', 'title'].includes(parent.tagName)) continue;
    if (n.textContent.trim() && visible(parent)) check(n.textContent, parent.tagName.toLowerCase());
  }
  for (const node of document.querySelectorAll('[title],[placeholder],[aria-label]')) {
    if (!visible(node) && !(node.closest('.leaflet-control'))) continue;
    if (node.closest('[translate=no]')) continue;
    for (const attr of ['title', 'placeholder', 'aria-label']) {
      const v = node.getAttribute(attr);
      if (v) check(v, `${node.tagName.toLowerCase()}@${attr}`);
    }
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def feeder(broker: BrokerProcess) -> Iterator[TrackFeeder]:
    with TrackFeeder(broker) as f:
        yield f


def _page(browser: Any, broker: BrokerProcess, party: str, lang: str) -> Any:
    page = open_dashboard(browser, broker.url, broker.keys[party], viewport=VIEWPORT)
    wait_ready(page)
    page.click(f"[data-testid=lang-{lang}]")
    page.wait_for_function("(l) => document.documentElement.lang === l", arg=lang)
    return page


@pytest.fixture(scope="module")
def blue(browser: Any, broker: BrokerProcess, feeder: TrackFeeder) -> Iterator[Any]:
    page = _page(browser, broker, "BLUE", "en")
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def red(browser: Any, broker: BrokerProcess, feeder: TrackFeeder) -> Iterator[Any]:
    page = _page(browser, broker, "RED", "ru")
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def alert_id(blue: Any, red: Any) -> str:
    """The head-on pair's alert, open on both screens."""
    row = "[data-testid=alert][data-kind=conflict]"
    blue.wait_for_selector(row, timeout=40000)
    red.wait_for_selector(row, timeout=40000)
    value = blue.locator(row).first.get_attribute("data-alert-id")
    assert value
    return value


def allowed_words(broker: BrokerProcess) -> list[str]:
    """Data the screen shows as written: party names, call signs, notice titles, line name."""
    words = {"BLUE", "RED", "DECONFLICTION", "LINE", *SAME_IN_EVERY_LANGUAGE}
    for title in SHARED_TITLE.values():
        words.update(title.split())
    return sorted(words)


def scan(page: Any, broker: BrokerProcess, stage: str) -> list[str]:
    return [f"[{stage}] {b}" for b in page.evaluate(SCAN_JS, allowed_words(broker))]


def test_every_panel_in_russian_is_translated(
    red: Any, broker: BrokerProcess, alert_id: str
) -> None:
    page = red
    bad: list[str] = []
    page.locator(f"[data-testid=alert][data-alert-id='{alert_id}']").click()
    page.wait_for_selector(".leaflet-tooltip", timeout=10000)
    page.wait_for_selector("[data-testid=band-legend]", timeout=60000)  # guidance panel (bands)
    bad += scan(page, broker, "map, alerts, timeline, guidance")
    page.click("button[data-tab=conflicts]")
    page.wait_for_selector("[data-testid=conflict-item]", timeout=15000)
    bad += scan(page, broker, "conflicts")
    page.click("button[data-tab=ledger]")
    page.wait_for_selector("[data-testid=ledger-verified]", timeout=15000)
    bad += scan(page, broker, "ledger")
    page.click("[data-testid=tab-disclosures]")
    page.wait_for_selector("[data-testid=disclosure-row]", timeout=15000)
    bad += scan(page, broker, "disclosures")
    page.click("button[data-tab=hotline]")
    page.wait_for_selector("[data-testid=hotline-message]", timeout=15000)
    bad += scan(page, broker, "hotline")
    page.click("[data-testid=hotline-new]")
    form = page.locator("[data-testid=hotline-form]")
    templates = form.locator("[data-testid=hotline-template] option").evaluate_all(
        "(os) => os.map((o) => o.value)"
    )
    assert len(templates) >= 10
    for name in templates:
        form.locator("[data-testid=hotline-template]").select_option(name)
        bad += scan(page, broker, f"form {name}")
    # The server's field errors, in Russian next to the field.
    form.locator("[data-testid=hotline-template]").select_option("activity_notification")
    form.locator("[data-testid=hotline-send]").click()
    page.wait_for_selector("[data-error-for='area.center.lat_deg']:not(:empty)", timeout=10000)
    assert page.inner_text("[data-error-for='area.center.lat_deg']") == "Обязательное поле."
    bad += scan(page, broker, "form errors")
    page.click("[data-testid=hotline-new]")  # close
    page.locator(f"[data-testid=alert][data-alert-id='{alert_id}']").click()  # deselect
    # Readable at 1366x768: nothing spills sideways, the alert list and the tabs are on screen.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], width
    for selector in ("[data-testid=alerts]", "button[data-tab=ledger]", "[data-testid=clock]"):
        box = page.locator(selector).bounding_box()
        assert box and box["x"] + box["width"] <= VIEWPORT["width"], (selector, box)
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG_DIR / "dashboard-red-ru-1366.png"))
    assert not bad, "\n".join(bad)
    assert not page.errors, page.errors


def test_guidance_bands_and_manoeuvre(blue: Any, broker: BrokerProcess, alert_id: str) -> None:
    """Issue 13 on screen: the selected aircraft's band arcs, scales and proposed manoeuvre."""
    check_guidance_panel(blue, broker, alert_id)


def test_disclosures_tab_lists_what_the_other_side_learned(
    blue: Any, broker: BrokerProcess
) -> None:
    """Issue 11 on screen: the conflicting CAP notice's disclosure and the key issuances."""
    check_disclosures_tab(blue, broker, "BLUE")
    blue.click("button[data-tab=hotline]")


NUMBERS = {
    "en": re.compile(r"-?\d[\d,]*(?:\.\d+)?"),
    "ru": re.compile(r"-?\d[\d\u00a0\u202f]*(?:,\d+)?"),
}


def figures(text: str, lang: str) -> list[float]:
    """The numbers of a text, read with ``lang``'s group and decimal separators."""
    out = []
    for raw in NUMBERS[lang].findall(text):
        if lang == "en":
            out.append(float(raw.replace(",", "")))
        else:
            out.append(float(re.sub(r"[\u00a0\u202f]", "", raw).replace(",", ".")))
    return out


def test_same_alert_same_numbers_in_both_languages(blue: Any, alert_id: str) -> None:
    row = blue.locator(f"[data-testid=alert][data-alert-id='{alert_id}']")
    # The alert's state (a new alert event, or a re-read picture while the stream reconnects,
    # may move the loss-of-separation time): both languages must be read from one state.
    updates = """(id) => {
      const a = window.__deconflict.state.alerts.find((x) => x.id === id);
      return a ? [a.losMs, a.hmdNm, a.vmdFt] : null;
    }"""
    for _attempt in range(5):  # read both languages from one state of the alert
        seen = blue.evaluate(updates, alert_id)
        blue.wait_for_timeout(300)  # the countdown tick (250 ms) shows the state read
        en_meta = row.locator("[data-testid=alert-meta]").inner_text()
        en_title = row.inner_text()
        blue.click("[data-testid=lang-ru]")
        blue.wait_for_function("() => document.documentElement.lang === 'ru'")
        ru_meta = row.locator("[data-testid=alert-meta]").inner_text()
        ru_title = row.inner_text()
        IMG_DIR.mkdir(parents=True, exist_ok=True)
        blue.screenshot(path=str(IMG_DIR / "dashboard-blue-ru-1366.png"))
        blue.click("[data-testid=lang-en]")
        blue.wait_for_function("() => document.documentElement.lang === 'en'")
        if blue.evaluate(updates, alert_id) == seen:
            break
    blue.screenshot(path=str(IMG_DIR / "dashboard-blue-en-1366.png"))
    assert "NM" in en_meta and "ft" in en_meta, en_meta
    assert "мор. миль" in ru_meta and "фт" in ru_meta, ru_meta
    assert figures(en_meta, "en") and figures(en_meta, "en") == figures(ru_meta, "ru"), (
        en_meta,
        ru_meta,
    )
    # Times are UTC with Z in both (the loss-of-separation time is the same string).
    en_times = re.findall(r"\d\d:\d\d:\d\dZ", en_meta)
    assert en_times and en_times == re.findall(r"\d\d:\d\d:\d\dZ", ru_meta)
    assert BLUE_CALLSIGNS[0] in en_title and BLUE_CALLSIGNS[0] in ru_title


def test_keyboard_acknowledges_the_top_alert(red: Any, alert_id: str) -> None:
    """Key A acknowledges the alert at the top of the list (none selected); severity is a shape
    and a word as well as a colour."""
    top = red.locator("[data-testid=alert]").first
    top_id = top.get_attribute("data-alert-id")
    assert top.locator("[data-testid=alert-ack]").count() == 1  # not acknowledged yet
    assert top.locator(".sev").inner_text() in ("▲", "◆")
    assert top.locator("[data-testid=alert-severity]").inner_text().split()[-1] in (
        "ОПАСНОСТЬ",
        "ВНИМАНИЕ",
    )
    red.locator("[data-testid=clock]").click()  # focus off any input
    red.keyboard.press("a")
    red.wait_for_selector(
        f"[data-testid=alert][data-alert-id='{top_id}'] [data-testid=alert-acked]", timeout=10000
    )


def test_message_from_alert_prefilled_reaches_other_side_in_russian(
    blue: Any, red: Any, alert_id: str
) -> None:
    row = blue.locator(f"[data-testid=alert][data-alert-id='{alert_id}']")
    row.locator("[data-testid=alert-message]").click()
    form = blue.locator("[data-testid=hotline-form]")
    form.wait_for()
    assert form.locator("[data-testid=hotline-template]").input_value() == "request_to_deconflict"
    assert form.locator("[data-testid=hotline-recipient] option:checked").inner_text() == "RED"
    assert form.locator("[name=own_callsign]").input_value() == BLUE_CALLSIGNS[0]
    handle = form.locator("[name=other_track_ref]").input_value()
    assert handle.startswith(alert_id)
    lat = float(form.locator("[name='position.lat_deg']").input_value())
    assert 35.0 < lat < 36.2  # the own aircraft of the head-on pair
    hmd = float(form.locator("[name=hmd_nm]").input_value())
    assert 0 < hmd < 5
    assert alert_id in form.locator("[data-testid=hotline-attachment]").inner_text()
    # A wrong latitude comes back from the server as a field error next to the field.
    form.locator("[name='position.lat_deg']").fill("95")
    form.locator("[data-testid=hotline-send]").click()
    err = blue.locator("[data-error-for='position.lat_deg']")
    blue.wait_for_function(
        "() => document.querySelector(\"[data-error-for='position.lat_deg']\").textContent !== ''"
    )
    assert err.inner_text() == "At most 90."
    form.locator("[name=proposed_action]").select_option("maintain")
    # Pick the point on the map instead: the click fills latitude and longitude.
    form.locator("[data-testid='pick-position']").click()
    box = blue.locator("#map").bounding_box()
    assert box
    blue.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    picked = float(form.locator("[name='position.lat_deg']").input_value())
    assert -90 <= picked <= 90 and picked != 95
    form.locator("[data-testid=hotline-send]").click()
    try:
        blue.wait_for_selector("[data-testid=hotline-form]", state="detached", timeout=15000)
    except Exception:
        errors = blue.locator("[data-testid=field-error]").evaluate_all(
            "(ns) => ns.map((n) => n.dataset.errorFor + '=' + n.textContent)"
        )
        bottom = blue.inner_text("[data-testid=hotline-form-error]")
        raise AssertionError(
            f"form not sent: {[e for e in errors if not e.endswith('=')]} {bottom}"
        ) from None
    sent = blue.locator(
        "[data-testid=hotline-message][data-template=request_to_deconflict].outgoing"
    ).last
    message_id = sent.get_attribute("data-message-id")
    # RED reads it in Russian, with the same figures.
    got = red.locator(f"[data-testid=hotline-message][data-message-id='{message_id}']")
    got.wait_for(timeout=20000)
    text = got.inner_text()
    assert "Запрос на предотвращение конфликта" in text, text
    assert "Горизонтальное расстояние при сближении" in text and "мор. миль" in text, text
    # The same figures (position, altitude, times, miss distances) in both languages.
    en_body = sent.locator("[data-testid=hotline-body]").inner_text()
    ru_body = got.locator("[data-testid=hotline-body]").inner_text()
    assert figures(en_body, "en") == figures(ru_body, "ru"), (en_body, ru_body)
    assert "NM" in en_body and "мор. миль" in ru_body
