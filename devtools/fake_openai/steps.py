"""The scripted model: what one model call does (a step) and what the script is told about the call.

A *model call* is one POST /responses (Responses API), or one run create or submit_tool_outputs (Assistants
API).
Each call takes the next step of the script. A step says what the model ends up doing and how long it takes on
the fake's clock; the status a client sees is derived from that clock whenever it reads the run or response.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias


@dataclass(frozen=True)
class StepUsage:
    """Token counts reported once the call finishes."""

    input_tokens: int = 100
    output_tokens: int = 20

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class CallTools:
    """The model asks for function tool calls (in parallel when several).

    ``calls`` holds (name, arguments) pairs; arguments are a dict (sent as JSON) or a raw string, so that a
    test can hand the app malformed JSON exactly as a model might.
    """

    calls: Sequence[tuple[str, Mapping[str, Any] | str]]
    duration_s: float = 1.0
    usage: StepUsage = field(default_factory=StepUsage)


@dataclass(frozen=True)
class OutputFile:
    """A file the code interpreter writes (in /mnt/data), e.g. an expense CSV or a chart PNG."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class Answer:
    """The model answers with text. ``code_interpreter`` adds a code interpreter call before the answer;
    ``files`` (which imply it) are written by that call and cited in the answer as the APIs do: Responses,
    ``container_file_citation`` annotations (content at /containers/{id}/files/{file_id}/content); Assistants,
    ``image_file`` blocks for images and ``file_path`` annotations for other files (content at
    /files/{id}/content)."""

    text: str
    duration_s: float = 1.0
    usage: StepUsage = field(default_factory=StepUsage)
    code_interpreter: bool = False
    files: Sequence[OutputFile] = ()


@dataclass(frozen=True)
class Fail:
    """The run or response fails (status ``failed`` with ``last_error`` / ``error``)."""

    code: str = "server_error"
    message: str = "The server had an error while processing your request. Sorry about that!"
    duration_s: float = 1.0


@dataclass(frozen=True)
class Incomplete:
    """The run or response stops early (status ``incomplete``), optionally with partial ``text``.

    The reason is a Responses reason; on the Assistants API ``max_output_tokens`` becomes
    ``max_completion_tokens``, the nearest reason that API has.
    """

    reason: str = "max_output_tokens"
    duration_s: float = 1.0
    text: str = ""
    usage: StepUsage = field(default_factory=StepUsage)


@dataclass(frozen=True)
class Expire:
    """Assistants: the run's status becomes ``expired``. Responses: the response disappears (GET: 404)."""

    duration_s: float = 1.0


@dataclass(frozen=True)
class Hang:
    """The call never finishes: ``in_progress`` until it is cancelled."""


Step: TypeAlias = CallTools | Answer | Fail | Incomplete | Expire | Hang


@dataclass(frozen=True)
class SubmittedOutput:
    """A tool output the client sent with this call, with the name of the function it answers."""

    call_id: str
    name: str
    output: str


@dataclass(frozen=True)
class ModelCall:
    """What a callable script is told about a model call.

    ``kind`` is "start" for a call that begins a turn (a user message) and "submit" for one that carries tool
    outputs. ``user_message`` is the text of the latest user message of the thread or conversation, so a
    script can answer by reading it. ``turn_index`` counts the "start" calls on this thread before this one
    (0 for the first turn); ``round`` counts the "submit" calls since the latest start. ``call_index`` counts
    every model call of the fake.
    """

    api: Literal["responses", "assistants"]
    kind: Literal["start", "submit"]
    thread_id: str | None  # the conversation or thread id (None for a Responses call without a conversation)
    user_message: str
    tool_outputs: tuple[SubmittedOutput, ...]
    turn_index: int
    round: int
    call_index: int
    instructions: str | None
    metadata: Mapping[str, str]


Script: TypeAlias = Sequence[Step] | Callable[[ModelCall], Step]


class ScriptExhausted(Exception):
    """The script had no step for a model call."""


class ScriptRunner:
    """Hands out steps: from a list, in order, or by asking a callable. Thread-safe."""

    def __init__(self, script: Script) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self.set(script)

    def set(self, script: Script) -> None:
        with self._lock:
            if callable(script):
                self._fn: Callable[[ModelCall], Step] | None = script
                self._steps: deque[Step] = deque()
            else:
                self._fn = None
                self._steps = deque(script)

    def next_index(self) -> int:
        with self._lock:
            index = self._calls
            self._calls += 1
            return index

    def take(self, call: ModelCall) -> Step:
        with self._lock:
            fn = self._fn
            if fn is None:
                if not self._steps:
                    raise ScriptExhausted(f"no step left for model call #{call.call_index} ({call.kind})")
                return self._steps.popleft()
        # The callable runs outside the lock: it may be slow, or read the fake's recorded requests.
        step = fn(call)
        if not isinstance(step, CallTools | Answer | Fail | Incomplete | Expire | Hang):
            raise TypeError(f"the script returned {step!r}, which is not a step")
        return step

    @property
    def remaining(self) -> int | None:
        """Steps left in a list script (None for a callable script)."""
        with self._lock:
            return None if self._fn is not None else len(self._steps)
