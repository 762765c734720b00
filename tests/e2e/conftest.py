"""Browser-test fixtures: Debian Chromium through Playwright, a real broker on a free port.

Chromium is launched from ``/usr/bin/chromium`` (``DECONFLICT_CHROMIUM`` overrides) with the flags
of ``../shared/ENVIRONMENT.md`` section 2; ``playwright install`` is never needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dashboard_browser import CHROMIUM, CHROMIUM_ARGS
from dashboard_scenario import BrokerProcess, submit_notices


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (~1 s to start).

    Not per session: while Playwright's sync API is running it holds an asyncio event loop in
    the main thread, so every later test of the process that calls ``asyncio.run()`` would fail
    ("cannot be called from a running event loop"), depending only on which files ran before.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (make deps)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """A broker with BLUE and RED, their keys, an agreement with a line, and the notices."""
    b = BrokerProcess(tmp_path_factory.mktemp("broker"))
    b.setup()
    b.start()
    b.notice_ids = submit_notices(b, datetime.now(UTC))  # type: ignore[attr-defined]
    try:
        yield b
    finally:
        b.stop()
