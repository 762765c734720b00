"""The application factory: ``create_app(settings) -> FastAPI`` (no module-level app, no globals).

Start-up (lifespan): open the :class:`~deconflict.store.base.Database`, refuse to serve an
un-migrated schema (``run: deconflict db upgrade --db URL``), bind the outbox notifier to the event
loop, call every start-up hook (e.g. rebuilding the strategic index) and start the background
tasks (e.g. the live conflict-detection loop). Shutdown cancels the tasks and closes the pools.

Extension points, so other areas plug in without editing this file:

- a route module (listed in :data:`deconflict.web.routes.ROUTE_MODULES`) exposes ``router`` and
  may expose ``background_tasks: Sequence[Callable[[FastAPI], Awaitable[None]]]`` — long-running
  coroutines started after start-up and cancelled at shutdown — and
  ``startup_hooks: Sequence[Callable[[FastAPI], None]]`` run (in a worker thread) before serving.
- ``create_app(settings, background_tasks=[...])`` adds more tasks (tests, the demo).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import event

from deconflict import __version__
from deconflict.broker.events import openapi_components
from deconflict.broker.outbox import OutboxNotifier
from deconflict.broker.parties import PrincipalCache
from deconflict.settings import Settings
from deconflict.store.base import Database, is_sqlite
from deconflict.store.migrate import check_current
from deconflict.web import problems
from deconflict.web.hardening import HardeningMiddleware
from deconflict.web.metrics import Metrics, MetricsAndLimitsMiddleware
from deconflict.web.routes import load_route_modules

BackgroundTask = Callable[[FastAPI], Awaitable[None]]
StartupHook = Callable[[FastAPI], None]
log = logging.getLogger("deconflict.web")
#: How long a verified API key is trusted without a database read, s (a revocation through this
#: process applies at once; through another process, within this time).
AUTH_CACHE_TTL_S = 1.0

SHUTDOWN_S = 15.0
"""Longest wait for the background tasks at shutdown, s."""

_DOCS_ASSETS = Path(__file__).resolve().parent / "docs_assets"


def create_app(settings: Settings, *, background_tasks: Sequence[BackgroundTask] = ()) -> FastAPI:
    """Build the broker's FastAPI application from ``settings``.

    Parameters
    ----------
    settings:
        Validated settings (database URL, limits, intervals).
    background_tasks:
        Extra coroutines ``task(app)`` to run for the app's lifetime.
    """
    modules = load_route_modules()
    tasks: list[BackgroundTask] = []
    hooks: list[StartupHook] = []
    for module in modules:
        tasks.extend(getattr(module, "background_tasks", ()))
        hooks.extend(getattr(module, "startup_hooks", ()))
    tasks.extend(background_tasks)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(
            settings.db_url,
            sqlite_synchronous=settings.sqlite_synchronous,
            sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        )
        try:
            await anyio.to_thread.run_sync(check_current, settings.db_url, db.write_engine)
        except Exception:
            db.dispose()
            raise
        notifier: OutboxNotifier = app.state.notifier
        notifier.bind(asyncio.get_running_loop())
        event.listen(db.writer_sessions, "after_commit", notifier.after_commit)
        event.listen(db.writer_sessions, "after_soft_rollback", _soft_rollback(notifier))
        app.state.principal_cache = PrincipalCache(ttl_s=AUTH_CACHE_TTL_S)
        app.state.db = db
        for hook in hooks:
            await anyio.to_thread.run_sync(hook, app)
        running = [asyncio.create_task(_guard(task, app)) for task in tasks]
        app.state.tasks = running
        try:
            yield
        finally:
            await _stop_tasks(running)
            app.state.db = None
            db.dispose()

    app = FastAPI(
        title="deconflict broker",
        version=__version__,
        description=(
            "Multi-party airspace deconfliction broker. Every request carries "
            "`Authorization: Bearer <key>`; errors are RFC 9457 problem+json."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses={
            "4XX": {
                "description": "Problem details (RFC 9457)",
                "content": {"application/problem+json": {"schema": problems.PROBLEM_SCHEMA}},
            }
        },
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.notifier = OutboxNotifier()
    app.state.db = None
    problems.install(app)
    # inside the metrics middleware (its 503s and 404s are counted); see web/hardening.py
    app.add_middleware(HardeningMiddleware, max_writes=32 if is_sqlite(settings.db_url) else 16)
    app.add_middleware(
        MetricsAndLimitsMiddleware,
        metrics=app.state.metrics,
        max_body_bytes=settings.max_body_bytes,
    )
    for module in modules:
        app.include_router(module.router)
    _mount_docs(app)
    _publish_event_schemas(app)
    return app


async def _stop_tasks(running: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel the background tasks and wait (at most :data:`SHUTDOWN_S`) until they end.

    A cancellation that arrives while a task waits for a worker thread
    (``anyio.to_thread.run_sync``, shielded) can be absorbed by that wait, and the task then
    loops on: the request is repeated every 0.5 s until the task ends, so shutdown never hangs.
    """
    pending = {t for t in running if not t.done()}
    deadline = asyncio.get_running_loop().time() + SHUTDOWN_S
    while pending:
        for t in pending:
            t.cancel()
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            log.warning("%d background task(s) did not stop within %s s", len(pending), SHUTDOWN_S)
            break
        _, pending = await asyncio.wait(pending, timeout=min(0.5, left))
    for t in running:
        if t.done() and not t.cancelled():
            with contextlib.suppress(Exception):
                t.result()  # retrieved: a task's own failure was logged by _guard


def _publish_event_schemas(app: FastAPI) -> None:
    """Add the stream event models (``ConflictEvent``, ``AlertEvent``, ... ``StreamEvent``;
    :mod:`deconflict.broker.events`) to the OpenAPI components (``GET /v1/stream`` refers to
    ``StreamEvent``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = FastAPI.openapi(app)
        found = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, component in openapi_components().items():
            found.setdefault(name, component)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _soft_rollback(notifier: OutboxNotifier) -> Callable[[Any, Any], None]:
    def hook(session: Any, _previous_transaction: Any) -> None:
        notifier.after_rollback(session)

    return hook


async def _guard(task: BackgroundTask, app: FastAPI) -> None:
    """Run a background task; log (never swallow silently) a crash."""
    try:
        await task(app)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("background task %s crashed", getattr(task, "__name__", task))
        raise


def _mount_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI served from the package (offline) when its assets are vendored,
    else a self-contained endpoint list (never a CDN)."""
    if (_DOCS_ASSETS / "swagger-ui-bundle.js").is_file():
        app.mount("/docs-assets", StaticFiles(directory=_DOCS_ASSETS), name="docs-assets")

        async def swagger() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url="/openapi.json",
                title="deconflict broker — API",
                swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                swagger_css_url="/docs-assets/swagger-ui.css",
                swagger_favicon_url="/docs-assets/favicon-32x32.png",
            )

        app.add_api_route("/docs", swagger, include_in_schema=False)
        return

    async def plain_docs() -> HTMLResponse:
        rows = []
        for path, item in sorted(app.openapi().get("paths", {}).items()):
            for method, op in item.items():
                summary = op.get("summary", "")
                rows.append(f"<tr><td>{method.upper()}</td><td>{path}</td><td>{summary}</td></tr>")
        html = (
            "<!doctype html><meta charset=utf-8><title>deconflict API</title>"
            "<h1>deconflict broker API</h1><p>Machine-readable schema: "
            "<a href=/openapi.json>/openapi.json</a></p><table border=1 cellpadding=4>"
            "<tr><th>method</th><th>path</th><th>summary</th></tr>" + "".join(rows) + "</table>"
        )
        return HTMLResponse(html)

    app.add_api_route("/docs", plain_docs, include_in_schema=False)
