"""The tool activity's messages, as they cross Durable: its input (``ToolActivityInput``, from the orchestrator) and
its result (``ToolResult``, the envelope the model reads, plus the card summary the orchestrator takes out).

Versioned the way every wire model of the app is (docs/definitions.md): a field added later has a default, so an
input or result recorded by an older version still validates; fields a newer version adds are ignored.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field, field_validator

from ..constants import MAX_TOOL_OUTPUT_BYTES
from ..wire import ErrorEnvelope, WireModel


def _absent(value: Any) -> bool:
    return value is None


class ToolActivityInput(WireModel):
    """One tool call to run: the arguments as the orchestrator's validation normalised them, and the byte budget
    of its output (the round's share of the submit activity's payload)."""

    tool: str
    call_id: str = ""
    arguments: dict[str, Any]
    today: date | None = None  # Japan's date when the orchestrator validated the call
    max_output_bytes: int = MAX_TOOL_OUTPUT_BYTES
    telemetry: dict[str, Any] | None = Field(default=None, exclude_if=_absent)  # telemetry/context.py reads it

    @field_validator("max_output_bytes", mode="before")
    @classmethod
    def _budget_or_the_limit(cls, value: Any) -> Any:
        """A budget that is no number is the product limit (the runner bounds any number: envelope.output_budget)."""
        try:
            return int(value)
        except (TypeError, ValueError):
            return MAX_TOOL_OUTPUT_BYTES


class ToolResult(WireModel):
    """``{"ok": true, "data": ...}`` or ``{"ok": false, "error": {"code", "message", "retryable"}}``; a successful
    result of the tool activity also carries ``summary`` (the page's cards: the orchestrator removes it before the
    model sees the output)."""

    ok: bool
    data: Any = Field(default=None, exclude_if=_absent)
    error: ErrorEnvelope | None = Field(default=None, exclude_if=_absent)
    summary: dict[str, Any] | None = Field(default=None, exclude_if=_absent)
