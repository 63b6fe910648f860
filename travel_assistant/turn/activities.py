"""The bodies of the chat turn's model activities. Each may run more than once (Durable delivers activities at
least once), so each is idempotent: reads are naturally, and the two writes that would be visible twice (posting
the user's message, submitting tool outputs) go through the step journal.

Each reads its input as its model of travel_assistant/turn/messages.py and answers with its result model, as JSON;
it never raises for expected failures: those are an ``ActivityFailure`` ({"ok": false, "error": {"code",
"message", "retryable", "retry_after_s"?}}).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import TypeAdapter, ValidationError

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
from ..errors import ErrorCode
from ..model.errors import ModelError, ModelErrorKind
from ..model.port import ModelBackend, RunRequest, RunState, RunStatus, ToolCall
from ..redaction import redact
from ..storage import StepUncertain, StorageUnavailable
from ..telemetry import turn as turn_telemetry
from ..wire import ErrorEnvelope, WireModel
from .messages import (
    ActivityFailure,
    FinishInput,
    ModelStepInput,
    ModelStepResult,
    ReplyDraft,
    RunCancelled,
    StartInput,
    SubmitInput,
    ThreadEnsured,
    ThreadReleased,
    TurnIds,
)

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


def _error(code: ErrorCode, message: str, retryable: bool, retry_after_s: float | None = None) -> ActivityFailure:
    return ActivityFailure(error=ErrorEnvelope(code=code, message=redact(message)[:500], retryable=retryable,
                                               retry_after_s=retry_after_s))


Message = TypeVar("Message", bound=WireModel)
_STATE = TypeAdapter(RunState)  # a model step's state as the step journal records it


def _guarded(message_type: type[Message]) -> Callable[[Callable[[TurnActivities, Message], WireModel]],
                                                      Callable[[TurnActivities, dict[str, Any]], dict[str, Any]]]:
    """Read the payload as ``message_type``; turn expected failures into an ActivityFailure; log (redacted) and
    answer the unexpected ones too, so a bug surfaces as a clear turn error instead of a raw exception string in
    the orchestration history. The answer is the result model as JSON."""

    def decorate(fn: Callable[[TurnActivities, Message], WireModel],
                 ) -> Callable[[TurnActivities, dict[str, Any]], dict[str, Any]]:
        def wrapper(self: TurnActivities, payload: dict[str, Any]) -> dict[str, Any]:
            try:
                message = message_type.model_validate(payload)
            except ValidationError as exc:
                logger.error("activity %s received an input it cannot read: %s", fn.__name__,
                             redact(str(exc))[:1000])
                return _error(ErrorCode.INTERNAL_ERROR, f"{fn.__name__}: the activity input is malformed",
                              False).dump()
            try:
                return fn(self, message).dump()
            except ModelError as exc:
                failure = _error(exc.code, exc.message, exc.retryable, exc.retry_after_s)
                return self._with_cancel_flag(message, failure).dump()
            except StepUncertain as exc:
                return _error(ErrorCode.START_UNCERTAIN, str(exc), False).dump()
            except StorageUnavailable as exc:
                return _error(ErrorCode.STORAGE_UNAVAILABLE, f"Storage is unavailable: {exc}", True, 5.0).dump()
            except Exception as exc:
                logger.exception("activity %s failed unexpectedly", fn.__name__)
                return _error(ErrorCode.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", False).dump()

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper

    return decorate

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


def _bounded_state(state: RunState) -> RunState:
    """The state, with tool-call arguments cut to a budget so the activity output stays small.
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
    return replace(state, tool_calls=tuple(calls))


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

    def _record_response(self, payload: StartInput | SubmitInput, state: RunState) -> None:
        """With push, remember which turn created this response, for the webhook route to wake it. Best effort:
        without the row the webhook is ignored and the turn's fallback timer sees the step end."""
        if not payload.record_response or self._responses is None or not state.status.is_active:
            return
        try:
            self._responses().record(state.run_id, payload.turn_id)
        except StorageUnavailable:
            logger.warning("could not record response %s of turn %s", state.run_id, payload.turn_id)

    def _backend(self, payload: TurnIds) -> ModelBackend:
        return self._backend_of_api(payload.model_api or None)

    def _clean_failure_test(self, payload: TurnIds) -> Callable[[BaseException], bool]:
        """Which failures of a journalled model call leave the step free to run again. With an adapter that finds
        what an earlier attempt did (repeatable_runs), every failure does: the retry cannot post twice, and a
        lost answer (a timeout, a reset) need not end the turn."""
        if self._backend(payload).repeatable_runs:
            return lambda exc: True
        return _failed_cleanly

    def _with_cancel_flag(self, payload: WireModel, failure: ActivityFailure) -> ActivityFailure:
        """Add the user's cancel request to a retryable error: the orchestrator would otherwise only see it once
        the model API answers again, which while it keeps failing can take a minute of retries."""
        if not failure.error.retryable or not isinstance(payload, TurnIds) or not payload.turn_id:
            return failure
        try:
            if self._registry().cancel_requested(payload.owner_key, payload.thread_id, payload.turn_id):
                failure.cancel_requested = True
        except Exception:  # storage trouble must not hide the error being reported; the next step checks again
            logger.warning("could not read the cancel flag of turn %s", payload.turn_id)
        return failure

    def _request(self, payload: StartInput | SubmitInput) -> RunRequest:
        return RunRequest(message=getattr(payload, "message", ""), instructions=assistant.INSTRUCTIONS,
                           date_context=assistant.date_context(payload.today), tools=assistant.neutral_tools(),
                           turn_id=payload.turn_id)

    def _answer(self, payload: ModelStepInput, state: RunState) -> ModelStepResult:
        """The result for a model state: the state, whether the user asked to cancel, and the reply once the
        run has completed (fetched here, to save the orchestrator a round trip)."""
        result = ModelStepResult(state=_bounded_state(state))
        if state.status is RunStatus.COMPLETED:
            reply = self._backend(payload).get_reply(payload.backend_thread_id, state.run_id)
            result.reply = ReplyDraft(
                text=reply.text[:MAX_REPLY_CHARS], truncated=len(reply.text) > MAX_REPLY_CHARS,
                files=[replace(f, filename=f.filename[:200]) for f in reply.files[:MAX_FILES_PER_REPLY]])
        elif state.status is not RunStatus.CANCELLED:
            try:
                result.cancel_requested = self._registry().cancel_requested(
                    payload.owner_key, payload.thread_id, payload.turn_id)
            except StorageUnavailable:
                # The model call has succeeded: failing now would have the orchestrator repeat it. A cancel the
                # registry cannot show now is seen at the next step.
                logger.warning("could not read the cancel flag of turn %s", payload.turn_id)
        return result

    @_traced(ACTIVITY_ENSURE_THREAD)
    @_guarded(ModelStepInput)
    def ensure_backend_thread(self, payload: ModelStepInput) -> ThreadEnsured | ActivityFailure:
        """The backend thread (Conversation or Assistants thread) for our thread, created on the first turn."""
        registry = self._registry()
        record = registry.get(payload.owner_key, payload.thread_id)
        if record is None:
            return _error(ErrorCode.THREAD_NOT_FOUND, "The thread no longer exists", False)
        if record.backend_thread_id:
            return ThreadEnsured(backend_thread_id=record.backend_thread_id)
        created = self._journal().run_once(
            payload.turn_id, "create-thread",
            lambda: {"id": self._backend(payload).create_thread(metadata={"thread_id": payload.thread_id})},
            # A failed attempt leaves at most an empty backend thread nobody sees: always safe to try again.
            failed_cleanly=lambda exc: True)
        stored = registry.set_backend_thread(payload.owner_key, payload.thread_id, created["id"])
        if stored is None:
            return _error(ErrorCode.THREAD_NOT_FOUND, "The thread no longer exists", False)
        return ThreadEnsured(backend_thread_id=stored)

    @_traced(ACTIVITY_START_TURN)
    @_guarded(StartInput)
    def start(self, payload: StartInput) -> ModelStepResult:
        """Post the user's message and start the model run (once per turn, however often this runs)."""
        request = self._request(payload)
        recorded = self._journal().run_once(
            payload.turn_id, "start",
            lambda: _STATE.dump_python(self._backend(payload).start_run(payload.backend_thread_id, request),
                                       mode="json"),
            failed_cleanly=self._clean_failure_test(payload))
        state = _STATE.validate_python(recorded)
        self._record_response(payload, state)
        return self._answer(payload, state)

    @_traced(ACTIVITY_POLL_TURN)
    @_guarded(ModelStepInput)
    def poll(self, payload: ModelStepInput) -> ModelStepResult:
        state = self._backend(payload).get_run_state(payload.backend_thread_id, payload.run_id)
        return self._answer(payload, state)

    @_traced(ACTIVITY_SUBMIT_TOOL_OUTPUTS)
    @_guarded(SubmitInput)
    def submit(self, payload: SubmitInput) -> ModelStepResult:
        """Submit all of a round's tool outputs in one call (once per round) unless the user cancelled."""
        if self._registry().cancel_requested(payload.owner_key, payload.thread_id, payload.turn_id):
            return ModelStepResult(state=None, cancel_requested=True)
        request = self._request(payload)
        recorded = self._journal().run_once(
            payload.turn_id, f"submit-{payload.round}",
            lambda: _STATE.dump_python(self._backend(payload).submit_tool_outputs(
                payload.backend_thread_id, payload.run_id, list(payload.outputs), request), mode="json"),
            failed_cleanly=self._clean_failure_test(payload))
        state = _STATE.validate_python(recorded)
        self._record_response(payload, state)
        return self._answer(payload, state)

    @_traced(ACTIVITY_CANCEL_TURN)
    @_guarded(ModelStepInput)
    def cancel(self, payload: ModelStepInput) -> RunCancelled:
        state = self._backend(payload).cancel_run(payload.backend_thread_id, payload.run_id)
        return RunCancelled(state=_bounded_state(state))

    @_traced(ACTIVITY_FINISH_TURN)
    @_guarded(FinishInput)
    def finish(self, payload: FinishInput) -> ThreadReleased:
        """Release the thread for its next turn (a no-op if this turn no longer holds it)."""
        released = self._registry().release_turn(payload.owner_key, payload.thread_id, payload.turn_id,
                                                 self._clock())
        return ThreadReleased(released=released)
