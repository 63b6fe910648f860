"""The bodies of the chat turn's model activities. Each may run more than once (Durable delivers activities at
least once), so each is idempotent: reads are naturally, and the two writes that would be visible twice (posting
the user's message, submitting tool outputs) go through the step journal.

Every method answers with an envelope and never raises for expected failures: {"ok": true, ...} or
{"ok": false, "error": {"kind", "message", "retryable", "retry_after_s"}}.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from .. import assistant
from ..cards.files import MAX_FILES_PER_REPLY
from ..constants import (
    ACTIVITY_CANCEL_TURN,
    ACTIVITY_ENSURE_THREAD,
    ACTIVITY_FINISH_TURN,
    ACTIVITY_POLL_TURN,
    ACTIVITY_START_TURN,
    ACTIVITY_SUBMIT_TOOL_OUTPUTS,
    MAX_REPLY_CHARS,
    MAX_TOOL_ARGUMENT_CHARS,
    MAX_TOOL_ARGUMENTS_PER_ROUND_CHARS,
)
from ..model.errors import ModelError, ModelErrorKind
from ..model.port import ModelBackend, RunRequest, RunState, RunStatus, ToolCall, ToolOutput
from ..redaction import redact
from ..storage import StepUncertain, StorageUnavailable
from ..telemetry import turn as turn_telemetry
from .contract import STORAGE_UNAVAILABLE_KIND

if TYPE_CHECKING:
    from ..settings_sections import ModelSettings
    from ..storage import ResponseIndex, StepJournal, ThreadRegistry

logger = logging.getLogger(__name__)

# Failures after which the model certainly did not act on the request, so repeating it cannot double-post.
_CLEAN_FAILURES = frozenset({ModelErrorKind.RATE_LIMITED, ModelErrorKind.BAD_REQUEST, ModelErrorKind.AUTH,
                             ModelErrorKind.NOT_FOUND, ModelErrorKind.THREAD_BUSY})


def _failed_cleanly(exc: BaseException) -> bool:
    if isinstance(exc, ModelError):
        # An HTTP error status is the service saying it did not do it; a timeout or a reset says nothing.
        return exc.kind in _CLEAN_FAILURES or (exc.kind is ModelErrorKind.UNAVAILABLE and exc.status_code is not None)
    return isinstance(exc, StorageUnavailable)


def _error(kind: ModelErrorKind | str, message: str, retryable: bool, retry_after_s: float | None = None,
           ) -> dict[str, Any]:
    return {"ok": False, "error": {"kind": str(kind), "message": redact(message)[:500], "retryable": retryable,
                                   "retry_after_s": retry_after_s}}


def _guarded(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Turn expected failures into error envelopes; log (redacted) and envelope the unexpected ones too, so a
    bug surfaces as a clear turn error instead of a raw exception string in the orchestration history."""

    def wrapper(self: TurnActivities, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return fn(self, payload)
        except ModelError as exc:
            return self._with_cancel_flag(payload, _error(exc.kind, exc.message, exc.retryable, exc.retry_after_s))
        except StepUncertain as exc:
            return _error(ModelErrorKind.UNCERTAIN, str(exc), False)
        except StorageUnavailable as exc:
            return _error(STORAGE_UNAVAILABLE_KIND, f"Storage is unavailable: {exc}", True, 5.0)
        except Exception as exc:
            logger.exception("activity %s failed unexpectedly", fn.__name__)
            return _error("internal", f"{type(exc).__name__}: {exc}", False)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _traced(activity: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Give the activity its span in the turn's trace and its metrics (telemetry/turn.py); the finish activity
    also emits the turn's own span."""

    def decorate(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        def wrapper(self: TurnActivities, payload: dict[str, Any]) -> dict[str, Any]:
            labels = turn_telemetry.model_labels(self._model_settings)
            with turn_telemetry.model_activity(activity, payload, labels) as done:
                envelope = fn(self, payload)
                done(envelope)
            if activity == ACTIVITY_FINISH_TURN:
                turn_telemetry.finish_turn(payload, self._clock(), labels)
            return envelope

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper

    return decorate


def _bounded_state(state: RunState) -> dict[str, Any]:
    """The state as JSON, with tool-call arguments cut to a budget so the activity output stays small.
    Only sizes are decided here; the orchestrator's validation (tools.validate_call) judges every call. Arguments
    over the per-call limit are cut to one character more than it, which validation answers with "longer than";
    a call past the round's budget keeps its id (every call needs an output) and gets an empty argument text,
    which validation answers with the parameters it misses."""
    calls, used = [], 0
    for call in state.tool_calls:
        arguments = call.arguments[:MAX_TOOL_ARGUMENT_CHARS + 1]
        if used + len(arguments) > MAX_TOOL_ARGUMENTS_PER_ROUND_CHARS:
            arguments = ""
        used += len(arguments)
        calls.append(ToolCall(call.id, call.name[:64], arguments))
    data = state.to_dict()
    data["tool_calls"] = [c.to_dict() for c in calls]
    return data


class TurnActivities:
    def __init__(self, backend: Callable[[str | None], ModelBackend], registry: Callable[[], ThreadRegistry],
                 journal: Callable[[], StepJournal], clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 responses: Callable[[], ResponseIndex] | None = None,
                 model_settings: Callable[[], ModelSettings] | None = None):
        # Factories, not instances: an activity that never needs the model never builds its client. The backend
        # factory takes the model API that holds the thread (the turn input carries it; None: MODEL_API's).
        # model_settings only labels telemetry (MODEL_API, provider, model); without it the labels are empty.
        self._backend_of_api = backend
        self._registry = registry
        self._journal = journal
        self._clock = clock
        self._responses = responses
        self._model_settings = model_settings

    def _record_response(self, payload: dict[str, Any], state: RunState) -> None:
        """With push, remember which turn created this response, for the webhook route to wake it. Best effort:
        without the row the webhook is ignored and the turn's fallback timer sees the step end."""
        if not payload.get("record_response") or self._responses is None or not state.status.is_active:
            return
        try:
            self._responses().record(state.run_id, payload["turn_id"])
        except StorageUnavailable:
            logger.warning("could not record response %s of turn %s", state.run_id, payload["turn_id"])

    def _backend(self, payload: dict[str, Any]) -> ModelBackend:
        return self._backend_of_api(payload.get("model_api") or None)

    def _clean_failure_test(self, payload: dict[str, Any]) -> Callable[[BaseException], bool]:
        """Which failures of a journalled model call leave the step free to run again. With an adapter that finds
        what an earlier attempt did (repeatable_runs), every failure does: the retry cannot post twice, and a
        lost answer (a timeout, a reset) need not end the turn."""
        if self._backend(payload).repeatable_runs:
            return lambda exc: True
        return _failed_cleanly

    def _with_cancel_flag(self, payload: dict[str, Any], envelope: dict[str, Any]) -> dict[str, Any]:
        """Add the user's cancel request to a retryable error: the orchestrator would otherwise only see it once
        the model API answers again, which while it keeps failing can take a minute of retries."""
        if not envelope["error"]["retryable"] or not payload.get("turn_id"):
            return envelope
        try:
            if self._registry().cancel_requested(payload["owner_key"], payload["thread_id"], payload["turn_id"]):
                envelope["cancel_requested"] = True
        except Exception:  # storage trouble must not hide the error being reported; the next step checks again
            logger.warning("could not read the cancel flag of turn %s", payload.get("turn_id"))
        return envelope

    def _request(self, payload: dict[str, Any]) -> RunRequest:
        today = date.fromisoformat(payload["today"])
        return RunRequest(message=payload.get("message", ""), instructions=assistant.INSTRUCTIONS,
                           date_context=assistant.date_context(today), tools=assistant.neutral_tools(),
                           turn_id=payload["turn_id"])

    def _answer(self, payload: dict[str, Any], state: RunState) -> dict[str, Any]:
        """The envelope for a model state: the state, whether the user asked to cancel, and the reply once the
        run has completed (fetched here, to save the orchestrator a round trip)."""
        result: dict[str, Any] = {"ok": True, "state": _bounded_state(state), "cancel_requested": False}
        if state.status is RunStatus.COMPLETED:
            reply = self._backend(payload).get_reply(payload["backend_thread_id"], state.run_id)
            truncated = len(reply.text) > MAX_REPLY_CHARS
            result["reply"] = {"text": reply.text[:MAX_REPLY_CHARS], "truncated": truncated,
                               "files": [{**f.to_dict(), "filename": f.filename[:200]}
                                         for f in reply.files[:MAX_FILES_PER_REPLY]]}
        elif state.status is not RunStatus.CANCELLED:
            try:
                result["cancel_requested"] = self._registry().cancel_requested(
                    payload["owner_key"], payload["thread_id"], payload["turn_id"])
            except StorageUnavailable:
                # The model call has succeeded: failing now would have the orchestrator repeat it. A cancel the
                # registry cannot show now is seen at the next step.
                logger.warning("could not read the cancel flag of turn %s", payload["turn_id"])
        return result

    @_traced(ACTIVITY_ENSURE_THREAD)
    @_guarded
    def ensure_backend_thread(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The backend thread (Conversation or Assistants thread) for our thread, created on the first turn."""
        registry = self._registry()
        record = registry.get(payload["owner_key"], payload["thread_id"])
        if record is None:
            return _error(ModelErrorKind.NOT_FOUND, "The thread no longer exists", False)
        if record.backend_thread_id:
            return {"ok": True, "backend_thread_id": record.backend_thread_id}
        created = self._journal().run_once(
            payload["turn_id"], "create-thread",
            lambda: {"id": self._backend(payload).create_thread(metadata={"thread_id": payload["thread_id"]})},
            # A failed attempt leaves at most an empty backend thread nobody sees: always safe to try again.
            failed_cleanly=lambda exc: True)
        stored = registry.set_backend_thread(payload["owner_key"], payload["thread_id"], created["id"])
        if stored is None:
            return _error(ModelErrorKind.NOT_FOUND, "The thread no longer exists", False)
        return {"ok": True, "backend_thread_id": stored}

    @_traced(ACTIVITY_START_TURN)
    @_guarded
    def start(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Post the user's message and start the model run (once per turn, however often this runs)."""
        request = self._request(payload)
        state = self._journal().run_once(
            payload["turn_id"], "start",
            lambda: self._backend(payload).start_run(payload["backend_thread_id"], request).to_dict(),
            failed_cleanly=self._clean_failure_test(payload))
        self._record_response(payload, RunState.from_dict(state))
        return self._answer(payload, RunState.from_dict(state))

    @_traced(ACTIVITY_POLL_TURN)
    @_guarded
    def poll(self, payload: dict[str, Any]) -> dict[str, Any]:
        state = self._backend(payload).get_run_state(payload["backend_thread_id"], payload["run_id"])
        return self._answer(payload, state)

    @_traced(ACTIVITY_SUBMIT_TOOL_OUTPUTS)
    @_guarded
    def submit(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Submit all of a round's tool outputs in one call (once per round) unless the user cancelled."""
        if self._registry().cancel_requested(payload["owner_key"], payload["thread_id"], payload["turn_id"]):
            return {"ok": True, "state": None, "cancel_requested": True}
        outputs = [ToolOutput.from_dict(o) for o in payload["outputs"]]
        request = self._request(payload)
        state = self._journal().run_once(
            payload["turn_id"], f"submit-{payload['round']}",
            lambda: self._backend(payload).submit_tool_outputs(
                payload["backend_thread_id"], payload["run_id"], outputs, request).to_dict(),
            failed_cleanly=self._clean_failure_test(payload))
        self._record_response(payload, RunState.from_dict(state))
        return self._answer(payload, RunState.from_dict(state))

    @_traced(ACTIVITY_CANCEL_TURN)
    @_guarded
    def cancel(self, payload: dict[str, Any]) -> dict[str, Any]:
        state = self._backend(payload).cancel_run(payload["backend_thread_id"], payload["run_id"])
        return {"ok": True, "state": _bounded_state(state)}

    @_traced(ACTIVITY_FINISH_TURN)
    @_guarded
    def finish(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Release the thread for its next turn (a no-op if this turn no longer holds it)."""
        released = self._registry().release_turn(payload["owner_key"], payload["thread_id"], payload["turn_id"],
                                                 self._clock())
        return {"ok": True, "released": released}
