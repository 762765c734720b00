"""`deconflict demo`: a broker on the embedded SQLite store, fed by the built-in scenario.

What it does, with no set-up: migrates a fresh demo database, creates the parties BLUE, RED and
CIVIL (civil air traffic control, the reporter of the airliners) and a broker operator, prints
their API keys and the URLs, starts the server in-process (uvicorn on 127.0.0.1), submits both
parties' notices and the agreed line **through the API**, then feeds every party's simulated
tracks through ``POST /v1/tracks`` once a second (scenario time runs ``--speed`` times faster)
with live counts on the terminal until Ctrl-C (or ``--duration`` seconds), and shuts down.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from deconflict.errors import DeconflictError

DEMO_PARTIES = ("BLUE", "RED", "CIVIL")
"""Parties the demo creates (CIVIL reports the civil airliners)."""

CATEGORY_BY_KIND = {
    "AOA": "air_operations",
    "CAP": "air_operations",
    "AAR": "air_operations",
    "AEW": "air_operations",
    "TRANSIT": "transit",
    "EX": "exercise",
}
"""Notice category of each kind of demo volume (the middle part of its id)."""


class DemoError(DeconflictError):
    """The demo could not start (port taken, server failed)."""


class BackgroundServer:
    """uvicorn serving ``app`` in a daemon thread on ``host:port`` (port 0: a free one)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        if port == 0:
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = int(probe.getsockname()[1])
        self.host, self.port = host, port
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="deconflict-demo-server")
        self._thread.daemon = True

    def _serve(self) -> None:
        try:
            self.server.run()
        except (SystemExit, Exception) as exc:  # uvicorn exits on a bind error: report it
            self.failure = exc

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        """Start and wait until the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive():
                raise DemoError(
                    f"the server on {self.url} failed to start (port in use?): {self.failure!r}"
                )
            if time.monotonic() > deadline:
                raise DemoError(f"the server on {self.url} did not start in {timeout_s:g} s")
            time.sleep(0.05)

    def stop(self, timeout_s: float = 15.0) -> None:
        """Ask the server to exit and wait for it."""
        self.server.should_exit = True
        self._thread.join(timeout_s)


@dataclass
class DemoSetup:
    """Keys and ids created for the demo."""

    party_ids: dict[str, str]
    keys: dict[str, str]
    operator_key: str
    agreement_id: str = ""
    notices: dict[str, list[str]] = field(default_factory=dict)


def create_demo_parties(db_url: str) -> DemoSetup:
    """Migrate ``db_url`` and create the demo parties, one duty-officer key each, an operator
    key and the BLUE-RED agreement (an advisory one)."""
    from deconflict.broker import agreements, parties
    from deconflict.store.base import Database
    from deconflict.store.migrate import upgrade

    upgrade(db_url)
    db = Database(db_url)
    now = datetime.now(UTC)
    try:
        with db.write() as session:
            ids: dict[str, str] = {}
            keys: dict[str, str] = {}
            for name in DEMO_PARTIES:
                ids[name] = parties.create_party(session, name, now=now).id
                _, keys[name] = parties.create_key(
                    session, ids[name], "duty_officer", now=now, label="demo duty officer"
                )
            _, operator = parties.create_key(session, None, "operator", now=now, label="demo")
            agreement = agreements.create_agreement(
                session,
                "BLUE-RED deconfliction",
                policy="advisory",
                parties=["BLUE", "RED"],
                now=now,
            )
    finally:
        db.dispose()
    return DemoSetup(ids, keys, operator, agreement.id)


def submit_plans(client: httpx.Client, setup: DemoSetup, scenario: Any) -> None:
    """Submit each party's notices and the agreed line through the API."""
    for party, volumes in scenario.notices().items():
        headers = {"Authorization": f"Bearer {setup.keys[party]}"}
        setup.notices[party] = []
        for volume in volumes:
            kind = volume["id"].split("-")[1]
            body = {
                "title": volume["id"],
                "category": CATEGORY_BY_KIND.get(kind, "other"),
                "volumes": [volume],
            }
            response = client.post("/v1/notices", json=body, headers=headers)
            if response.status_code >= 400:
                raise DemoError(f"notice {volume['id']} refused: {response.text}")
            setup.notices[party].append(response.json().get("id", ""))
    for line in scenario.lines():
        sides = {setup.party_ids[p]: side for p, side in line["sides"].items()}
        response = client.post(
            f"/v1/agreements/{setup.agreement_id}/lines",
            json={"name": line["id"], "coordinates": line["coordinates"], "sides": sides},
            headers={"Authorization": f"Bearer {setup.operator_key}"},
        )
        if response.status_code >= 400:
            raise DemoError(f"line {line['id']} refused: {response.text}")


def track_batch(states: dict[str, Any], party: str, when: datetime) -> dict[str, Any] | None:
    """The ``POST /v1/tracks`` body of ``party``'s aircraft in the scenario ``states``
    (columns from :meth:`Scenario.states_at`), stamped ``when``."""
    rows = [k for k, p in enumerate(states["party"]) if p == party]
    if not rows:
        return None

    def col(name: str, digits: int) -> list[float]:
        return [round(float(states[name][k]), digits) for k in rows]

    return {
        "time": when.isoformat().replace("+00:00", "Z"),
        "id": [states["ids"][k] for k in rows],
        "callsign": [states["callsign"][k] for k in rows],
        "lat": col("lat_deg", 6),
        "lon": col("lon_deg", 6),
        "alt_ft": col("alt_ft", 0),
        "gs_kt": col("gs_kt", 1),
        "track_deg": [v % 360.0 for v in col("track_deg", 1)],
        "vs_fpm": col("vs_fpm", 0),
    }


def _counts(client: httpx.Client, setup: DemoSetup) -> dict[str, int]:
    seen: dict[str, str] = {}
    for party in ("BLUE", "RED"):
        response = client.get(
            "/v1/alerts", headers={"Authorization": f"Bearer {setup.keys[party]}"}
        )
        if response.status_code == 200:
            for alert in response.json():
                seen[alert["id"]] = alert["kind"]
    kinds = list(seen.values())
    return {
        "alerts": len(kinds),
        "conflicts": kinds.count("conflict"),
        "incursions": kinds.count("incursion"),
        "nonconforming": kinds.count("nonconforming"),
    }


def run_demo(
    *,
    seed: int,
    speed: float,
    port: int,
    duration_s: float | None,
    data_dir: Path,
    quiet: bool = False,
) -> dict[str, int]:
    """Run the demo; returns the final counts (used by the tests)."""
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from deconflict.live.engine import LiveConfig
    from deconflict.settings import Settings
    from deconflict.sim.scenario import Scenario
    from deconflict.web.routes.alerts import live_app

    console = Console(quiet=quiet, highlight=False, soft_wrap=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    db_path = data_dir / "demo.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{db_path}{suffix}").unlink()
    db_url = f"sqlite:///{db_path.as_posix()}"
    setup = create_demo_parties(db_url)
    settings = Settings(db_url=db_url, data_dir=data_dir, sqlite_synchronous="NORMAL")
    app = live_app(settings, config=LiveConfig.from_settings(settings))
    server = BackgroundServer(app, port=port)
    server.start()
    console.print(f"[bold]deconflict demo[/] (seed {seed}, speed x{speed:g}) on {server.url}")
    console.print(f"  dashboard: {server.url}/    API docs: {server.url}/docs")
    console.print(f"  event stream: {server.url}/v1/stream?access_token=<key>")
    console.print(f"  database: {db_path}")
    for party in DEMO_PARTIES:
        console.print(f"  {party:6} duty officer key: {setup.keys[party]}")
    for party in DEMO_PARTIES:
        # The key travels in the URL fragment, which the browser never sends to the server.
        console.print(
            f"  {party:6} dashboard (signs in directly): {server.url}/#key={setup.keys[party]}"
        )
    console.print(f"  operator key: {setup.operator_key}")
    start = datetime.now(UTC)
    scenario = Scenario(seed, start=start)
    counts: dict[str, int] = {}
    wall0 = time.monotonic()
    try:
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            submit_plans(client, setup, scenario)
            console.print(
                f"  submitted {sum(len(v) for v in setup.notices.values())} notices "
                f"and {len(scenario.lines())} agreed line; Ctrl-C stops"
            )

            def table(t_s: float, aircraft: int) -> Table:
                grid = Table(title="live alerts (BLUE + RED)", show_header=True)
                for name in ("time", "aircraft", "open", "conflict", "incursion", "nonconf."):
                    grid.add_column(name)
                minutes, seconds = divmod(int(t_s), 60)
                grid.add_row(
                    f"{minutes:02d}:{seconds:02d}",
                    str(aircraft),
                    str(counts.get("alerts", 0)),
                    str(counts.get("conflicts", 0)),
                    str(counts.get("incursions", 0)),
                    str(counts.get("nonconforming", 0)),
                )
                return grid

            with Live(table(0, 0), console=console, refresh_per_second=2) as live:
                tick = 0
                while duration_s is None or time.monotonic() - wall0 < duration_s:
                    now = datetime.now(UTC)
                    t_s = (time.monotonic() - wall0) * speed
                    states = scenario.states_at(t_s)
                    for party in DEMO_PARTIES:
                        body = track_batch(states, party, now)
                        if body is None:
                            continue
                        response = client.post(
                            "/v1/tracks",
                            json=body,
                            headers={"Authorization": f"Bearer {setup.keys[party]}"},
                        )
                        if response.status_code >= 400:
                            raise DemoError(f"tracks of {party} refused: {response.text}")
                    counts = _counts(client, setup)
                    live.update(table(t_s, len(states["ids"])))
                    tick += 1
                    next_tick = wall0 + tick
                    time.sleep(max(0.0, next_tick - time.monotonic()))
    except KeyboardInterrupt:
        console.print("stopping ...")
    finally:
        server.stop()
    console.print(
        f"\ndone: {counts.get('alerts', 0)} alerts open at the end "
        f"({counts.get('conflicts', 0)} conflicts, {counts.get('incursions', 0)} incursions)"
    )
    return counts


def register(app: typer.Typer) -> None:
    """Register ``deconflict demo``."""

    @app.command("demo")
    def demo(
        seed: Annotated[int, typer.Option(help="Scenario seed (same seed, same traffic).")] = 1,
        speed: Annotated[
            float, typer.Option(help="Scenario seconds per wall-clock second.", min=0.1, max=100)
        ] = 1.0,
        port: Annotated[int, typer.Option(help="TCP port (0: a free one).", min=0)] = 8080,
        duration: Annotated[
            float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")
        ] = None,
        data_dir: Annotated[
            Path, typer.Option(help="Directory of the throw-away demo database.")
        ] = Path("data"),
    ) -> None:
        """Run the live demo: BLUE, RED and civil traffic over the eastern Mediterranean."""
        run_demo(seed=seed, speed=speed, port=port, duration_s=duration, data_dir=data_dir)
