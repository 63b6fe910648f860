"""The tools' JSON schemas, generated from the argument models, are the ones the hand-written specs had.

tests/snapshots/tool_schemas_093d486.json is what both model APIs were sent at commit 093d486, before the
schemas were generated (rendered by travel_assistant.assistant, JSON keys sorted).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from travel_assistant.assistant import assistants_tools, neutral_tools, responses_tools
from travel_assistant.constants import MAX_TOOL_ARGUMENT_CHARS
from travel_assistant.model.port import RunState, RunStatus, ToolCall
from travel_assistant.tools import FUNCTION_TOOL_SPECS, validate_call
from travel_assistant.turn.activities import _bounded_state

SNAPSHOT = Path(__file__).parent / "snapshots" / "tool_schemas_093d486.json"


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False))


@pytest.mark.parametrize(("api", "render"), [("responses", responses_tools), ("assistants", assistants_tools)])
def test_each_api_gets_the_schemas_it_got_before(api: str, render: Any) -> None:
    assert _as_json(render(neutral_tools())) == json.loads(SNAPSHOT.read_text(encoding="utf-8"))[api]


def test_responses_function_tools_stay_non_strict() -> None:
    # Strict mode needs every property required (optional ones as nullable): the notebook's optional parameters
    # would change meaning, so both APIs get the plain schema (Assistants functions default to non-strict).
    functions = [t for t in responses_tools(neutral_tools()) if t["type"] == "function"]
    assert functions and all(t["strict"] is False for t in functions)
    assert all("strict" not in t["function"] for t in assistants_tools(neutral_tools()) if t["type"] == "function")


@pytest.mark.parametrize("spec", FUNCTION_TOOL_SPECS, ids=lambda s: s["name"])
def test_the_schema_is_valid_json_schema_and_accepts_what_validation_returns(spec: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(spec["parameters"])
    examples = {
        "search_hotpepper_shops": {"keyword": "有楽町", "budget": ["B003"], "lat": 35.6, "lng": 139.7},
        "search_vacant_hotels": {"latitude": 34.7, "longitude": 135.5, "searchRadius": 1,
                                 "checkinDate": "2026-12-01", "checkoutDate": "2026-12-02"},
        "searchTransportation": {"transportType": "train", "origin": "東京", "destination": "新大阪",
                                 "departureDate": "2026-12-01", "passengers": 1, "returnDate": "2026-12-02",
                                 "returnDepartureTime": "18:00"},
    }
    checked = validate_call(spec["name"], examples[spec["name"]], date(2026, 11, 24))
    assert checked["ok"], checked
    assert list(Draft202012Validator(spec["parameters"]).iter_errors(checked["arguments"])) == []


def test_repeated_codes_are_refused() -> None:
    checked = validate_call("search_hotpepper_shops", {"keyword": "寿司", "genre": ["G001", "G001"]},
                            date(2026, 11, 24))
    assert checked["ok"] is False and "genre: the codes must not repeat" in checked["error"]["message"]


def test_over_long_arguments_reach_validation_as_too_long() -> None:
    """The model activity only bounds sizes; the orchestrator's validation says what is wrong."""
    long_call = ToolCall("call_1", "search_hotpepper_shops", json.dumps({"keyword": "寿" * 3000}))
    state = _bounded_state(RunState("run_1", RunStatus.REQUIRES_ACTION, tool_calls=(long_call,)))
    arguments = state.tool_calls[0].arguments
    assert len(arguments) == MAX_TOOL_ARGUMENT_CHARS + 1
    checked = validate_call("search_hotpepper_shops", arguments, date(2026, 11, 24))
    assert checked["ok"] is False
    assert f"longer than {MAX_TOOL_ARGUMENT_CHARS} characters" in checked["error"]["message"]
