"""Helpers for the dashboard browser tests: Chromium flags and signing in through the form."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("DECONFLICT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--enable-unsafe-swiftshader",
]
VIEWPORT = {"width": 1600, "height": 900}
REPO = Path(__file__).resolve().parents[2]


def open_dashboard(browser: Any, url: str, key: str, viewport: dict[str, int] | None = None) -> Any:
    """A fresh page (own sessionStorage) signed in with ``key`` through the form."""
    # bypass_csp: the broker's CSP (script-src 'self') would refuse Playwright's string predicates.
    context = browser.new_context(viewport=viewport or VIEWPORT, bypass_csp=True)
    page = context.new_page()
    page.errors = []  # uncaught page errors, asserted empty by the tests
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(url + "/")
    page.fill("#signin-key", key)
    page.click("#signin-submit")
    return page


def wait_ready(page: Any, timeout_ms: int = 30000) -> None:
    """Wait until the screen has loaded its first picture and panels."""
    page.wait_for_function(
        "window.__deconflict && window.__deconflict.state.ready === true", timeout=timeout_ms
    )
