"""``deconflict serve``: run the broker (uvicorn) on SQLite (default) or PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import typer

from deconflict.settings import Settings
from deconflict.store.base import normalise_url
from deconflict.store.migrate import check_current
from deconflict.web.app import create_app


def _settings(db: str | None, host: str | None = None, port: int | None = None) -> Settings:
    overrides: dict[str, object] = {}
    if db:
        overrides["db_url"] = db
    if host:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    return Settings(**overrides)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    """Register ``serve`` on ``app``."""

    @app.command("serve")
    def serve(
        db: Annotated[
            str | None,
            typer.Option(help="Database URL (default: sqlite file in the data directory)."),
        ] = None,
        host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
        port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
        log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    ) -> None:
        """Run the broker HTTP API (refuses an un-migrated database)."""
        import uvicorn

        settings = _settings(db, host, port)
        check_current(settings.db_url)  # clear CLI error before binding the port
        typer.echo(
            f"deconflict: serving on http://{settings.host}:{settings.port} "
            f"(docs: /docs, database: {_shown(settings.db_url)})",
            err=True,
        )
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            timeout_graceful_shutdown=3,
        )


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(normalise_url(url)).render_as_string(hide_password=True)
