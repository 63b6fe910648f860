"""The app's spans: HTTP routes (SERVER), activities (INTERNAL, children of the turn's context), the travel API
calls (CLIENT), and the turn's own span. The model API's HTTP calls get CLIENT spans from the httpx2
instrumentation (turned on by setup), as children of the model activity's span.

Attributes are ids, names, codes, counts and durations only; exceptions are recorded by type, never by text
(their messages may hold a URL with a key in it, or the user's words).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import logs, names
from .context import context_from, fields, span_context_from


def tracer() -> trace.Tracer:
    return trace.get_tracer(names.TRACER_NAME)


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None and v != ""}


def annotate(**attributes: Any) -> None:
    """Set attributes (by their names.* keys) on the current span; None and "" are left out."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(_clean(attributes))


def set_error(span: trace.Span, code: str | None) -> None:
    """Mark a span failed with an error code (the code only: messages stay out of telemetry)."""
    span.set_attribute(names.OUTCOME, "error")
    if code:
        span.set_attribute(names.ERROR_CODE, code)
        span.set_attribute(names.ERROR_TYPE, code)
    span.set_status(Status(StatusCode.ERROR, code or None))


def envelope_error_code(envelope: Any) -> str | None:
    """The error code of an activity result ({"ok": false, "error": {"code": ...}}), else None."""
    if not isinstance(envelope, dict) or envelope.get("ok"):
        return None
    error = envelope.get("error") or {}
    return str(error.get("code") or "error")[:64]


@contextmanager
def route_span(name: str) -> Iterator[trace.Span]:
    """The span of one HTTP route. Under the worker's OpenTelemetry setting it is a child of the host's request
    span; otherwise it starts the trace."""
    with tracer().start_as_current_span(name, kind=SpanKind.SERVER, record_exception=False,
                                        set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:
            set_error(span, type(exc).__name__)
            raise


def link_turn(traceparent: Any) -> None:
    """Link the current span (a status or cancel request) to the turn's trace."""
    span = trace.get_current_span()
    linked = span_context_from(traceparent)
    if linked is not None and span.is_recording():
        span.add_link(linked, {"travel.link": "turn"})


@contextmanager
def activity_span(name: str, payload: Any, attributes: dict[str, Any]) -> Iterator[trace.Span]:
    """An activity's span, a child of the turn context its payload carries (a root span if it carries none).
    Logs inside carry the turn id."""
    telemetry = fields(payload)
    turn_id = (payload.get("turn_id") if isinstance(payload, dict) else None) or telemetry.get("turn_id")
    with logs.turn_scope(turn_id if isinstance(turn_id, str) else None), tracer().start_as_current_span(
            name, context=context_from(telemetry.get("traceparent")), kind=SpanKind.INTERNAL,
            attributes=_clean({names.TURN_ID: turn_id, **attributes}), record_exception=False,
            set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:
            set_error(span, type(exc).__name__)
            raise


@contextmanager
def travel_api_span(api: str, url: str) -> Iterator[trace.Span]:
    """A CLIENT span around one travel API request. Built by hand rather than by the requests instrumentation,
    which records the full URL: its query string holds the API key and the search the user asked for."""
    parts = urlsplit(url)
    with tracer().start_as_current_span(
            names.SPAN_TRAVEL_API_PREFIX + api, kind=SpanKind.CLIENT, record_exception=False,
            set_status_on_exception=False,
            attributes={names.HTTP_METHOD: "GET", names.SERVER_ADDRESS: parts.hostname or "",
                        names.URL_PATH: parts.path}) as span:
        yield span


def emit_turn_span(telemetry: dict[str, Any], identity: dict[str, Any], ended_at: datetime) -> float | None:
    """The orchestration's own span, from its start (the orchestrator's first current_utc_datetime, carried in
    the payload) to ``ended_at``. Returns the turn's duration in seconds (None if the start is unknown)."""
    try:
        started_at = datetime.fromisoformat(str(telemetry.get("started_at")))
    except ValueError:
        return None
    outcome = str(telemetry.get("outcome") or "unknown")
    span = tracer().start_span(
        names.SPAN_TURN, context=context_from(telemetry.get("traceparent")), kind=SpanKind.INTERNAL,
        start_time=int(started_at.timestamp() * 1e9),
        attributes=_clean({names.TURN_ID: identity.get("turn_id"), names.THREAD_ID: identity.get("thread_id"),
                           names.OWNER_KEY: identity.get("owner_key"), names.OUTCOME: outcome,
                           names.ERROR_CODE: telemetry.get("error_code"),
                           names.TOOL_ROUNDS: telemetry.get("rounds"),
                           names.GEN_AI_INPUT_TOKENS: telemetry.get("input_tokens"),
                           names.GEN_AI_OUTPUT_TOKENS: telemetry.get("output_tokens")}))
    if outcome != "completed":
        span.set_status(Status(StatusCode.ERROR, str(telemetry.get("error_code") or outcome)))
    span.end(end_time=int(ended_at.timestamp() * 1e9))
    return max(0.0, (ended_at - started_at).total_seconds())
