"""Calling a tool the way its activity is called, and checking what every output must be."""

from __future__ import annotations

import json
from typing import Any

from travel_assistant.cards import MAX_SUMMARY_BYTES
from travel_assistant.tools import run_tool_activity

TODAY = "2026-11-24"  # Japan's date as the orchestrator passes it; fixture dates are just after it


def call(tool: str, arguments: Any, *, max_bytes: int = 8000) -> dict[str, Any]:
    output = run_tool_activity({"tool": tool, "call_id": "call_test_1", "arguments": arguments, "today": TODAY,
                                "max_output_bytes": max_bytes})
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
