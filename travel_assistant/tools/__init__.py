"""The travel tools the model can call (Hotpepper Gourmet, Rakuten Travel, Ekispert).

Interim version: the tool calls are checked and routed, and every tool answers "not available yet" until the
real API clients land (issue 3). The orchestrator already handles any tool output or failure.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from ..constants import TOOL_ACTIVITY_PREFIX
from .specs import FUNCTION_TOOL_SPECS

TOOL_NAMES = frozenset(spec["name"] for spec in FUNCTION_TOOL_SPECS)


def activity_name(tool_name: str) -> str:
    return TOOL_ACTIVITY_PREFIX + tool_name


def _invalid(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "retryable": False}}


def validate_call(name: str, arguments: str | dict[str, Any], today: date) -> dict[str, Any]:
    if name not in TOOL_NAMES:
        return _invalid("unknown_tool", f"There is no tool named {name!r}. Use one of: {', '.join(sorted(TOOL_NAMES))}")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return _invalid("invalid_arguments", "The arguments are not valid JSON.")
    if not isinstance(arguments, dict):
        return _invalid("invalid_arguments", "The arguments must be a JSON object.")
    return {"ok": True, "arguments": arguments}


def run_tool_activity(payload: dict[str, Any]) -> dict[str, Any]:
    return {"ok": False, "error": {"code": "not_available", "retryable": False,
                                   "message": f"The tool {payload.get('tool')} is not available yet."}}


__all__ = ["FUNCTION_TOOL_SPECS", "TOOL_NAMES", "activity_name", "run_tool_activity", "validate_call"]
