"""Shutdown never hangs on a background task that absorbs a cancellation.

A cancellation arriving while a task waits for a worker thread (``anyio.to_thread.run_sync``
shields that wait) can be swallowed; the live engine's loop then went on polling the leader
lease and the app's shutdown waited for ever (seen once in CI on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from deconflict.settings import Settings
from deconflict.store.migrate import upgrade
from deconflict.web.app import create_app


def test_shutdown_repeats_a_cancellation_that_a_task_absorbed(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'shutdown.sqlite3').as_posix()}"
    upgrade(url)
    seen: list[str] = []

    async def stubborn(_app: FastAPI) -> None:
        absorbed = False
        try:
            while True:
                try:
                    await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    if absorbed:
                        raise
                    absorbed = True  # like a shielded worker-thread wait: the request is lost
                    seen.append("absorbed")
        finally:
            seen.append("stopped")

    app = create_app(Settings(db_url=url, data_dir=tmp_path), background_tasks=[stubborn])
    client = TestClient(app)
    client.__enter__()
    started = time.monotonic()
    client.__exit__(None, None, None)
    assert seen == ["absorbed", "stopped"]
    assert time.monotonic() - started < 10.0
