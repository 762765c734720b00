"""Test kit for private mode: a migrated SQLite broker with two parties in a private agreement,
served by uvicorn on a loopback port, with every log record captured."""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

from deconflict.broker import agreements, parties, private_relay
from deconflict.private.cells import Grid
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.web.app import create_app
from deconflict.web.routes import ROUTE_MODULES
from deconflict.web.routes import private as private_routes

EXAMPLE = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "deconflict"
    / "examples"
    / "corridor_vs_exercise.geojson"
)


CLIENT_LOGGERS = ("httpx", "httpcore")
"""Loggers of the parties' HTTP client (same process as the broker in tests), not the broker's."""


@dataclass
class PrivateBroker:
    """Database URL and file, party keys, the private agreement and the captured logs."""

    url: str
    db_file: Path
    keys: dict[str, str]
    party_ids: dict[str, str]
    agreement_id: str
    settings: Settings
    logs: list[str] = field(default_factory=list)


def seed_private(tmp: Path, grid: Grid, *, names: tuple[str, ...] = ("A", "B")) -> PrivateBroker:
    """Parties A and B (+ C, outside the agreement, when named), keys, a private agreement."""
    db_file = tmp / "broker.sqlite3"
    url = f"sqlite:///{db_file.as_posix()}"
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    keys: dict[str, str] = {}
    ids: dict[str, str] = {}
    try:
        with db.write() as s:
            for name in names:
                ids[name] = parties.create_party(s, f"Party {name}", now=now).id
                for role in ("viewer", "duty_officer"):
                    keys[f"{name}.{role}"] = parties.create_key(s, ids[name], role, now=now)[1]
            keys["operator"] = parties.create_key(s, None, "operator", now=now)[1]
            agreement = agreements.create_agreement(
                s, "private A-B", policy="advisory", parties=[ids["A"], ids["B"]], now=now
            )
            private_relay.enable_private(s, agreement.id, grid, now=now)
    finally:
        db.dispose()
    settings = Settings(db_url=url, data_dir=tmp)
    return PrivateBroker(url, db_file, keys, ids, agreement.id, settings)


def clone(template: PrivateBroker, tmp: Path) -> PrivateBroker:
    """A copy of a seeded broker's database in ``tmp`` (migrating once per module is enough)."""
    import shutil

    db_file = tmp / "broker.sqlite3"
    shutil.copyfile(template.db_file, db_file)
    url = f"sqlite:///{db_file.as_posix()}"
    settings = Settings(db_url=url, data_dir=tmp)
    return PrivateBroker(
        url, db_file, dict(template.keys), dict(template.party_ids), template.agreement_id, settings
    )


def make_app(settings: Settings) -> Any:
    """The broker app, with the private routes included (listed in ROUTE_MODULES or not)."""
    app = create_app(settings)
    if "private" not in ROUTE_MODULES:
        app.include_router(private_routes.router)
    return app


class _Capture(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(CLIENT_LOGGERS):  # the clients run in this process too
            self.sink.append(self.format(record))


class LiveBroker:
    """The app served by uvicorn on 127.0.0.1:<free port> in a thread; logs captured."""

    def __init__(self, env: PrivateBroker) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        config = uvicorn.Config(
            make_app(env.settings),
            host="127.0.0.1",
            port=self.port,
            log_level="info",
            access_log=True,
            lifespan="on",
            log_config=None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.handler = _Capture(env.logs)
        self.handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))

    def __enter__(self) -> LiveBroker:
        root = logging.getLogger()
        root.addHandler(self.handler)
        self._level = root.level
        root.setLevel(logging.INFO)  # every broker record (access log included); not DEBUG noise
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self._level)


def _jitter(obj: Any, rng: random.Random) -> Any:
    if isinstance(obj, list):
        if len(obj) == 2 and all(isinstance(v, int | float) for v in obj):
            return [round(v + rng.uniform(0.0, 0.001), 7) for v in obj]
        return [_jitter(v, rng) for v in obj]
    return obj


def split_example(tmp: Path) -> tuple[Path, Path, dict[str, Any]]:
    """The worked example split into the blue (-> A) and red (-> B) plan files, every
    coordinate moved by < 0.001 deg to 7 decimals (as real plans are written), so that a leak
    probe can look for them without matching unrelated numbers."""
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    rng = random.Random(15)
    for feature in doc["features"]:
        geometry = feature["geometry"]
        geometry["coordinates"] = _jitter(geometry["coordinates"], rng)
        if geometry["type"] == "Polygon":
            for ring in geometry["coordinates"]:
                ring[-1] = list(ring[0])
    out = []
    for party, name in (("blue", "A"), ("red", "B")):
        feats = [f for f in doc["features"] if f["properties"].get("party") == party]
        path = tmp / f"plans_{name}.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
        out.append(path)
    return out[0], out[1], doc


def dump_database(db_file: Path) -> tuple[str, bytes]:
    """Every value of every table of the SQLite file: (text values joined, binary joined)."""
    import sqlite3

    texts: list[str] = []
    blobs: list[bytes] = []
    con = sqlite3.connect(db_file)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in names:
            for row in con.execute(f'SELECT * FROM "{name}"'):
                for value in row:
                    if isinstance(value, bytes):
                        blobs.append(value)
                        texts.append(value.decode("utf-8", errors="ignore"))
                    else:
                        texts.append(str(value))
    finally:
        con.close()
    return "\n".join(texts), b"\x00".join(blobs)
