"""Every message of a chat turn that crosses Durable, one pydantic model each: the orchestration's input
(``TurnInput``), output (``TurnOutput``) and custom status (``TurnProgress``), and each model activity's input and
result. The tool activity's are in travel_assistant/tools/messages.py; the error envelope all of them carry is
travel_assistant/wire.py.

Senders build a model and send ``model_dump(mode="json")``; receivers ``model_validate`` what they get. The JSON is
what it was before these models (field for field), except that errors are the one envelope (``code``, not
``kind``). Values of the model port (``RunState``'s dataclass and what it holds, ``ToolOutput``, ``Usage``) are
fields as they are: pydantic validates and dumps those dataclasses, so each keeps one definition.

**Versioning** (docs/definitions.md): a Durable message may be read by another version of the app than the one that
wrote it (an orchestration replays its whole history after a deployment). So there is no version field; instead
every field added after a message first shipped has a default, the old shapes a field had are converted by a
before-validator (``ErrorEnvelope`` reads ``kind``), and fields a receiver does not know are ignored
(``extra="ignore"``), so a rolled-back version still reads a newer message. tests/test_history_replay.py replays
histories recorded before these models (tests/snapshots/history_fb07fe4_*.json) through the current orchestrator.

pydantic loads on the first turn (orchestrators/chat_turn.py imports the orchestration lazily), not at cold start.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, PlainSerializer, PlainValidator, field_validator

from ..model.port import GeneratedFile, RunState, ToolOutput, Usage
from ..settings_sections import TurnSettings
from ..wire import ErrorEnvelope, WireModel
from .contract import TurnStatus


def _absent(value: Any) -> bool:
    return value is None


def _falsy(value: Any) -> bool:
    return not value


def _turn_settings(value: Any) -> TurnSettings:
    """The settings are taken as they were recorded (model_construct: no validation, and no environment read,
    which validating a settings class would do); a setting missing from an older input takes its default."""
    if isinstance(value, TurnSettings):
        return value
    return TurnSettings.model_construct(**(value if isinstance(value, dict) else {}))


# The turn settings, as they travel in the orchestration input: orchestrators must not read the environment.
RecordedTurnSettings = Annotated[TurnSettings, PlainValidator(_turn_settings),
                                 PlainSerializer(lambda settings: settings.model_dump(), return_type=dict)]


# --- the model activities' inputs ---------------------------------------------------------------------------------


class TurnIds(WireModel):
    """The ids every activity of a turn needs."""

    turn_id: str
    thread_id: str
    owner_key: str
    # The model API that holds the thread; "" (inputs of older versions): MODEL_API's.
    model_api: str = Field(default="", exclude_if=_falsy)


class ModelStepInput(TurnIds):
    """ensure_backend_thread, poll_model_turn, cancel_model_turn: which backend thread and run."""

    backend_thread_id: str = ""
    run_id: str = ""
    # Where the activity's span goes in the turn's trace (telemetry/context.py reads it).
    telemetry: dict[str, Any] | None = Field(default=None, exclude_if=_absent)


class StartInput(ModelStepInput):
    """start_model_turn: post the user's message and start the model run."""

    message: str
    today: date  # Japan's date, for the assistant's date context
    record_response: bool = Field(default=False, exclude_if=_falsy)  # push: record response id -> turn


class SubmitInput(ModelStepInput):
    """submit_tool_outputs: one round's outputs, in one call."""

    outputs: list[ToolOutput]
    round: int
    today: date
    record_response: bool = Field(default=False, exclude_if=_falsy)


class FinishInput(TurnIds):
    """finish_turn: release the thread; the telemetry summary gives the turn's own span and metrics."""

    telemetry: dict[str, Any] | None = Field(default=None, exclude_if=_absent)


# --- the model activities' results --------------------------------------------------------------------------------


class ActivityFailure(WireModel):
    """Any model activity that could not do its job. An expected failure is an answer, never an exception:
    Durable would turn a raised exception into an untyped error string."""

    ok: Literal[False] = False
    error: ErrorEnvelope
    cancel_requested: bool = Field(default=False, exclude_if=_falsy)  # the user pressed cancel meanwhile


class ThreadEnsured(WireModel):
    ok: Literal[True] = True
    backend_thread_id: str


class ReplyDraft(WireModel):
    """The model's reply as the activity read it, cut to the turn's limits."""

    text: str
    truncated: bool = False
    files: list[GeneratedFile] = []


class ModelStepResult(WireModel):
    """start_model_turn, poll_model_turn, submit_tool_outputs: where the run stands (None: the user cancelled
    before the outputs were submitted), and the reply once it has completed."""

    ok: Literal[True] = True
    state: RunState | None
    cancel_requested: bool = False
    reply: ReplyDraft | None = Field(default=None, exclude_if=_absent)


class RunCancelled(WireModel):
    """cancel_model_turn."""

    ok: Literal[True] = True
    state: RunState


class ThreadReleased(WireModel):
    """finish_turn."""

    ok: Literal[True] = True
    released: bool


Result = TypeVar("Result", bound=WireModel)


def read_result(data: Any, success: type[Result]) -> Result | ActivityFailure:
    """An activity's answer: ``success`` if it says ok, else the failure."""
    if isinstance(data, dict) and data.get("ok"):
        return success.model_validate(data)
    return ActivityFailure.model_validate(data)


# --- the orchestration's input, output and custom status ----------------------------------------------------------


class TurnInput(WireModel):
    """What a chat_turn orchestration is started with (POST /api/chat)."""

    turn_id: str
    thread_id: str
    owner_key: str
    message: str
    config: RecordedTurnSettings
    # The W3C traceparent of the POST /api/chat span: the turn's activities open their spans under it. Optional,
    # so that orchestrations started before it existed still load.
    traceparent: str | None = Field(default=None, exclude_if=_absent)
    model_api: str = ""  # the model API that holds the thread; "" (turns started by older versions): MODEL_API's

    @field_validator("traceparent", mode="before")
    @classmethod
    def _text_or_none(cls, value: Any) -> str | None:
        return value if isinstance(value, str) else None




class ToolCallRecord(WireModel):
    """One tool call of the reply: a function tool call (name, ok, round) or a hosted tool (name, hosted)."""

    name: str
    ok: bool | None = Field(default=None, exclude_if=_absent)
    round: int | None = Field(default=None, exclude_if=_absent)
    hosted: bool | None = Field(default=None, exclude_if=_absent)


class TurnReply(WireModel):
    """The reply as GET /api/chat/{turn_id} shows it (openapi: Reply)."""

    text: str
    tool_calls: list[ToolCallRecord]
    usage: Usage
    cards: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    truncated: bool = Field(default=False, exclude_if=_falsy)


class TurnOutput(WireModel):
    """The orchestration's output: how the turn ended, with the reply or the error."""

    turn_id: str
    thread_id: str
    status: TurnStatus
    reply: TurnReply | None = None
    error: ErrorEnvelope | None = None
    rounds: int = 0
    elapsed_s: float = 0.0
    file_refs: dict[str, dict[str, Any]] = {}  # the backend's ids of the reply's files: only the file route


class ToolDone(WireModel):
    name: str
    ok: bool


class ToolsProgress(WireModel):
    running: list[str]
    done: list[ToolDone]
    done_count: int


class TurnProgress(WireModel):
    """The custom status: where a running turn is (openapi: Progress). Small: it names at most a few tools and
    never holds tool data (well under the 4 KB this app allows itself; Durable caps it at 16 KB)."""

    phase: str
    model_status: str | None
    round: int
    tools: ToolsProgress
    elapsed_s: float
    retry_attempt: int = Field(default=0, exclude_if=_falsy)
    run_id: str | None = Field(default=None, exclude_if=_absent)  # the model run's current response or run


__all__ = ["ActivityFailure", "FinishInput", "ModelStepInput", "ModelStepResult", "ReplyDraft", "RunCancelled",
           "StartInput", "SubmitInput", "ThreadEnsured", "ThreadReleased", "ToolCallRecord", "ToolDone",
           "ToolsProgress", "TurnIds", "TurnInput", "TurnOutput", "TurnProgress", "TurnReply", "TurnStatus",
           "WireModel", "read_result"]

