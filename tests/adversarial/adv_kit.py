"""Test kit of the adversarial suite: a real broker HTTP server on loopback, seeded over HTTP.

The broker app runs under uvicorn on a free loopback port (in a thread: see
:class:`BrokerProcess`), on SQLite or PostgreSQL, and is attacked over HTTP only. Only the
operator's first key is made with the Python API (as ``deconflict key create --role operator``
would); parties, their admin keys, duty-officer keys and agreements are created over HTTP the
way a deployment would, with parties A, B, C and D:

- A–B: an advisory agreement;
- A–D: an F3548 agreement;
- C: no agreement with anyone (the unaffiliated party).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from deconflict.broker import parties
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.web.app import create_app

PARTIES = ("A", "B", "C", "D")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Capture(logging.Handler):
    """Keeps every formatted log line of the server's loggers."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a malformed record must not break the server
            self.lines.append(str(record.msg))


SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error", "deconflict")


class BrokerProcess:
    """The broker app served by uvicorn on a free loopback port (a real HTTP server).

    It runs in a thread of the test process: on a 2-core machine shared by many jobs, a child
    process spends ~30 s importing the package, a thread none. Its memory is the test process's
    resident memory (a stricter bound than the server's alone); its log lines (the uvicorn
    access log included) are captured in memory.
    """

    def __init__(self, db_url: str, data_dir: Path, **env: str) -> None:
        self.db_url = db_url
        self.data_dir = data_dir
        self.env = env
        self.port = 0
        self.base_url = ""
        self.capture = _Capture()
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.app: Any = None

    def start(self) -> BrokerProcess:
        """Start; wait (at most 120 s: a first start may compile kernels) for ``/health``."""
        self.port = self.port or free_port()  # a restart keeps the address
        self.base_url = f"http://127.0.0.1:{self.port}"
        for name in SERVER_LOGGERS:
            logger = logging.getLogger(name)
            logger.setLevel(logging.INFO)
            if self.capture not in logger.handlers:
                logger.addHandler(self.capture)
        overrides = {k.removeprefix("DECONFLICT_").lower(): v for k, v in self.env.items()}
        settings = Settings(
            db_url=self.db_url,
            data_dir=self.data_dir,
            sse_heartbeat_s=0.5,
            sse_poll_s=0.5,
            **overrides,
        )
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=True,
            lifespan="on",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="broker")
        self.thread.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if not self.thread.is_alive():
                raise RuntimeError("broker exited: " + "\n".join(self.capture.lines[-20:]))
            if self.server.started:
                try:
                    if httpx.get(f"{self.base_url}/health", timeout=2.0).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("broker did not answer /health within 120 s")

    def rss_mb(self) -> float:
        """Resident memory of the process serving the broker (MB, from /proc)."""
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
        return 0.0

    def log(self) -> str:
        """Everything the server logged so far (one line per record)."""
        return "\n".join(self.capture.lines)

    def stop(self) -> None:
        """Stop this server (graceful, then forced) and detach the log capture."""
        if self.server is not None and self.thread is not None and self.thread.is_alive():
            self.server.should_exit = True
            self.thread.join(timeout=15)
            if self.thread.is_alive():
                self.server.force_exit = True
                self.thread.join(timeout=5)
        for name in SERVER_LOGGERS:
            logging.getLogger(name).removeHandler(self.capture)


@dataclass
class World:
    """A seeded broker: party ids, keys by ``"<party>.<role>"``, agreement ids."""

    server: BrokerProcess
    party_ids: dict[str, str]
    keys: dict[str, str]
    agreements: dict[str, str]
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.server.base_url, timeout=30.0)

    def h(self, who: str, **more: str) -> dict[str, str]:
        """Headers authenticating as ``who`` (``"A.duty_officer"``, ``"operator"``, ...)."""
        return {"Authorization": f"Bearer {self.keys[who]}", **more}

    def post(self, who: str, path: str, body: Any, **headers: str) -> httpx.Response:
        """POST JSON as ``who``."""
        return self.client.post(path, json=body, headers=self.h(who, **headers))

    def get(self, who: str, path: str) -> httpx.Response:
        """GET as ``who``."""
        return self.client.get(path, headers=self.h(who))

    def close(self) -> None:
        """Close the client and stop the server."""
        self.client.close()
        self.server.stop()


def operator_key(db_url: str) -> str:
    """Migrate ``db_url`` and create the broker operator's key (what the CLI does)."""
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write() as s:
            _, key = parties.create_key(s, None, "operator", now=datetime.now(UTC))
    finally:
        db.dispose()
    return key


def seed_world(server: BrokerProcess, op_key: str) -> World:
    """Create parties A-D, their keys and the agreements over HTTP."""
    world = World(server, {}, {"operator": op_key}, {})
    for name in PARTIES:
        r = world.post("operator", "/v1/parties", {"name": f"Party {name}"})
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        world.party_ids[name] = pid
        r = world.post("operator", f"/v1/parties/{pid}/keys", {"role": "party_admin"})
        assert r.status_code == 201, r.text
        world.keys[f"{name}.party_admin"] = r.json()["key"]
        for role in ("duty_officer", "viewer"):
            r = world.post(f"{name}.party_admin", f"/v1/parties/{pid}/keys", {"role": role})
            assert r.status_code == 201, r.text
            world.keys[f"{name}.{role}"] = r.json()["key"]
    for label, policy, members in (("AB", "advisory", "AB"), ("AD", "f3548", "AD")):
        r = world.post(
            "operator",
            "/v1/agreements",
            {
                "name": f"agreement {label}",
                "policy": policy,
                "parties": [world.party_ids[m] for m in members],
            },
        )
        assert r.status_code == 201, r.text
        world.agreements[label] = r.json()["id"]
    return world


def iso(t: datetime) -> str:
    """RFC 3339 UTC with Z, whole seconds."""
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def window(start_h: float = 30.0, hours: float = 2.0) -> tuple[str, str]:
    """A window ``start_h`` hours from the next whole hour, ``hours`` long."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    t0 = base + timedelta(hours=start_h)
    return iso(t0), iso(t0 + timedelta(hours=hours))


def square(
    lon: float,
    lat: float,
    side_deg: float,
    *,
    lower: float = 0.0,
    upper: float = 10_000.0,
    start_h: float = 30.0,
    hours: float = 2.0,
    buffers: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A volume over the square ``[lon, lon+side] x [lat, lat+side]`` (deg)."""
    s, e = window(start_h, hours)
    ring = [
        [lon, lat],
        [lon + side_deg, lat],
        [lon + side_deg, lat + side_deg],
        [lon, lat + side_deg],
        [lon, lat],
    ]
    vol: dict[str, Any] = {
        "footprint": {"type": "polygon", "coordinates": [ring]},
        "altitude": {"lower": lower, "upper": upper, "reference": "ft_amsl"},
        "start": s,
        "end": e,
    }
    if buffers is not None:
        vol["buffers"] = buffers
    return vol


def circle(
    lon: float,
    lat: float,
    radius_nm: float,
    *,
    lower: float = 0.0,
    upper: float = 10_000.0,
    start_h: float = 30.0,
    hours: float = 2.0,
    buffers: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A circle volume."""
    s, e = window(start_h, hours)
    vol: dict[str, Any] = {
        "footprint": {"type": "circle", "center": [lon, lat], "radius_nm": radius_nm},
        "altitude": {"lower": lower, "upper": upper, "reference": "ft_amsl"},
        "start": s,
        "end": e,
    }
    if buffers is not None:
        vol["buffers"] = buffers
    return vol


def notice(*volumes: dict[str, Any], category: str = "exercise", **extra: Any) -> dict[str, Any]:
    """A notice body."""
    return {"title": "probe", "category": category, "volumes": list(volumes), **extra}


def fields_of(response: httpx.Response) -> list[str]:
    """The field names of a 422 problem's errors."""
    body = response.json()
    return [e.get("field", "") for e in body.get("errors", [])] or [body.get("field", "")]
