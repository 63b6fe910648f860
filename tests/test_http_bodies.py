"""The HTTP body models (travel_assistant/chat/bodies.py) against openapi/openapi.json: each model and the schema
that documents its body list the same fields, the same fields that are always sent, the same rule for extra
fields, and, where both say, the same JSON types, allowed values and string constraints. (How the real handlers'
answers match the document is tests/test_openapi_contract.py's job; this one keeps the two definitions of each
body from drifting apart.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from travel_assistant.chat import bodies

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
_HEALTH = ("paths", "/api/health", "get", "responses")
_JSON = ("content", "application/json", "schema")

# model -> where its schema is in the OpenAPI document
PAIRS: list[tuple[type[BaseModel], tuple[str, ...]]] = [
    (bodies.ChatRequest, ("components", "schemas", "ChatRequest")),
    (bodies.TurnAccepted, ("components", "schemas", "TurnAccepted")),
    (bodies.TurnView, ("components", "schemas", "Turn")),
    (bodies.TurnError, ("components", "schemas", "TurnError")),
    (bodies.ThreadList, ("components", "schemas", "ThreadList")),
    (bodies.ThreadSummary, ("components", "schemas", "ThreadList", "properties", "threads", "items")),
    (bodies.MessageList, ("components", "schemas", "MessageList")),
    (bodies.MessageView, ("components", "schemas", "MessageList", "properties", "messages", "items")),
    (bodies.ErrorBody, ("components", "schemas", "Error")),
    (bodies.ErrorDetail, ("components", "schemas", "Error", "properties", "error")),
    (bodies.HealthChecks, ("components", "schemas", "HealthChecks")),
    (bodies.SettingsCheck, ("components", "schemas", "HealthChecks", "properties", "settings")),
    (bodies.ModelCheck, ("components", "schemas", "HealthChecks", "properties", "model")),
    (bodies.StorageCheck, ("components", "schemas", "HealthChecks", "properties", "storage")),
    (bodies.Healthy, (*_HEALTH, "200", *_JSON)),
    (bodies.Unhealthy, (*_HEALTH, "503", *_JSON)),
    (bodies.HealthError, (*_HEALTH, "503", *_JSON, "properties", "error")),
    (bodies.TextDelta, ("components", "schemas", "TextDelta")),
    (bodies.WebhookReceived, ("paths", "/api/webhooks/model", "post", "responses", "200", *_JSON)),
]


def _at(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node: Any = document
    for key in path:
        node = node[key]
    return dict(node)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _at(root, tuple(schema["$ref"].removeprefix("#/").split("/")))
    return schema


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}[type(value)]


def json_types(schema: dict[str, Any], root: dict[str, Any]) -> frozenset[str]:
    """The JSON types a schema admits, as far as it says (empty: it does not say)."""
    schema = _resolve(schema, root)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return frozenset().union(*(json_types(member, root) for member in schema[union]))
    if isinstance(schema.get("type"), str):
        return frozenset({schema["type"]})
    if isinstance(schema.get("type"), list):
        return frozenset(schema["type"])
    if "const" in schema:
        return frozenset({_json_type(schema["const"])})
    if "enum" in schema:
        return frozenset(_json_type(v) for v in schema["enum"])
    return frozenset()


def allowed_values(schema: dict[str, Any], root: dict[str, Any]) -> frozenset[Any] | None:
    """The values a schema admits, when it lists them (None: any value of its types)."""
    schema = _resolve(schema, root)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            found: list[frozenset[Any]] = []
            for member in (_resolve(m, root) for m in schema[union]):
                values = frozenset({None}) if member.get("type") == "null" else allowed_values(member, root)
                if values is None:
                    return None
                found.append(values)
            return frozenset().union(*found)
    if "const" in schema:
        return frozenset({schema["const"]})
    if "enum" in schema:
        return frozenset(schema["enum"])
    return None


def always_sent(model: type[BaseModel]) -> set[str]:
    """The fields every body of the model carries: all but those left out when None (bodies.Body's rule)."""
    return {name for name, field in model.model_fields.items() if field.is_required() or field.default is not None}


@pytest.mark.parametrize(("model", "path"), PAIRS, ids=[model.__name__ for model, _ in PAIRS])
def test_each_body_model_lists_what_its_openapi_schema_lists(model: type[BaseModel], path: tuple[str, ...]) -> None:
    documented = _at(DOCUMENT, path)
    ours = model.model_json_schema()
    assert set(ours["properties"]) == set(documented["properties"]), "the fields"
    assert always_sent(model) == set(documented.get("required", [])), "the fields every body carries"
    closed = model.model_config.get("extra") == "forbid"
    assert closed == (documented.get("additionalProperties") is False), "extra fields"
    for name, mine in ours["properties"].items():
        theirs = documented["properties"][name]
        my_types, their_types = json_types(mine, ours), json_types(theirs, DOCUMENT)
        mine_values, their_values = allowed_values(mine, ours), allowed_values(theirs, DOCUMENT)
        if name not in always_sent(model):  # None there means "left out", never null on the wire
            my_types -= {"null"}
            mine_values = None if mine_values is None else mine_values - {None}
        if my_types and their_types:
            assert my_types == their_types, f"{name}: JSON types"
        if mine_values is not None and their_values is not None:
            assert mine_values == their_values, f"{name}: allowed values"
        mine_resolved, theirs_resolved = _resolve(mine, ours), _resolve(theirs, DOCUMENT)
        for constraint in ("pattern", "minLength", "maxLength"):
            ours_value = mine_resolved.get(constraint) or next(
                (m.get(constraint) for m in mine_resolved.get("anyOf", []) if constraint in m), None)
            if ours_value is not None and constraint in theirs_resolved:
                assert ours_value == theirs_resolved[constraint], f"{name}: {constraint}"


def test_every_documented_json_body_has_a_model() -> None:
    """Each component schema of a JSON body the app answers or accepts is one of the pairs above (the others are
    parts of a body whose model leaves them to the orchestrator: Progress, Reply, the cards)."""
    paired = {path[2] for _, path in PAIRS if path[:2] == ("components", "schemas") and len(path) == 3}
    left_to_the_orchestrator = {"Progress", "Reply", "ToolName", "HotelCard", "RestaurantCard", "RouteLeg",
                                "RouteCourse", "RouteTrip", "ResultSummary", "ReplyFile"}
    shapes = {"ThreadId", "TurnId", "FileId", "Timestamp", "RouteError", "ThreadModelApiUnavailable"}  # ids; errors
    assert set(DOCUMENT["components"]["schemas"]) == paired | left_to_the_orchestrator | shapes


def test_a_field_left_out_when_none_is_absent_and_a_nullable_one_is_null() -> None:
    view = bodies.TurnView(turn_id="turn_" + "0" * 32, thread_id="thr_" + "0" * 32, status="running",
                           progress=None, status_url="https://app.example/api/chat/turn_" + "0" * 32)
    assert view.wire() == {"turn_id": view.turn_id, "thread_id": view.thread_id, "status": "running",
                           "progress": None, "status_url": view.status_url}
    assert bodies.StorageCheck(status="skipped").wire() == {"status": "skipped"}
    assert bodies.MessageView(role="user", text="こんにちは", created_at=None).wire()["created_at"] is None
