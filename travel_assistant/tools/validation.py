"""Checks the model's tool-call arguments before any HTTP call, and explains what to fix when they are wrong.

The one place tool calls are validated: the orchestrator calls validate_call() for every call the model makes
(while replaying too, so this is pure: no I/O, no clock; ``today``, Japan's date, is passed in), answers an
invalid call with the error envelope at once, and hands the normalised arguments to the tool's activity, which
uses them as they are. The rules themselves are the argument models in travel_assistant.tools.arguments.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ..constants import MAX_TOOL_ARGUMENT_CHARS
from .arguments import TOOL_ARGUMENTS, ToolArguments
from .envelope import INVALID_ARGUMENTS, UNKNOWN_TOOL, error_envelope
from .names import TOOL_NAMES

ARGUMENTS_BY_NAME: Final[dict[str, type[ToolArguments]]] = {model.tool_name: model for model in TOOL_ARGUMENTS}

_MAX_REPORTED_PROBLEMS: Final = 5
_MAX_PROBLEM_CHARS: Final = 200


class InvalidArguments(Exception):
    """The arguments break a rule; ``problems`` say what to fix, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def validate_call(name: object, arguments: object, today: date) -> dict[str, Any]:
    """Return ``{"ok": True, "arguments": normalised}`` or an error envelope the model can act on."""
    model = ARGUMENTS_BY_NAME.get(name) if isinstance(name, str) else None
    if model is None:
        return error_envelope(UNKNOWN_TOOL, f"There is no tool named {str(name)[:64]!r}. "
                                            f"Use one of: {', '.join(sorted(TOOL_NAMES))}.")
    try:
        normalised = normalise_arguments(model, _as_object(arguments), today)
    except InvalidArguments as exc:
        shown = exc.problems[:_MAX_REPORTED_PROBLEMS]
        return error_envelope(INVALID_ARGUMENTS, f"Invalid arguments for {name}: " + "; ".join(shown)
                              + ". Fix them and call the tool again.")
    return {"ok": True, "arguments": normalised}


def _as_object(arguments: object) -> dict[str, Any]:
    if isinstance(arguments, str):
        if len(arguments) > MAX_TOOL_ARGUMENT_CHARS:
            raise InvalidArguments([f"the arguments are longer than {MAX_TOOL_ARGUMENT_CHARS} characters"])
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            raise InvalidArguments(["the arguments are not valid JSON; send one JSON object"]) from None
    if not isinstance(arguments, dict):
        raise InvalidArguments(["the arguments must be a JSON object"])
    return dict(arguments)


def normalise_arguments(model: type[ToolArguments], arguments: dict[str, Any], today: date) -> dict[str, Any]:
    """Validate against the tool's model and return the arguments as JSON, defaults filled. Raises
    InvalidArguments."""
    try:
        checked = model.model_validate(arguments, context={"today": today})
    except ValidationError as exc:
        raise InvalidArguments([_problem(error) for error in sorted(
            exc.errors(include_url=False), key=lambda e: [str(part) for part in e["loc"]])]) from None
    return checked.model_dump(mode="json", exclude_none=True)


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"]
    if error["type"] not in ("missing", "extra_forbidden", "tool_rule", "date_format", "unique_items"):
        message += f" (got {_shown(error['input'])})"
    if len(message) > _MAX_PROBLEM_CHARS:
        message = message[:_MAX_PROBLEM_CHARS - 1] + "…"
    return f"{where}: {message}" if where else message


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
