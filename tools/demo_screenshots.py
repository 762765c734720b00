"""Screenshots of BLUE's and RED's dashboards on the running demo, in English and Russian.

Usage (from the repository root; needs Chromium at /usr/bin/chromium and the ``playwright``
Python package, both installed by ``make deps``)::

    .venv/bin/python tools/demo_screenshots.py [--out docs/img] [--speed 5] [--wait 80]

Starts ``deconflict demo`` on a free loopback port, signs in as BLUE and as RED in headless
Chromium at 1366x768, waits ``--wait`` seconds so the strategic conflict, alerts, the FLASH
warning, its escalation and the airprox incident are on screen, then saves
``demo-{blue,red}-{en,ru}.png`` (BLUE with its Conflicts tab and the disclosed overlap shown on
the map, RED with its Hotline tab) and ``demo-review-{en,ru}.png`` (the charts of the review pack
the demo writes when it stops).
"""

from __future__ import annotations

import argparse
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import ViewportSize, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--enable-unsafe-swiftshader",
]
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
BIN = Path(sys.executable).with_name("deconflict")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _click_tab(page: Any, tab: str) -> None:
    page.click(f"button[data-tab={tab}]")
    page.wait_for_timeout(800)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--speed", type=float, default=5.0)
    parser.add_argument("--wait", type=float, default=80.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "demo.log"
        log = log_path.open("wb")
        proc = subprocess.Popen(
            [
                str(BIN),
                "demo",
                "--port",
                str(port),
                "--speed",
                str(args.speed),
                "--duration",
                str(args.wait + 120),
                "--data-dir",
                tmp,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            keys: dict[str, str] = {}
            deadline = time.monotonic() + 180  # a loaded machine starts the demo slowly
            while time.monotonic() < deadline and "submitted" not in log_path.read_text():
                time.sleep(0.3)
            text = log_path.read_text()
            keys = dict(re.findall(r"(BLUE|RED)\s+duty officer key:\s*(\S+)", text))
            url = f"http://127.0.0.1:{port}"
            started = time.monotonic()
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
                )
                pages = {}
                for party in ("BLUE", "RED"):
                    context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
                    page = context.new_page()
                    page.goto(f"{url}/#key={keys[party]}")
                    page.wait_for_function(
                        "window.__deconflict && window.__deconflict.state.ready === true",
                        timeout=30000,
                    )
                    pages[party] = page
                time.sleep(max(0.0, args.wait - (time.monotonic() - started)))
                for lang in ("en", "ru"):
                    for party, page in pages.items():
                        page.click(f"[data-testid=lang-{lang}]")
                        page.wait_for_timeout(1500)
                        if party == "BLUE":
                            _click_tab(page, "conflicts")
                            item = page.locator("[data-testid=conflict-item]")
                            if item.count():
                                item.first.click()
                                page.wait_for_timeout(1500)
                            # The later activities and the disclosed overlap are the last rows.
                            page.locator("[data-testid=timeline]").evaluate(
                                "el => { for (const n of [el, ...el.querySelectorAll('*')]) "
                                "n.scrollTop = n.scrollHeight; }"
                            )
                            page.wait_for_timeout(500)
                        else:
                            _click_tab(page, "hotline")
                        path = args.out / f"demo-{party.lower()}-{lang}.png"
                        page.screenshot(path=str(path))
                        sys.stdout.write(f"{path}\n")
                proc.send_signal(signal.SIGINT)  # Ctrl-C: the demo writes its review pack
                proc.wait(timeout=90)
                review = browser.new_page(viewport={"width": 1000, "height": 1150})
                for lang in ("en", "ru"):
                    review.goto(f"file://{tmp}/review/review.{lang}.html")
                    path = args.out / f"demo-review-{lang}.png"
                    review.screenshot(path=str(path))
                    sys.stdout.write(f"{path}\n")
                browser.close()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
