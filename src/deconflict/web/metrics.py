"""Prometheus metrics (``prometheus_client``) and the ASGI middleware that measures every request.

Exposed at ``GET /metrics`` (operator role). Series:

- ``deconflict_http_requests_total{method,route,status}`` (counter)
- ``deconflict_http_request_duration_seconds{route}`` (histogram; ``route`` is the path template,
  so cardinality is bounded; the event stream is excluded)
- ``deconflict_notices_total{outcome}`` (accepted, amended, cancelled, rejected, idempotent_replay)
- ``deconflict_conflicts_total{policy}`` (conflict records created)
- ``deconflict_sse_streams`` (gauge: open event streams)

Counts are aggregated over all parties; nothing in them identifies a party.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Histogram bucket upper bounds (s).
BUCKETS_S: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

# The ``*_created`` timestamp series add nothing here (one process, counters from start-up).
disable_created_metrics()  # type: ignore[no-untyped-call]

#: Content type of :meth:`Metrics.render` (Prometheus text format 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The broker's series in their own ``prometheus_client`` registry (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._counters: dict[str, Counter] = {
            "deconflict_http_requests_total": Counter(
                "deconflict_http_requests",
                "HTTP requests by method, route and status.",
                ("method", "route", "status"),
                registry=self.registry,
            ),
            "deconflict_notices_total": Counter(
                "deconflict_notices",
                "Notice submissions by outcome.",
                ("outcome",),
                registry=self.registry,
            ),
            "deconflict_conflicts_total": Counter(
                "deconflict_conflicts",
                "Conflict records created, by policy.",
                ("policy",),
                registry=self.registry,
            ),
        }
        self._latency = Histogram(
            "deconflict_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ("route",),
            buckets=BUCKETS_S,
            registry=self.registry,
        )
        self._streams = Gauge(
            "deconflict_sse_streams", "Open event streams.", registry=self.registry
        )

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to counter ``name`` (one of the ``*_total`` series) with ``labels``."""
        self._counters[name].labels(**labels).inc(amount)

    def observe(self, route: str, seconds: float) -> None:
        """Record one request duration (s) for ``route``."""
        self._latency.labels(route=route).observe(seconds)

    def sse_delta(self, delta: int) -> None:
        """Change the open-stream gauge by ``delta``."""
        self._streams.inc(delta)

    def render(self) -> str:
        """The Prometheus text exposition (format 0.0.4, :data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry).decode()


#: Path prefixes allowed a larger body than ``max_body_bytes`` (bytes): the private-mode relay's
#: blinded sets and sealed answers (up to 262,144 x 32 B in base64; issue 15).
LARGE_BODY_PREFIXES: dict[str, int] = {"/v1/private/agreements/": 12_000_000}


class MetricsAndLimitsMiddleware:
    """Pure ASGI middleware: request counting/latency and the request-body size limit.

    A body larger than ``max_body_bytes`` (or the :data:`LARGE_BODY_PREFIXES` limit of its path)
    gets 413 problem+json before the app reads it.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        path = str(scope.get("path", ""))
        limit = next(
            (n for p, n in LARGE_BODY_PREFIXES.items() if path.startswith(p)), self.max_body_bytes
        )
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _send_413(send, limit)
            self._record(scope, 413, started)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            await _send_413(send, limit)
            status_holder["status"] = 413
        finally:
            self._record(scope, status_holder["status"], started)

    def _record(self, scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.inc(
            "deconflict_http_requests_total",
            method=str(scope.get("method", "")),
            route=template,
            status=str(status),
        )
        if template != "/v1/stream":
            self.metrics.observe(template, time.perf_counter() - started)


class _BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` when a streamed body passes the limit (the app answers 413)."""

    def __init__(self) -> None:
        super().__init__(413, "request body too large")


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "https://deconflict.invalid/problems/payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"request body exceeds {limit} bytes",
            "errors": [{"field": "body", "reason": f"at most {limit} bytes"}],
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
