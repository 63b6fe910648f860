"""The travel tools the model can call (Hotpepper Gourmet, Rakuten Travel, Ekispert).

The orchestrator uses only these names: validate_call() while replaying (pure), activity_name() to schedule a
tool's activity, and run_tool_activity() as the body of every tool activity.
"""

from __future__ import annotations

from typing import Any

from ..constants import TOOL_ACTIVITY_PREFIX
from .specs import FUNCTION_TOOL_SPECS
from .validation import TOOL_NAMES, validate_call

__all__ = ["FUNCTION_TOOL_SPECS", "TOOL_NAMES", "activity_name", "run_tool_activity", "validate_call"]


def run_tool_activity(payload: dict[str, Any]) -> dict[str, Any]:
    """The body of every tool activity. The API clients load on the first tool call, not at cold start: the
    orchestrator and the HTTP functions, which run far more often, never need them."""
    from ..telemetry.turn import tool_activity
    from .runner import run_tool_activity as run

    with tool_activity(payload) as done:
        envelope = run(payload)
        done(envelope)
    return envelope


def activity_name(tool_name: str) -> str:
    """The Durable activity function that runs ``tool_name``."""
    return TOOL_ACTIVITY_PREFIX + tool_name
