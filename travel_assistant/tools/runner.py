"""The body of every tool activity: call the API, shape the envelope, never raise.

The arguments arrive validated and normalised: the orchestrator checks every call (tools.validation) before it
schedules the activity, and answers an invalid one itself, so they are used here as they are.

The orchestrator retries on ``retryable``; an exception would instead reach it as a bare Exception whose text is
persisted in Durable history, so every failure becomes an envelope here (with its message redacted).
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from ..cards import SUMMARY_KEY, Summary
from ..redaction import redact
from ..settings import SettingsError
from . import ekispert, hotpepper, names, rakuten
from .envelope import (
    INTERNAL_ERROR,
    NOT_CONFIGURED,
    ToolError,
    error_envelope,
    fit_to_budget,
    ok_envelope,
    output_budget,
)
from .messages import ToolActivityInput

if TYPE_CHECKING:
    from ..settings_sections import ToolSettings

log = logging.getLogger("travel_assistant.tools")

# Per tool: the API call, and the lists in its data that may be shortened to fit the byte budget.
_TOOLS: Final[dict[str, tuple[Callable[[dict[str, Any], ToolSettings], dict[str, Any]], tuple[str, ...]]]] = {
    names.SEARCH_HOTPEPPER_SHOPS: (hotpepper.search, hotpepper.LISTS),
    names.SEARCH_VACANT_HOTELS: (rakuten.search, rakuten.LISTS),
    names.SEARCH_TRANSPORTATION: (ekispert.search, ekispert.LISTS),
}


def run_tool_activity(payload: dict[str, Any], tool_settings: Callable[[], ToolSettings]) -> dict[str, Any]:
    """payload: a ToolActivityInput (tools/messages.py) -> a ToolResult, as JSON.

    A successful result also carries the call's result summary under "summary" (for the page's cards); it is
    outside the byte budget, which is the model's, and the orchestrator takes it out before the model sees it."""
    try:
        call = _read(payload)
        envelope = _run(call, tool_settings)
        summary: Summary | None = envelope["data"].pop(SUMMARY_KEY, None)
        # Third-party text could echo a credential (a URL with our key in it): scrub the whole output once.
        envelope = json.loads(redact(json.dumps(envelope, ensure_ascii=False)))
        envelope = fit_to_budget(envelope, _TOOLS[call.tool][1], output_budget(call.max_output_bytes))
        if summary is not None:
            envelope[SUMMARY_KEY] = json.loads(redact(json.dumps({"tool": call.tool, **summary})))
        return envelope
    except ToolError as exc:
        return exc.envelope()
    except Exception as exc:  # a bug: the model still gets an answer, the log gets the (redacted) traceback
        # Formatted and redacted here rather than passed as exc_info: the text may hold a URL with a key in it,
        # and this must hold even where the app's log redaction is not installed.
        log.error("tool call %s failed unexpectedly: %s", _call_id(payload),
                  redact("".join(traceback.format_exception(exc)).rstrip()))
        return error_envelope(INTERNAL_ERROR, "The tool failed unexpectedly. Try again, or answer without it.")


def _read(payload: Any) -> ToolActivityInput:
    try:
        call = ToolActivityInput.model_validate(payload)
    except ValidationError:
        raise ToolError(INTERNAL_ERROR, "The tool activity received an input it cannot read (a tool call with "
                                        "its validated arguments).") from None
    if call.tool not in _TOOLS:
        raise ToolError(INTERNAL_ERROR, "The tool activity received no tool it knows.")
    return call


def _run(call: ToolActivityInput, tool_settings: Callable[[], ToolSettings]) -> dict[str, Any]:
    try:
        tools = tool_settings()
    except SettingsError as exc:
        log.error("tool settings are invalid: %s", redact(str(exc)))
        raise ToolError(NOT_CONFIGURED, "The travel search services are not configured correctly on this server; "
                                        "an administrator must fix the tool settings.") from None
    log.info("tool call %s: %s", redact(call.call_id[:64]) or "-", call.tool)
    return ok_envelope(_TOOLS[call.tool][0](call.arguments, tools))


def _call_id(payload: Any) -> str:
    call_id = payload.get("call_id") if isinstance(payload, dict) else None
    return redact(str(call_id)[:64]) if call_id else "-"
