"""RFC 9457 problem details: every error leaves the API as ``application/problem+json``.

Body: ``{"type", "title", "status", "detail", "errors": [{"field", "reason"}]}`` plus extra members
for some kinds (``overlaps`` on a refused write, ``retry_after_s`` on 429). Bad input is always a
4xx naming the field; unexpected exceptions become a generic 500 that reveals no internals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from deconflict.errors import (
    ConflictRejectedError,
    DeconflictError,
    InvalidInputError,
    RateLimitedError,
    StaleVersionError,
    UnauthorizedError,
    field_path,
)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://deconflict.invalid/problems/"
log = logging.getLogger("deconflict.web")

#: Shared OpenAPI description of an error response.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}


def _slug(title: str) -> str:
    return "-".join(title.lower().replace("'", "").split())


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: Sequence[dict[str, str]] = (),
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + _slug(title),
        "title": title,
        "status": status,
        "detail": detail,
        "errors": list(errors),
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def deconflict_error_response(exc: DeconflictError) -> JSONResponse:
    """The problem response for one of our typed errors."""
    errors: list[dict[str, str]] = []
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidInputError):
        errors.append({"field": exc.field, "reason": exc.reason})
        if exc.row is not None:
            extra["row"] = exc.row
    elif isinstance(exc, StaleVersionError):
        extra["expected_version"] = exc.expected
        extra["current_version"] = exc.actual
        errors.append({"field": "version", "reason": exc.message})
    elif isinstance(exc, ConflictRejectedError):
        extra["overlaps"] = exc.overlaps
    elif isinstance(exc, RateLimitedError):
        retry = max(1, int(exc.retry_after_s + 0.999))
        headers["Retry-After"] = str(retry)
        extra["retry_after_s"] = retry
    elif isinstance(exc, UnauthorizedError):
        headers["WWW-Authenticate"] = 'Bearer realm="deconflict"'
    return problem(
        exc.status, exc.title, exc.message, errors=errors, headers=headers or None, **extra
    )


async def _on_deconflict_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DeconflictError)
    return deconflict_error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        loc = err.get("loc", ())
        reason = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid":
            reason = "request body is not valid JSON"
        errors.append({"field": field_path(loc), "reason": reason})
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5]) or "invalid request"
    return problem(422, "Invalid input", detail, errors=errors)


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    titles = {
        404: "Not found",
        405: "Method not allowed",
        401: "Unauthorized",
        403: "Forbidden",
        413: "Payload too large",
        415: "Unsupported media type",
    }
    title = titles.get(exc.status_code, "HTTP error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem(exc.status_code, title, detail, headers=dict(exc.headers or {}) or None)


async def _on_overflow(request: Request, exc: Exception) -> JSONResponse:
    """Safety net: a number too large for the database driver is bad input, not a 500.

    Routes should bound their numbers (and so name the field); this catches those that do not.
    """
    log.warning("number out of range on %s %s: %s", request.method, request.url.path, exc)
    return problem(
        422,
        "Invalid input",
        "a number in the request is outside the supported range",
        errors=[{"field": "body", "reason": "a number is outside the supported range"}],
    )


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "Internal error", "the server failed to handle this request")


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""
    app.add_exception_handler(DeconflictError, _on_deconflict_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(OverflowError, _on_overflow)
    app.add_exception_handler(Exception, _on_unexpected)
