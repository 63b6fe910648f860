"""The travel tools the model can call (Hotpepper Gourmet, Rakuten Travel, Ekispert).

The orchestrator uses only these names: validate_call() while replaying (pure; the one place calls are checked,
against the argument models in .arguments), activity_name() to schedule a tool's activity, and
run_tool_activity() as the body of every tool activity (which uses the validated arguments as they are).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from ..constants import TOOL_ACTIVITY_PREFIX
from .names import TOOL_NAMES

if TYPE_CHECKING:
    from ..settings_sections import ToolSettings

__all__ = ["FUNCTION_TOOL_SPECS", "TOOL_NAMES", "activity_name", "run_tool_activity", "validate_call"]


def __getattr__(name: str) -> Any:
    # The specs are made from the pydantic argument models: loaded when first asked for, not at cold start.
    if name == "FUNCTION_TOOL_SPECS":
        from .specs import FUNCTION_TOOL_SPECS

        return FUNCTION_TOOL_SPECS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def validate_call(name: object, arguments: object, today: date) -> dict[str, Any]:
    """Check one tool call of the model (see .validation). pydantic loads on the first tool call, not at cold
    start: most orchestrator replays and every HTTP function never need it."""
    from .validation import validate_call as validate

    return validate(name, arguments, today)


def run_tool_activity(payload: dict[str, Any], tool_settings: Callable[[], ToolSettings]) -> dict[str, Any]:
    """The body of every tool activity; ``tool_settings`` gives the section (it raises SettingsError when the
    settings are invalid, which the activity answers as not_configured). The API clients load on the first tool
    call, not at cold start: the orchestrator and the HTTP functions, which run far more often, never need them."""
    from ..telemetry.turn import tool_activity
    from .runner import run_tool_activity as run

    with tool_activity(payload) as done:
        envelope = run(payload, tool_settings)
        done(envelope)
    return envelope


def activity_name(tool_name: str) -> str:
    """The Durable activity function that runs ``tool_name``."""
    return TOOL_ACTIVITY_PREFIX + tool_name
