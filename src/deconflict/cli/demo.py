"""`deconflict demo`: the whole arrangement on the embedded SQLite store, fed by the scenario.

What it does, with no set-up: migrates a fresh demo database and creates the broker operator's
key, starts the server in-process (uvicorn on 127.0.0.1), then -- **through the HTTP API** --
creates the parties BLUE, RED, CIVIL (civil air traffic control, the reporter of the airliners)
and UAS (a drone operator), their keys, the advisory BLUE-RED agreement with its agreed line and
the F3548 RED-UAS agreement, sets the BLUE-RED hotline deadlines, both escalation ladders and
the BLUE-RED disclosure budget (:data:`DEMO_DISCLOSURE`), files the day's notices (two advisory
conflicts -- the first disclosed exactly, the second past the budget and coarse -- and one F3548
refusal; see
:meth:`deconflict.sim.scenario.Scenario.plan`), and then every second feeds every party's
simulated tracks through ``POST /v1/tracks`` (scenario time runs ``--speed`` times faster),
lets the simulated duty officers (:mod:`deconflict.sim.officer`) read and answer the hotline,
files each standing volume's next notice an hour before the current one ends, and shows live
counts until Ctrl-C (or ``--duration`` seconds). On the way out it writes the joint review pack
(EN and RU) into ``<data-dir>/review``.

``--speed`` divides the hotline's acknowledgement deadlines and escalation delays and the
officers' reaction times as well (the same in scenario time); notice windows stay on the wall
clock, so the timeline reads as the day's plan.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import httpx
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from deconflict.broker import parties
from deconflict.cli.hotline import export_review
from deconflict.cli.warmup import warm_kernels
from deconflict.demo.officers import OfficerDriver
from deconflict.errors import DeconflictError, InvalidInputError
from deconflict.live.engine import LiveConfig
from deconflict.settings import Settings
from deconflict.sim import geography
from deconflict.sim.officer import (
    DEFAULT_DEADLINES_S,
    DEFAULT_LADDER_S,
    DutyOfficer,
    default_profiles,
)
from deconflict.sim.scenario import CATEGORY_BY_KIND, PlannedNotice, Scenario
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade
from deconflict.web.routes.alerts import live_app

__all__ = ["CATEGORY_BY_KIND", "BackgroundServer", "DemoError", "run_demo"]

DEMO_PARTIES: Final = ("BLUE", "RED", "CIVIL", "UAS")
"""Parties the demo creates (CIVIL reports the civil airliners; UAS is a drone operator)."""

SIMULATED: Final = ("BLUE", "RED")
"""Parties that can have a simulated duty officer."""

AGREEMENTS: Final = (
    ("BLUE-RED deconfliction", "advisory", ("BLUE", "RED")),
    ("RED-UAS airspace sharing (F3548)", "f3548", ("RED", "UAS")),
)
"""The demo's agreements: name, policy, members (the first one carries the agreed line)."""

DEMO_DISCLOSURE: Final = {"fraction": 0.0, "floor_km2h": 1500.0}
"""The BLUE-RED disclosure budget (``broker/disclosure.py``): a flat 1,500 km^2 x h per side and
24 h. The day's first overlap (RED-EX-2 / BLUE-EX-2, charged ~1,400 km^2 x h) is shown exactly;
the second (RED-PATROL-1 / BLUE-EX-2) goes past the budget and is shown coarse (H3 cells, whole
hours, 5,000 ft band) -- both appear in each side's Disclosures panel."""

FOLLOW_ON_LEAD: Final = timedelta(hours=1)
"""A standing volume's next notice is filed this long before the current one ends."""


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

    def start(self, timeout_s: float = 120.0) -> None:
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
    admin_keys: dict[str, str] = field(default_factory=dict)
    agreements: dict[str, str] = field(default_factory=dict)
    notices: dict[str, list[str]] = field(default_factory=dict)
    outcomes: list[tuple[PlannedNotice, str, str]] = field(default_factory=list)
    """(planned notice, outcome: accepted / conflict / refused, detail) in filing order."""


def create_operator_key(db_url: str) -> str:
    """Migrate ``db_url`` and create the broker operator's API key (the only step that needs
    the database; everything else goes through the HTTP API)."""
    upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write() as session:
            _, key = parties.create_key(
                session, None, "operator", now=datetime.now(UTC), label="demo operator"
            )
    finally:
        db.dispose()
    return key


def _call(
    client: httpx.Client, method: str, path: str, key: str, body: Any, what: str
) -> dict[str, Any]:
    response = client.request(method, path, json=body, headers={"Authorization": f"Bearer {key}"})
    if response.status_code >= 400:
        raise DemoError(f"{what} refused ({response.status_code}): {response.text[:500]}")
    out: dict[str, Any] = response.json()
    return out


def setup_arrangement(
    client: httpx.Client, operator_key: str, scenario: Scenario, *, speed: float
) -> DemoSetup:
    """Create, through the API, the parties and their keys, the advisory BLUE-RED agreement
    with its line, the F3548 RED-UAS agreement, the BLUE-RED hotline deadlines and both
    parties' escalation ladders (divided by ``speed``: the same in scenario time)."""
    ids: dict[str, str] = {}
    keys: dict[str, str] = {}
    admin: dict[str, str] = {}
    for name in DEMO_PARTIES:
        party = _call(client, "POST", "/v1/parties", operator_key, {"name": name}, "party")
        ids[name] = str(party["id"])
        # The operator issues a party's first party-admin key; the party's admin the rest.
        for role, issuer, store in (
            ("party_admin", operator_key, admin),
            ("duty_officer", None, keys),
        ):
            made = _call(
                client,
                "POST",
                f"/v1/parties/{ids[name]}/keys",
                issuer or admin[name],
                {"role": role, "label": f"demo {role.replace('_', ' ')}"},
                f"{name} {role} key",
            )
            store[name] = str(made["key"])
    setup = DemoSetup(ids, keys, operator_key, admin_keys=admin)
    for name, policy, members in AGREEMENTS:
        made = _call(
            client,
            "POST",
            "/v1/agreements",
            operator_key,
            {"name": name, "policy": policy, "parties": list(members)},
            f"agreement {name}",
        )
        setup.agreements[name] = str(made["id"])
    setup.agreement_id = setup.agreements[AGREEMENTS[0][0]]
    _call(
        client,
        "PUT",
        f"/v1/agreements/{setup.agreement_id}/settings",
        operator_key,
        {"disclosure": DEMO_DISCLOSURE},
        "disclosure budget",
    )
    for line in scenario.lines():
        sides = {ids[p]: side for p, side in line["sides"].items()}
        _call(
            client,
            "POST",
            f"/v1/agreements/{setup.agreement_id}/lines",
            operator_key,
            {"name": line["id"], "coordinates": line["coordinates"], "sides": sides},
            f"line {line['id']}",
        )
    deadlines = {p: round(v / speed, 3) for p, v in DEFAULT_DEADLINES_S.items()}
    _call(
        client,
        "PUT",
        "/v1/hotline/channels/BLUE/RED/settings",
        operator_key,
        {"ack_deadlines_s": deadlines},
        "hotline deadlines",
    )
    steps = [{"target": t, "after_s": round(s / speed, 3)} for t, s in DEFAULT_LADDER_S]
    for name in SIMULATED:
        _call(client, "PUT", "/v1/hotline/ladder", admin[name], {"steps": steps}, "ladder")
    return setup


def file_notice(client: httpx.Client, setup: DemoSetup, planned: PlannedNotice) -> tuple[str, str]:
    """File one planned notice; returns ``(outcome, detail)`` with outcome ``accepted``,
    ``conflict`` (accepted, advisory conflicts recorded) or ``refused`` (409, F3548)."""
    response = client.post(
        "/v1/notices",
        json=planned.body(),
        headers={"Authorization": f"Bearer {setup.keys[planned.party]}"},
    )
    if response.status_code == 409:
        return "refused", str(response.json().get("detail", ""))
    if response.status_code >= 400:
        raise DemoError(f"notice {planned.title} refused: {response.text[:500]}")
    body = response.json()
    setup.notices.setdefault(planned.party, []).append(str(body.get("id", "")))
    conflicts = body.get("conflicts") or []
    if conflicts:
        return "conflict", f"{len(conflicts)} advisory conflict(s)"
    return "accepted", ""


def submit_plans(client: httpx.Client, setup: DemoSetup, scenario: Scenario) -> None:
    """File the day's plan (:meth:`Scenario.plan`) and add nothing else; outcomes are kept in
    ``setup.outcomes``."""
    for planned in scenario.plan():
        outcome, detail = file_notice(client, setup, planned)
        setup.outcomes.append((planned, outcome, detail))


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
    for party in SIMULATED:
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


def simulated_parties(as_party: str | None) -> tuple[str, ...]:
    """Parties whose duty officer the demo plays: both, or the one you are not (``--as``)."""
    if as_party is None:
        return SIMULATED
    norm = as_party.strip().upper()
    if norm not in SIMULATED:
        raise InvalidInputError(field="--as", reason="must be BLUE or RED")
    return tuple(p for p in SIMULATED if p != norm)


class FollowOns:
    """Files each standing volume's next notice :data:`FOLLOW_ON_LEAD` before the current one
    ends (``POST /v1/notices``), so the standing traffic never flies without a plan."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.block = {spec.id: 0 for spec in geography.VOLUMES}

    def due(self, now: datetime) -> list[PlannedNotice]:
        """The follow-on notices to file at wall time ``now``."""
        out = []
        for vid, block in self.block.items():
            _, end = self.scenario.standing_window(vid, block)
            if now >= end - FOLLOW_ON_LEAD:
                self.block[vid] = block + 1
                out.append(self.scenario.standing_notice(vid, block + 1))
        return out


def _describe(outcomes: list[tuple[PlannedNotice, str, str]]) -> list[str]:
    lines = []
    for planned, outcome, detail in outcomes:
        if outcome == "accepted" and planned.expect == "accepted":
            continue
        vol = planned.volumes[0]
        window = f"{vol['start'][11:16]}-{vol['end'][11:16]} UTC"
        if outcome == "conflict":
            lines.append(
                f"  {planned.party} {planned.title} ({window}): accepted with an advisory "
                "conflict (overlap shown to both sides; hotline thread opened by the broker)"
            )
        elif outcome == "refused":
            lines.append(f"  {planned.party} {planned.title} ({window}): REFUSED - {detail}")
        else:
            lines.append(f"  {planned.party} {planned.title} ({window}): {outcome} {detail}")
    return lines


def run_demo(
    *,
    seed: int,
    speed: float,
    port: int,
    duration_s: float | None,
    data_dir: Path,
    as_party: str | None = None,
    quiet: bool = False,
    review: bool = True,
) -> dict[str, int]:
    """Run the demo; returns the final counts (used by the tests)."""
    simulated = simulated_parties(as_party)
    console = Console(quiet=quiet, highlight=False, soft_wrap=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    db_path = data_dir / "demo.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{db_path}{suffix}").unlink()
    db_url = f"sqlite:///{db_path.as_posix()}"
    operator_key = create_operator_key(db_url)
    # The kernels first (the first run after an install compiles them: about a minute on two
    # cores), so that the server starts at once and the scenario's first alert is on time.
    console.print("loading the detection kernels (the first run compiles them) ...")
    warm_kernels()
    settings = Settings(db_url=db_url, data_dir=data_dir, sqlite_synchronous="NORMAL")
    app = live_app(settings, config=LiveConfig.from_settings(settings))
    server = BackgroundServer(app, port=port)
    server.start()
    start = datetime.now(UTC)
    scenario = Scenario(seed, start=start)
    counts: dict[str, int] = {}
    try:
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            setup = setup_arrangement(client, operator_key, scenario, speed=speed)
            console.print(
                f"[bold]deconflict demo[/] (seed {seed}, speed x{speed:g}) on {server.url}"
            )
            console.print(f"  dashboard: {server.url}/    API docs: {server.url}/docs")
            console.print(f"  event stream: {server.url}/v1/stream?access_token=<key>")
            console.print(f"  database: {db_path}")
            for party in DEMO_PARTIES:
                console.print(f"  {party:6} duty officer key: {setup.keys[party]}")
            for party in DEMO_PARTIES:
                # The key travels in the URL fragment, which the browser never sends.
                console.print(
                    f"  {party:6} dashboard (signs in directly): "
                    f"{server.url}/#key={setup.keys[party]}"
                )
            console.print(f"  operator key: {operator_key}")
            submit_plans(client, setup, scenario)
            accepted = sum(1 for _, o, _ in setup.outcomes if o != "refused")
            refused = sum(1 for _, o, _ in setup.outcomes if o == "refused")
            console.print(
                f"  submitted {accepted} notices ({refused} refused) "
                f"and {len(scenario.lines())} agreed line; Ctrl-C stops"
            )
            for line in _describe(setup.outcomes):
                console.print(line)
            console.print(
                "  simulated duty officer(s): "
                + " and ".join(simulated)
                + (f" (you are {as_party.upper()})" if as_party else "")
            )
            # Scenario time 0 is now, when the traffic starts (set-up took a few seconds).
            clock0, wall0 = datetime.now(UTC), time.monotonic()
            ack_alerts = as_party is not None
            profiles = default_profiles(ack_alerts=ack_alerts)
            officers = {
                p: DutyOfficer(
                    profiles[p],
                    seed=seed,
                    to_utc=lambda t_s: clock0 + timedelta(seconds=t_s / speed),
                )
                for p in simulated
            }
            follow_ons = FollowOns(scenario)
            log_lines: list[str] = []
            driver = OfficerDriver(
                client,
                officers,
                keys=setup.keys,
                party_ids=setup.party_ids,
                log=log_lines.append,
            )
            counts = _loop(
                client,
                setup,
                scenario,
                driver,
                follow_ons,
                console,
                log_lines,
                speed=speed,
                wall0=wall0,
                duration_s=duration_s,
            )
    except KeyboardInterrupt:
        console.print("stopping ...")
    finally:
        server.stop()
    if review:
        out = data_dir / "review"
        files = export_review(
            db_url,
            start=start - timedelta(hours=1),
            end=datetime.now(UTC) + timedelta(seconds=1),
            out=out,
            langs=["en", "ru"],
            now=datetime.now(UTC),
        )
        console.print(f"review pack: {', '.join(str(f) for f in files if f.suffix == '.html')}")
    console.print(
        f"\ndone: {counts.get('alerts', 0)} alerts open at the end "
        f"({counts.get('conflicts', 0)} conflicts, {counts.get('incursions', 0)} incursions)"
    )
    return counts


def _loop(
    client: httpx.Client,
    setup: DemoSetup,
    scenario: Scenario,
    driver: OfficerDriver,
    follow_ons: FollowOns,
    console: Console,
    log_lines: list[str],
    *,
    speed: float,
    wall0: float,
    duration_s: float | None,
) -> dict[str, int]:
    counts: dict[str, int] = {}

    def table(t_s: float, aircraft: int) -> Table:
        grid = Table(
            title="open alerts (BLUE + RED) | hotline: sent, answers, escalated, incidents",
            show_header=True,
        )
        for name in (
            "time",
            "acft",
            "open",
            "confl",
            "incur",
            "nonc",
            "sent",
            "answ",
            "escal",
            "incid",
        ):
            grid.add_column(name)
        minutes, seconds = divmod(int(t_s), 60)
        grid.add_row(
            f"{minutes:02d}:{seconds:02d}",
            str(aircraft),
            str(counts.get("alerts", 0)),
            str(counts.get("conflicts", 0)),
            str(counts.get("incursions", 0)),
            str(counts.get("nonconforming", 0)),
            str(driver.counts["send"]),
            str(driver.counts["ack"]),
            str(len(driver.escalated)),
            str(driver.counts["file_incident"]),
        )
        return grid

    with Live(table(0, 0), console=console, refresh_per_second=2) as live:
        tick = 0
        while duration_s is None or time.monotonic() - wall0 < duration_s:
            now = datetime.now(UTC)
            t_s = (time.monotonic() - wall0) * speed
            states = scenario.states_at(t_s)
            for party in ("BLUE", "RED", "CIVIL"):
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
            driver.step(t_s, states)
            for planned in follow_ons.due(now):
                outcome, detail = file_notice(client, setup, planned)
                log_lines.append(f"{planned.party} files {planned.title}: {outcome} {detail}")
            counts = _counts(client, setup)
            for line in log_lines:
                minutes, seconds = divmod(int(t_s), 60)
                live.console.print(f"  [{minutes:02d}:{seconds:02d}] {line}")
            log_lines.clear()
            live.update(table(t_s, len(states["ids"])))
            tick += 1
            time.sleep(max(0.0, wall0 + tick - time.monotonic()))
    counts.update({f"hotline_{k}": v for k, v in driver.counts.items()})
    counts["escalated"] = len(driver.escalated)
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
        as_party: Annotated[
            str | None,
            typer.Option(
                "--as",
                help="You play BLUE or RED; the demo simulates only the other side's duty "
                "officer (default: it simulates both).",
            ),
        ] = None,
    ) -> None:
        """Run the live demo: BLUE, RED and civil traffic over the eastern Mediterranean,
        the day's notices and simulated duty officers on the hotline."""
        run_demo(
            seed=seed,
            speed=speed,
            port=port,
            duration_s=duration,
            data_dir=data_dir,
            as_party=as_party,
        )
