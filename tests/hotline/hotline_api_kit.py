"""Test kit for the hotline API: a migrated database, parties blue/red/green, an app client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from deconflict.broker import agreements, parties
from deconflict.broker import hotline as hotline_sql
from deconflict.settings import Settings
from deconflict.store.base import Database, metadata
from deconflict.store.migrate import upgrade
from deconflict.web.app import create_app
from deconflict.web.routes import ROUTE_MODULES
from deconflict.web.routes import hotline as hotline_routes

HOTLINE_TABLES = [t for name, t in metadata.tables.items() if name.startswith("hotline_")]


def migrate(url: str) -> None:
    """Bring ``url`` to the head revision (the hotline tables come from ``0004_hotline``)."""
    upgrade(url)


@dataclass
class HotlineEnv:
    """A running app with three parties and keys per role."""

    client: TestClient
    db: Database
    ids: dict[str, str]
    keys: dict[str, str]

    def h(self, who: str) -> dict[str, str]:
        """Headers authenticating as ``who`` (``"blue"`` = duty officer, ``"blue.viewer"``...)."""
        key = self.keys[who if "." in who or who == "operator" else f"{who}.duty_officer"]
        return {"Authorization": f"Bearer {key}"}

    def count(self, table: str) -> int:
        """Rows in a table."""
        with self.db.read() as s:
            return int(
                s.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one()
            )


@contextmanager
def hotline_env(
    url: str, *, tick_s: float = 3600.0, pseudonyms: bool = False
) -> Iterator[HotlineEnv]:
    """Seed parties and keys and start the app; its hotline ticker runs every ``tick_s``.

    The three parties share one agreement (the hotline only connects parties that do), with
    pseudonyms when ``pseudonyms`` is true.

    Tests drive escalation explicitly with :func:`hotline_tick` and a chosen ``now``; the
    background ticker (real clock) is slowed down unless a test asks for it.
    """
    migrate(url)
    db = Database(url)
    now = datetime.now(UTC)
    ids: dict[str, str] = {}
    keys: dict[str, str] = {}
    with db.write() as s:
        for name in ("blue", "red", "green"):
            ids[name] = parties.create_party(s, name, now=now).id
            for role in ("viewer", "duty_officer", "party_admin"):
                keys[f"{name}.{role}"] = parties.create_key(s, ids[name], role, now=now)[1]
        keys["operator"] = parties.create_key(s, None, "operator", now=now)[1]
        agreements.create_agreement(
            s,
            "hotline test agreement",
            policy="advisory",
            parties=list(ids.values()),
            now=now,
            use_pseudonyms=pseudonyms,
        )
    settings = Settings(db_url=url, sqlite_synchronous="NORMAL")
    saved = hotline_routes.DEFAULT_TICK_S
    hotline_routes.DEFAULT_TICK_S = tick_s
    try:
        # until the lead lists "hotline" in ROUTE_MODULES, mount the router and task here
        registered = "hotline" in ROUTE_MODULES
        tasks = () if registered else tuple(hotline_routes.background_tasks)
        app = create_app(settings, background_tasks=tasks)
        if not registered:
            app.include_router(hotline_routes.router)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield HotlineEnv(client, db, ids, keys)
    finally:
        hotline_routes.DEFAULT_TICK_S = saved
        db.dispose()


__all__ = ["HOTLINE_TABLES", "HotlineEnv", "hotline_env", "hotline_sql", "migrate"]
