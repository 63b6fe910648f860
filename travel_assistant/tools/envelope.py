"""The one result shape every tool returns, and how a result is kept under the byte budget.

The model reads tool outputs, and the orchestrator stores them in Durable history, so an output is always a small
JSON object: a ``ToolResult`` (tools/messages.py), ``{"ok": true, "data": ...}`` or
``{"ok": false, "error": {"code", "message", "retryable"}}`` (the app's one error envelope).
"""

from __future__ import annotations

import json
from typing import Any, Final

from ..constants import MAX_TOOL_OUTPUT_BYTES
from ..errors import ErrorCode
from ..redaction import redact
from ..wire import ErrorEnvelope
from .messages import ToolResult

# The codes a tool output can carry, from the app's one vocabulary. The orchestrator only looks at "retryable";
# the model reads the message.
INVALID_ARGUMENTS: Final = ErrorCode.INVALID_ARGUMENTS  # the model can fix its call
UNKNOWN_TOOL: Final = ErrorCode.UNKNOWN_TOOL
NOT_CONFIGURED: Final = ErrorCode.NOT_CONFIGURED  # an operator must set credentials; tell the user
UPSTREAM_AUTH: Final = ErrorCode.UPSTREAM_AUTH  # the API refused our credentials; tell the user
RATE_LIMITED: Final = ErrorCode.RATE_LIMITED  # transient
UPSTREAM_UNAVAILABLE: Final = ErrorCode.UPSTREAM_UNAVAILABLE  # transient: timeout, connection, 5xx, API-side failure
UPSTREAM_BAD_RESPONSE: Final = ErrorCode.UPSTREAM_BAD_RESPONSE  # an answer we cannot read (HTML page, garbage)
INTERNAL_ERROR: Final = ErrorCode.INTERNAL_ERROR

# Below this an error envelope with a useful message would not fit; callers asking for less get this much.
MIN_OUTPUT_BYTES: Final = 1024
_MAX_MESSAGE_CHARS: Final = 300


class ToolError(Exception):
    """An expected failure of a tool call, already phrased for the model (and never containing a secret)."""

    def __init__(self, code: ErrorCode, message: str, *, retryable: bool = False,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after_s = retry_after_s

    def envelope(self) -> dict[str, Any]:
        return error_envelope(self.code, self.message, retryable=self.retryable, retry_after_s=self.retry_after_s)


def ok_envelope(data: Any) -> dict[str, Any]:
    return {"ok": True, "data": data}  # not through ToolResult: the data is the API's, already JSON


def error_envelope(code: ErrorCode, message: str, *, retryable: bool = False,
                   retry_after_s: float | None = None) -> dict[str, Any]:
    text = redact(message)
    if len(text) > _MAX_MESSAGE_CHARS:
        text = text[:_MAX_MESSAGE_CHARS - 1] + "…"
    error = ErrorEnvelope(code=code, message=text, retryable=retryable, retry_after_s=retry_after_s)
    return ToolResult(ok=False, error=error).dump()


def encoded_size(value: Any) -> int:
    """Bytes of the JSON the orchestrator will send to the model (UTF-8, Japanese kept as is). Measured with
    json.dumps' default separators, the roomiest ordinary serialisation, so a compact one fits too."""
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def output_budget(requested: Any) -> int:
    """The byte budget to honour: what the caller asked for, never above the product limit."""
    try:
        value = int(requested)
    except (TypeError, ValueError):
        return MAX_TOOL_OUTPUT_BYTES
    return max(MIN_OUTPUT_BYTES, min(value, MAX_TOOL_OUTPUT_BYTES))


def fit_to_budget(envelope: dict[str, Any], lists: tuple[str, ...], max_bytes: int) -> dict[str, Any]:
    """Drop items from the end of the named lists in ``envelope["data"]`` (longest list first) until the envelope
    fits in ``max_bytes``, and record how many were left out in ``data["omitted"]`` so the model can say so.

    List names may be dotted paths ("outbound.courses"). Raises ToolError if even empty lists do not fit, which
    the field caps of each tool make impossible in practice; the caller still gets a valid envelope then.
    """
    if encoded_size(envelope) <= max_bytes:
        return envelope
    data = envelope["data"]
    resolved = {name: _resolve(data, name) for name in lists}
    targets = {name: items for name, items in resolved.items() if items is not None}
    omitted: dict[str, int] = {}
    while encoded_size(envelope) > max_bytes:
        name, items = max(targets.items(), key=lambda kv: len(kv[1]), default=("", []))
        if not items:
            raise ToolError(INTERNAL_ERROR, "The result was too large to return, even without its list items.")
        items.pop()
        omitted[name] = omitted.get(name, 0) + 1
        data["omitted"] = dict(omitted)
        data["note_omitted"] = "Some items were left out to keep this result short: " + ", ".join(
            f"{count} from {key}" for key, count in omitted.items()) + ". Ask again with narrower criteria."
    return envelope


def _resolve(data: dict[str, Any], dotted: str) -> list[Any] | None:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node if isinstance(node, list) else None
