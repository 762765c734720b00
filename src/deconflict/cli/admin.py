"""``deconflict party|key|db|agreement``: administration from the command line.

Each command opens the database given by ``--db`` (default: the settings' SQLite file), does
one transaction and closes it. ``key create`` prints the key once on stdout; nothing else does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from deconflict.broker.agreements import add_line, create_agreement
from deconflict.broker.parties import (
    create_key,
    create_party,
    get_party,
    list_keys,
    list_parties,
    revoke_key,
)
from deconflict.broker.private_relay import enable_private, private_grid
from deconflict.errors import InvalidInputError
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import check_current, upgrade

DbOption = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: sqlite file in ./data).")
]


def _url(db: str | None) -> str:

    return Settings(db_url=db).db_url if db else Settings().db_url


@contextmanager
def _write(db: str | None) -> Iterator[Session]:

    url = _url(db)
    check_current(url)
    database = Database(url)
    try:
        with database.write() as session:
            yield session
    finally:
        database.dispose()


@contextmanager
def _read(db: str | None) -> Iterator[Session]:

    url = _url(db)
    check_current(url)
    database = Database(url)
    try:
        with database.read() as session:
            yield session
    finally:
        database.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


def register(app: typer.Typer) -> None:
    """Register the ``party``, ``key``, ``db`` and ``agreement`` groups on ``app``."""
    party_app = typer.Typer(help="Parties (states, coalition members, drone operators).")
    key_app = typer.Typer(help="API keys (stored as salted hashes; printed once).")
    db_app = typer.Typer(help="Database schema.")
    agreement_app = typer.Typer(help="Agreements between parties and their agreed lines.")
    app.add_typer(party_app, name="party")
    app.add_typer(key_app, name="key")
    app.add_typer(db_app, name="db")
    app.add_typer(agreement_app, name="agreement")

    @db_app.command("upgrade")
    def db_upgrade(db: DbOption = None) -> None:
        """Create or migrate the schema to the newest revision."""

        heads = upgrade(_url(db))
        typer.echo(f"database at revision {', '.join(sorted(heads))}")

    @db_app.command("check")
    def db_check(db: DbOption = None) -> None:
        """Exit 0 when the schema is current, else print what to run (exit 2)."""

        check_current(_url(db))
        typer.echo("database schema is current")

    @party_app.command("add")
    def party_add(name: str, db: DbOption = None) -> None:
        """Create a party; prints its id."""

        with _write(db) as session:
            party = create_party(session, name, now=_now())
        typer.echo(f"{party.id}\t{party.name}")

    @party_app.command("list")
    def party_list(db: DbOption = None) -> None:
        """List parties (id, name, suspended)."""

        with _read(db) as session:
            for p in list_parties(session):
                typer.echo(f"{p.id}\t{p.name}\t{'suspended' if p.suspended else 'active'}")

    @key_app.command("create")
    def key_create(
        party: Annotated[
            str | None, typer.Argument(help="Party name or id (omit for --role operator).")
        ] = None,
        role: Annotated[
            str, typer.Option(help="viewer | duty_officer | party_admin | operator")
        ] = "viewer",
        expires_days: Annotated[
            float | None, typer.Option(help="Lifetime in days (default: no expiry).")
        ] = None,
        label: Annotated[str, typer.Option(help="Free-text label.")] = "",
        db: DbOption = None,
    ) -> None:
        """Create an API key and print it once (store it now: only its hash is kept)."""

        with _write(db) as session:
            party_id = get_party(session, party).id if party else None
            info, key = create_key(
                session, party_id, role, now=_now(), expires_days=expires_days, label=label
            )
        typer.echo(key)
        typer.echo(f"key id {info.key_id}, role {info.role}", err=True)

    @key_app.command("revoke")
    def key_revoke(key_id: str, db: DbOption = None) -> None:
        """Revoke a key at once."""

        with _write(db) as session:
            info = revoke_key(session, key_id, now=_now())
        typer.echo(f"revoked {info.key_id}")

    @key_app.command("list")
    def key_list(
        party: Annotated[str | None, typer.Argument(help="Party (omit: operator keys).")] = None,
        db: DbOption = None,
    ) -> None:
        """List key ids, roles and states (never secrets)."""

        with _read(db) as session:
            party_id = get_party(session, party).id if party else None
            now = _now()
            for k in list_keys(session, party_id):
                state = (
                    "revoked"
                    if k.revoked_at
                    else "expired"
                    if k.expires_at and k.expires_at <= now
                    else "active"
                )
                typer.echo(f"{k.key_id}\t{k.role}\t{state}\t{k.label}")

    @agreement_app.command("create")
    def agreement_create(
        name: str,
        parties: Annotated[list[str], typer.Argument(help="Two or more party names or ids.")],
        policy: Annotated[str, typer.Option(help="advisory | f3548")] = "advisory",
        pseudonyms: Annotated[
            bool, typer.Option(help="Show members to each other by pseudonym only.")
        ] = False,
        equal_priority_allowed: Annotated[
            bool, typer.Option(help="F3548: accept equal-priority overlaps (recorded).")
        ] = False,
        mode: Annotated[
            str, typer.Option(help="open | private (two parties; plans stay with the parties)")
        ] = "open",
        grid: Annotated[
            str, typer.Option(help="private: 'H3 resolution,slot s,layer ft'")
        ] = "6,300,1000",
        profile: Annotated[
            str,
            typer.Option(
                help="DAA alerting profile of the live picture: cylinder | airprox | do365b"
            ),
        ] = "cylinder",
        db: DbOption = None,
    ) -> None:
        """Create an agreement between parties; prints its id."""
        if mode not in ("open", "private"):
            raise InvalidInputError(field="--mode", reason="must be 'open' or 'private'")
        with _write(db) as session:
            a = create_agreement(
                session,
                name,
                policy=policy,
                parties=parties,
                now=_now(),
                use_pseudonyms=pseudonyms,
                equal_priority_allowed=equal_priority_allowed,
                profile=profile,
            )
            if mode == "private":
                enable_private(session, a.id, private_grid(grid), now=_now())
        typer.echo(f"{a.id}\t{a.name}\t{a.policy}" + ("\tprivate" if mode == "private" else ""))

    @agreement_app.command("line")
    def agreement_line(
        agreement_id: str,
        name: str,
        coordinates: Annotated[str, typer.Option(help="'lon,lat;lon,lat;...' in degrees.")],
        side: Annotated[list[str], typer.Option(help="PARTY=left|right (repeat per party).")],
        db: DbOption = None,
    ) -> None:
        """Add an agreed line to an agreement; prints its id."""

        try:
            coords = [[float(v) for v in pair.split(",")] for pair in coordinates.split(";")]
        except ValueError:
            raise InvalidInputError(
                field="coordinates", reason="expected 'lon,lat;lon,lat;...'"
            ) from None
        sides: dict[str, str] = {}
        for item in side:
            ref, sep, value = item.rpartition("=")
            if not sep:
                raise InvalidInputError(field="side", reason="expected PARTY=left|right")
            sides[ref] = value
        with _write(db) as session:
            line = add_line(
                session, agreement_id, name=name, coordinates=coords, sides=sides, now=_now()
            )
        typer.echo(f"{line.id}\t{line.name}")
