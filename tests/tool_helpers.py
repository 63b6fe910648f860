"""Calling a tool the way the orchestrator does (validate the call, then run its activity with the normalised
arguments), and checking what every output must be."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from travel_assistant import runtime
from travel_assistant.cards import MAX_SUMMARY_BYTES
from travel_assistant.settings import ToolSettings
from travel_assistant.tools import run_tool_activity, validate_call

TODAY = "2026-11-24"  # Japan's date as the orchestrator passes it; fixture dates are just after it


def tool_settings() -> ToolSettings:
    """What the tool activities' shell passes: the process's tool settings."""
    return runtime.settings().tools


def call(tool: str, arguments: Any, *, max_bytes: int = 8000) -> dict[str, Any]:
    checked = validate_call(tool, arguments, date.fromisoformat(TODAY))
    if not checked["ok"]:
        return checked
    output = run_tool_activity({"tool": tool, "call_id": "call_test_1", "arguments": checked["arguments"],
                                "today": TODAY, "max_output_bytes": max_bytes}, tool_settings)
    model_part = {key: value for key, value in output.items() if key != "summary"}  # the page's, not the model's
    size = len(json.dumps(model_part, ensure_ascii=False).encode("utf-8"))
    assert size <= max(max_bytes, 1024), f"{size} bytes"
    if "summary" in output:
        assert len(json.dumps(output["summary"])) <= MAX_SUMMARY_BYTES
    return model_part


def data(output: dict[str, Any]) -> dict[str, Any]:
    assert output["ok"] is True, output
    return output["data"]  # type: ignore[no-any-return]


def error(output: dict[str, Any], code: str, *, retryable: bool) -> dict[str, Any]:
    assert output["ok"] is False, output
    assert output["error"]["code"] == code, output
    assert output["error"]["retryable"] is retryable, output
    return output["error"]  # type: ignore[no-any-return]
