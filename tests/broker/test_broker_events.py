"""The stream-event contract (deconflict.broker.events): one model per kind, published in the
OpenAPI document, and every event the server emits validates against its model.

Every test of the suite runs with ``outbox.check_events(True)`` (tests/conftest.py), so any
payload that drifts from its model fails the test that made the broker publish it; here the
events of the recorded equivalence scenarios (tests/broker/golden, written by the code before
the typed contract existed) are validated one by one, and drift is shown to be caught.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from deconflict.broker import events, outbox
from deconflict.broker.events import EVENT_MODELS, STREAM_EVENT, validate_event
from deconflict.settings import Settings
from deconflict.web.app import create_app

GOLDEN = Path(__file__).resolve().parent / "golden"


def recorded_events() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path in sorted(GOLDEN.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        for party, evs in record["events"].items():
            out.extend((f"{path.stem}:{party}", kind, payload) for kind, payload in evs)
    return out


def test_every_outbox_kind_has_exactly_one_model() -> None:
    assert set(EVENT_MODELS) == set(outbox.KINDS)
    for kind, model in EVENT_MODELS.items():
        assert model.__name__.endswith("Event")
        assert model.model_fields["kind"].annotation.__args__ == (kind,)  # type: ignore[union-attr]


def test_recorded_events_of_every_kind_validate_against_their_models() -> None:
    seen = set()
    for where, kind, payload in recorded_events():
        event = validate_event(1, kind, payload)
        # the model reproduces the wire payload: no field renamed, dropped or invented
        dumped = event.model_dump(mode="json", exclude_unset=True)["data"]
        assert dumped == payload, where
        seen.add((kind, payload.get("type") or payload.get("event") or ""))
    kinds = {k for k, _ in seen}
    assert kinds == {"conflict", "notice", "alert", "picture", "message", "channel"}
    assert len(seen) >= 12  # the hotline shapes of message/channel/alert are all exercised


def test_a_drifted_payload_is_refused() -> None:
    good = {"id": "n1", "version": 1, "state": "notified"}
    validate_event(1, "notice", good)
    with pytest.raises(ValidationError):
        validate_event(1, "notice", {**good, "extra": 1})  # a field the model does not know
    with pytest.raises(ValidationError):
        validate_event(1, "notice", {"id": "n1", "ver": 1, "state": "notified"})  # renamed
    with pytest.raises(KeyError):
        validate_event(1, "gossip", good)
    # the discriminated union reads a whole SSE frame
    frame = STREAM_EVENT.validate_python({"id": 7, "kind": "notice", "data": good})
    assert isinstance(frame, events.NoticeEvent) and frame.data.version == 1


def test_publish_checks_payloads_while_the_check_is_on() -> None:
    class Boom(Exception):
        pass

    class Session:  # publish validates before it touches the database
        def get_bind(self) -> Any:
            raise Boom

    previous = outbox.check_events(True)
    try:
        with pytest.raises(ValidationError):
            outbox.publish(Session(), "p", "notice", {"id": "n"})  # type: ignore[arg-type]
        with pytest.raises(Boom):
            outbox.publish(Session(), "p", "notice", {"id": "n", "version": 1, "state": "x"})  # type: ignore[arg-type]
    finally:
        outbox.check_events(previous)


def test_event_models_are_published_in_the_openapi_document(tmp_path: Path) -> None:
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'x.sqlite3'}"))
    doc = app.openapi()
    schemas = doc["components"]["schemas"]
    for name in ("ConflictEvent", "NoticeEvent", "AlertEvent", "PictureEvent", "MessageEvent"):
        assert name in schemas and schemas[name]["properties"]["kind"]["const"]
    assert "ChannelEvent" in schemas and "StreamEvent" in schemas
    mapping = schemas["StreamEvent"]["discriminator"]["mapping"]
    assert set(mapping) == set(EVENT_MODELS)
    stream = doc["paths"]["/v1/stream"]["get"]["responses"]["200"]["content"]
    assert stream["text/event-stream"]["schema"] == {"$ref": "#/components/schemas/StreamEvent"}
    # every $ref in the event schemas resolves inside the document
    text = json.dumps({k: v for k, v in schemas.items() if k.endswith("Event")})
    for ref in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert ref in schemas, ref
