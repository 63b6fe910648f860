"""A scripted model behind the model port, for tests that exercise everything in front of the model.

The HTTP API and page tests need turns that think, call tools, answer, fail or get cancelled, with the real
orchestrator, activities and registry. This backend plays the model's side of the port: each started run
follows the next queued script (a list of steps), one step per poll or tool submission, and keeps the
conversation so the thread routes can list and delete it. The adapters' own HTTP-level fakes test the
adapters; this one is for what sits above them.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from travel_assistant.model.errors import ModelError, ModelErrorKind
from travel_assistant.model.port import (
    Message,
    Reply,
    RunError,
    RunStatus,
    ToolCall,
    ToolOutput,
    TurnRequest,
    TurnState,
    Usage,
)

THINKING = "in_progress"
COMPLETED = "completed"
USAGE = Usage(input_tokens=1200, output_tokens=300, total_tokens=1500)


@dataclass(frozen=True)
class Tools:
    """A step in which the model asks for these tool calls: (name, arguments) pairs."""

    calls: tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True)
class Fails:
    """A step in which the run ends with this status (failed, expired, incomplete) and message."""

    status: RunStatus
    message: str


Step = str | Tools | Fails


@dataclass
class Script:
    """One model run: ``steps`` in order (the first is what starting the run returns), then ``reply``."""

    steps: list[Step]
    reply: str = ""

    @classmethod
    def answer(cls, reply: str) -> Script:
        return cls([THINKING, COMPLETED], reply)

    @classmethod
    def with_tools(cls, reply: str, *calls: tuple[str, dict[str, Any]]) -> Script:
        return cls([THINKING, Tools(calls), THINKING, COMPLETED], reply)

    @classmethod
    def failing(cls, message: str, status: RunStatus = RunStatus.FAILED) -> Script:
        return cls([THINKING, Fails(status, message)])


@dataclass
class Run:
    run_id: str
    thread_id: str
    script: Script
    position: int = 0
    cancelled: bool = False
    replied: bool = False
    tool_outputs: list[list[ToolOutput]] = field(default_factory=list)


class ScriptedBackend:
    """A ModelBackend (travel_assistant.model.port) that follows scripts. Thread-safe: the fake Durable host runs
    activities on its own thread while HTTP handlers list messages."""

    name = "scripted"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._scripts: deque[Script] = deque()
        self._failures: dict[str, ModelError] = {}
        self.threads: dict[str, list[Message]] = {}
        self.runs: dict[str, Run] = {}

    # --- test controls ------------------------------------------------------------------------------------

    def script(self, *scripts: Script) -> None:
        """Queue scripts for the next runs; a run with none queued answers with an echo of the message."""
        with self._lock:
            self._scripts.extend(scripts)

    def fail_next(self, operation: str, error: ModelError) -> None:
        """Make the next call of ``operation`` (a ModelBackend method name) raise ``error``."""
        with self._lock:
            self._failures[operation] = error

    def _check(self, operation: str) -> None:
        error = self._failures.pop(operation, None)
        if error is not None:
            raise error

    # --- the port -------------------------------------------------------------------------------------------

    def create_thread(self, *, metadata: dict[str, str]) -> str:
        with self._lock:
            self._check("create_thread")
            thread_id = f"conv_{next(self._ids)}"
            self.threads[thread_id] = []
            return thread_id

    def start_turn(self, thread_id: str, request: TurnRequest) -> TurnState:
        with self._lock:
            self._check("start_turn")
            if thread_id not in self.threads:
                raise ModelError(ModelErrorKind.NOT_FOUND, f"no conversation {thread_id}", status_code=404)
            script = self._scripts.popleft() if self._scripts else Script.answer(f"echo: {request.message}")
            run = Run(f"run_{next(self._ids)}", thread_id, script)
            self.runs[run.run_id] = run
            self.threads[thread_id].append(Message("user", request.message, int(time.time())))
            return self._state(run)

    def get_turn_state(self, thread_id: str, run_id: str) -> TurnState:
        with self._lock:
            self._check("get_turn_state")
            return self._advance(run_id)

    def submit_tool_outputs(self, thread_id: str, run_id: str, outputs: list[ToolOutput],
                            request: TurnRequest) -> TurnState:
        with self._lock:
            self._check("submit_tool_outputs")
            self.runs[run_id].tool_outputs.append(list(outputs))
            return self._advance(run_id)

    def cancel_turn(self, thread_id: str, run_id: str) -> TurnState:
        with self._lock:
            self._check("cancel_turn")
            run = self.runs[run_id]
            run.cancelled = True
            return self._state(run)

    def get_reply(self, thread_id: str, run_id: str) -> Reply:
        with self._lock:
            self._check("get_reply")
            run = self.runs[run_id]
            if not run.replied:  # a repeated read must not append the answer twice
                run.replied = True
                messages = self.threads[thread_id]
                messages.append(Message("assistant", run.script.reply, int(time.time())))
            return Reply(run.script.reply, USAGE)

    def list_messages(self, thread_id: str, *, limit: int = 100) -> list[Message]:
        with self._lock:
            self._check("list_messages")
            if thread_id not in self.threads:
                raise ModelError(ModelErrorKind.NOT_FOUND, f"no conversation {thread_id}", status_code=404)
            return list(self.threads[thread_id][-limit:])

    def delete_thread(self, thread_id: str) -> bool:
        with self._lock:
            self._check("delete_thread")
            return self.threads.pop(thread_id, None) is not None

    # --- runs -----------------------------------------------------------------------------------------------

    def _advance(self, run_id: str) -> TurnState:
        run = self.runs[run_id]
        if not run.cancelled:
            run.position = min(run.position + 1, len(run.script.steps) - 1)
        return self._state(run)

    def _state(self, run: Run) -> TurnState:
        if run.cancelled:
            return TurnState(run.run_id, RunStatus.CANCELLED)
        step = run.script.steps[run.position]
        if isinstance(step, Tools):
            calls = tuple(ToolCall(f"call_{run.run_id}_{run.position}_{i}", name, json.dumps(args, ensure_ascii=False))
                          for i, (name, args) in enumerate(step.calls))
            return TurnState(run.run_id, RunStatus.REQUIRES_ACTION, tool_calls=calls)
        if isinstance(step, Fails):
            return TurnState(run.run_id, step.status, error=RunError("server_error", step.message), usage=USAGE)
        status = RunStatus(step)
        return TurnState(run.run_id, status, usage=USAGE if status is RunStatus.COMPLETED else None)
