"""The three function tools as the model sees them, in a neutral shape: {name, description, parameters}.

Made from the argument models (travel_assistant.tools.arguments), which are also what the calls are validated
against; travel_assistant.assistant renders these specs in the shape each model API wants.
"""

from __future__ import annotations

from typing import Any, Final

from .arguments import TOOL_ARGUMENTS

FUNCTION_TOOL_SPECS: Final[tuple[dict[str, Any], ...]] = tuple(
    {"name": model.tool_name, "description": model.tool_description, "parameters": model.parameters_schema()}
    for model in TOOL_ARGUMENTS)
