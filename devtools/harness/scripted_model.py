"""Scripted turns for the tests in front of the model: the HTTP API, the OpenAPI contract and the chat page.

The model is devtools.fake_openai's FakeOpenAI behind the app's real Responses adapter, so these tests cross the
same HTTP boundary as production. A test queues whole turns (an answer; tool calls then an answer; a failure);
each turn's model calls take their steps from the next queued turn, and a turn with nothing queued answers with
an echo of the user's message. Steps take no time on the fake's clock: the page tests pace the turn's progress
through the Durable host instead (PacedDurableHost).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from devtools.fake_openai import Answer, CallTools, Expire, Fail, FakeOpenAI, Incomplete, ModelCall, Step
from travel_assistant.model.port import RunStatus

# Which requests of the Responses + Conversations API each port operation makes, for fail_next().
_OPERATIONS = {
    "list_messages": ("GET", r"/conversations/[^/]+/items"),
    "delete_thread": ("DELETE", r"/conversations/[^/]+"),
    "start_run": ("POST", r"/responses"),
    "download_file": ("GET", r"/containers/[^/]+/files/[^/]+/content"),
}


@dataclass(frozen=True)
class TurnScript:
    """One turn of the model: its steps in order. (devtools.fake_openai's Script is what the fake answers every
    model call with; ScriptedModel is such a script, made of these turns, one after another.)"""

    steps: tuple[Step, ...]

    @classmethod
    def answer(cls, reply: str) -> TurnScript:
        return cls((Answer(reply, duration_s=0),))

    @classmethod
    def with_tools(cls, reply: str, *calls: tuple[str, dict[str, Any]]) -> TurnScript:
        return cls((CallTools(list(calls), duration_s=0), Answer(reply, duration_s=0)))

    @classmethod
    def failing(cls, message: str, status: RunStatus = RunStatus.FAILED) -> TurnScript:
        ending: Step = {RunStatus.EXPIRED: Expire(duration_s=0),
                        RunStatus.INCOMPLETE: Incomplete(duration_s=0)}.get(status, Fail(message=message, duration_s=0))
        return cls((ending,))


class ScriptedModel:
    """Queues turns for the model fake. Thread-safe: the Durable host runs activities on its own thread."""

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        self._lock = threading.Lock()
        self._turns: deque[TurnScript] = deque()
        self._current: deque[Step] = deque()
        fake.set_script(self._next_step)

    def script(self, *turns: TurnScript) -> None:
        with self._lock:
            self._turns.extend(turns)

    def fail_next(self, operation: str, status: int = 503) -> None:
        """Make the model service fail the next request of a port operation with this HTTP status."""
        method, path = _OPERATIONS[operation]
        self.fake.add_fault(method, path, status=status, times=1)

    def _next_step(self, call: ModelCall) -> Step:
        with self._lock:
            if call.kind == "start":
                turn = self._turns.popleft() if self._turns else TurnScript.answer(f"echo: {call.user_message}")
                self._current = deque(turn.steps)
            return self._current.popleft() if self._current else Answer("", duration_s=0)
