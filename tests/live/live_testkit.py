"""Helpers for the live API tests: a real server on a free port and an SSE reader."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from deconflict.broker import parties
from deconflict.broker.live import LiveEngine
from deconflict.cli.demo import BackgroundServer
from deconflict.live.engine import LiveConfig
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.web.routes.alerts import live_app


@dataclass
class LiveEnv:
    """A running broker with parties and one duty-officer (and viewer) key each."""

    server: BackgroundServer
    app: Any
    db_url: str
    party_ids: dict[str, str]
    keys: dict[str, str]
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.server.url, timeout=30.0)

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    @property
    def engine(self) -> LiveEngine:
        deadline = time.monotonic() + 20
        while getattr(self.app.state, "live_engine", None) is None:
            if time.monotonic() > deadline:
                raise AssertionError("live engine did not start")
            time.sleep(0.02)
        engine: LiveEngine = self.app.state.live_engine
        return engine

    def close(self) -> None:
        self.client.close()
        self.server.stop()


def seed_parties(
    url: str, names: tuple[str, ...], roles: tuple[str, ...] = ("duty_officer",)
) -> tuple[dict[str, str], dict[str, str]]:
    """Migrate ``url`` and create parties ``names`` with one key per role; returns (party id by
    name, key by ``"NAME.role"``)."""
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    ids: dict[str, str] = {}
    keys: dict[str, str] = {}
    try:
        with db.write() as s:
            for name in names:
                ids[name] = parties.create_party(s, name, now=now).id
                for role in roles:
                    _, keys[f"{name}.{role}"] = parties.create_key(s, ids[name], role, now=now)
    finally:
        db.dispose()
    return ids, keys


def start_env(
    tmp_path: Path,
    names: tuple[str, ...],
    config: LiveConfig | Callable[[dict[str, str]], LiveConfig],
) -> LiveEnv:
    url = f"sqlite:///{(tmp_path / 'live.sqlite3').as_posix()}"
    ids, keys = seed_parties(url, names, ("duty_officer", "viewer"))
    settings = Settings(
        db_url=url,
        data_dir=tmp_path,
        sse_heartbeat_s=0.5,
        sse_poll_s=0.5,
        sqlite_synchronous="NORMAL",
    )
    if callable(config):
        config = config(ids)
    app = live_app(settings, config=config)
    server = BackgroundServer(app)
    server.start()
    env = LiveEnv(server, app, url, ids, keys)
    _ = env.engine
    return env


class StreamReader:
    """Reads one party's ``/v1/stream`` in a thread and collects the events (each with ``at``,
    its monotonic arrival time); ends quietly when the server goes away."""

    def __init__(
        self,
        base_url: str,
        key: str,
        last_event_id: int | None = 0,
        *,
        timeout_s: float = 30.0,
    ) -> None:
        self.events: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        headers = {"Authorization": f"Bearer {key}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self._thread = threading.Thread(
            target=self._run, args=(base_url, headers, timeout_s), daemon=True
        )
        self._thread.start()

    def _run(self, base_url: str, headers: dict[str, str], timeout_s: float) -> None:
        try:
            with (
                httpx.Client(base_url=base_url, timeout=httpx.Timeout(timeout_s)) as client,
                client.stream("GET", "/v1/stream", headers=headers) as response,
            ):
                self.connected.set()
                current: dict[str, Any] = {}
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("id:"):
                        current["id"] = int(line[3:].strip())
                    elif line.startswith("event:"):
                        current["event"] = line[6:].strip()
                    elif line.startswith("data:"):
                        current["data"] = json.loads(line[5:].strip())
                    elif line == "" and "event" in current:
                        current["at"] = time.monotonic()
                        self.events.append(current)
                        current = {}
        except httpx.HTTPError:
            return  # the server stopped or was killed

    def alerts(self) -> list[dict[str, Any]]:
        """The ``alert`` events' payloads so far, in arrival order."""
        return [e["data"] for e in self.of_kind("alert")]

    def first_alert_at(self) -> float:
        """Monotonic arrival time of the first ``alert`` event."""
        return float(min(e["at"] for e in self.of_kind("alert")))

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e["event"] == kind]

    def wait_for(self, predicate: Any, timeout_s: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for event in list(self.events):
                if predicate(event):
                    return event
            time.sleep(0.05)
        raise AssertionError(f"no matching event in {timeout_s} s; got {len(self.events)}")

    def stop(self) -> None:
        self._stop.set()


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``predicate`` every 50 ms until it holds; fail after ``timeout_s`` s naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a server process a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def head_on_state(aircraft: str, lat: float, lon: float, track_deg: float) -> dict[str, Any]:
    """A ``POST /v1/tracks`` body: one state of ``aircraft`` now at (``lat``, ``lon``) deg,
    FL250, 450 kt on ``track_deg``, level."""
    return {
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "id": [aircraft],
        "lat": [lat],
        "lon": [lon],
        "alt_ft": [25000],
        "gs_kt": [450],
        "track_deg": [track_deg],
        "vs_fpm": [0],
    }
