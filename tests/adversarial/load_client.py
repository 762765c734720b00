"""Load generator of the adversarial suite, run as a separate process (so its work never
competes for the broker's interpreter lock): ``clients`` concurrent asyncio clients alternate
notice creates and track posts for ``seconds``, then print a JSON summary on stdout.

Usage: ``python load_client.py BASE_URL KEY_A KEY_B CLIENTS SECONDS TIMEOUT_S``.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


def _iso(t: datetime) -> str:
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _notice(k: int, n: int) -> dict[str, Any]:
    """A 3 NM circle at a pseudo-random spot of a 30 x 20 deg area (few conflicts: the load is
    the write path, not conflict recording; every client and request gets its own spot)."""
    t0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=31)
    rng = random.Random(k * 100_003 + n)
    lon, lat = rng.uniform(-5.0, 25.0), rng.uniform(40.0, 60.0)
    return {
        "title": "load",
        "category": "exercise",
        "volumes": [
            {
                "footprint": {"type": "circle", "center": [lon, lat], "radius_nm": 3.0},
                "altitude": {"lower": 0, "upper": 10_000, "reference": "ft_amsl"},
                "start": _iso(t0),
                "end": _iso(t0 + timedelta(hours=2)),
            }
        ],
    }


def _tracks(prefix: str, k: int) -> dict[str, Any]:
    return {
        "time": time.time(),
        "id": [f"{prefix}{k}-{j}" for j in range(5)],
        "lat": [10.0 + 0.01 * j for j in range(5)],
        "lon": [20.0 + 0.05 * k] * 5,
        "alt_ft": [10_000.0] * 5,
        "gs_kt": [300.0] * 5,
        "track_deg": [90.0] * 5,
        "vs_fpm": [0.0] * 5,
    }


async def main(
    base_url: str, keys: list[str], clients: int, seconds: float, timeout_s: float
) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    latencies: list[float] = []
    transport: Counter[str] = Counter()
    end = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients + 5, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits) as c:

        async def one(k: int) -> None:
            key = keys[k % len(keys)]
            h = {"Authorization": f"Bearer {key}"}
            n = 0
            while time.monotonic() < end:
                n += 1
                t0 = time.monotonic()
                try:
                    if (k + n) % 2:
                        r = await c.post("/v1/notices", json=_notice(k, n), headers=h)
                    else:
                        r = await c.post("/v1/tracks", json=_tracks("AB"[k % 2], k), headers=h)
                except httpx.TimeoutException as exc:  # a stall
                    problems.append(f"client {k}: {exc!r}")
                    return
                except httpx.TransportError as exc:  # a dropped connection: counted
                    transport[type(exc).__name__] += 1
                    await asyncio.sleep(0.1)
                    continue
                took = time.monotonic() - t0
                statuses[r.status_code] += 1
                if r.status_code == 201:
                    latencies.append(took)
                if r.status_code >= 500 and r.status_code != 503:
                    problems.append(f"{r.status_code}: {r.text[:200]}")
                if r.status_code == 503 and "retry-after" not in r.headers:
                    problems.append("503 without Retry-After")
                if r.status_code in (429, 503):
                    await asyncio.sleep(float(r.headers.get("retry-after", "1")) / 4)

        started = time.monotonic()
        await asyncio.gather(*(one(k) for k in range(clients)))
        wall = time.monotonic() - started
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else None
    return {
        "statuses": {str(k): v for k, v in statuses.items()},
        "problems": problems[:20],
        "transport_errors": dict(transport),
        "notices_per_s": len(latencies) / wall if wall else 0.0,
        "p95_s": p95,
        "wall_s": wall,
    }


if __name__ == "__main__":
    url, key_a, key_b, n_clients, secs, timeout = sys.argv[1:7]
    result = asyncio.run(main(url, [key_a, key_b], int(n_clients), float(secs), float(timeout)))
    print(json.dumps(result))
