"""The model port: the few operations a chat turn needs from the model API, whatever API sits behind them.

A turn (ours: ``turn_``) has one model run (the model's: a chain of responses or an Assistants run); the
port's methods act on that run and take the *backend* thread id (``conv_...`` or ``thread_...``), never our
``thr_`` id (docs/glossary.md).

Two adapters implement it: the Responses + Conversations API (default) and the Assistants API. Everything
crossing the port is a small frozen dataclass. Those that travel through Durable (a ``RunState`` with its tool
calls, error and usage; ``ToolOutput``; ``GeneratedFile``) are fields of the wire models of
travel_assistant/turn/messages.py as they are: pydantic validates and dumps them, so each has this one definition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class RunStatus(StrEnum):
    """The lifecycle of one model run, normalised across both APIs."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    REQUIRES_ACTION = "requires_action"  # the model asked for function tool calls
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    INCOMPLETE = "incomplete"

    @property
    def is_active(self) -> bool:
        return self in (RunStatus.QUEUED, RunStatus.IN_PROGRESS, RunStatus.CANCELLING)


@dataclass(frozen=True)
class ToolCall:
    """A function tool call the model asked for. ``arguments`` is the model's raw JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolOutput:
    call_id: str
    output: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens,
                     self.total_tokens + other.total_tokens)


@dataclass(frozen=True)
class RunError:
    code: str
    message: str


@dataclass(frozen=True)
class RunState:
    """Where one model run stands.

    ``run_id`` names the run to poll next: an Assistants run, or the newest response of a Responses chain.
    ``usage`` is set once this run (or response) has finished. ``hosted_tools`` lists hosted tools the model
    used (the code interpreter), for the reply's record of tool calls.
    """

    run_id: str
    status: RunStatus
    tool_calls: tuple[ToolCall, ...] = ()
    poll_after_ms: int | None = None
    error: RunError | None = None
    usage: Usage | None = None
    hosted_tools: tuple[str, ...] = ()


class RunEventKind(StrEnum):
    """What one event of a model run's stream says (only what the live view of a turn needs)."""

    TEXT_DELTA = "text_delta"  # a piece of the reply text, as the model writes it
    ENDED = "ended"  # the run (on Responses: the response) reached a final state; ``status`` says which


@dataclass(frozen=True)
class RunEvent:
    """One event of a model run's stream. ``sequence_number`` is the model API's own cursor: streaming again with
    ``starting_after=sequence_number`` continues after this event."""

    sequence_number: int
    kind: RunEventKind
    text: str = ""  # TEXT_DELTA: the piece of text
    status: RunStatus | None = None  # ENDED: the run's final status (REQUIRES_ACTION when it asks for tools)


@dataclass(frozen=True)
class GeneratedFile:
    """A file the model's code interpreter wrote, as the backend names it: Responses, a container file
    (``container_id`` + ``file_id`` of a container_file_citation); Assistants, a file id (no container)."""

    file_id: str
    filename: str
    container_id: str | None = None


@dataclass(frozen=True)
class FileContent:
    body: bytes
    content_type: str | None = None  # what the backend said, if anything


@dataclass(frozen=True)
class Reply:
    """The assistant's answer text and the files its code interpreter wrote. Usage comes with the finished run's
    RunState, not here (the orchestrator sums it per run; telemetry reads that sum)."""

    text: str
    files: tuple[GeneratedFile, ...] = ()


@dataclass(frozen=True)
class Message:
    role: str  # "user" | "assistant"
    text: str
    created_at: int | None = None  # Unix seconds, when the backend says

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "text": self.text, "created_at": self.created_at}


@dataclass(frozen=True)
class RunRequest:
    """What starts a turn's model run: the user's message and the assistant's definition for today."""

    message: str
    instructions: str  # persona (static part)
    date_context: str  # today's date in Japan, sent with every run
    tools: tuple[dict[str, Any], ...] = field(default=())  # neutral tool specs (see model.definition)
    turn_id: str = ""


class ModelBackend(Protocol):
    """What the chat turn needs from a model API. Implementations raise ModelError on failures."""

    # True when start_run and submit_tool_outputs may be called again after any failure, because the adapter
    # finds what an earlier attempt did (and does not do it twice). False: only a failure that certainly did
    # nothing may be repeated; after any other the turn ends start_uncertain rather than risk posting twice.
    repeatable_runs: bool

    def create_thread(self, *, metadata: dict[str, str]) -> str: ...

    def start_run(self, backend_thread_id: str, request: RunRequest) -> RunState: ...

    def get_run_state(self, backend_thread_id: str, run_id: str) -> RunState: ...

    def submit_tool_outputs(self, backend_thread_id: str, run_id: str, outputs: list[ToolOutput],
                            request: RunRequest) -> RunState: ...

    def cancel_run(self, backend_thread_id: str, run_id: str) -> RunState: ...

    def get_reply(self, backend_thread_id: str, run_id: str) -> Reply: ...

    def list_messages(self, backend_thread_id: str, *, limit: int = 100) -> list[Message]: ...

    def download_file(self, file: GeneratedFile, *, max_bytes: int) -> FileContent:
        """The content of a file the code interpreter wrote; ModelError NOT_FOUND if it is gone (containers
        expire), BAD_REQUEST if it is larger than ``max_bytes``."""
        ...

    def delete_thread(self, backend_thread_id: str) -> bool:
        """Delete the backend thread; False if it was already gone."""
        ...

    def stream_run_events(self, backend_thread_id: str, run_id: str, *,
                          starting_after: int | None = None) -> Iterator[RunEvent]:
        """The events of a model run as the model API streams them, from just after ``starting_after`` (None: from
        the start), until the run ends or the connection does (the caller streams again from the last event it
        saw). Blocking: run it in a worker thread. The iterator may have a ``close()`` that ends the connection
        from another thread. An adapter that cannot stream a run again yields nothing. Raises ModelError."""
        ...
