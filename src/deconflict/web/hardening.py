"""Hardening middleware: security headers, bad paths, overload admission, no keys in logs.

A pure ASGI middleware (:class:`HardeningMiddleware`) in front of every route:

- **Security headers** on every response: a Content-Security-Policy that allows only the
  broker's own origin (the dashboard loads nothing from elsewhere), ``X-Frame-Options: DENY``,
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``.
- **Bad paths**: a path with a NUL byte, an invalid percent-escape or a ``..`` segment is a 404
  problem before any route sees it.
- **Overload**: at most ``max_writes`` mutating requests (POST/PUT/PATCH/DELETE) are admitted at
  once; up to ``max_queue`` more wait in a bounded queue for at most ``queue_wait_s`` (the
  request deadline) and are admitted as slots free up; beyond the queue, or past the deadline,
  503 problem+json with ``Retry-After``. Admitted writers wait for the writer connection at
  most the pool's short timeout. A
  writer that still cannot get a database connection in time (SQLAlchemy pool timeout, SQLite
  "database is locked") is also a 503 with ``Retry-After``, never a 500. Reads are not gated,
  and the worker-thread pool is sized (:data:`THREAD_TOKENS`) so they never wait on writers.
- **No keys in logs**: the ``uvicorn.access`` logger gets a filter that replaces the value of
  ``access_token`` in logged request lines with ``***``.
- **Text no database stores**: a JSON request body whose strings hold a NUL character
  (PostgreSQL text cannot) or an unpaired UTF-16 surrogate (not UTF-8), or a query string with
  ``%00``, is a 422 problem naming the field (``volumes[0].title``, ``id[1]``) before any route
  sees it, on every backend alike. A bytes scan finds candidates (a ``\u0000`` or surrogate
  escape); only then is the body parsed to locate the string, so ordinary bodies cost one regex
  pass (the body is already bounded by the size limit in front).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any, Final
from urllib.parse import unquote_to_bytes

import anyio
import anyio.to_thread
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
"""Content-Security-Policy of every response (``/docs`` adds inline scripts for Swagger UI)."""

DOCS_CSP: Final = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")

SECURITY_HEADERS: Final = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)

MUTATING: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

THREAD_TOKENS: Final = 200
"""Worker threads for sync routes (AnyIO's default is 40): with at most ``max_writes`` writers
admitted, the rest are always available to readers."""

QUEUE_POLL_S: Final = 0.01
"""How often (s) a queued write checks for a free slot: bounded work, any event loop."""

_TOKEN_RE: Final = re.compile(r"(access_token=)[^&\s\"]+")


class RedactTokens(logging.Filter):
    """Replace ``access_token=<key>`` in a log record's message and arguments with ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _TOKEN_RE.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str) and "access_token=" in record.msg:
            record.msg = _TOKEN_RE.sub(r"\1***", record.msg)
        return True


def install_log_redaction() -> None:
    """Add :class:`RedactTokens` to the uvicorn access logger (and its handlers) once."""
    for logger in (logging.getLogger("uvicorn.access"), logging.getLogger("uvicorn.error")):
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
        for handler in logger.handlers:
            if not any(isinstance(f, RedactTokens) for f in handler.filters):
                handler.addFilter(RedactTokens())


def _bad_path(scope: Scope) -> bool:
    raw = scope.get("raw_path") or str(scope.get("path", "")).encode("utf-8", "surrogateescape")
    raw_path = bytes(raw).split(b"?", 1)[0]
    try:
        decoded = unquote_to_bytes(raw_path)
        text = decoded.decode("utf-8")
    except (UnicodeDecodeError, ValueError):
        return True
    if "\x00" in text or "\x00" in str(scope.get("path", "")):
        return True
    if re.search(rb"%(?![0-9A-Fa-f]{2})", raw_path):
        return True
    return any(part == ".." for part in text.split("/"))


async def _problem(send: Send, status: int, title: str, detail: str, **extra: Any) -> None:
    headers = [(b"content-type", b"application/problem+json")]
    retry = extra.get("retry_after_s")
    if retry is not None:
        headers.append((b"retry-after", str(int(retry)).encode()))
    body = json.dumps({"type": "about:blank", "title": title, "status": status,
                       "detail": detail, **extra}).encode()  # fmt: skip
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_SUSPECT_TEXT: Final = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|\x00")
"""Bytes of a JSON body that may hold a NUL or a surrogate escape (a superset: a paired
surrogate or an escaped backslash before ``u0000`` also match; :func:`bad_text_field`
decides)."""

_BAD_TEXT_REASON: Final = (
    "must not contain NUL characters or unpaired UTF-16 surrogates (no database stores them)"
)


def _bad_string(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shown(path: str) -> str:
    """``path`` safe to echo in an error: NUL and unpaired surrogates as escapes."""
    return path.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode()


def bad_text_field(document: Any) -> str | None:
    """The path (``a.b[2].c``) of the first string in a parsed JSON document, key or value,
    that holds a NUL character or an unpaired surrogate; ``None`` when there is none."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _bad_string(value):
                return path or "body"
        elif isinstance(value, dict):
            items = list(value.items())
            for key, item in reversed(items):
                name = f"{path}.{key}" if path else str(key)
                if _bad_string(str(key)):
                    return _shown(name)
                stack.append((name, item))
        elif isinstance(value, list):
            for k in range(len(value) - 1, -1, -1):
                stack.append((f"{path}[{k}]", value[k]))
    return None


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole request body and the messages it came in (bounded by the size limit)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that returns ``messages`` first, then the real ones."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _suspect_field(body: bytes) -> str | None:
    """:func:`bad_text_field` of ``body`` when the bytes scan finds a candidate; ``None`` for
    a clean body or one that is not JSON (the route answers that)."""
    if _SUSPECT_TEXT.search(body) is None:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return bad_text_field(document)


class HardeningMiddleware:
    """See the module docstring.

    Parameters
    ----------
    max_writes:
        Mutating requests admitted at once.
    max_queue:
        Mutating requests that may wait for a slot; more get 503 + ``Retry-After`` at once.
    queue_wait_s:
        How long (s) a queued request waits for a slot before it gets 503 + ``Retry-After``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_writes: int = 48,
        max_queue: int = 64,
        queue_wait_s: float = 5.0,
    ) -> None:
        self.app = app
        self.max_writes = max_writes
        self.max_queue = max_queue
        self.queue_wait_s = queue_wait_s
        self._writes = 0
        self._waiting = 0
        self._lock = threading.Lock()
        self._tuned = False
        self.refused = 0
        install_log_redaction()

    def _try_take_slot(self) -> bool:
        with self._lock:
            if self._writes < self.max_writes:
                self._writes += 1
                return True
            return False

    async def _admit(self) -> bool:
        """Take a write slot now, or wait in the bounded queue until the deadline."""
        if self._try_take_slot():
            return True
        with self._lock:
            if self._waiting >= self.max_queue:
                self.refused += 1
                return False
            self._waiting += 1
        try:
            deadline = anyio.current_time() + self.queue_wait_s
            while anyio.current_time() < deadline:
                await anyio.sleep(QUEUE_POLL_S)
                if self._try_take_slot():
                    return True
            with self._lock:
                self.refused += 1
            return False
        finally:
            with self._lock:
                self._waiting -= 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._tuned:
            self._tuned = True
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = max(limiter.total_tokens, THREAD_TOKENS)
            install_log_redaction()  # uvicorn configured its loggers after create_app
        path = str(scope.get("path", ""))
        csp = (DOCS_CSP if path.startswith("/docs") else CSP).encode()
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {b"content-security-policy", *(h for h, _ in
                                                                       SECURITY_HEADERS)}
                ]  # fmt: skip
                headers += [(b"content-security-policy", csp), *SECURITY_HEADERS]
                message = {**message, "headers": headers}
            await send(message)

        if _bad_path(scope):
            await _problem(with_headers, 404, "Not found", "no such path")
            return
        if b"%00" in bytes(scope.get("query_string", b"")).lower():
            await _problem(
                with_headers,
                422,
                "Invalid input",
                "the query string holds a NUL character",
                errors=[{"field": "query", "reason": _BAD_TEXT_REASON}],
            )
            return
        mutating = scope.get("method", "GET") in MUTATING
        if mutating:
            admitted = await self._admit()
            if not admitted:
                await _problem(
                    with_headers,
                    503,
                    "Service overloaded",
                    "too many writes in progress; retry shortly",
                    retry_after_s=1,
                )
                return
        try:
            # after admission: at most ``max_writes`` bodies are held in memory at once (a
            # queued request's body stays in the server's flow-controlled socket buffer)
            if mutating and b"json" in dict(scope.get("headers") or []).get(b"content-type", b""):
                body, messages = await _read_body(receive)
                receive = _replay(messages, receive)
                field = _suspect_field(body)
                if field is not None:
                    await _problem(
                        with_headers,
                        422,
                        "Invalid input",
                        f"{field}: text {_BAD_TEXT_REASON}",
                        errors=[{"field": field, "reason": f"text {_BAD_TEXT_REASON}"}],
                    )
                    return
            await self.app(scope, receive, with_headers)
        except (PoolTimeoutError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and "locked" not in str(exc).lower():
                raise
            if started:
                raise
            await _problem(
                with_headers,
                503,
                "Service overloaded",
                "the database is busy; retry shortly",
                retry_after_s=2,
            )
        finally:
            if mutating:
                with self._lock:
                    self._writes -= 1
