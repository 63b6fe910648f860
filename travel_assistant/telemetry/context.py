"""The W3C trace context that travels with a turn.

The HTTP route puts its span's ``traceparent`` into the orchestration input (TurnInput.traceparent); the
orchestrator copies it, unchanged, into every activity payload under PAYLOAD_KEY, with the round, the retry
attempt and the poll number; each activity opens its span as a child of it. Carrying the text (not an object)
keeps the orchestrator deterministic: it only passes on a string it was given.
"""

from __future__ import annotations

from typing import Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

PAYLOAD_KEY: Final = "telemetry"  # the one key an activity payload gains
_PROPAGATOR: Final = TraceContextTextMapPropagator()
_MAX_HEADER_CHARS: Final = 55  # "00-" + 32 + "-" + 16 + "-" + 2


def current_traceparent() -> str | None:
    """The current span's traceparent, or None when there is no valid span context."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def context_from(traceparent: Any) -> Context | None:
    """The parent context a traceparent names; None for anything that is not a valid traceparent."""
    if not isinstance(traceparent, str) or len(traceparent) > _MAX_HEADER_CHARS:
        return None
    context = _PROPAGATOR.extract({"traceparent": traceparent})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def span_context_from(traceparent: Any) -> trace.SpanContext | None:
    """The span a traceparent names (for a span link), or None."""
    context = context_from(traceparent)
    return None if context is None else trace.get_current_span(context).get_span_context()


def fields(payload: Any) -> dict[str, Any]:
    """The telemetry fields of an activity payload ({} when absent or malformed)."""
    value = payload.get(PAYLOAD_KEY) if isinstance(payload, dict) else None
    return value if isinstance(value, dict) else {}


def ids_of(span: trace.Span) -> tuple[str, str]:
    """(trace id, span id) as the hex strings Application Insights shows (operation_Id, id); empty if invalid."""
    context = span.get_span_context()
    if not context.is_valid:
        return "", ""
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)
