"""Attack 4: 100 concurrent clients mixing notice creates and track posts.

The bounded outcome: no 5xx except 503 (with Retry-After), no stall (``/health`` answers within
1 s throughout, every request answered within its timeout), on both databases. The clients run
in a separate process (``load_client.py``: asyncio, one connection each), so the broker's
threads compete only with its own work; each run is bounded (6 s of load).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from adv_kit import BACKENDS, World

CLIENTS = 100
LOAD_S = 6.0
REQUEST_TIMEOUT_S = 15.0
LOAD_CLIENT = Path(__file__).with_name("load_client.py")


@pytest.mark.parametrize("backend", BACKENDS)
def test_hundred_clients_no_5xx_no_stall(
    request: pytest.FixtureRequest, start_world: Callable[..., World], backend: str
) -> None:
    world = start_world(request, backend)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(LOAD_CLIENT),
            world.server.base_url,
            world.keys["A.duty_officer"],
            world.keys["B.duty_officer"],
            str(CLIENTS),
            str(LOAD_S),
            str(REQUEST_TIMEOUT_S),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    slow: list[float] = []
    polls = 0
    try:
        while proc.poll() is None:
            t0 = time.monotonic()
            try:
                ok = world.client.get("/health", timeout=5.0).status_code == 200
            except httpx.HTTPError:
                ok = False
            took = time.monotonic() - t0
            polls += 1
            if not ok or took > 1.0:
                slow.append(round(took, 2))
            time.sleep(0.2)
        out, err = proc.communicate(timeout=REQUEST_TIMEOUT_S + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err.decode()[-2000:]
    result = json.loads(out)
    print(f"\n{backend}: {result}")
    statuses = {int(k): v for k, v in result["statuses"].items()}
    total = sum(statuses.values())
    assert not result["problems"], result["problems"][:5]
    assert not slow, f"/health slow or failing {len(slow)} of {polls} times: {slow[:5]}"
    assert statuses.get(201, 0) > 0 and total > CLIENTS, statuses
    assert sum(result["transport_errors"].values()) <= 0.02 * total, result["transport_errors"]
