"""Every JSON success response in the OpenAPI document is a named model (or a list of them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deconflict.settings import Settings
from deconflict.web.app import create_app

#: Operations whose success body is not JSON by design.
UNTYPED = {("/metrics", "get")}
REF = "#/components/schemas/"


def _named(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    ref = schema.get("$ref")
    return isinstance(ref, str) and ref.startswith(REF) and ref[len(REF) :] in schemas


def test_every_success_response_is_a_named_model(tmp_path: Path) -> None:
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'x.sqlite3'}"))
    doc = app.openapi()
    schemas = doc["components"]["schemas"]
    untyped = []
    checked = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if (path, method) in UNTYPED:
                continue
            for status, response in op.get("responses", {}).items():
                if not status.startswith("2") or status == "204":
                    continue
                content = response.get("content", {})
                if "application/json" not in content:
                    if not content:
                        untyped.append(f"{method.upper()} {path} {status}: no content")
                    continue
                checked += 1
                if not _named(content["application/json"].get("schema", {}), schemas):
                    untyped.append(f"{method.upper()} {path} {status}")
    assert checked > 20
    assert not untyped, "untyped success responses:\n" + "\n".join(untyped)
