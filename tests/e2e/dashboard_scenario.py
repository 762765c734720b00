"""A two-party scenario for the dashboard browser tests, driven through the real HTTP API.

:class:`BrokerProcess` sets up a temporary database with the CLI (``deconflict db upgrade``,
``party add``, ``key create``, ``agreement create``/``line``), then runs ``deconflict serve`` as a
subprocess on a free loopback port. :func:`submit_notices` and :func:`feed_tracks` create the
situation the dashboard must show: overlapping BLUE and RED notices (a strategic conflict with a
disclosed overlap), private notices of each side that the other must never see, and two fighters
on a head-on run-in (a tactical alert on both sides).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).with_name("deconflict")

#: Callsigns of the scripted aircraft: each side must see its own, never the other's.
BLUE_CALLSIGNS = ("VIPER11", "VIPER12", "SHELL21", "MAGIC01", "REACH71", "REACH72", "COBRA51")
RED_CALLSIGNS = ("FALCON31", "FALCON32", "TEXACO41", "SENTRY61", "ATLAS81", "ATLAS82", "HAWK91")

#: Titles of the private notices: each side must never see the other's.
BLUE_PRIVATE = "BLUE-PRIVATE-TRAINING"
RED_PRIVATE = "RED-PRIVATE-TRAINING"
SHARED_TITLE = {"BLUE": "BLUE CAP NORTH", "RED": "RED CAP NORTH"}


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(db_url: str, *args: str) -> str:
    """Run ``deconflict <args> --db <db_url>`` in-process; return its stdout (raise on failure)."""
    from deconflict.cli import main

    out = io.StringIO()
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--db", db_url])
    if code != 0:
        raise RuntimeError(f"deconflict {' '.join(args)} failed ({code}): {err.getvalue()}")
    return out.getvalue().strip()


@dataclass
class BrokerProcess:
    """A real broker (``deconflict serve``) on a temporary SQLite database."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    keys: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'deconflict.sqlite3'}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DECONFLICT_DATA_DIR": str(self.data_dir)}

    def setup(self) -> None:
        """Create the schema, the two parties, their keys, an agreement and an agreed line."""
        cli(self.db_url, "db", "upgrade")
        for party in ("BLUE", "RED"):
            cli(self.db_url, "party", "add", party)
            self.keys[party] = cli(
                self.db_url, "key", "create", party, "--role", "duty_officer"
            ).splitlines()[-1]
        self.keys["operator"] = cli(
            self.db_url, "key", "create", "--role", "operator"
        ).splitlines()[-1]
        agreement = cli(self.db_url, "agreement", "create", "LEVANT-CBM", "BLUE", "RED")
        agreement_id = agreement.split("\t")[0]
        cli(
            self.db_url,
            "agreement",
            "line",
            agreement_id,
            "DECONFLICTION-LINE",
            "--coordinates",
            "33.0,35.0;34.2,35.2;35.2,35.3",
            "--side",
            "BLUE=right",
            "--side",
            "RED=left",
        )

    def start(self) -> None:
        """Start ``deconflict serve`` and wait until /health answers."""
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                str(BIN),
                "serve",
                "--db",
                self.db_url,
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=log,
            env=self.env,
        )
        # Start-up imports numpy/pyproj and loads (or, after a kernel change, compiles) the numba
        # tactical kernel: ~5 s idle, over a minute on a loaded 2-core machine.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited: {(self.data_dir / 'server.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become healthy within 180 s")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def client(self, party: str) -> httpx.Client:
        """An HTTP client authenticated as ``party`` (BLUE, RED or operator)."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.keys[party]}"}, timeout=15
        )


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _volume(
    vid: str, ring: list[list[float]], lower: int, upper: int, start: datetime, end: datetime
) -> dict[str, Any]:
    return {
        "id": vid,
        "footprint": {"type": "polygon", "coordinates": [ring]},
        "altitude": {"lower": lower, "upper": upper, "reference": "ft_amsl"},
        "start": _iso(start),
        "end": _iso(end),
    }


def submit_notices(broker: BrokerProcess, now: datetime) -> dict[str, str]:
    """Submit the notices; returns title -> notice id. BLUE's and RED's CAP areas overlap."""
    start = now + timedelta(hours=1)
    end = now + timedelta(hours=4)
    plans = {
        "BLUE": [
            (
                SHARED_TITLE["BLUE"],
                [[33.6, 34.9], [34.6, 34.9], [34.6, 35.6], [33.6, 35.6], [33.6, 34.9]],
                18000,
                30000,
                start,
                end,
            ),
            (
                BLUE_PRIVATE,
                [[32.0, 33.2], [32.6, 33.2], [32.6, 33.6], [32.0, 33.6], [32.0, 33.2]],
                5000,
                15000,
                now + timedelta(hours=6),
                now + timedelta(hours=9),
            ),
        ],
        "RED": [
            (
                SHARED_TITLE["RED"],
                [[34.3, 35.3], [35.3, 35.3], [35.3, 35.9], [34.3, 35.9], [34.3, 35.3]],
                20000,
                32000,
                start + timedelta(minutes=30),
                end + timedelta(hours=1),
            ),
            (
                RED_PRIVATE,
                [[36.0, 34.0], [36.5, 34.0], [36.5, 34.4], [36.0, 34.4], [36.0, 34.0]],
                1000,
                9000,
                now + timedelta(hours=2),
                now + timedelta(hours=5),
            ),
        ],
    }
    ids: dict[str, str] = {}
    for party, notices in plans.items():
        with broker.client(party) as c:
            for i, (title, ring, lo, hi, t0, t1) in enumerate(notices):
                body = {
                    "title": title,
                    "category": "air_operations",
                    "priority": 0,
                    "volumes": [_volume(f"{party.lower()}-v{i}", ring, lo, hi, t0, t1)],
                }
                r = c.post("/v1/notices", json=body)
                assert r.status_code in (200, 201), r.text
                ids[title] = str(r.json()["id"])
    return ids


def _ahead(lat: float, lon: float, track_deg: float, dist_nm: float) -> tuple[float, float]:
    d_lat = dist_nm * math.cos(math.radians(track_deg)) / 60.0
    d_lon = dist_nm * math.sin(math.radians(track_deg)) / (60.0 * math.cos(math.radians(lat)))
    return lat + d_lat, lon + d_lon


def track_states(party: str, now: datetime, elapsed_s: float) -> list[dict[str, Any]]:
    """Each side's aircraft ``elapsed_s`` after the scenario start.

    The first aircraft of each side fly head-on at FL250 (RED 300 ft higher) on tracks 2 NM apart
    west of Cyprus, beyond the agreed line's western end, meeting ~200 s after the start (a
    predicted loss of separation inside the look-ahead, a warning from 120 s before); the others
    fly far apart, each on its own side of the line.
    """
    t = now
    out: list[dict[str, Any]] = []
    if party == "BLUE":
        specs = [
            (BLUE_CALLSIGNS[0], (35.60, 31.00), 90.0, 25000, 420.0),
            (BLUE_CALLSIGNS[1], (34.60, 32.60), 200.0, 22000, 380.0),
            (BLUE_CALLSIGNS[2], (34.20, 32.90), 240.0, 27000, 330.0),
            (BLUE_CALLSIGNS[3], (33.70, 33.80), 160.0, 31000, 360.0),
            (BLUE_CALLSIGNS[4], (33.20, 34.40), 80.0, 19000, 300.0),
            (BLUE_CALLSIGNS[5], (32.80, 32.40), 280.0, 21000, 310.0),
            (BLUE_CALLSIGNS[6], (34.40, 33.40), 130.0, 15000, 450.0),
        ]
    else:
        specs = [
            (RED_CALLSIGNS[0], (35.633, 31.957), 270.0, 25300, 420.0),
            (RED_CALLSIGNS[1], (36.20, 36.20), 200.0, 21000, 400.0),
            (RED_CALLSIGNS[2], (36.60, 35.60), 300.0, 29000, 340.0),
            (RED_CALLSIGNS[3], (36.90, 34.40), 250.0, 33000, 360.0),
            (RED_CALLSIGNS[4], (36.30, 33.20), 60.0, 23000, 300.0),
            (RED_CALLSIGNS[5], (37.10, 36.80), 220.0, 26000, 320.0),
            (RED_CALLSIGNS[6], (36.50, 32.40), 100.0, 17000, 470.0),
        ]
    for callsign, (lat0, lon0), trk, alt, gs in specs:
        lat, lon = _ahead(lat0, lon0, trk, gs * elapsed_s / 3600.0)
        out.append(
            {
                "id": callsign,
                "callsign": callsign,
                "time": _iso(t),
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "alt_ft": alt,
                "gs_kt": gs,
                "track_deg": trk,
                "vs_fpm": 0.0,
            }
        )
    return out


def track_batch(party: str, now: datetime, elapsed_s: float) -> dict[str, Any]:
    """The columnar ``POST /v1/tracks`` body for :func:`track_states`."""
    rows = track_states(party, now, elapsed_s)
    batch: dict[str, Any] = {"time": _iso(now)}
    for column in ("id", "callsign", "lat", "lon", "alt_ft", "gs_kt", "track_deg", "vs_fpm"):
        batch[column] = [row[column] for row in rows]
    return batch
