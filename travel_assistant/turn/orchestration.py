"""The chat turn as a Durable orchestration: start the model run, poll it with durable timers, run the tools it
asks for in parallel, submit their outputs, and return the reply.

This is a deterministic generator over the Durable orchestration context (``call_activity``, ``create_timer``,
``task_all``, ``set_custom_status``, ``current_utc_datetime``); it imports nothing from Azure Functions, so it
runs unchanged under the real replay engine in the tests. Rules it follows because it is replayed:
time only from ``context.current_utc_datetime``; no I/O; every side effect is an activity.

Activities answer with envelopes ({"ok": true, ...} or {"ok": false, "error": {...}}) instead of raising for
expected failures: Durable would turn a raised exception into an untyped error string.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Generator
from datetime import date, datetime, timedelta
from typing import Any

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
from ..model.errors import ModelErrorKind
from ..model.port import RunStatus, TurnState, Usage
from ..redaction import redact
from ..telemetry.context import PAYLOAD_KEY as TELEMETRY
from . import progress as phases
from .contract import STORAGE_UNAVAILABLE_KIND, TURN_CANCELLED, TURN_COMPLETED, TURN_FAILED, TurnInput
from .polling import next_poll_delay, retry_delay
from .waiting import StepWaiter

logger = logging.getLogger(__name__)

Task = Any  # a Durable task; yielding it gives its result
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

    def __init__(self, status: str, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


_RUN_FAILURES = {
    RunStatus.FAILED: (ErrorCode.MODEL_FAILED, "The model run failed"),
    RunStatus.EXPIRED: (ErrorCode.MODEL_EXPIRED, "The model run expired before it finished"),
    RunStatus.INCOMPLETE: (ErrorCode.MODEL_INCOMPLETE, "The model stopped before finishing its answer"),
}

_ERROR_CODES = {
    STORAGE_UNAVAILABLE_KIND: ErrorCode.STORAGE_UNAVAILABLE,
    ModelErrorKind.RATE_LIMITED: ErrorCode.MODEL_RATE_LIMITED,
    ModelErrorKind.UNAVAILABLE: ErrorCode.MODEL_UNAVAILABLE,
    ModelErrorKind.TIMEOUT: ErrorCode.MODEL_UNAVAILABLE,
    ModelErrorKind.THREAD_BUSY: ErrorCode.MODEL_THREAD_BUSY,
    ModelErrorKind.UNCERTAIN: ErrorCode.START_UNCERTAIN,
}


class ChatTurn:
    """One execution (or replay) of the orchestration. Holds only what the generator derives as it goes."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.turn = TurnInput.from_dict(context.get_input())
        self.config = self.turn.config
        self.started_at: datetime = context.current_utc_datetime
        self.deadline = self.started_at + timedelta(seconds=self.config.deadline_s)
        self.progress = phases.Progress()
        self.backend_thread_id = ""
        self.run_id = ""
        self.usage_by_run: dict[str, Usage] = {}
        self.tool_record: list[dict[str, Any]] = []
        self.summaries: list[cards.Summary] = []  # the tools' result summaries, for the reply's cards
        self.hosted_tools: set[str] = set()
        self.rounds = 0
        self.polls_in_step = 0
        self.waiter = StepWaiter(context, push=self.config.push_events, timer=self.wait_until)
        # With push, the activities that create a response record its id for the webhook route to find the turn.
        self.push_payload = {"record_response": True} if self.config.push_events else {}

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
        self.context.set_custom_status(self.progress.to_dict())

    def wait_until(self, fire_at: datetime) -> Task:
        return self.context.create_timer(min(fire_at, self.deadline))

    def payload(self, **extra: Any) -> dict[str, Any]:
        return {**self.turn.identity(), "backend_thread_id": self.backend_thread_id, "run_id": self.run_id,
                **extra}

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
        return result

    def _converse(self) -> Steps:
        self.report(phases.PHASE_STARTING)
        ensured = yield from self._call_model(ACTIVITY_ENSURE_THREAD, self.payload())
        self.backend_thread_id = ensured["backend_thread_id"]
        started = yield from self._call_model(ACTIVITY_START_TURN, self.payload(
            message=self.turn.message, today=self.today().isoformat(), **self.push_payload))
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
                polled = yield from self._call_model(ACTIVITY_POLL_TURN, self.payload())
                state, reply = self._accept(polled)
            elif state.status is RunStatus.REQUIRES_ACTION:
                outputs = yield from self._run_tools(state)
                submitted = yield from self._call_model(ACTIVITY_SUBMIT_TOOL_OUTPUTS, self.payload(
                    outputs=outputs, round=self.rounds, today=self.today().isoformat(), **self.push_payload))
                state, reply = self._accept(submitted)
                run_began = self.now
                self.polls_in_step = 0
            elif state.status is RunStatus.COMPLETED:
                return self._result(TURN_COMPLETED, reply=reply or {})
            elif state.status is RunStatus.CANCELLED:
                raise TurnEnded(TURN_CANCELLED, ErrorCode.CANCELLED, "The model run was cancelled")
            else:
                code, text = _RUN_FAILURES.get(state.status, (ErrorCode.MODEL_ERROR, "The model run ended badly"))
                detail = f": {state.error.message}" if state.error and state.error.message else ""
                raise TurnEnded(TURN_FAILED, code, f"{text}{detail}"[:500])

    def _accept(self, result: dict[str, Any]) -> tuple[TurnState, dict[str, Any] | None]:
        """Take a model activity's state (and the reply, once the run has completed)."""
        state = TurnState.from_dict(result["state"])
        if state.usage:
            self.usage_by_run[state.run_id] = state.usage
        self.hosted_tools.update(state.hosted_tools)
        self.progress.model_status = str(state.status)
        self.progress.run_id = state.run_id  # shown with the next report: the live view streams this run
        return state, result.get("reply")

    def _call_model(self, activity: str, payload: dict[str, Any]) -> Steps:
        """Call a model activity, retrying transient failures with durable-timer backoff within the deadline, and
        honouring the user's cancel whenever an answer carries it."""
        attempt = 0
        while True:
            poll = {"poll": self.polls_in_step} if activity == ACTIVITY_POLL_TURN else {}
            result = yield self.context.call_activity(
                activity, {**payload, TELEMETRY: self.telemetry(attempt=attempt, **poll)}, expected_type=dict)
            if result.get("state"):
                self.run_id = result["state"]["run_id"]  # first: a cancel below must know which run to stop
            if result.get("cancel_requested"):  # seen with a state, or while the model API keeps failing
                yield from self._cancel_model_run()
                raise TurnEnded(TURN_CANCELLED, ErrorCode.CANCELLED, "The turn was cancelled by the user")
            if result.get("ok"):
                if attempt:
                    self.report(retry_attempt=0)
                return result
            error = result["error"]
            kind = error.get("kind", "")
            if kind == "not_found" and activity == ACTIVITY_ENSURE_THREAD:
                raise TurnEnded(TURN_FAILED, ErrorCode.THREAD_NOT_FOUND, "The thread was deleted during the turn")
            code = _ERROR_CODES.get(kind, ErrorCode.MODEL_ERROR)
            if kind == STORAGE_UNAVAILABLE_KIND:
                message = "The app's storage is unavailable, so the turn could not go on. Try again in a minute."
            else:
                message = f"The model service answered with an error: {error.get('message', '')}"[:500]
            if not error.get("retryable") or attempt >= self.config.max_model_retries:
                if kind == ModelErrorKind.UNCERTAIN:
                    message = ("The assistant may have received this message, but the app could not confirm it. "
                               "Reload the conversation before sending it again.")
                raise TurnEnded(TURN_FAILED, code, message)
            delay = retry_delay(attempt, error.get("retry_after_s"))
            if self.now + timedelta(seconds=delay) >= self.deadline:
                raise TurnEnded(TURN_FAILED, code,
                                f"{message} (a retry in {delay:.0f} s would pass the turn's deadline)"[:500])
            attempt += 1
            self.report(phases.PHASE_WAITING_TO_RETRY, retry_attempt=attempt)
            yield self.context.create_timer(self.now + timedelta(seconds=delay))

    # --- tools ------------------------------------------------------------------------------------------

    def _run_tools(self, state: TurnState) -> Steps:
        """Answer every tool call of the round: invalid ones at once, valid ones as parallel activities, with
        one more attempt for transient failures. Returns the outputs for the submit activity."""
        self.rounds += 1
        self.progress.round = self.rounds
        calls = list(state.tool_calls)
        envelopes: dict[str, dict[str, Any]] = {}
        if self.rounds > self.config.max_tool_rounds:
            for call in calls:
                envelopes[call.id] = _error_envelope(
                    "tool_budget_exhausted",
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
            tasks = [self.context.call_activity(tools.activity_name(call.name), {
                "tool": call.name, "call_id": call.id, "arguments": arguments, "today": today.isoformat(),
                "max_output_bytes": budget, TELEMETRY: self.telemetry(attempt=attempt - 1)}, expected_type=dict)
                for call, arguments in pending]
            try:
                results = yield self.context.task_all(tasks)
            except Exception as exc:  # an activity crashed instead of answering with an envelope
                results = [_error_envelope("tool_failed", f"The tool failed: {str(exc)[:200]}")] * len(pending)
            retry, retry_after = [], TOOL_RETRY_DELAY_S
            for (call, arguments), result in zip(pending, results, strict=True):
                envelopes[call.id] = result  # kept as the answer unless a retry replaces it
                error = result.get("error") or {}
                if not result.get("ok") and error.get("retryable") and attempt < self.config.max_tool_attempts:
                    retry.append((call, arguments))
                    retry_after = max(retry_after, float(error.get("retry_after_s") or 0))
            if retry and self.now + timedelta(seconds=retry_after) >= self.deadline:
                retry = []  # no time left: the model gets the transient error and can tell the user
            pending = retry
            if pending:
                attempt += 1
                yield self.context.create_timer(self.now + timedelta(seconds=retry_after))
        return self._outputs(calls, envelopes)

    def _outputs(self, calls: list[Any], envelopes: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
        outputs = []
        for call in calls:
            envelope = envelopes.get(call.id) or _error_envelope("internal_error", "No result for this call")
            if cards.SUMMARY_KEY in envelope:  # the page's, not the model's
                envelope = dict(envelope)
                self.summaries.append(envelope.pop(cards.SUMMARY_KEY))
            self.tool_record.append({"name": call.name, "ok": bool(envelope.get("ok")), "round": self.rounds})
            outputs.append({"call_id": call.id, "output": json.dumps(envelope, ensure_ascii=False)})
        self.report(tools_running=[], tools_done=[{"name": r["name"], "ok": r["ok"]} for r in self.tool_record])
        return outputs

    # --- endings ----------------------------------------------------------------------------------------

    def _cancel_model_run(self) -> Steps:
        """Best effort: stop the model run so it does not keep working (and billing) after the turn ends."""
        if not self.run_id:
            return
        self.report(phases.PHASE_CANCELLING)
        result = yield self.context.call_activity(ACTIVITY_CANCEL_TURN, {**self.payload(),
                                                  TELEMETRY: self.telemetry()}, expected_type=dict)
        if result.get("ok") and result.get("state"):
            self.progress.model_status = result["state"]["status"]

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

    def _finish(self, result: dict[str, Any]) -> Steps:
        """Release the thread. Retried a few times; if storage stays down, the claim's expiry frees it.
        The first attempt also emits the turn's own span and metrics, from the summary it is given."""
        usage = (result.get("reply") or {}).get("usage") or {}
        summary = self.telemetry(started_at=self.started_at.isoformat(), outcome=result["status"],
                                 error_code=(result.get("error") or {}).get("code"),
                                 input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens"))
        for attempt in range(FINISH_ATTEMPTS):
            released = yield self.context.call_activity(ACTIVITY_FINISH_TURN, {
                **self.turn.identity(), TELEMETRY: {**summary, "attempt": attempt}}, expected_type=dict)
            if released.get("ok") or attempt == FINISH_ATTEMPTS - 1:
                return  # after the last attempt, waiting would only delay the turn's answer
            yield self.context.create_timer(self.now + timedelta(seconds=retry_delay(attempt, None)))

    def _result(self, status: str, *, reply: dict[str, Any] | None = None,
                error: tuple[ErrorCode, str] | None = None) -> dict[str, Any]:
        usage = Usage()
        for run_usage in self.usage_by_run.values():
            usage = usage + run_usage
        tool_calls = list(self.tool_record) + [{"name": name, "hosted": True} for name in sorted(self.hosted_tools)]
        files, file_refs = cards.reply_files(reply.get("files") or []) if reply is not None else ([], {})
        output: dict[str, Any] = {
            "turn_id": self.turn.turn_id,
            "thread_id": self.turn.thread_id,
            "status": status,
            "reply": None if reply is None else {"text": reply.get("text", ""), "tool_calls": tool_calls,
                                                 "usage": usage.to_dict(), "cards": [], "files": files,
                                                 **({"truncated": True} if reply.get("truncated") else {})},
            "error": None if error is None else {"code": str(error[0]), "message": error[1]},
            "rounds": self.rounds,
            "elapsed_s": round((self.now - self.started_at).total_seconds(), 3),
            "file_refs": file_refs,  # the backend's ids of the reply's files: only the file route reads them
        }
        if output["reply"] is not None and self.summaries:
            room = MAX_ACTIVITY_PAYLOAD_BYTES - cards.encoded_size(output)  # the output is a Durable message too
            output["reply"]["cards"] = cards.fit_to_turn(self.summaries, room)
        return output


def _error_envelope(code: str, message: str, retryable: bool = False) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "retryable": retryable}}


def chat_turn_orchestration(context: Any) -> Steps:
    """The orchestrator function body (the Functions shell registers it with an orchestration trigger)."""
    return (yield from ChatTurn(context).run())
