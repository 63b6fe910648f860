"""What the chat turn's activities record: one span each (a child of the turn's trace context), and the metrics an
operator alerts on. The activities call these around their bodies; the envelopes they return say how it went.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import metrics, names, spans
from .context import fields

if TYPE_CHECKING:
    from ..settings_sections import ModelSettings

# The model activities that ask the model to generate (GenAI operation "chat"); the others read or stop a run.
_GENERATING = frozenset({"start_model_turn", "submit_tool_outputs"})
_STEP_ACTIVITIES = frozenset({"start_model_turn", "submit_tool_outputs", "poll_model_turn"})
_ACTIVE_STATUSES = frozenset({"queued", "in_progress", "cancelling"})
_RATE_LIMITED = "rate_limited"

Done = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class ModelLabels:
    """What the model activities' spans and metrics say about the model: MODEL_API, the GenAI provider name and
    the model (deployment); None where the settings cannot be read."""

    api: str | None = None
    provider: str | None = None
    model: str | None = None


def model_labels(model_settings: Callable[[], ModelSettings] | None) -> ModelLabels:
    """The labels from the caller's model settings (the activities' own); empty when they cannot be read."""
    if model_settings is None:
        return ModelLabels()
    try:
        model = model_settings()
    except Exception:  # the activity reports the settings problem itself
        return ModelLabels()
    provider = names.PROVIDER_AZURE_OPENAI if model.provider == "azure" else names.PROVIDER_OPENAI
    return ModelLabels(model.api, provider, model.model)


@contextmanager
def model_activity(activity: str, payload: Any, labels: ModelLabels) -> Iterator[Done]:
    """Around a turn activity (ensure/start/poll/submit/cancel/finish). Yields ``done(envelope)``."""
    telemetry = fields(payload)
    identity = payload if isinstance(payload, dict) else {}
    api, provider, model = labels.api, labels.provider, labels.model
    attributes: dict[str, Any] = {
        names.ACTIVITY: activity, names.THREAD_ID: identity.get("thread_id"),
        names.OWNER_KEY: identity.get("owner_key"), names.MODEL_API: api, names.ROUND: telemetry.get("round"),
        names.ATTEMPT: telemetry.get("attempt"), names.POLL: telemetry.get("poll")}
    if activity != "finish_turn":
        attributes.update({names.GEN_AI_PROVIDER: provider, names.GEN_AI_SYSTEM: provider,
                           names.GEN_AI_REQUEST_MODEL: model})
    if activity in _GENERATING:
        attributes[names.GEN_AI_OPERATION] = "chat"
    started = time.monotonic()
    with spans.activity_span(names.SPAN_ACTIVITY_PREFIX + activity, payload, attributes) as span:

        def done(envelope: dict[str, Any]) -> None:
            code = spans.envelope_error_code(envelope)
            dimensions = {names.ACTIVITY: activity, names.MODEL_API: api, names.OUTCOME: "error" if code else "ok"}
            if code:
                spans.set_error(span, code)
                dimensions[names.ERROR_CODE] = code
                if code == _RATE_LIMITED:
                    metrics.add(names.METRIC_MODEL_THROTTLED, 1, {names.ACTIVITY: activity, names.MODEL_API: api})
            else:
                span.set_attribute(names.OUTCOME, "ok")
            if (telemetry.get("attempt") or 0) > 0:
                metrics.add(names.METRIC_MODEL_RETRIES, 1, {names.ACTIVITY: activity, names.MODEL_API: api})
            state = envelope.get("state") if isinstance(envelope, dict) else None
            if isinstance(state, dict):
                _record_state(span, activity, api, telemetry, state)
            if activity != "finish_turn":
                metrics.record(names.METRIC_MODEL_STEP_DURATION, time.monotonic() - started, dimensions)

        yield done


def _record_state(span: Any, activity: str, api: str | None, telemetry: dict[str, Any],
                  state: dict[str, Any]) -> None:
    status = str(state.get("status") or "")
    span.set_attribute(names.RUN_STATUS, status)
    usage = state.get("usage") or {}
    tokens = {"input": usage.get("input_tokens"), "output": usage.get("output_tokens")}
    if tokens["input"] is not None:
        span.set_attribute(names.GEN_AI_INPUT_TOKENS, int(tokens["input"]))
    if tokens["output"] is not None:
        span.set_attribute(names.GEN_AI_OUTPUT_TOKENS, int(tokens["output"]))
    for token_type, count in tokens.items():
        if count is not None:
            metrics.record(names.METRIC_TOKENS, int(count), {"gen_ai.token.type": token_type, names.MODEL_API: api})
    if activity in _STEP_ACTIVITIES and status and status not in _ACTIVE_STATUSES:
        polls = int(telemetry.get("poll") or 0) if activity == "poll_model_turn" else 0
        metrics.record(names.METRIC_POLLS_PER_STEP, polls, {names.MODEL_API: api})


def finish_turn(payload: Any, ended_at: datetime, labels: ModelLabels) -> None:
    """After the finish activity's first attempt: the turn's own span and its metrics, once per turn."""
    telemetry = fields(payload)
    if telemetry.get("attempt") not in (0, None) or "started_at" not in telemetry:
        return
    identity = payload if isinstance(payload, dict) else {}
    duration_s = spans.emit_turn_span(telemetry, identity, ended_at)
    api = labels.api
    outcome = str(telemetry.get("outcome") or "unknown")
    dimensions = {names.OUTCOME: outcome, names.MODEL_API: api}
    if telemetry.get("error_code"):
        dimensions[names.ERROR_CODE] = str(telemetry["error_code"])
    metrics.add(names.METRIC_TURNS, 1, dimensions)
    if duration_s is not None:
        metrics.record(names.METRIC_TURN_DURATION, duration_s, dimensions)
    metrics.add(names.METRIC_ACTIVE_TURNS, -1, {names.MODEL_API: api})


@contextmanager
def tool_activity(payload: Any) -> Iterator[Done]:
    """Around one tool activity. Yields ``done(envelope)``. The arguments and the result stay out."""
    telemetry = fields(payload)
    tool = str(payload.get("tool") if isinstance(payload, dict) else "")[:64] or "unknown"
    call_id = payload.get("call_id") if isinstance(payload, dict) else None
    attempt = telemetry.get("attempt")
    attributes = {names.GEN_AI_OPERATION: "execute_tool", names.GEN_AI_TOOL_NAME: tool,
                  names.GEN_AI_TOOL_TYPE: "function",
                  names.GEN_AI_TOOL_CALL_ID: str(call_id)[:64] if call_id else None,
                  names.ROUND: telemetry.get("round"), names.ATTEMPT: attempt}
    started = time.monotonic()
    with spans.activity_span(names.SPAN_TOOL_ACTIVITY_PREFIX + tool, payload, attributes) as span:

        def done(envelope: dict[str, Any]) -> None:
            code = spans.envelope_error_code(envelope)
            dimensions = {names.GEN_AI_TOOL_NAME: tool, names.OUTCOME: "error" if code else "ok"}
            if code:
                spans.set_error(span, code)
                metrics.add(names.METRIC_TOOL_ERRORS, 1, {names.GEN_AI_TOOL_NAME: tool, names.ERROR_CODE: code})
                dimensions[names.ERROR_CODE] = code
            else:
                span.set_attribute(names.OUTCOME, "ok")
            if (attempt or 0) > 0:
                metrics.add(names.METRIC_TOOL_RETRIES, 1, {names.GEN_AI_TOOL_NAME: tool})
            metrics.record(names.METRIC_TOOL_DURATION, time.monotonic() - started, dimensions)

        yield done
