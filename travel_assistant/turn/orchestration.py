"""The chat turn as a Durable orchestration: start the model run, poll it with durable timers, run the tools it
asks for in parallel, submit their outputs, and return the reply.

This is a deterministic generator over the Durable orchestration context (``call_activity``, ``create_timer``,
``task_all``, ``set_custom_status``, ``current_utc_datetime``); it imports nothing from Azure Functions, so it
runs unchanged under the real replay engine in the tests. Rules it follows because it is replayed:
time only from ``context.current_utc_datetime``; no I/O; every side effect is an activity.

Activities answer with envelopes ({"ok": true, ...} or {"ok": false, "error": {...}}) instead of raising for
expected failures: Durable would turn a raised exception into an untyped error string. Every message it sends or
reads is a model of travel_assistant/turn/messages.py (tools: travel_assistant/tools/messages.py).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Generator
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from .. import cards, tools
from ..constants import (
    ACTIVITY_CANCEL_TURN,
    ACTIVITY_ENSURE_THREAD,
    ACTIVITY_FINISH_TURN,
    ACTIVITY_POLL_TURN,
    ACTIVITY_START_TURN,
    ACTIVITY_SUBMIT_TOOL_OUTPUTS,
    ESCAPED_BYTES_PER_UTF8_BYTE,
    JST,
    MAX_ACTIVITY_PAYLOAD_BYTES,
    MAX_TOOL_OUTPUT_BYTES,
)
from ..errors import ErrorCode
from ..model.port import RunState, RunStatus, ToolOutput, Usage
from ..redaction import redact
from ..tools.messages import ToolActivityInput, ToolResult
from ..wire import ErrorEnvelope, WireModel
from . import progress as phases
from .contract import TURN_CANCELLED, TURN_COMPLETED, TURN_FAILED, TurnStatus
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
    ToolCallRecord,
    TurnInput,
    TurnOutput,
    TurnReply,
    read_result,
)
from .polling import next_poll_delay, retry_delay
from .waiting import StepWaiter

logger = logging.getLogger(__name__)

Task = Any  # a Durable task; yielding it gives its result
Answer = TypeVar("Answer", bound=WireModel)  # a model activity's success result
Steps = Generator[Task, Any, Any]

FINISH_ATTEMPTS = 5
TOOL_RETRY_DELAY_S = 2.0
# Room for all of a round's tool outputs in the one submit activity input, under Durable's 45 KB.
SUBMIT_OUTPUTS_BUDGET = MAX_ACTIVITY_PAYLOAD_BYTES - 4000
# Validation is pure, and every episode replays it for every tool call of the turn so far (a JSON Schema check,
# about a third of a millisecond each): remember the answers. They are shared between replays: never changed.
_validate_call = functools.lru_cache(maxsize=512)(tools.validate_call)


class TurnEnded(Exception):
    """Ends the turn early with a status and an error (raised inside the generator, caught at the top)."""

    def __init__(self, status: TurnStatus, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


_RUN_FAILURES = {
    RunStatus.FAILED: (ErrorCode.MODEL_FAILED, "The model run failed"),
    RunStatus.EXPIRED: (ErrorCode.MODEL_EXPIRED, "The model run expired before it finished"),
    RunStatus.INCOMPLETE: (ErrorCode.MODEL_INCOMPLETE, "The model stopped before finishing its answer"),
}

# How a model activity's error ends the turn; any other code ends it model_error.
_TURN_CODES = {
    ErrorCode.STORAGE_UNAVAILABLE: ErrorCode.STORAGE_UNAVAILABLE,
    ErrorCode.MODEL_RATE_LIMITED: ErrorCode.MODEL_RATE_LIMITED,
    ErrorCode.MODEL_UNAVAILABLE: ErrorCode.MODEL_UNAVAILABLE,
    ErrorCode.MODEL_TIMEOUT: ErrorCode.MODEL_UNAVAILABLE,
    ErrorCode.MODEL_THREAD_BUSY: ErrorCode.MODEL_THREAD_BUSY,
    ErrorCode.START_UNCERTAIN: ErrorCode.START_UNCERTAIN,
}


class ChatTurn:
    """One execution (or replay) of the orchestration. Holds only what the generator derives as it goes."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.turn = TurnInput.model_validate(context.get_input())
        self.config = self.turn.config
        # The ids every activity of this turn needs (TurnIds' fields).
        self.ids = {"turn_id": self.turn.turn_id, "thread_id": self.turn.thread_id,
                    "owner_key": self.turn.owner_key, "model_api": self.turn.model_api}
        self.started_at: datetime = context.current_utc_datetime
        self.deadline = self.started_at + timedelta(seconds=self.config.deadline_s)
        self.progress = phases.Progress()
        self.backend_thread_id = ""
        self.run_id = ""
        self.usage_by_run: dict[str, Usage] = {}
        self.tool_record: list[ToolCallRecord] = []
        self.summaries: list[cards.Summary] = []  # the tools' result summaries, for the reply's cards
        self.hosted_tools: set[str] = set()
        self.rounds = 0
        self.polls_in_step = 0
        self.waiter = StepWaiter(context, push=self.config.push_events, listen=self.config.listen_step_events,
                                 timer=self.wait_until)
        # With push, the activities that create a response record its id for the webhook route to find the turn.
        self.record_response = bool(self.config.push_events)

    # --- small helpers ----------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        now: datetime = self.context.current_utc_datetime
        return now

    def today(self) -> date:
        return self.now.astimezone(JST).date()

    def report(self, phase: str | None = None, **changes: Any) -> None:
        if phase:
            self.progress.phase = phase
        for name, value in changes.items():
            setattr(self.progress, name, value)
        self.progress.elapsed_s = (self.now - self.started_at).total_seconds()
        self.context.set_custom_status(self.progress.to_status())

    def wait_until(self, fire_at: datetime) -> Task:
        return self.context.create_timer(min(fire_at, self.deadline))

    def step(self) -> dict[str, Any]:
        """The fields of every model step's input: the turn's ids, its backend thread and current run."""
        return {**self.ids, "backend_thread_id": self.backend_thread_id, "run_id": self.run_id}

    def telemetry(self, **fields: Any) -> dict[str, Any]:
        """What an activity needs to open its span in the turn's trace: the traceparent the HTTP route gave, and
        where the turn is. The orchestrator itself emits nothing (it is replayed); its activities do."""
        return {"traceparent": self.turn.traceparent, "turn_id": self.turn.turn_id, "round": self.rounds, **fields}

    # --- the turn ---------------------------------------------------------------------------------------

    def run(self) -> Steps:
        """The whole turn; always releases the thread, whatever happened."""
        try:
            result = yield from self._converse()
        except TurnEnded as ended:
            result = yield from self._end_early(ended)
        except Exception as exc:  # a bug, or an activity the host reports failed (crashed worker, timeout)
            result = yield from self._end_after_crash(exc)
        self.report(phases.PHASE_FINISHING)
        yield from self._finish(result)
        self.report(phases.PHASE_DONE, model_status=self.progress.model_status, tools_running=[])
        return result.dump()

    def _converse(self) -> Steps:
        self.report(phases.PHASE_STARTING)
        ensured = yield from self._call_model(ACTIVITY_ENSURE_THREAD, ModelStepInput(**self.step()), ThreadEnsured)
        self.backend_thread_id = ensured.backend_thread_id
        started = yield from self._call_model(ACTIVITY_START_TURN, StartInput(
            **self.step(), message=self.turn.message, today=self.today(), record_response=self.record_response),
            ModelStepResult)
        state, reply = self._accept(started)
        run_began = self.now
        while True:
            if self.now >= self.deadline and state.status is not RunStatus.COMPLETED:
                raise TurnEnded(TURN_FAILED, ErrorCode.TIMEOUT,
                                f"The turn took longer than its {self.config.deadline_s} s deadline")
            if state.status.is_active:
                self.report(phases.PHASE_THINKING, model_status=str(state.status))
                delay = next_poll_delay((self.now - run_began).total_seconds(),
                                        first_delay_s=self.config.poll_first_delay_s,
                                        max_delay_s=self.config.poll_max_delay_s, poll_after_ms=state.poll_after_ms)
                yield from self.waiter.wait(state.run_id, self.now + timedelta(seconds=delay))
                if self.now >= self.deadline:
                    continue  # the check above ends the turn
                self.polls_in_step += 1
                polled = yield from self._call_model(ACTIVITY_POLL_TURN, ModelStepInput(**self.step()),
                                                     ModelStepResult)
                state, reply = self._accept(polled)
            elif state.status is RunStatus.REQUIRES_ACTION:
                outputs = yield from self._run_tools(state)
                submitted = yield from self._call_model(ACTIVITY_SUBMIT_TOOL_OUTPUTS, SubmitInput(
                    **self.step(), outputs=outputs, round=self.rounds, today=self.today(),
                    record_response=self.record_response), ModelStepResult)
                state, reply = self._accept(submitted)
                run_began = self.now
                self.polls_in_step = 0
            elif state.status is RunStatus.COMPLETED:
                return self._result(TURN_COMPLETED, reply=reply or ReplyDraft(text=""))
            elif state.status is RunStatus.CANCELLED:
                raise TurnEnded(TURN_CANCELLED, ErrorCode.CANCELLED, "The model run was cancelled")
            else:
                code, text = _RUN_FAILURES.get(state.status, (ErrorCode.MODEL_ERROR, "The model run ended badly"))
                detail = f": {state.error.message}" if state.error and state.error.message else ""
                raise TurnEnded(TURN_FAILED, code, f"{text}{detail}"[:500])

    def _accept(self, result: ModelStepResult) -> tuple[RunState, ReplyDraft | None]:
        """Take a model activity's state (and the reply, once the run has completed)."""
        state = result.state
        if state is None:  # only a submit the user's cancel stopped has none, and that answer carries the cancel
            raise TurnEnded(TURN_CANCELLED, ErrorCode.CANCELLED, "The turn was cancelled by the user")
        if state.usage:
            self.usage_by_run[state.run_id] = state.usage
        self.hosted_tools.update(state.hosted_tools)
        self.progress.model_status = str(state.status)
        self.progress.run_id = state.run_id  # shown with the next report: the live view streams this run
        return state, result.reply

    def _call_model(self, activity: str, message: ModelStepInput, success: type[Answer]) -> Generator[
            Task, Any, Answer]:
        """Call a model activity, retrying transient failures with durable-timer backoff within the deadline, and
        honouring the user's cancel whenever an answer carries it."""
        attempt = 0
        while True:
            poll = {"poll": self.polls_in_step} if activity == ACTIVITY_POLL_TURN else {}
            message.telemetry = self.telemetry(attempt=attempt, **poll)
            result = read_result((yield self.context.call_activity(activity, message.dump(), expected_type=dict)),
                                 success)
            state = getattr(result, "state", None)
            if state is not None:
                self.run_id = state.run_id  # first: a cancel below must know which run to stop
            if getattr(result, "cancel_requested", False):  # with a state, or while the model API keeps failing
                yield from self._cancel_model_run()
                raise TurnEnded(TURN_CANCELLED, ErrorCode.CANCELLED, "The turn was cancelled by the user")
            if not isinstance(result, ActivityFailure):
                if attempt:
                    self.report(retry_attempt=0)
                return result
            error = result.error
            if activity == ACTIVITY_ENSURE_THREAD and error.code in (ErrorCode.THREAD_NOT_FOUND,
                                                                     ErrorCode.MODEL_NOT_FOUND):
                raise TurnEnded(TURN_FAILED, ErrorCode.THREAD_NOT_FOUND, "The thread was deleted during the turn")
            code = _TURN_CODES.get(error.code, ErrorCode.MODEL_ERROR)
            if error.code is ErrorCode.STORAGE_UNAVAILABLE:
                message_text = "The app's storage is unavailable, so the turn could not go on. Try again in a minute."
            else:
                message_text = f"The model service answered with an error: {error.message}"[:500]
            if not error.retryable or attempt >= self.config.max_model_retries:
                if error.code is ErrorCode.START_UNCERTAIN:
                    message_text = ("The assistant may have received this message, but the app could not confirm "
                                    "it. Reload the conversation before sending it again.")
                raise TurnEnded(TURN_FAILED, code, message_text)
            delay = retry_delay(attempt, error.retry_after_s)
            if self.now + timedelta(seconds=delay) >= self.deadline:
                raise TurnEnded(TURN_FAILED, code,
                                f"{message_text} (a retry in {delay:.0f} s would pass the turn's deadline)"[:500])
            attempt += 1
            self.report(phases.PHASE_WAITING_TO_RETRY, retry_attempt=attempt)
            yield self.context.create_timer(self.now + timedelta(seconds=delay))

    # --- tools ------------------------------------------------------------------------------------------

    def _run_tools(self, state: RunState) -> Steps:
        """Answer every tool call of the round: invalid ones at once, valid ones as parallel activities, with
        one more attempt for transient failures. Returns the outputs for the submit activity."""
        self.rounds += 1
        self.progress.round = self.rounds
        calls = list(state.tool_calls)
        envelopes: dict[str, dict[str, Any]] = {}
        if self.rounds > self.config.max_tool_rounds:
            for call in calls:
                envelopes[call.id] = _error_envelope(
                    ErrorCode.TOOL_BUDGET_EXHAUSTED,
                    f"No more tool calls are allowed in this turn ({self.config.max_tool_rounds} rounds). "
                    "Answer with the information you already have.")
            if self.rounds > self.config.max_tool_rounds + 1:
                yield from self._cancel_model_run()
                raise TurnEnded(TURN_FAILED, ErrorCode.TOO_MANY_TOOL_ROUNDS,
                                f"The model kept calling tools after {self.config.max_tool_rounds} rounds")
            return self._outputs(calls, envelopes)

        # Tools measure their output in UTF-8 bytes; in the submit activity's input Durable escapes each Japanese
        # character to twice that, and all of the round's outputs must fit together.
        share = SUBMIT_OUTPUTS_BUDGET // (ESCAPED_BYTES_PER_UTF8_BYTE * max(1, len(calls)))
        budget = min(MAX_TOOL_OUTPUT_BYTES, share)
        today = self.today()
        pending = []
        for call in calls:
            checked = _validate_call(call.name, call.arguments, today)
            if checked.get("ok"):
                pending.append((call, checked["arguments"]))
            else:
                envelopes[call.id] = checked
        attempt = 1
        while pending:
            self.report(phases.PHASE_RUNNING_TOOLS, round=self.rounds,
                        tools_running=[call.name for call, _ in pending])
            tasks = [self.context.call_activity(tools.activity_name(call.name), ToolActivityInput(
                tool=call.name, call_id=call.id, arguments=arguments, today=today, max_output_bytes=budget,
                telemetry=self.telemetry(attempt=attempt - 1)).dump(), expected_type=dict)
                for call, arguments in pending]
            try:
                results = yield self.context.task_all(tasks)
            except Exception as exc:  # an activity crashed instead of answering with an envelope
                results = [_error_envelope(ErrorCode.TOOL_FAILED, f"The tool failed: {str(exc)[:200]}")] * len(pending)
            retry, retry_after = [], TOOL_RETRY_DELAY_S
            for (call, arguments), result in zip(pending, results, strict=True):
                # The model reads the tool's own JSON (passed on as it came); the orchestrator reads the model.
                envelopes[call.id] = result  # kept as the answer unless a retry replaces it
                error = ToolResult.model_validate(result).error
                if error is not None and error.retryable and attempt < self.config.max_tool_attempts:
                    retry.append((call, arguments))
                    retry_after = max(retry_after, error.retry_after_s or 0.0)
            if retry and self.now + timedelta(seconds=retry_after) >= self.deadline:
                retry = []  # no time left: the model gets the transient error and can tell the user
            pending = retry
            if pending:
                attempt += 1
                yield self.context.create_timer(self.now + timedelta(seconds=retry_after))
        return self._outputs(calls, envelopes)

    def _outputs(self, calls: list[Any], envelopes: dict[str, dict[str, Any]]) -> list[ToolOutput]:
        outputs = []
        for call in calls:
            envelope = envelopes.get(call.id) or _error_envelope(ErrorCode.INTERNAL_ERROR, "No result for this call")
            if cards.SUMMARY_KEY in envelope:  # the page's, not the model's
                envelope = dict(envelope)
                self.summaries.append(envelope.pop(cards.SUMMARY_KEY))
            self.tool_record.append(ToolCallRecord(name=call.name, ok=bool(envelope.get("ok")), round=self.rounds))
            outputs.append(ToolOutput(call_id=call.id, output=json.dumps(envelope, ensure_ascii=False)))
        self.report(tools_running=[], tools_done=[(r.name, bool(r.ok)) for r in self.tool_record])
        return outputs

    # --- endings ----------------------------------------------------------------------------------------

    def _cancel_model_run(self) -> Steps:
        """Best effort: stop the model run so it does not keep working (and billing) after the turn ends."""
        if not self.run_id:
            return
        self.report(phases.PHASE_CANCELLING)
        message = ModelStepInput(**self.step(), telemetry=self.telemetry())
        result = read_result((yield self.context.call_activity(ACTIVITY_CANCEL_TURN, message.dump(),
                                                               expected_type=dict)), RunCancelled)
        if isinstance(result, RunCancelled):
            self.progress.model_status = str(result.state.status)

    def _end_early(self, ended: TurnEnded) -> Steps:
        if ended.code is ErrorCode.TIMEOUT or (ended.status == TURN_FAILED and self.progress.model_status in (
                "queued", "in_progress", "requires_action")):
            yield from self._cancel_model_run()
        return self._result(ended.status, error=(ended.code, ended.message))

    def _end_after_crash(self, exc: Exception) -> Steps:
        """Fail the turn and stop the model run. The failure text (the host puts a stack trace in it) goes to the
        log, not into the turn's answer."""
        if not self.context.is_replaying:
            logger.error("turn %s failed unexpectedly: %s", self.turn.turn_id, redact(str(exc))[:2000])
        ended = TurnEnded(TURN_FAILED, ErrorCode.INTERNAL_ERROR,
                          "The turn failed unexpectedly. Send the message again.")
        try:
            return (yield from self._end_early(ended))
        except Exception:  # stopping the run failed too: the turn still ends, and still releases its thread
            return self._result(ended.status, error=(ended.code, ended.message))

    def _finish(self, result: TurnOutput) -> Steps:
        """Release the thread. Retried a few times; if storage stays down, the claim's expiry frees it.
        The first attempt also emits the turn's own span and metrics, from the summary it is given."""
        usage = result.reply.usage if result.reply is not None else None
        summary = self.telemetry(started_at=self.started_at.isoformat(), outcome=result.status,
                                 error_code=str(result.error.code) if result.error is not None else None,
                                 input_tokens=usage.input_tokens if usage else None,
                                 output_tokens=usage.output_tokens if usage else None)
        for attempt in range(FINISH_ATTEMPTS):
            message = FinishInput(**self.ids, telemetry={**summary, "attempt": attempt})
            released = read_result((yield self.context.call_activity(ACTIVITY_FINISH_TURN, message.dump(),
                                                                     expected_type=dict)), ThreadReleased)
            if isinstance(released, ThreadReleased) or attempt == FINISH_ATTEMPTS - 1:
                return  # after the last attempt, waiting would only delay the turn's answer
            yield self.context.create_timer(self.now + timedelta(seconds=retry_delay(attempt, None)))

    def _result(self, status: TurnStatus, *, reply: ReplyDraft | None = None,
                error: tuple[ErrorCode, str] | None = None) -> TurnOutput:
        usage = Usage()
        for run_usage in self.usage_by_run.values():
            usage = usage + run_usage
        tool_calls = [*self.tool_record, *(ToolCallRecord(name=name, hosted=True)
                                           for name in sorted(self.hosted_tools))]
        files, file_refs = cards.reply_files([vars(f) for f in reply.files]) if reply is not None else ([], {})
        output = TurnOutput(
            turn_id=self.turn.turn_id, thread_id=self.turn.thread_id, status=status,
            reply=None if reply is None else TurnReply(text=reply.text, tool_calls=tool_calls, usage=usage,
                                                       files=files, truncated=reply.truncated),
            error=None if error is None else ErrorEnvelope(code=error[0], message=error[1]),
            rounds=self.rounds, elapsed_s=round((self.now - self.started_at).total_seconds(), 3),
            file_refs=file_refs)
        if output.reply is not None and self.summaries:
            room = MAX_ACTIVITY_PAYLOAD_BYTES - cards.encoded_size(output.dump())  # the output is a Durable message
            output.reply.cards = [dict(card) for card in cards.fit_to_turn(self.summaries, room)]
        return output


def _error_envelope(code: ErrorCode, message: str, retryable: bool = False) -> dict[str, Any]:
    """A tool output the orchestrator answers itself (the call was not run)."""
    return ToolResult(ok=False, error=ErrorEnvelope(code=code, message=message, retryable=retryable)).dump()


def chat_turn_orchestration(context: Any) -> Steps:
    """The orchestrator function body (the Functions shell registers it with an orchestration trigger)."""
    return (yield from ChatTurn(context).run())
