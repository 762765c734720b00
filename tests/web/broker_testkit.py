"""Test kit for the broker API tests: seeding parties/keys and the :class:`BrokerEnv` handle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from deconflict.broker import agreements, parties
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import upgrade

ROLES_BY_PARTY = ("viewer", "duty_officer", "party_admin")


@dataclass
class BrokerEnv:
    """A running app (in-process client) with parties A and B, an operator and an agreement."""

    client: TestClient
    url: str
    party_ids: dict[str, str]
    keys: dict[str, str]  # "A.viewer", "B.duty_officer", "operator", ...
    key_ids: dict[str, str]
    agreement_id: str
    settings: Settings
    extra: dict[str, Any] = field(default_factory=dict)

    def h(self, who: str, **more: str) -> dict[str, str]:
        """Headers authenticating as ``who``."""
        return {"Authorization": f"Bearer {self.keys[who]}", **more}


def seed(
    url: str,
    *,
    policy: str = "advisory",
    pseudonyms: bool = False,
    names: tuple[str, ...] = ("A", "B"),
) -> tuple[dict[str, str], dict[str, str], dict[str, str], str]:
    """Create parties ``names`` with one key per role, an operator key and one agreement."""
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    party_ids: dict[str, str] = {}
    keys: dict[str, str] = {}
    key_ids: dict[str, str] = {}
    try:
        with db.write() as s:
            for name in names:
                party_ids[name] = parties.create_party(s, f"Party {name}", now=now).id
                for role in ROLES_BY_PARTY:
                    info, key = parties.create_key(s, party_ids[name], role, now=now)
                    keys[f"{name}.{role}"] = key
                    key_ids[f"{name}.{role}"] = info.key_id
            info, key = parties.create_key(s, None, "operator", now=now)
            keys["operator"] = key
            key_ids["operator"] = info.key_id
            agreement = agreements.create_agreement(
                s,
                "test agreement",
                policy=policy,
                parties=list(party_ids.values()),
                now=now,
                use_pseudonyms=pseudonyms,
            )
    finally:
        db.dispose()
    return party_ids, keys, key_ids, agreement.id


def iso(t: datetime) -> str:
    """RFC 3339 UTC with Z."""
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def circle(
    lon: float,
    lat: float,
    *,
    radius_nm: float = 5.0,
    lower_ft: float = 0.0,
    upper_ft: float = 10_000.0,
    start_h: float = 100.0,
    hours: float = 2.0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A circle volume ``start_h`` hours from now lasting ``hours``."""
    from datetime import timedelta

    base = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    t0 = base + timedelta(hours=start_h)
    return {
        "footprint": {"type": "circle", "center": [lon, lat], "radius_nm": radius_nm},
        "altitude": {"lower": lower_ft, "upper": upper_ft, "reference": "ft_amsl"},
        "start": iso(t0),
        "end": iso(t0 + timedelta(hours=hours)),
    }


def notice(
    *volumes: dict[str, Any], category: str = "exercise", priority: int = 0
) -> dict[str, Any]:
    """A notice body."""
    return {"title": "t", "category": category, "priority": priority, "volumes": list(volumes)}


class LiveServer:
    """The app served by uvicorn on a free loopback port, in a background thread."""

    def __init__(self, settings: Any) -> None:
        import socket
        import threading

        import uvicorn

        from deconflict.web.app import create_app

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
