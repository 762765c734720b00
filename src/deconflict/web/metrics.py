"""Prometheus text-format metrics and the ASGI middleware that measures every request.

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

import bisect
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Histogram bucket upper bounds (s).
BUCKETS_S: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

_HELP = {
    "deconflict_http_requests_total": ("counter", "HTTP requests by method, route and status."),
    "deconflict_notices_total": ("counter", "Notice submissions by outcome."),
    "deconflict_conflicts_total": ("counter", "Conflict records created, by policy."),
}


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in labels
    )
    return "{" + inner + "}"


class Metrics:
    """Thread-safe counters, one gauge and one latency histogram (one instance per app)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self._hist: dict[str, list[float]] = {}
        self._hist_sum: dict[str, float] = defaultdict(float)
        self._hist_count: dict[str, int] = defaultdict(int)
        self.sse_streams = 0

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to counter ``name`` with ``labels``."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters[name]
            series[key] = series.get(key, 0.0) + amount

    def observe(self, route: str, seconds: float) -> None:
        """Record one request duration (s) for ``route``."""
        with self._lock:
            counts = self._hist.setdefault(route, [0.0] * (len(BUCKETS_S) + 1))
            counts[bisect.bisect_left(BUCKETS_S, seconds)] += 1
            self._hist_sum[route] += seconds
            self._hist_count[route] += 1

    def sse_delta(self, delta: int) -> None:
        """Change the open-stream gauge by ``delta``."""
        with self._lock:
            self.sse_streams += delta

    def render(self) -> str:
        """The Prometheus text exposition (format 0.0.4)."""
        lines: list[str] = []
        with self._lock:
            for name in sorted(set(_HELP) | set(self._counters)):
                kind, text = _HELP.get(name, ("counter", name))
                lines.append(f"# HELP {name} {text}")
                lines.append(f"# TYPE {name} {kind}")
                for key, value in sorted(self._counters.get(name, {}).items()):
                    lines.append(f"{name}{_labels(key)} {value:g}")
            hname = "deconflict_http_request_duration_seconds"
            lines.append(f"# HELP {hname} HTTP request latency by route template.")
            lines.append(f"# TYPE {hname} histogram")
            for route in sorted(self._hist):
                cumulative = 0.0
                for bound, count in zip((*BUCKETS_S, float("inf")), self._hist[route], strict=True):
                    cumulative += count
                    le = "+Inf" if bound == float("inf") else f"{bound:g}"
                    lines.append(
                        f"{hname}_bucket{_labels((('le', le), ('route', route)))} {cumulative:g}"
                    )
                lines.append(f"{hname}_sum{_labels((('route', route),))} {self._hist_sum[route]:g}")
                lines.append(
                    f"{hname}_count{_labels((('route', route),))} {self._hist_count[route]}"
                )
            lines.append("# HELP deconflict_sse_streams Open event streams.")
            lines.append("# TYPE deconflict_sse_streams gauge")
            lines.append(f"deconflict_sse_streams {self.sse_streams}")
        return "\n".join(lines) + "\n"


class MetricsAndLimitsMiddleware:
    """Pure ASGI middleware: request counting/latency and the request-body size limit.

    A body larger than ``max_body_bytes`` gets 413 problem+json before the app reads it.
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
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _send_413(send, self.max_body_bytes)
            self._record(scope, 413, started)
            return
        received = 0
        limit = self.max_body_bytes

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
    import json

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
