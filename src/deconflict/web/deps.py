"""Dependency aliases so routes read like prose: ``SessionDep``, ``PrincipalDep``, ``SettingsDep``.

``SessionDep`` is a *read* session for GET/HEAD and a *write transaction* for every other method;
it commits after the route function returns and **before** the response is sent (so a 2xx
answer means the write is durable) and rolls back on any exception.

``PrincipalDep`` authenticates ``Authorization: Bearer <key>`` (or ``?access_token=`` on the
event stream only). ``require_role("duty_officer", "party_admin")`` returns a dependency that
also checks the role; ``PartyPrincipalDep`` demands a party member (never the operator).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from deconflict.broker.parties import Principal, PrincipalCache, Role, authenticate_key
from deconflict.errors import ForbiddenError, UnauthorizedError
from deconflict.settings import Settings
from deconflict.store.base import Database
from deconflict.store.migrate import NotMigratedError
from deconflict.web.metrics import Metrics

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Paths that may authenticate with ``?access_token=`` (browsers cannot set headers on SSE).
TOKEN_QUERY_PATHS = frozenset({"/v1/stream"})


async def get_settings(request: Request) -> Settings:
    """The app's settings (async: trivial dependencies skip the thread pool)."""
    settings: Settings = request.app.state.settings
    return settings


async def get_metrics(request: Request) -> Metrics:
    """The app's metrics registry."""
    metrics: Metrics = request.app.state.metrics
    return metrics


def _database(request: Request) -> Database:
    db: Database | None = getattr(request.app.state, "db", None)
    if db is None:
        raise NotMigratedError("the database is not open (server starting or stopping)")
    return db


async def get_db(request: Request) -> Database:
    """The app's database (created by the lifespan)."""
    return _database(request)


def get_session(request: Request) -> Iterator[Session]:
    """Per-request session: read for GET/HEAD/OPTIONS, write transaction otherwise."""
    db = _database(request)
    if request.method in _READ_METHODS:
        with db.read() as session:
            yield session
    else:
        with db.write() as session:
            yield session


def _token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise UnauthorizedError("Authorization header must be 'Bearer <key>'")
        return value.strip()
    if request.url.path in TOKEN_QUERY_PATHS:
        token = request.query_params.get("access_token")
        if token:
            return token
    raise UnauthorizedError("missing API key: send 'Authorization: Bearer <key>'")


#: Declares the Bearer scheme in OpenAPI (parsing is done by :func:`_token`).
_bearer_scheme = HTTPBearer(auto_error=False, description="API key: dk_<key_id>_<secret>")


def _authenticate(db: Database, token: str, now: datetime) -> tuple[Principal, datetime | None]:
    with db.read() as session:
        return authenticate_key(session, token, now=now)


async def get_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)] = None,
) -> Principal:
    """Authenticate the caller (cached on the request; recently verified keys are taken from
    the app's :class:`PrincipalCache` without a database read or a thread hop)."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = _token(request)
    db = _database(request)
    now = datetime.now(UTC)
    keys: PrincipalCache | None = getattr(request.app.state, "principal_cache", None)
    epoch = db.auth_epoch  # read before the lookup: a revocation committed after it wins
    hit = keys.get(token, now=now, epoch=epoch) if keys is not None else None
    if hit is not None:
        principal = hit
    else:
        principal, expires_at = await anyio.to_thread.run_sync(_authenticate, db, token, now)
        if keys is not None:
            keys.put(token, principal, expires_at, epoch=epoch)
    request.state.principal = principal
    return principal


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only ``roles`` (403 otherwise).

    Usage: ``principal: Annotated[Principal, Depends(require_role("duty_officer"))]``.
    """
    allowed = frozenset(roles)

    async def _check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise ForbiddenError(
                f"role {principal.role!r} may not do this (needs {' or '.join(sorted(allowed))})"
            )
        return principal

    _check.__name__ = f"require_{'_'.join(sorted(allowed))}"
    return _check


#: Any member of a party (viewer and up); never the operator.
PartyPrincipalDep = Annotated[
    Principal, Depends(require_role("viewer", "duty_officer", "party_admin"))
]
#: A party member who may change plans (duty officer or party admin).
WriterPrincipalDep = Annotated[Principal, Depends(require_role("duty_officer", "party_admin"))]
#: The party's administrator.
PartyAdminDep = Annotated[Principal, Depends(require_role("party_admin"))]
#: Broker staff.
OperatorDep = Annotated[Principal, Depends(require_role("operator"))]
