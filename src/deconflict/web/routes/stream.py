"""``GET /v1/stream``: the caller's party events as Server-Sent Events.

Authentication: ``Authorization: Bearer <key>`` or ``?access_token=<key>`` (EventSource cannot
set headers). Resume: ``Last-Event-ID`` header or ``?last_event_id=N`` replays every event with
id > N from the outbox table exactly once, then continues live. Without either, the stream starts
at the newest event (only new events). Frames::

    id: 42
    event: conflict
    data: {...}

A comment line (``: keepalive``) is sent after ``sse_heartbeat_s`` of silence. The key is
re-checked on every poll, so a revoked key's stream ends within ``sse_poll_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from deconflict.broker.outbox import OutboxEvent, OutboxNotifier
from deconflict.broker.parties import Principal
from deconflict.broker.stream import EventFeed
from deconflict.errors import InvalidInputError
from deconflict.web.deps import DatabaseDep, MetricsDep, PartyPrincipalDep, SettingsDep
from deconflict.web.metrics import Metrics

router = APIRouter(prefix="/v1", tags=["events"])
_BATCH = 500


def _parse_last_id(header: str | None, query: int | None) -> int | None:
    if header is not None and header.strip() != "":
        text = header.strip()
        if not text.isdigit() or len(text) > 18:
            raise InvalidInputError(
                field="header.Last-Event-ID", reason="must be a non-negative integer"
            )
        return int(text)
    return query


@router.get(
    "/stream",
    summary="Server-Sent Events for the caller's party (alerts, conflicts, messages, ...)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": (
                "One SSE frame per event: `id:` outbox id, `event:` the kind, `data:` the "
                "payload (schema: the `data` of the StreamEvent member with that kind)"
            ),
            "content": {
                "text/event-stream": {"schema": {"$ref": "#/components/schemas/StreamEvent"}}
            },
        }
    },
)
async def stream(
    request: Request,
    principal: PartyPrincipalDep,
    db: DatabaseDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    access_token: Annotated[
        str | None, Query(description="API key, for clients that cannot send headers")
    ] = None,
) -> StreamingResponse:
    """Replay after ``Last-Event-ID`` then stream live events of the caller's party only."""
    after = _parse_last_id(last_event_id_header, last_event_id)
    party_id = principal.party_id
    assert party_id is not None
    feed = EventFeed(db)
    if after is None:
        after = await anyio.to_thread.run_sync(feed.newest_id, party_id)
    token = _presented_token(request)
    body = _events(
        request,
        feed,
        principal,
        token,
        after,
        settings.sse_heartbeat_s,
        settings.sse_poll_s,
        metrics,
    )
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _presented_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header:
        return header.partition(" ")[2].strip()
    return request.query_params.get("access_token", "")


async def _events(
    request: Request,
    feed: EventFeed,
    principal: Principal,
    token: str,
    after: int,
    heartbeat_s: float,
    poll_s: float,
    metrics: Metrics,
) -> AsyncIterator[str]:
    notifier: OutboxNotifier = request.app.state.notifier
    wake = notifier.subscribe()
    party_id = principal.party_id
    assert party_id is not None
    last = after
    last_sent = time.monotonic()
    last_auth = time.monotonic()
    metrics.sse_delta(1)

    def fetch(after_id: int) -> list[OutboxEvent]:
        return feed.after(party_id, after_id, limit=_BATCH)

    def still_valid() -> bool:
        return feed.key_still_valid(token, datetime.now(UTC))

    try:
        yield "retry: 2000\n\n"
        while True:
            wake.clear()
            events = await anyio.to_thread.run_sync(fetch, last)
            for ev in events:
                data = json.dumps(ev.payload, separators=(",", ":"), default=str)
                yield f"id: {ev.id}\nevent: {ev.kind}\ndata: {data}\n\n"
                last = ev.id
                last_sent = time.monotonic()
            if len(events) == _BATCH:
                continue
            if await request.is_disconnected():
                return
            now = time.monotonic()
            if now - last_auth >= poll_s:
                last_auth = now
                if not await anyio.to_thread.run_sync(still_valid):
                    yield "event: revoked\ndata: {}\n\n"
                    return
            if now - last_sent >= heartbeat_s:
                yield ": keepalive\n\n"
                last_sent = now
            timeout = max(0.05, min(poll_s, heartbeat_s - (now - last_sent)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=timeout)
    finally:
        notifier.unsubscribe(wake)
        metrics.sse_delta(-1)
